// Clocks: wall-clock timestamps for samples (ns since the Unix epoch, UTC) and the monotonic
// clock for pacing and timeouts. Any thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

namespace arrowdaq {

using SteadyClock = std::chrono::steady_clock;

/// Return the current UTC time in nanoseconds since the Unix epoch.
inline std::int64_t WallClockNanos() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

/// Format ns since the Unix epoch as ISO 8601 UTC with nanoseconds
/// ("2026-12-01T13:23:08.123456789Z"); exact for every int64 value.
std::string FormatIsoTime(std::int64_t ns_since_epoch);

}  // namespace arrowdaq
