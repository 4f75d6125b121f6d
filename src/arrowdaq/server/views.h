// Views: the JSON documents the server answers with (status, recordings, events, stream
// descriptions in FlightInfo app_metadata, the per-batch app_metadata of DoGet). One place
// decides every field name, so docs/server.md can list them and clients can rely on them.
// Pure functions; any thread.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "arrowdaq/core/run_event.h"
#include "arrowdaq/server/engine_port.h"

namespace arrowdaq::server {

/// The server's own part of the status answer.
struct ClientView {
  std::uint64_t id = 0;
  std::string peer;
  std::vector<std::string> streams;
  std::string start;  ///< "live", "replay", "since"
  bool open = true;   ///< false once the DoGet ended (kept for a while for the counters)
  std::map<std::string, pipeline::LiveStreamStats> stats;
};

struct ServerView {
  std::string listen;  ///< the URI clients use
  bool tls = false;
  bool token_required = false;
  double uptime_s = 0;
  std::uint64_t calls = 0;            ///< RPCs that passed authentication
  std::uint64_t unauthenticated = 0;  ///< RPCs refused for a missing or wrong token
  std::vector<ClientView> clients;    ///< open DoGet streams, then recently ended ones
};

/// Return the status answer: {"server": {...}, "uptime_s", "memory", "instruments",
/// "streams", "recordings"} (docs/server.md lists every field).
[[nodiscard]] std::string StatusJson(const ServerView& server, const EngineStatus& engine);
/// Return a recording as JSON.
[[nodiscard]] std::string RecordingJson(const RecordingInfo& recording);
/// The status action's "scan" object (also run_plan's and the scan controls' answer).
[[nodiscard]] std::string ScanJson(const ScanInfo& scan);
/// Return an instrument's status as JSON.
[[nodiscard]] std::string InstrumentJson(const instruments::InstrumentStatus& status);
/// Return {"events": [...]}.
[[nodiscard]] std::string EventsJson(const std::vector<RunEvent>& events);
/// Return an arbitrary flat object of string fields as JSON (small answers).
[[nodiscard]] std::string ObjectJson(
    const std::vector<std::pair<std::string, std::string>>& fields);
/// Return a stream's description for FlightInfo app_metadata.
[[nodiscard]] std::string StreamJson(const StreamDescription& stream);
/// Return the app_metadata of one DoGet batch:
/// {"stream": "pd", "sequence": 41, "dropped": 3} -- `dropped` counts the packets of this
/// stream the client lost before this one.
[[nodiscard]] std::string BatchMetadataJson(const std::string& stream, std::uint64_t sequence,
                                            std::uint64_t dropped);

}  // namespace arrowdaq::server
