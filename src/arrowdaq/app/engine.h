// Engine: everything of an acquisition that lives as long as the process: the actor system,
// the instruments (one actor and one I/O thread each), the processors, the stream router, the
// live subscriptions of the config (`[[subscriptions]]`), the event log, and the recordings
// started on it. `arrowdaq run` is an engine with one recording; `arrowdaq serve` keeps an
// engine running and starts and stops recordings on request.
//
// Life cycle (docs/architecture.md, "Engine and recordings"):
//   Make      build from a validated config (nothing started)
//   Prepare   register instruments, start processors and live subscriptions (no data yet)
//   ConnectInstruments, StartAcquisition   connect, then start every instrument; on_failure
//             applies at start-up: "stop_run" fails these calls, "continue" leaves the
//             instrument out and retries it in the background (reconnect_attempts, backoff)
//   ... recordings start and stop at any time ...
//   Stop      end acquisition at one instant on every instrument stream (the router seals
//             them: a batch stamped later is not published), stop the instruments in
//             parallel, drain the processors inputs first, stop open recordings, close the
//             live subscriptions. The time it takes does not grow with the instrument count.
//
// At run time (after StartAcquisition, `arrowdaq serve`): instruments are added (validated like
// a config table), removed, connected, disconnected and sent commands; the engine's instrument
// list follows (Stop seals the streams of the instruments it has then).
//
// Threading: Make/Prepare/ConnectInstruments/StartAcquisition/Stop from one owning thread. The control calls
// (commands, connect, add/remove, status, recordings) from any plain thread, never an executor
// thread.
// `on_fatal` is called on an instrument's or the housekeeping thread.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "arrowdaq/app/event_log.h"
#include "arrowdaq/app/monitor.h"
#include "arrowdaq/app/rate_watch.h"
#include "arrowdaq/app/recording.h"
#include "arrowdaq/config/config.h"
#include "arrowdaq/core/status.h"
#include "arrowdaq/instruments/instrument_actor.h"
#include "arrowdaq/pipeline/instrument_manager.h"
#include "arrowdaq/pipeline/processor_actor.h"
#include "arrowdaq/runtime/actor.h"
#include "arrowdaq/sinks/sink.h"

namespace arrowdaq::app {

struct EngineOptions {
  /// Executor threads of the actor system.
  int threads = 2;
  EventLogOptions events;
  /// Told once when the engine cannot go on as configured: an instrument whose on_failure is
  /// "stop_run" failed. The owner decides (a run stops with exit 1).
  std::function<void(const Status&)> on_fatal;
};

/// An instrument's state as the engine sees it.
struct InstrumentState {
  instruments::InstrumentStatus status;
  /// Waiting to be connected again in the background (on_failure = "continue" at start-up).
  bool retrying = false;
};

class Engine {
 public:
  /// Build an engine over a config that Acquisition::Make (or `arrowdaq validate`) accepted.
  [[nodiscard]] static Result<std::unique_ptr<Engine>> Make(config::RunConfig config,
                                                            EngineOptions options);
  ~Engine();
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  /// Register instruments and start processors and live subscriptions.
  [[nodiscard]] Status Prepare();
  /// Connect every instrument. One that cannot connect fails this call when its on_failure is
  /// "stop_run"; with "continue" it is left out and retried after StartAcquisition.
  [[nodiscard]] Status ConnectInstruments();
  /// Start acquisition on every connected instrument (the same on_failure rule), then start
  /// the background retries of those left out.
  [[nodiscard]] Status StartAcquisition();
  /// End acquisition and stop everything (see the life cycle above). Idempotent.
  void Stop();
  /// Housekeeping, a few times a second from the owner: send coalesced events whose window
  /// ended, check the streams' rates against their requested ones (rate_shortfall events).
  void Tick();
  /// Each stream's requested rate (schema metadata `rate_hz`), for streams that declare one.
  std::map<std::string, double> RequestedRates() const;

  /// Start a recording of `options.storage.streams` into a new run directory.
  [[nodiscard]] Result<std::shared_ptr<Recording>> StartRecording(RecordingOptions options);
  /// Stop the recording `id`; NotFound when there is none. The recording stays listed.
  [[nodiscard]] Status StopRecording(const std::string& id);
  /// Return every recording started on this engine, oldest first.
  std::vector<std::shared_ptr<Recording>> Recordings() const;

