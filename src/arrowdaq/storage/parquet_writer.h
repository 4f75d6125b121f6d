// Parquet writer: per stream, one directory `<stream>/` of rolling parts `part-NNNNN.parquet`
// (zstd), so `<stream>/*.parquet` names exactly one stream's rows. A part is written as
// `part-NNNNN.parquet.partial` and renamed when it is closed, so every `*.parquet` file is
// complete; the open part is lost in a crash. Owns its files; one thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "arrowdaq/core/status.h"
#include "arrowdaq/storage/storage_writer.h"

namespace arrowdaq::storage {

/// Tune the Parquet writer.
struct ParquetOptions {
  /// Close a segment when it holds this many rows (split inside a batch if needed).
  std::int64_t segment_rows = 1 << 20;
  /// Close a segment before the first row whose timestamp is at least this far from the
  /// segment's first timestamp; zero turns the limit off.
  std::chrono::nanoseconds segment_duration = std::chrono::minutes(10);
  /// zstd compression level.
  int zstd_level = 3;
};

/// Write into `directory` (created if missing; must be writable, checked here): the parts of
/// stream `s` go to `directory/s/part-00000.parquet`, ... The stream directory must not exist
/// or be empty; stream names run.h5, config.toml and summary.json are refused.
/// The run's id and metadata go to every part's key-value metadata (`arrowdaq.run_id`,
/// `arrowdaq.run.<key>`).
Result<std::unique_ptr<StorageWriter>> MakeParquetWriter(const std::string& directory,
                                                         const ParquetOptions& options = {},
                                                         const RunInfo& run = {});

}  // namespace arrowdaq::storage
