// Acquisition: one run, wired from a RunConfig. Make() checks everything that can be checked
// without touching hardware or disk (drivers exist, options are valid, subscriptions make
// sense) and reports problems as `file:line:column: key: message`. Run() creates the run
// directory, starts every instrument, subscription and consumer, acquires until the duration
// passes or a stop is requested, stops everything in order (sources first, then consumers
// drain), and writes summary.json.
//
// Threading: Make, Run and the accessors from one thread (main). RequestStop from any thread
// or a signal handler (it only stores to an atomic).
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <iosfwd>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "arrowdaq/config/config.h"
#include "arrowdaq/core/run_event.h"
#include "arrowdaq/core/status.h"
#include "arrowdaq/telemetry/memory.h"

namespace arrowdaq::storage {
class Recorder;
}

namespace arrowdaq::app {

struct AcquisitionOptions {
  /// Overrides the config's run.duration when set (0 = until stopped).
  std::optional<std::chrono::nanoseconds> duration;
  /// Overrides the config's run.output when not empty.
  std::string output_dir;
  /// Progress output (nullptr: none). Live redrawn lines when `interactive`.
  std::ostream* progress = nullptr;
  bool interactive = false;
  /// Executor threads of the actor system.
  int threads = 2;
};

/// Per-stream figures of a finished run (summary.json "streams").
struct StreamSummary {
  std::string name;
  std::string driver;
  std::uint64_t packets = 0;
  std::uint64_t rows = 0;
  std::uint64_t bytes = 0;
  std::int64_t first_sequence = -1;  ///< -1 when no packet
  std::int64_t last_sequence = -1;
  std::uint64_t drops = 0;     ///< packets discarded by lossy subscriptions, summed
  std::uint64_t overruns = 0;  ///< samples the source lost (it cannot pause; buffer overflowed)
  std::uint64_t read_errors = 0;
  std::uint64_t reconnects = 0;
  bool failed = false;  ///< the instrument gave up after its reconnect attempts
  double rate_rows_per_s = 0;
};

/// Per-subscription figures (summary.json "subscriptions").
struct SubscriptionSummary {
  std::string name;
  std::string policy;
  std::uint64_t offered = 0;
  std::uint64_t delivered = 0;
  std::uint64_t dropped = 0;
  std::uint64_t missed_by_sequence = 0;  ///< what the consumer found missing: equals dropped
};

struct RunSummary {
  std::string run_id;
  std::string run_directory;
  std::string start_time;  ///< ISO 8601 UTC
  std::string stop_time;
  double duration_s = 0;
  std::string outcome = "ok";  ///< "ok", "stopped" (signal), "failed"
  std::string error;
  std::vector<StreamSummary> streams;
  std::vector<SubscriptionSummary> subscriptions;
  std::vector<RunEvent> events;
  std::uint64_t stored_packets = 0;
  std::uint64_t stored_rows = 0;
  std::uint64_t not_stored_packets = 0;  ///< drained after a storage error
  std::vector<std::string> files;        ///< names inside the run directory
  telemetry::MemoryReport memory;
};

class Acquisition {
 public:
  /// Validate `config` (config errors: Status::Invalid with file:line:column).
  static Result<std::unique_ptr<Acquisition>> Make(config::RunConfig config,
                                                   AcquisitionOptions options);
  ~Acquisition();

  /// Run to the end. Errors here are run failures (exit code 1); the summary is written
  /// whenever the run directory exists.
  Status Run();
  /// Ask Run to stop cleanly; async-signal-safe.
  void RequestStop() { stop_requested_.store(true, std::memory_order_relaxed); }

  const RunSummary& summary() const { return summary_; }
  const config::RunConfig& config() const { return config_; }

 private:
  Acquisition(config::RunConfig config, AcquisitionOptions options);
  struct State;

  Status Prepare(State& state);
  Status StartProcessors(State& state);
  Status StartStorage(State& state);
  Status StartAll(State& state);
  void WaitForEnd(State& state);
  void StopAll(State& state);
  void Summarize(State& state);
  void RecordEvent(RunEvent event);
  void Fail(const Status& status);

  config::RunConfig config_;
  AcquisitionOptions options_;
  RunSummary summary_;
  std::atomic<bool> stop_requested_{false};
  std::atomic<bool> failed_{false};
  std::mutex events_mutex_;
  std::vector<RunEvent> events_;
  storage::Recorder* recorder_ = nullptr;  // guarded by events_mutex_
  Status failure_;
};

/// Write `summary` as JSON to `path`.
Status WriteSummaryJson(const RunSummary& summary, const std::string& path);
/// Format the end-of-run summary for a person.
std::string FormatSummary(const RunSummary& summary);

}  // namespace arrowdaq::app
