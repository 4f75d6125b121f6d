// EventLog: the engine's record of what happened to its streams (gaps, faults, overruns,
// restarts), shared by every recording. Repeated events of one kind on one stream are
// coalesced, so that an overload of any length costs bounded memory, log lines and file rows:
//
//   - The first event of a (stream, kind) goes out at once (to the log and every listener).
//   - Further ones within the coalescing interval are counted, not sent; when the interval
//     ends (Tick) one summary event goes out: "kind x N more within T s (coalesced); last:
//     <message>", with `repeat` = N and `samples` the sum of theirs. While the burst goes on, the interval doubles up to `max_interval`; it
//     resets once the (stream, kind) has been quiet for a whole interval.
//   - Totals per (stream, kind) count every event exactly, coalesced or not.
//   - In memory the log keeps the first `keep_first` and the last `keep_last` events sent,
//     and counts the ones it forgot in between.
//
// Threading: Record, Tick, Flush and the accessors from any thread (one mutex). Listeners are
// called with that mutex held, in order, from the thread that recorded or ticked: they must be
// quick and must not call back into the log.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "arrowdaq/core/run_event.h"

namespace arrowdaq::app {

struct EventLogOptions {
  std::chrono::nanoseconds interval = std::chrono::seconds(1);
  std::chrono::nanoseconds max_interval = std::chrono::seconds(60);
  std::size_t keep_first = 1000;
  std::size_t keep_last = 4000;
  /// Write each event sent to the "run" logger (warn level).
  bool log = true;
  /// The clock coalescing windows follow (tests step their own).
  std::function<std::chrono::steady_clock::time_point()> clock = [] {
    return std::chrono::steady_clock::now();
  };
};

/// Every event of one (stream, kind), counted exactly.
struct EventTotal {
  std::string stream;
  std::string kind;
  std::uint64_t count = 0;
};

class EventLog {
 public:
  using Listener = std::function<void(const RunEvent&)>;

  explicit EventLog(EventLogOptions options = {});

  /// Record one event (its time is kept; coalescing uses the steady clock).
  void Record(RunEvent event);
  /// Send the summary events of intervals that have ended. Call a few times a second.
  void Tick();
  /// Send every pending summary event now (at the end of a run or recording).
  void Flush();

  /// Add a listener for events sent from now on; returns its id.
  int AddListener(Listener listener);
  /// Add a listener told of every event as it is recorded, before coalescing (on the
  /// recording thread, under the log's mutex: keep it short); returns its id. A scan locates
  /// each overrun of a detector stream this way.
  int AddRawListener(Listener listener);
  void RemoveListener(int id);

  /// Return the events kept in memory, oldest first.
  std::vector<RunEvent> Events() const;
  /// Return the events sent at or after `since_ns` (from those kept), oldest first.
  std::vector<RunEvent> EventsSince(std::int64_t since_ns) const;
  /// Return the exact totals, sorted by stream then kind.
  std::vector<EventTotal> Totals() const;
  /// Return how many sent events were forgotten between the first and last kept.
  std::uint64_t forgotten() const;

 private:
  using SteadyClock = std::chrono::steady_clock;
  struct Burst {
    SteadyClock::time_point window_end;
    std::chrono::nanoseconds interval{0};
    std::uint64_t pending = 0;     // events counted in this window, not yet sent
    std::uint64_t pending_samples = 0;
    std::int64_t first_pending_ns = 0;
    RunEvent last;                 // the last pending event (its message is quoted)
  };

  void Send(RunEvent event);  // mutex_ held
  void SendPending(Burst& burst, SteadyClock::time_point now);  // mutex_ held

  const EventLogOptions options_;
  mutable std::mutex mutex_;
  std::map<std::pair<std::string, std::string>, Burst> bursts_;
  std::map<std::pair<std::string, std::string>, std::uint64_t> totals_;
  std::vector<RunEvent> first_;
  std::deque<RunEvent> last_;
  std::uint64_t forgotten_ = 0;
  std::vector<std::pair<int, Listener>> listeners_;
  std::vector<std::pair<int, Listener>> raw_listeners_;
  int next_listener_ = 0;
};

}  // namespace arrowdaq::app
