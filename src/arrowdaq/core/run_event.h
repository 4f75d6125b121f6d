// RunEvent: something that happened to a run or a stream and that the user must be able to
// read afterwards (faults, gaps, restarts, overruns). Storage writes events into the run's
// `events` table; the summary counts them. Plain value; any thread.
#pragma once

#include <cstdint>
#include <string>

namespace arrowdaq {

struct RunEvent {
  /// Time of the event, ns since 1970-01-01T00:00:00Z.
  std::int64_t time_ns = 0;
  /// Stream concerned ("" for the whole run).
  std::string stream;
  /// One of "gap", "fault", "restart", "overrun", "info".
  std::string kind;
  std::string message;
};

}  // namespace arrowdaq
