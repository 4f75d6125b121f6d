#include "arrowdaq/storage/export.h"

#include <arrow/array.h>
#include <arrow/buffer.h>
#include <arrow/csv/api.h>
#include <arrow/scalar.h>
#include <arrow/table.h>
#include <arrow/extension/fixed_shape_tensor.h>
#include <arrow/io/file.h>
#include <arrow/ipc/reader.h>
#include <arrow/util/key_value_metadata.h>
#include <hdf5_hl.h>
#include <parquet/arrow/reader.h>
#include <parquet/exception.h>

#include <algorithm>
#include <cstdio>
#include <exception>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <sstream>

#include "arrowdaq/core/schema.h"
#include "arrowdaq/storage/hdf5_internal.h"
#include "arrowdaq/storage/ipc_writer.h"
#include "arrowdaq/storage/storage_internal.h"

namespace arrowdaq::storage {

namespace {

namespace fs = std::filesystem;
using internal::CheckHerr;
using internal::CheckHid;
using internal::Hid;

constexpr std::int64_t kMaxBatchBytes = 16 << 20;
constexpr std::int64_t kFlushEveryBatches = 64;

// One stream of a source, read back batch by batch: nullptr at the end.
class BatchSource {
 public:
  virtual ~BatchSource() = default;
  virtual Result<std::shared_ptr<arrow::RecordBatch>> Next() = 0;
};

// A run read back from one format.
struct Source {
  RunInfo run;
  std::vector<std::shared_ptr<StreamInfo>> streams;
  std::vector<RunEvent> events;
  std::vector<std::string> warnings;
  std::function<Result<std::unique_ptr<BatchSource>>(const StreamInfo&)> open;
};

std::string ReadText(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return "";
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

// The parts of RunInfo every format can take from the run directory.
RunInfo RunInfoFromDirectory(const std::string& dir) {
  RunInfo run;
  run.run_id = fs::path(dir).lexically_normal().filename().string();
  if (run.run_id.empty()) {
    run.run_id = fs::path(dir).lexically_normal().parent_path().filename().string();
  }
  run.config_text = ReadText(fs::path(dir) / "config.toml");
  run.overrides = ReadText(fs::path(dir) / "overrides.toml");
  return run;
}

// Schema metadata keys the writers add themselves (and that describe the run, not the
// stream): taken out of a source stream's schema, the run's facts go to RunInfo.
bool IsRunKey(const std::string& key) {
  return key == "arrowdaq.run_id" || key == "arrowdaq.start_time" || key == "arrowdaq.units" ||
         key.rfind("arrowdaq.run.", 0) == 0;
}

// Take the run's facts out of an Arrow schema's metadata (IPC, Parquet); return the schema
// without them.
std::shared_ptr<arrow::Schema> SplitRunMetadata(const std::shared_ptr<arrow::Schema>& schema,
                                                RunInfo* run) {
  const auto& md = schema->metadata();
  if (md == nullptr) return schema;
  auto kept = std::make_shared<arrow::KeyValueMetadata>();
  for (int64_t i = 0; i < md->size(); ++i) {
    const std::string& key = md->key(i);
    const std::string& value = md->value(i);
    if (key == "arrowdaq.run_id") {
      run->run_id = value;
    } else if (key == "arrowdaq.start_time") {
      if (auto t = internal::ParseIsoTime(value); t.ok()) run->start_time_ns = *t;
    } else if (key.rfind("arrowdaq.run.", 0) == 0) {
      const std::string name = key.substr(13);
      if (std::none_of(run->metadata.begin(), run->metadata.end(),
                       [&](const auto& kv) { return kv.first == name; })) {
        run->metadata.emplace_back(name, value);
      }
    } else if (!IsRunKey(key) && key != "ARROW:schema") {
      kept->Append(key, value);
    }
  }
  return schema->WithMetadata(kept);
}

// ---- Arrow IPC ------------------------------------------------------------------------------

class IpcBatches final : public BatchSource {
 public:
  IpcBatches(std::shared_ptr<arrow::ipc::RecordBatchFileReader> file,
             std::shared_ptr<arrow::ipc::RecordBatchStreamReader> stream, std::string path)
      : file_(std::move(file)), stream_(std::move(stream)), path_(std::move(path)) {}
  Result<std::shared_ptr<arrow::RecordBatch>> Next() override {
    if (file_) {
      if (next_ >= file_->num_record_batches()) return nullptr;
      auto batch = file_->ReadRecordBatch(next_++);
      if (!batch.ok()) return internal::WithPath(batch.status(), path_);
      return *batch;
    }
    auto batch = stream_->Next();
    // A file left by a crash ends with a torn batch: the complete ones are the data.
    if (!batch.ok()) return nullptr;
    return *batch;
  }

 private:
  std::shared_ptr<arrow::ipc::RecordBatchFileReader> file_;
  std::shared_ptr<arrow::ipc::RecordBatchStreamReader> stream_;
  std::string path_;
  int next_ = 0;
};

struct IpcOpen {
  std::shared_ptr<arrow::ipc::RecordBatchFileReader> file;
  std::shared_ptr<arrow::ipc::RecordBatchStreamReader> stream;
  std::shared_ptr<arrow::Schema> schema;
};

// Open <stream>.arrow, or the .arrow.partial a crash left (its stream after the magic).
Result<IpcOpen> OpenIpc(const std::string& path, bool partial) {
  ARROW_ASSIGN_OR_RAISE(auto file, internal::OpenForRead(path));
  IpcOpen out;
  if (!partial) {
    auto reader = arrow::ipc::RecordBatchFileReader::Open(file, internal::SingleThreadIpcOptions());
    if (!reader.ok()) return internal::WithPath(reader.status(), path);
    out.file = *reader;
    out.schema = out.file->schema();
    return out;
  }
  ARROW_ASSIGN_OR_RAISE(const std::int64_t size, file->GetSize());
  if (size < 8) return Status::Invalid(path, ": too short for an Arrow IPC file");
  ARROW_ASSIGN_OR_RAISE(auto sub, arrow::io::RandomAccessFile::GetStream(file, 8, size - 8));
  auto reader = arrow::ipc::RecordBatchStreamReader::Open(sub, internal::SingleThreadIpcOptions());
  if (!reader.ok()) return internal::WithPath(reader.status(), path);
  out.stream = *reader;
  out.schema = out.stream->schema();
  return out;
}

Result<Source> ReadIpcRun(const std::string& dir) {
  Source src;
  src.run = RunInfoFromDirectory(dir);
  std::map<std::string, std::pair<std::string, bool>> files;  // stream -> path, partial
  for (const auto& entry : fs::directory_iterator(dir)) {
    const std::string name = entry.path().filename().string();
    if (name.ends_with(".arrow") && name.size() > 6) {
      files[name.substr(0, name.size() - 6)] = {entry.path().string(), false};
    } else if (name.ends_with(".arrow.partial") && name.size() > 14) {
      const std::string stream = name.substr(0, name.size() - 14);
      if (files.count(stream) == 0) files[stream] = {entry.path().string(), true};
      src.warnings.push_back(name + " was left by a writer that did not close it: its complete "
                                    "batches are exported");
    }
  }
  for (const auto& [name, file] : files) {
    ARROW_ASSIGN_OR_RAISE(auto opened, OpenIpc(file.first, file.second));
    if (!opened.schema->metadata() || !opened.schema->metadata()->Contains(kFormatVersionKey)) {
      return Status::Invalid(file.first, ": not written by arrowdaq");
    }
    src.streams.push_back(std::make_shared<StreamInfo>(
        StreamInfo{name, SplitRunMetadata(opened.schema, &src.run)}));
  }
  src.open = [files](const StreamInfo& s) -> Result<std::unique_ptr<BatchSource>> {
    const auto& [path, partial] = files.at(s.name);
    ARROW_ASSIGN_OR_RAISE(auto opened, OpenIpc(path, partial));
    return std::make_unique<IpcBatches>(opened.file, opened.stream, path);
  };
  return src;
}

// ---- Parquet --------------------------------------------------------------------------------

class ParquetBatches final : public BatchSource {
 public:
  explicit ParquetBatches(std::vector<std::string> parts) : parts_(std::move(parts)) {}
  Result<std::shared_ptr<arrow::RecordBatch>> Next() override {
    try {
      for (;;) {
        if (reader_ == nullptr) {
          if (next_part_ >= parts_.size()) return nullptr;
          const std::string& path = parts_[next_part_++];
          ARROW_ASSIGN_OR_RAISE(auto file, internal::OpenForRead(path));
          auto opened = internal::OpenParquet(file);
          if (!opened.ok()) return internal::WithPath(opened.status(), path);
          file_ = std::move(*opened);
          auto reader = file_->GetRecordBatchReader();
          if (!reader.ok()) return internal::WithPath(reader.status(), path);
          reader_ = std::move(*reader);
        }
        ARROW_ASSIGN_OR_RAISE(auto batch, reader_->Next());
        if (batch != nullptr) return batch;
        reader_.reset();
        file_.reset();
      }
    } catch (const std::exception& e) {
      return Status::IOError("cannot read Parquet part: ", e.what());
    }
  }

 private:
  std::vector<std::string> parts_;
  size_t next_part_ = 0;
  std::unique_ptr<parquet::arrow::FileReader> file_;
  std::unique_ptr<arrow::RecordBatchReader> reader_;
};

Result<Source> ReadParquetRun(const std::string& dir) {
  Source src;
  src.run = RunInfoFromDirectory(dir);
  std::map<std::string, std::vector<std::string>> parts;
  for (const auto& entry : fs::directory_iterator(dir)) {
    if (!entry.is_directory()) continue;
    for (const auto& part : fs::directory_iterator(entry.path())) {
      const std::string name = part.path().filename().string();
      if (name.starts_with("part-") && name.ends_with(".parquet")) {
        parts[entry.path().filename().string()].push_back(part.path().string());
      }
    }
  }
  for (auto& [name, files] : parts) {
    std::sort(files.begin(), files.end());
    try {
      ARROW_ASSIGN_OR_RAISE(auto file, internal::OpenForRead(files.front()));
      auto reader = internal::OpenParquet(file);
      if (!reader.ok()) return internal::WithPath(reader.status(), files.front());
      std::shared_ptr<arrow::Schema> schema;
      ARROW_RETURN_NOT_OK(internal::WithPath((*reader)->GetSchema(&schema), files.front()));
      if (!schema->metadata() || !schema->metadata()->Contains(kFormatVersionKey)) {
        return Status::Invalid(files.front(), ": not written by arrowdaq");
      }
      src.streams.push_back(
          std::make_shared<StreamInfo>(StreamInfo{name, SplitRunMetadata(schema, &src.run)}));
    } catch (const std::exception& e) {
      return Status::IOError(files.front(), ": cannot read Parquet file: ", e.what());
    }
  }
  src.open = [parts](const StreamInfo& s) -> Result<std::unique_ptr<BatchSource>> {
    return std::make_unique<ParquetBatches>(parts.at(s.name));
  };
  return src;
}

// ---- CSV ------------------------------------------------------------------------------------

// Read a two-or-more-column sidecar CSV (units, metadata) with Arrow's CSV reader.
Result<std::shared_ptr<arrow::Table>> ReadSmallCsv(const std::string& path) {
  ARROW_ASSIGN_OR_RAISE(auto file, internal::OpenForRead(path));
  auto convert = arrow::csv::ConvertOptions::Defaults();
  convert.strings_can_be_null = false;
  convert.column_types = {};
  auto read = arrow::csv::ReadOptions::Defaults();
  read.use_threads = false;  // on this thread (internal::OpenForRead)
  auto parse = arrow::csv::ParseOptions::Defaults();
  auto reader = arrow::csv::TableReader::Make(arrow::io::default_io_context(), file, read, parse,
                                              convert);
  if (!reader.ok()) return internal::WithPath(reader.status(), path);
  auto table = (*reader)->Read();
  if (!table.ok()) return internal::WithPath(table.status(), path);
  return *table;
}

std::string CellText(const arrow::Table& table, int column, int64_t row) {
  auto scalar = table.column(column)->GetScalar(row);
  if (!scalar.ok() || !(*scalar)->is_valid) return "";
  return (*scalar)->ToString();
}

class CsvBatches final : public BatchSource {
 public:
  CsvBatches(std::shared_ptr<arrow::csv::StreamingReader> reader,
             std::shared_ptr<arrow::Schema> schema)
      : reader_(std::move(reader)), schema_(std::move(schema)) {}
  Result<std::shared_ptr<arrow::RecordBatch>> Next() override {
    std::shared_ptr<arrow::RecordBatch> batch;
    ARROW_RETURN_NOT_OK(reader_->ReadNext(&batch));
    if (batch == nullptr) return nullptr;
    return batch->ReplaceSchema(schema_);  // the same columns, with units and metadata
  }

 private:
  std::shared_ptr<arrow::csv::StreamingReader> reader_;
  std::shared_ptr<arrow::Schema> schema_;
};

Result<std::shared_ptr<arrow::csv::StreamingReader>> OpenCsv(const std::string& path,
                                                             const std::string& first_column) {
  ARROW_ASSIGN_OR_RAISE(auto file, internal::OpenForRead(path));
  auto read = arrow::csv::ReadOptions::Defaults();
  read.use_threads = false;  // on this thread (internal::OpenForRead)
  read.block_size = 4 << 20;
  auto convert = arrow::csv::ConvertOptions::Defaults();
  convert.column_types[first_column] = TimestampType();
  auto reader = arrow::csv::StreamingReader::Make(arrow::io::default_io_context(), file, read,
                                                  arrow::csv::ParseOptions::Defaults(), convert);
  if (!reader.ok()) return internal::WithPath(reader.status(), path);
  return *reader;
}

Result<Source> ReadCsvRun(const std::string& dir) {
  Source src;
  src.run = RunInfoFromDirectory(dir);
  std::map<std::string, std::string> files;
  for (const auto& entry : fs::directory_iterator(dir)) {
    const std::string name = entry.path().filename().string();
    if (!name.ends_with(".csv") || name.ends_with(".units.csv") ||
        name.ends_with(".metadata.csv")) {
      continue;
    }
    files[name.substr(0, name.size() - 4)] = entry.path().string();
  }
  for (const auto& [name, path] : files) {
    const std::string units_path = internal::JoinPath(dir, name + ".units.csv");
    if (!fs::exists(units_path)) continue;  // not one of ours
    ARROW_ASSIGN_OR_RAISE(auto units, ReadSmallCsv(units_path));
    std::map<std::string, std::pair<std::string, std::string>> unit_of;
    for (int64_t r = 0; r < units->num_rows(); ++r) {
      unit_of[CellText(*units, 0, r)] = {CellText(*units, 1, r), CellText(*units, 2, r)};
    }
    ARROW_ASSIGN_OR_RAISE(auto reader, OpenCsv(path, kTimestampColumn));
    auto schema = reader->schema();
    std::vector<std::shared_ptr<arrow::Field>> fields;
    for (const auto& f : schema->fields()) {
      if (f->name() == kTimestampColumn) {
        fields.push_back(f);
        continue;
      }
      const auto& [unit, description] = unit_of[f->name()];
      fields.push_back(f->WithMetadata(arrow::key_value_metadata(
          {kUnitKey, kDescriptionKey}, {unit, description})));
    }
    auto md = std::make_shared<arrow::KeyValueMetadata>();
    md->Append(kFormatVersionKey, kStorageFormatVersion);
    const std::string meta_path = internal::JoinPath(dir, name + ".metadata.csv");
    if (fs::exists(meta_path)) {
      ARROW_ASSIGN_OR_RAISE(auto facts, ReadSmallCsv(meta_path));
      for (int64_t r = 0; r < facts->num_rows(); ++r) {
        const std::string key = CellText(*facts, 0, r);
        const std::string value = CellText(*facts, 1, r);
        if (key == "run_id") {
          src.run.run_id = value;
        } else if (key == "start_time") {
          if (auto t = internal::ParseIsoTime(value); t.ok()) src.run.start_time_ns = *t;
        } else if (key.rfind("run.", 0) == 0 &&
                   std::none_of(src.run.metadata.begin(), src.run.metadata.end(),
                                [&](const auto& kv) { return kv.first == key.substr(4); })) {
          src.run.metadata.emplace_back(key.substr(4), value);
        }
      }
    }
    auto full = arrow::schema(fields, md);
    ARROW_RETURN_NOT_OK(internal::WithPath(ValidateStreamSchema(*full), path));
    src.streams.push_back(std::make_shared<StreamInfo>(StreamInfo{name, full}));
  }
  src.open = [files](const StreamInfo& s) -> Result<std::unique_ptr<BatchSource>> {
    ARROW_ASSIGN_OR_RAISE(auto reader, OpenCsv(files.at(s.name), kTimestampColumn));
    return std::make_unique<CsvBatches>(std::move(reader), s.schema);
  };
  return src;
}

// ---- HDF5 -----------------------------------------------------------------------------------

Result<std::shared_ptr<arrow::DataType>> ArrowTypeOf(hid_t type) {
  const size_t size = H5Tget_size(type);
  switch (H5Tget_class(type)) {
    case H5T_INTEGER: {
      const bool sign = H5Tget_sign(type) != H5T_SGN_NONE;
      switch (size) {
        case 1:
          return sign ? arrow::int8() : arrow::uint8();
        case 2:
          return sign ? arrow::int16() : arrow::uint16();
        case 4:
          return sign ? arrow::int32() : arrow::uint32();
        case 8:
          return sign ? arrow::int64() : arrow::uint64();
        default:
          break;
      }
      break;
    }
    case H5T_FLOAT:
      if (size == 4) return arrow::float32();
      if (size == 8) return arrow::float64();
      break;
    default:
      break;
  }
  return Status::NotImplemented("HDF5 type of class ", static_cast<int>(H5Tget_class(type)),
                                " and size ", size);
}

hid_t NativeTypeOf(const arrow::DataType& type) {
  switch (type.id()) {
    case arrow::Type::INT8:
      return H5T_NATIVE_INT8;
    case arrow::Type::INT16:
      return H5T_NATIVE_INT16;
    case arrow::Type::INT32:
      return H5T_NATIVE_INT32;
    case arrow::Type::INT64:
    case arrow::Type::TIMESTAMP:
      return H5T_NATIVE_INT64;
    case arrow::Type::UINT8:
      return H5T_NATIVE_UINT8;
    case arrow::Type::UINT16:
      return H5T_NATIVE_UINT16;
    case arrow::Type::UINT32:
      return H5T_NATIVE_UINT32;
    case arrow::Type::UINT64:
      return H5T_NATIVE_UINT64;
    case arrow::Type::FLOAT:
      return H5T_NATIVE_FLOAT;
    default:
      return H5T_NATIVE_DOUBLE;
  }
}

// An attribute as text: strings as they are, numbers in their shortest form.
Result<std::string> AttributeText(hid_t obj, const std::string& name, const std::string& path) {
  Hid attr(H5Aopen(obj, name.c_str(), H5P_DEFAULT), H5Aclose);
  if (!attr.valid()) return internal::Hdf5Error(path, "H5Aopen(" + name + ")");
  Hid type(H5Aget_type(attr.get()), H5Tclose);
  Hid space(H5Aget_space(attr.get()), H5Sclose);
  if (!type.valid() || !space.valid() || H5Sget_simple_extent_npoints(space.get()) != 1) {
    return Status::Invalid("not a single value");
  }
  const H5T_class_t cls = H5Tget_class(type.get());
  char buf[64];
  if (cls == H5T_STRING) return internal::ReadStringAttribute(obj, name, path);
  if (cls == H5T_INTEGER) {
    std::int64_t v = 0;
    ARROW_RETURN_NOT_OK(CheckHerr(H5Aread(attr.get(), H5T_NATIVE_INT64, &v), path, "H5Aread"));
    return std::to_string(v);
  }
  if (cls == H5T_FLOAT) {
    double v = 0;
    ARROW_RETURN_NOT_OK(CheckHerr(H5Aread(attr.get(), H5T_NATIVE_DOUBLE, &v), path, "H5Aread"));
    std::snprintf(buf, sizeof(buf), "%.17g", v);
    return std::string(buf);
  }
  return Status::Invalid("not a string or number");
}

std::vector<std::string> AttributeNames(hid_t obj) {
  std::vector<std::string> names;
  H5O_info_t info;
  if (H5Oget_info2(obj, &info, H5O_INFO_NUM_ATTRS) < 0) return names;
  for (hsize_t i = 0; i < info.num_attrs; ++i) {
    const ssize_t len = H5Aget_name_by_idx(obj, ".", H5_INDEX_CRT_ORDER, H5_ITER_INC, i, nullptr,
                                           0, H5P_DEFAULT);
    if (len < 0) {
      H5Eclear2(H5E_DEFAULT);
      continue;
    }
    std::string name(static_cast<size_t>(len) + 1, '\0');
    H5Aget_name_by_idx(obj, ".", H5_INDEX_CRT_ORDER, H5_ITER_INC, i, name.data(), name.size(),
                       H5P_DEFAULT);
    name.resize(static_cast<size_t>(len));
    names.push_back(std::move(name));
  }
  return names;
}

std::vector<std::string> LinkNamesOf(hid_t group) {
  std::vector<std::string> names;
  H5G_info_t info;
  if (H5Gget_info(group, &info) < 0) return names;
  for (hsize_t i = 0; i < info.nlinks; ++i) {
    ssize_t len = H5Lget_name_by_idx(group, ".", H5_INDEX_CRT_ORDER, H5_ITER_INC, i, nullptr, 0,
                                     H5P_DEFAULT);
    if (len < 0) continue;
    std::string name(static_cast<size_t>(len) + 1, '\0');
    H5Lget_name_by_idx(group, ".", H5_INDEX_CRT_ORDER, H5_ITER_INC, i, name.data(), name.size(),
                       H5P_DEFAULT);
    name.resize(static_cast<size_t>(len));
    names.push_back(std::move(name));
  }
  H5Eclear2(H5E_DEFAULT);
  return names;
}

// How one HDF5 column maps to an Arrow column.
struct Hdf5Column {
  std::string name;
  std::shared_ptr<arrow::DataType> arrow_type;  // the field's type
  std::shared_ptr<arrow::DataType> value_type;  // element type (= arrow_type for scalars)
  std::vector<hsize_t> row_shape;               // empty for scalars
  std::int64_t row_size = 1;                    // elements per row
};

// The attributes the HDF5 writer adds itself (NeXus, dimension scales): not field metadata.
bool IsHdf5LayoutAttribute(const std::string& name) {
  static const char* const kNames[] = {"units",         "description",    "shape",
                                       "interpretation", "DIMENSION_LIST", "REFERENCE_LIST",
                                       "CLASS",         "NAME",           "NX_class",
                                       "signal",        "axes",           "auxiliary_signals",
                                       "format_version", "default"};
  for (const char* n : kNames) {
    if (name == n) return true;
  }
  return name.ends_with("_indices");
}

class Hdf5Batches final : public BatchSource {
 public:
  Hdf5Batches(std::shared_ptr<Hid> file, std::string path, std::string stream,
              std::shared_ptr<arrow::Schema> schema, std::vector<Hdf5Column> columns,
              hsize_t rows, std::int64_t batch_rows)
      : file_(std::move(file)),
        path_(std::move(path)),
        stream_(std::move(stream)),
        schema_(std::move(schema)),
        columns_(std::move(columns)),
        rows_(rows),
        batch_rows_(batch_rows) {}

  Result<std::shared_ptr<arrow::RecordBatch>> Next() override {
    internal::SilenceHdf5Errors();
    if (next_ >= rows_) return nullptr;
    const hsize_t n = std::min<hsize_t>(static_cast<hsize_t>(batch_rows_), rows_ - next_);
    arrow::ArrayVector arrays;
    for (const auto& col : columns_) {
      const std::string where = "/" + stream_ + "/" + col.name;
      ARROW_ASSIGN_OR_RAISE(Hid dset, CheckHid(H5Dopen2(file_->get(), where.c_str(), H5P_DEFAULT),
                                               H5Dclose, path_, "H5Dopen2(" + where + ")"));
      const int width = col.value_type->byte_width();
      ARROW_ASSIGN_OR_RAISE(auto buffer, arrow::AllocateBuffer(static_cast<std::int64_t>(n) *
                                                               col.row_size * width));
      std::vector<hsize_t> start{next_}, count{n};
      for (hsize_t d : col.row_shape) {
        start.push_back(0);
        count.push_back(d);
      }
      ARROW_ASSIGN_OR_RAISE(Hid fspace, CheckHid(H5Dget_space(dset.get()), H5Sclose, path_,
                                                 "H5Dget_space(" + where + ")"));
      ARROW_RETURN_NOT_OK(CheckHerr(H5Sselect_hyperslab(fspace.get(), H5S_SELECT_SET,
                                                        start.data(), nullptr, count.data(),
                                                        nullptr),
                                    path_, "H5Sselect_hyperslab(" + where + ")"));
      ARROW_ASSIGN_OR_RAISE(
          Hid mspace, CheckHid(H5Screate_simple(static_cast<int>(count.size()), count.data(),
                                                nullptr),
                               H5Sclose, path_, "H5Screate_simple"));
      ARROW_RETURN_NOT_OK(CheckHerr(H5Dread(dset.get(), NativeTypeOf(*col.value_type),
                                            mspace.get(), fspace.get(), H5P_DEFAULT,
                                            buffer->mutable_data()),
                                    path_, "H5Dread(" + where + ")"));
      std::shared_ptr<arrow::Buffer> values(std::move(buffer));
      if (col.row_shape.empty()) {
        arrays.push_back(arrow::MakeArray(arrow::ArrayData::Make(
            col.arrow_type, static_cast<std::int64_t>(n), {nullptr, values}, 0)));
        continue;
      }
      auto flat = arrow::MakeArray(arrow::ArrayData::Make(
          col.value_type, static_cast<std::int64_t>(n) * col.row_size, {nullptr, values}, 0));
      auto list_type = arrow::fixed_size_list(col.value_type, static_cast<int32_t>(col.row_size));
      auto list = std::make_shared<arrow::FixedSizeListArray>(
          list_type, static_cast<std::int64_t>(n), flat);
      if (col.arrow_type->id() == arrow::Type::EXTENSION) {
        arrays.push_back(arrow::ExtensionType::WrapArray(col.arrow_type, list));
      } else {
        arrays.push_back(list);
      }
    }
    next_ += n;
    return arrow::RecordBatch::Make(schema_, static_cast<std::int64_t>(n), std::move(arrays));
  }

 private:
  std::shared_ptr<Hid> file_;
  std::string path_;
  std::string stream_;
  std::shared_ptr<arrow::Schema> schema_;
  std::vector<Hdf5Column> columns_;
  hsize_t rows_;
  std::int64_t batch_rows_;
  hsize_t next_ = 0;
};

Result<Source> ReadHdf5Run(const std::string& dir, std::int64_t batch_rows) {
  const std::string path = internal::JoinPath(dir, "run.h5");
  ARROW_ASSIGN_OR_RAISE(Hid opened, internal::OpenHdf5ForReading(path));
  auto file = std::make_shared<Hid>(std::move(opened));
  const hid_t root = file->get();
  Source src;
  src.run = RunInfoFromDirectory(dir);
  auto version = internal::ReadStringAttribute(root, "format_version", path);
  if (!version.ok()) return Status::Invalid(path, ": an HDF5 file but not an arrowdaq run");
  if (auto v = internal::ReadStringAttribute(root, "run_id", path); v.ok()) src.run.run_id = *v;
  if (auto v = internal::ReadStringAttribute(root, "config", path); v.ok()) {
    src.run.config_text = *v;
  }
  if (auto v = internal::ReadStringAttribute(root, "overrides", path); v.ok()) {
    src.run.overrides = *v;
  }
  if (auto v = internal::ReadStringAttribute(root, "host", path); v.ok()) src.run.host = *v;
  if (auto v = internal::ReadStringAttribute(root, "start_time", path); v.ok()) {
    if (auto t = internal::ParseIsoTime(*v); t.ok()) src.run.start_time_ns = *t;
  }
  if (auto v = internal::ReadStringAttribute(root, "stop_time", path); v.ok() && v->empty()) {
    src.warnings.push_back(path + " was not closed (crash or still running): its rows up to "
                                  "the last flush are exported");
  }
  H5Eclear2(H5E_DEFAULT);
  if (H5Lexists(root, "entry/metadata", H5P_DEFAULT) > 0) {
    Hid md(H5Oopen(root, "entry/metadata", H5P_DEFAULT), H5Oclose);
    for (const auto& name : AttributeNames(md.get())) {
      if (name == "NX_class") continue;
      if (auto text = AttributeText(md.get(), name, path); text.ok()) {
        src.run.metadata.emplace_back(name, *text);
      }
    }
  }
  if (H5Lexists(root, "events", H5P_DEFAULT) > 0) {
    Hid events(H5Dopen2(root, "events", H5P_DEFAULT), H5Dclose);
    bool truncated = false;
    if (events.valid()) {
      auto rows = internal::ReadEventTable(events.get(), path, 1 << 24, &truncated);
      if (rows.ok()) src.events = std::move(*rows);
    }
  }
  H5Eclear2(H5E_DEFAULT);

  std::map<std::string, std::pair<std::vector<Hdf5Column>, hsize_t>> layouts;
  for (const auto& name : LinkNamesOf(root)) {
    if (name == "events" || name == "entry") continue;
    Hid group(H5Gopen2(root, name.c_str(), H5P_DEFAULT), H5Gclose);
    if (!group.valid()) {
      H5Eclear2(H5E_DEFAULT);
      continue;
    }
    std::vector<std::shared_ptr<arrow::Field>> fields;
    std::vector<Hdf5Column> columns;
    hsize_t rows = 0;
    bool first = true;
    for (const auto& link : LinkNamesOf(group.get())) {
      Hid dset(H5Dopen2(group.get(), link.c_str(), H5P_DEFAULT), H5Dclose);
      if (!dset.valid()) continue;
      // Index datasets of frame axes are layout, not columns.
      if (link != kTimestampColumn && H5DSis_scale(dset.get()) > 0) continue;
      Hid type(H5Dget_type(dset.get()), H5Tclose);
      Hid space(H5Dget_space(dset.get()), H5Sclose);
      const int rank = H5Sget_simple_extent_ndims(space.get());
      if (rank < 1 || rank > 8) continue;
      std::vector<hsize_t> dims(static_cast<size_t>(rank));
      H5Sget_simple_extent_dims(space.get(), dims.data(), nullptr);
      auto value_type = ArrowTypeOf(type.get());
      if (!value_type.ok()) return internal::WithPath(value_type.status(), path);
      Hdf5Column col;
      col.name = link;
      col.value_type = *value_type;
      col.row_shape.assign(dims.begin() + 1, dims.end());
      for (hsize_t d : col.row_shape) col.row_size *= static_cast<std::int64_t>(d);
      std::vector<std::string> keys, values;
      if (link == kTimestampColumn) {
        col.arrow_type = col.value_type = TimestampType();
      } else {
        if (auto u = internal::ReadStringAttribute(dset.get(), "units", path); u.ok()) {
          keys.push_back(kUnitKey);
          values.push_back(*u);
        } else if (auto u1 = internal::ReadStringAttribute(dset.get(), kUnitKey, path); u1.ok()) {
          keys.push_back(kUnitKey);
          values.push_back(*u1);
        }
        if (auto d = internal::ReadStringAttribute(dset.get(), kDescriptionKey, path); d.ok()) {
          keys.push_back(kDescriptionKey);
          values.push_back(*d);
        }
        for (const auto& attr : AttributeNames(dset.get())) {
          if (IsHdf5LayoutAttribute(attr) || attr == kUnitKey) continue;
          if (auto text = AttributeText(dset.get(), attr, path); text.ok()) {
            keys.push_back(attr);
            values.push_back(*text);
          }
        }
        if (col.row_shape.empty()) {
          col.arrow_type = col.value_type;
        } else if (col.row_shape.size() == 1) {
          // (N, P): a waveform, a fixed_size_list (as the writers take it).
          col.arrow_type =
              arrow::fixed_size_list(col.value_type, static_cast<int32_t>(col.row_size));
        } else {
          std::vector<std::int64_t> shape(col.row_shape.begin(), col.row_shape.end());
          ARROW_ASSIGN_OR_RAISE(col.arrow_type,
                                arrow::extension::FixedShapeTensorType::Make(col.value_type,
                                                                             shape));
        }
      }
      H5Eclear2(H5E_DEFAULT);
      rows = first ? dims[0] : std::min(rows, dims[0]);
      first = false;
      auto field = arrow::field(link, col.arrow_type, /*nullable=*/true);
      if (!keys.empty()) field = field->WithMetadata(arrow::key_value_metadata(keys, values));
      if (link == kTimestampColumn) {
        fields.insert(fields.begin(), field);
        columns.insert(columns.begin(), col);
      } else {
        fields.push_back(field);
        columns.push_back(col);
      }
    }
    auto md = std::make_shared<arrow::KeyValueMetadata>();
    for (const auto& attr : AttributeNames(group.get())) {
      if (IsHdf5LayoutAttribute(attr)) continue;
      if (auto text = AttributeText(group.get(), attr, path); text.ok()) md->Append(attr, *text);
    }
    md->Append(kFormatVersionKey, *version);
    H5Eclear2(H5E_DEFAULT);
    auto schema = arrow::schema(fields, md);
    if (!ValidateStreamSchema(*schema).ok()) continue;  // not a stream group
    std::int64_t row_bytes = 0;
    for (const auto& c : columns) row_bytes += c.row_size * c.value_type->byte_width();
    src.streams.push_back(std::make_shared<StreamInfo>(StreamInfo{name, schema}));
    layouts[name] = {std::move(columns), rows};
    (void)row_bytes;
  }
  src.open = [file, path, layouts,
              batch_rows](const StreamInfo& s) -> Result<std::unique_ptr<BatchSource>> {
    const auto& [columns, rows] = layouts.at(s.name);
    std::int64_t row_bytes = 0;
    for (const auto& c : columns) row_bytes += c.row_size * c.value_type->byte_width();
    const std::int64_t n =
        std::max<std::int64_t>(1, std::min(batch_rows, kMaxBatchBytes / std::max<std::int64_t>(
                                                                             1, row_bytes)));
    return std::make_unique<Hdf5Batches>(file, path, s.name, s.schema, columns, rows, n);
  };
  return src;
}

Result<Source> ReadRun(const std::string& dir, StorageFormat format, std::int64_t batch_rows) {
  try {
    switch (format) {
      case StorageFormat::kHdf5:
        return ReadHdf5Run(dir, batch_rows);
      case StorageFormat::kArrow:
        return ReadIpcRun(dir);
      case StorageFormat::kParquet:
        return ReadParquetRun(dir);
      case StorageFormat::kCsv:
        return ReadCsvRun(dir);
    }
  } catch (const std::exception& e) {
    return Status::IOError(dir, ": cannot read the run: ", e.what());
  }
  return Status::Invalid("unknown format");
}

}  // namespace

bool RunHasFormat(const std::string& dir, StorageFormat format) {
  std::error_code ec;
  switch (format) {
    case StorageFormat::kHdf5:
      return fs::exists(fs::path(dir) / "run.h5", ec);
    default:
      break;
  }
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    const std::string name = entry.path().filename().string();
    if (format == StorageFormat::kArrow &&
        (name.ends_with(".arrow") || name.ends_with(".arrow.partial"))) {
      return true;
    }
    if (format == StorageFormat::kCsv && name.ends_with(".units.csv")) return true;
    if (format == StorageFormat::kParquet && entry.is_directory(ec)) {
      for (const auto& part : fs::directory_iterator(entry.path(), ec)) {
        if (part.path().filename().string().starts_with("part-")) return true;
      }
    }
  }
  return false;
}

Result<ExportResult> ExportRun(const ExportOptions& options) {
  const std::string& dir = options.run_directory;
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) return Status::Invalid(dir, ": not a run directory");
  ExportResult result;
  if (options.from) {
    result.from = *options.from;
    if (!RunHasFormat(dir, result.from)) {
      return Status::Invalid(dir, ": holds no ", ToString(result.from), " files");
    }
  } else {
    bool found = false;
    for (auto f : {StorageFormat::kHdf5, StorageFormat::kArrow, StorageFormat::kParquet,
                   StorageFormat::kCsv}) {
      if (f != options.to && RunHasFormat(dir, f)) {
        result.from = f;
        found = true;
        break;
      }
    }
    if (!found) {
      return Status::Invalid(dir, ": holds no run files of another format than ",
                             ToString(options.to));
    }
  }
  if (result.from == options.to && options.output_directory.empty()) {
    return Status::Invalid("export from ", ToString(result.from), " to ", ToString(options.to),
                           " into the run directory itself would overwrite it; give --output");
  }
  const std::int64_t batch_rows = std::max<std::int64_t>(1, options.batch_rows);
  ARROW_ASSIGN_OR_RAISE(Source src, ReadRun(dir, result.from, batch_rows));
  result.warnings = src.warnings;
  std::vector<std::shared_ptr<StreamInfo>> selected;
  for (const auto& want : options.streams) {
    auto it = std::find_if(src.streams.begin(), src.streams.end(),
                           [&](const auto& s) { return s->name == want; });
    if (it == src.streams.end()) {
      std::string known;
      for (const auto& s : src.streams) known += (known.empty() ? "" : ", ") + s->name;
      return Status::Invalid("stream '", want, "' is not in the ", ToString(result.from),
                             " files of ", dir, " (streams: ", known, ")");
    }
    selected.push_back(*it);
  }
  if (options.streams.empty()) selected = src.streams;
  if (selected.empty()) return Status::Invalid(dir, ": no stream to export");

