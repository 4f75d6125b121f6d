// Tickets, action bodies, recording names, tokens and listen addresses: every refusal names
// the field, every accepted shape gives the typed request a client meant.
#include "arrowdaq/server/requests.h"

#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

#include "arrowdaq/server/auth.h"
#include "arrowdaq/testing/gtest_util.h"
#include "arrowdaq/testing/temp_dir.h"

namespace arrowdaq::server {
namespace {

using namespace std::chrono_literals;
using pipeline::StartKind;

std::string InvalidMessage(const Result<TicketRequest>& r) {
  EXPECT_FALSE(r.ok());
  EXPECT_TRUE(r.status().IsInvalid()) << r.status().ToString();
  return r.status().message();
}

std::string InvalidMessage(const Result<ActionRequest>& r) {
  EXPECT_FALSE(r.ok());
  EXPECT_TRUE(r.status().IsInvalid()) << r.status().ToString();
  return r.status().message();
}

TEST(Ticket, TheDocumentedShapes) {
  ASSERT_OK_AND_ASSIGN(auto live, ParseTicket(R"({"stream": "pd"})", 4096));
  EXPECT_EQ(live.streams, std::vector<std::string>{"pd"});
  EXPECT_EQ(live.start.kind, StartKind::kLive);
  EXPECT_FALSE(live.queue);

  ASSERT_OK_AND_ASSIGN(auto replay,
                       ParseTicket(R"({"stream": "pd", "start": "replay", "seconds": 2.5})", 4096));
  EXPECT_EQ(replay.start.kind, StartKind::kReplay);
  EXPECT_EQ(replay.start.window, 2500ms);

  ASSERT_OK_AND_ASSIGN(auto whole, ParseTicket(R"({"stream": "pd", "start": "replay"})", 4096));
  EXPECT_EQ(whole.start.window, 0ns);

  ASSERT_OK_AND_ASSIGN(auto since,
                       ParseTicket(R"({"stream":"pd","start":"since","sequence":1234})", 4096));
  EXPECT_EQ(since.start.kind, StartKind::kSince);
  EXPECT_EQ(since.start.sequence, 1234u);

  ASSERT_OK_AND_ASSIGN(auto two, ParseTicket(R"({"streams": ["a", "b.lp"], "queue": 256})", 4096));
  EXPECT_EQ(two.streams, (std::vector<std::string>{"a", "b.lp"}));
  EXPECT_EQ(two.queue, 256u);

  ASSERT_OK_AND_ASSIGN(auto bare, ParseTicket("pd.lowpass", 4096));
  EXPECT_EQ(bare.streams, std::vector<std::string>{"pd.lowpass"});

  ASSERT_OK_AND_ASSIGN(auto round, ParseTicket(LiveTicket("x-1"), 4096));
  EXPECT_EQ(round.streams, std::vector<std::string>{"x-1"});
}

TEST(Ticket, RefusalsNameTheField) {
  EXPECT_EQ(InvalidMessage(ParseTicket("", 64)),
            "ticket: empty (expected JSON such as {\"stream\": \"name\"})");
  EXPECT_EQ(InvalidMessage(ParseTicket("{\"stream\": 3}", 64)),
            "ticket: field 'stream': expected a string, got an integer");
  EXPECT_EQ(InvalidMessage(ParseTicket("{}", 64)), "ticket: field 'stream': missing");
  EXPECT_EQ(InvalidMessage(ParseTicket(R"({"stream": "a", "start": "later"})", 64)),
            "ticket: field 'start': expected one of live, replay, since, got 'later'");
  EXPECT_EQ(InvalidMessage(ParseTicket(R"({"stream": "a", "strat": "live"})", 64)),
            "ticket: unknown field 'strat' (fields: stream, streams, start, seconds, sequence, "
            "queue)");
  EXPECT_EQ(InvalidMessage(ParseTicket(R"({"stream": "a", "start": "since"})", 64)),
            "ticket: field 'sequence': missing");
  EXPECT_EQ(InvalidMessage(ParseTicket(R"({"stream": "a", "start": "since", "sequence": -1})", 64)),
            "ticket: field 'sequence': must be 0..9223372036854775807, got -1");
  EXPECT_EQ(InvalidMessage(ParseTicket(R"({"stream": "a", "start": "since", "sequence": 1.5})", 64)),
            "ticket: field 'sequence': expected an integer, got a number (1.5)");
  EXPECT_EQ(InvalidMessage(ParseTicket(R"({"stream": "a", "seconds": 1})", 64)),
            "ticket: field 'seconds': only with \"start\": \"replay\"");
  EXPECT_EQ(InvalidMessage(ParseTicket(R"({"stream": "a", "start": "replay", "seconds": -1})", 64)),
            "ticket: field 'seconds': a duration must be a finite number >= 0, got -1");
  EXPECT_EQ(InvalidMessage(ParseTicket(R"({"stream": "a", "queue": 65})", 64)),
            "ticket: field 'queue': must be 1..64, got 65");
  EXPECT_EQ(InvalidMessage(ParseTicket(R"({"stream": "a", "queue": 0})", 64)),
            "ticket: field 'queue': must be 1..64, got 0");
  EXPECT_EQ(InvalidMessage(ParseTicket(R"({"stream": "../etc"})", 64)),
            "ticket: field 'stream': '../etc' is not a valid name (letters, digits, '_', '.' and "
            "'-' only)");
  EXPECT_EQ(InvalidMessage(ParseTicket(R"({"streams": ["a", "a"]})", 64)),
            "ticket: field 'streams[1]': 'a' is named twice");
  EXPECT_EQ(InvalidMessage(ParseTicket(R"({"streams": []})", 64)),
            "ticket: field 'streams': names no stream");
  EXPECT_EQ(InvalidMessage(ParseTicket(R"({"streams": ["a","b"], "start": "since", "sequence": 1})", 64)),
            "ticket: field 'sequence': \"start\": \"since\" takes exactly one stream");
  EXPECT_EQ(InvalidMessage(ParseTicket(R"({"stream": "a", "streams": ["b"]})", 64)),
            "ticket: give 'stream' or 'streams', not both");
  EXPECT_EQ(InvalidMessage(ParseTicket("[1, 2]", 64)),
            "ticket: expected JSON such as {\"stream\": \"name\"} or a stream name, got '[1, 2]'");
  EXPECT_EQ(InvalidMessage(ParseTicket(" [1, 2]", 64)),
            "ticket: expected a JSON object, got an array");
  EXPECT_EQ(InvalidMessage(ParseTicket(std::string("\xff\x00garbage", 9), 64)),
            "ticket: expected JSON such as {\"stream\": \"name\"} or a stream name, got "
            "'\\xff\\x00garbage'");
}

TEST(Ticket, MalformedJsonAndHugeOrDeepInputAreRefusedWithoutWork) {
  auto bad = InvalidMessage(ParseTicket("{\"stream\": \"a\"", 64));
  EXPECT_EQ(bad.rfind("ticket: not valid JSON: ", 0), 0u) << bad;
  // Invalid UTF-8 inside a string.
  auto utf8 = InvalidMessage(ParseTicket("{\"stream\": \"\xc3\x28\"}", 64));
  EXPECT_EQ(utf8.rfind("ticket: not valid JSON: ", 0), 0u) << utf8;
  EXPECT_EQ(utf8.find('\xc3'), std::string::npos) << "raw bytes quoted back";
  std::string deep = "{\"stream\": \"a\", \"x\": " + std::string(40, '[') + std::string(40, ']') + "}";
  EXPECT_EQ(InvalidMessage(ParseTicket(deep, 64)), "ticket: JSON nested deeper than 32 levels");
  std::string huge = "{\"stream\": \"" + std::string(kMaxRequestBytes, 'a') + "\"}";
  EXPECT_EQ(InvalidMessage(ParseTicket(huge, 64)),
            "ticket: " + std::to_string(huge.size()) + " bytes, more than the 1048576 allowed");
}

TEST(Action, UnknownActionsListTheKnownOnes) {
  EXPECT_EQ(InvalidMessage(ParseAction("reboot", "")),
            "unknown action 'reboot' (actions: status, start_recording, stop_recording, "
            "send_command, connect_instrument, disconnect_instrument, add_instrument, "
            "remove_instrument, events, run_plan, pause, resume, abort)");
  EXPECT_EQ(InvalidMessage(ParseAction("status", "{\"verbose\": true}")),
            "status: unknown field 'verbose' (it takes none)");
  EXPECT_EQ(InvalidMessage(ParseAction("status", "42")),
            "status: expected a JSON object, got an integer");
}

TEST(Action, EveryActionParsesItsDocumentedBody) {
  ASSERT_OK_AND_ASSIGN(auto status, ParseAction("status", ""));
  EXPECT_EQ(status.kind, ActionKind::kStatus);
  ASSERT_OK(ParseAction("status", "{}"));

  ASSERT_OK_AND_ASSIGN(auto start,
                       ParseAction("start_recording",
                                   R"({"name": "scan-1", "streams": ["pd"], "formats": ["hdf5",
                                       "parquet"], "duration": "1.5min"})"));
  const auto& rec = std::get<StartRecordingAction>(start.body).request;
  EXPECT_EQ(rec.name, "scan-1");
  EXPECT_EQ(rec.streams, std::vector<std::string>{"pd"});
  EXPECT_EQ(rec.formats, (std::vector<std::string>{"hdf5", "parquet"}));
  EXPECT_EQ(rec.duration, std::chrono::nanoseconds(90s));
  ASSERT_OK_AND_ASSIGN(auto seconds, ParseAction("start_recording", R"({"name": "a", "duration": 2})"));
  EXPECT_EQ(std::get<StartRecordingAction>(seconds.body).request.duration, std::chrono::nanoseconds(2s));

