#include "arrowdaq/app/isolated.h"

#include <chrono>
#include <cstdlib>
#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "arrowdaq/testing/gtest_util.h"

namespace arrowdaq::app {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;
using namespace std::chrono_literals;

IsolatedOptions Limit(std::chrono::milliseconds timeout) {
  return {.timeout = timeout, .what = "inspect x.h5"};
}

TEST(RunIsolatedTest, ReturnsTheChildsTextEvenWhenItIsLargerThanAPipe) {
  const std::string big(1 << 20, 'x');  // 1 MiB: more than the pipe holds at once
  ASSERT_OK_AND_ASSIGN(auto text, RunIsolated([&] { return Result<std::string>(big + "!"); },
                                              Limit(10s)));
  EXPECT_EQ(text.size(), big.size() + 1);
  EXPECT_EQ(text.back(), '!');
}

TEST(RunIsolatedTest, KeepsTheChildsErrorCodeAndMessage) {
  const auto result = RunIsolated(
      [] { return Result<std::string>(Status::Invalid("x.h5: not a file arrowdaq writes")); },
      Limit(10s));
  ASSERT_TRUE(result.status().IsInvalid()) << result.status().ToString();
  EXPECT_EQ(result.status().message(), "x.h5: not a file arrowdaq writes");
}

TEST(RunIsolatedTest, AChildThatCrashesIsAnErrorNamingTheSignal) {
  const auto result = RunIsolated(
      []() -> Result<std::string> {
        std::abort();
      },
      Limit(10s));
  ASSERT_TRUE(result.status().IsIOError()) << result.status().ToString();
  EXPECT_THAT(result.status().message(),
              StartsWith("inspect x.h5: the reader crashed (signal 6, SIGABRT)"));
}

TEST(RunIsolatedTest, AChildThatHangsIsKilledAtTheTimeLimit) {
  const auto start = std::chrono::steady_clock::now();
  const auto result = RunIsolated(
      []() -> Result<std::string> {
        for (volatile bool spin = true; spin;) {
        }
        return std::string();
      },
      Limit(300ms));
  const auto took = std::chrono::steady_clock::now() - start;
  ASSERT_TRUE(result.status().IsIOError()) << result.status().ToString();
  EXPECT_THAT(result.status().message(), StartsWith("inspect x.h5: gave up after 0.3 s"));
  EXPECT_LT(took, 30s);  // generous: the point is that it returns at all
}

TEST(RunIsolatedTest, AnExceptionInTheChildIsAnError) {
  const auto result = RunIsolated(
      []() -> Result<std::string> { throw std::runtime_error("vendor reader threw"); },
      Limit(10s));
  EXPECT_THAT(result.status().message(), HasSubstr("vendor reader threw"));
}

}  // namespace
}  // namespace arrowdaq::app
