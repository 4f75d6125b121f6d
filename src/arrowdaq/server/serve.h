// Serve: `arrowdaq serve CONFIG` -- the engine of a config, running until told to stop, behind
// the Flight server. Run() prepares the engine, connects its instruments, attaches an
// EngineAdapter (live feed, recordings) and the Flight server, starts acquisition, prints
// "listening on <uri>" and then ticks the engine (events, rate checks) until RequestStop. The
// stop is ordered: the Flight server ends its streams and calls, the adapter stops every open
// recording (files closed, summary.json written, outcome "stopped"), then the engine stops.
//
// AttachServer does the middle part for `arrowdaq run --serve`: a Flight server over an engine
// that someone else runs, detached again before that engine stops.
//
// Threading: Make and Run from one thread (main); RequestStop from any thread or a signal
// handler (it only stores to an atomic).
#pragma once

#include <atomic>
#include <functional>
#include <iosfwd>
#include <memory>
#include <string>

#include "arrowdaq/app/engine.h"
#include "arrowdaq/config/config.h"
#include "arrowdaq/core/status.h"
#include "arrowdaq/server/engine_adapter.h"
#include "arrowdaq/server/flight_server.h"
#include "arrowdaq/server/web_server.h"

namespace arrowdaq::server {

struct ServeOptions {
  ServerOptions server;
  /// The dashboard (docs/web.md); its token file is the Flight server's.
  WebOptions web;
  /// Output directory, storage defaults, replay rings (see EngineAdapterOptions).
  EngineAdapterOptions adapter;
  /// Executor threads of the engine's actor system.
  int threads = 2;
  /// Where "listening on <uri>" and the stop line go (nullptr: nowhere).
  std::ostream* out = nullptr;
};

/// Check the Flight server's and the dashboard's options (see their CheckOptions).
[[nodiscard]] Status CheckServeOptions(const ServeOptions& options);

/// Fill the server and adapter options from a config's [server], [storage] and [run] tables
/// (command-line flags are applied afterwards by the caller).
void ApplyConfig(const config::RunConfig& config, ServeOptions* options);

/// A Flight server over an engine it does not own.
class AttachedServer {
 public:
  /// Start an adapter and a Flight server over `engine` (prepared: its router exists).
  /// Invalid for a usage problem (exit 2), IOError when the address cannot be bound.
  static Result<std::unique_ptr<AttachedServer>> Attach(app::Engine& engine,
                                                        const ServeOptions& options);
  /// Detach (see Detach).
  ~AttachedServer();
  /// End the Flight server's calls, stop the recordings started through it. Idempotent.
  void Detach(const std::string& reason = "server stopped (signal)");
  [[nodiscard]] std::string uri() const { return flight_->uri(); }
  /// Return the dashboard's URL, "" when http_listen is "off".
  [[nodiscard]] std::string web_url() const { return web_ ? web_->url() : ""; }
  EngineAdapter& adapter() { return *adapter_; }

 private:
  AttachedServer() = default;
  std::unique_ptr<EngineAdapter> adapter_;
  std::unique_ptr<FlightServer> flight_;
  std::unique_ptr<WebServer> web_;
};

class Serve {
 public:
  /// Check the config as `arrowdaq run` does and the server options (listen address, token
  /// and TLS files): Invalid (exit 2) with the key or flag at fault.
  static Result<std::unique_ptr<Serve>> Make(config::RunConfig config, ServeOptions options);
  ~Serve();

  /// Serve until RequestStop. Errors: Invalid when the server cannot start for a usage reason
  /// (exit 2), anything else a failure (exit 1).
  Status Run();
  /// Ask Run to stop cleanly; async-signal-safe.
  void RequestStop() { stop_requested_.store(true, std::memory_order_relaxed); }

 private:
  Serve(config::RunConfig config, ServeOptions options);
  config::RunConfig config_;
  ServeOptions options_;
  std::atomic<bool> stop_requested_{false};
  std::atomic<bool> failed_{false};
  std::mutex mutex_;
  Status failure_;  // guarded by mutex_
};

}  // namespace arrowdaq::server
