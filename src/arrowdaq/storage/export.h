// Export: convert a finished run from one storage format to another (`arrowdaq export`), for
// the user who recorded HDF5 and wants Parquet for DuckDB, or the reverse. The run's streams
// are read back from one format as Arrow record batches (a bounded number of rows at a time,
// so memory does not grow with the run) and written through MakeWriter, with the run's facts
// (run id, start time, config, overrides, metadata, events where the format has them) kept and
// the source recorded (`exported_from` metadata).
//
// Threading: one call at a time per process for HDF5 sources or targets (see storage_writer.h).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "arrowdaq/core/status.h"
#include "arrowdaq/storage/writer_factory.h"

namespace arrowdaq::storage {

struct ExportOptions {
  /// The run directory to read.
  std::string run_directory;
  /// The format to read from; nullopt: the first present of hdf5, arrow, parquet, csv.
  std::optional<StorageFormat> from;
  /// The format to write.
  StorageFormat to = StorageFormat::kParquet;
  /// Where to write (default: the run directory itself). Existing files are never overwritten.
  std::string output_directory;
  /// Streams to export (empty: all).
  std::vector<std::string> streams;
  /// Rows per batch read back (bounded further to about 16 MiB per batch for array columns).
  std::int64_t batch_rows = 65536;
};

/// What an export did.
struct ExportResult {
  StorageFormat from = StorageFormat::kHdf5;
  std::vector<std::pair<std::string, std::int64_t>> rows;  ///< per stream, rows written
  std::vector<std::string> warnings;  ///< e.g. a source file left by a crash
};

/// Export a run. Fails with an error naming the file when the source cannot be read (or is
/// not an arrowdaq run), a requested stream does not exist, or a target file exists.
Result<ExportResult> ExportRun(const ExportOptions& options);

/// Return whether the run directory holds files of `format`.
bool RunHasFormat(const std::string& run_directory, StorageFormat format);

}  // namespace arrowdaq::storage
