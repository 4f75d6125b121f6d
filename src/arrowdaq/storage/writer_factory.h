// The storage formats and their one factory: the app names a format (from the config) and gets
// a StorageWriter, without knowing which writer implements it. Pure functions; any thread (the
// writer made is then used by one thread, see storage_writer.h).
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "arrowdaq/core/status.h"
#include "arrowdaq/storage/hdf5_writer.h"
#include "arrowdaq/storage/parquet_writer.h"
#include "arrowdaq/storage/storage_writer.h"

namespace arrowdaq::storage {

/// The on-disk formats (docs/file-format.md).
enum class StorageFormat {
  kHdf5,     ///< "hdf5": run.h5 (NeXus, SWMR)
  kArrow,    ///< "arrow": <stream>.arrow, Arrow IPC file format
  kParquet,  ///< "parquet": <stream>/part-NNNNN.parquet
  kCsv,      ///< "csv": <stream>.csv and <stream>.units.csv
};

/// Return the config name of `format` ("hdf5", "arrow", "parquet", "csv").
std::string_view ToString(StorageFormat format);

/// Parse a config name. "arrows" (the name of format_version 1, when the IPC writer wrote
/// streams) is accepted for "arrow". Unknown names are Invalid, listing the known ones.
Result<StorageFormat> ParseStorageFormat(std::string_view name);

/// Return the names ParseStorageFormat accepts, in documentation order.
std::vector<std::string> StorageFormatNames();

/// Everything a writer may need; each format takes its part.
struct WriterOptions {
  /// The run directory (must exist for HDF5; created by the others if missing).
  std::string run_directory;
  /// Written as run attributes / metadata where the format has a place for them.
  RunInfo run;
  Hdf5Options hdf5;
  ParquetOptions parquet;
};

/// Make the writer of `format` writing into `options.run_directory`.
Result<std::unique_ptr<StorageWriter>> MakeWriter(StorageFormat format,
                                                  const WriterOptions& options);

}  // namespace arrowdaq::storage
