#include "arrowdaq/storage/recorder.h"

namespace arrowdaq::storage {

Recorder::Recorder(std::vector<std::unique_ptr<StorageWriter>> writers, PacketSource source,
                   RecorderOptions options)
    : writers_(std::move(writers)),
      source_(std::move(source)),
      options_(std::move(options)),
      writer_errors_(writers_.size()) {}

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

void Recorder::Record(size_t index, const Status& st) {
  if (st.ok()) return;
  {
    std::lock_guard lock(mutex_);
    if (index < writer_errors_.size() && writer_errors_[index].empty()) {
      writer_errors_[index] = st.ToString();
    }
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
    for (size_t i = 0; i < writers_.size(); ++i) Record(i, writers_[i]->WriteEvent(e));
  }
}

void Recorder::FlushAll() {
  if (failed_.load()) return;
  for (size_t i = 0; i < writers_.size(); ++i) Record(i, writers_[i]->Flush());
  flushes_.fetch_add(1, std::memory_order_relaxed);
}

void Recorder::CheckDisk() {
  if (!options_.disk_budget || disk_stop_told_) return;
  auto check = options_.disk_budget->Check(std::chrono::steady_clock::now());
  // A file system that cannot tell its free space is not a reason to stop a run.
  if (!check.ok() || check->verdict == DiskVerdict::kOk) return;
  if (check->verdict == DiskVerdict::kStop) disk_stop_told_ = true;
  if (options_.on_disk) options_.on_disk(*check);
}

void Recorder::Loop() {
  using Clock = std::chrono::steady_clock;
  // Every stream is declared: one flush now puts run.h5 in SWMR mode before the first packet,
  // so a run killed at any moment from here on leaves a file that opens (SWMR read).
  FlushAll();
  auto next_flush = Clock::now() + options_.flush_interval;
  for (;;) {
    auto packet = source_.next(next_flush);
    if (packet) {
      if (packet->stream != nullptr) {
        std::lock_guard lock(mutex_);
        received_[packet->stream->name] += packet->num_rows();
      }
      if (failed_.load(std::memory_order_relaxed)) {
        not_stored_.fetch_add(1, std::memory_order_relaxed);
      } else {
        bool written = true;
        for (size_t i = 0; i < writers_.size(); ++i) {
          Status st = writers_[i]->Write(*packet);
          if (!st.ok()) {
            Record(i, st);
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
      CheckDisk();
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
  for (size_t i = 0; i < writers_.size(); ++i) Record(i, writers_[i]->Close());
  std::vector<FormatStats> formats;
  for (size_t i = 0; i < writers_.size(); ++i) {
    std::lock_guard lock(mutex_);
    formats.push_back({std::string(writers_[i]->format_name()), writers_[i]->StoredRows(),
                       writer_errors_[i]});
  }
  writers_.clear();
  std::lock_guard lock(mutex_);
  format_stats_ = std::move(formats);
  return error_;
}

RecorderStats Recorder::stats() const {
  RecorderStats out{packets_.load(), rows_.load(), flushes_.load(), not_stored_.load(), {}, {}};
  std::lock_guard lock(mutex_);
  out.received_rows = received_;
  out.formats = format_stats_;
  return out;
}

}  // namespace arrowdaq::storage
