#include "arrowdaq/server/requests.h"

#include <charconv>
#include <cmath>
#include <set>

#include <nlohmann/json.hpp>

#include "arrowdaq/config/config.h"

namespace arrowdaq::server {

namespace {

using Json = nlohmann::json;

std::string JoinKeys(const std::vector<std::string_view>& keys) {
  std::string out;
  for (auto k : keys) out += (out.empty() ? "" : ", ") + std::string(k);
  return out;
}

std::string_view TypeName(const Json& j) {
  switch (j.type()) {
    case Json::value_t::null:
      return "null";
    case Json::value_t::object:
      return "an object";
    case Json::value_t::array:
      return "an array";
    case Json::value_t::string:
      return "a string";
    case Json::value_t::boolean:
      return "a boolean";
    case Json::value_t::number_integer:
    case Json::value_t::number_unsigned:
      return "an integer";
    case Json::value_t::number_float:
      return "a number";
    default:
      return "something else";
  }
}

// Refuse nesting deeper than kMaxJsonDepth before the parser builds it.
Status CheckDepth(std::string_view text, std::string_view context) {
  int depth = 0;
  bool in_string = false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (in_string) {
      if (c == '\\') {
        ++i;
      } else if (c == '"') {
        in_string = false;
      }
    } else if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      if (++depth > kMaxJsonDepth) {
        return Status::Invalid(context, ": JSON nested deeper than ", kMaxJsonDepth,
                               " levels");
      }
    } else if (c == ']' || c == '}') {
      --depth;
    }
  }
  return Status::OK();
}

Result<Json> ParseJson(std::string_view text, std::string_view context) {
  if (text.size() > kMaxRequestBytes) {
    return Status::Invalid(context, ": ", text.size(), " bytes, more than the ",
                           kMaxRequestBytes, " allowed");
  }
  ARROW_RETURN_NOT_OK(CheckDepth(text, context));
  try {
    return Json::parse(text.begin(), text.end());
  } catch (const Json::exception& e) {
    // nlohmann's message quotes the bytes it stopped at: escape them.
    return Status::Invalid(context, ": not valid JSON: ", Printable(e.what(), 200));
  } catch (const std::exception& e) {
    return Status::Invalid(context, ": cannot parse: ", Printable(e.what(), 200));
  }
}

// The fields of one JSON object, checked one by one; anything not taken is an error.
class Fields {
 public:
  Fields(const Json& object, std::string context, std::vector<std::string_view> known)
      : object_(object), context_(std::move(context)), known_(std::move(known)) {}

  Status CheckObject() const {
    if (!object_.is_object()) {
      return Status::Invalid(context_, ": expected a JSON object, got ", TypeName(object_));
    }
    for (const auto& item : object_.items()) {
      bool found = false;
      for (auto k : known_) found = found || k == item.key();
      if (!found) {
        return Status::Invalid(context_, ": unknown field '", Printable(item.key()), "'",
                               known_.empty() ? std::string(" (it takes none)")
                                              : " (fields: " + JoinKeys(known_) + ")");
      }
    }
    return Status::OK();
  }

  bool Has(std::string_view key) const { return object_.contains(key); }

  Status Error(std::string_view key, const std::string& message) const {
    return Status::Invalid(context_, ": field '", key, "': ", message);
  }

  Result<std::string> String(std::string_view key, std::size_t max = kMaxFieldBytes) const {
    const Json* j = Find(key);
    if (j == nullptr) return Error(key, "missing");
    if (!j->is_string()) return Error(key, "expected a string, got " + std::string(TypeName(*j)));
    const auto& s = j->get_ref<const std::string&>();
    if (s.empty()) return Error(key, "must not be empty");
    if (s.size() > max) {
      return Error(key, "longer than " + std::to_string(max) + " bytes (" +
                            std::to_string(s.size()) + ")");
    }
    return s;
  }

  Result<std::string> Name(std::string_view key) const {
    ARROW_ASSIGN_OR_RAISE(auto s, String(key, 256));
    if (!config::IsValidStreamName(s)) {
      return Error(key, "'" + Printable(s) +
                            "' is not a valid name (letters, digits, '_', '.' and '-' only)");
    }
    return s;
  }

