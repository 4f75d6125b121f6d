#include "arrowdaq/app/progress_view.h"

#include <sys/ioctl.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>

#include "arrowdaq/app/run_summary.h"

namespace arrowdaq::app {

namespace {

constexpr int kDefaultColumns = 80;
constexpr int kDefaultRows = 24;

// "[12.3 s] " in front of every line.
std::string Elapsed(double elapsed_s) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "[%.1f s] ", elapsed_s);
  return buf;
}

// Cut `line` to `width` characters (bytes: names are ASCII), marking the cut with '~'.
std::string Fit(std::string line, int width) {
  if (width <= 0 || static_cast<int>(line.size()) <= width) return line;
  line.resize(static_cast<std::size_t>(std::max(width - 1, 0)));
  line += '~';
  return line;
}

std::string StreamLine(const std::string& prefix, const StreamProgress& s, int name_width) {
  std::string name = s.name;
  if (static_cast<int>(name.size()) > name_width) {
    name = name.substr(0, static_cast<std::size_t>(std::max(name_width - 1, 1))) + "~";
  }
  char buf[96];
  std::snprintf(buf, sizeof(buf), " %10s rows/s %12llu rows %6llu drops",
                FormatRate(s.rows_per_s).c_str(), static_cast<unsigned long long>(s.rows),
                static_cast<unsigned long long>(s.drops));
  std::string line = prefix + name;
  line.append(static_cast<std::size_t>(std::max(0, name_width - static_cast<int>(name.size()))),
              ' ');
  return line + buf;
}

std::string CompactLine(const std::string& prefix, const std::vector<StreamProgress>& streams) {
  std::uint64_t rows = 0;
  std::uint64_t drops = 0;
  double rate = 0;
  for (const auto& s : streams) {
    rows += s.rows;
    drops += s.drops;
    rate += s.rows_per_s;
  }
  char buf[160];
  std::snprintf(buf, sizeof(buf), "%zu stream%s: %s rows/s, %llu rows, %llu drops",
                streams.size(), streams.size() == 1 ? "" : "s", FormatRate(rate).c_str(), static_cast<unsigned long long>(rows),
                static_cast<unsigned long long>(drops));
  return prefix + buf;
}

}  // namespace

TerminalSize TerminalSizeOf(int fd) {
  winsize ws{};
  if (ioctl(fd, TIOCGWINSZ, &ws) != 0) return {};
  return {ws.ws_col, ws.ws_row};
}

std::string ProgressView::Render(double elapsed_s, const std::vector<StreamProgress>& streams,
                                 TerminalSize size) {
  if (interactive_) {
    if (size.columns <= 0) size.columns = kDefaultColumns;
    if (size.rows <= 0) size.rows = kDefaultRows;
  }
  const std::string prefix = Elapsed(elapsed_s);
  // Width of the figures after the name in StreamLine.
  constexpr int kFigures = 1 + 10 + 7 + 1 + 12 + 5 + 1 + 6 + 6;
  std::size_t longest = 6;
  for (const auto& s : streams) longest = std::max(longest, s.name.size());
  // Lines stay one column short of the width: writing the last column makes some terminals
  // wrap at once.
  const int width = size.columns > 0 ? size.columns - 1 : 0;
  // Off a terminal names are never cut (a log is read by programs too).
  int name_width = static_cast<int>(longest);
  if (width > 0) {
    name_width = std::min(name_width, width - static_cast<int>(prefix.size()) - kFigures);
  }
  const bool fits_width = width == 0 || (width >= kMinStreamLineWidth && name_width >= 6);
  // On a terminal the whole update must fit below the line the cursor stands on.
  const bool fits_height =
      interactive_ ? static_cast<int>(streams.size()) < size.rows
                   : streams.size() <= kMaxListedStreams;
  std::vector<std::string> lines;
  if (fits_width && fits_height && !streams.empty()) {
    for (const auto& s : streams) lines.push_back(Fit(StreamLine(prefix, s, name_width), width));
  } else {
    lines.push_back(Fit(CompactLine(prefix, streams), width));
  }

  std::string out;
  if (interactive_) {
    // Back to the first line of the previous update, then clear everything below it, so that a
    // shorter update (fewer streams, the compact form) leaves nothing behind.
    if (drawn_lines_ > 0) out += "\x1b[" + std::to_string(drawn_lines_) + "F";
    out += "\x1b[J";
    drawn_lines_ = static_cast<int>(lines.size());
  }
  for (const auto& line : lines) out += line + "\n";
  return out;
}

}  // namespace arrowdaq::app
