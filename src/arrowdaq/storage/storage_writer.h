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
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "arrowdaq/core/data_packet.h"
#include "arrowdaq/core/run_event.h"
#include "arrowdaq/core/status.h"

namespace arrowdaq::storage {

/// Version of the layout written by every writer (`format_version` attribute / metadata key).
/// 2: NeXus run.h5 (dimension scales, `units`), `.arrow` IPC files, Parquet per stream
/// directory (docs/file-format.md lists the changes from 1).
inline constexpr char kStorageFormatVersion[] = "2";

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
  /// Free facts of the run (`[run.metadata]` and `--meta`): sample, operator, proposal, ...
  /// Keys are [A-Za-z0-9_.-]; values text.
  std::vector<std::pair<std::string, std::string>> metadata;
  /// The command-line options that overrode the config (overrides.toml's text).
  std::string overrides;
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

  /// Return the format's config name: "hdf5", "arrow", "parquet" or "csv".
  [[nodiscard]] virtual std::string_view format_name() const = 0;

  /// Return, per added stream, the rows that are *stored*: in the file as readable data, so
  /// that a reader finds exactly these rows even if the process dies now. When a row counts
  /// depends on the format: HDF5 at a successful Flush or Close (H5Fflush); Arrow IPC and CSV
  /// when the write of its batch to the OS succeeded (each Write is one write to the file; a
  /// failed write is cut off the file again); Parquet when its part is closed and renamed.
  /// "On disk" means handed to the operating system (it survives the process, not a power
  /// cut: nothing calls fsync). Rows of a failed write are never counted.
  [[nodiscard]] virtual std::map<std::string, std::int64_t> StoredRows() const = 0;
};

}  // namespace arrowdaq::storage
