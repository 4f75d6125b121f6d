// Helpers shared by the storage writers and the inspector: stream-name confinement, output
// directory checks, time formatting, schema checks, error annotation. Not installed; pure
// functions (PrepareOutputDirectory touches the file system). Any thread.
#pragma once

#include <arrow/io/file.h>
#include <arrow/ipc/options.h>
#include <parquet/arrow/reader.h>
#include <arrow/record_batch.h>
#include <arrow/type.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "arrowdaq/core/data_packet.h"
#include "arrowdaq/core/schema.h"
#include "arrowdaq/core/status.h"
#include "arrowdaq/storage/storage_writer.h"

namespace arrowdaq::storage::internal {

/// Check that `name` can become a file or group name: non-empty, at most 200 characters of
/// [A-Za-z0-9_.-], not starting with '.'. Stops path traversal through stream names.
Status ValidateStreamName(std::string_view name);

/// Create `dir` (and parents) if missing and prove it writable by creating and removing a
/// probe file. `what` names the writer in the message ("Arrow IPC writer").
Status PrepareOutputDirectory(const std::string& dir, std::string_view what);

/// Join a directory and a file name with one '/'.
std::string JoinPath(const std::string& dir, const std::string& name);

/// Format ns since the Unix epoch as ISO 8601 UTC with nanoseconds:
/// "2024-01-01T00:00:00.000000000Z".
std::string FormatIsoTime(std::int64_t ns_since_epoch);

/// Parse what FormatIsoTime writes back to ns since the epoch.
Result<std::int64_t> ParseIsoTime(std::string_view text);

/// Return `st` with "<path>: " in front of its message (same code); OK stays OK.
Status WithPath(const Status& st, const std::string& path);

/// Create `path` for writing; fail (IOError naming the path) if it exists or cannot be made.
/// Existing files are never overwritten: a run directory holds one run.
Result<std::shared_ptr<arrow::io::FileOutputStream>> CreateNewFile(const std::string& path);

/// Create `path` with `bytes` allocated on disk (posix_fallocate): space kept for a later
/// step that must not fail on a full disk. IOError naming the file when the disk has no such
/// space (the file is removed then).
Status ReserveFileSpace(const std::string& path, std::int64_t bytes);

/// Return the message of errno value `err` (thread-safe strerror).
std::string ErrnoMessage(int err);

/// IPC read options without Arrow's thread pool: our readers (inspect, export, tests) read on
/// their own thread, and TSan cannot judge the uninstrumented pool's hand-offs
/// (tests/tsan.supp).
arrow::ipc::IpcReadOptions SingleThreadIpcOptions();

/// Open `path` for the storage readers (inspect, export, tests): an arrow RandomAccessFile whose
/// asynchronous reads (the IPC file reader reads its footer through ReadAsync) run on the
/// calling thread instead of Arrow's IO thread pool. A reader of one file gains nothing from
/// the pool, and a pool thread dropping the last reference to a future the caller waited on
/// is what ThreadSanitizer cannot judge in the uninstrumented libarrow (tests/tsan.supp).
Result<std::shared_ptr<arrow::io::RandomAccessFile>> OpenForRead(const std::string& path);

/// Open a Parquet file without pre-buffering (which runs on Arrow's IO thread pool; a local
/// file gains nothing from it).
Result<std::unique_ptr<parquet::arrow::FileReader>> OpenParquet(
    std::shared_ptr<arrow::io::RandomAccessFile> file);

/// Check that `batch` has the columns and types of the stream's schema (metadata ignored).
Status CheckBatchMatches(const StreamInfo& stream, const arrow::RecordBatch& batch);

/// Return the timestamps of a stream batch (column 0, int64 ns) with the slice offset applied.
const std::int64_t* TimestampValues(const arrow::RecordBatch& batch);

/// Return the schema with `arrowdaq.format_version` set to the storage format version.
std::shared_ptr<arrow::Schema> WithFormatVersion(const std::shared_ptr<arrow::Schema>& schema);

/// Return the schema with the run's facts added to its metadata: `arrowdaq.run_id`,
/// `arrowdaq.start_time` (ISO 8601) and one
/// `arrowdaq.run.<key>` per run metadata entry (Arrow IPC schema metadata, Parquet key-value
/// metadata).
std::shared_ptr<arrow::Schema> WithRunMetadata(const std::shared_ptr<arrow::Schema>& schema,
                                               const RunInfo& run);

/// Return the schema with `arrowdaq.units` in its metadata: a JSON object of column name to
/// unit (`{"timestamp":"nanoseconds since ...","ch0":"V"}`), for readers that see a Parquet
/// file's key-value metadata but not its Arrow field metadata (DuckDB, polars).
std::shared_ptr<arrow::Schema> WithUnitsMetadata(const std::shared_ptr<arrow::Schema>& schema);

/// Return the units of a stream's columns, timestamp first (`kTimestampUnits` for it).
std::vector<std::pair<std::string, std::string>> ColumnUnits(const arrow::Schema& schema);

/// The unit of every timestamp column, in every format: a UDUNITS / CF time unit.
inline constexpr char kTimestampUnits[] = "nanoseconds since 1970-01-01T00:00:00Z";

/// Escape `s` for a JSON string (without the quotes).
std::string JsonEscape(std::string_view s);

/// Describe an array column: each row holds a fixed-shape array of numbers (a camera frame, a
/// waveform) rather than one number.
struct ArrayShape {
  /// Type of one element (uint16, float64, ...).
  std::shared_ptr<arrow::DataType> value_type;
  /// Shape of one row's array, row-major (C order): [height, width] for a frame.
  std::vector<std::int64_t> shape;
  /// Elements per row: the product of `shape` (the fixed_size_list's size).
  std::int64_t size = 0;
  /// True for the `arrow.fixed_shape_tensor` extension type, false for a plain fixed_size_list.
  bool tensor = false;
};

/// Return the shape of an array column type: `arrow.fixed_shape_tensor` (row-major, no
/// permutation) or `fixed_size_list<numeric>`; nullopt for any other type (scalars included).
/// A tensor with a permutation, or a list of non-fixed-width values, is NotImplemented.
Result<std::optional<ArrayShape>> ArrayColumnShape(const arrow::DataType& type);

/// Return the elements of array column `column` (fixed_size_list or tensor data) as one
/// contiguous block, the slice offsets of both levels applied. Checks that neither level holds
/// nulls (Invalid naming `what` otherwise).
Result<const std::uint8_t*> ArrayColumnValues(const arrow::ArrayData& column,
                                              const ArrayShape& shape, std::string_view what);

/// Render a shape as "512x512".
std::string FormatShape(const std::vector<std::int64_t>& shape);

/// Check a stream a directory writer is asked to add: open writer, valid name, a stream
/// schema, not added before. Errors name the writer and the stream.
template <typename StreamMap>
Status CheckNewStream(const char* writer, bool closed, const StreamInfo& stream,
                      const StreamMap& streams) {
  if (closed) return Status::Invalid(writer, ": AddStream after Close");
  ARROW_RETURN_NOT_OK(ValidateStreamName(stream.name));
  if (stream.schema == nullptr) {
    return Status::Invalid("stream '", stream.name, "' has no schema");
  }
  ARROW_RETURN_NOT_OK(ValidateStreamSchema(*stream.schema));
  if (streams.count(stream.name) != 0) {
    return Status::Invalid(writer, ": stream '", stream.name, "' was already added");
  }
  return Status::OK();
}

/// Find the stream a packet is for, in a directory writer's map of streams, with the errors
/// every writer gives: "<writer>: Write after Close", "... of an empty packet", "... to stream
/// 'x' that was never added".
template <typename StreamMap>
Result<typename StreamMap::mapped_type*> StreamForWrite(const char* writer, bool closed,
                                                        const DataPacket& packet,
                                                        StreamMap& streams) {
  if (closed) return Status::Invalid(writer, ": Write after Close");
  if (packet.stream == nullptr || packet.batch == nullptr) {
    return Status::Invalid(writer, ": Write of an empty packet");
  }
  auto it = streams.find(packet.stream->name);
  if (it == streams.end()) {
    return Status::Invalid(writer, ": Write to stream '", packet.stream->name,
                           "' that was never added");
  }
  return &it->second;
}

}  // namespace arrowdaq::storage::internal
