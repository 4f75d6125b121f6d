#include "arrowdaq/storage/csv_writer.h"

#include <arrow/array.h>
#include <arrow/io/file.h>
#include <arrow/type_traits.h>
#include <arrow/util/bit_util.h>
#include <arrow/util/key_value_metadata.h>

#include <unistd.h>

#include <charconv>
#include <unordered_map>

#include "arrowdaq/core/schema.h"
#include "arrowdaq/storage/storage_internal.h"

namespace arrowdaq::storage {

namespace {

constexpr std::string_view kUnitsSuffix = ".units";
constexpr std::string_view kMetadataSuffix = ".metadata";

std::string QuoteCsv(const std::string& text) {
  if (text.find_first_of(",\"\r\n") == std::string::npos) return text;
  std::string out = "\"";
  for (char c : text) {
    if (c == '"') out += '"';
    out += c;
  }
  out += '"';
  return out;
}

bool IsCsvNumeric(const arrow::DataType& type) {
  return arrow::is_integer(type.id()) || type.id() == arrow::Type::FLOAT ||
         type.id() == arrow::Type::DOUBLE;
}

template <typename T>
void AppendNumber(std::string* out, T value) {
  char buf[64];
  auto res = std::to_chars(buf, buf + sizeof(buf), value);
  out->append(buf, res.ptr);
}

// Shortest round-trip form, with ".0" on integral values so readers infer a float column.
template <typename T>
void AppendFloat(std::string* out, T value) {
  char buf[64];
  auto res = std::to_chars(buf, buf + sizeof(buf), value);
  const std::string_view text(buf, static_cast<size_t>(res.ptr - buf));
  out->append(text);
  if (text.find_first_of(".eni") == std::string_view::npos) out->append(".0");
}

void AppendValue(std::string* out, const arrow::ArrayData& data, std::int64_t row) {
  switch (data.type->id()) {
    case arrow::Type::INT8:
      return AppendNumber(out, data.GetValues<std::int8_t>(1)[row]);
    case arrow::Type::INT16:
      return AppendNumber(out, data.GetValues<std::int16_t>(1)[row]);
    case arrow::Type::INT32:
      return AppendNumber(out, data.GetValues<std::int32_t>(1)[row]);
    case arrow::Type::INT64:
      return AppendNumber(out, data.GetValues<std::int64_t>(1)[row]);
    case arrow::Type::UINT8:
      return AppendNumber(out, data.GetValues<std::uint8_t>(1)[row]);
    case arrow::Type::UINT16:
      return AppendNumber(out, data.GetValues<std::uint16_t>(1)[row]);
    case arrow::Type::UINT32:
      return AppendNumber(out, data.GetValues<std::uint32_t>(1)[row]);
    case arrow::Type::UINT64:
      return AppendNumber(out, data.GetValues<std::uint64_t>(1)[row]);
    case arrow::Type::FLOAT:
      return AppendFloat(out, data.GetValues<float>(1)[row]);
    case arrow::Type::DOUBLE:
      return AppendFloat(out, data.GetValues<double>(1)[row]);
    default:
      return;
  }
}

class CsvWriter final : public StorageWriter {
 public:
  CsvWriter(std::string directory, RunInfo run)
      : directory_(std::move(directory)), run_(std::move(run)) {}
  ~CsvWriter() override { (void)Close(); }

  Status AddStream(const StreamInfo& stream) override {
    ARROW_RETURN_NOT_OK(internal::CheckNewStream("CSV writer", closed_, stream, streams_));
    std::string header = kTimestampColumn;
    for (int i = 1; i < stream.schema->num_fields(); ++i) {
      const auto& field = stream.schema->field(i);
      if (field->type()->id() == arrow::Type::EXTENSION ||
          field->type()->id() == arrow::Type::FIXED_SIZE_LIST) {
        return Status::NotImplemented(
            "CSV writer: column '", field->name(), "' of stream '", stream.name, "' holds ",
            field->type()->ToString(),
            " (a frame or waveform per row), which CSV cannot store; write this stream as "
            "hdf5 or arrow, or leave csv out of [storage] formats");
      }
      if (!IsCsvNumeric(*field->type())) {
        return Status::NotImplemented("CSV writer: column '", field->name(), "' of stream '",
                                      stream.name, "' has type ", field->type()->ToString(),
                                      " (only numeric columns are supported)");
      }
      header += ',';
      header += QuoteCsv(field->name());
    }
    header += '\n';
    for (const std::string_view suffix : {kUnitsSuffix, kMetadataSuffix}) {
      if (stream.name.ends_with(suffix)) {
        return Status::Invalid("CSV writer: stream name '", stream.name, "' ends in '", suffix,
                               "', which would collide with the ", suffix.substr(1),
                               " file of stream '",
                               stream.name.substr(0, stream.name.size() - suffix.size()), "'");
      }
    }
    // The run's facts: key,value (format_version, run_id, start_time, run.<key> per metadata).
    std::string facts = "key,value\nformat_version," + std::string(kStorageFormatVersion) + "\n";
    facts += "run_id," + QuoteCsv(run_.run_id) + "\n";
    facts += "start_time," + internal::FormatIsoTime(run_.start_time_ns) + "\n";
    for (const auto& [key, value] : run_.metadata) {
      facts += QuoteCsv("run." + key) + "," + QuoteCsv(value) + "\n";
    }
    ARROW_RETURN_NOT_OK(WriteSidecar(stream.name + ".metadata.csv", facts));
    // The units sidecar: column,units,description, one line per column.
    std::string units = "column,units,description\n";
    for (const auto& field : stream.schema->fields()) {
      const bool ts = field->name() == kTimestampColumn;
      std::string description;
      if (field->metadata()) description = field->metadata()->Get(kDescriptionKey).ValueOr("");
      units += QuoteCsv(field->name()) + ',' + (ts ? "" : QuoteCsv(FieldUnit(*field))) + ',' +
               QuoteCsv(ts ? "ISO 8601 UTC with nanoseconds" : description) + '\n';
    }
    ARROW_RETURN_NOT_OK(WriteSidecar(stream.name + ".units.csv", units));
    Stream s;
    s.info = std::make_shared<StreamInfo>(stream);
    s.path = internal::JoinPath(directory_, stream.name + ".csv");
    ARROW_ASSIGN_OR_RAISE(s.file, internal::CreateNewFile(s.path));
    Status st = s.file->Write(header.data(), static_cast<std::int64_t>(header.size()));
    if (!st.ok()) {
      (void)s.file->Close();
      return internal::WithPath(st, s.path);
    }
    s.good_bytes = static_cast<std::int64_t>(header.size());
    streams_.emplace(stream.name, std::move(s));
    return Status::OK();
  }

