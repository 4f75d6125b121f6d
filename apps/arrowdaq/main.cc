// arrowdaq: the command-line tool. A thin layer over arrowdaq::app: parse the command line,
// map outcomes to exit codes (0 success, 2 bad usage or config, 1 failure during the run).
//
// Each subcommand is one Add<Name> function that declares its options and returns what runs it;
// adding a subcommand is adding one such function and one line in main. No exception leaves
// main: a last-resort handler prints it and exits 1.
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <csignal>
#include <cstdio>
#include <exception>
#include <filesystem>
#include <functional>
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "arrowdaq/app/acquisition.h"
#include "arrowdaq/app/isolated.h"
#include "arrowdaq/app/probe.h"
#include "arrowdaq/app/run_plan.h"
#include "arrowdaq/app/scan_run.h"
#include "arrowdaq/app/stop_signals.h"
#include "arrowdaq/config/config.h"
#include "arrowdaq/core/options.h"
#include "arrowdaq/instruments/driver.h"
#include "arrowdaq/pipeline/processor.h"
#include "arrowdaq/server/client_commands.h"
#include "arrowdaq/server/serve.h"
#include "arrowdaq/storage/export.h"
#include "arrowdaq/storage/inspect.h"
#include "arrowdaq/telemetry/logging.h"

#ifndef ARROWDAQ_VERSION
#define ARROWDAQ_VERSION "0.0.0"
#endif

