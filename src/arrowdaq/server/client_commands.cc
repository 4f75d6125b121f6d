#include "arrowdaq/server/client_commands.h"

#include <cmath>
#include <condition_variable>
#include <cstdlib>
#include <deque>
#include <memory>
#include <mutex>
#include <thread>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <sstream>

#include <CLI/CLI.hpp>
#include <arrow/array.h>
#include <arrow/buffer.h>
#include <arrow/flight/api.h>
#include <arrow/record_batch.h>
#include <arrow/scalar.h>
#include <nlohmann/json.hpp>

#include "arrowdaq/config/config.h"
#include "arrowdaq/core/schema.h"
#include "arrowdaq/server/auth.h"
#include "arrowdaq/server/requests.h"

namespace arrowdaq::server {

namespace {

namespace fl = arrow::flight;
using Json = nlohmann::json;
using Clock = std::chrono::steady_clock;

constexpr int kOk = 0;
constexpr int kFailure = 1;
constexpr int kUsage = 2;

// A connected client with the call options every call carries.
struct Connection {
  std::unique_ptr<fl::FlightClient> client;
  fl::FlightCallOptions options;  // token header and deadline
  fl::FlightCallOptions streaming;  // token header, no deadline, aligned buffers
  std::string uri;
};

// What the server (or the transport) said, as an exit code and a message.
int Report(const Status& st, const std::string& uri, std::ostream& err) {
  auto detail = fl::FlightStatusDetail::UnwrapStatus(st);
  const bool unauthenticated =
      detail && detail->code() == fl::FlightStatusCode::Unauthenticated;
  const bool unreachable = detail && detail->code() == fl::FlightStatusCode::Unavailable &&
                           st.message().find("failed to connect") != std::string::npos;
  std::string message = st.message();
  // Flight prefixes the server's message with its own words ("Flight returned not found
  // error, with message: ..."); keep the server's.
  if (message.rfind("Flight returned ", 0) == 0) {
    if (auto pos = message.find(", with message: "); pos != std::string::npos) {
      message = message.substr(pos + std::string(", with message: ").size());
    }
  }
  if (auto pos = message.find(". gRPC client debug context:"); pos != std::string::npos) {
    message.resize(pos);
  }
  if (auto pos = message.find(". Detail:"); pos != std::string::npos) message.resize(pos);
  if (unauthenticated) {
    err << "arrowdaq: " << uri << " refused the call: " << message
        << " (give the token with --token-file or ARROWDAQ_TOKEN)\n";
    return kUsage;
  }
  if (unreachable) {
    err << "arrowdaq: cannot reach " << uri << ": " << message << "\n";
    return kFailure;
  }
  err << "arrowdaq: " << uri << ": " << message << "\n";
  return (st.IsInvalid() || st.IsKeyError() || st.IsAlreadyExists()) ? kUsage : kFailure;
}

Result<std::optional<std::string>> LoadToken(const ClientOptions& options) {
  if (!options.token_file.empty()) {
    ARROW_ASSIGN_OR_RAISE(auto token, ReadTokenFile(options.token_file));
    return std::optional<std::string>(std::move(token));
  }
  if (const char* env = std::getenv("ARROWDAQ_TOKEN"); env != nullptr && *env != '\0') {
    return std::optional<std::string>(env);
  }
  return std::optional<std::string>();
}

// Connect (lazily: the first call reaches the server). Errors here are usage errors.
Result<Connection> Connect(const ClientOptions& options) {
  Connection c;
  c.uri = options.connect;
  auto location = fl::Location::Parse(options.connect);
  if (!location.ok()) {
    return Status::Invalid("--connect ", options.connect, ": not a Flight URI (expected "
                           "grpc://HOST:PORT, grpc+tls://HOST:PORT or grpc+unix:///PATH)");
  }
  auto client_options = fl::FlightClientOptions::Defaults();
  if (!options.tls_root_cert_file.empty()) {
    std::ifstream in(options.tls_root_cert_file, std::ios::binary);
    if (!in) return Status::Invalid("--tls-root-cert '", options.tls_root_cert_file, "': cannot be read");
    std::ostringstream pem;
    pem << in.rdbuf();
    client_options.tls_root_certs = pem.str();
  }
  ARROW_ASSIGN_OR_RAISE(auto token, LoadToken(options));
  auto connected = fl::FlightClient::Connect(*location, client_options);
  if (!connected.ok()) {
    return Status::Invalid("--connect ", options.connect, ": ", connected.status().message());
  }
  c.client = std::move(connected).ValueUnsafe();
  for (auto* o : {&c.options, &c.streaming}) {
    if (token) o->headers.emplace_back("authorization", "Bearer " + *token);
  }
  c.options.timeout = fl::TimeoutDuration(std::chrono::duration<double>(options.timeout).count());
  c.streaming.read_options.ensure_alignment = arrow::ipc::Alignment::kDataTypeSpecificAlignment;
  return c;
}

Result<Json> CallAction(Connection& c, const std::string& type, const Json& body) {
  ARROW_ASSIGN_OR_RAISE(auto results,
                        c.client->DoAction(c.options, {type, arrow::Buffer::FromString(body.dump())}));
  ARROW_ASSIGN_OR_RAISE(auto result, results->Next());
  if (result == nullptr || result->body == nullptr) {
    return Status::IOError("the server answered '", type, "' with nothing");
  }
  Json answer = Json::parse(result->body->ToString(), nullptr, /*allow_exceptions=*/false);
  if (answer.is_discarded()) return Status::IOError("the server's answer is not JSON");
  return answer;
}

// Run `body` with a connection; usage errors in connecting are reported as such.
template <typename F>
int WithConnection(const ClientOptions& options, std::ostream& err, F&& body) {
  auto c = Connect(options);
  if (!c.ok()) {
    err << "arrowdaq: " << c.status().message() << "\n";
    return kUsage;
  }
  try {
    return body(*c);
  } catch (const std::exception& e) {  // a malformed answer from a server we do not know
    err << "arrowdaq: " << options.connect << ": unexpected answer: " << e.what() << "\n";
    return kFailure;
  }
}

std::string Str(const Json& j, const char* key) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return "-";
  return it->is_string() ? it->get<std::string>() : it->dump();
}

std::string Rate(const Json& j, const char* key) {
  auto it = j.find(key);
  if (it == j.end() || !it->is_number()) return "-";
  std::ostringstream s;
  s << std::fixed << std::setprecision(1) << it->get<double>();
  return s.str();
}

void PrintStatus(const Json& s, std::ostream& out) {
  const Json& server = s.at("server");
  std::size_t open_clients = 0;
  for (const auto& c : server.at("clients")) open_clients += c.value("open", false) ? 1 : 0;
  out << "server " << Str(server, "listen") << ", up " << Rate(server, "uptime_s") << " s, "
      << open_clients << " client(s) streaming"
      << (server.value("token_required", false) ? ", token required" : "")
      << (server.value("tls", false) ? ", TLS" : "") << "\n";
  out << "instruments:\n";
  for (const auto& i : s.at("instruments")) {
    out << "  " << std::left << std::setw(16) << Str(i, "name") << std::setw(18)
        << Str(i, "driver") << std::setw(13) << Str(i, "state") << "rows " << Str(i, "rows")
        << "  overrun samples " << Str(i, "overrun_samples");
    if (!i.value("last_error", std::string()).empty()) out << "  last error: " << Str(i, "last_error");
    out << "\n";
  }
  out << "streams:\n";
  for (const auto& st : s.at("streams")) {
    out << "  " << std::left << std::setw(16) << Str(st, "name") << std::right << std::setw(12)
        << Rate(st, "measured_rate_hz") << " rows/s  next sequence " << Str(st, "next_sequence")
        << "  dropped " << Str(st, "dropped") << "\n";
  }
  out << "recordings:\n";
  if (s.at("recordings").empty()) out << "  (none)\n";
  for (const auto& r : s.at("recordings")) {
    out << "  " << Str(r, "id") << "  " << Str(r, "name") << "  " << Str(r, "state") << "  "
        << Str(r, "directory") << "\n";
  }
  if (open_clients > 0) {
    out << "clients:\n";
    for (const auto& c : server.at("clients")) {
      if (!c.value("open", false)) continue;
      out << "  #" << Str(c, "id") << " " << Str(c, "peer") << " (" << Str(c, "start") << ")";
      for (const auto& [name, n] : c.at("streams").items()) {
        out << "  " << name << ": delivered " << Str(n, "delivered") << ", dropped "
            << Str(n, "dropped");
      }
      out << "\n";
    }
  }
}

// The latest value of each channel of `batch`, with units.
std::string LatestValues(const arrow::RecordBatch& batch) {
  std::ostringstream s;
  const auto last = batch.num_rows() - 1;
  for (int c = 1; c < batch.num_columns(); ++c) {
    const auto& field = *batch.schema()->field(c);
    s << (c > 1 ? "  " : "") << field.name() << "=";
    if (last < 0) {
      s << "-";
    } else if (field.type()->id() == arrow::Type::DOUBLE) {
      s << std::setprecision(6)
        << static_cast<const arrow::DoubleArray&>(*batch.column(c)).Value(last);
    } else {
      auto scalar = batch.column(c)->GetScalar(last);
      std::string text = scalar.ok() ? (*scalar)->ToString() : "?";
      if (text.size() > 40) text = "<" + field.type()->ToString() + ">";
      s << text;
    }
    if (const auto unit = FieldUnit(field); !unit.empty()) s << " " << unit;
  }
  return s.str();
}

}  // namespace

