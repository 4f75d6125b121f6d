#include "arrowdaq/storage/recorder.h"

namespace arrowdaq::storage {

Recorder::Recorder(std::vector<std::unique_ptr<StorageWriter>> writers, PacketSource source,
                   RecorderOptions options)
    : writers_(std::move(writers)), source_(std::move(source)), options_(std::move(options)) {}

Recorder::~Recorder() { (void)Finish(); }

Status Recorder::AddStream(const StreamInfo& stream) {
  for (auto& w : writers_) ARROW_RETURN_NOT_OK(w->AddStream(stream));
  return Status::OK();
}

void Recorder::Start() { thread_ = std::thread([this] { Loop(); }); }

void Recorder::PostEvent(RunEvent event) {
  std::lock_guard lock(mutex_);
  pending_events_.push_back(std::move(event));
}

void Recorder::Record(const Status& st) {
  if (st.ok()) return;
  {
    std::lock_guard lock(mutex_);
    if (failed_.exchange(true)) return;
    error_ = st;
  }
  if (options_.on_error) options_.on_error(st);
}

void Recorder::WriteEvents() {
  std::vector<RunEvent> events;
  {
    std::lock_guard lock(mutex_);
    events.swap(pending_events_);
  }
  if (failed_.load()) return;
  for (const auto& e : events) {
    for (auto& w : writers_) Record(w->WriteEvent(e));
  }
}

void Recorder::FlushAll() {
  if (failed_.load()) return;
  for (auto& w : writers_) Record(w->Flush());
  flushes_.fetch_add(1, std::memory_order_relaxed);
}

void Recorder::Loop() {
  using Clock = std::chrono::steady_clock;
  auto next_flush = Clock::now() + options_.flush_interval;
  for (;;) {
    auto packet = source_.next(next_flush);
    if (packet) {
      if (failed_.load(std::memory_order_relaxed)) {
        not_stored_.fetch_add(1, std::memory_order_relaxed);
      } else {
        bool written = true;
        for (auto& w : writers_) {
          Status st = w->Write(*packet);
          if (!st.ok()) {
            Record(st);
            written = false;
            break;
          }
        }
        // Each packet is counted once: stored (every writer took it) or not stored.
        if (written) {
          packets_.fetch_add(1, std::memory_order_relaxed);
          rows_.fetch_add(static_cast<std::uint64_t>(packet->num_rows()),
                          std::memory_order_relaxed);
        } else {
          not_stored_.fetch_add(1, std::memory_order_relaxed);
        }
      }
    } else if (source_.closed()) {
      break;
    }
    if (Clock::now() >= next_flush) {
      WriteEvents();
      FlushAll();
      next_flush = Clock::now() + options_.flush_interval;
    }
  }
}

Status Recorder::Finish() {
  if (thread_.joinable()) thread_.join();
  if (writers_.empty()) {
    std::lock_guard lock(mutex_);
    return error_;
  }
  WriteEvents();
  FlushAll();
  for (auto& w : writers_) Record(w->Close());
  writers_.clear();
  std::lock_guard lock(mutex_);
  return error_;
}

RecorderStats Recorder::stats() const {
  return {packets_.load(), rows_.load(), flushes_.load(), not_stored_.load()};
}

}  // namespace arrowdaq::storage
