#include "arrowdaq/server/serve.h"

#include <ostream>
#include <thread>

#include "arrowdaq/app/acquisition.h"

namespace arrowdaq::server {

void ApplyConfig(const config::RunConfig& config, ServeOptions* options) {
  options->adapter.output_dir = config.run.output_dir;
  options->adapter.storage = config.storage ? *config.storage : config::StorageConfig{};
  options->adapter.config_text = config.text;
  options->adapter.metadata = config.run.metadata;
  if (config.server) {
    const auto& s = *config.server;
    options->server.listen = s.listen;
    options->server.token_file = s.token_file;
    options->server.tls_cert_file = s.tls_cert;
    options->server.tls_key_file = s.tls_key;
    options->server.client_queue = s.client_queue;
    options->server.client_queue_bytes = s.client_queue_bytes;
    options->web.listen = s.http_listen;
    options->web.required = s.key_where.count("http_listen") > 0;
    options->web.client_queue = s.client_queue;
    options->web.client_queue_bytes = s.client_queue_bytes;
    options->adapter.feed.ring.max_age = s.replay_seconds;
    options->adapter.feed.ring.max_bytes = s.replay_bytes;
  }
}

Status CheckServeOptions(const ServeOptions& options) {
  ARROW_RETURN_NOT_OK(FlightServer::CheckOptions(options.server));
  WebOptions web = options.web;
  web.token_file = options.server.token_file;
  return WebServer::CheckOptions(web);
}

Result<std::unique_ptr<AttachedServer>> AttachedServer::Attach(app::Engine& engine,
                                                               const ServeOptions& options) {
  ARROW_RETURN_NOT_OK(CheckServeOptions(options));
  std::unique_ptr<AttachedServer> attached(new AttachedServer());
  ARROW_ASSIGN_OR_RAISE(attached->adapter_, EngineAdapter::Make(engine, options.adapter));
  ARROW_ASSIGN_OR_RAISE(attached->flight_,
                        FlightServer::Start(*attached->adapter_, options.server));
  WebOptions web = options.web;
  web.token_file = options.server.token_file;
  ARROW_ASSIGN_OR_RAISE(attached->web_, WebServer::Start(*attached->adapter_, std::move(web)));
  return attached;
}

AttachedServer::~AttachedServer() { Detach(); }

void AttachedServer::Detach(const std::string& reason) {
  if (web_) web_->Shutdown();
  if (flight_) flight_->Shutdown();
  if (adapter_) adapter_->Shutdown(reason);
}

Serve::Serve(config::RunConfig config, ServeOptions options)
    : config_(std::move(config)), options_(std::move(options)) {}

Serve::~Serve() = default;

Result<std::unique_ptr<Serve>> Serve::Make(config::RunConfig config, ServeOptions options) {
  // The config's checks are `arrowdaq run`'s (it also puts processors in dependency order).
  ARROW_ASSIGN_OR_RAISE(auto checked, app::Acquisition::Make(std::move(config), {}));
  ARROW_RETURN_NOT_OK(CheckServeOptions(options));
  return std::unique_ptr<Serve>(new Serve(checked->config(), std::move(options)));
}

Status Serve::Run() {
  app::EngineOptions eo;
  eo.threads = options_.threads;
  eo.on_fatal = [this](const Status& st) {
    {
      std::lock_guard lock(mutex_);
      if (!failed_.exchange(true)) failure_ = st;
    }
    RequestStop();
  };
  ARROW_ASSIGN_OR_RAISE(auto engine, app::Engine::Make(config_, std::move(eo)));
  Status st = engine->Prepare();
  if (st.ok()) st = engine->ConnectInstruments();
  std::unique_ptr<AttachedServer> server;
  if (st.ok()) {
    auto attached = AttachedServer::Attach(*engine, options_);
    if (attached.ok()) {
      server = std::move(attached).ValueUnsafe();
    } else {
      st = attached.status();
    }
  }
  if (st.ok()) st = engine->StartAcquisition();
  if (st.ok()) {
    if (options_.out) {
      *options_.out << "listening on " << server->uri() << std::endl;
      if (!server->web_url().empty()) {
        *options_.out << "dashboard on " << server->web_url() << std::endl;
      }
    }
    while (!stop_requested_.load(std::memory_order_relaxed)) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
      engine->Tick();
    }
  }
  if (server) {
    server->Detach(failed_.load() ? "engine failed" : "server stopped (signal)");
  }
  engine->Stop();
  if (st.ok() && failed_.load()) {
    std::lock_guard lock(mutex_);
    st = failure_;
  }
  if (st.ok() && options_.out) *options_.out << "stopped" << std::endl;
  return st;
}

}  // namespace arrowdaq::server
