#include "arrowdaq/storage/storage_internal.h"

#include <arrow/array.h>
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
  using namespace std::chrono;
  const sys_time<nanoseconds> t{nanoseconds{ns_since_epoch}};
  const auto day = floor<days>(t);
  const year_month_day ymd{day};
  const hh_mm_ss<nanoseconds> hms{t - day};
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%04d-%02u-%02uT%02d:%02d:%02d.%09lldZ",
                static_cast<int>(ymd.year()), static_cast<unsigned>(ymd.month()),
                static_cast<unsigned>(ymd.day()), static_cast<int>(hms.hours().count()),
                static_cast<int>(hms.minutes().count()), static_cast<int>(hms.seconds().count()),
                static_cast<long long>(hms.subseconds().count()));
  return buf;
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

}  // namespace arrowdaq::storage::internal
