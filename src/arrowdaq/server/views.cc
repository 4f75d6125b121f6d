#include "arrowdaq/server/views.h"

#include <cmath>

#include <arrow/type.h>
#include <arrow/util/key_value_metadata.h>
#include <nlohmann/json.hpp>

namespace arrowdaq::server {

namespace {

using Json = nlohmann::json;

// Strings that came from devices or clients may hold invalid UTF-8; never throw on them.
std::string Dump(const Json& j) { return j.dump(-1, ' ', false, Json::error_handler_t::replace); }

Json Number(double v) { return std::isfinite(v) ? Json(v) : Json(nullptr); }

Json Instrument(const instruments::InstrumentStatus& s) {
  return {{"name", s.name},
          {"driver", s.driver},
          {"resource", s.resource},
          {"state", ToString(StateOf(s))},
          {"connected", s.connected},
          {"acquiring", s.acquiring},
          {"failed", s.failed},
          {"last_error", s.last_error},
          {"batches", s.batches},
          {"rows", s.rows},
          {"read_errors", s.read_errors},
          {"overrun_samples", s.overrun_samples},
          {"reconnects", s.reconnects}};
}

Json Stream(const StreamDescription& d) {
  Json fields = Json::array();
  if (d.schema) {
    for (const auto& f : d.schema->fields()) {
      Json field = {{"name", f->name()}, {"type", f->type()->ToString()}};
      if (f->metadata()) {
        for (const auto& [k, v] : f->metadata()->sorted_pairs()) field[k] = v;
      }
      fields.push_back(std::move(field));
    }
  }
  return {{"name", d.name},
          {"kind", ToString(d.kind)},
          {"source", d.source},
          {"driver", d.driver},
          {"state", ToString(d.state)},
          {"nominal_rate_hz", Number(d.nominal_rate_hz)},
          {"measured_rate_hz", Number(d.measured_rate_hz)},
          {"packets", d.packets},
          {"rows", d.rows},
          {"bytes", d.bytes},
          {"next_sequence", d.next_sequence},
          {"first_timestamp_ns", d.first_timestamp_ns},
          {"last_timestamp_ns", d.last_timestamp_ns},
          {"dropped", d.dropped},
          {"overrun_samples", d.overrun_samples},
          {"fields", std::move(fields)}};
}

Json Recording(const RecordingInfo& r) {
  return {{"id", r.id},
          {"name", r.name},
          {"directory", r.directory},
          {"state", ToString(r.state)},
          {"streams", r.streams},
          {"formats", r.formats},
          {"started_ns", r.started_ns},
          {"stopped_ns", r.stopped_ns},
          {"rows", r.rows},
          {"error", r.error}};
}

Json Scan(const ScanInfo& s) {
  return {{"plan", s.plan},
          {"state", ToString(s.state)},
          {"points_done", s.points_done},
          {"points_total", s.points_total},
          {"directory", s.directory},
          {"recording_id", s.recording_id},
          {"exit_status", s.exit_status},
          {"reason", s.reason}};
}

}  // namespace

std::string StatusJson(const ServerView& server, const EngineStatus& engine) {
  Json clients = Json::array();
  for (const auto& c : server.clients) {
    Json streams = Json::object();
    for (const auto& [name, s] : c.stats) {
      streams[name] = {{"delivered", s.delivered},
                       {"dropped", s.dropped},
                       {"queued", s.queued},
                       {"next_sequence", s.next_sequence}};
    }
    clients.push_back({{"id", c.id},
                       {"peer", c.peer},
                       {"start", c.start},
                       {"open", c.open},
                       {"streams", std::move(streams)}});
  }
  Json rings = Json::object();
  for (const auto& f : engine.replay) {
    rings[f.name] = {{"packets", f.ring_packets},
                     {"bytes", f.ring_bytes},
                     {"first_sequence", f.ring_first_sequence},
                     {"last_sequence", f.ring_last_sequence},
                     {"next_sequence", f.next_sequence},
                     {"lost", f.lost}};
  }
  Json instruments = Json::array();
  for (const auto& i : engine.instruments) instruments.push_back(Instrument(i));
  Json streams = Json::array();
  for (const auto& s : engine.streams) streams.push_back(Stream(s));
  Json recordings = Json::array();
  for (const auto& r : engine.recordings) recordings.push_back(Recording(r));
  const auto& m = engine.memory;
  Json out = {
      {"server",
       {{"listen", server.listen},
        {"tls", server.tls},
        {"token_required", server.token_required},
        {"uptime_s", server.uptime_s},
        {"calls", server.calls},
        {"unauthenticated", server.unauthenticated},
        {"clients", std::move(clients)}}},
      {"replay", std::move(rings)},
      {"uptime_s", std::chrono::duration<double>(engine.uptime).count()},
      {"memory",
       {{"rss_bytes", m.current_rss_bytes},
        {"peak_rss_bytes", m.peak_rss_bytes},
        {"arrow_pool_bytes", m.arrow_pool_bytes},
        {"arrow_pool_peak_bytes", m.arrow_pool_peak_bytes},
        {"arrow_pool_backend", m.arrow_pool_backend}}},
      {"instruments", std::move(instruments)},
      {"streams", std::move(streams)},
      {"recordings", std::move(recordings)},
      {"scan", engine.scan ? Scan(*engine.scan) : Json(nullptr)}};
  return Dump(out);
}

std::string RecordingJson(const RecordingInfo& recording) { return Dump(Recording(recording)); }

std::string ScanJson(const ScanInfo& scan) { return Dump(Scan(scan)); }

std::string InstrumentJson(const instruments::InstrumentStatus& status) {
  return Dump(Instrument(status));
}

std::string EventsJson(const std::vector<RunEvent>& events) {
  Json list = Json::array();
  for (const auto& e : events) {
    list.push_back({{"time_ns", e.time_ns},
                    {"stream", e.stream},
                    {"kind", e.kind},
                    {"message", e.message}});
  }
  return Dump(Json{{"events", std::move(list)}});
}

std::string ObjectJson(const std::vector<std::pair<std::string, std::string>>& fields) {
  Json out = Json::object();
  for (const auto& [k, v] : fields) out[k] = v;
  return Dump(out);
}

std::string StreamJson(const StreamDescription& stream) { return Dump(Stream(stream)); }

std::string BatchMetadataJson(const std::string& stream, std::uint64_t sequence,
                              std::uint64_t dropped) {
  return Dump(Json{{"stream", stream}, {"sequence", sequence}, {"dropped", dropped}});
}

}  // namespace arrowdaq::server