int CmdStatus(const ClientOptions& client, bool json, std::ostream& out, std::ostream& err) {
  return WithConnection(client, err, [&](Connection& c) {
    auto s = CallAction(c, "status", Json::object());
    if (!s.ok()) return Report(s.status(), c.uri, err);
    if (json) {
      out << s->dump(2) << "\n";
    } else {
      PrintStatus(*s, out);
    }
    return kOk;
  });
}

int CmdRecordStart(const ClientOptions& client, const RecordStartOptions& options,
                   std::ostream& out, std::ostream& err) {
  // Check what can be checked here, with the server's own rules and words.
  if (Status st = CheckRecordingName(options.name); !st.ok()) {
    err << "arrowdaq: record start: " << st.message() << "\n";
    return kUsage;
  }
  Json body = {{"name", options.name}};
  if (!options.streams.empty()) body["streams"] = options.streams;
  if (!options.formats.empty()) body["formats"] = options.formats;
  if (!options.duration.empty()) {
    if (auto d = config::ParseDuration(options.duration); !d.ok()) {
      err << "arrowdaq: record start: --duration: " << d.status().message() << "\n";
      return kUsage;
    }
    body["duration"] = options.duration;
  }
  return WithConnection(client, err, [&](Connection& c) {
    auto r = CallAction(c, "start_recording", body);
    if (!r.ok()) return Report(r.status(), c.uri, err);
    out << "recording " << Str(*r, "id") << " started: " << Str(*r, "directory") << "\n";
    return kOk;
  });
}