namespace {

constexpr int kExitOk = 0;
constexpr int kExitFailure = 1;
constexpr int kExitUsage = 2;

// ---------------------------------------------------------------------------------------------
// Helpers

int Fail(int code, const arrowdaq::Status& st) {
  std::cerr << "arrowdaq: " << st.message() << '\n';
  return code;
}

// Parse a duration given as a command-line option; errors name the option.
arrowdaq::Result<std::chrono::milliseconds> ParseTimeout(const std::string& option,
                                                         const std::string& text) {
  auto d = arrowdaq::config::ParseDuration(text);
  if (!d.ok()) return arrowdaq::Status::Invalid(option, ": ", d.status().message());
  return std::chrono::duration_cast<std::chrono::milliseconds>(*d);
}

/// A subcommand: the CLI11 node that declares it and what runs it once it was chosen.
struct Command {
  CLI::App* app;
  std::function<int()> run;
};

// ---------------------------------------------------------------------------------------------
// arrowdaq run

// Log what the run will build: at debug one line per instrument, processor and storage, at
// trace each instrument's options as given.
void LogPlan(const arrowdaq::app::RunPlan& plan, const arrowdaq::config::RunConfig& config) {
  using arrowdaq::config::FormatByteSize;
  auto log = arrowdaq::telemetry::GetLogger("plan");
  for (std::size_t i = 0; i < plan.instruments.size(); ++i) {
    const auto& inst = plan.instruments[i];
    const auto& m = inst.memory;
    log->debug("instrument {}: driver {}, resource {}, {} rows x {} B per batch ({}), up to {} "
               "batches queued ({})",
               inst.name, inst.driver, inst.resource, m.batch_rows, m.row_bytes,
               FormatByteSize(static_cast<double>(m.batch_bytes)), m.queued_batches,
               FormatByteSize(static_cast<double>(m.queue_bytes)));
    for (const auto& [key, option] : config.instruments[i].options) {
      log->trace("instrument {}: option {} = {} ({})", inst.name, key,
                 arrowdaq::FormatOptionValue(option.value), option.where.ToString());
    }
  }
  for (const auto& proc : plan.processors) {
    log->debug("processor {}: {} of {}, {} rows per batch at most", proc.config.output,
               proc.config.kind, proc.config.input, proc.memory.batch_rows);
  }
  std::string formats;
  for (const auto& f : plan.storage.formats) formats += (formats.empty() ? "" : ", ") + f;
  std::string streams;
  for (const auto& s : plan.stored_streams) streams += (streams.empty() ? "" : ", ") + s;
  log->debug("storage: {} of {}; queue {} packets", formats, streams, plan.storage.capacity);
}

// Flags of `serve` (and `run --serve`) that override the config's [server] table.
struct ServeFlags {
  bool serve = false;  // run only: serve during the run
  std::string listen, token_file, tls_cert, tls_key;
  std::string http_listen;  // the dashboard (docs/web.md)
};

void ApplyServeFlags(const ServeFlags& flags, arrowdaq::server::ServeOptions* options) {
  if (!flags.listen.empty()) options->server.listen = flags.listen;
  if (!flags.token_file.empty()) options->server.token_file = flags.token_file;
  if (!flags.tls_cert.empty()) options->server.tls_cert_file = flags.tls_cert;
  if (!flags.tls_key.empty()) options->server.tls_key_file = flags.tls_key;
  if (!flags.http_listen.empty()) {
    options->web.listen = flags.http_listen;
    options->web.required = true;
  }
}

// Check the server's settings (listen address, token and TLS files) before anything starts;
// with a [server] table the message points at it.
arrowdaq::Status CheckServer(const arrowdaq::config::RunConfig& config,
                             const arrowdaq::server::ServeOptions& options) {
  arrowdaq::Status st = arrowdaq::server::CheckServeOptions(options);
  if (st.ok() || !config.server) return st;
  // A dashboard address from the file: point at its value (file:line:column).
  if (st.message().rfind("http_listen", 0) == 0 && config.server->key_where.count("http_listen") &&
      options.web.listen == config.server->http_listen) {
    return arrowdaq::config::ErrorAt(config.server->At("http_listen"), "server.http_listen",
                                     st.message());
  }
  return arrowdaq::config::ErrorAt(config.server->where, "server", st.message());
}

// Load CONFIG and apply the command line's overrides of its [run] keys (errors name the file
// and line, or the option).
arrowdaq::Result<arrowdaq::config::RunConfig> LoadWithOverrides(
    const std::string& path, const arrowdaq::config::RunOverrides& overrides) {
  ARROW_ASSIGN_OR_RAISE(auto config, arrowdaq::config::LoadConfigFile(path));
  ARROW_RETURN_NOT_OK(arrowdaq::config::ApplyOverrides(overrides, &config));
  return config;
}

// The overrides given, as the command line spelled them ("--output", "DIR", ...).
std::vector<std::string> OverrideArgs(const arrowdaq::config::RunOverrides& overrides) {
  std::vector<std::string> args;
  for (const auto& [flag, value] :
       {std::pair{"--duration", &overrides.duration}, {"--output", &overrides.output},
        {"--log-level", &overrides.log_level}}) {
    if (value->has_value()) args.insert(args.end(), {flag, **value});
  }
  return args;
}

// The level named in the file or on the command line; else $ARROWDAQ_LOG_LEVEL, else info.
arrowdaq::Status SetupLoggingFor(const arrowdaq::config::RunConfig& config) {
  const bool level_given = config.run.key_where.count("log_level") != 0;
  return arrowdaq::telemetry::SetupLogging(level_given ? config.run.log_level : "");
}

struct RunArgs {
  std::string config_path;
  arrowdaq::config::RunOverrides overrides;
  std::vector<std::string> meta;  ///< --meta key=value, in order
  ServeFlags serve;
};

int CmdRun(const RunArgs& args) {
  using namespace arrowdaq;
  // First: a signal during start-up stops the run as soon as it exists (app/stop_signals.h).
  app::InstallStopSignals();
  auto config = LoadWithOverrides(args.config_path, args.overrides);
  if (!config.ok()) return Fail(kExitUsage, config.status());
  // What overrode the config, recorded in the run (overrides.toml) to reproduce it.
  std::vector<std::string> overrides = OverrideArgs(args.overrides);
  for (const auto& m : args.meta) {
    auto kv = config::ParseMetadataArgument(m);
    if (!kv.ok()) {
      return Fail(kExitUsage, kv.status().WithMessage("--meta: ", kv.status().message()));
    }
    config::SetMetadata(&config->run.metadata, kv->first, kv->second);
    overrides.insert(overrides.end(), {"--meta", m});
  }
  if (Status st = SetupLoggingFor(*config); !st.ok()) return Fail(kExitUsage, st);
  if (telemetry::GetLogger("plan")->should_log(spdlog::level::debug)) {
    if (auto plan = app::PlanRun(*config); plan.ok()) LogPlan(*plan, *config);
  }
  app::AcquisitionOptions options;
  options.override_args = std::move(overrides);
  options.progress = &std::cerr;
  options.progress_fd = STDERR_FILENO;
  options.interactive = isatty(STDERR_FILENO) != 0;
  // A Flight server during the run: --serve, --listen or a [server] table.
  if (args.serve.serve || !args.serve.listen.empty() || config->server) {
    server::ServeOptions serve;
    server::ApplyConfig(*config, &serve);
    ApplyServeFlags(args.serve, &serve);
    serve.adapter.override_args = options.override_args;
    if (Status st = CheckServer(*config, serve); !st.ok()) return Fail(kExitUsage, st);
    options.attach = [serve](app::Engine& engine) -> Result<std::function<void()>> {
      ARROW_ASSIGN_OR_RAISE(auto attached, server::AttachedServer::Attach(engine, serve));
      std::cerr << "arrowdaq: serving on " << attached->uri() << std::endl;
      if (!attached->web_url().empty()) {
        std::cerr << "arrowdaq: dashboard on " << attached->web_url() << std::endl;
      }
      std::shared_ptr<server::AttachedServer> shared = std::move(attached);
      return std::function<void()>([shared] { shared->Detach("the run ended"); });
    };
  }
  auto acquisition = app::Acquisition::Make(std::move(config).ValueUnsafe(), options);
  if (!acquisition.ok()) return Fail(kExitUsage, acquisition.status());
  app::SetStopTarget(
      [](void* acquisition) { static_cast<app::Acquisition*>(acquisition)->RequestStop(); },
      acquisition->get());
  Status st = (*acquisition)->Run();
  app::SetStopTarget(nullptr, nullptr);
  // A closed stdout (`arrowdaq run ... | head -1`) fails this write quietly: SIGPIPE is ignored.
  std::cout << app::FormatSummary((*acquisition)->summary()) << std::flush;
  if (!st.ok()) return Fail(kExitFailure, st);
  return kExitOk;
}

Command AddRun(CLI::App& app) {
  auto args = std::make_shared<RunArgs>();
  auto* cmd = app.add_subcommand("run", "Acquire from the instruments of CONFIG");
  cmd->add_option("config", args->config_path, "Run configuration (TOML)")->required();
  cmd->add_option("--duration", args->overrides.duration,
                  "Stop after this long (e.g. 10s, 2min); overrides run.duration");
  cmd->add_option("--output", args->overrides.output,
                  "Output directory; overrides run.output");
  cmd->add_option("--log-level", args->overrides.log_level,
                  "trace, debug, info, warn, error or off; overrides run.log_level");
  cmd->add_option("--meta", args->meta,
                  "Run metadata key=value (repeatable); adds to or overrides [run.metadata]")
      ->allow_extra_args(false);
  cmd->add_flag("--serve", args->serve.serve,
                "Serve the run's streams over Arrow Flight while it runs (docs/server.md)");
  cmd->add_option("--listen", args->serve.listen,
                  "Flight server address (implies --serve; default [server] listen, "
                  "grpc://127.0.0.1:8815)");
  cmd->add_option("--token-file", args->serve.token_file,
                  "Flight server: file holding the bearer token clients must send");
  cmd->add_option("--http-listen", args->serve.http_listen,
                  "Dashboard address: http://HOST:PORT or off (default [server] http_listen, "
                  "http://127.0.0.1:8080; docs/web.md)");
  return {cmd, [args] { return CmdRun(*args); }};
}

// ---------------------------------------------------------------------------------------------
// arrowdaq scan

struct ScanArgs {
  std::string config_path;
  std::string plan;
  arrowdaq::config::RunOverrides overrides;
};

constexpr int kExitAborted = 130;

int CmdScan(const ScanArgs& args) {
  using namespace arrowdaq;
  app::InstallStopSignals();
  auto config = LoadWithOverrides(args.config_path, args.overrides);
  if (!config.ok()) return Fail(kExitUsage, config.status());
  if (Status st = SetupLoggingFor(*config); !st.ok()) return Fail(kExitUsage, st);
  std::string names;
  const config::PlanConfig* plan = nullptr;
  for (const auto& p : config->plans) {
    names += (names.empty() ? "" : ", ") + p.name;
    if (p.name == args.plan || (args.plan.empty() && config->plans.size() == 1)) plan = &p;
  }
  if (config->plans.empty()) {
    return Fail(kExitUsage, Status::Invalid(args.config_path, ": no [[plans]] to scan"));
  }
  if (plan == nullptr) {
    return Fail(kExitUsage,
                Status::Invalid(args.plan.empty() ? "--plan: " + args.config_path +
                                                        " has several plans; name one"
                                                  : "--plan: no plan '" + args.plan + "'",
                                " (plans: ", names, ")"));
  }
  auto run_plan = app::PlanRun(*config);
  if (!run_plan.ok()) return Fail(kExitUsage, run_plan.status());
  for (const auto& stream : run_plan->streams()) {
    if (stream->name == app::ScanExecutor::kStreamName) {
      return Fail(kExitUsage, Status::Invalid(args.config_path, ": a scan publishes its points as "
                                              "the stream 'scan'; rename the instrument or "
                                              "processor called 'scan'"));
    }
    if (stream->name == "scan_grid") {  // run.h5 /scan_grid: the image of a grid scan
      return Fail(kExitUsage, Status::Invalid(args.config_path, ": run.h5 holds a grid scan's "
                                              "image as /scan_grid; rename the instrument or "
                                              "processor called 'scan_grid'"));
    }
  }

  struct Shared {
    std::unique_ptr<app::ScanExecutor> executor;
    app::Acquisition* acquisition = nullptr;
  };
  auto shared = std::make_shared<Shared>();
  app::AcquisitionOptions options;
  options.override_args = OverrideArgs(args.overrides);
  options.duration = std::chrono::nanoseconds(0);  // the scan ends the run
  options.also_store = {app::ScanExecutor::kStreamName};  // its points, whatever storage.streams
  options.prepared = [shared, scan = *plan, planned = *run_plan](app::Engine& engine) -> Status {
    app::ScanOptions so;
    so.progress = &std::cerr;
    so.interactive = isatty(STDERR_FILENO) != 0;
    so.input_fd = STDIN_FILENO;
    ARROW_ASSIGN_OR_RAISE(shared->executor, app::ScanExecutor::Make(engine, planned, scan, so));
    return Status::OK();
  };
  options.attach = [shared, name = plan->name](
                       app::Engine& engine) -> Result<std::function<void()>> {
    const auto recordings = engine.Recordings();
    if (recordings.empty() || !shared->executor) {
      return Status::Invalid("the scan has no run directory");
    }
    app::ScanExecutor* executor = shared->executor.get();
    app::SetInterruptTarget([](void* e) { static_cast<app::ScanExecutor*>(e)->Interrupt(); },
                            executor);
    app::SetStopTarget([](void* e) { static_cast<app::ScanExecutor*>(e)->Abort(); }, executor);
    std::cerr << "arrowdaq: scanning plan " << name << " (" << executor->points_total()
              << " points) into " << recordings.back()->directory().string() << std::endl;
    // Called on the scan's thread when it has ended: a scan that completed ends the run as a
    // duration would (outcome ok/degraded); an aborted or failed one stops it, saying why.
    // A raw pointer: `shared` owns the executor that keeps this callback (no cycle).
    auto done = [shared = shared.get()] {
      const app::ScanExecutor& e = *shared->executor;
      if (e.exit_status() == app::ScanExit::kSuccess) {
        shared->acquisition->EndRun();
      } else {
        std::string why = "scan " + std::string(app::ToString(e.exit_status()));
        if (!e.reason().empty()) why += ": " + e.reason();
        shared->acquisition->RequestStop(std::move(why));
      }
    };
    ARROW_RETURN_NOT_OK(executor->Start(recordings.back()->directory(), std::move(done)));
    return std::function<void()>([shared] {
      shared->executor->Abort();  // no effect once the scan has ended
      shared->executor->Join();
      app::SetInterruptTarget(nullptr, nullptr);
    });
  };
  auto acquisition = app::Acquisition::Make(std::move(config).ValueUnsafe(), options);
  if (!acquisition.ok()) return Fail(kExitUsage, acquisition.status());
  shared->acquisition = acquisition->get();
  app::SetStopTarget(
      [](void* acquisition) { static_cast<app::Acquisition*>(acquisition)->RequestStop(); },
      acquisition->get());
  Status st = (*acquisition)->Run();
  app::SetStopTarget(nullptr, nullptr);
  app::SetInterruptTarget(nullptr, nullptr);
  std::cout << app::FormatSummary((*acquisition)->summary()) << std::flush;
  if (!st.ok()) return Fail(kExitFailure, st);
  if (!shared->executor) return Fail(kExitFailure, Status::Invalid("the scan did not start"));
  const app::ScanExecutor& e = *shared->executor;
  std::cout << "scan: " << app::ToString(e.exit_status()) << ", " << e.points_taken() << "/"
            << e.points_total() << " points" << (e.reason().empty() ? "" : " (" + e.reason() + ")")
            << std::endl;
  switch (e.exit_status()) {
    case app::ScanExit::kSuccess: return kExitOk;
    case app::ScanExit::kAbort: return kExitAborted;
    case app::ScanExit::kFail: return Fail(kExitFailure, Status::IOError("scan failed: ", e.reason()));
  }
  return kExitFailure;
}

Command AddScan(CLI::App& app) {
  auto args = std::make_shared<ScanArgs>();
  auto* cmd = app.add_subcommand("scan", "Run a [[plans]] scan of CONFIG (docs/scans.md)");
  cmd->add_option("config", args->config_path, "Run configuration (TOML)")->required();
  cmd->add_option("--plan", args->plan, "The plan to run (needed when CONFIG has several)");
  cmd->add_option("--output", args->overrides.output, "Output directory; overrides run.output");
  cmd->add_option("--log-level", args->overrides.log_level,
                  "trace, debug, info, warn, error or off; overrides run.log_level");
  return {cmd, [args] { return CmdScan(*args); }};
}

// ---------------------------------------------------------------------------------------------
// arrowdaq serve

struct ServeArgs {
  std::string config_path;
  arrowdaq::config::RunOverrides overrides;
  ServeFlags flags;
};

int CmdServe(const ServeArgs& args) {
  using namespace arrowdaq;
  // First: a signal during start-up stops the server as soon as it exists.
  app::InstallStopSignals();
  auto config = LoadWithOverrides(args.config_path, args.overrides);
  if (!config.ok()) return Fail(kExitUsage, config.status());
  if (Status st = SetupLoggingFor(*config); !st.ok()) return Fail(kExitUsage, st);
  server::ServeOptions options;
  server::ApplyConfig(*config, &options);
  ApplyServeFlags(args.flags, &options);
  const auto given = OverrideArgs(args.overrides);
  options.adapter.override_args.insert(options.adapter.override_args.end(), given.begin(),
                                       given.end());
  options.out = &std::cout;
  if (Status st = CheckServer(*config, options); !st.ok()) return Fail(kExitUsage, st);
  auto serve = server::Serve::Make(std::move(config).ValueUnsafe(), std::move(options));
  if (!serve.ok()) return Fail(kExitUsage, serve.status());
  app::SetStopTarget([](void* serve) { static_cast<server::Serve*>(serve)->RequestStop(); },
                     serve->get());
  Status st = (*serve)->Run();
  app::SetStopTarget(nullptr, nullptr);
  if (!st.ok()) return Fail(st.IsInvalid() ? kExitUsage : kExitFailure, st);
  return kExitOk;
}

Command AddServe(CLI::App& app) {
  auto args = std::make_shared<ServeArgs>();
  auto* cmd = app.add_subcommand(
      "serve", "Run the instruments of CONFIG until stopped, served over Arrow Flight "
               "(docs/server.md)");
  cmd->add_option("config", args->config_path, "Configuration (TOML)")->required();
  cmd->add_option("--listen", args->flags.listen,
                  "grpc://HOST:PORT (default [server] listen, grpc://127.0.0.1:8815; port 0: any "
                  "free port)");
  cmd->add_option("--token-file", args->flags.token_file,
                  "File holding the bearer token every client must send");
  cmd->add_option("--http-listen", args->flags.http_listen,
                  "Dashboard address: http://HOST:PORT (port 0: any free port) or off "
                  "(default [server] http_listen, http://127.0.0.1:8080; docs/web.md)");
  cmd->add_option("--tls-cert", args->flags.tls_cert, "PEM certificate chain: serve grpc+tls://");
  cmd->add_option("--tls-key", args->flags.tls_key, "PEM private key (with --tls-cert)");
  cmd->add_option("--output", args->overrides.output,
                  "Recordings' output directory; overrides run.output");
  cmd->add_option("--log-level", args->overrides.log_level,
                  "trace, debug, info, warn, error or off; overrides run.log_level");
  return {cmd, [args] { return CmdServe(*args); }};
}

// ---------------------------------------------------------------------------------------------
// arrowdaq validate

int CmdValidate(const std::string& path) {
  using namespace arrowdaq;
  auto config = config::LoadConfigFile(path);
  if (!config.ok()) return Fail(kExitUsage, config.status());
  // The same checks as `run`, through the same function.
  auto plan = app::PlanRun(*config);
  if (!plan.ok()) return Fail(kExitUsage, plan.status());
  if (config->server) {
    server::ServeOptions serve;
    server::ApplyConfig(*config, &serve);
    if (Status st = CheckServer(*config, serve); !st.ok()) return Fail(kExitUsage, st);
  }
  const auto n = plan->instruments.size();
  std::cout << path << ": ok (" << n << " instrument" << (n == 1 ? "" : "s") << ")\n";
  return kExitOk;
}

Command AddValidate(CLI::App& app) {
  auto path = std::make_shared<std::string>();
  auto* cmd = app.add_subcommand("validate", "Check CONFIG as strictly as run does, acquiring "
                                             "nothing and creating no file");
  cmd->add_option("config", *path, "Run configuration (TOML)")->required();
  return {cmd, [path] { return CmdValidate(*path); }};
}

// ---------------------------------------------------------------------------------------------
// arrowdaq drivers

void PrintOptions(const std::vector<arrowdaq::OptionSpec>& options) {
  for (const auto& o : options) {
    std::cout << "  " << o.name << " = " << arrowdaq::FormatOptionValue(o.default_value);
    if (!o.unit.empty()) std::cout << " [" << o.unit << "]";
    if (!o.description.empty()) std::cout << "  " << o.description;
    std::cout << '\n';
  }
}

int CmdDrivers(const std::string& config_path) {
  using namespace arrowdaq;
  // Plugins from ARROWDAQ_PLUGIN_PATH, and from the config's [plugins] when one is given.
  std::optional<config::RunConfig> config;
  if (!config_path.empty()) {
    auto loaded = config::LoadConfigFile(config_path);
    if (!loaded.ok()) return Fail(kExitUsage, loaded.status());
    config = std::move(*loaded);
  }
  if (Status st = app::LoadPlugins(config ? &*config : nullptr); !st.ok()) {
    return Fail(kExitUsage, st);
  }
  for (const auto* d : instruments::DriverRegistry::Default().List()) {
    std::cout << d->name << " - " << d->description << '\n';
    std::cout << "  origin: " << (d->origin.empty() ? "built-in" : d->origin) << '\n';
    if (!d->default_resource.empty()) std::cout << "  resource: " << d->default_resource << '\n';
    PrintOptions(d->options);
  }
  return kExitOk;
}

Command AddDrivers(CLI::App& app) {
  auto config = std::make_shared<std::string>();
  auto* cmd = app.add_subcommand("drivers", "List every driver with its options and defaults "
                                            "(plugins: ARROWDAQ_PLUGIN_PATH, --config)");
  cmd->add_option("--config", *config, "Also load the plugins this config's [plugins] names");
  return {cmd, [config] { return CmdDrivers(*config); }};
}

// ---------------------------------------------------------------------------------------------
// arrowdaq processors

// One line per kind; the kinds, their options and defaults come from pipeline/processor.h,
// the full reference is docs/config.md ("[[processors]]").
const char* ProcessorSummary(const std::string& kind) {
  if (kind == "fir") return "windowed-sinc FIR filter per channel (scipy.signal.firwin + lfilter)";
  if (kind == "decimate") return "anti-alias FIR, then every factor-th sample (scipy.signal.decimate's FIR)";
  if (kind == "moving_average") return "mean of the last `window` samples per channel";
  if (kind == "stats") {
    return "one row per input batch: <channel>_min, _max, _mean, _std (population), _rms";
  }
  return "";
}

int CmdProcessors() {
  using namespace arrowdaq;
  for (const auto& kind : pipeline::ProcessorKinds()) {
    std::cout << kind << " - " << ProcessorSummary(kind) << '\n';
    auto specs = pipeline::ProcessorOptionSpecs(kind);
    if (specs.ok()) PrintOptions(*specs);
  }
  std::cout << "(reference: docs/config.md, [[processors]])\n";
  return kExitOk;
}

Command AddProcessors(CLI::App& app) {
  auto* cmd = app.add_subcommand("processors",
                                 "List every processor kind with its options and defaults");
  return {cmd, [] { return CmdProcessors(); }};
}

// ---------------------------------------------------------------------------------------------
// arrowdaq probe

struct ProbeArgs {
  arrowdaq::app::ProbeOptions options;
  std::string timeout;
};

int CmdProbe(ProbeArgs args) {
  using namespace arrowdaq;
  auto& options = args.options;
  if (!args.timeout.empty()) {
    auto timeout = ParseTimeout("--timeout", args.timeout);
    if (!timeout.ok()) return Fail(kExitUsage, timeout.status());
    options.timeout = *timeout;
  }
  if (options.terminator == "\\n" || options.terminator == "LF") options.terminator = "\n";
  if (options.terminator == "\\r" || options.terminator == "CR") options.terminator = "\r";
  if (options.terminator == "\\r\\n" || options.terminator == "CRLF") options.terminator = "\r\n";
  auto answer = app::Probe(options);
  if (!answer.ok()) {
    return Fail(answer.status().IsInvalid() ? kExitUsage : kExitFailure, answer.status());
  }
  std::cout << *answer << '\n';
  return kExitOk;
}

Command AddProbe(CLI::App& app) {
  auto args = std::make_shared<ProbeArgs>();
  auto* cmd = app.add_subcommand("probe", "Connect to RESOURCE and print its identity (*IDN?)");
  cmd->add_option("resource", args->options.resource,
                  "TCPIP::host::port::SOCKET, ASRL/dev/ttyUSB0::INSTR or SIM::<model>")
      ->required();
  cmd->add_option("--command", args->options.command, "Identify query (default *IDN?)");
  cmd->add_option("--timeout", args->timeout, "Per-operation timeout (default 2s)");
  cmd->add_option("--baud", args->options.baud, "Serial baud rate (default 9600)");
  cmd->add_option("--terminator", args->options.terminator,
                  "Line terminator: LF (default), CR or CRLF");
  return {cmd, [args] { return CmdProbe(*args); }};
}

// ---------------------------------------------------------------------------------------------
// arrowdaq inspect

// The file is read in a child process with a time limit: HDF5 1.10 crashes or spins on some
// damaged files (fuzz/findings/README.md), and neither may take the CLI with it.
int CmdInspect(const std::string& path, const std::string& timeout) {
  using namespace arrowdaq;
  app::IsolatedOptions options{.what = "inspect " + path};
  if (!timeout.empty()) {
    auto limit = ParseTimeout("--timeout", timeout);
    if (!limit.ok()) return Fail(kExitUsage, limit.status());
    options.timeout = *limit;
  }
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) {
    return Fail(kExitUsage, Status::Invalid(path, ": no such file or directory"));
  }
  auto text = app::RunIsolated(
      [&path]() -> Result<std::string> {
        ARROW_ASSIGN_OR_RAISE(auto report, storage::InspectFile(path));
        return storage::FormatReport(report);
      },
      options);
  if (!text.ok()) return Fail(kExitFailure, text.status());
  std::cout << *text;
  return kExitOk;
}

