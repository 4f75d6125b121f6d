// Recorder: the storage actor. One writer thread, fed by a lossless subscription, writes every
// packet to each of its StorageWriters (HDF5, IPC, Parquet, CSV), records run events, and
// flushes every writer once when it starts (HDF5 enters SWMR mode there), then on an interval
// (default 1 s) and at the end, so a crash costs at most one flush interval. The eCAL-recorder pattern: one thread per sink, fed by a bounded queue;
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
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "arrowdaq/core/data_packet.h"
#include "arrowdaq/core/run_event.h"
#include "arrowdaq/core/status.h"
#include "arrowdaq/storage/disk_budget.h"
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
  /// The disk budget, checked after every flush (none: not watched).
  std::optional<DiskBudget> disk_budget;
  /// Told on the recorder's thread when the budget warns (once) and when it says stop (once):
  /// the owner stops the sources; the recorder goes on writing what is queued.
  std::function<void(const DiskCheck&)> on_disk;
};

/// What one format holds at the end (StorageWriter::StoredRows) and why it stopped.
struct FormatStats {
  std::string format;  ///< "hdf5", "arrow", "parquet", "csv"
  /// Per stream: rows the format stores (readable from its files).
  std::map<std::string, std::int64_t> stored_rows;
  /// The writer's first error ("" when none).
  std::string error;
};

struct RecorderStats {
  std::uint64_t packets = 0;  ///< packets handed to every writer
  std::uint64_t rows = 0;     ///< rows handed to every writer (not necessarily stored)
  std::uint64_t flushes = 0;
  std::uint64_t not_stored = 0;  ///< packets drained after a write error
  /// Per stream: rows that reached the recorder (handed to the writers or drained).
  std::map<std::string, std::int64_t> received_rows;
  /// Per format, in the order of the writers; filled by Finish (empty before).
  std::vector<FormatStats> formats;
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

  /// Return the figures so far; `formats` only after Finish.
  RecorderStats stats() const;
  /// Return stats().rows and stats().packets without copying the rest (any thread; cheap
  /// enough to poll).
  std::uint64_t rows() const { return rows_.load(std::memory_order_relaxed); }
  std::uint64_t packets() const { return packets_.load(std::memory_order_relaxed); }

 private:
  void Loop();
  void WriteEvents();
  void FlushAll();
  void CheckDisk();
  /// Keep `st` as writer `index`'s error (and the recording's first error) when it is one.
  void Record(size_t index, const Status& st);

  std::vector<std::unique_ptr<StorageWriter>> writers_;
  PacketSource source_;
  RecorderOptions options_;
  std::thread thread_;
  mutable std::mutex mutex_;
  std::vector<RunEvent> pending_events_;
  Status error_;
  std::vector<std::string> writer_errors_;           // guarded by mutex_
  std::map<std::string, std::int64_t> received_;     // guarded by mutex_
  std::vector<FormatStats> format_stats_;            // guarded by mutex_, set by Finish
  std::atomic<bool> failed_{false};
  bool disk_stop_told_ = false;  // recorder thread only
  std::atomic<std::uint64_t> packets_{0}, rows_{0}, flushes_{0}, not_stored_{0};
};

}  // namespace arrowdaq::storage
