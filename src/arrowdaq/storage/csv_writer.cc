#include "arrowdaq/storage/csv_writer.h"

#include <arrow/array.h>
#include <arrow/io/file.h>
#include <arrow/type_traits.h>
#include <arrow/util/bit_util.h>

#include <charconv>
#include <unordered_map>

#include "arrowdaq/core/schema.h"
#include "arrowdaq/storage/storage_internal.h"

namespace arrowdaq::storage {

namespace {

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
  explicit CsvWriter(std::string directory) : directory_(std::move(directory)) {}
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
            "hdf5 or arrows, or leave csv out of [storage] formats");
      }
      if (!IsCsvNumeric(*field->type())) {
        return Status::NotImplemented("CSV writer: column '", field->name(), "' of stream '",
                                      stream.name, "' has type ", field->type()->ToString(),
                                      " (only numeric columns are supported)");
      }
      const std::string unit = FieldUnit(*field);
      header += ',';
      header += QuoteCsv(unit.empty() ? field->name() : field->name() + " [" + unit + "]");
    }
    header += '\n';
    Stream s;
    s.info = std::make_shared<StreamInfo>(stream);
    s.path = internal::JoinPath(directory_, stream.name + ".csv");
    ARROW_ASSIGN_OR_RAISE(s.file, internal::CreateNewFile(s.path));
    Status st = s.file->Write(header.data(), static_cast<std::int64_t>(header.size()));
    if (!st.ok()) {
      (void)s.file->Close();
      return internal::WithPath(st, s.path);
    }
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
    return internal::WithPath(s.file->Write(text.data(), static_cast<std::int64_t>(text.size())),
                              s.path);
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
  };

  std::string directory_;
  std::unordered_map<std::string, Stream> streams_;
  bool closed_ = false;
};

}  // namespace

Result<std::unique_ptr<StorageWriter>> MakeCsvWriter(const std::string& directory) {
  ARROW_RETURN_NOT_OK(internal::PrepareOutputDirectory(directory, "CSV writer"));
  return std::make_unique<CsvWriter>(directory);
}

}  // namespace arrowdaq::storage