Command AddInspect(CLI::App& app) {
  auto file = std::make_shared<std::string>();
  auto timeout = std::make_shared<std::string>();
  auto* cmd =
      app.add_subcommand("inspect", "Summarize a file of a run (run.h5, .arrow, .parquet, .csv) or a "
                                "Parquet directory");
  cmd->add_option("file", *file, "File written by arrowdaq")->required();
  cmd->add_option("--timeout", *timeout,
                  "Give up on a file that takes longer than this to read (default 60s; "
                  "0: no limit)");
  return {cmd, [file, timeout] { return CmdInspect(*file, *timeout); }};
}

// ---------------------------------------------------------------------------------------------
// arrowdaq export

struct ExportArgs {
  std::string run_dir, to, from, output;
  std::vector<std::string> streams;
};

int CmdExport(const ExportArgs& args) {
  using namespace arrowdaq;
  storage::ExportOptions options;
  options.run_directory = args.run_dir;
  auto target = storage::ParseStorageFormat(args.to);
  if (!target.ok()) {
    return Fail(kExitUsage, target.status().WithMessage("--to: ", target.status().message()));
  }
  options.to = *target;
  if (!args.from.empty()) {
    auto source = storage::ParseStorageFormat(args.from);
    if (!source.ok()) {
      return Fail(kExitUsage, source.status().WithMessage("--from: ", source.status().message()));
    }
    options.from = *source;
  }
  options.streams = args.streams;
  options.output_directory = args.output;
  auto result = storage::ExportRun(options);
  if (!result.ok()) {
    return Fail(result.status().IsInvalid() ? kExitUsage : kExitFailure, result.status());
  }
  for (const auto& w : result->warnings) std::cerr << "arrowdaq: warning: " << w << '\n';
  for (const auto& [name, rows] : result->rows) {
    std::cout << "exported " << name << ": " << rows << " rows from "
              << storage::ToString(result->from) << " to " << storage::ToString(options.to)
              << '\n';
  }
  return kExitOk;
}

