// FlightServer: arrowdaq's one network surface for data and control, an Arrow Flight (gRPC)
// service over an EnginePort.
//
//   ListFlights / GetFlightInfo / GetSchema  one flight per stream: its schema (units and
//       provenance in metadata), a live ticket, and the stream's description as JSON in the
//       FlightInfo's app_metadata.
//   DoGet(ticket)  a stream's record batches from a LiveSubscription (live, replay or since; see
//       requests.h); every batch's app_metadata is {"stream", "sequence", "dropped"}. A client
//       that reads slowly loses its oldest packets (bounded drop_oldest queue), counted in
//       "dropped", and slows nothing else.
//   DoAction / ListActions  status, recordings, instrument commands (requests.h lists them).
//
// Every RPC passes one middleware first: with a token configured, a call without
// "authorization: Bearer <token>" or with a wrong one ends UNAUTHENTICATED before any handler
// runs. Without a token, Start refuses to listen beyond loopback. Client input is parsed by
// requests.h; errors become INVALID_ARGUMENT / NOT_FOUND / ... with the message naming the
// field. No exception leaves a handler.
//
// Ownership: the server borrows the engine (which must outlive it) and owns its gRPC server.
// Threading: gRPC runs handlers on its own threads, many at once; Start, Shutdown and Wait may
// be called from any thread (Shutdown is idempotent and async-signal-unsafe: call it from a
// normal thread, e.g. one that waited for the signal).
#pragma once

#include <cstddef>
#include <memory>
#include <string>

#include "arrowdaq/core/status.h"
#include "arrowdaq/server/engine_port.h"

namespace arrowdaq::server {

struct ServerOptions {
  /// Where to listen (config: [server] listen). Port 0 picks a free port (see uri()).
  std::string listen = "grpc://127.0.0.1:8815";
  /// File holding the bearer token (config: [server] token_file); "" for none.
  std::string token_file;
  /// PEM certificate chain and private key for TLS (config: [server] tls_cert, tls_key).
  std::string tls_cert_file;
  std::string tls_key_file;
  /// Live packets queued per DoGet client unless its ticket asks otherwise
  /// (config: [server] client_queue).
  std::size_t client_queue = 64;
  /// Largest queue a ticket may ask for.
  std::size_t max_client_queue = 4096;
  /// Arrow buffer bytes queued per DoGet client at most (oldest dropped beyond), whatever
  /// its queue length (config: [server] client_queue_bytes).
  std::int64_t client_queue_bytes = std::int64_t{64} << 20;
  /// Ended DoGet clients kept in the status answer, for their final counters.
  std::size_t ended_clients_kept = 64;
};

class FlightServer {
 public:
  /// Check `options`, bind and start serving. Invalid: a usage or configuration problem (bad
  /// URI, listening beyond loopback without a token, unreadable token or TLS files) -- exit
  /// code 2; IOError: the address cannot be bound -- exit code 1.
  static Result<std::unique_ptr<FlightServer>> Start(EnginePort& engine, ServerOptions options);
  /// Make Start's checks without binding (for `arrowdaq validate` and before an engine starts):
  /// the same Invalid errors.
  [[nodiscard]] static Status CheckOptions(const ServerOptions& options);
  /// Shut down (see Shutdown).
  ~FlightServer();
  FlightServer(const FlightServer&) = delete;
  FlightServer& operator=(const FlightServer&) = delete;

  /// Return the URI clients connect to, with the port actually bound
  /// ("grpc+tcp://127.0.0.1:40123", "grpc+tls://...", "grpc+unix:///run/x.sock").
  [[nodiscard]] std::string uri() const;
  /// Return the bound TCP port (-1 for a unix socket).
  [[nodiscard]] int port() const;

  /// End every live stream, refuse new calls and wait (at most about 2 s for clients that do
  /// not read) until the calls in flight have finished. Idempotent.
  void Shutdown();
  /// Block until Shutdown has completed.
  void Wait();

 private:
  class Service;
  explicit FlightServer(std::unique_ptr<Service> service);
  std::unique_ptr<Service> service_;
};

}  // namespace arrowdaq::server
