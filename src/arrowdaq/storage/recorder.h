// Recorder: the storage actor. One writer thread, fed by a lossless subscription, writes every
// packet to each of its StorageWriters (HDF5, IPC, Parquet, CSV), records run events, and
// flushes every writer on an interval (default 1 s) and at the end, so a crash costs at most
// one flush interval. The eCAL-recorder pattern: one thread per sink, fed by a bounded queue;
// back-pressure reaches the instruments when the disk is slower than the sources.
//
// When a writer fails (disk full, I/O error) the recorder reports the first error through
// `on_error`, stops writing, and keeps draining its source so producers never hang; the packets
// it could not store are counted.
//
// Threading: AddStream before Start; PostEvent from any thread; Finish from the owner.
// All writer calls happen on the recorder's thread (HDF5 is used by one thread only).
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "arrowdaq/core/data_packet.h"
#include "arrowdaq/core/run_event.h"
#include "arrowdaq/core/status.h"
#include "arrowdaq/storage/storage_writer.h"

namespace arrowdaq::storage {

/// Return the next packet, waiting until `deadline`; nullopt on timeout or when the source
/// is closed and empty (`closed()` tells which).
struct PacketSource {
  std::function<std::optional<DataPacket>(std::chrono::steady_clock::time_point)> next;
  std::function<bool()> closed;
};

struct RecorderOptions {
  std::chrono::nanoseconds flush_interval = std::chrono::seconds(1);
  /// Told once, on the recorder's thread, when a writer fails.
  std::function<void(const Status&)> on_error;
};

struct RecorderStats {
  std::uint64_t packets = 0;
  std::uint64_t rows = 0;
  std::uint64_t flushes = 0;
  std::uint64_t not_stored = 0;  ///< packets drained after a write error
};

class Recorder {
 public:
  Recorder(std::vector<std::unique_ptr<StorageWriter>> writers, PacketSource source,
           RecorderOptions options);
  ~Recorder();
  Recorder(const Recorder&) = delete;
  Recorder& operator=(const Recorder&) = delete;

  /// Declare a stream on every writer (before Start).
  Status AddStream(const StreamInfo& stream);
  /// Start the writer thread.
  void Start();
  /// Queue an event for every writer (written on the recorder's thread at its next turn).
  void PostEvent(RunEvent event);
  /// Wait for the source to end, write pending events, flush and close every writer.
  /// Returns the first error of the whole recording.
  Status Finish();

  RecorderStats stats() const;

 private:
  void Loop();
  void WriteEvents();
  void FlushAll();
  void Record(const Status& st);

  std::vector<std::unique_ptr<StorageWriter>> writers_;
  PacketSource source_;
  RecorderOptions options_;
  std::thread thread_;
  mutable std::mutex mutex_;
  std::vector<RunEvent> pending_events_;
  Status error_;
  std::atomic<bool> failed_{false};
  std::atomic<std::uint64_t> packets_{0}, rows_{0}, flushes_{0}, not_stored_{0};
};

}  // namespace arrowdaq::storage