  ASSERT_OK_AND_ASSIGN(auto stop, ParseAction("stop_recording", R"({"id": "rec-3"})"));
  EXPECT_EQ(std::get<StopRecordingAction>(stop.body).id, "rec-3");

  ASSERT_OK_AND_ASSIGN(auto send,
                       ParseAction("send_command", R"({"instrument": "dmm", "command": "*IDN?"})"));
  EXPECT_EQ(std::get<SendCommandAction>(send.body).command, "*IDN?");

  for (const char* name : {"connect_instrument", "disconnect_instrument", "remove_instrument"}) {
    ASSERT_OK_AND_ASSIGN(auto a, ParseAction(name, R"({"instrument": "pd"})"));
    EXPECT_EQ(std::get<InstrumentAction>(a.body).instrument, "pd");
  }

  ASSERT_OK_AND_ASSIGN(auto events, ParseAction("events", R"({"limit": 5})"));
  EXPECT_EQ(std::get<EventsAction>(events.body).limit, 5u);
  ASSERT_OK_AND_ASSIGN(auto events_default, ParseAction("events", ""));
  EXPECT_EQ(std::get<EventsAction>(events_default.body).limit, 100u);

  ASSERT_OK_AND_ASSIGN(
      auto add_toml,
      ParseAction("add_instrument", R"({"name": "pd2", "toml": "driver = \"sim.sine\"\n"})"));
  EXPECT_EQ(std::get<AddInstrumentAction>(add_toml.body).table.toml, "driver = \"sim.sine\"\n");
  EXPECT_EQ(std::get<AddInstrumentAction>(add_toml.body).table.origin, "add_instrument");
}

TEST(Action, RunPlanTakesAConfigPlanByNameOrAWholeEntry) {
  ASSERT_OK_AND_ASSIGN(auto by_name, ParseAction("run_plan", R"({"name": "line1"})"));
  const auto& named = std::get<RunPlanAction>(by_name.body).request;
  EXPECT_TRUE(named.by_name);
  EXPECT_EQ(named.name, "line1");
  ASSERT_OK_AND_ASSIGN(
      auto whole,
      ParseAction("run_plan", R"({"name": "l", "kind": "line", "dwell": "20ms",
                                  "axes": [{"motor": "stage", "start": 0, "stop": 1, "num": 3}],
                                  "detectors": [{"stream": "pd"}]})"));
  const auto& plan = std::get<RunPlanAction>(whole.body).request;
  EXPECT_FALSE(plan.by_name);
  EXPECT_EQ(plan.name, "l");
  EXPECT_EQ(plan.origin, "run_plan");
  // The name travels apart; the rest is the [[plans]] entry's TOML (arrays of inline tables
  // are what [[plans.axes]] means).
  EXPECT_EQ(plan.toml.find("\"name\" = \"l\""), std::string::npos) << plan.toml;
  EXPECT_NE(plan.toml.find("\"kind\" = \"line\""), std::string::npos) << plan.toml;
  EXPECT_NE(plan.toml.find("\"axes\" = [{"), std::string::npos) << plan.toml;
  for (const char* name : {"pause", "resume", "abort"}) {
    ASSERT_OK_AND_ASSIGN(auto a, ParseAction(name, ""));
    EXPECT_EQ(ToString(a.kind), name);
  }
  EXPECT_EQ(std::get<ScanControlAction>(ParseAction("abort", "{}")->body).control,
            ScanControl::kAbort);
  EXPECT_EQ(InvalidMessage(ParseAction("run_plan", R"({"kind": "count"})")),
            "run_plan: field 'name': missing (the plan's name, used for its run directory)");
  EXPECT_EQ(InvalidMessage(ParseAction("run_plan", R"({"name": 3})")),
            "run_plan: field 'name': expected a string, got an integer");
  EXPECT_EQ(InvalidMessage(ParseAction("run_plan", "[1]")),
            "run_plan: expected a JSON object (a [[plans]] entry's fields, or {\"name\": ...}), "
            "got an array");
  EXPECT_NE(InvalidMessage(ParseAction("run_plan", R"({"name": "l", "num": null})")).find("plan.num"),
            std::string::npos);
  EXPECT_TRUE(InvalidMessage(ParseAction("run_plan", "{nope")).starts_with("run_plan: "));
  EXPECT_EQ(InvalidMessage(ParseAction("pause", R"({"now": true})")),
            "pause: unknown field 'now' (it takes none)");
}

TEST(Action, RefusalsNameTheActionAndTheField) {
  EXPECT_EQ(InvalidMessage(ParseAction("start_recording", "{}")),
            "start_recording: field 'name': missing");
  EXPECT_EQ(InvalidMessage(ParseAction("start_recording", R"({"name": "../../etc"})")),
            "start_recording: field 'name': recording name '../../etc' must start with a letter "
            "or digit");
  EXPECT_EQ(InvalidMessage(ParseAction("start_recording", R"({"name": "a/b"})")),
            "start_recording: field 'name': recording name 'a/b': only letters, digits, '.', '_' "
            "and '-' are allowed, got '/' at 2");
  EXPECT_EQ(InvalidMessage(ParseAction("start_recording", R"({"name": "a..b"})")),
            "start_recording: field 'name': recording name 'a..b' must not contain '..'");
  EXPECT_EQ(InvalidMessage(ParseAction("start_recording", "{\"name\": \"" + std::string(65, 'x') + "\"}")),
            "start_recording: field 'name': recording name '" + std::string(65, 'x') +
                "' is longer than 64 characters (65)");
  EXPECT_EQ(InvalidMessage(ParseAction("start_recording", R"({"name": "a", "duration": "soon"})")),
            "start_recording: field 'duration': invalid duration \"soon\": it does not start "
            "with a number (expected a number followed by one of ns, us, ms, s, min, h, for "
            "example \"10s\" or \"250ms\")");
  EXPECT_EQ(InvalidMessage(ParseAction("start_recording", R"({"name": "a", "streams": "pd"})")),
            "start_recording: field 'streams': expected an array of names, got a string");
  EXPECT_EQ(InvalidMessage(ParseAction("send_command", R"({"instrument": "dmm"})")),
            "send_command: field 'command': missing");
  EXPECT_EQ(InvalidMessage(ParseAction("send_command",
                                       R"({"instrument": "dmm", "command": "*RST\n:INIT"})")),
            "send_command: field 'command': control character 10 at 5 (one command per request)");
  EXPECT_EQ(InvalidMessage(ParseAction("connect_instrument", R"({"instrument": ""})")),
            "connect_instrument: field 'instrument': must not be empty");
  EXPECT_EQ(InvalidMessage(ParseAction("events", R"({"limit": 0})")),
            "events: field 'limit': must be 1..10000, got 0");
  EXPECT_EQ(InvalidMessage(ParseAction("add_instrument", R"({"name": "pd2"})")),
            "add_instrument: give the instrument table as 'toml' (text) or 'table' (an object), "
            "exactly one of them");
  EXPECT_EQ(InvalidMessage(ParseAction("add_instrument", R"({"name": "pd2", "table": {"driver": null}})")),
            "add_instrument: field 'table.driver': null has no TOML form");
  EXPECT_EQ(InvalidMessage(ParseAction("add_instrument", R"({"name": "pd2", "table": [1]})")),
            "add_instrument: field 'table': expected an object, got an array");
}

TEST(Action, AJsonTableBecomesTheTomlOfTheSameTable) {
  ASSERT_OK_AND_ASSIGN(
      auto toml,
      JsonTableToToml(R"({"driver": "sim.sine", "resource": "SIM::a\"b",
                          "options": {"rate_hz": 1000.0, "batch_size": 100, "unit": "m\n",
                                      "big": 1e300, "on": true, "list": [1, 2.5]}})",
                      "add_instrument"));
  EXPECT_EQ(toml,
            "\"driver\" = \"sim.sine\"\n"
            "\"options\" = { \"batch_size\" = 100, \"big\" = 1e+300, \"list\" = [1, 2.5], "
            "\"on\" = true, \"rate_hz\" = 1000.0, \"unit\" = \"m\\n\" }\n"
            "\"resource\" = \"SIM::a\\\"b\"\n");
}