int CmdRecordStop(const ClientOptions& client, const std::string& id, std::ostream& out,
                  std::ostream& err) {
  return WithConnection(client, err, [&](Connection& c) {
    auto r = CallAction(c, "stop_recording", {{"id", id}});
    if (!r.ok()) return Report(r.status(), c.uri, err);
    out << "recording " << Str(*r, "id") << " " << Str(*r, "state") << ": "
        << Str(*r, "directory") << "\n";
    for (const auto& [stream, rows] : r->at("rows").items()) {
      out << "  " << stream << ": " << rows.dump() << " rows\n";
    }
    return kOk;
  });
}

int CmdSend(const ClientOptions& client, const std::string& instrument,
            const std::string& command, std::ostream& out, std::ostream& err) {
  return WithConnection(client, err, [&](Connection& c) {
    auto r = CallAction(c, "send_command", {{"instrument", instrument}, {"command", command}});
    if (!r.ok()) return Report(r.status(), c.uri, err);
    out << r->at("reply").get<std::string>() << "\n";
    return kOk;
  });
}

int CmdWatch(const ClientOptions& client, const WatchOptions& options, std::ostream& out,
             std::ostream& err, const std::atomic<bool>* stop) {
  return WithConnection(client, err, [&](Connection& c) -> int {
    // First contact with a deadline, so a wrong address fails fast and a wrong name clearly.
    auto info = c.client->GetFlightInfo(c.options, fl::FlightDescriptor::Path({options.stream}));
    if (!info.ok()) return Report(info.status(), c.uri, err);
    auto reader = c.client->DoGet(c.streaming, fl::Ticket{LiveTicket(options.stream)});
    if (!reader.ok()) return Report(reader.status(), c.uri, err);

    // Next() blocks; a helper thread reads so this one can keep time and watch `stop`.
    struct Shared {
      std::mutex mutex;
      std::condition_variable ready;
      std::deque<fl::FlightStreamChunk> chunks;
      Status end;
      bool done = false;
    } shared;
    std::thread pump([&] {
      while (true) {
        auto chunk = (*reader)->Next();
        std::lock_guard lock(shared.mutex);
        if (!chunk.ok() || chunk->data == nullptr) {
          shared.end = chunk.status();
          shared.done = true;
          shared.ready.notify_all();
          return;
        }
        shared.chunks.push_back(std::move(*chunk));
        shared.ready.notify_all();
      }
    });

    std::uint64_t batches = 0, rows = 0, lost_total = 0, lost_line = 0;
    std::optional<std::uint64_t> next_expected;
    std::optional<std::uint64_t> reported_dropped;
    std::uint64_t last_sequence = 0;
    std::shared_ptr<arrow::RecordBatch> latest;
    auto line_start = Clock::now();
    int code = kOk;
    auto print_line = [&] {
      const double seconds = std::chrono::duration<double>(Clock::now() - line_start).count();
      out << options.stream << ": " << std::fixed << std::setprecision(1)
          << (seconds > 0 ? static_cast<double>(rows) / seconds : 0.0) << " rows/s, "
          << lost_line << " dropped (" << lost_total << " in total), sequence " << last_sequence;
      out.unsetf(std::ios::fixed);
      if (latest) out << ", latest " << LatestValues(*latest);
      out << "\n" << std::flush;
      rows = 0;
      lost_line = 0;
      line_start = Clock::now();
    };
    while (true) {
      std::deque<fl::FlightStreamChunk> got;
      bool done = false;
      Status end;
      {
        std::unique_lock lock(shared.mutex);
        shared.ready.wait_for(lock, std::chrono::milliseconds(100),
                              [&] { return shared.done || !shared.chunks.empty(); });
        got.swap(shared.chunks);
        done = shared.done;
        end = shared.end;
      }
      for (auto& chunk : got) {
        Json meta = chunk.app_metadata
                        ? Json::parse(chunk.app_metadata->ToString(), nullptr, false)
                        : Json();
        const std::uint64_t seq = meta.value("sequence", std::uint64_t{0});
        const std::uint64_t dropped = meta.value("dropped", std::uint64_t{0});
        // Losses by the sequence numbers; the server's count must say the same.
        const std::uint64_t gap =
            next_expected && seq > *next_expected ? seq - *next_expected : 0;
        lost_line += gap;
        lost_total += gap;
        if (reported_dropped && dropped != *reported_dropped + gap) {
          err << "arrowdaq: watch: the server counts " << dropped - *reported_dropped
              << " lost before sequence " << seq << ", the sequence numbers " << gap << "\n";
        }
        next_expected = seq + 1;
        reported_dropped = dropped;
        last_sequence = seq;
        rows += static_cast<std::uint64_t>(chunk.data->num_rows());
        latest = chunk.data;
        ++batches;
        if (options.max_batches > 0 && batches >= options.max_batches) break;
      }
      const bool enough = options.max_batches > 0 && batches >= options.max_batches;
      const bool stopped = stop != nullptr && stop->load();
      if (Clock::now() - line_start >= options.interval || enough || stopped || done) {
        print_line();
      }
      if (done) {
        if (!end.ok()) code = Report(end, c.uri, err);
        break;
      }
      if (enough || stopped) break;
    }
    (*reader)->Cancel();
    pump.join();
    return code;
  });
}

