#include "arrowdaq/app/acquisition.h"

#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <ostream>
#include <sstream>
#include <algorithm>
#include <map>
#include <thread>

#include "arrowdaq/app/json_writer.h"
#include "arrowdaq/app/monitor.h"
#include "arrowdaq/core/clock.h"
#include "arrowdaq/instruments/driver.h"
#include "arrowdaq/pipeline/instrument_manager.h"
#include "arrowdaq/pipeline/processor_actor.h"
#include "arrowdaq/storage/csv_writer.h"
#include "arrowdaq/storage/hdf5_writer.h"
#include "arrowdaq/storage/ipc_writer.h"
#include "arrowdaq/storage/parquet_writer.h"
#include "arrowdaq/storage/recorder.h"
#include "arrowdaq/telemetry/logging.h"

namespace arrowdaq::app {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

namespace {

std::string RunIdStamp(std::int64_t ns) {
  const std::time_t secs = static_cast<std::time_t>(ns / 1'000'000'000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[32];
  std::strftime(buf, sizeof(buf), "%Y%m%dT%H%M%SZ", &tm);
  return buf;
}

std::string ErrnoText() { return std::strerror(errno); }

std::string HostName() {
  char buf[256] = {};
  if (gethostname(buf, sizeof(buf) - 1) != 0) return "unknown";
  return buf;
}

// The storage a run gets: the [storage] table, or the defaults (run.h5 of every stream)
// when the config has none, so that a run never ends without its data on disk.
config::StorageConfig StorageOf(const config::RunConfig& cfg) {
  return cfg.storage ? *cfg.storage : config::StorageConfig{};
}

}  // namespace

// Everything that lives only while Run() runs.
struct Acquisition::State {
  std::unique_ptr<runtime::ActorSystem> system;
  std::unique_ptr<pipeline::InstrumentManager> manager;
  std::vector<std::unique_ptr<Monitor>> monitors;
  std::vector<std::unique_ptr<pipeline::ProcessorActor>> processors;  // in dependency order
  std::unique_ptr<storage::Recorder> recorder;
  std::shared_ptr<pipeline::Subscription> storage_subscription;
  fs::path run_dir;
  std::int64_t start_wall_ns = 0;
  Clock::time_point start;
  Clock::time_point end;
  std::vector<std::string> started;  // instruments that are acquiring
  std::vector<instruments::InstrumentStatus> final_statuses;  // taken before the actors stop
};

Acquisition::Acquisition(config::RunConfig config, AcquisitionOptions options)
    : config_(std::move(config)), options_(std::move(options)) {}

Acquisition::~Acquisition() = default;

Result<std::unique_ptr<Acquisition>> Acquisition::Make(config::RunConfig config,
                                                       AcquisitionOptions options) {
  const auto& registry = instruments::DriverRegistry::Default();
  std::map<std::string, std::shared_ptr<const StreamInfo>> streams;
  for (const auto& inst : config.instruments) {
    auto info = registry.Find(inst.driver);
    if (!info.ok()) {
      return config::ErrorAt(inst.where, "instruments." + inst.name + ".driver",
                             info.status().message());
    }
    for (const auto& [key, opt] : inst.options) {
      if (Status st = CheckOption((*info)->options, key, opt.value); !st.ok()) {
        return config::ErrorAt(opt.where, "instruments." + inst.name + ".options." + key,
                               st.message());
      }
    }
    // Range checks live in the driver's factory: build one now and throw it away.
    auto driver = registry.Create(inst.driver, inst.PlainOptions());
    if (!driver.ok()) {
      return config::ErrorAt(inst.where, "instruments." + inst.name + ".options",
                             driver.status().message());
    }
    streams[inst.name] = std::make_shared<StreamInfo>(StreamInfo{inst.name, (*driver)->schema()});
  }
  // Processors in dependency order (an input must exist before its processor); the config
  // parser has already refused unknown inputs and cycles.
  std::vector<config::ProcessorConfig> ordered;
  std::vector<bool> placed(config.processors.size(), false);
  for (bool progress = true; progress;) {
    progress = false;
    for (size_t i = 0; i < config.processors.size(); ++i) {
      const auto& proc = config.processors[i];
      if (placed[i] || streams.count(proc.input) == 0) continue;
      const std::string key = "processors[" + std::to_string(i) + "]";
      auto specs = pipeline::ProcessorOptionSpecs(proc.kind);
      if (!specs.ok()) return config::ErrorAt(proc.where, key + ".kind", specs.status().message());
      for (const auto& [name, opt] : proc.options) {
        if (Status st = CheckOption(*specs, name, opt.value); !st.ok()) {
          return config::ErrorAt(opt.where, key + ".options." + name, st.message());
        }
      }
      auto made = pipeline::MakeProcessor({proc.kind, proc.output, streams[proc.input],
                                           proc.PlainOptions()});
      if (!made.ok()) {
        return config::ErrorAt(proc.where, key + " (" + proc.output + ")",
                               made.status().message());
      }
      streams[proc.output] =
          std::make_shared<StreamInfo>(StreamInfo{proc.output, (*made)->output_schema()});
      ordered.push_back(proc);
      placed[i] = progress = true;
    }
  }
  for (size_t i = 0; i < config.processors.size(); ++i) {
    if (!placed[i]) {
      return config::ErrorAt(config.processors[i].where, "processors[" + std::to_string(i) + "].input",
                             "input '" + config.processors[i].input +
                                 "' is not an instrument or an earlier processor's output");
    }
  }
  config.processors = std::move(ordered);
  for (const auto& sub : config.subscriptions) {
    if (sub.kind != "monitor") {
      return config::ErrorAt(sub.where, "subscriptions." + sub.name + ".kind",
                             "unknown kind '" + sub.kind + "' (known: monitor)");
    }
  }
  return std::unique_ptr<Acquisition>(new Acquisition(std::move(config), std::move(options)));
}

void Acquisition::RecordEvent(RunEvent event) {
  telemetry::GetLogger("run")->warn("{}{}{}: {}", event.stream, event.stream.empty() ? "" : " ",
                                    event.kind, event.message);
  std::lock_guard lock(events_mutex_);
  if (recorder_ != nullptr) recorder_->PostEvent(event);
  events_.push_back(std::move(event));
}

Status Acquisition::StartProcessors(State& s) {
  auto& router = s.manager->router();
  for (const auto& proc : config_.processors) {  // dependency order (see Make)
    ARROW_ASSIGN_OR_RAISE(auto input, router.FindStream(proc.input));
    pipeline::ProcessorSpec spec{proc.kind, proc.output, input, proc.PlainOptions()};
    auto factory = [spec] { return pipeline::MakeProcessor(spec); };
    ARROW_ASSIGN_OR_RAISE(auto first, factory());
    ARROW_ASSIGN_OR_RAISE(
        auto output, router.AddStream(std::make_shared<StreamInfo>(
                         StreamInfo{proc.output, first->output_schema()})));
    ARROW_ASSIGN_OR_RAISE(auto sub, router.Subscribe({.name = proc.output + ".input",
                                                      .streams = {proc.input},
                                                      .capacity = 16,
                                                      .policy = OverflowPolicy::kBlock}));
    s.processors.push_back(std::make_unique<pipeline::ProcessorActor>(
        proc.output, factory, std::move(first), std::move(sub), router, std::move(output),
        runtime::SupervisionOptions{}, [this](RunEvent e) { RecordEvent(std::move(e)); }));
  }
  for (auto& p : s.processors) p->Start();
  return Status::OK();
}

Status Acquisition::StartStorage(State& s) {
  const config::StorageConfig cfg = StorageOf(config_);
  storage::RunInfo info{summary_.run_id, config_.text, s.start_wall_ns, ARROWDAQ_VERSION_STRING,
                        HostName()};
  std::vector<std::unique_ptr<storage::StorageWriter>> writers;
  for (const auto& format : cfg.formats) {
    const std::string dir = s.run_dir.string();
    if (format == "hdf5") {
      storage::Hdf5Options ho;
      ho.gzip_level = cfg.compression == "gzip" ? 4 : 0;
      ARROW_ASSIGN_OR_RAISE(auto w, storage::MakeHdf5Writer((s.run_dir / "run.h5").string(),
                                                            info, ho));
      writers.push_back(std::move(w));
    } else if (format == "arrows") {
      ARROW_ASSIGN_OR_RAISE(auto w, storage::MakeIpcWriter(dir));
      writers.push_back(std::move(w));
    } else if (format == "parquet") {
      storage::ParquetOptions po;
      po.segment_duration = cfg.parquet_segment;
      ARROW_ASSIGN_OR_RAISE(auto w, storage::MakeParquetWriter(dir, po));
      writers.push_back(std::move(w));
    } else if (format == "csv") {
      ARROW_ASSIGN_OR_RAISE(auto w, storage::MakeCsvWriter(dir));
      writers.push_back(std::move(w));
    }
  }
  if (writers.empty()) return Status::OK();
  ARROW_ASSIGN_OR_RAISE(auto sub, s.manager->AddDataSubscriber({.name = "storage",
                                                                .streams = cfg.streams,
                                                                .capacity = cfg.capacity,
                                                                .policy = OverflowPolicy::kBlock}));
  storage::PacketSource source{
      [sub](std::chrono::steady_clock::time_point deadline) { return sub->Next(deadline); },
      [sub] { return sub->closed() && sub->queued() == 0; }};
  storage::RecorderOptions ro;
  ro.flush_interval = cfg.flush_interval;
  ro.on_error = [this](const Status& st) {
    Fail(st.WithMessage("storage: ", st.message()));
    RequestStop();
  };
  s.recorder = std::make_unique<storage::Recorder>(std::move(writers), std::move(source), ro);
  for (const auto& name : s.manager->router().StreamNames()) {
    if (!sub->Wants(name)) continue;
    ARROW_ASSIGN_OR_RAISE(auto info_ptr, s.manager->router().FindStream(name));
    ARROW_RETURN_NOT_OK(s.recorder->AddStream(*info_ptr));
  }
  s.storage_subscription = sub;
  s.recorder->Start();
  {
    std::lock_guard lock(events_mutex_);
    recorder_ = s.recorder.get();
  }
  return Status::OK();
}

void Acquisition::Fail(const Status& status) {
  std::lock_guard lock(events_mutex_);
  if (!failed_.exchange(true)) failure_ = status;
}

Status Acquisition::Prepare(State& s) {
  const std::string output =
      options_.output_dir.empty() ? config_.run.output_dir : options_.output_dir;
  s.start_wall_ns = WallClockNanos();
  const std::string base =
      (config_.run.name.empty() ? std::string("run") : config_.run.name) + "-" +
      RunIdStamp(s.start_wall_ns);
  std::error_code ec;
  fs::create_directories(output, ec);
  if (ec) {
    return Status::IOError("cannot create output directory '", output, "': ", ec.message());
  }
  if (::access(output.c_str(), W_OK) != 0) {
    return Status::IOError("output directory '", output, "' is not writable: ", ErrnoText());
  }
  std::string run_id = base;
  for (int k = 2; fs::exists(fs::path(output) / run_id); ++k) {
    run_id = base + "-" + std::to_string(k);
  }
  s.run_dir = fs::path(output) / run_id;
  if (!fs::create_directory(s.run_dir, ec) || ec) {
    return Status::IOError("cannot create run directory '", s.run_dir.string(),
                           "': ", ec ? ec.message() : "already exists");
  }
  summary_.run_id = run_id;
  summary_.run_directory = s.run_dir.string();
  summary_.start_time = IsoTime(s.start_wall_ns);
  {
    const auto config_copy = s.run_dir / "config.toml";
    std::ofstream out(config_copy, std::ios::binary);
    out << config_.text;
    out.close();
    if (!out) {
      return Status::IOError("cannot write '", config_copy.string(), "': ", ErrnoText());
    }
  }

  s.system = std::make_unique<runtime::ActorSystem>(
      runtime::ActorSystemOptions{.threads = options_.threads});
  pipeline::ManagerOptions mo;
  mo.on_fault = [this](const std::string& instrument, const Status& st) {
    // The fault itself is already an event (on_event); here only the run's fate is decided.
    for (const auto& inst : config_.instruments) {
      if (inst.name == instrument && inst.stop_run_on_failure) {
        Fail(st.WithMessage("instrument '", instrument, "' failed and its on_failure is "
                            "stop_run: ", st.message()));
        RequestStop();
      }
    }
  };
  mo.on_event = [this](RunEvent e) { RecordEvent(std::move(e)); };
  s.manager = std::make_unique<pipeline::InstrumentManager>(*s.system, mo);

  for (const auto& inst : config_.instruments) {
    const auto* info = instruments::DriverRegistry::Default().Find(inst.driver).ValueOrDie();
    pipeline::InstrumentRegistration reg;
    reg.name = inst.name;
    reg.driver = inst.driver;
    reg.resource = inst.resource.empty() ? info->default_resource : inst.resource;
    reg.reconnect_attempts = inst.reconnect_attempts;
    reg.reconnect_backoff =
        std::chrono::duration_cast<std::chrono::milliseconds>(inst.reconnect_backoff);
    reg.make_driver = [driver = inst.driver, options = inst.PlainOptions()] {
      return instruments::DriverRegistry::Default().Create(driver, options);
    };
    ARROW_RETURN_NOT_OK(s.manager->RegisterInstrument(std::move(reg)));
  }
  ARROW_RETURN_NOT_OK(StartProcessors(s));
  ARROW_RETURN_NOT_OK(StartStorage(s));
  for (const auto& sub : config_.subscriptions) {
    ARROW_ASSIGN_OR_RAISE(auto subscription,
                          s.manager->AddDataSubscriber({.name = sub.name,
                                                        .streams = sub.streams,
                                                        .capacity = sub.capacity,
                                                        .policy = sub.policy}));
    s.monitors.push_back(std::make_unique<Monitor>(std::move(subscription)));
    s.monitors.back()->Start();
  }
  return Status::OK();
}

Status Acquisition::StartAll(State& s) {
  for (const auto& inst : config_.instruments) {
    ARROW_RETURN_NOT_OK(s.manager->ConnectInstrument(inst.name));
  }
  s.start = Clock::now();
  for (const auto& inst : config_.instruments) {
    ARROW_RETURN_NOT_OK(s.manager->StartAcquisition(inst.name));
    s.started.push_back(inst.name);
  }
  return Status::OK();
}


void Acquisition::WaitForEnd(State& s) {
  const auto duration = options_.duration ? *options_.duration : config_.run.duration;
  const auto interval = config_.run.progress_interval;
  const bool bounded = duration.count() > 0;
  auto next_progress = Clock::now() + (options_.interactive ? std::chrono::milliseconds(500)
                                                            : interval);
  std::vector<pipeline::StreamStats> previous = s.manager->router().Stats();
  auto previous_time = Clock::now();
  bool drawn = false;
  while (!stop_requested_.load(std::memory_order_relaxed) &&
         !(bounded && Clock::now() - s.start >= duration)) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    if (options_.progress == nullptr || Clock::now() < next_progress) continue;
    next_progress += options_.interactive ? std::chrono::milliseconds(500) : interval;
    auto now = Clock::now();
    auto stats = s.manager->router().Stats();
    const double dt = std::chrono::duration<double>(now - previous_time).count();
    std::ostringstream out;
    if (options_.interactive && drawn) out << "\x1b[" << stats.size() << "A";
    const double elapsed = std::chrono::duration<double>(now - s.start).count();
    for (size_t i = 0; i < stats.size(); ++i) {
      const auto& st = stats[i];
      const auto prev_rows = i < previous.size() ? previous[i].rows : 0;
      const double rate = dt > 0 ? (st.rows - prev_rows) / dt : 0;
      std::uint64_t drops = 0;
      for (const auto& m : s.monitors) {
        auto per = m->subscription()->Stats();
        if (auto it = per.find(st.name); it != per.end()) drops += it->second.dropped;
      }
      if (options_.interactive) out << "\x1b[2K";
      out << std::fixed << std::setprecision(1) << "[" << elapsed << " s] " << std::left
          << std::setw(16) << st.name << std::right << std::setw(12) << FormatRate(rate)
          << " rows/s " << std::setw(12) << st.rows << " rows " << std::setw(6) << drops
          << " drops\n";
    }
    *options_.progress << out.str() << std::flush;
    drawn = true;
    previous = std::move(stats);
    previous_time = now;
  }
  s.end = Clock::now();
}

void Acquisition::StopAll(State& s) {
  if (!s.manager) return;
  for (const auto& name : s.started) {
    if (Status st = s.manager->StopAcquisition(name); !st.ok()) {
      RecordEvent({WallClockNanos(), name, "fault", "stop: " + st.ToString()});
    }
  }
  if (s.end == Clock::time_point{}) s.end = Clock::now();
  // Sources are stopped. Drain the processors stage by stage (inputs first), so that what they
  // hold reaches storage, then close the remaining subscriptions so consumers drain and end.
  for (auto& p : s.processors) p->CloseAndJoin();
  s.final_statuses = s.manager->GetInstrumentList();
  s.manager->Shutdown();
  for (auto& m : s.monitors) m->Join();
  if (s.recorder) {
    {
      std::lock_guard lock(events_mutex_);
      recorder_ = nullptr;
    }
    // Events recorded during the run were posted as they happened; Finish writes the rest.
    if (Status st = s.recorder->Finish(); !st.ok()) Fail(st.WithMessage("storage: ", st.message()));
  }
}

void Acquisition::Summarize(State& s) {
  const std::int64_t stop_ns = WallClockNanos();
  summary_.stop_time = IsoTime(stop_ns);
  const auto acquisition_end = s.end == Clock::time_point{} ? Clock::now() : s.end;
  summary_.duration_s =
      s.start == Clock::time_point{}
          ? 0
          : std::chrono::duration<double>(acquisition_end - s.start).count();
  if (s.manager) {
    const auto& statuses = s.final_statuses;
    for (const auto& st : s.manager->router().Stats()) {
      StreamSummary out;
      out.name = st.name;
      out.packets = st.packets;
      out.rows = st.rows;
      out.bytes = st.bytes;
      if (st.packets > 0) {
        out.first_sequence = 0;
        out.last_sequence = static_cast<std::int64_t>(st.packets) - 1;
      }
      for (const auto& m : s.monitors) {
        auto per = m->subscription()->Stats();
        if (auto it = per.find(st.name); it != per.end()) out.drops += it->second.dropped;
      }
      for (const auto& is : statuses) {
        if (is.name == st.name) {
          out.driver = is.driver;
          out.read_errors = is.read_errors;
          out.overruns = is.overrun_samples;
          out.reconnects = is.reconnects;
          out.failed = is.failed;
        }
      }
      for (const auto& proc : config_.processors) {
        if (proc.output == st.name) out.driver = "processor:" + proc.kind;
      }
      out.rate_rows_per_s = summary_.duration_s > 0 ? st.rows / summary_.duration_s : 0;
      summary_.streams.push_back(std::move(out));
    }
    for (const auto& m : s.monitors) {
      const auto& sub = m->subscription();
      SubscriptionSummary out;
      out.name = sub->name();
      out.policy = std::string(ToString(sub->options().policy));
      const auto totals = sub->Totals();
      out.offered = totals.offered;
      out.delivered = totals.delivered;
      out.dropped = totals.dropped;
      // Gaps between packets seen, plus packets published after the last one seen.
      for (const auto& [stream, ms] : m->Stats()) {
        out.missed_by_sequence += ms.missed;
        for (const auto& st : summary_.streams) {
          if (st.name == stream && st.last_sequence >= 0) {
            out.missed_by_sequence += static_cast<std::uint64_t>(st.last_sequence) -
                                      ms.last_sequence;
          }
        }
      }
      for (const auto& want : sub->options().streams) {
        // Streams the consumer never saw at all: every packet was missed.
        if (want == "*") continue;
        if (m->Stats().count(want) == 0) {
          for (const auto& st : summary_.streams) {
            if (st.name == want) out.missed_by_sequence += st.packets;
          }
        }
      }
      summary_.subscriptions.push_back(std::move(out));
    }
  }
  {
    std::lock_guard lock(events_mutex_);
    summary_.events = events_;
  }
  if (s.recorder) {
    const auto rs = s.recorder->stats();
    summary_.stored_packets = rs.packets;
    summary_.stored_rows = rs.rows;
    summary_.not_stored_packets = rs.not_stored;
  }
  if (!s.run_dir.empty()) {
    std::error_code ec;
    for (const auto& entry : fs::directory_iterator(s.run_dir, ec)) {
      summary_.files.push_back(entry.path().filename().string());
    }
    std::sort(summary_.files.begin(), summary_.files.end());
  }
  summary_.memory = telemetry::SampleMemory();
}

Status Acquisition::Run() {
  State s;
  Status st = Prepare(s);
  if (st.ok()) st = StartAll(s);
  if (st.ok()) WaitForEnd(s);
  StopAll(s);
  Summarize(s);
  if (st.ok() && failed_.load()) st = failure_;
  if (!st.ok()) {
    summary_.outcome = "failed";
    summary_.error = st.ToString();
  } else if (stop_requested_.load()) {
    summary_.outcome = "stopped";
  }
  if (!s.run_dir.empty()) {
    Status written = WriteSummaryJson(summary_, (s.run_dir / "summary.json").string());
    if (st.ok()) st = written;
  }
  return st;
}

}  // namespace arrowdaq::app
