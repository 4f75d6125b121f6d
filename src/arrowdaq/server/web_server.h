// WebServer: the live dashboard (docs/web.md). An embedded HTTP server (cpp-httplib, Debian's
// libcpp-httplib-dev) over the same EnginePort as the Flight server: the page's files (compiled
// into the binary, web_assets.h), a JSON API (/api/status, /api/streams, /api/events,
// /api/recordings, POST start/stop) and a live channel (/api/live, Server-Sent Events: status
// about twice a second, min/max-decimated plot frames of one stream up to 20 times a second).
//
// Rules, as for Flight: without a token only loopback addresses are served; with one, every
// /api call and the live channel need it (cookie arrowdaq_token set by POST /api/login,
// HttpOnly and SameSite=Strict, or "Authorization: Bearer <token>"), else 401.
//
// Slow clients: each live channel reads the engine through its own bounded drop_oldest
// LiveSubscription (engine_port.h), so it never slows the engine; frames are made when the
// previous one has been written, so a slow browser gets fewer frames, and one that stops
// reading is disconnected once a write has waited `write_timeout`.
//
// Threading: Start/Shutdown from one thread; requests run on the server's own pool threads
// (one per open connection), which call the (thread-safe) EnginePort.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "arrowdaq/core/status.h"
#include "arrowdaq/server/engine_port.h"

namespace arrowdaq::server {

struct WebOptions {
  /// Where to listen: "http://HOST:PORT" (port 0: any free port) or "off"
  /// (config: [server] http_listen).
  std::string listen = "http://127.0.0.1:8080";
  /// Whether `listen` was asked for (config key or flag). The default address, when taken by
  /// another program, only costs the dashboard (a warning); an address asked for that cannot
  /// be bound is an error.
  bool required = false;
  /// File holding the token (the same as the Flight server's; config: [server] token_file).
  std::string token_file;
  /// Live packets (and Arrow bytes) queued per live channel before the oldest is dropped.
  std::size_t client_queue = 64;
  std::int64_t client_queue_bytes = std::int64_t{64} << 20;
  /// A write to a client that waits this long ends its connection.
  std::chrono::milliseconds write_timeout{3000};
  /// Open live channels at most (more get 503); the server has this many + 8 threads.
  int max_live_clients = 8;
  /// Status frames per second on the live channel.
  double status_hz = 2;
};

class WebServer {
 public:
  /// Check `options` without binding (listen address, token file): Invalid naming the key.
  [[nodiscard]] static Status CheckOptions(const WebOptions& options);
  /// Bind and serve. Returns nullptr (no error) when listen is "off", or when the default
  /// address cannot be bound (not `required`; logged). Invalid for a usage problem, IOError
  /// when a required address cannot be bound.
  static Result<std::unique_ptr<WebServer>> Start(EnginePort& engine, WebOptions options);
  ~WebServer();
  WebServer(const WebServer&) = delete;
  WebServer& operator=(const WebServer&) = delete;

  /// Return the dashboard's URL with the bound port ("http://127.0.0.1:8080/").
  [[nodiscard]] std::string url() const;
  /// Close every live channel, stop listening and wait for the request threads. Idempotent.
  void Shutdown();

 private:
  class Impl;
  explicit WebServer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace arrowdaq::server