Command AddExport(CLI::App& app) {
  auto args = std::make_shared<ExportArgs>();
  auto* cmd = app.add_subcommand(
      "export", "Convert a finished run's files to another format (hdf5, arrow, parquet, csv)");
  cmd->add_option("run", args->run_dir, "Run directory")->required();
  cmd->add_option("--to", args->to, "Format to write: hdf5, arrow, parquet or csv")->required();
  cmd->add_option("--from", args->from,
                  "Format to read (default: the first present of hdf5, arrow, parquet, csv)");
  cmd->add_option("--streams", args->streams, "Streams to export (default: all)")
      ->delimiter(',');
  cmd->add_option("--output", args->output,
                  "Directory to write into (default: the run directory)");
  return {cmd, [args] { return CmdExport(*args); }};
}

// ---------------------------------------------------------------------------------------------
// arrowdaq help

Command AddHelp(CLI::App& app) {
  auto topic = std::make_shared<std::string>();
  auto* cmd = app.add_subcommand("help", "Print this help, or the help of COMMAND");
  cmd->add_option("command", *topic, "A command (run, validate, ...)");
  return {cmd, [&app, topic] {
            // App::help() would describe the chosen subcommand (help itself): ask the formatter.
            const auto formatter = app.get_formatter();
            if (topic->empty()) {
              std::cout << formatter->make_help(&app, app.get_name(), CLI::AppFormatMode::Normal);
              return kExitOk;
            }
            for (const auto* sub : app.get_subcommands({})) {
              if (sub->get_name() == *topic) {
                std::cout << formatter->make_help(sub, app.get_name() + " " + sub->get_name(),
                                                  CLI::AppFormatMode::Normal);
                return kExitOk;
              }
            }
            std::cerr << "arrowdaq: help: unknown command '" << *topic << "'\n";
            return kExitUsage;
          }};
}

