// Helpers shared by the storage writers and the inspector: stream-name confinement, output
// directory checks, time formatting, schema checks, error annotation. Not installed; pure
// functions (PrepareOutputDirectory touches the file system). Any thread.
#pragma once

#include <arrow/io/file.h>
#include <arrow/record_batch.h>
#include <arrow/type.h>

#include <cstdint>
#include <string>
#include <string_view>

#include "arrowdaq/core/data_packet.h"
#include "arrowdaq/core/status.h"

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

/// Return `st` with "<path>: " in front of its message (same code); OK stays OK.
Status WithPath(const Status& st, const std::string& path);

/// Create `path` for writing; fail (IOError naming the path) if it exists or cannot be made.
/// Existing files are never overwritten: a run directory holds one run.
Result<std::shared_ptr<arrow::io::FileOutputStream>> CreateNewFile(const std::string& path);

/// Return the message of errno value `err` (thread-safe strerror).
std::string ErrnoMessage(int err);

/// Check that `batch` has the columns and types of the stream's schema (metadata ignored).
Status CheckBatchMatches(const StreamInfo& stream, const arrow::RecordBatch& batch);

/// Return the timestamps of a stream batch (column 0, int64 ns) with the slice offset applied.
const std::int64_t* TimestampValues(const arrow::RecordBatch& batch);

/// Return the schema metadata with `arrowdaq.format_version` set (added when missing).
std::shared_ptr<arrow::Schema> WithFormatVersion(const std::shared_ptr<arrow::Schema>& schema);

}  // namespace arrowdaq::storage::internal
