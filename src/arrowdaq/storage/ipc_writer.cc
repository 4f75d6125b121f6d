#include "arrowdaq/storage/ipc_writer.h"

#include <arrow/io/file.h>
#include <arrow/ipc/writer.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <unordered_map>

#include "arrowdaq/core/schema.h"
#include "arrowdaq/storage/storage_internal.h"

namespace arrowdaq::storage {

namespace {

class IpcWriter final : public StorageWriter {
 public:
  IpcWriter(std::string directory, RunInfo run)
      : directory_(std::move(directory)), run_(std::move(run)) {}
  ~IpcWriter() override { (void)Close(); }

  Status AddStream(const StreamInfo& stream) override {
    ARROW_RETURN_NOT_OK(
        internal::CheckNewStream("Arrow IPC writer", closed_, stream, streams_));
    Stream s;
    s.info = std::make_shared<StreamInfo>(stream);
    s.final_path = internal::JoinPath(directory_, stream.name + ".arrow");
    s.path = s.final_path + kPartialSuffix;
    if (::access(s.final_path.c_str(), F_OK) == 0) {
      return Status::IOError("cannot create '", s.final_path, "': file exists");
    }
    ARROW_ASSIGN_OR_RAISE(s.file, internal::CreateNewFile(s.path));
    auto writer = arrow::ipc::MakeFileWriter(
        s.file, internal::WithRunMetadata(internal::WithFormatVersion(stream.schema), run_));
    if (!writer.ok()) {
      (void)s.file->Close();
      ::unlink(s.path.c_str());
      return internal::WithPath(writer.status(), s.path);
    }
    s.writer = *writer;
    auto start = s.file->Tell();
    if (!start.ok()) return internal::WithPath(start.status(), s.path);
    s.good_bytes = *start;
    streams_.emplace(stream.name, std::move(s));
    return Status::OK();
  }

  Status Write(const DataPacket& packet) override {
    ARROW_ASSIGN_OR_RAISE(Stream * found,
                          internal::StreamForWrite("Arrow IPC writer", closed_, packet, streams_));
    Stream& s = *found;
    if (!s.failed.ok()) {
      return Status::IOError(s.path, ": Write refused: an earlier write failed (",
                             s.failed.message(), ")");
    }
    ARROW_RETURN_NOT_OK(internal::CheckBatchMatches(*s.info, *packet.batch));
    // The file writer sends each batch's message straight to the file descriptor.
    Status st = s.writer->WriteRecordBatch(*packet.batch);
    auto end = st.ok() ? s.file->Tell() : Result<std::int64_t>(st);
    if (!end.ok()) {
      // A half-written message would end the readable part of the file with garbage: cut the
      // file back to the end of the last complete batch, and stop here.
      s.failed = internal::WithPath(end.status(), s.path);
      (void)::ftruncate(s.file->file_descriptor(), s.good_bytes);
      return s.failed;
    }
    s.good_bytes = *end;
    s.stored_rows += packet.batch->num_rows();
    return Status::OK();
  }

  std::string_view format_name() const override { return "arrow"; }

  std::map<std::string, std::int64_t> StoredRows() const override {
    std::map<std::string, std::int64_t> out;
    for (const auto& [name, s] : streams_) out[name] = s.stored_rows;
    return out;
  }

  Status Flush() override {
    if (closed_) return Status::OK();
    for (auto& [name, s] : streams_) {
      if (!s.failed.ok()) continue;
      ARROW_RETURN_NOT_OK(internal::WithPath(s.file->Flush(), s.path));
    }
    return Status::OK();
  }

  Status Close() override {
    if (closed_) return Status::OK();
    closed_ = true;
    Status first;
    for (auto& [name, s] : streams_) {
      Status st;
      // A failed stream keeps its .partial name: its footer was never written.
      if (s.failed.ok()) st = internal::WithPath(s.writer->Close(), s.path);
      Status fst = internal::WithPath(s.file->Close(), s.path);
      if (st.ok() && fst.ok() && s.failed.ok() &&
          std::rename(s.path.c_str(), s.final_path.c_str()) != 0) {
        fst = Status::IOError("cannot rename '", s.path, "' to '", s.final_path,
                              "': ", internal::ErrnoMessage(errno));
      }
      if (first.ok()) first = st.ok() ? fst : st;
    }
    return first;
  }

 private:
  struct Stream {
    std::shared_ptr<const StreamInfo> info;
    std::string path;        ///< <stream>.arrow.partial (the file being written)
    std::string final_path;  ///< <stream>.arrow (after Close)
    std::shared_ptr<arrow::io::FileOutputStream> file;
    std::shared_ptr<arrow::ipc::RecordBatchWriter> writer;
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

Result<std::unique_ptr<StorageWriter>> MakeIpcWriter(const std::string& directory,
                                                     const RunInfo& run) {
  ARROW_RETURN_NOT_OK(internal::PrepareOutputDirectory(directory, "Arrow IPC writer"));
  return std::make_unique<IpcWriter>(directory, run);
}

}  // namespace arrowdaq::storage