TEST(RecordingName, OnlyOneSafePathComponent) {
  EXPECT_OK(CheckRecordingName("scan_01.b-2"));
  for (const char* bad : {"", ".", "..", ".hidden", "-x", "a/b", "a\\b", "a..b", "a b",
                          "\xc3\xa9t\xc3\xa9"}) {
    EXPECT_FALSE(CheckRecordingName(bad).ok()) << bad;
  }
  EXPECT_FALSE(CheckRecordingName(std::string(65, 'a')).ok());
  EXPECT_OK(CheckRecordingName(std::string(64, 'a')));
  EXPECT_EQ(CheckRecordingName("a\x01").message(),
            "recording name 'a\\x01': only letters, digits, '.', '_' and '-' are allowed, got "
            "byte 1 at 2");
}

TEST(Auth, ConstantTimeCompareAndBearerHeader) {
  EXPECT_TRUE(ConstantTimeEquals("secret-token-0123", "secret-token-0123"));
  EXPECT_FALSE(ConstantTimeEquals("secret-token-0123", "secret-token-0124"));
  EXPECT_FALSE(ConstantTimeEquals("secret-token-0123", "secret-token-012"));
  EXPECT_FALSE(ConstantTimeEquals("secret-token-0123", "secret-token-01234"));
  EXPECT_FALSE(ConstantTimeEquals("secret-token-0123", ""));
  EXPECT_TRUE(BearerMatches("Bearer secret-token-0123", "secret-token-0123"));
  EXPECT_TRUE(BearerMatches("bearer secret-token-0123", "secret-token-0123"));
  EXPECT_FALSE(BearerMatches("Basic secret-token-0123", "secret-token-0123"));
  EXPECT_FALSE(BearerMatches("Bearer  secret-token-0123", "secret-token-0123"));
  EXPECT_FALSE(BearerMatches("secret-token-0123", "secret-token-0123"));
  EXPECT_FALSE(BearerMatches("", "secret-token-0123"));
}

