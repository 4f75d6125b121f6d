// Clocks: wall-clock timestamps for samples (ns since the Unix epoch, UTC) and the monotonic
// clock for pacing and timeouts. Any thread.
#pragma once

#include <chrono>
#include <cstdint>

namespace arrowdaq {

using SteadyClock = std::chrono::steady_clock;

/// Return the current UTC time in nanoseconds since the Unix epoch.
inline std::int64_t WallClockNanos() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace arrowdaq
