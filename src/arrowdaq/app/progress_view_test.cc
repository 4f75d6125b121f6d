#include "arrowdaq/app/progress_view.h"

#include <sstream>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace arrowdaq::app {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

std::vector<StreamProgress> Streams(int n, const std::string& stem = "stream") {
  std::vector<StreamProgress> out;
  for (int i = 0; i < n; ++i) {
    out.push_back({stem + std::to_string(i), 1000u * static_cast<unsigned>(i + 1), 500.0,
                   static_cast<std::uint64_t>(i)});
  }
  return out;
}

// The lines a terminal would show: the text split at newlines, escapes removed.
std::vector<std::string> Lines(const std::string& text) {
  std::string plain;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '\x1b') {
      while (i < text.size() && !((text[i] >= 'A' && text[i] <= 'Z') || (text[i] >= 'a' && text[i] <= 'z'))) ++i;
      continue;
    }
    plain += text[i];
  }
  std::vector<std::string> lines;
  std::istringstream in(plain);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

TEST(ProgressView, OneLinePerStreamWhenTheyFit) {
  ProgressView view(/*interactive=*/true);
  const auto lines = Lines(view.Render(1.5, Streams(3), {100, 40}));
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_THAT(lines[0], StartsWith("[1.5 s] stream0"));
  EXPECT_THAT(lines[2], HasSubstr("3000 rows"));
  for (const auto& line : lines) EXPECT_LT(line.size(), 100u) << line;
}

TEST(ProgressView, ANarrowTerminalGetsTheCompactFormCutToItsWidth) {
  for (const int columns : {20, 40, 47}) {
    ProgressView view(true);
    const auto lines = Lines(view.Render(2.0, Streams(3), {columns, 40}));
    ASSERT_EQ(lines.size(), 1u) << columns;
    EXPECT_LT(lines[0].size(), static_cast<std::size_t>(columns)) << lines[0];
    EXPECT_THAT(lines[0], StartsWith("[2.0 s] "));
  }
  ProgressView view(true);
  const auto lines = Lines(view.Render(2.0, Streams(3), {60, 40}));
  EXPECT_THAT(lines[0], HasSubstr("3 streams"));
}

TEST(ProgressView, LongNamesAreCutNotWrapped) {
  ProgressView view(true);
  const auto lines = Lines(view.Render(0.5, Streams(2, std::string(150, 'n')), {80, 24}));
  ASSERT_EQ(lines.size(), 2u);
  for (const auto& line : lines) {
    EXPECT_LT(line.size(), 80u) << line;
    EXPECT_THAT(line, HasSubstr("~"));
    EXPECT_THAT(line, HasSubstr("rows/s"));
  }
}

TEST(ProgressView, MoreStreamsThanRowsGiveOneCompactLine) {
  ProgressView view(true);
  const auto lines = Lines(view.Render(3.0, Streams(30), {120, 24}));
  ASSERT_EQ(lines.size(), 1u);
  // Totals over every stream: 1000 * (1 + ... + 30) rows, 0 + ... + 29 drops.
  EXPECT_THAT(lines[0], HasSubstr("30 streams: 15000 rows/s, 465000 rows, 435 drops"));
}

TEST(ProgressView, ARedrawReplacesWhatThePreviousUpdateDrew) {
  ProgressView view(true);
  const std::string first = view.Render(1.0, Streams(3), {100, 40});
  EXPECT_THAT(first, StartsWith("\x1b[J"));
  // Back up three lines to the first one, clear to the end of the screen, draw again.
  const std::string second = view.Render(2.0, Streams(3), {100, 40});
  EXPECT_THAT(second, StartsWith("\x1b[3F\x1b[J"));
  // The terminal shrank: the compact line replaces all three.
  const std::string third = view.Render(3.0, Streams(3), {30, 40});
  EXPECT_THAT(third, StartsWith("\x1b[3F\x1b[J"));
  EXPECT_THAT(view.Render(4.0, Streams(3), {30, 40}), StartsWith("\x1b[1F\x1b[J"));
}

TEST(ProgressView, OffATerminalNamesAreNeverCut) {
  ProgressView view(false);
  const std::string name(150, 'n');
  const auto lines = Lines(view.Render(1.0, Streams(1, name), {}));
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_THAT(lines[0], HasSubstr(name + "0 "));
}

TEST(ProgressView, OffATerminalItAppendsWithoutEscapes) {
  ProgressView view(false);
  const std::string text = view.Render(1.0, Streams(5), {});
  EXPECT_EQ(text.find('\x1b'), std::string::npos);
  EXPECT_EQ(Lines(text).size(), 5u);
  EXPECT_EQ(Lines(view.Render(2.0, Streams(5), {})).size(), 5u);
  const auto many = Lines(view.Render(3.0, Streams(ProgressView::kMaxListedStreams + 1), {}));
  ASSERT_EQ(many.size(), 1u);
  EXPECT_THAT(many[0], HasSubstr("33 streams"));
}

}  // namespace
}  // namespace arrowdaq::app