// ---------------------------------------------------------------------------------------------
// CLI11 registration

struct ClientCli::State {
  ClientOptions client;
  bool json = false;
  RecordStartOptions record;
  std::string record_id;
  std::string instrument, command;
  WatchOptions watch;
  double watch_interval_s = 1.0;
  CLI::App* status = nullptr;
  CLI::App* record_start = nullptr;
  CLI::App* record_stop = nullptr;
  CLI::App* send = nullptr;
  CLI::App* watch_cmd = nullptr;
};

ClientCli::ClientCli() : state_(std::make_unique<State>()) {}
ClientCli::~ClientCli() = default;

std::unique_ptr<ClientCli> ClientCli::Add(CLI::App& app) {
  std::unique_ptr<ClientCli> cli(new ClientCli());
  State& s = *cli->state_;
  auto connection = [&s](CLI::App* sub) {
    sub->add_option("--connect", s.client.connect, "server URI")
        ->default_str("grpc://127.0.0.1:8815");
    sub->add_option("--token-file", s.client.token_file,
                    "file holding the server's token (default: $ARROWDAQ_TOKEN)");
    sub->add_option("--tls-root-cert", s.client.tls_root_cert_file,
                    "PEM certificate to trust for grpc+tls://");
  };
  s.status = app.add_subcommand("status", "Show a running server's instruments, streams, "
                                          "recordings and clients");
  connection(s.status);
  s.status->add_flag("--json", s.json, "print the raw status answer");

  auto* record = app.add_subcommand("record", "Start or stop a recording on a running server");
  record->require_subcommand(1);
  s.record_start = record->add_subcommand("start", "Start a recording");
  connection(s.record_start);
  s.record_start->add_option("NAME", s.record.name, "recording name")->required();
  s.record_start->add_option("--stream", s.record.streams, "a stream to record (repeat; default all)");
  s.record_start->add_option("--format", s.record.formats, "hdf5, arrows, parquet, csv (repeat)");
  s.record_start->add_option("--duration", s.record.duration, "stop by itself after this long");
  s.record_stop = record->add_subcommand("stop", "Stop a recording");
  connection(s.record_stop);
  s.record_stop->add_option("ID", s.record_id, "the id start printed")->required();

  s.send = app.add_subcommand("send", "Send one command to an instrument and print its reply");
  connection(s.send);
  s.send->add_option("INSTRUMENT", s.instrument)->required();
  s.send->add_option("COMMAND", s.command)->required();

  s.watch_cmd = app.add_subcommand("watch", "Follow a stream live: rows/s, drops, latest values");
  connection(s.watch_cmd);
  s.watch_cmd->add_option("STREAM", s.watch.stream)->required();
  s.watch_cmd->add_option("--interval", s.watch_interval_s, "seconds between lines")
      ->check(CLI::Range(0.05, 3600.0));
  s.watch_cmd->add_option("--count", s.watch.max_batches, "stop after this many batches");
  return cli;
}

std::optional<int> ClientCli::Run(std::ostream& out, std::ostream& err,
                                  const std::atomic<bool>* stop) {
  State& s = *state_;
  if (*s.status) return CmdStatus(s.client, s.json, out, err);
  if (*s.record_start) return CmdRecordStart(s.client, s.record, out, err);
  if (*s.record_stop) return CmdRecordStop(s.client, s.record_id, out, err);
  if (*s.send) return CmdSend(s.client, s.instrument, s.command, out, err);
  if (*s.watch_cmd) {
    s.watch.interval = std::chrono::milliseconds(static_cast<std::int64_t>(s.watch_interval_s * 1000));
    return CmdWatch(s.client, s.watch, out, err, stop);
  }
  return std::nullopt;
}

}  // namespace arrowdaq::server
