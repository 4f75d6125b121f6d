#include "arrowdaq/storage/ipc_writer.h"

#include <arrow/io/file.h>
#include <arrow/ipc/writer.h>

#include <unordered_map>

#include "arrowdaq/core/schema.h"
#include "arrowdaq/storage/storage_internal.h"

namespace arrowdaq::storage {

namespace {

class IpcWriter final : public StorageWriter {
 public:
  explicit IpcWriter(std::string directory) : directory_(std::move(directory)) {}
  ~IpcWriter() override { (void)Close(); }

  Status AddStream(const StreamInfo& stream) override {
    ARROW_RETURN_NOT_OK(
        internal::CheckNewStream("Arrow IPC writer", closed_, stream, streams_));
    Stream s;
    s.info = std::make_shared<StreamInfo>(stream);
    s.path = internal::JoinPath(directory_, stream.name + ".arrows");
    ARROW_ASSIGN_OR_RAISE(s.file, internal::CreateNewFile(s.path));
    auto writer = arrow::ipc::MakeStreamWriter(s.file, internal::WithFormatVersion(stream.schema));
    if (!writer.ok()) return internal::WithPath(writer.status(), s.path);
    s.writer = *writer;
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
    Status st = s.writer->WriteRecordBatch(*packet.batch);
    if (!st.ok()) {
      // A half-written message ends the readable part of the file; stop here.
      s.failed = internal::WithPath(st, s.path);
      return s.failed;
    }
    return Status::OK();
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
      if (s.failed.ok()) st = internal::WithPath(s.writer->Close(), s.path);
      Status fst = internal::WithPath(s.file->Close(), s.path);
      if (first.ok()) first = st.ok() ? fst : st;
    }
    return first;
  }

 private:
  struct Stream {
    std::shared_ptr<const StreamInfo> info;
    std::string path;
    std::shared_ptr<arrow::io::FileOutputStream> file;
    std::shared_ptr<arrow::ipc::RecordBatchWriter> writer;
    Status failed;
  };

  std::string directory_;
  std::unordered_map<std::string, Stream> streams_;
  bool closed_ = false;
};

}  // namespace

Result<std::unique_ptr<StorageWriter>> MakeIpcWriter(const std::string& directory) {
  ARROW_RETURN_NOT_OK(internal::PrepareOutputDirectory(directory, "Arrow IPC writer"));
  return std::make_unique<IpcWriter>(directory);
}

}  // namespace arrowdaq::storage
