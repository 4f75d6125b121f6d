// FakeEngine: an EnginePort for the server's own tests, until the real engine (app/) exists.
// Its instruments are real: a config's [instruments.*] tables go through the driver registry
// into a real InstrumentManager (one actor and I/O thread each), so the simulators' exact
// formulas, sequence numbers, commands (*IDN?, ...) and connect/disconnect behave as they will
// under the real engine; streams reach clients through a real LiveFeed on the manager's router.
// What is fake: recordings. start_recording creates the run directory (confined to the output
// directory) and counts the rows a lossless subscription receives, but writes no data files;
// processors, [storage] and [[subscriptions]] of the config are ignored.
//
// Threading: every EnginePort method from any thread (see engine_port.h).
#pragma once

#include <atomic>
#include <chrono>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "arrowdaq/config/config.h"
#include "arrowdaq/pipeline/instrument_manager.h"
#include "arrowdaq/pipeline/live_feed.h"
#include "arrowdaq/runtime/actor.h"
#include "arrowdaq/server/engine_port.h"

namespace arrowdaq::server {

struct FakeEngineOptions {
  /// Where recordings' run directories go (created when missing).
  std::string output_dir = "runs";
  pipeline::LiveFeedOptions feed;
  /// Events kept for RecentEvents.
  std::size_t max_events = 1000;
};

class FakeEngine : public EnginePort {
 public:
  /// Register, connect and start every instrument of `config`.
  static Result<std::unique_ptr<FakeEngine>> Make(const config::RunConfig& config,
                                                  FakeEngineOptions options);
  ~FakeEngine() override;

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

  /// Stop recordings, the feed and every instrument. Idempotent.
  void Shutdown();

  pipeline::StreamRouter& router() { return manager_->router(); }
  pipeline::LiveFeed& feed() { return *feed_; }

 private:
  explicit FakeEngine(FakeEngineOptions options);
  struct Recording;
  Status Register(const config::InstrumentConfig& instrument);
  void Record(RunEvent event);
  RecordingInfo Snapshot(Recording& recording);
  void StopLocked(Recording& recording);

  const FakeEngineOptions options_;
  const std::chrono::steady_clock::time_point started_;
  std::unique_ptr<runtime::ActorSystem> system_;
  std::unique_ptr<pipeline::InstrumentManager> manager_;
  std::unique_ptr<pipeline::LiveFeed> feed_;

  std::mutex mutex_;  // guards everything below
  std::deque<RunEvent> events_;
  std::vector<std::unique_ptr<Recording>> recordings_;
  std::uint64_t next_recording_ = 1;
  bool shut_down_ = false;
};

}  // namespace arrowdaq::server
