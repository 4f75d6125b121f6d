// arrowdaq: the command-line tool. A thin layer over arrowdaq::app: parse the command line,
// map outcomes to exit codes (0 success, 2 bad usage or config, 1 failure during the run).
#include <unistd.h>

#include <csignal>
#include <filesystem>
#include <cstdio>
#include <iostream>
#include <memory>
#include <string>

#include <CLI/CLI.hpp>

#include "arrowdaq/app/acquisition.h"
#include "arrowdaq/app/isolated.h"
#include "arrowdaq/app/probe.h"
#include "arrowdaq/config/config.h"
#include "arrowdaq/core/options.h"
#include "arrowdaq/instruments/driver.h"
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

arrowdaq::app::Acquisition* g_running = nullptr;
volatile std::sig_atomic_t g_signals = 0;

extern "C" void OnStopSignal(int) {
  g_signals = g_signals + 1;
  if (g_signals >= 2) {
    // Second Ctrl-C: stop at once. Files stay openable (HDF5 SWMR, IPC, closed segments).
    static const char kMsg[] = "\narrowdaq: second signal, stopping immediately\n";
    (void)!write(STDERR_FILENO, kMsg, sizeof(kMsg) - 1);
    _exit(130);
  }
  if (g_running != nullptr) g_running->RequestStop();
}

void InstallSignalHandlers() {
  struct sigaction sa {};
  sa.sa_handler = OnStopSignal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
}

int Fail(int code, const arrowdaq::Status& st) {
  std::cerr << "arrowdaq: " << st.message() << '\n';
  return code;
}

int CmdRun(const std::string& path, const std::string& duration, const std::string& output,
           const std::string& log_level, const std::vector<std::string>& meta) {
  using namespace arrowdaq;
  auto config = config::LoadConfigFile(path);
  if (!config.ok()) return Fail(kExitUsage, config.status());
  // What overrode the config, recorded in the run (overrides.toml) to reproduce it.
  std::vector<std::string> overrides;
  for (const auto& [flag, value] : {std::pair{"--duration", &duration}, {"--output", &output},
                                    {"--log-level", &log_level}}) {
    if (!value->empty()) overrides.insert(overrides.end(), {flag, *value});
  }
  for (const auto& m : meta) {
    auto kv = config::ParseMetadataArgument(m);
    if (!kv.ok()) return Fail(kExitUsage, kv.status().WithMessage("--meta: ", kv.status().message()));
    config::SetMetadata(&config->run.metadata, kv->first, kv->second);
    overrides.insert(overrides.end(), {"--meta", m});
  }
  if (Status st = telemetry::SetupLogging(log_level.empty() ? config->run.log_level : log_level);
      !st.ok()) {
    return Fail(kExitUsage, st);
  }
  app::AcquisitionOptions options;
  if (!duration.empty()) {
    auto d = config::ParseDuration(duration);
    if (!d.ok()) return Fail(kExitUsage, d.status().WithMessage("--duration: ", d.status().message()));
    options.duration = *d;
  }
  options.output_dir = output;
  options.override_args = std::move(overrides);
  options.progress = &std::cerr;
  options.interactive = isatty(STDERR_FILENO) != 0;
  auto acquisition = app::Acquisition::Make(std::move(config).ValueUnsafe(), options);
  if (!acquisition.ok()) return Fail(kExitUsage, acquisition.status());
  g_running = acquisition->get();
  InstallSignalHandlers();
  Status st = (*acquisition)->Run();
  g_running = nullptr;
  std::cout << app::FormatSummary((*acquisition)->summary()) << std::flush;
  if (!st.ok()) return Fail(kExitFailure, st);
  return kExitOk;
}

int CmdValidate(const std::string& path) {
  using namespace arrowdaq;
  auto config = config::LoadConfigFile(path);
  if (!config.ok()) return Fail(kExitUsage, config.status());
  const auto n = config->instruments.size();
  auto acquisition = app::Acquisition::Make(std::move(config).ValueUnsafe(), {});
  if (!acquisition.ok()) return Fail(kExitUsage, acquisition.status());
  std::cout << path << ": ok (" << n << " instrument" << (n == 1 ? "" : "s") << ")\n";
  return kExitOk;
}

int CmdDrivers() {
  using namespace arrowdaq;
  for (const auto* d : instruments::DriverRegistry::Default().List()) {
    std::cout << d->name << " - " << d->description << '\n';
    if (!d->default_resource.empty()) std::cout << "  resource: " << d->default_resource << '\n';
    for (const auto& o : d->options) {
      std::cout << "  " << o.name << " = " << FormatOptionValue(o.default_value);
      if (!o.unit.empty()) std::cout << " [" << o.unit << "]";
      if (!o.description.empty()) std::cout << "  " << o.description;
      std::cout << '\n';
    }
  }
  return kExitOk;
}

