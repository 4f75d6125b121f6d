#include "arrowdaq/storage/storage_internal.h"

#include <arrow/util/future.h>

#include "arrowdaq/core/clock.h"

#include <arrow/array.h>
#include <arrow/extension/fixed_shape_tensor.h>
#include <arrow/extension_type.h>
#include <arrow/type_traits.h>
#include <arrow/util/key_value_metadata.h>
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>

#include "arrowdaq/core/schema.h"
#include "arrowdaq/storage/storage_writer.h"

namespace arrowdaq::storage::internal {

Status ValidateStreamName(std::string_view name) {
  if (name.empty()) return Status::Invalid("stream name must not be empty");
  if (name.size() > 200) {
    return Status::Invalid("stream name '", name.substr(0, 40), "...' is longer than 200");
  }
  if (name.front() == '.') {
    return Status::Invalid("stream name '", name, "' must not start with '.'");
  }
  for (char c : name) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '_' || c == '.' || c == '-';
    if (!ok) {
      return Status::Invalid("stream name '", name,
                             "' may only hold letters, digits, '_', '.' and '-'");
    }
  }
  return Status::OK();
}

std::string ErrnoMessage(int err) {
  char buf[256];
  // GNU strerror_r may return a static string instead of filling buf.
  const char* msg = strerror_r(err, buf, sizeof(buf));
  return std::string(msg);
}

Status PrepareOutputDirectory(const std::string& dir, std::string_view what) {
  if (dir.empty()) return Status::Invalid(what, ": output directory must not be empty");
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) {
    return Status::IOError(what, ": cannot create output directory '", dir, "': ", ec.message());
  }
  if (!std::filesystem::is_directory(dir, ec)) {
    return Status::IOError(what, ": output path '", dir, "' is not a directory");
  }
  const std::string probe = JoinPath(dir, ".arrowdaq-write-probe-" + std::to_string(getpid()));
  const int fd = ::open(probe.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd < 0) {
    return Status::IOError(what, ": output directory '", dir,
                           "' is not writable: ", ErrnoMessage(errno));
  }
  ::close(fd);
  ::unlink(probe.c_str());
  return Status::OK();
}

Result<std::shared_ptr<arrow::io::FileOutputStream>> CreateNewFile(const std::string& path) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd < 0) {
    return Status::IOError("cannot create '", path, "': ", ErrnoMessage(errno));
  }
  // The stream owns fd from here on and closes it.
  auto out = arrow::io::FileOutputStream::Open(fd);
  if (!out.ok()) {
    ::close(fd);
    return WithPath(out.status(), path);
  }
  return out;
}

std::string JoinPath(const std::string& dir, const std::string& name) {
  if (dir.empty()) return name;
  if (dir.back() == '/') return dir + name;
  return dir + "/" + name;
}

std::string FormatIsoTime(std::int64_t ns_since_epoch) {
  return arrowdaq::FormatIsoTime(ns_since_epoch);
}

Result<std::int64_t> ParseIsoTime(std::string_view text) {
  int y = 0, mo = 0, d = 0, h = 0, mi = 0, sec = 0;
  char frac[16] = {};
  const std::string copy(text);
  if (std::sscanf(copy.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d.%9[0-9]Z", &y, &mo, &d, &h, &mi, &sec,
                  frac) != 7) {
    return Status::Invalid("not an ISO 8601 UTC time with nanoseconds: '", text, "'");
  }
  using namespace std::chrono;
  const year_month_day ymd{year{y}, month{static_cast<unsigned>(mo)},
                           day{static_cast<unsigned>(d)}};
  if (!ymd.ok() || h > 23 || mi > 59 || sec > 60) {
    return Status::Invalid("not a valid date and time: '", text, "'");
  }
  std::string digits(frac);
  digits.resize(9, '0');
  const std::int64_t days = sys_days{ymd}.time_since_epoch().count();
  return ((days * 24 + h) * 60 + mi) * 60'000'000'000LL + sec * 1'000'000'000LL +
         std::stoll(digits);
}

Status WithPath(const Status& st, const std::string& path) {
  if (st.ok()) return st;
  std::string message = path + ": " + st.message();
  // Arrow keeps the system's reason (errno) in the detail; keep it in the message.
  if (st.detail() != nullptr) message += " (" + st.detail()->ToString() + ")";
  return Status(st.code(), std::move(message));
}