  Result<std::vector<std::string>> Names(std::string_view key, std::size_t max_items) const {
    const Json* j = Find(key);
    if (j == nullptr) return Error(key, "missing");
    if (!j->is_array()) return Error(key, "expected an array of names, got " + std::string(TypeName(*j)));
    if (j->size() > max_items) {
      return Error(key, "more than " + std::to_string(max_items) + " names");
    }
    std::vector<std::string> out;
    std::set<std::string> seen;
    for (std::size_t i = 0; i < j->size(); ++i) {
      const Json& item = (*j)[i];
      const std::string where = std::string(key) + "[" + std::to_string(i) + "]";
      if (!item.is_string()) {
        return Error(where, "expected a string, got " + std::string(TypeName(item)));
      }
      const auto& s = item.get_ref<const std::string&>();
      if (!config::IsValidStreamName(s)) {
        return Error(where, "'" + Printable(s) +
                                "' is not a valid name (letters, digits, '_', '.' and '-' only)");
      }
      if (!seen.insert(s).second) return Error(where, "'" + s + "' is named twice");
      out.push_back(s);
    }
    return out;
  }

  Result<std::uint64_t> Unsigned(std::string_view key, std::uint64_t min,
                                 std::uint64_t max) const {
    const Json* j = Find(key);
    if (j == nullptr) return Error(key, "missing");
    std::uint64_t v = 0;
    if (j->is_number_unsigned()) {
      v = j->get<std::uint64_t>();
    } else if (j->is_number_integer()) {
      return Error(key, "must be " + std::to_string(min) + ".." + std::to_string(max) +
                            ", got " + std::to_string(j->get<std::int64_t>()));
    } else {
      return Error(key, "expected an integer, got " + std::string(TypeName(*j)) +
                            (j->is_number_float() ? " (" + j->dump() + ")" : ""));
    }
    if (v < min || v > max) {
      return Error(key, "must be " + std::to_string(min) + ".." + std::to_string(max) +
                            ", got " + std::to_string(v));
    }
    return v;
  }

  Result<std::chrono::nanoseconds> Duration(std::string_view key) const {
    const Json* j = Find(key);
    if (j == nullptr) return Error(key, "missing");
    Result<std::chrono::nanoseconds> d;
    if (j->is_string()) {
      const auto& s = j->get_ref<const std::string&>();
      if (s.size() > 64) return Error(key, "longer than 64 bytes");
      d = config::ParseDuration(s);
    } else if (j->is_number()) {
      d = config::SecondsToDuration(j->get<double>());
    } else {
      return Error(key, "expected seconds or a duration string (\"10s\"), got " +
                            std::string(TypeName(*j)));
    }
    if (!d.ok()) return Error(key, Printable(d.status().message(), 300));
    if (d->count() <= 0) return Error(key, "must be > 0");
    return *d;
  }

 private:
  const Json* Find(std::string_view key) const {
    auto it = object_.find(key);
    return it == object_.end() ? nullptr : &*it;
  }

  const Json& object_;
  const std::string context_;
  const std::vector<std::string_view> known_;
};

Result<Fields> ObjectFields(const Json& j, std::string context,
                            std::vector<std::string_view> known) {
  Fields f(j, std::move(context), std::move(known));
  ARROW_RETURN_NOT_OK(f.CheckObject());
  return f;
}

// A command goes to an instrument verbatim: no control characters (a newline would be a
// second command to a line-terminated device), bounded length.
Status CheckCommand(const Fields& f, const std::string& command) {
  for (std::size_t i = 0; i < command.size(); ++i) {
    const auto c = static_cast<unsigned char>(command[i]);
    if (c < 0x20 || c == 0x7f) {
      return f.Error("command", "control character " + std::to_string(c) + " at " +
                                    std::to_string(i + 1) + " (one command per request)");
    }
  }
  return Status::OK();
}

// ---- JSON -> TOML, for add_instrument tables given as JSON -----------------------------------

void AppendTomlString(std::string_view s, std::string* out) {
  out->push_back('"');
  for (unsigned char c : s) {
    switch (c) {
      case '"':
        *out += "\\\"";
        break;
      case '\\':
        *out += "\\\\";
        break;
      case '\n':
        *out += "\\n";
        break;
      case '\t':
        *out += "\\t";
        break;
      case '\r':
        *out += "\\r";
        break;
      default:
        if (c < 0x20 || c == 0x7f) {
          static const char* hex = "0123456789ABCDEF";
          *out += "\\u00";
          out->push_back(hex[c >> 4]);
          out->push_back(hex[c & 15]);
        } else {
          out->push_back(static_cast<char>(c));
        }
    }
  }
  out->push_back('"');
}