TEST(Auth, TokenFileRules) {
  testing::TempDir dir("token");
  auto write = [&](const std::string& name, const std::string& text) {
    const auto p = dir.Sub(name);
    std::ofstream(p, std::ios::binary) << text;
    return p;
  };
  ASSERT_OK_AND_ASSIGN(auto token, ReadTokenFile(write("ok", "  0123456789abcdef-xyz\n")));
  EXPECT_EQ(token, "0123456789abcdef-xyz");
  EXPECT_EQ(ReadTokenFile(write("short", "abc\n")).status().message(),
            "token file '" + dir.Sub("short") +
                "': the token must be at least 16 characters, got 3");
  EXPECT_EQ(ReadTokenFile(write("space", "0123456789 abcdef")).status().message(),
            "token file '" + dir.Sub("space") +
                "': the token must be printable ASCII without spaces (one line); byte 32 at 11");
  EXPECT_EQ(ReadTokenFile(dir.Sub("missing")).status().message(),
            "token file '" + dir.Sub("missing") + "': cannot be read");
}

TEST(Auth, WithoutATokenOnlyLoopback) {
  for (const char* host : {"127.0.0.1", "127.1.2.3", "localhost", "::1", "[::1]",
                           "::ffff:127.0.0.1"}) {
    EXPECT_TRUE(IsLoopbackHost(host)) << host;
  }
  for (const char* host : {"0.0.0.0", "::", "192.168.1.2", "10.0.0.1", "example.org",
                           "128.0.0.1", "::ffff:10.0.0.1", "localhost.evil.org"}) {
    EXPECT_FALSE(IsLoopbackHost(host)) << host;
  }
  ASSERT_OK_AND_ASSIGN(auto plan, PlanListen("grpc://127.0.0.1:0", false, false));
  EXPECT_EQ(plan.scheme, "grpc+tcp");
  EXPECT_EQ(plan.port, 0);
  EXPECT_EQ(PlanListen("grpc://0.0.0.0:8815", false, false).status().message(),
            "--listen grpc://0.0.0.0:8815: listening beyond loopback needs a token (--token-file "
            "or [server] token_file); without one the server binds 127.0.0.1, ::1 or a unix "
            "socket only");
  ASSERT_OK_AND_ASSIGN(auto open, PlanListen("grpc://0.0.0.0:8815", true, false));
  EXPECT_FALSE(open.loopback);
  ASSERT_OK_AND_ASSIGN(auto tls, PlanListen("grpc://[::1]:9000", false, true));
  EXPECT_EQ(tls.scheme, "grpc+tls");
  EXPECT_EQ(tls.host, "::1");
  EXPECT_EQ(PlanListen("grpc+tls://127.0.0.1:1", true, false).status().message(),
            "--listen grpc+tls://127.0.0.1:1: grpc+tls needs --tls-cert and --tls-key");
  EXPECT_EQ(PlanListen("http://127.0.0.1:1", true, false).status().message(),
            "--listen http://127.0.0.1:1: unknown scheme 'http' (grpc, grpc+tcp, grpc+tls or "
            "grpc+unix)");
  EXPECT_EQ(PlanListen("grpc://127.0.0.1", true, false).status().message(),
            "--listen grpc://127.0.0.1: no port (use :0 for any free port)");
  ASSERT_OK_AND_ASSIGN(auto unix_socket, PlanListen("grpc+unix:///tmp/a.sock", false, false));
  EXPECT_EQ(unix_socket.path, "/tmp/a.sock");
}

}  // namespace
}  // namespace arrowdaq::server
