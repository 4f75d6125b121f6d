// RateWatch: notices streams that deliver fewer rows than they were asked for (a DMM asked for
// 20 Hz that answers 4 times a second, a source configured beyond what the machine can
// generate). A stream's requested rate is its schema's `rate_hz` metadata. Over windows of at
// least `window` and ten batch periods, a stream whose rows fall below `fraction` of
// requested x window, by more than one batch, gets a `rate_shortfall` event; the run summary
// applies the same test to the whole run (ShortOfRate).
//
// Threading: one caller (the engine's housekeeping) at a time; pure functions otherwise.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "arrowdaq/core/run_event.h"
#include "arrowdaq/pipeline/stream_router.h"

namespace arrowdaq::app {

/// The documented fraction of the requested rate below which a stream is short.
inline constexpr double kRateShortfallFraction = 0.9;

struct RateWatchOptions {
  double fraction = kRateShortfallFraction;
  std::chrono::nanoseconds window = std::chrono::seconds(10);
};

/// Return whether `rows` delivered over `seconds` at `requested_hz` (with `rows_per_batch`
/// rows per packet) fall short: rows + one batch < fraction x requested x seconds.
[[nodiscard]] bool ShortOfRate(std::uint64_t rows, double seconds, double requested_hz,
                               double rows_per_batch, double fraction = kRateShortfallFraction);

class RateWatch {
 public:
  explicit RateWatch(RateWatchOptions options = {}) : options_(options) {}

  /// Compare each stream's totals with those at the start of its window; return an event for
  /// each stream whose window ended short. `requested` maps stream names to rates (streams
  /// without one are not watched); `wall_ns` stamps the events.
  [[nodiscard]] std::vector<RunEvent> Check(const std::vector<pipeline::StreamStats>& stats,
                                            const std::map<std::string, double>& requested,
                                            std::chrono::steady_clock::time_point now,
                                            std::int64_t wall_ns);

  /// At the end of acquisition: an event for each stream short over the whole `seconds` that
  /// no window event named yet (runs shorter than a window).
  [[nodiscard]] std::vector<RunEvent> Final(const std::vector<pipeline::StreamStats>& stats,
                                            const std::map<std::string, double>& requested,
                                            double seconds, std::int64_t wall_ns);

 private:
  struct Window {
    std::chrono::steady_clock::time_point start;
    std::uint64_t rows = 0;
    std::uint64_t packets = 0;
  };
  std::string Describe(std::uint64_t rows, std::uint64_t packets, double seconds,
                       double requested_hz, const char* over) const;

  RateWatchOptions options_;
  std::map<std::string, Window> windows_;
  std::map<std::string, bool> reported_;
};

}  // namespace arrowdaq::app
