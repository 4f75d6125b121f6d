// EnginePort: what the network server needs from the engine, and nothing else. The Flight
// service (flight_server.h) calls only this interface; EngineAdapter (engine_adapter.h)
// implements it over the long-lived app::Engine. Keeping the seam this narrow keeps the
// Flight code free of engine details.
//
// Everything a client sends has been parsed and checked for shape by the server before it
// reaches the port (names are valid stream names, recording names cannot leave the output
// directory, sizes are bounded); the engine still validates meaning (does the instrument
// exist, is the TOML table a valid instrument) and answers with a Status whose message names
// the thing, since the server passes it to the client word for word:
//   Invalid        -> INVALID_ARGUMENT   (bad values, bad instrument table)
//   KeyError       -> NOT_FOUND          (unknown stream, instrument, recording)
//   AlreadyExists  -> ALREADY_EXISTS     (a name taken)
//   IOError        -> UNAVAILABLE        (the instrument did not answer, the disk failed)
//   anything else  -> INTERNAL
//
// Threading: the server calls every method from gRPC's worker threads, many at once; an
// implementation must be thread-safe. Calls may block for as long as an instrument's own
// timeout (send_command, connect) but must not wait on the server. Returned values are
// snapshots the server owns.
#pragma once

#include <chrono>
#include <cmath>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <arrow/type_fwd.h>

#include "arrowdaq/core/run_event.h"
#include "arrowdaq/core/status.h"
#include "arrowdaq/instruments/instrument_status.h"
#include "arrowdaq/pipeline/live_feed.h"
#include "arrowdaq/telemetry/memory.h"

namespace arrowdaq::server {

/// Say where a stream comes from.
enum class StreamKind {
  kInstrument,  ///< published by an instrument
  kDerived,     ///< computed by a processor from another stream
};
/// Return "instrument" or "derived".
std::string_view ToString(StreamKind kind);

/// Say what state an instrument is in, as a user would name it.
enum class InstrumentState {
  kDisconnected,
  kConnected,  ///< connected, not acquiring
  kAcquiring,
  kFailed,  ///< gave up after its reconnect attempts; see last_error
};
/// Return "disconnected", "connected", "acquiring" or "failed".
std::string_view ToString(InstrumentState state);
/// Return the state an InstrumentStatus describes.
InstrumentState StateOf(const instruments::InstrumentStatus& status);

/// Describe one stream (a flight): what it is, where it comes from, how it is doing.
struct StreamDescription {
  std::string name;
  /// The stream's schema: timestamp then channels; units and descriptions in field metadata,
  /// driver, resource and rate_hz in schema metadata (core/schema.h).
  std::shared_ptr<arrow::Schema> schema;
  StreamKind kind = StreamKind::kInstrument;
  std::string source;  ///< the instrument (kInstrument) or the input stream (kDerived)
  std::string driver;  ///< the driver name, or the processor kind
  InstrumentState state = InstrumentState::kDisconnected;  ///< of the source instrument
  double nominal_rate_hz = std::nan("");   ///< declared rows per second; NaN when none
  double measured_rate_hz = std::nan("");  ///< rows per second lately; NaN when unknown
  std::uint64_t packets = 0;
  std::uint64_t rows = 0;
  std::uint64_t bytes = 0;
  /// Sequence number the next packet will get (the number of packets published so far).
  std::uint64_t next_sequence = 0;
  std::int64_t first_timestamp_ns = 0;  ///< 0 before the first packet
  std::int64_t last_timestamp_ns = 0;
  /// Packets of this stream dropped by the engine's lossy consumers (not network clients).
  std::uint64_t dropped = 0;
  std::uint64_t overrun_samples = 0;  ///< samples the device lost (could not be paused)
};

/// What a client asks for when it starts a recording (validated for shape by the server).
struct RecordingRequest {
  /// Recording name: 1..64 of [A-Za-z0-9._-], starting with a letter or digit, no "..";
  /// the run directory is <output>/<name>-<UTC time>/ (never outside <output>).
  std::string name;
  std::vector<std::string> streams;  ///< empty: every stream
  std::vector<std::string> formats;  ///< empty: the config's default (storage layer names)
  std::optional<std::chrono::nanoseconds> duration;  ///< stops by itself after this long
};

/// Longest recording name.
inline constexpr std::size_t kMaxRecordingName = 64;
/// Check a recording name: 1..64 characters of [A-Za-z0-9._-], the first a letter or digit,
/// no "..". Such a name is one path component that stays inside its parent directory. The
/// message says what is wrong ("recording name 'a/b': only letters, digits, '.', '_' and '-'
/// are allowed, got '/' at 2").
[[nodiscard]] Status CheckRecordingName(std::string_view name);

/// Say what a recording is doing.
enum class RecordingState { kRecording, kStopped, kFailed };
/// Return "recording", "stopped" or "failed".
std::string_view ToString(RecordingState state);

struct RecordingInfo {
  std::string id;         ///< unique for the engine's lifetime; stop_recording takes it
  std::string name;
  std::string directory;  ///< absolute path of the run directory
  RecordingState state = RecordingState::kRecording;
  std::vector<std::string> streams;
  std::vector<std::string> formats;
  std::int64_t started_ns = 0;  ///< wall clock, ns since the epoch
  std::int64_t stopped_ns = 0;  ///< 0 while recording
  std::map<std::string, std::uint64_t> rows;  ///< rows stored per stream so far
  std::string error;                          ///< why it failed ("" otherwise)
};

/// One instrument table to add at run time, in the config file's own schema.
struct InstrumentTable {
  std::string name;  ///< the instrument (and stream) name; a valid stream name
  /// The table's body as TOML (`driver = "sim.sine"` ...), exactly what would follow
  /// `[instruments.<name>]` in a config file. JSON bodies are converted to this by the server.
  std::string toml;
  /// Label used in error locations instead of a file name ("add_instrument").
  std::string origin = "add_instrument";
};

/// What run_plan asks for: a plan of the config (`by_name`) or a `[[plans]]` entry's body.
struct PlanRequest {
  bool by_name = false;
  std::string name;  ///< the config plan's name (by_name), or the new plan's
  /// Otherwise: the entry's body but its name as TOML, what would follow `[[plans]]` (and
  /// `name = ...`) in a config file.
  std::string toml;
  std::string origin = "run_plan";  ///< starts every error message
};

/// What a scan is doing (the status action's "scan").
enum class ScanState { kRunning, kPaused, kDone };
/// Return "running", "paused" or "done".
std::string_view ToString(ScanState state);
/// The pause, resume and abort actions.
enum class ScanControl { kPause, kResume, kAbort };

/// The server's current (or last) scan.
struct ScanInfo {
  std::string plan;
  ScanState state = ScanState::kRunning;
  std::int64_t points_done = 0;
  std::int64_t points_total = 0;
  std::string directory;       ///< the scan's run directory (documents.jsonl, run.h5)
  std::string recording_id;    ///< the recording the scan writes
  std::string exit_status;     ///< done: "success", "abort" or "fail"; "" before
  std::string reason;          ///< done: why it ended so ("" on success)
};

/// A snapshot of the whole engine.
struct EngineStatus {
  std::vector<instruments::InstrumentStatus> instruments;
  std::vector<StreamDescription> streams;
  std::vector<RecordingInfo> recordings;
  std::chrono::nanoseconds uptime{0};
  telemetry::MemoryReport memory;
  /// The LiveFeed's replay rings (LiveFeed::Stats()).
  std::vector<pipeline::FeedStreamStats> replay;
  /// The current scan, or the last one; none before the first run_plan.
  std::optional<ScanInfo> scan;
};

class EnginePort {
 public:
  virtual ~EnginePort() = default;

