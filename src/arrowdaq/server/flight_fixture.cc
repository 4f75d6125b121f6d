// flight_fixture: serve a FakeEngine (real sim instruments from a config file, fake recordings)
// over the Flight server, for the Python tests (tests/python/test_flight_server.py) until
// `arrowdaq serve` exists. It prints one line, "listening on <uri>", once clients may connect,
// and runs until SIGINT or SIGTERM, then shuts down cleanly and exits 0. Usage and config
// errors exit 2 (as `arrowdaq serve` will), failures 1.
#include <signal.h>

#include <cstdio>
#include <iostream>

#include <CLI/CLI.hpp>

#include "arrowdaq/config/config.h"
#include "arrowdaq/server/fake_engine.h"
#include "arrowdaq/server/flight_server.h"

namespace {

int Main(int argc, char** argv) {
  CLI::App app{"Serve simulated instruments over Arrow Flight (test fixture)"};
  std::string config_path;
  arrowdaq::server::ServerOptions server;
  arrowdaq::server::FakeEngineOptions engine;
  double replay_seconds = 10;
  std::int64_t replay_bytes = std::int64_t{64} << 20;
  app.add_option("--config", config_path, "instruments ([instruments.*] tables)")->required();
  app.add_option("--listen", server.listen, "grpc://HOST:PORT (port 0: any free port)");
  app.add_option("--token-file", server.token_file, "bearer token file");
  app.add_option("--tls-cert", server.tls_cert_file, "PEM certificate");
  app.add_option("--tls-key", server.tls_key_file, "PEM key");
  app.add_option("--output", engine.output_dir, "recordings' output directory");
  app.add_option("--replay-seconds", replay_seconds, "replay ring: sample time kept")
      ->check(CLI::NonNegativeNumber);
  app.add_option("--replay-bytes", replay_bytes, "replay ring: bytes kept per stream")
      ->check(CLI::NonNegativeNumber);
  app.add_option("--client-queue", server.client_queue, "live packets queued per client");
  app.add_option("--client-queue-bytes", server.client_queue_bytes,
                 "Arrow buffer bytes queued per client at most");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  }
  engine.feed.ring.max_age = std::chrono::nanoseconds(static_cast<std::int64_t>(replay_seconds * 1e9));
  engine.feed.ring.max_bytes = replay_bytes;

  // Signals are taken by sigwait below, in this thread only: block them before any thread starts.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  auto config = arrowdaq::config::LoadConfigFile(config_path);
  if (!config.ok()) {
    std::cerr << "flight_fixture: " << config.status().message() << "\n";
    return 2;
  }
  auto fake = arrowdaq::server::FakeEngine::Make(*config, engine);
  if (!fake.ok()) {
    std::cerr << "flight_fixture: " << fake.status().message() << "\n";
    return fake.status().IsInvalid() ? 2 : 1;
  }
  auto flight = arrowdaq::server::FlightServer::Start(**fake, server);
  if (!flight.ok()) {
    std::cerr << "flight_fixture: " << flight.status().message() << "\n";
    (*fake)->Shutdown();
    return flight.status().IsInvalid() ? 2 : 1;
  }
  std::cout << "listening on " << (*flight)->uri() << std::endl;

  int signal = 0;
  sigwait(&signals, &signal);
  (*flight)->Shutdown();
  (*fake)->Shutdown();
  std::cout << "stopped on signal " << signal << std::endl;
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return Main(argc, argv);
  } catch (const std::exception& e) {
    std::cerr << "flight_fixture: " << e.what() << "\n";
    return 1;
  }
}
