// ProcessorActor: runs one Processor as a stage of the pipeline. Its mailbox is its input
// subscription (lossless, so back-pressure reaches the source); on its own thread it takes
// each input packet, transforms it and publishes the result on its derived stream, which has
// its own sequence numbers and is an ordinary stream for storage, monitors and further
// processors.
//
// Supervision: when Process fails (or throws) the processor is rebuilt from its factory after
// an exponential backoff, the failure and the restart are reported as events, and the input
// packet that failed is counted as a gap of the derived stream; after max_restarts failures
// inside the window the actor gives up (its input is then drained and discarded, so sources
// never hang) and reports that too.
//
// Threading: Start/Join/stats from the owner; the callbacks run on the actor's thread.
#pragma once

#include <atomic>
#include <deque>
#include <functional>
#include <memory>
#include <thread>

#include "arrowdaq/core/run_event.h"
#include "arrowdaq/pipeline/processor.h"
#include "arrowdaq/pipeline/stream_router.h"
#include "arrowdaq/runtime/actor.h"

namespace arrowdaq::pipeline {

struct ProcessorActorStats {
  std::uint64_t packets_in = 0;
  std::uint64_t packets_out = 0;
  std::uint64_t failed_packets = 0;
  int restarts = 0;
  bool gave_up = false;
};

class ProcessorActor {
 public:
  using Factory = std::function<Result<std::unique_ptr<Processor>>()>;

  ProcessorActor(std::string name, Factory factory, std::unique_ptr<Processor> first,
                 std::shared_ptr<Subscription> input, StreamRouter& router,
                 std::shared_ptr<StreamHandle> output, runtime::SupervisionOptions supervision,
                 std::function<void(RunEvent)> on_event);
  ~ProcessorActor();

  void Start();
  /// Close the input (after its sources stopped) and wait until everything queued went out.
  void CloseAndJoin();
  ProcessorActorStats stats() const;
  const std::string& name() const { return name_; }

 private:
  void Loop();
  bool Restart(const Status& cause);

  std::string name_;
  Factory factory_;
  std::unique_ptr<Processor> processor_;
  std::shared_ptr<Subscription> input_;
  StreamRouter& router_;
  std::shared_ptr<StreamHandle> output_;
  runtime::SupervisionOptions supervision_;
  std::function<void(RunEvent)> on_event_;
  std::thread thread_;
  std::deque<std::chrono::steady_clock::time_point> failures_;
  std::chrono::milliseconds backoff_;
  std::atomic<std::uint64_t> in_{0}, out_{0}, failed_{0};
  std::atomic<int> restarts_{0};
  std::atomic<bool> gave_up_{false};
};

}  // namespace arrowdaq::pipeline