Status AppendTomlValue(const Json& j, const std::string& path, std::string_view context,
                       std::string* out) {
  switch (j.type()) {
    case Json::value_t::string:
      AppendTomlString(j.get_ref<const std::string&>(), out);
      return Status::OK();
    case Json::value_t::boolean:
      *out += j.get<bool>() ? "true" : "false";
      return Status::OK();
    case Json::value_t::number_integer:
      *out += std::to_string(j.get<std::int64_t>());
      return Status::OK();
    case Json::value_t::number_unsigned: {
      const auto v = j.get<std::uint64_t>();
      if (v > static_cast<std::uint64_t>(INT64_MAX)) {
        return Status::Invalid(context, ": field '", path, "': ", v,
                               " does not fit a TOML integer");
      }
      *out += std::to_string(v);
      return Status::OK();
    }
    case Json::value_t::number_float: {
      const double v = j.get<double>();
      char buf[64];
      auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
      std::string text(buf, ec == std::errc() ? end : buf);
      // TOML tells floats from integers by a '.', an exponent or inf/nan.
      if (text.find_first_of(".eEn") == std::string::npos) text += ".0";
      *out += text;
      return Status::OK();
    }
    case Json::value_t::array: {
      *out += "[";
      for (std::size_t i = 0; i < j.size(); ++i) {
        if (i) *out += ", ";
        ARROW_RETURN_NOT_OK(
            AppendTomlValue(j[i], path + "[" + std::to_string(i) + "]", context, out));
      }
      *out += "]";
      return Status::OK();
    }
    case Json::value_t::object: {
      *out += "{";
      bool first = true;
      for (const auto& item : j.items()) {
        *out += first ? " " : ", ";
        first = false;
        AppendTomlString(item.key(), out);
        *out += " = ";
        ARROW_RETURN_NOT_OK(AppendTomlValue(item.value(), path + "." + item.key(), context, out));
      }
      *out += first ? "}" : " }";
      return Status::OK();
    }
    default:
      return Status::Invalid(context, ": field '", Printable(path), "': ", TypeName(j),
                             " has no TOML form");
  }
}

Result<std::string> TableToToml(const Json& table, std::string_view context,
                                std::string_view prefix) {
  if (!table.is_object()) {
    return Status::Invalid(context, ": field '", prefix, "': expected an object, got ",
                           TypeName(table));
  }
  std::string out;
  for (const auto& item : table.items()) {
    AppendTomlString(item.key(), &out);
    out += " = ";
    ARROW_RETURN_NOT_OK(AppendTomlValue(item.value(), std::string(prefix) + "." + item.key(),
                                        context, &out));
    out += "\n";
  }
  return out;
}

}  // namespace

std::string Printable(std::string_view text, std::size_t max) {
  std::string out;
  for (unsigned char c : text.substr(0, max)) {
    if (c < 0x20 || c >= 0x7f) {
      static const char* hex = "0123456789abcdef";
      out += "\\x";
      out.push_back(hex[c >> 4]);
      out.push_back(hex[c & 15]);
    } else {
      out.push_back(static_cast<char>(c));
    }
  }
  if (text.size() > max) out += "...";
  return out;
}

// ---- tickets --------------------------------------------------------------------------------

