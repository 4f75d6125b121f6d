#include "arrowdaq/core/options.h"

#include <gtest/gtest.h>

#include "arrowdaq/testing/gtest_util.h"

namespace arrowdaq {
namespace {

const std::vector<OptionSpec> kSpecs = {
    {"rate_hz", 1000.0, "sample rate", "Hz"},
    {"batch_size", std::int64_t{100}, "rows per batch", ""},
    {"label", std::string("x"), "", ""},
};

TEST(Options, DefaultsFilledAndIntegerPromotedToDouble) {
  ASSERT_OK_AND_ASSIGN(auto opts, ResolvedOptions::Make(kSpecs, {{"rate_hz", std::int64_t{250}}}));
  EXPECT_DOUBLE_EQ(opts.GetDouble("rate_hz"), 250.0);
  EXPECT_EQ(opts.GetInt("batch_size"), 100);
  EXPECT_EQ(opts.GetString("label"), "x");
}

TEST(Options, UnknownKeyNamesKnownOnes) {
  auto st = CheckOption(kSpecs, "rat_hz", 5.0);
  ASSERT_TRUE(st.IsInvalid());
  EXPECT_NE(st.message().find("unknown option 'rat_hz'"), std::string::npos) << st.message();
  EXPECT_NE(st.message().find("rate_hz"), std::string::npos);
}

TEST(Options, WrongTypeSaysWhatWasExpected) {
  auto st = CheckOption(kSpecs, "batch_size", std::string("ten"));
  ASSERT_TRUE(st.IsInvalid());
  EXPECT_NE(st.message().find("expected an integer, got a string"), std::string::npos)
      << st.message();
  // A double where an integer is expected is refused, not truncated.
  EXPECT_TRUE(CheckOption(kSpecs, "batch_size", 2.5).IsInvalid());
}

}  // namespace
}  // namespace arrowdaq
