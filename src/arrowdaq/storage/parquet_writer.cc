#include "arrowdaq/storage/parquet_writer.h"

#include <arrow/io/file.h>
#include <parquet/arrow/writer.h>
#include <parquet/properties.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <filesystem>
#include <unordered_map>

#include "arrowdaq/core/schema.h"
#include "arrowdaq/storage/storage_internal.h"

namespace arrowdaq::storage {

namespace {

// A row group is buffered in memory until it is complete; streams of frames or waveforms get
// row groups of about this size instead of Parquet's default 1 Mi rows.
constexpr std::int64_t kArrayRowGroupBytes = 64 << 20;

class ParquetWriter final : public StorageWriter {
 public:
  ParquetWriter(std::string directory, ParquetOptions options, RunInfo run)
      : directory_(std::move(directory)), options_(options), run_(std::move(run)) {
    props_ = MakeProperties(parquet::DEFAULT_MAX_ROW_GROUP_LENGTH);
    // Keep the Arrow schema (timestamp[ns, UTC], field metadata with units) in the footer.
    parquet::ArrowWriterProperties::Builder arrow_props;
    arrow_props.store_schema();
    arrow_props_ = arrow_props.build();
  }
  ~ParquetWriter() override { (void)Close(); }

  Status AddStream(const StreamInfo& stream) override {
    ARROW_RETURN_NOT_OK(internal::CheckNewStream("Parquet writer", closed_, stream, streams_));
    for (const char* reserved : {"run.h5", "config.toml", "summary.json"}) {
      if (stream.name == reserved) {
        return Status::Invalid("Parquet writer: stream name '", stream.name,
                               "' would be a directory in place of the run's ", reserved);
      }
    }
    Stream s;
    s.info = std::make_shared<StreamInfo>(stream);
    s.schema = internal::WithRunMetadata(
        internal::WithUnitsMetadata(internal::WithFormatVersion(stream.schema)), run_);
    s.directory = internal::JoinPath(directory_, stream.name);
    s.props = props_;
    // Array columns (frames, waveforms) are stored as their storage type, a fixed_size_list
    // (a Parquet LIST); the Arrow schema in the footer brings the tensor type back.
    std::int64_t row_bytes = 0;
    for (const auto& field : stream.schema->fields()) {
      auto array = internal::ArrayColumnShape(*field->type());
      if (!array.ok()) {
        return Status::NotImplemented("Parquet writer: column '", field->name(), "' of stream '",
                                      stream.name, "': ", array.status().message());
      }
      if (*array) row_bytes += (*array)->size * (*array)->value_type->byte_width();
    }
    if (row_bytes > 0) {
      s.props = MakeProperties(std::max<std::int64_t>(1, kArrayRowGroupBytes / row_bytes));
    }
    streams_.emplace(stream.name, std::move(s));
    return Status::OK();
  }

  Status Write(const DataPacket& packet) override {
    ARROW_ASSIGN_OR_RAISE(Stream * found,
                          internal::StreamForWrite("Parquet writer", closed_, packet, streams_));
    Stream& s = *found;
    const arrow::RecordBatch& batch = *packet.batch;
    ARROW_RETURN_NOT_OK(internal::CheckBatchMatches(*s.info, batch));
    const std::int64_t* ts = internal::TimestampValues(batch);
    const std::int64_t n = batch.num_rows();
    const std::int64_t duration = options_.segment_duration.count();
    std::int64_t offset = 0;
    while (offset < n) {
      if (s.writer == nullptr) {
        ARROW_RETURN_NOT_OK(OpenSegment(s));
        s.segment_first_ts = ts[offset];
      }
      std::int64_t take = std::min(n - offset, options_.segment_rows - s.segment_rows);
      if (duration > 0) {
        const std::int64_t limit = s.segment_first_ts + duration;
        for (std::int64_t i = offset; i < offset + take; ++i) {
          if (ts[i] >= limit) {
            take = i - offset;
            break;
          }
        }
      }
      if (take == 0) {
        ARROW_RETURN_NOT_OK(CloseSegment(s));
        continue;
      }
      // Slicing is zero-copy; the Parquet encoder reads the Arrow buffers directly.
      auto slice = (offset == 0 && take == n) ? nullptr : batch.Slice(offset, take);
      Status st = s.writer->WriteRecordBatch(slice ? *slice : batch);
      if (!st.ok()) return internal::WithPath(st, s.partial_path);
      s.segment_rows += take;
      offset += take;
      if (s.segment_rows >= options_.segment_rows) ARROW_RETURN_NOT_OK(CloseSegment(s));
    }
    return Status::OK();
  }

  std::string_view format_name() const override { return "parquet"; }

  std::map<std::string, std::int64_t> StoredRows() const override {
    std::map<std::string, std::int64_t> out;
    for (const auto& [name, s] : streams_) out[name] = s.stored_rows;
    return out;
  }

