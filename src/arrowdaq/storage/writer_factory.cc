#include "arrowdaq/storage/writer_factory.h"

#include "arrowdaq/storage/csv_writer.h"
#include "arrowdaq/storage/ipc_writer.h"
#include "arrowdaq/storage/storage_internal.h"

namespace arrowdaq::storage {

std::string_view ToString(StorageFormat format) {
  switch (format) {
    case StorageFormat::kHdf5:
      return "hdf5";
    case StorageFormat::kArrow:
      return "arrow";
    case StorageFormat::kParquet:
      return "parquet";
    case StorageFormat::kCsv:
      return "csv";
  }
  return "?";
}

std::vector<std::string> StorageFormatNames() { return {"hdf5", "arrow", "parquet", "csv"}; }

Result<StorageFormat> ParseStorageFormat(std::string_view name) {
  for (auto f : {StorageFormat::kHdf5, StorageFormat::kArrow, StorageFormat::kParquet,
                 StorageFormat::kCsv}) {
    if (name == ToString(f)) return f;
  }
  if (name == "arrows") return StorageFormat::kArrow;
  return Status::Invalid("unknown storage format '", name,
                         "' (known: hdf5, arrow, parquet, csv; arrows = arrow)");
}

Result<std::unique_ptr<StorageWriter>> MakeWriter(StorageFormat format,
                                                  const WriterOptions& options) {
  const std::string& dir = options.run_directory;
  switch (format) {
    case StorageFormat::kHdf5:
      ARROW_RETURN_NOT_OK(internal::PrepareOutputDirectory(dir, "HDF5 writer"));
      return MakeHdf5Writer(internal::JoinPath(dir, "run.h5"), options.run, options.hdf5);
    case StorageFormat::kArrow:
      return MakeIpcWriter(dir, options.run);
    case StorageFormat::kParquet:
      return MakeParquetWriter(dir, options.parquet, options.run);
    case StorageFormat::kCsv:
      return MakeCsvWriter(dir, options.run);
  }
  return Status::Invalid("unknown storage format");
}

}  // namespace arrowdaq::storage