  Status Write(const DataPacket& packet) override {
    ARROW_ASSIGN_OR_RAISE(Stream * found,
                          internal::StreamForWrite("CSV writer", closed_, packet, streams_));
    Stream& s = *found;
    const arrow::RecordBatch& batch = *packet.batch;
    ARROW_RETURN_NOT_OK(internal::CheckBatchMatches(*s.info, batch));
    const std::int64_t* ts = internal::TimestampValues(batch);
    std::string text;
    text.reserve(static_cast<size_t>(batch.num_rows()) * (32 + 20 * batch.num_columns()));
    for (std::int64_t r = 0; r < batch.num_rows(); ++r) {
      text += internal::FormatIsoTime(ts[r]);
      for (int c = 1; c < batch.num_columns(); ++c) {
        text += ',';
        const arrow::ArrayData& data = *batch.column_data(c);
        if (data.GetNullCount() != 0 &&
            !arrow::bit_util::GetBit(data.buffers[0]->data(), data.offset + r)) {
          continue;
        }
        AppendValue(&text, data, r);
      }
      text += '\n';
    }
    if (!s.failed.ok()) {
      return Status::IOError(s.path, ": Write refused: an earlier write failed (",
                             s.failed.message(), ")");
    }
    Status st = s.file->Write(text.data(), static_cast<std::int64_t>(text.size()));
    if (!st.ok()) {
      // Cut the torn line(s) off again: the file ends with the last complete batch.
      s.failed = internal::WithPath(st, s.path);
      (void)::ftruncate(s.file->file_descriptor(), s.good_bytes);
      return s.failed;
    }
    s.good_bytes += static_cast<std::int64_t>(text.size());
    s.stored_rows += batch.num_rows();
    return Status::OK();
  }

  std::string_view format_name() const override { return "csv"; }

  std::map<std::string, std::int64_t> StoredRows() const override {
    std::map<std::string, std::int64_t> out;
    for (const auto& [name, s] : streams_) out[name] = s.stored_rows;
    return out;
  }

  Status WriteSidecar(const std::string& name, const std::string& text) {
    const std::string path = internal::JoinPath(directory_, name);
    ARROW_ASSIGN_OR_RAISE(auto file, internal::CreateNewFile(path));
    Status st = file->Write(text.data(), static_cast<std::int64_t>(text.size()));
    Status cst = file->Close();
    return internal::WithPath(st.ok() ? cst : st, path);
  }

  Status Flush() override {
    if (closed_) return Status::OK();
    for (auto& [name, s] : streams_)
      ARROW_RETURN_NOT_OK(internal::WithPath(s.file->Flush(), s.path));
    return Status::OK();
  }

  Status Close() override {
    if (closed_) return Status::OK();
    closed_ = true;
    Status first;
    for (auto& [name, s] : streams_) {
      Status st = internal::WithPath(s.file->Close(), s.path);
      if (first.ok()) first = st;
    }
    return first;
  }

 private:
  struct Stream {
    std::shared_ptr<const StreamInfo> info;
    std::string path;
    std::shared_ptr<arrow::io::FileOutputStream> file;
    Status failed;
    std::int64_t good_bytes = 0;   ///< file size after the last complete batch
    std::int64_t stored_rows = 0;  ///< rows of the batches written completely
  };

  std::string directory_;
  RunInfo run_;
  std::unordered_map<std::string, Stream> streams_;
  bool closed_ = false;
};

}  // namespace

Result<std::unique_ptr<StorageWriter>> MakeCsvWriter(const std::string& directory,
                                                     const RunInfo& run) {
  ARROW_RETURN_NOT_OK(internal::PrepareOutputDirectory(directory, "CSV writer"));
  return std::make_unique<CsvWriter>(directory, run);
}

}  // namespace arrowdaq::storage
