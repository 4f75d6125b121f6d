#include "arrowdaq/storage/storage_internal.h"

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

Status WithPath(const Status& st, const std::string& path) {
  if (st.ok()) return st;
  std::string message = path + ": " + st.message();
  // Arrow keeps the system's reason (errno) in the detail; keep it in the message.
  if (st.detail() != nullptr) message += " (" + st.detail()->ToString() + ")";
  return Status(st.code(), std::move(message));
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
  if (md->Contains(kFormatVersionKey)) return schema;
  md->Append(kFormatVersionKey, kStorageFormatVersion);
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
