// Acquisition: `arrowdaq run`, an Engine with one Recording. Make() checks everything that can
// be checked without touching hardware or disk (drivers exist, options are valid,
// subscriptions make sense) and reports problems as `file:line:column: key: message`. Run()
// prepares the engine, connects the instruments, starts the recording (the run directory),
// starts acquisition, waits until the duration passes or a stop is requested (drawing
// progress), stops the engine (one instant for every instrument stream, then consumers
// drain), and writes summary.json.
//
// Threading: Make, Run and the accessors from one thread (main). RequestStop from any thread
// or a signal handler (it only stores to an atomic).
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <iosfwd>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "arrowdaq/config/config.h"
#include "arrowdaq/core/run_event.h"
#include "arrowdaq/core/status.h"
#include "arrowdaq/app/engine.h"
#include "arrowdaq/app/run_summary.h"

namespace arrowdaq::app {

struct AcquisitionOptions {
  /// Overrides the config's run.duration when set (0 = until stopped).
  std::optional<std::chrono::nanoseconds> duration;
  /// Overrides the config's run.output when not empty.
  std::string output_dir;
  /// Progress output (nullptr: none), every run.progress_interval. Redrawn in place when
  /// `interactive`, fitted to the size of the terminal on `progress_fd` (app/progress_view.h).
  std::ostream* progress = nullptr;
  bool interactive = false;
  int progress_fd = 2;
  /// Executor threads of the actor system.
  int threads = 2;
  /// The command-line options that overrode the config (e.g. {"--duration", "5s", "--meta",
  /// "operator=ana"}), recorded in overrides.toml, run.h5 and summary.json so the run can be
  /// reproduced from its own directory. (`--meta` values are already in config.run.metadata.)
  std::vector<std::string> override_args;
  /// Told once the engine is prepared (its streams declared, nothing connected yet), before the
  /// recording starts: a caller may declare streams of its own on the engine's router, which
  /// the recording then records with the others (`arrowdaq scan` declares `scan`). An error
  /// ends the run before anything is recorded.
  std::function<Status(Engine&)> prepared;
  /// Streams the recording stores even when storage.streams names only others (declared by
  /// `prepared`; `arrowdaq scan` adds `scan`, the points of the scan). Added to
  /// storage.streams when it is neither ["*"] nor empty.
  std::vector<std::string> also_store;
  /// Told once the engine is prepared, its instruments connected and the recording started,
  /// just before acquisition starts (`arrowdaq run --serve` attaches its Flight server here);
  /// an error ends the run. What it returns is called once, just before the engine stops.
  std::function<Result<std::function<void()>>(Engine&)> attach;
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
  /// Ask Run to stop cleanly and say why in summary.json (outcome "stopped"); not for signal
  /// handlers (it takes a lock).
  void RequestStop(std::string reason);
  /// End the run as its duration would (what drove it, a scan, has finished): the outcome is
  /// ok or degraded by the usual rules, not "stopped". Thread-safe.
  void EndRun() { end_requested_.store(true, std::memory_order_relaxed); }

  const RunSummary& summary() const { return summary_; }
  const config::RunConfig& config() const { return config_; }

 private:
  Acquisition(config::RunConfig config, AcquisitionOptions options);

  Status Start();
  void WaitForEnd();
  void Fail(const Status& status);

  config::RunConfig config_;
  AcquisitionOptions options_;
  RunSummary summary_;
  std::unique_ptr<Engine> engine_;
  std::shared_ptr<Recording> recording_;
  std::function<void()> detach_;
  std::atomic<bool> stop_requested_{false};
  std::atomic<bool> end_requested_{false};
  std::atomic<bool> failed_{false};
  std::mutex mutex_;
  Status failure_;  // guarded by mutex_
  std::string stop_reason_;  // guarded by mutex_; "" for a stop by signal
};

}  // namespace arrowdaq::app