Result<TicketRequest> ParseTicket(std::string_view bytes, std::size_t max_queue) {
  TicketRequest out;
  if (bytes.empty()) return Status::Invalid("ticket: empty (expected JSON such as {\"stream\": \"name\"})");
  if (bytes.front() != '{' && bytes.front() != ' ' && bytes.front() != '\n') {
    // A bare stream name.
    if (bytes.size() <= 256 && config::IsValidStreamName(bytes)) {
      out.streams.emplace_back(bytes);
      return out;
    }
    return Status::Invalid("ticket: expected JSON such as {\"stream\": \"name\"} or a stream "
                           "name, got '", Printable(bytes), "'");
  }
  ARROW_ASSIGN_OR_RAISE(Json j, ParseJson(bytes, "ticket"));
  ARROW_ASSIGN_OR_RAISE(Fields f, ObjectFields(j, "ticket",
                                               {"stream", "streams", "start", "seconds",
                                                "sequence", "queue"}));
  if (f.Has("stream") && f.Has("streams")) {
    return Status::Invalid("ticket: give 'stream' or 'streams', not both");
  }
  if (f.Has("stream")) {
    ARROW_ASSIGN_OR_RAISE(auto name, f.Name("stream"));
    out.streams.push_back(std::move(name));
  } else if (f.Has("streams")) {
    ARROW_ASSIGN_OR_RAISE(out.streams, f.Names("streams", kMaxTicketStreams));
    if (out.streams.empty()) return f.Error("streams", "names no stream");
  } else {
    return Status::Invalid("ticket: field 'stream': missing");
  }
  if (f.Has("start")) {
    ARROW_ASSIGN_OR_RAISE(auto start, f.String("start", 64));
    auto kind = pipeline::ParseStartKind(start);
    if (!kind) {
      return f.Error("start", "expected one of live, replay, since, got '" + Printable(start) + "'");
    }
    out.start.kind = *kind;
  }
  if (f.Has("seconds")) {
    if (out.start.kind != pipeline::StartKind::kReplay) {
      return f.Error("seconds", "only with \"start\": \"replay\"");
    }
    ARROW_ASSIGN_OR_RAISE(out.start.window, f.Duration("seconds"));
  }
  if (out.start.kind == pipeline::StartKind::kSince) {
    if (out.streams.size() != 1) {
      return f.Error("sequence", "\"start\": \"since\" takes exactly one stream");
    }
    ARROW_ASSIGN_OR_RAISE(out.start.sequence,
                          f.Unsigned("sequence", 0, std::numeric_limits<std::int64_t>::max()));
  } else if (f.Has("sequence")) {
    return f.Error("sequence", "only with \"start\": \"since\"");
  }
  if (f.Has("queue")) {
    ARROW_ASSIGN_OR_RAISE(auto q, f.Unsigned("queue", 1, max_queue));
    out.queue = static_cast<std::size_t>(q);
  }
  return out;
}

std::string LiveTicket(const std::string& stream) { return Json{{"stream", stream}}.dump(); }

// ---- actions --------------------------------------------------------------------------------

std::string_view ToString(ActionKind kind) {
  switch (kind) {
    case ActionKind::kStatus:
      return "status";
    case ActionKind::kStartRecording:
      return "start_recording";
    case ActionKind::kStopRecording:
      return "stop_recording";
    case ActionKind::kSendCommand:
      return "send_command";
    case ActionKind::kConnectInstrument:
      return "connect_instrument";
    case ActionKind::kDisconnectInstrument:
      return "disconnect_instrument";
    case ActionKind::kAddInstrument:
      return "add_instrument";
    case ActionKind::kRemoveInstrument:
      return "remove_instrument";
    case ActionKind::kEvents:
      return "events";
    case ActionKind::kRunPlan:
      return "run_plan";
    case ActionKind::kPause:
      return "pause";
    case ActionKind::kResume:
      return "resume";
    case ActionKind::kAbort:
      return "abort";
  }
  return "status";
}

std::optional<ActionKind> ParseActionKind(std::string_view name) {
  for (const auto& spec : ActionSpecs()) {
    if (ToString(spec.kind) == name) return spec.kind;
  }
  return std::nullopt;
}

