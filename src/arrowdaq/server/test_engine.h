// TestEngine: the real engine of a config behind an EngineAdapter, started as `arrowdaq serve`
// starts it, for the server's in-process tests (flight_server_test, client_commands_test).
// Threading: Make and Shutdown from the test's thread.
#pragma once

#include <memory>
#include <string>

#include "arrowdaq/app/engine.h"
#include "arrowdaq/config/config.h"
#include "arrowdaq/server/engine_adapter.h"

namespace arrowdaq::server {

struct TestEngine {
  std::unique_ptr<app::Engine> engine;
  std::unique_ptr<EngineAdapter> adapter;

  /// Prepare, connect and start every instrument of `config_text` (no processors needed).
  static Result<std::unique_ptr<TestEngine>> Make(const std::string& config_text,
                                                  const std::string& output_dir) {
    ARROW_ASSIGN_OR_RAISE(auto config, config::ParseConfig(config_text, "test.toml"));
    auto made = std::make_unique<TestEngine>();
    EngineAdapterOptions options;
    options.output_dir = output_dir;
    options.config_text = config.text;
    ARROW_ASSIGN_OR_RAISE(made->engine, app::Engine::Make(std::move(config), {}));
    ARROW_RETURN_NOT_OK(made->engine->Prepare());
    ARROW_RETURN_NOT_OK(made->engine->ConnectInstruments());
    ARROW_ASSIGN_OR_RAISE(made->adapter, EngineAdapter::Make(*made->engine, options));
    ARROW_RETURN_NOT_OK(made->engine->StartAcquisition());
    return made;
  }
  ~TestEngine() { Shutdown(); }
  /// Stop recordings and the feed, then the engine. Idempotent.
  void Shutdown() {
    if (adapter) adapter->Shutdown();
    if (engine) engine->Stop();
  }
  pipeline::StreamRouter& router() { return engine->router(); }
  EnginePort& port() { return *adapter; }
};

}  // namespace arrowdaq::server
