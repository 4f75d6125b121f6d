#include "arrowdaq/app/recording.h"

#include <unistd.h>

#include <arrow/array.h>
#include <arrow/util/byte_size.h>
#include <arrow/util/key_value_metadata.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <fstream>

#include "arrowdaq/app/json_writer.h"
#include "arrowdaq/app/run_summary.h"
#include "arrowdaq/core/clock.h"
#include "arrowdaq/storage/writer_factory.h"

namespace arrowdaq::app {

namespace fs = std::filesystem;

namespace {

std::string RunIdStamp(std::int64_t ns) {
  const std::time_t secs = static_cast<std::time_t>(ns / 1'000'000'000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[32];
  std::strftime(buf, sizeof(buf), "%Y%m%dT%H%M%SZ", &tm);
  return buf;
}

std::string HostName() {
  char buf[256] = {};
  if (gethostname(buf, sizeof(buf) - 1) != 0) return "unknown";
  return buf;
}

Result<std::vector<std::unique_ptr<storage::StorageWriter>>> MakeWriters(
    const config::StorageConfig& cfg, const fs::path& run_dir, const storage::RunInfo& info) {
  storage::WriterOptions wo;
  wo.run_directory = run_dir.string();
  wo.run = info;
  wo.hdf5.gzip_level = cfg.compression == "gzip" ? 4 : 0;
  wo.hdf5.roll_bytes = cfg.hdf5_roll_bytes;
  wo.hdf5.roll_interval = cfg.hdf5_roll_interval;
  wo.parquet.segment_duration = cfg.parquet_segment;
  std::vector<std::unique_ptr<storage::StorageWriter>> writers;
  std::vector<storage::StorageFormat> made;
  for (const auto& name : cfg.formats) {
    ARROW_ASSIGN_OR_RAISE(auto format, storage::ParseStorageFormat(name));
    // "arrow" and its old name "arrows" are one writer.
    if (std::find(made.begin(), made.end(), format) != made.end()) continue;
    made.push_back(format);
    ARROW_ASSIGN_OR_RAISE(auto w, storage::MakeWriter(format, wo));
    writers.push_back(std::move(w));
  }
  return writers;
}

}  // namespace

std::string OverridesToml(const std::vector<std::string>& args) {
  std::string command = "arrowdaq run config.toml";
  std::string array = "args = [";
  for (size_t i = 0; i < args.size(); ++i) {
    // Shell-quoted in the comment: 'it'\''s' for a quote inside.
    const bool plain = !args[i].empty() && args[i].find_first_not_of(
                                               "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                                               "0123456789_.,-=/:+@%") == std::string::npos;
    std::string quoted = "'";
    for (char c : args[i]) {
      // A line break would end the comment; `args` below keeps the exact text.
      if (static_cast<unsigned char>(c) < 0x20) c = ' ';
      quoted += c == '\'' ? std::string("'\\''") : std::string(1, c);
    }
    command += " " + (plain ? args[i] : quoted + "'");
    array += (i > 0 ? ", \"" : "\"") + JsonEscape(args[i]) + "\"";
  }
  return "# Command-line options that overrode config.toml in this run. Reproduce it with\n#   " +
         command + "\n" + array + "]\n";
}

Recording::Recording(pipeline::StreamRouter& router, EventLog& events, RecordingOptions options)
    : router_(router), events_(events), options_(std::move(options)) {}

Recording::~Recording() { (void)Stop(); }

Result<std::unique_ptr<Recording>> Recording::Start(pipeline::StreamRouter& router,
                                                    EventLog& events, RecordingOptions options) {
  std::unique_ptr<Recording> recording(new Recording(router, events, std::move(options)));
  ARROW_RETURN_NOT_OK(recording->Open());
  return recording;
}

Status Recording::Open() {
  // The streams first: a recording of streams that do not exist creates nothing.
  const auto& wanted = options_.storage.streams;
  const bool all = std::find(wanted.begin(), wanted.end(), "*") != wanted.end();
  for (const auto& name : router_.StreamNames()) {
    if (std::find(wanted.begin(), wanted.end(), name) != wanted.end()) {
      streams_.push_back(name);
    } else if (all) {
      // "*" leaves out a stream whose schema says arrowdaq.store = "false" (the live
      // documents of scans, stored as documents.jsonl); naming it stores it.
      auto info = router_.FindStream(name);
      const auto md = info.ok() ? (*info)->schema->metadata() : nullptr;
      if (md == nullptr || md->Get("arrowdaq.store").ValueOr("") != "false") {
        streams_.push_back(name);
      }
    }
  }
  for (const auto& name : wanted) {
    if (name != "*") ARROW_RETURN_NOT_OK(router_.FindStream(name).status());
  }

  const std::string& output = options_.output_dir;
  start_wall_ns_ = WallClockNanos();
  const std::string base =
      (options_.name.empty() ? std::string("run") : options_.name) + "-" +
      RunIdStamp(start_wall_ns_);
  std::error_code ec;
  fs::create_directories(output, ec);
  if (ec) {
    return Status::IOError("cannot create output directory '", output, "': ", ec.message());
  }
  if (::access(output.c_str(), W_OK) != 0) {
    return Status::IOError("output directory '", output, "' is not writable: ",
                           std::strerror(errno));
  }
  // The disk budget: refuse to start below storage.min_free before the run directory exists;
  // then watch the run directory and stop cleanly before the free space falls below it.
  ARROW_ASSIGN_OR_RAISE(auto budget,
                        storage::DiskBudget::Make({output, options_.storage.min_free_bytes,
                                                   options_.storage.disk_warn,
                                                   options_.storage.flush_interval}));
  id_ = base;
  for (int k = 2; fs::exists(fs::path(output) / id_, ec); ++k) {
    id_ = base + "-" + std::to_string(k);
  }
  directory_ = fs::path(output) / id_;
  if (!fs::create_directory(directory_, ec) || ec) {
    return Status::IOError("cannot create run directory '", directory_.string(),
                           "': ", ec ? ec.message() : "already exists");
  }
  {
    const auto config_copy = directory_ / "config.toml";
    std::ofstream out(config_copy, std::ios::binary);
    out << options_.config_text;
    out.close();
    if (!out) {
      return Status::IOError("cannot write '", config_copy.string(), "': ", std::strerror(errno));
    }
  }

  {
    const auto path = directory_ / "overrides.toml";
    std::ofstream out(path, std::ios::binary);
    out << OverridesToml(options_.override_args);
    out.close();
    if (!out) {
      return Status::IOError("cannot write '", path.string(), "': ", std::strerror(errno));
    }
  }
  // Space for summary.json, set aside before the data can fill the disk; released just before
  // the summary is written (run_summary.h).
  ARROW_RETURN_NOT_OK(ReserveSpace((directory_ / kSummaryReserve).string(), kSummaryReserveBytes));

  const auto& cfg = options_.storage;
  storage::RunInfo info{id_,
                        options_.config_text,
                        start_wall_ns_,
                        ARROWDAQ_VERSION_STRING,
                        HostName(),
                        options_.metadata,
                        OverridesToml(options_.override_args)};
  ARROW_ASSIGN_OR_RAISE(auto writers, MakeWriters(cfg, directory_, info));
  subscription_name_ = "recording:" + id_;
  ARROW_ASSIGN_OR_RAISE(subscription_,
                        router_.Subscribe({.name = subscription_name_,
                                           .streams = streams_.empty()
                                                          ? std::vector<std::string>{"*"}
                                                          : streams_,
                                           .capacity = cfg.capacity,
                                           .policy = OverflowPolicy::kBlock}));
  auto sub = subscription_;
  storage::PacketSource source{
      [this, sub](std::chrono::steady_clock::time_point deadline) {
        auto packet = sub->Next(deadline);
        if (packet) Count(*packet);
        return packet;
      },
      [sub] { return sub->closed() && sub->queued() == 0; }};
  storage::RecorderOptions ro;
  ro.flush_interval = cfg.flush_interval;
  ro.on_error = options_.on_error;
  ro.disk_budget = std::move(budget);
  ro.on_disk = options_.on_disk;
  recorder_ = std::make_unique<storage::Recorder>(std::move(writers), std::move(source), ro);
  for (const auto& name : streams_) {
    ARROW_ASSIGN_OR_RAISE(auto stream_info, router_.FindStream(name));
    ARROW_RETURN_NOT_OK(recorder_->AddStream(*stream_info));
  }
  recorder_->Start();
  auto* recorder = recorder_.get();
  listener_ = events_.AddListener([recorder](const RunEvent& e) { recorder->PostEvent(e); });
  return Status::OK();
}

void Recording::Count(const DataPacket& packet) {
  const auto rows = packet.batch->num_rows();
  std::lock_guard lock(mutex_);
  auto& r = received_[packet.stream_name()];
  const auto sequence = static_cast<std::int64_t>(packet.sequence);
  if (r.packets == 0) {
    r.first_sequence = sequence;
  } else if (sequence > r.last_sequence + 1) {
    r.missing += static_cast<std::uint64_t>(sequence - r.last_sequence - 1);
  }
  r.last_sequence = sequence;
  ++r.packets;
  r.rows += static_cast<std::uint64_t>(rows);
  r.bytes += static_cast<std::uint64_t>(arrow::util::TotalBufferSize(*packet.batch));
  if (rows > 0) {
    const auto& ts = static_cast<const arrow::TimestampArray&>(*packet.batch->column(0));
    if (r.rows == static_cast<std::uint64_t>(rows)) r.first_timestamp_ns = ts.Value(0);
    r.last_timestamp_ns = ts.Value(rows - 1);
  }
}

Status Recording::Stop() {
  std::lock_guard stopping(stop_mutex_);
  {
    std::lock_guard lock(mutex_);
    if (stopped_) return stop_status_;
  }
  Status st;
  if (recorder_) {
    // One instant: after Unsubscribe no packet reaches this recording; the queue drains.
    if (subscription_) (void)router_.Unsubscribe(subscription_name_);
    events_.RemoveListener(listener_);
    st = recorder_->Finish();
  }
  std::lock_guard lock(mutex_);
  stopped_ = true;
  stop_wall_ns_ = WallClockNanos();
  stop_status_ = st;
  return st;
}

std::int64_t Recording::stop_wall_ns() const {
  std::lock_guard lock(mutex_);
  return stop_wall_ns_;
}

bool Recording::stopped() const {
  std::lock_guard lock(mutex_);
  return stopped_;
}

storage::RecorderStats Recording::stats() const {
  return recorder_ ? recorder_->stats() : storage::RecorderStats{};
}

std::map<std::string, RecordedStream> Recording::received() const {
  std::lock_guard lock(mutex_);
  return received_;
}

}  // namespace arrowdaq::app