  /// Send one command to an instrument and return its reply ("" when it has none).
  [[nodiscard]] Result<std::string> SendCommand(const std::string& instrument,
                                                const std::string& command);
  /// Connect an instrument and start its acquisition.
  [[nodiscard]] Status ConnectInstrument(const std::string& instrument);
  /// Stop an instrument's acquisition and disconnect it; its stream stays (idle).
  [[nodiscard]] Status DisconnectInstrument(const std::string& instrument);
  /// Check `instrument` as a config file's instrument table is checked (driver, options,
  /// resource; errors `file:line:column: instruments.<name>.<key>: ...`), register it, connect
  /// it and start its acquisition. AlreadyExists when the name is a stream already.
  [[nodiscard]] Status AddInstrument(config::InstrumentConfig instrument);
  /// Stop an instrument and forget it and its stream. Refused (Invalid) while a processor reads
  /// its stream or an open recording records it.
  [[nodiscard]] Status RemoveInstrument(const std::string& instrument);

  /// The instruments with their state, in config order (added ones last).
  std::vector<InstrumentState> Instruments();
  /// Instrument names whose acquisition has started (or is retried in the background).
  std::vector<std::string> InstrumentNames() const;

  const config::RunConfig& config() const { return config_; }
  pipeline::InstrumentManager& manager() { return *manager_; }
  pipeline::StreamRouter& router() { return manager_->router(); }
  EventLog& events() { return events_; }
  const std::vector<std::unique_ptr<Monitor>>& monitors() const { return monitors_; }
  /// The `[[sinks]]` (started by Prepare, stopped by Stop after the recordings).
  const std::vector<std::unique_ptr<sinks::Sink>>& sinks() const { return sinks_; }
  /// Instrument statuses taken just before the instruments were stopped (after Stop).
  const std::vector<instruments::InstrumentStatus>& final_statuses() const {
    return final_statuses_;
  }
  /// The steady-clock instants acquisition started (after connecting) and ended (the seal).
  std::chrono::steady_clock::time_point acquisition_start() const { return started_at_; }
  std::chrono::steady_clock::time_point acquisition_end() const { return ended_at_; }
  /// The same instants on the wall clock, ns since the Unix epoch (0 before they happen).
  std::int64_t acquisition_start_wall_ns() const { return started_wall_ns_; }
  std::int64_t acquisition_end_wall_ns() const { return ended_wall_ns_; }

 private:
  Engine(config::RunConfig config, EngineOptions options);
  void RetryInBackground(const config::InstrumentConfig& instrument, const Status& cause);
  std::optional<config::InstrumentConfig> FindInstrument(const std::string& name) const;
  Status Register(const config::InstrumentConfig& instrument);
  void Fatal(const Status& status);

  config::RunConfig config_;
  EngineOptions options_;
  EventLog events_;
  std::unique_ptr<runtime::ActorSystem> system_;
  std::unique_ptr<pipeline::InstrumentManager> manager_;
  std::vector<std::unique_ptr<pipeline::ProcessorActor>> processors_;  // dependency order
  std::vector<std::unique_ptr<Monitor>> monitors_;
  std::vector<std::unique_ptr<sinks::Sink>> sinks_;
  std::vector<instruments::InstrumentStatus> final_statuses_;
  std::vector<std::string> connected_;                        // at start-up
  std::vector<std::pair<std::string, Status>> not_started_;  // on_failure = "continue"
  std::chrono::steady_clock::time_point started_at_{};
  std::chrono::steady_clock::time_point ended_at_{};
  std::int64_t started_wall_ns_ = 0;
  std::int64_t ended_wall_ns_ = 0;

  mutable std::mutex mutex_;
  std::vector<std::shared_ptr<Recording>> recordings_;
  std::vector<std::string> retrying_;  // instruments waiting for a background connect
  // Instruments that failed at start-up (on_failure = "continue") and have not started since,
  // with the last reason: they count as failed in the final statuses (a degraded run).
  std::map<std::string, std::string> never_started_;
  // The instruments now: config_.instruments, then those added at run time, less those removed.
  std::vector<config::InstrumentConfig> instruments_;
  std::vector<std::thread> retry_threads_;
  RateWatch rate_watch_;  // used by Tick only
  std::atomic<bool> acquiring_{false};
  std::atomic<bool> stopping_{false};
  std::atomic<bool> fatal_{false};
  bool stopped_ = false;
};

}  // namespace arrowdaq::app
