// Recording: one run directory being written from a running engine. It creates
// `<output>/<name>-<UTC time>/` (a suffix `-2`, `-3`, ... when that exists), copies the config
// text into it with the command-line overrides (overrides.toml), sets space aside for
// summary.json (kSummaryReserve), opens the storage writers of its `[storage]` settings, and subscribes
// losslessly (policy block: back-pressure reaches the instruments) to the streams it records.
// A Recorder thread writes every packet and the engine's events; Stop ends the subscription at
// one instant (packets stamped later are not taken), writes what was queued, flushes and closes
// every file. Recordings come and go while the engine runs; several may run side by side.
//
// It also counts what it actually received per stream (first and last sequence number, rows,
// first and last timestamp, sequence numbers missing in between), so a summary states what the
// files hold rather than what was published.
//
// Threading: Start, Stop and the accessors from any thread; Stop is idempotent and may be
// called from several threads (the first does the work, the others wait for it). The writers
// run only on the recorder's thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "arrowdaq/app/event_log.h"
#include "arrowdaq/config/config.h"
#include "arrowdaq/core/status.h"
#include "arrowdaq/pipeline/stream_router.h"
#include "arrowdaq/storage/recorder.h"

namespace arrowdaq::app {

struct RecordingOptions {
  /// Prefix of the run id ("run" when empty); the run id is `<name>-<UTC time>`.
  std::string name;
  /// Folder that receives the run directory; created when missing.
  std::string output_dir = "runs";
  /// Formats, streams, flush interval, queue capacity, compression.
  config::StorageConfig storage;
  /// Copied verbatim into the run directory as config.toml.
  std::string config_text;
  /// Told once, on the recorder's thread, when a writer fails (the recording then drains
  /// without writing; see storage::Recorder).
  std::function<void(const Status&)> on_error;
  /// The run's metadata ([run.metadata] and --meta), written into every format.
  std::vector<std::pair<std::string, std::string>> metadata;
  /// The command-line options that overrode the config: overrides.toml, run.h5's `overrides`.
  std::vector<std::string> override_args;
  /// Told on the recorder's thread when the disk budget (storage.min_free) warns, and when it
  /// says stop; the owner stops the run.
  std::function<void(const storage::DiskCheck&)> on_disk;
};

/// Return the text of overrides.toml for `args` (a TOML `args = [...]` and, in a comment, the
/// command that reproduces the run).
std::string OverridesToml(const std::vector<std::string>& args);

/// What one recording received of one stream.
struct RecordedStream {
  std::uint64_t packets = 0;
  std::uint64_t rows = 0;
  std::uint64_t bytes = 0;
  std::int64_t first_sequence = -1;  ///< -1 until the first packet
  std::int64_t last_sequence = -1;
  std::uint64_t missing = 0;  ///< sequence numbers skipped between first and last (must be 0)
  std::int64_t first_timestamp_ns = 0;
  std::int64_t last_timestamp_ns = 0;
};

class Recording {
 public:
  /// Create the run directory and its files and start recording. Fails before creating
  /// anything when a stream does not exist or the output folder cannot be written.
  [[nodiscard]] static Result<std::unique_ptr<Recording>> Start(pipeline::StreamRouter& router,
                                                                EventLog& events,
                                                                RecordingOptions options);
  ~Recording();
  Recording(const Recording&) = delete;
  Recording& operator=(const Recording&) = delete;

  /// Stop taking packets now, write what is queued, flush and close every file; return the
  /// first storage error of the whole recording. Idempotent.
  Status Stop();

  const std::string& id() const { return id_; }
  const std::filesystem::path& directory() const { return directory_; }
  std::int64_t start_wall_ns() const { return start_wall_ns_; }
  /// 0 while recording.
  std::int64_t stop_wall_ns() const;
  bool stopped() const;
  /// Streams recorded (names, in the router's order at the start).
  const std::vector<std::string>& stream_names() const { return streams_; }
  storage::RecorderStats stats() const;
  /// What arrived of each stream so far (complete after Stop).
  std::map<std::string, RecordedStream> received() const;

 private:
  Recording(pipeline::StreamRouter& router, EventLog& events, RecordingOptions options);
  Status Open();
  void Count(const DataPacket& packet);

  pipeline::StreamRouter& router_;
  EventLog& events_;
  RecordingOptions options_;
  std::string id_;
  std::string subscription_name_;
  std::filesystem::path directory_;
  std::int64_t start_wall_ns_ = 0;
  std::vector<std::string> streams_;
  std::shared_ptr<pipeline::Subscription> subscription_;
  std::unique_ptr<storage::Recorder> recorder_;
  int listener_ = -1;

  mutable std::mutex mutex_;
  std::map<std::string, RecordedStream> received_;
  std::mutex stop_mutex_;  // held by the thread doing Stop
  bool stopped_ = false;   // guarded by mutex_
  std::int64_t stop_wall_ns_ = 0;
  Status stop_status_;
};

}  // namespace arrowdaq::app
