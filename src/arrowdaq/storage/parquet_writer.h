// Parquet writer: per stream, rolling segments `<stream>.<NNNNN>.parquet` (zstd). A segment
// is written as `<stream>.<NNNNN>.parquet.partial` and renamed when it is closed, so every
// `*.parquet` file is complete; the open segment is lost in a crash. Owns its files; one thread.
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

/// Write into `directory` (created if missing; must be writable, checked here). Segments are
/// numbered from 00000 per stream; an existing segment file is never overwritten.
Result<std::unique_ptr<StorageWriter>> MakeParquetWriter(const std::string& directory,
                                                         const ParquetOptions& options = {});

}  // namespace arrowdaq::storage