const std::vector<ActionSpec>& ActionSpecs() {
  static const std::vector<ActionSpec> specs = {
      {ActionKind::kStatus,
       "The server's and the engine's state. Body: none or {}. Answer: {\"server\": {...}, "
       "\"instruments\": [...], \"streams\": [...], \"recordings\": [...], \"uptime_s\", "
       "\"memory\": {...}}."},
      {ActionKind::kStartRecording,
       "Start a recording. Body: {\"name\": \"scan1\", \"streams\": [\"pd\"] (optional, default "
       "all), \"formats\": [\"hdf5\"] (optional), \"duration\": \"10s\" or seconds (optional)}. "
       "The name: 1..64 of letters, digits, '.', '_', '-', starting with a letter or digit. "
       "Answer: the recording {\"id\", \"directory\", ...}."},
      {ActionKind::kStopRecording,
       "Stop a recording. Body: {\"id\": \"rec-1\"}. Answer: the recording's final state."},
      {ActionKind::kSendCommand,
       "Send one command to an instrument. Body: {\"instrument\": \"dmm\", \"command\": "
       "\"*IDN?\"}. Answer: {\"instrument\", \"command\", \"reply\"}."},
      {ActionKind::kConnectInstrument,
       "Connect an instrument and start its acquisition. Body: {\"instrument\": \"dmm\"}. "
       "Answer: the instrument's status."},
      {ActionKind::kDisconnectInstrument,
       "Stop an instrument's acquisition and disconnect it. Body: {\"instrument\": \"dmm\"}. "
       "Answer: the instrument's status."},
      {ActionKind::kAddInstrument,
       "Add an instrument at run time, validated like an [instruments.<name>] table of the "
       "config file. Body: {\"name\": \"pd2\", \"toml\": \"driver = \\\"sim.sine\\\"\\n...\"} or "
       "{\"name\": \"pd2\", \"table\": {\"driver\": \"sim.sine\", \"options\": {...}}}. "
       "Answer: the instrument's status."},
      {ActionKind::kRemoveInstrument,
       "Stop and remove an instrument and its stream. Body: {\"instrument\": \"pd2\"}. "
       "Answer: {\"instrument\", \"removed\": true}."},
      {ActionKind::kEvents,
       "Recent events (gaps, faults, restarts, overruns, recordings), oldest first. Body: none "
       "or {\"limit\": 100} (1..10000). Answer: {\"events\": [{\"time_ns\", \"stream\", "
       "\"kind\", \"message\"}]}."},
      {ActionKind::kRunPlan,
       "Run a scan (docs/scans.md) as a recording of its own. Body: {\"name\": \"line1\"} for a "
       "plan of the config, or a whole plan with the fields of a [[plans]] entry: {\"name\", "
       "\"kind\", \"num\", \"snake\", \"settle\", \"dwell\", \"axes\": [{...}], \"detectors\": "
       "[{...}]}, validated like the config (soft limits before anything moves). One scan at a "
       "time. Answer: the scan {\"plan\", \"state\", \"points_done\", \"points_total\", "
       "\"directory\", \"recording_id\"}."},
      {ActionKind::kPause,
       "Pause the scan at the next point boundary (motors stopped). Body: none. Answer: the "
       "scan."},
      {ActionKind::kResume,
       "Resume a paused scan at the point it stopped before. Body: none. Answer: the scan."},
      {ActionKind::kAbort,
       "Abort the scan (stop document exit_status \"abort\"). Body: none. Answer: the scan."},
  };
  return specs;
}

