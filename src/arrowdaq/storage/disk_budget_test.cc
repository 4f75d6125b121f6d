#include "arrowdaq/storage/disk_budget.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "arrowdaq/testing/gtest_util.h"

namespace arrowdaq::storage {
namespace {

using ::testing::HasSubstr;
using Clock = std::chrono::steady_clock;
constexpr std::int64_t kMiB = 1 << 20;

TEST(DiskBudgetTest, RefusesToStartBelowTheMarginNamingBothFigures) {
  DiskBudgetOptions o;
  o.directory = "/";
  o.min_free_bytes = std::int64_t{1} << 62;  // more than any disk
  auto b = DiskBudget::Make(o);
  ASSERT_FALSE(b.ok());
  EXPECT_TRUE(b.status().IsIOError());
  EXPECT_THAT(b.status().message(), HasSubstr("not enough free space for the run in '/'"));
  EXPECT_THAT(b.status().message(), HasSubstr("storage.min_free is 4194304.0 TiB"));
  o.directory = "/no/such/dir";
  o.min_free_bytes = 1;
  EXPECT_THAT(DiskBudget::Make(o).status().message(), HasSubstr("cannot read the free space"));
}

TEST(DiskBudgetTest, ProjectsFromTheRateAndStopsOneIntervalEarly) {
  // A budget whose margin is 100 MiB, checks every second, warns 30 s ahead.
  DiskBudgetOptions o{"/", 100 * kMiB, std::chrono::seconds(30), std::chrono::seconds(1)};
  auto made = DiskBudget::Make(o);
  if (!made.ok()) GTEST_SKIP() << "the test host's / has less than 100 MiB free";
  DiskBudget b = *made;
  const auto t0 = Clock::now();
  auto at = [&](int s) { return t0 + std::chrono::seconds(s); };
  // 1000 MiB free, then falling by 20 MiB/s: 900 MiB above the margin = 45 s: no warning yet.
  EXPECT_EQ(b.Evaluate(1000 * kMiB, at(0)).verdict, DiskVerdict::kOk);
  DiskCheck c = b.Evaluate(980 * kMiB, at(1));
  EXPECT_EQ(c.verdict, DiskVerdict::kOk);
  EXPECT_DOUBLE_EQ(c.falling_bytes_per_s, 20.0 * kMiB);
  // 25 s to the margin: warn, once.
  c = b.Evaluate(600 * kMiB, at(20));
  EXPECT_EQ(c.verdict, DiskVerdict::kWarn);
  EXPECT_THAT(c.message, HasSubstr("will be reached in about 25 s"));
  EXPECT_EQ(b.Evaluate(580 * kMiB, at(21)).verdict, DiskVerdict::kOk);
  // 115 MiB free, 20 MiB/s: 15 MiB headroom < one interval at the rate: stop now, not after.
  c = b.Evaluate(115 * kMiB, at(44));
  EXPECT_EQ(c.verdict, DiskVerdict::kStop);
  EXPECT_THAT(c.message, HasSubstr("stopped before the disk fills: 115.0 MiB free"));
  EXPECT_THAT(c.message, HasSubstr("storage.min_free is 100.0 MiB"));
  // Below the margin whatever the rate.
  DiskBudget still = *DiskBudget::Make(o);
  EXPECT_EQ(still.Evaluate(99 * kMiB, at(0)).verdict, DiskVerdict::kStop);
}

TEST(DiskBudgetTest, OffWhenTheMarginIsZero) {
  ASSERT_OK_AND_ASSIGN(auto b, DiskBudget::Make({"/no/such/dir", 0, {}, {}}));
  ASSERT_OK_AND_ASSIGN(auto c, b.Check(Clock::now()));
  EXPECT_EQ(c.verdict, DiskVerdict::kOk);
  EXPECT_EQ(b.Evaluate(0, Clock::now()).verdict, DiskVerdict::kOk);
}

}  // namespace
}  // namespace arrowdaq::storage