int CmdProbe(arrowdaq::app::ProbeOptions options, const std::string& timeout) {
  using namespace arrowdaq;
  if (!timeout.empty()) {
    auto d = config::ParseDuration(timeout);
    if (!d.ok()) return Fail(kExitUsage, d.status().WithMessage("--timeout: ", d.status().message()));
    options.timeout = std::chrono::duration_cast<std::chrono::milliseconds>(*d);
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

// The file is read in a child process with a time limit: HDF5 1.10 crashes or spins on some
// damaged files (fuzz/findings/README.md), and neither may take the CLI with it.
int CmdInspect(const std::string& path, const std::string& timeout) {
  using namespace arrowdaq;
  app::IsolatedOptions options{.what = "inspect " + path};
  if (!timeout.empty()) {
    auto d = config::ParseDuration(timeout);
    if (!d.ok()) return Fail(kExitUsage, d.status().WithMessage("--timeout: ", d.status().message()));
    options.timeout = std::chrono::duration_cast<std::chrono::milliseconds>(*d);
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

int CmdExport(const std::string& run_dir, const std::string& to, const std::string& from,
              const std::vector<std::string>& streams, const std::string& output) {
  using namespace arrowdaq;
  storage::ExportOptions options;
  options.run_directory = run_dir;
  auto target = storage::ParseStorageFormat(to);
  if (!target.ok()) return Fail(kExitUsage, target.status().WithMessage("--to: ", target.status().message()));
  options.to = *target;
  if (!from.empty()) {
    auto source = storage::ParseStorageFormat(from);
    if (!source.ok()) {
      return Fail(kExitUsage, source.status().WithMessage("--from: ", source.status().message()));
    }
    options.from = *source;
  }
  options.streams = streams;
  options.output_directory = output;
  auto result = storage::ExportRun(options);
  if (!result.ok()) {
    return Fail(result.status().IsInvalid() ? kExitUsage : kExitFailure, result.status());
  }
  for (const auto& w : result->warnings) std::cerr << "arrowdaq: warning: " << w << '\n';
  for (const auto& [name, rows] : result->rows) {
    std::cout << "exported " << name << ": " << rows << " rows from " << storage::ToString(result->from)
              << " to " << storage::ToString(options.to) << '\n';
  }
  return kExitOk;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"arrowdaq: data acquisition on Apache Arrow. Instruments are declared in a TOML "
               "file; see docs/config.md."};
  app.set_version_flag("--version", std::string("arrowdaq ") + ARROWDAQ_VERSION);
  app.require_subcommand(1);

  std::string config_path, duration, output, log_level, file;
  auto* run = app.add_subcommand("run", "Acquire from the instruments of CONFIG");
  run->add_option("config", config_path, "Run configuration (TOML)")->required();
  run->add_option("--duration", duration, "Stop after this long (e.g. 10s, 2min); overrides run.duration");
  run->add_option("--output", output, "Output directory; overrides run.output");
  run->add_option("--log-level", log_level, "trace, debug, info, warn, error or off");
  std::vector<std::string> meta;
  run->add_option("--meta", meta,
                  "Run metadata key=value (repeatable); adds to or overrides [run.metadata]")
      ->allow_extra_args(false);
  auto* validate = app.add_subcommand("validate", "Check CONFIG without acquiring");
  validate->add_option("config", config_path, "Run configuration (TOML)")->required();
  auto* drivers = app.add_subcommand("drivers", "List every driver with its options and defaults");
  auto* inspect = app.add_subcommand("inspect", "Summarize a run.h5, .arrow or .parquet file (or Parquet directory) of a run");
  inspect->add_option("file", file, "File written by arrowdaq")->required();
  std::string inspect_timeout;
  inspect->add_option("--timeout", inspect_timeout,
                      "Give up on a file that takes longer than this to read (default 60s; "
                      "0: no limit)");
  std::string export_to, export_from, export_output;
  std::vector<std::string> export_streams;
  auto* export_cmd = app.add_subcommand(
      "export", "Convert a finished run's files to another format (hdf5, arrow, parquet, csv)");
  export_cmd->add_option("run", file, "Run directory")->required();
  export_cmd->add_option("--to", export_to, "Format to write: hdf5, arrow, parquet or csv")
      ->required();
  export_cmd->add_option("--from", export_from,
                         "Format to read (default: the first present of hdf5, arrow, parquet, "
                         "csv)");
  export_cmd->add_option("--streams", export_streams, "Streams to export (default: all)")
      ->delimiter(',');
  export_cmd->add_option("--output", export_output,
                         "Directory to write into (default: the run directory)");
  arrowdaq::app::ProbeOptions probe_options;
  std::string probe_timeout;
  auto* probe = app.add_subcommand("probe", "Connect to RESOURCE and print its identity (*IDN?)");
  probe->add_option("resource", probe_options.resource,
                    "TCPIP::host::port::SOCKET, ASRL/dev/ttyUSB0::INSTR or SIM::<model>")
      ->required();
  probe->add_option("--command", probe_options.command, "Identify query (default *IDN?)");
  probe->add_option("--timeout", probe_timeout, "Per-operation timeout (default 2s)");
  probe->add_option("--baud", probe_options.baud, "Serial baud rate (default 9600)");
  probe->add_option("--terminator", probe_options.terminator,
                    "Line terminator: LF (default), CR or CRLF");

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int code = app.exit(e);
    return code == 0 ? kExitOk : kExitUsage;
  }
  if (*run) return CmdRun(config_path, duration, output, log_level, meta);
  if (*export_cmd) return CmdExport(file, export_to, export_from, export_streams, export_output);
  if (*validate) return CmdValidate(config_path);
  if (*drivers) return CmdDrivers();
  if (*inspect) return CmdInspect(file, inspect_timeout);
  if (*probe) return CmdProbe(probe_options, probe_timeout);
  return kExitUsage;
}
