// StorageWriter: the interface every on-disk format implements (HDF5, Arrow IPC, Parquet, CSV),
// plus the run-level facts (RunInfo) and events (RunEvent) the writers record.
//
// Ownership: a writer owns its open files and closes them in Close() or its destructor. Packets
// are borrowed for the duration of Write(); their buffers are never copied into the writer.
// Threads: a writer is used by ONE thread (a storage actor's writer thread). It is not
// thread-safe; different writers may run on different threads, except that all HDF5 calls of a
// process must come from one thread at a time (the HDF5 library is not assumed thread-safe).
#pragma once

#include <cstdint>
#include <string>

#include "arrowdaq/core/data_packet.h"
#include "arrowdaq/core/run_event.h"
#include "arrowdaq/core/status.h"

namespace arrowdaq::storage {

/// Version of the layout written by every writer (`format_version` attribute / metadata key).
inline constexpr char kStorageFormatVersion[] = "1";

/// Describe one event of a run: a fault, a gap, a restart, an overrun or a note.
using RunEvent = arrowdaq::RunEvent;  // see core/run_event.h

/// Describe the run a writer records (written as file attributes where the format has them).
struct RunInfo {
  std::string run_id;
  /// The configuration text (TOML) the run was started with.
  std::string config_text;
  /// Start of the run, ns since 1970-01-01T00:00:00Z.
  std::int64_t start_time_ns = 0;
  std::string arrowdaq_version;
  std::string host;
};

/// Write the streams of one run to one format. Used by one thread; see the file comment.
class StorageWriter {
 public:
  virtual ~StorageWriter() = default;

  /// Declare a stream before its first batch. The schema is a stream schema (see
  /// core/schema.h): units and descriptions in field metadata, stream attributes such as
  /// driver and resource in schema metadata. Stream names are confined to [A-Za-z0-9_.-]
  /// and must not start with '.', because they become file and group names.
  [[nodiscard]] virtual Status AddStream(const StreamInfo& stream) = 0;

  /// Append one packet. Its batch matches the stream's schema; packets of a stream arrive in
  /// sequence order. The batch may be a slice (nonzero offset).
  [[nodiscard]] virtual Status Write(const DataPacket& packet) = 0;

  /// Make everything written so far durable and readable by other processes.
  [[nodiscard]] virtual Status Flush() = 0;

  /// Record an event. Writers with no place for events ignore them.
  [[nodiscard]] virtual Status WriteEvent(const RunEvent& event) {
    (void)event;
    return Status::OK();
  }

  /// Finish the files (stop time, footers, end-of-stream markers). Idempotent; after it,
  /// AddStream / Write / WriteEvent fail and Flush does nothing.
  [[nodiscard]] virtual Status Close() = 0;
};

}  // namespace arrowdaq::storage