namespace {

// A file whose ReadAsync reads at once, on the caller's thread (see OpenForRead).
class CallerThreadFile final : public arrow::io::RandomAccessFile {
 public:
  explicit CallerThreadFile(std::shared_ptr<arrow::io::ReadableFile> file)
      : file_(std::move(file)) {}
  Status Close() override { return file_->Close(); }
  bool closed() const override { return file_->closed(); }
  Result<std::int64_t> Tell() const override { return file_->Tell(); }
  Status Seek(std::int64_t position) override { return file_->Seek(position); }
  Result<std::int64_t> GetSize() override { return file_->GetSize(); }
  Result<std::int64_t> Read(std::int64_t nbytes, void* out) override {
    return file_->Read(nbytes, out);
  }
  Result<std::shared_ptr<arrow::Buffer>> Read(std::int64_t nbytes) override {
    return file_->Read(nbytes);
  }
  Result<std::int64_t> ReadAt(std::int64_t position, std::int64_t nbytes, void* out) override {
    return file_->ReadAt(position, nbytes, out);
  }
  Result<std::shared_ptr<arrow::Buffer>> ReadAt(std::int64_t position,
                                                std::int64_t nbytes) override {
    return file_->ReadAt(position, nbytes);
  }
  Result<std::int64_t> ReadAt(std::int64_t position, std::int64_t nbytes, bool allow_short_read,
                              void* out) override {
    return file_->ReadAt(position, nbytes, allow_short_read, out);
  }
  Result<std::shared_ptr<arrow::Buffer>> ReadAt(std::int64_t position, std::int64_t nbytes,
                                                bool allow_short_read) override {
    return file_->ReadAt(position, nbytes, allow_short_read);
  }
  arrow::Future<std::shared_ptr<arrow::Buffer>> ReadAsync(const arrow::io::IOContext&,
                                                          std::int64_t position,
                                                          std::int64_t nbytes) override {
    return arrow::Future<std::shared_ptr<arrow::Buffer>>::MakeFinished(
        file_->ReadAt(position, nbytes));
  }
  arrow::Future<std::shared_ptr<arrow::Buffer>> ReadAsync(const arrow::io::IOContext&,
                                                          std::int64_t position,
                                                          std::int64_t nbytes,
                                                          bool allow_short_read) override {
    return arrow::Future<std::shared_ptr<arrow::Buffer>>::MakeFinished(
        file_->ReadAt(position, nbytes, allow_short_read));
  }

 private:
  std::shared_ptr<arrow::io::ReadableFile> file_;
};

}  // namespace

Result<std::shared_ptr<arrow::io::RandomAccessFile>> OpenForRead(const std::string& path) {
  ARROW_ASSIGN_OR_RAISE(auto file, arrow::io::ReadableFile::Open(path));
  return std::make_shared<CallerThreadFile>(std::move(file));
}

Status ReserveFileSpace(const std::string& path, std::int64_t bytes) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return Status::IOError(path, ": cannot create: ", ErrnoMessage(errno));
  const int rc = ::posix_fallocate(fd, 0, static_cast<off_t>(bytes));
  ::close(fd);
  if (rc != 0) {
    ::unlink(path.c_str());
    return Status::IOError(path, ": cannot reserve ", bytes, " bytes: ", ErrnoMessage(rc));
  }
  return Status::OK();
}

arrow::ipc::IpcReadOptions SingleThreadIpcOptions() {
  auto options = arrow::ipc::IpcReadOptions::Defaults();
  options.use_threads = false;
  return options;
}

Result<std::unique_ptr<parquet::arrow::FileReader>> OpenParquet(
    std::shared_ptr<arrow::io::RandomAccessFile> file) {
  parquet::ArrowReaderProperties props;
  props.set_pre_buffer(false);
  props.set_use_threads(false);
  parquet::arrow::FileReaderBuilder builder;
  ARROW_RETURN_NOT_OK(builder.Open(std::move(file)));
  return builder.properties(props)->Build();
}

Status CheckBatchMatches(const StreamInfo& stream, const arrow::RecordBatch& batch) {
  const arrow::Schema& want = *stream.schema;
  if (batch.num_columns() != want.num_fields()) {
    return Status::Invalid("stream '", stream.name, "': batch has ", batch.num_columns(),
                           " columns, the stream's schema has ", want.num_fields());
  }
  for (int i = 0; i < want.num_fields(); ++i) {
    const auto& got = batch.schema()->field(i);
    if (got->name() != want.field(i)->name() || !got->type()->Equals(*want.field(i)->type())) {
      return Status::Invalid("stream '", stream.name, "': batch column ", i, " is '",
                             got->ToString(), "', the stream declared '", want.field(i)->ToString(),
                             "'");
    }
  }
  return Status::OK();
}

const std::int64_t* TimestampValues(const arrow::RecordBatch& batch) {
  return batch.column_data(0)->GetValues<std::int64_t>(1);
}

std::shared_ptr<arrow::Schema> WithFormatVersion(const std::shared_ptr<arrow::Schema>& schema) {
  auto md =
      schema->metadata() ? schema->metadata()->Copy() : std::make_shared<arrow::KeyValueMetadata>();
  // The version of the layout written, whatever the stream's schema says.
  ARROW_UNUSED(md->Set(kFormatVersionKey, kStorageFormatVersion));
  return schema->WithMetadata(md);
}

