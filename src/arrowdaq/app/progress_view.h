// ProgressView: the live progress of a run as text. On a terminal it redraws in place and
// always fits: one line per stream when every line fits the terminal's width and all of them
// its height, otherwise one compact line for the whole run; lines are cut to the width, never
// wrapped (a wrapped line breaks the redraw). Off a terminal (a log file, a pipe) it appends
// one block per update: a line per stream up to kMaxListedStreams streams, else the compact line.
// The caller decides when to render (every `run.progress_interval`).
//
// Threading: one thread (the one that renders). Pure formatting: no I/O except
// TerminalSizeOf.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace arrowdaq::app {

/// Figures of one stream at one update.
struct StreamProgress {
  std::string name;
  std::uint64_t rows = 0;
  double rows_per_s = 0;    ///< since the previous update
  std::uint64_t drops = 0;  ///< packets dropped by lossy subscriptions, summed
};

/// Size of a terminal in character cells; 0 when unknown.
struct TerminalSize {
  int columns = 0;
  int rows = 0;
};

/// Return the size of the terminal on `fd` (TIOCGWINSZ), or {0, 0} when it is not a terminal.
TerminalSize TerminalSizeOf(int fd);

class ProgressView {
 public:
  /// Streams listed one per line off a terminal; more are summarised in the compact line.
  static constexpr std::size_t kMaxListedStreams = 32;
  /// Narrowest line of the per-stream form; narrower terminals get the compact form.
  static constexpr int kMinStreamLineWidth = 48;

  /// `interactive`: redraw in place with ANSI escapes (a terminal); else append.
  explicit ProgressView(bool interactive) : interactive_(interactive) {}

  /// Return the text for one update at `elapsed_s` since the start. `size` is the terminal's
  /// current size (it may change between updates); {0, 0} means unknown (80 x 24 is assumed on
  /// a terminal, no limit off one).
  [[nodiscard]] std::string Render(double elapsed_s, const std::vector<StreamProgress>& streams,
                                   TerminalSize size);

 private:
  bool interactive_;
  int drawn_lines_ = 0;  // lines of the previous update still on screen (interactive)
};

}  // namespace arrowdaq::app