  /// Return every stream (instrument and derived), in a stable order.
  virtual std::vector<StreamDescription> ListStreams() = 0;
  /// Return one stream; KeyError naming the known streams when there is none by that name.
  virtual Result<StreamDescription> DescribeStream(const std::string& name) = 0;
  /// Open a live subscription (bounded, drop_oldest) from the engine's LiveFeed. Unknown
  /// streams: KeyError; a `since` outside the replay ring: Invalid (see LiveFeed::Subscribe).
  virtual Result<std::shared_ptr<pipeline::LiveSubscription>> Subscribe(
      pipeline::LiveSubscriptionOptions options) = 0;

  /// Return the engine's state: instruments, streams, recordings, uptime, memory.
  virtual EngineStatus GetStatus() = 0;
  /// Return the most recent events (gaps, faults, restarts, overruns, recordings), oldest
  /// first, at most `limit`.
  virtual std::vector<RunEvent> RecentEvents(std::size_t limit) = 0;

  /// Start a recording; returns it (id and directory filled in).
  virtual Result<RecordingInfo> StartRecording(const RecordingRequest& request) = 0;
  /// Stop a recording (files closed, summary written); returns its final state. KeyError for
  /// an unknown id; Invalid for one already stopped.
  virtual Result<RecordingInfo> StopRecording(const std::string& id) = 0;

  /// Send a command to an instrument and return its reply ("" for commands without one).
  virtual Result<std::string> SendCommand(const std::string& instrument,
                                          const std::string& command) = 0;
  /// Connect an instrument and start its acquisition.
  virtual Status ConnectInstrument(const std::string& instrument) = 0;
  /// Stop an instrument's acquisition and disconnect it (its stream stays, idle).
  virtual Status DisconnectInstrument(const std::string& instrument) = 0;
  /// Validate `table` exactly like an [instruments.<name>] table of the config file (errors
  /// name the key: "add_instrument:2:10: instruments.pd2.options: ..."), register the
  /// instrument, connect it and start its acquisition.
  virtual Status AddInstrument(const InstrumentTable& table) = 0;
  /// Stop and forget an instrument and its stream.
  virtual Status RemoveInstrument(const std::string& instrument) = 0;

  /// Start a scan (docs/scans.md) as a recording of its own: the plan is validated exactly like
  /// a `[[plans]]` entry of the config (messages name the field: "run_plan: axes[0].stop:
  /// target 50 is outside the soft limits ..."), soft limits before anything moves. One scan
  /// at a time: AlreadyExists while one runs. Returns the scan just started.
  virtual Result<ScanInfo> RunPlan(const PlanRequest& request) {
    (void)request;
    return Status::NotImplemented("this server runs no scans");
  }
  /// Pause (at the next point boundary, motors stopped), resume or abort the running scan;
  /// Invalid when no scan runs. Returns the scan's state.
  virtual Result<ScanInfo> ControlScan(ScanControl control) {
    (void)control;
    return Status::NotImplemented("this server runs no scans");
  }
};

}  // namespace arrowdaq::server
