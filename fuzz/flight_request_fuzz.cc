// libFuzzer target: the Flight server's parsers of client input, ParseTicket and ParseAction
// (src/arrowdaq/server/requests.h), on arbitrary bytes. The first byte picks the parser: 0..8
// the action of that index in ActionSpecs(), 9 a DoGet ticket, anything else an action name
// taken from the input itself (up to the first '\n'). They promise never to throw, to refuse
// with Status::Invalid whose message starts with the action (or "ticket", or "unknown action")
// and holds only printable ASCII (client bytes are escaped), and to accept only valid shapes:
// stream names valid, `since` with one stream, a queue within bounds, recording names that stay
// in their directory. An add_instrument table given as JSON becomes TOML that the config parser
// (ParseConfig) then reads, as the engine will: that path is fuzzed too, and so is a run_plan
// body, under `[[plans]]` after a config with a motor and a detector. Any crash, hang,
// sanitizer report, escaping exception or broken promise is a finding.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <string>
#include <string_view>

#include "arrowdaq/config/config.h"
#include "arrowdaq/server/requests.h"

namespace {

using namespace arrowdaq;
using namespace arrowdaq::server;

constexpr std::size_t kMaxQueue = 4096;

[[noreturn]] void Finding(const std::string& what) {
  std::fprintf(stderr, "flight_request_fuzz: %s\n", what.c_str());
  std::abort();
}

void CheckRefusal(const Status& status, std::string_view context) {
  if (!status.IsInvalid()) Finding("error is not Invalid: " + status.ToString());
  const std::string& m = status.message();
  if (!m.starts_with(context) && !m.starts_with("unknown action")) {
    Finding("error does not start with '" + std::string(context) + "': " + m);
  }
  for (unsigned char c : m) {
    if (c < 0x20 || c > 0x7e) Finding("unescaped byte " + std::to_string(c) + " in: " + m);
  }
}

void CheckTicket(std::string_view bytes) {
  auto ticket = ParseTicket(bytes, kMaxQueue);
  if (!ticket.ok()) return CheckRefusal(ticket.status(), "ticket");
  if (ticket->streams.empty()) Finding("accepted a ticket without a stream");
  for (const auto& s : ticket->streams) {
    if (!config::IsValidStreamName(s)) Finding("accepted stream name '" + s + "'");
  }
  if (ticket->start.kind == pipeline::StartKind::kSince && ticket->streams.size() != 1) {
    Finding("accepted since with several streams");
  }
  if (ticket->queue && (*ticket->queue < 1 || *ticket->queue > kMaxQueue)) {
    Finding("accepted queue " + std::to_string(*ticket->queue));
  }
  if (ticket->start.window.count() < 0) Finding("accepted a negative replay window");
}

void CheckAction(std::string_view type, std::string_view body) {
  auto action = ParseAction(type, body);
  if (!action.ok()) return CheckRefusal(action.status(), type);
  if (ToString(action->kind) != type) Finding("parsed '" + std::string(type) + "' as another action");
  if (auto* start = std::get_if<StartRecordingAction>(&action->body)) {
    const auto& name = start->request.name;
    if (!CheckRecordingName(name).ok() || name.find('/') != std::string::npos ||
        name.find("..") != std::string::npos || name.size() > kMaxRecordingName) {
      Finding("accepted recording name '" + name + "'");
    }
  }
  if (auto* add = std::get_if<AddInstrumentAction>(&action->body)) {
    // What the engine does with it: the table under its header, through the config parser.
    auto parsed = config::ParseConfig("[instruments." + add->table.name + "]\n" + add->table.toml,
                                      add->table.origin);
    if (!parsed.ok() && !parsed.status().IsInvalid()) {
      Finding("ParseConfig gave a non-Invalid error: " + parsed.status().ToString());
    }
  }
  if (auto* run = std::get_if<RunPlanAction>(&action->body)) {
    if (!run->request.by_name) {
      // What the engine does with it (EngineAdapter::RunPlan): the entry after its config.
      static const std::string base =
          "[instruments.m]\ndriver = \"sim.motor\"\n[instruments.pd]\ndriver = \"sim.sine\"\n";
      auto parsed =
          config::ParseConfig(base + "\n[[plans]]\n" + run->request.toml, run->request.origin);
      if (!parsed.ok() && !parsed.status().IsInvalid()) {
        Finding("ParseConfig gave a non-Invalid error: " + parsed.status().ToString());
      }
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::string_view input(reinterpret_cast<const char*>(data) + 1, size - 1);
  const std::uint8_t selector = data[0];
  try {
    const auto& specs = ActionSpecs();
    constexpr std::uint8_t kTicket = 9;
    if (selector < kTicket) {
      CheckAction(ToString(specs[selector].kind), input);
    } else if (selector == kTicket) {
      CheckTicket(input);
    } else if (selector <= specs.size()) {
      CheckAction(ToString(specs[selector - 1].kind), input);
    } else {
      const auto newline = input.find('\n');
      const std::string_view type = input.substr(0, newline);
      const std::string_view body =
          newline == std::string_view::npos ? std::string_view() : input.substr(newline + 1);
      CheckAction(type, body);
    }
  } catch (const std::exception& e) {
    Finding(std::string("a parser threw: ") + e.what());
  } catch (...) {
    Finding("a parser threw a non-std exception");
  }
  return 0;
}