std::string JsonEscape(std::string_view s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof(buf), "\\u%04x", static_cast<unsigned>(c));
          out += buf;
        } else {
          out += c;
        }
    }
  }
  return out;
}

std::vector<std::pair<std::string, std::string>> ColumnUnits(const arrow::Schema& schema) {
  std::vector<std::pair<std::string, std::string>> out;
  for (int i = 0; i < schema.num_fields(); ++i) {
    const auto& f = *schema.field(i);
    out.emplace_back(f.name(), i == 0 ? std::string(kTimestampUnits) : FieldUnit(f));
  }
  return out;
}

std::shared_ptr<arrow::Schema> WithRunMetadata(const std::shared_ptr<arrow::Schema>& schema,
                                               const RunInfo& run) {
  auto md =
      schema->metadata() ? schema->metadata()->Copy() : std::make_shared<arrow::KeyValueMetadata>();
  if (!run.run_id.empty()) ARROW_UNUSED(md->Set("arrowdaq.run_id", run.run_id));
  if (run.start_time_ns != 0) {
    ARROW_UNUSED(md->Set("arrowdaq.start_time", FormatIsoTime(run.start_time_ns)));
  }
  for (const auto& [key, value] : run.metadata) ARROW_UNUSED(md->Set("arrowdaq.run." + key, value));
  return schema->WithMetadata(md);
}

std::shared_ptr<arrow::Schema> WithUnitsMetadata(const std::shared_ptr<arrow::Schema>& schema) {
  std::string json = "{";
  for (const auto& [name, unit] : ColumnUnits(*schema)) {
    if (json.size() > 1) json += ',';
    json += "\"" + JsonEscape(name) + "\":\"" + JsonEscape(unit) + "\"";
  }
  json += "}";
  auto md =
      schema->metadata() ? schema->metadata()->Copy() : std::make_shared<arrow::KeyValueMetadata>();
  ARROW_UNUSED(md->Set("arrowdaq.units", json));
  return schema->WithMetadata(md);
}

Result<std::optional<ArrayShape>> ArrayColumnShape(const arrow::DataType& type) {
  ArrayShape out;
  const arrow::DataType* storage = &type;
  if (type.id() == arrow::Type::EXTENSION) {
    const auto& ext = static_cast<const arrow::ExtensionType&>(type);
    if (ext.extension_name() != "arrow.fixed_shape_tensor") return std::nullopt;
    const auto* tensor = dynamic_cast<const arrow::extension::FixedShapeTensorType*>(&type);
    if (tensor == nullptr) {
      return Status::NotImplemented("extension type ", type.ToString(),
                                    " is not Arrow's FixedShapeTensorType");
    }
    for (size_t i = 0; i < tensor->permutation().size(); ++i) {
      if (tensor->permutation()[i] != static_cast<std::int64_t>(i)) {
        return Status::NotImplemented("tensor type ", type.ToString(),
                                      " has a permutation (only row-major tensors are stored)");
      }
    }
    out.shape = tensor->shape();
    out.tensor = true;
    storage = ext.storage_type().get();
  }
  if (storage->id() != arrow::Type::FIXED_SIZE_LIST) {
    if (out.tensor) return Status::Invalid("tensor type ", type.ToString(), " has no list storage");
    return std::nullopt;
  }
  const auto& list = static_cast<const arrow::FixedSizeListType&>(*storage);
  out.value_type = list.value_type();
  out.size = list.list_size();
  if (!out.tensor) out.shape = {out.size};
  const auto id = out.value_type->id();
  if (!(arrow::is_integer(id) || id == arrow::Type::FLOAT || id == arrow::Type::DOUBLE)) {
    return Status::NotImplemented("array column type ", type.ToString(),
                                  " (only arrays of integers, float32 or float64 are supported)");
  }
  return out;
}

Result<const std::uint8_t*> ArrayColumnValues(const arrow::ArrayData& column,
                                              const ArrayShape& shape, std::string_view what) {
  if (column.child_data.size() != 1 || column.child_data[0] == nullptr) {
    return Status::Invalid(what, ": array column has no values");
  }
  const arrow::ArrayData& values = *column.child_data[0];
  if (column.GetNullCount() != 0 || values.GetNullCount() != 0) {
    return Status::Invalid(what, ": holds nulls, which this format cannot store");
  }
  const std::int64_t width = shape.value_type->byte_width();
  const std::int64_t first = values.offset + column.offset * shape.size;
  if (values.length < (column.offset + column.length) * shape.size) {
    return Status::Invalid(what, ": array column has fewer values than its rows need");
  }
  return values.buffers[1]->data() + first * width;
}

std::string FormatShape(const std::vector<std::int64_t>& shape) {
  std::string out;
  for (size_t i = 0; i < shape.size(); ++i) {
    if (i > 0) out += 'x';
    out += std::to_string(shape[i]);
  }
  return out;
}

}  // namespace arrowdaq::storage::internal