  // Parquet files are readable only once their footer is written: Flush leaves the open
  // segment alone (segment_rows / segment_duration bound what a crash can lose).
  Status Flush() override { return Status::OK(); }

  Status Close() override {
    if (closed_) return Status::OK();
    closed_ = true;
    Status first;
    for (auto& [name, s] : streams_) {
      Status st = CloseSegment(s);
      if (first.ok()) first = st;
    }
    return first;
  }

 private:
  struct Stream {
    std::shared_ptr<const StreamInfo> info;
    std::shared_ptr<arrow::Schema> schema;
    std::shared_ptr<parquet::WriterProperties> props;
    std::string directory;  ///< <run>/<stream>, created with the first segment
    int next_segment = 0;
    std::string partial_path;
    std::string final_path;
    std::shared_ptr<arrow::io::FileOutputStream> file;
    std::unique_ptr<parquet::arrow::FileWriter> writer;
    std::int64_t segment_rows = 0;
    std::int64_t segment_first_ts = 0;
    std::int64_t stored_rows = 0;  ///< rows in closed (renamed) parts
  };

  Status OpenSegment(Stream& s) {
    if (s.next_segment == 0) {
      // The stream's own directory: a glob for one stream can never match another's parts.
      std::error_code ec;
      if (!std::filesystem::create_directory(s.directory, ec) && !ec &&
          !std::filesystem::is_empty(s.directory, ec)) {
        return Status::IOError("Parquet writer: directory '", s.directory,
                               "' exists and is not empty");
      }
      if (ec) {
        return Status::IOError("Parquet writer: cannot create directory '", s.directory,
                               "': ", ec.message());
      }
    }
    char name[32];
    std::snprintf(name, sizeof(name), "part-%05d.parquet", s.next_segment);
    s.final_path = internal::JoinPath(s.directory, name);
    s.partial_path = s.final_path + ".partial";
    if (::access(s.final_path.c_str(), F_OK) == 0) {
      return Status::IOError("cannot create '", s.final_path, "': file exists");
    }
    ARROW_ASSIGN_OR_RAISE(s.file, internal::CreateNewFile(s.partial_path));
    auto writer = parquet::arrow::FileWriter::Open(*s.schema, arrow::default_memory_pool(), s.file,
                                                   s.props, arrow_props_);
    if (!writer.ok()) {
      (void)s.file->Close();
      ::unlink(s.partial_path.c_str());
      s.file.reset();
      return internal::WithPath(writer.status(), s.partial_path);
    }
    s.writer = std::move(*writer);
    s.segment_rows = 0;
    ++s.next_segment;
    return Status::OK();
  }

  Status CloseSegment(Stream& s) {
    if (s.writer == nullptr) return Status::OK();
    Status st = internal::WithPath(s.writer->Close(), s.partial_path);
    s.writer.reset();
    Status fst = internal::WithPath(s.file->Close(), s.partial_path);
    s.file.reset();
    ARROW_RETURN_NOT_OK(st);
    ARROW_RETURN_NOT_OK(fst);
    if (std::rename(s.partial_path.c_str(), s.final_path.c_str()) != 0) {
      return Status::IOError("cannot rename '", s.partial_path, "' to '", s.final_path,
                             "': ", internal::ErrnoMessage(errno));
    }
    s.stored_rows += s.segment_rows;
    s.segment_rows = 0;
    return Status::OK();
  }

  std::shared_ptr<parquet::WriterProperties> MakeProperties(std::int64_t max_row_group_rows) const {
    parquet::WriterProperties::Builder props;
    props.compression(arrow::Compression::ZSTD);
    props.compression_level(options_.zstd_level);
    props.max_row_group_length(max_row_group_rows);
    return props.build();
  }

  std::string directory_;
  ParquetOptions options_;
  RunInfo run_;
  std::shared_ptr<parquet::WriterProperties> props_;
  std::shared_ptr<parquet::ArrowWriterProperties> arrow_props_;
  std::unordered_map<std::string, Stream> streams_;
  bool closed_ = false;
};

}  // namespace

Result<std::unique_ptr<StorageWriter>> MakeParquetWriter(const std::string& directory,
                                                         const ParquetOptions& options,
                                                         const RunInfo& run) {
  if (options.segment_rows <= 0) {
    return Status::Invalid("ParquetOptions.segment_rows must be > 0, got ", options.segment_rows);
  }
  if (options.segment_duration.count() < 0) {
    return Status::Invalid("ParquetOptions.segment_duration must be >= 0");
  }
  ARROW_RETURN_NOT_OK(internal::PrepareOutputDirectory(directory, "Parquet writer"));
  return std::make_unique<ParquetWriter>(directory, options, run);
}

}  // namespace arrowdaq::storage
