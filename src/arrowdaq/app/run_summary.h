// RunSummary: the figures of a finished run (per stream, per subscription, storage, events,
// memory), written as summary.json for programs and formatted as a table for people.
// Plain values and pure functions; any thread.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "arrowdaq/app/event_log.h"
#include "arrowdaq/core/run_event.h"
#include "arrowdaq/core/status.h"
#include "arrowdaq/instruments/instrument_status.h"
#include "arrowdaq/telemetry/memory.h"

namespace arrowdaq::app {

/// Per-stream figures of a finished run (summary.json "streams").
struct StreamSummary {
  std::string name;
  std::string driver;
  std::uint64_t packets = 0;
  std::uint64_t rows = 0;
  std::uint64_t bytes = 0;
  std::int64_t first_sequence = -1;  ///< -1 when no packet
  std::int64_t last_sequence = -1;
  std::uint64_t drops = 0;     ///< packets discarded by lossy subscriptions, summed
  std::uint64_t overruns = 0;  ///< samples the source lost (it cannot pause; buffer overflowed)
  std::uint64_t read_errors = 0;
  std::uint64_t reconnects = 0;
  bool failed = false;  ///< the instrument gave up after its reconnect attempts
  double rate_rows_per_s = 0;
  /// Whether the run's storage recorded this stream; the figures above are then what it
  /// received (sequence numbers as the recording saw them), otherwise what was published.
  bool recorded = false;
  /// Sequence numbers missing between first_sequence and last_sequence (0 when lossless).
  std::uint64_t missing = 0;
  /// Timestamps of the first and last row, ns since the Unix epoch (0 without rows).
  std::int64_t first_timestamp_ns = 0;
  std::int64_t last_timestamp_ns = 0;
  /// The rate the stream was asked for (schema metadata rate_hz); 0 when it declares none.
  double requested_rate_hz = 0;
  /// Delivered below kRateShortfallFraction of the requested rate over the run.
  bool rate_shortfall = false;
};

/// Per-subscription figures (summary.json "subscriptions").
struct SubscriptionSummary {
  std::string name;
  std::string policy;
  std::uint64_t offered = 0;
  std::uint64_t delivered = 0;
  std::uint64_t dropped = 0;
  std::uint64_t missed_by_sequence = 0;  ///< what the consumer found missing: equals dropped
};

/// What one storage format holds at the end of the run (summary.json "storage.formats").
struct StoredFormat {
  std::string format;  ///< "hdf5", "arrow", "parquet", "csv"
  /// Per stream: rows stored (readable from the format's files) and not stored (received by
  /// storage but not in the files: lost to a write error or the run's end).
  std::vector<std::pair<std::string, std::int64_t>> stored_rows;
  std::vector<std::pair<std::string, std::int64_t>> not_stored_rows;
  std::string error;  ///< the writer's first error, "" when none
};

/// Per-destination figures of a sink (summary.json "sinks[].topics").
struct SinkTopicSummary {
  std::string topic;
  std::uint64_t produced = 0;
  std::uint64_t delivered = 0;
  std::uint64_t failed = 0;
  std::uint64_t rows_delivered = 0;
  std::uint64_t bytes_delivered = 0;
};

/// Per-sink figures (summary.json "sinks").
struct SinkSummary {
  std::string name;
  std::string kind;
  std::string policy;
  std::uint64_t offered = 0;  ///< packets offered to the sink's subscription
  std::uint64_t dropped = 0;  ///< dropped by its policy
  std::uint64_t taken = 0;    ///< taken by the sink
  std::vector<SinkTopicSummary> topics;
};

/// One instrument's batch pool (summary.json "memory.pools").
struct PoolSummary {
  std::string stream;
  instruments::PoolStatus pool;
};

struct RunSummary {
  std::string run_id;
  std::string run_directory;
  std::string start_time;  ///< ISO 8601 UTC
  std::string stop_time;
  /// When acquisition started (instruments connected) and ended (the instant every
  /// instrument stream was sealed), ISO 8601 UTC with ns; "" when it did not happen.
  std::string acquisition_start;
  std::string acquisition_end;
  double duration_s = 0;
  /// "ok"; "degraded" (complete, but some stream lost data or fell short of its rate: see
  /// degraded_reasons; exit code 0); "stopped" (by a signal or the disk budget); "failed" (exit code 1).
  std::string outcome = "ok";
  /// Why a "stopped" run stopped: "stop requested (signal)" or the disk budget's message.
  std::string stop_reason;
  /// The run's metadata ([run.metadata] with --meta applied) and the command-line overrides.
  std::vector<std::pair<std::string, std::string>> metadata;
  std::vector<std::string> override_args;
  std::string error;
  /// Why the run's data is not everything that was asked for (also filled when stopped).
  std::vector<std::string> degraded_reasons;
  std::vector<StreamSummary> streams;
  std::vector<SubscriptionSummary> subscriptions;
  std::vector<SinkSummary> sinks;
  std::vector<RunEvent> events;
  /// Every event of the run counted exactly, per stream and kind (events may be coalesced).
  std::vector<EventTotal> event_totals;
  std::uint64_t stored_packets = 0;  ///< packets handed to the writers
  /// Rows stored in every format (the least over formats of their stored rows).
  std::uint64_t stored_rows = 0;
  std::uint64_t not_stored_packets = 0;  ///< drained after a storage error
  std::vector<StoredFormat> formats;    ///< per format: what is stored and what is not
  std::vector<std::string> files;        ///< names inside the run directory
  telemetry::MemoryReport memory;
  std::vector<PoolSummary> pools;  ///< per instrument with a batch pool
};

/// Write `summary` as JSON to `path` (layout: docs/file-format.md, "summary.json"),
/// atomically (WriteFileAtomically).
Status WriteSummaryJson(const RunSummary& summary, const std::string& path);
/// Write `text` to `path.tmp`, fsync it and rename it to `path`: readers see the old file or
/// the whole new one. IOError naming the file and the system's reason when it cannot (disk
/// full); the temporary file is removed then.
Status WriteFileAtomically(const std::string& path, const std::string& text);
/// Name and size of the file that keeps space for summary.json in a run directory while the
/// run writes its data (a full disk then still has room for the summary).
inline constexpr char kSummaryReserve[] = ".summary.reserve";
inline constexpr std::int64_t kSummaryReserveBytes = 1 << 20;
/// Create `path` with `bytes` allocated on disk (posix_fallocate). IOError when the disk has
/// no such space.
Status ReserveSpace(const std::string& path, std::int64_t bytes);
/// Remove a reservation made by ReserveSpace (nothing when it does not exist).
void ReleaseSpace(const std::string& path);
/// Format the end-of-run summary for a person (the outcome, not a failure's message: the caller
/// reports that once, on stderr).
std::string FormatSummary(const RunSummary& summary);
/// Format ns since the Unix epoch as ISO 8601 UTC with milliseconds.
std::string IsoTime(std::int64_t ns);
/// Format a rate for people: no decimals from 100 up, one below.
std::string FormatRate(double rows_per_s);

}  // namespace arrowdaq::app