// ---------------------------------------------------------------------------------------------
// main

// Name the first word of the command line that no command or option took, with a hint.
int UnknownWord(const CLI::App& app, const std::vector<std::string>& words) {
  const std::string word = words.empty() ? std::string("?") : words.front();
  std::vector<std::string> names;
  for (const auto* sub : app.get_subcommands({})) names.push_back(sub->get_name());
  const bool chose_command = !app.get_subcommands().empty();
  std::string message;
  if (!word.empty() && word.front() == '-') {
    message = "unknown option '" + word + "'";
    if (word == "-V" || word == "-v" || word == "--Version") message += " (did you mean --version?)";
  } else if (!chose_command) {
    std::string list;
    for (const auto& name : names) list += (list.empty() ? "" : ", ") + name;
    message = "unknown command '" + word + "' (commands: " + list + ")";
  } else {
    message = "unexpected argument '" + word + "'";
  }
  const std::string where = chose_command ? app.get_subcommands().front()->get_name() + " " : "";
  std::cerr << "arrowdaq: " << message << "; see arrowdaq " << where << "--help\n";
  return kExitUsage;
}

int Main(int argc, char** argv) {
  // Output to a closed pipe fails with EPIPE instead of killing the process.
  std::signal(SIGPIPE, SIG_IGN);
  CLI::App app{"arrowdaq: data acquisition on Apache Arrow. Instruments are declared in a TOML "
               "file; see docs/config.md."};
  app.name("arrowdaq");
  app.set_version_flag("--version", std::string("arrowdaq ") + ARROWDAQ_VERSION);
  app.require_subcommand(0, 1);

  std::vector<Command> commands;
  commands.push_back(AddRun(app));
  commands.push_back(AddScan(app));
  commands.push_back(AddServe(app));
  commands.push_back(AddValidate(app));
  commands.push_back(AddDrivers(app));
  commands.push_back(AddProcessors(app));
  commands.push_back(AddInspect(app));
  commands.push_back(AddExport(app));
  commands.push_back(AddProbe(app));
  commands.push_back(AddHelp(app));
  // status, record start|stop, send, watch: clients of a running server (docs/server.md).
  auto client = arrowdaq::server::ClientCli::Add(app);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ExtrasError&) {
    return UnknownWord(app, app.remaining(true));
  } catch (const CLI::ParseError& e) {
    const int code = app.exit(e);
    return code == 0 ? kExitOk : kExitUsage;
  }
  for (const auto& command : commands) {
    if (*command.app) return command.run();
  }
  // A signal ends `watch` cleanly (stop_signals calls this; storing an atomic is safe there).
  static std::atomic<bool> client_stop{false};
  arrowdaq::app::InstallStopSignals();
  arrowdaq::app::SetStopTarget([](void*) { client_stop.store(true); }, nullptr);
  if (auto code = client->Run(std::cout, std::cerr, &client_stop)) return *code;
  std::cerr << "arrowdaq: a command is required\n" << app.help();
  return kExitUsage;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return Main(argc, argv);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "arrowdaq: internal error: %s\n", e.what());
  } catch (...) {
    std::fprintf(stderr, "arrowdaq: internal error: unknown exception\n");
  }
  return kExitFailure;
}
