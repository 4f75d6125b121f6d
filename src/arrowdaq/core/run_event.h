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
  /// How many occurrences this event stands for: 1, or more when repeated events of one kind
  /// on one stream were coalesced into it (app/event_log.h); the message says so too.
  std::uint64_t repeat = 1;
  /// Samples the event concerns (an overrun: samples lost), summed over `repeat`; 0 if none.
  std::uint64_t samples = 0;
};

}  // namespace arrowdaq
