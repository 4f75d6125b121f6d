// Client commands: the thin CLI conveniences over a Flight connection to a running arrowdaq
// server -- `arrowdaq status`, `record start|stop`, `send`, `watch` -- as library functions, so
// that main() only parses the command line and the functions are tested against a real server.
// Each prints what the user asked for to `out`, errors (naming the server and what went wrong)
// to `err`, and returns the exit code: 0 done; 2 the request was refused as wrong (bad value,
// unknown instrument, stream or recording, missing or wrong token, unreadable token file);
// 1 anything else (server unreachable, instrument did not answer, internal error).
//
// The token comes from --token-file, else from the ARROWDAQ_TOKEN environment variable, else
// none. Threading: one command per call; any thread. Watch polls `stop` (set it from a signal
// handler) about every 100 ms.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <iosfwd>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace CLI {
class App;
}

namespace arrowdaq::server {

struct ClientOptions {
  /// Server URI (grpc://HOST:PORT, grpc+tls://..., grpc+unix://...).
  std::string connect = "grpc://127.0.0.1:8815";
  /// Token file; "" uses ARROWDAQ_TOKEN when set.
  std::string token_file;
  /// PEM certificate(s) to trust for grpc+tls (e.g. the server's self-signed certificate);
  /// "" uses the system's roots.
  std::string tls_root_cert_file;
  /// Deadline of each control call (status, record, send; watch's first contact).
  std::chrono::milliseconds timeout{10'000};
};

/// Print the server's status: instruments, streams, recordings and clients (`json`: the raw
/// status answer instead).
int CmdStatus(const ClientOptions& client, bool json, std::ostream& out, std::ostream& err);

struct RecordStartOptions {
  std::string name;
  std::vector<std::string> streams;  ///< empty: every stream
  std::vector<std::string> formats;  ///< empty: the server's default
  std::string duration;              ///< "" none; else a duration ("10s") -- config syntax
};
/// Start a recording; prints its id and directory.
int CmdRecordStart(const ClientOptions& client, const RecordStartOptions& options,
                   std::ostream& out, std::ostream& err);
/// Stop a recording; prints its final state and rows per stream.
int CmdRecordStop(const ClientOptions& client, const std::string& id, std::ostream& out,
                  std::ostream& err);

/// Send one command to an instrument; prints the reply.
int CmdSend(const ClientOptions& client, const std::string& instrument,
            const std::string& command, std::ostream& out, std::ostream& err);

struct WatchOptions {
  std::string stream;
  /// Seconds between lines.
  std::chrono::milliseconds interval{1'000};
  /// Stop after this many batches (0: until `stop` or the stream ends).
  std::uint64_t max_batches = 0;
};
/// Follow a stream live: one line per interval with rows/s, the batches lost since the
/// previous line and in total (sequence numbers and the server's counts agree), the last
/// sequence number and the latest value of each channel with its unit.
int CmdWatch(const ClientOptions& client, const WatchOptions& options, std::ostream& out,
             std::ostream& err, const std::atomic<bool>* stop = nullptr);

/// Register `status`, `record start|stop`, `send` and `watch` with their options on `app`
/// (CLI11) and return the handle that runs whichever was chosen. The lead's main() does:
///   auto client = arrowdaq::server::ClientCli::Add(app);
///   ... app.parse(argc, argv) ...
///   if (auto code = client->Run(std::cout, std::cerr, &g_stop)) return *code;
class ClientCli {
 public:
  static std::unique_ptr<ClientCli> Add(CLI::App& app);
  ~ClientCli();
  /// Run the chosen client command; nullopt when none of them was chosen.
  std::optional<int> Run(std::ostream& out, std::ostream& err,
                         const std::atomic<bool>* stop = nullptr);

 private:
  ClientCli();
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace arrowdaq::server