Result<ActionRequest> ParseAction(std::string_view type, std::string_view body) {
  auto kind = ParseActionKind(type);
  if (!kind) {
    std::vector<std::string_view> names;
    for (const auto& s : ActionSpecs()) names.push_back(ToString(s.kind));
    return Status::Invalid("unknown action '", Printable(type), "' (actions: ", JoinKeys(names),
                           ")");
  }
  const std::string context(ToString(*kind));
  Json j = Json::object();
  if (!body.empty()) {
    ARROW_ASSIGN_OR_RAISE(j, ParseJson(body, context));
  }
  ActionRequest out;
  out.kind = *kind;
  switch (*kind) {
    case ActionKind::kStatus: {
      ARROW_RETURN_NOT_OK(ObjectFields(j, context, {}).status());
      out.body = StatusAction{};
      break;
    }
    case ActionKind::kStartRecording: {
      ARROW_ASSIGN_OR_RAISE(auto f,
                            ObjectFields(j, context, {"name", "streams", "formats", "duration"}));
      StartRecordingAction a;
      ARROW_ASSIGN_OR_RAISE(a.request.name, f.String("name", 256));
      if (Status st = CheckRecordingName(a.request.name); !st.ok()) {
        return f.Error("name", st.message());
      }
      if (f.Has("streams")) {
        ARROW_ASSIGN_OR_RAISE(a.request.streams, f.Names("streams", 10'000));
      }
      if (f.Has("formats")) {
        ARROW_ASSIGN_OR_RAISE(a.request.formats, f.Names("formats", 16));
      }
      if (f.Has("duration")) {
        ARROW_ASSIGN_OR_RAISE(a.request.duration, f.Duration("duration"));
      }
      out.body = std::move(a);
      break;
    }
    case ActionKind::kStopRecording: {
      ARROW_ASSIGN_OR_RAISE(auto f, ObjectFields(j, context, {"id"}));
      ARROW_ASSIGN_OR_RAISE(auto id, f.Name("id"));
      out.body = StopRecordingAction{std::move(id)};
      break;
    }
    case ActionKind::kSendCommand: {
      ARROW_ASSIGN_OR_RAISE(auto f, ObjectFields(j, context, {"instrument", "command"}));
      SendCommandAction a;
      ARROW_ASSIGN_OR_RAISE(a.instrument, f.Name("instrument"));
      ARROW_ASSIGN_OR_RAISE(a.command, f.String("command"));
      ARROW_RETURN_NOT_OK(CheckCommand(f, a.command));
      out.body = std::move(a);
      break;
    }
    case ActionKind::kConnectInstrument:
    case ActionKind::kDisconnectInstrument:
    case ActionKind::kRemoveInstrument: {
      ARROW_ASSIGN_OR_RAISE(auto f, ObjectFields(j, context, {"instrument"}));
      ARROW_ASSIGN_OR_RAISE(auto name, f.Name("instrument"));
      out.body = InstrumentAction{std::move(name)};
      break;
    }
    case ActionKind::kAddInstrument: {
      ARROW_ASSIGN_OR_RAISE(auto f, ObjectFields(j, context, {"name", "toml", "table"}));
      AddInstrumentAction a;
      ARROW_ASSIGN_OR_RAISE(a.table.name, f.Name("name"));
      a.table.origin = context;
      if (f.Has("toml") == f.Has("table")) {
        return Status::Invalid(context, ": give the instrument table as 'toml' (text) or "
                                        "'table' (an object), exactly one of them");
      }
      if (f.Has("toml")) {
        ARROW_ASSIGN_OR_RAISE(a.table.toml, f.String("toml", 64 * 1024));
      } else {
        ARROW_ASSIGN_OR_RAISE(a.table.toml, TableToToml(j["table"], context, "table"));
      }
      out.body = std::move(a);
      break;
    }
    case ActionKind::kEvents: {
      ARROW_ASSIGN_OR_RAISE(auto f, ObjectFields(j, context, {"limit"}));
      EventsAction a;
      if (f.Has("limit")) {
        ARROW_ASSIGN_OR_RAISE(auto limit, f.Unsigned("limit", 1, 10'000));
        a.limit = static_cast<std::size_t>(limit);
      }
      out.body = a;
      break;
    }
    case ActionKind::kRunPlan: {
      if (!j.is_object()) {
        return Status::Invalid(context, ": expected a JSON object (a [[plans]] entry's fields, "
                                        "or {\"name\": ...}), got ", TypeName(j));
      }
      RunPlanAction a;
      a.request.origin = context;
      if (j.size() == 1 && j.contains("name")) {
        ARROW_ASSIGN_OR_RAISE(auto f, ObjectFields(j, context, {"name"}));
        ARROW_ASSIGN_OR_RAISE(a.request.name, f.String("name", 256));
        a.request.by_name = true;
      } else {
        // The name travels apart (the engine checks it as a recording name; a plan sent in
        // full may reuse a config plan's name); the other fields become the entry's TOML.
        if (!j.contains("name")) {
          return Status::Invalid(context, ": field 'name': missing (the plan's name, used for "
                                          "its run directory)");
        }
        const Json name_only = {{"name", j["name"]}};
        ARROW_ASSIGN_OR_RAISE(auto f, ObjectFields(name_only, context, {"name"}));
        ARROW_ASSIGN_OR_RAISE(a.request.name, f.String("name", 256));
        Json rest = j;
        rest.erase("name");
        ARROW_ASSIGN_OR_RAISE(a.request.toml, TableToToml(rest, context, "plan"));
      }
      out.body = std::move(a);
      break;
    }
    case ActionKind::kPause:
    case ActionKind::kResume:
    case ActionKind::kAbort: {
      ARROW_RETURN_NOT_OK(ObjectFields(j, context, {}).status());
      out.body = ScanControlAction{*kind == ActionKind::kPause    ? ScanControl::kPause
                                   : *kind == ActionKind::kResume ? ScanControl::kResume
                                                                  : ScanControl::kAbort};
      break;
    }
  }
  return out;
}

Result<std::string> JsonTableToToml(std::string_view json, std::string_view context) {
  ARROW_ASSIGN_OR_RAISE(Json j, ParseJson(json, context));
  return TableToToml(j, context, "table");
}

}  // namespace arrowdaq::server
