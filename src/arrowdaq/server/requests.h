// Requests: the parsers of everything a Flight client sends that is not Arrow data -- DoGet
// tickets and DoAction bodies, both small JSON documents -- and the catalogue of actions
// that ListActions shows. The input is untrusted: any bytes at all give either a typed request
// or Status::Invalid whose message names the action (or "ticket") and the field, never an
// exception, a crash or unbounded work (bodies over 1 MiB and JSON nested deeper than 32 are
// refused before or while parsing). Shapes are checked here (types, ranges, stream and
// recording names); meaning (does the stream exist) is the engine's.
//
// The formats are documented in docs/server.md; fuzz/flight_request_fuzz.cc fuzzes both.
// Pure functions; any thread.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "arrowdaq/core/status.h"
#include "arrowdaq/pipeline/live_feed.h"
#include "arrowdaq/server/engine_port.h"

namespace arrowdaq::server {

/// Largest ticket or action body accepted.
inline constexpr std::size_t kMaxRequestBytes = std::size_t{1} << 20;
/// Deepest JSON nesting accepted.
inline constexpr int kMaxJsonDepth = 32;
/// Longest string field (names, commands, ids); the TOML of add_instrument may be longer.
inline constexpr std::size_t kMaxFieldBytes = 4096;
/// Most streams in one ticket.
inline constexpr std::size_t kMaxTicketStreams = 64;

/// A parsed DoGet ticket:
///   {"stream": "pd"}                                        live
///   {"stream": "pd", "start": "replay", "seconds": 2.5}     the last 2.5 s in the ring, then live
///   {"stream": "pd", "start": "since", "sequence": 1234}    from sequence 1234 on
///   {"streams": ["a", "b"], "queue": 256}                   several streams of one schema
/// A ticket that is a bare stream name (`pd`, no JSON) means {"stream": "pd"}.
struct TicketRequest {
  std::vector<std::string> streams;
  pipeline::StartPosition start;
  std::optional<std::size_t> queue;  ///< live packets queued for this client; server default
};

/// Parse a ticket; `max_queue` bounds the "queue" field.
[[nodiscard]] Result<TicketRequest> ParseTicket(std::string_view bytes, std::size_t max_queue);
/// Return the ticket JSON that asks for `stream` live.
[[nodiscard]] std::string LiveTicket(const std::string& stream);

/// The actions DoAction understands.
enum class ActionKind {
  kStatus,
  kStartRecording,
  kStopRecording,
  kSendCommand,
  kConnectInstrument,
  kDisconnectInstrument,
  kAddInstrument,
  kRemoveInstrument,
  kEvents,
  kRunPlan,
  kPause,
  kResume,
  kAbort,
};

/// Return the action's wire name ("status", "start_recording", ...).
std::string_view ToString(ActionKind kind);
/// Parse a wire name; nullopt for anything else.
std::optional<ActionKind> ParseActionKind(std::string_view name);

/// Describe one action for ListActions: what it does, its JSON body and its answer.
struct ActionSpec {
  ActionKind kind;
  std::string_view description;
};
/// Return every action, in the order ListActions shows them.
const std::vector<ActionSpec>& ActionSpecs();

struct StatusAction {};
struct StartRecordingAction {
  RecordingRequest request;
};
struct StopRecordingAction {
  std::string id;
};
struct SendCommandAction {
  std::string instrument;
  std::string command;
};
/// connect_instrument, disconnect_instrument, remove_instrument.
struct InstrumentAction {
  std::string instrument;
};
struct AddInstrumentAction {
  InstrumentTable table;
};
struct EventsAction {
  std::size_t limit = 100;
};

/// run_plan: a plan of the config by name ({"name": "line1"}), or a whole plan given as the
/// fields of a `[[plans]]` entry, converted to that entry's TOML (validated by the engine with
/// the config's own checks).
struct RunPlanAction {
  PlanRequest request;
};
/// pause, resume, abort (no body).
struct ScanControlAction {
  ScanControl control = ScanControl::kPause;
};

using ActionBody = std::variant<StatusAction, StartRecordingAction, StopRecordingAction,
                                SendCommandAction, InstrumentAction, AddInstrumentAction,
                                EventsAction, RunPlanAction, ScanControlAction>;

struct ActionRequest {
  ActionKind kind = ActionKind::kStatus;
  ActionBody body;
};

/// Parse one DoAction: `type` is the action name, `body` its JSON (empty means {}).
[[nodiscard]] Result<ActionRequest> ParseAction(std::string_view type, std::string_view body);

/// Convert one instrument table given as a JSON object to the TOML text of its body (one
/// `key = value` line per top-level key; nested objects become inline tables). JSON null has no
/// TOML form and is refused naming its key; `context` starts every message.
[[nodiscard]] Result<std::string> JsonTableToToml(std::string_view json,
                                                  std::string_view context);

/// Return `text` cut to `max` bytes with control and non-ASCII bytes escaped (\xNN), for
/// quoting client input in messages.
[[nodiscard]] std::string Printable(std::string_view text, std::size_t max = 80);

}  // namespace arrowdaq::server
