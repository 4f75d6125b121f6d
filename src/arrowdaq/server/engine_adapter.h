// EngineAdapter: the EnginePort of the real engine (app::Engine), what `arrowdaq serve` and
// `arrowdaq run --serve` put behind the Flight server. It owns the LiveFeed (replay rings and
// client queues) on the engine's router, and the recordings started through it:
//
//   streams      the router's streams, described from the engine's instruments (driver,
//                state, overruns) and processors (kind, input), with the drops of the
//                engine's own live subscriptions;
//   recordings   app::Recording on the engine (real files in the requested formats, in
//                <output>/<name>-<UTC time>/); stopping one (by request, by its duration, or
//                by Shutdown) closes its files and writes its summary.json, as `arrowdaq run`
//                does at its end;
//   instruments  commands, connect, disconnect, add (one instrument table, parsed by the
//                config parser and checked like the config file's), remove.
//
// Ownership: borrows the engine (it must outlive the adapter); owns the feed, a timer thread
// for recordings with a duration, and the recordings' summaries.
// Threading: every EnginePort method from any thread (gRPC's); Shutdown from the owner, before
// the engine stops.
#pragma once

#include <chrono>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <atomic>
#include <vector>

#include "arrowdaq/app/engine.h"
#include "arrowdaq/config/config.h"
#include "arrowdaq/pipeline/live_feed.h"
#include "arrowdaq/server/engine_port.h"

namespace arrowdaq::server {

struct EngineAdapterOptions {
  /// Where recordings' run directories go (created when missing).
  std::string output_dir = "runs";
  /// Storage settings of a recording (formats and streams are replaced by the request's when it
  /// names them): the config's [storage] table or its defaults.
  config::StorageConfig storage;
  /// Copied into each run directory (config.toml), with the run's metadata.
  std::string config_text;
  std::vector<std::pair<std::string, std::string>> metadata;
  std::vector<std::string> override_args;
  /// Replay rings and the feed's queue.
  pipeline::LiveFeedOptions feed;
  /// Events returned by RecentEvents at most.
  std::size_t max_events = 10000;
};

class EngineAdapter : public EnginePort {
 public:
  /// Attach to a prepared engine (its router exists): start the live feed and the timer.
  static Result<std::unique_ptr<EngineAdapter>> Make(app::Engine& engine,
                                                     EngineAdapterOptions options);
  ~EngineAdapter() override;

  std::vector<StreamDescription> ListStreams() override;
  Result<StreamDescription> DescribeStream(const std::string& name) override;
  Result<std::shared_ptr<pipeline::LiveSubscription>> Subscribe(
      pipeline::LiveSubscriptionOptions options) override;
  EngineStatus GetStatus() override;
  std::vector<RunEvent> RecentEvents(std::size_t limit) override;
  Result<RecordingInfo> StartRecording(const RecordingRequest& request) override;
  Result<RecordingInfo> StopRecording(const std::string& id) override;
  Result<std::string> SendCommand(const std::string& instrument,
                                  const std::string& command) override;
  Status ConnectInstrument(const std::string& instrument) override;
  Status DisconnectInstrument(const std::string& instrument) override;
  Status AddInstrument(const InstrumentTable& table) override;
  Status RemoveInstrument(const std::string& instrument) override;
  Result<ScanInfo> RunPlan(const PlanRequest& request) override;
  Result<ScanInfo> ControlScan(ScanControl control) override;

  /// Stop every open recording (files closed, summary.json written with outcome "stopped"
  /// and `reason`), refuse new ones, stop the timer and the feed. Idempotent.
  void Shutdown(const std::string& reason = "server stopped (signal)");

  pipeline::LiveFeed& feed() { return *feed_; }

 private:
  struct Entry;
  EngineAdapter(app::Engine& engine, EngineAdapterOptions options);
  RecordingInfo Snapshot(const Entry& entry) const;
  /// Stop one recording and write its summary (once); `reason` "" for a stop on request.
  Status Finish(Entry& entry, const std::string& reason);
  void RunTimer();
  struct Scan;
  ScanInfo ScanSnapshot(const Scan& scan) const;
  /// Abort the scan (if any), wait for it and its recording to end. Holds scan_mutex_.
  void EndScan();

  app::Engine& engine_;
  const EngineAdapterOptions options_;
  const std::chrono::steady_clock::time_point started_;
  std::unique_ptr<pipeline::LiveFeed> feed_;
  std::shared_ptr<pipeline::StreamHandle> documents_;  ///< scan_documents (none: a config's)

  mutable std::mutex mutex_;  // guards entries_, shut_down_ and added_tables_
  /// The tables of instruments added at run time (add_instrument), by name, as a config file
  /// holds them: a plan sent in full is read after them, so it may use those instruments.
  std::map<std::string, std::string> added_tables_;
  std::condition_variable changed_;
  std::vector<std::shared_ptr<Entry>> entries_;
  bool shut_down_ = false;
  std::thread timer_;

  // The current or last scan (run_plan). scan_mutex_ serialises run_plan, the scan controls
  // and EndScan; the Scan's own fields are atomics or set before its threads start.
  mutable std::mutex scan_mutex_;
  std::shared_ptr<Scan> scan_;
};

}  // namespace arrowdaq::server