  WriterOptions wo;
  wo.run_directory = options.output_directory.empty() ? dir : options.output_directory;
  wo.run = src.run;
  // Provenance: where these files came from (most recent first when exported again).
  std::string from(ToString(result.from));
  auto it = std::find_if(wo.run.metadata.begin(), wo.run.metadata.end(),
                         [](const auto& kv) { return kv.first == "exported_from"; });
  if (it != wo.run.metadata.end()) {
    it->second = from + ", " + it->second;
  } else {
    wo.run.metadata.emplace_back("exported_from", from);
  }
  ARROW_ASSIGN_OR_RAISE(auto writer, MakeWriter(options.to, wo));
  for (const auto& s : selected) ARROW_RETURN_NOT_OK(writer->AddStream(*s));
  for (const auto& e : src.events) ARROW_RETURN_NOT_OK(writer->WriteEvent(e));
  std::int64_t batches = 0;
  for (const auto& s : selected) {
    ARROW_ASSIGN_OR_RAISE(auto reader, src.open(*s));
    std::int64_t rows = 0;
    std::uint64_t sequence = 0;
    for (;;) {
      ARROW_ASSIGN_OR_RAISE(auto batch, reader->Next());
      if (batch == nullptr) break;
      if (batch->num_rows() == 0) continue;
      ARROW_RETURN_NOT_OK(writer->Write(DataPacket{s, sequence++, batch}));
      rows += batch->num_rows();
      if (++batches % kFlushEveryBatches == 0) ARROW_RETURN_NOT_OK(writer->Flush());
    }
    result.rows.emplace_back(s->name, rows);
  }
  ARROW_RETURN_NOT_OK(writer->Flush());
  ARROW_RETURN_NOT_OK(writer->Close());
  return result;
}

}  // namespace arrowdaq::storage
