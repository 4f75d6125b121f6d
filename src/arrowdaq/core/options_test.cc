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

TEST(Options, NumbersAreFormattedInTheirShortestExactForm) {
  EXPECT_EQ(FormatNumber(1e8), "1e+08");
  EXPECT_EQ(FormatNumber(1000.0), "1000");
  EXPECT_EQ(FormatNumber(0.25), "0.25");
  EXPECT_EQ(FormatNumber(-3.0), "-3");
  EXPECT_EQ(FormatNumber(1234.5678), "1234.5678");
  EXPECT_EQ(FormatOptionValue(1e8), "1e+08");
  EXPECT_EQ(FormatOptionValue(std::string("x")), "\"x\"");
}

TEST(Options, DeclaredRangesAndChoicesAreChecked) {
  const std::vector<OptionSpec> specs = {
      {.name = "rate_hz", .default_value = 1000.0, .min = 0.0, .max = 1e8, .min_exclusive = true},
      {.name = "batch_size", .default_value = std::int64_t{100}, .min = 1, .max = 10000000},
      {.name = "pass", .default_value = std::string("lowpass"),
       .choices = {"lowpass", "highpass"}},
  };
  EXPECT_EQ(CheckOption(specs, "rate_hz", 2e8).message(),
            "option 'rate_hz': expected a number > 0 and <= 1e+08, got 2e+08");
  EXPECT_EQ(CheckOption(specs, "rate_hz", 0.0).message(),
            "option 'rate_hz': expected a number > 0 and <= 1e+08, got 0");
  EXPECT_EQ(CheckOption(specs, "batch_size", std::int64_t{0}).message(),
            "option 'batch_size': expected an integer from 1 to 10000000, got 0");
  EXPECT_EQ(CheckOption(specs, "pass", std::string("notch")).message(),
            "option 'pass': expected one of \"lowpass\", \"highpass\", got \"notch\"");
  EXPECT_TRUE(CheckOption(specs, "rate_hz", std::int64_t{100000000}).ok());
  EXPECT_TRUE(CheckOption(specs, "batch_size", std::int64_t{10000000}).ok());
  EXPECT_TRUE(CheckOption(specs, "pass", std::string("highpass")).ok());
  EXPECT_FALSE(ResolvedOptions::Make(specs, {{"rate_hz", -1.0}}).ok());
}

TEST(Options, TheOptionAFactoryMessageIsAboutIsFound) {
  EXPECT_EQ(OptionNamedIn("option 'rate_hz' must be > 0, got -3"), "rate_hz");
  EXPECT_EQ(OptionNamedIn("sim.sine: option 'batch_size': expected an integer"), "batch_size");
  EXPECT_EQ(OptionNamedIn("input stream has no rate"), "");
  EXPECT_EQ(OptionNamedIn("option 'unterminated"), "");
}

}  // namespace
}  // namespace arrowdaq
