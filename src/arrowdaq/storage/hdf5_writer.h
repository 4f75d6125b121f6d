// HDF5 writer: one `run.h5` per run, readable while it grows (SWMR) and after a crash up to the
// last Flush. Layout in docs/file-format.md. Owns the HDF5 file and every dataset handle; used
// by one thread (see storage_writer.h).
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "arrowdaq/core/status.h"
#include "arrowdaq/storage/storage_writer.h"

namespace arrowdaq::storage {

/// Tune the HDF5 writer.
struct Hdf5Options {
  /// gzip (deflate) level 1..9; 0 turns compression off.
  int gzip_level = 0;
  /// Apply the shuffle filter before gzip (ignored when gzip is off).
  bool shuffle = true;
  /// Rows per chunk of each column dataset; capped so one chunk is at most 1 MiB (the HDF5
  /// chunk cache per dataset, used only with gzip: uncompressed rows go straight to the file).
  /// 64 Ki rows = 512 KiB per float64 chunk.
  std::int64_t chunk_rows = 65536;
  /// Rolling: start a new part file when the current one holds this many bytes (checked at
  /// each Flush; 0: off) ...
  std::int64_t roll_bytes = 0;
  /// ... or has been written for this long (0: off). With either set, the data goes to
  /// `run.00000.h5`, `run.00001.h5`, ... (each a complete file of the same layout) and Close
  /// writes `run.h5` as the index: the same NeXus layout whose datasets are HDF5 virtual
  /// datasets over the parts, so the whole run reads as one file.
  std::chrono::nanoseconds roll_interval{0};
};

/// Bytes reserved for each string field of a row of `/events` (longer text is truncated).
inline constexpr int kEventStreamBytes = 64;
inline constexpr int kEventKindBytes = 16;
inline constexpr int kEventMessageBytes = 240;
/// Bytes of the fixed-length `start_time` / `stop_time` root attributes.
inline constexpr int kTimeAttributeBytes = 32;

/// Create `path` (it must not exist yet) with the run's root attributes and an empty
/// `/events` table (rolling, see Hdf5Options: the first part `<stem>.00000.h5`; `path` is
/// written as the index at Close). All streams must be added before the first Write or Flush: that call
/// switches the file to SWMR mode, after which AddStream fails.
/// Fails with IOError naming the path when the file cannot be created.
Result<std::unique_ptr<StorageWriter>> MakeHdf5Writer(const std::string& path, const RunInfo& run,
                                                      const Hdf5Options& options = {});

}  // namespace arrowdaq::storage
