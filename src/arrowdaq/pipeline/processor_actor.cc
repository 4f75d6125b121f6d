#include "arrowdaq/pipeline/processor_actor.h"

#include <exception>

#include "arrowdaq/core/clock.h"

namespace arrowdaq::pipeline {

ProcessorActor::ProcessorActor(std::string name, Factory factory, std::unique_ptr<Processor> first,
                               std::shared_ptr<Subscription> input, StreamRouter& router,
                               std::shared_ptr<StreamHandle> output,
                               runtime::SupervisionOptions supervision,
                               std::function<void(RunEvent)> on_event)
    : name_(std::move(name)),
      factory_(std::move(factory)),
      processor_(std::move(first)),
      input_(std::move(input)),
      router_(router),
      output_(std::move(output)),
      supervision_(supervision),
      on_event_(std::move(on_event)),
      backoff_(supervision.initial_backoff) {}

ProcessorActor::~ProcessorActor() { CloseAndJoin(); }

void ProcessorActor::Start() { thread_ = std::thread([this] { Loop(); }); }

void ProcessorActor::CloseAndJoin() {
  input_->Close();
  if (thread_.joinable()) thread_.join();
}

bool ProcessorActor::Restart(const Status& cause) {
  const auto now = std::chrono::steady_clock::now();
  failures_.push_back(now);
  while (!failures_.empty() && now - failures_.front() > supervision_.window) failures_.pop_front();
  if (static_cast<int>(failures_.size()) > supervision_.max_restarts) {
    gave_up_.store(true);
    if (on_event_) {
      on_event_({WallClockNanos(), name_, "fault",
                 "processor gave up after " + std::to_string(restarts_.load()) +
                     " restarts: " + cause.ToString()});
    }
    return false;
  }
  std::this_thread::sleep_for(backoff_);
  backoff_ = std::min(supervision_.max_backoff,
                      std::chrono::duration_cast<std::chrono::milliseconds>(
                          backoff_ * supervision_.backoff_multiplier));
  auto fresh = factory_();
  if (!fresh.ok()) return Restart(fresh.status());
  processor_ = std::move(fresh).ValueUnsafe();
  restarts_.fetch_add(1);
  if (on_event_) {
    on_event_({WallClockNanos(), name_, "restart",
               "processor restarted (state reset) after: " + cause.ToString()});
  }
  return true;
}

void ProcessorActor::Loop() {
  while (auto packet = input_->Next()) {
    in_.fetch_add(1, std::memory_order_relaxed);
    if (gave_up_.load(std::memory_order_relaxed)) {
      failed_.fetch_add(1, std::memory_order_relaxed);
      continue;  // drain so that sources never hang on a dead stage
    }
    Result<std::shared_ptr<arrow::RecordBatch>> out;
    try {
      out = processor_->Process(*packet->batch);
    } catch (const std::exception& e) {
      out = Status::UnknownError("processor threw: ", e.what());
    } catch (...) {
      out = Status::UnknownError("processor threw a non-standard exception");
    }
    if (!out.ok()) {
      failed_.fetch_add(1, std::memory_order_relaxed);
      if (on_event_) {
        on_event_({WallClockNanos(), name_, "gap",
                   "input packet " + std::to_string(packet->sequence) + " of '" +
                       packet->stream_name() + "' not processed: " + out.status().ToString()});
      }
      (void)Restart(out.status());
      continue;
    }
    if ((*out)->num_rows() == 0) continue;
    auto published = router_.Publish(*output_, std::move(out).ValueUnsafe());
    if (published.ok()) {
      out_.fetch_add(1, std::memory_order_relaxed);
    } else if (on_event_) {
      on_event_({WallClockNanos(), name_, "fault", published.status().ToString()});
    }
  }
}

ProcessorActorStats ProcessorActor::stats() const {
  return {in_.load(), out_.load(), failed_.load(), restarts_.load(), gave_up_.load()};
}

}  // namespace arrowdaq::pipeline
