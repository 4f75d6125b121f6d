#include "arrowdaq/app/acquisition.h"

#include <algorithm>
#include <map>
#include <ostream>
#include <sstream>
#include <thread>

#include "arrowdaq/app/progress_view.h"
#include "arrowdaq/app/run_plan.h"
#include "arrowdaq/app/run_report.h"
#include "arrowdaq/core/clock.h"
#include "arrowdaq/instruments/driver.h"
#include "arrowdaq/pipeline/processor.h"

namespace arrowdaq::app {

using Clock = std::chrono::steady_clock;

namespace {

// The storage a run gets: the [storage] table, or the defaults (run.h5 of every stream)
// when the config has none, so that a run never ends without its data on disk.
config::StorageConfig StorageOf(const config::RunConfig& cfg) {
  return cfg.storage ? *cfg.storage : config::StorageConfig{};
}

}  // namespace


Acquisition::Acquisition(config::RunConfig config, AcquisitionOptions options)
    : config_(std::move(config)), options_(std::move(options)) {}

Acquisition::~Acquisition() = default;


Result<std::unique_ptr<Acquisition>> Acquisition::Make(config::RunConfig config,
                                                       AcquisitionOptions options) {
  // Every check on the config lives in PlanRun, which `arrowdaq validate` calls too.
  ARROW_ASSIGN_OR_RAISE(const RunPlan plan, PlanRun(config));
  config.processors = plan.ProcessorConfigs();  // dependency order (the engine starts them so)
  return std::unique_ptr<Acquisition>(new Acquisition(std::move(config), std::move(options)));
}

void Acquisition::Fail(const Status& status) {
  std::lock_guard lock(mutex_);
  if (!failed_.exchange(true)) failure_ = status;
}

Status Acquisition::Start() {
  EngineOptions eo;
  eo.threads = options_.threads;
  eo.on_fatal = [this](const Status& st) {
    Fail(st);
    RequestStop();
  };
  ARROW_ASSIGN_OR_RAISE(engine_, Engine::Make(config_, std::move(eo)));
  ARROW_RETURN_NOT_OK(engine_->Prepare());
  if (options_.prepared) ARROW_RETURN_NOT_OK(options_.prepared(*engine_));
  // Connect first: an instrument whose on_failure is stop_run and that cannot connect ends
  // the run before anything is recorded.
  ARROW_RETURN_NOT_OK(engine_->ConnectInstruments());
  RecordingOptions ro;
  ro.name = config_.run.name;
  ro.output_dir = options_.output_dir.empty() ? config_.run.output_dir : options_.output_dir;
  ro.storage = StorageOf(config_);
  {
    auto& wanted = ro.storage.streams;
    const bool all = std::find(wanted.begin(), wanted.end(), "*") != wanted.end();
    for (const auto& name : options_.also_store) {
      if (!all && !wanted.empty() && std::find(wanted.begin(), wanted.end(), name) == wanted.end()) {
        wanted.push_back(name);
      }
    }
  }
  ro.config_text = config_.text;
  ro.on_error = [this](const Status& st) {
    Fail(st.WithMessage("storage: ", st.message()));
    RequestStop();
  };
  ro.metadata = config_.run.metadata;
  ro.override_args = options_.override_args;
  ro.on_disk = [this](const storage::DiskCheck& check) {
    engine_->events().Record({WallClockNanos(), "", "info", check.message});
    if (check.verdict == storage::DiskVerdict::kStop) {
      {
        std::lock_guard lock(mutex_);
        if (stop_reason_.empty()) stop_reason_ = check.message;
      }
      RequestStop();
    }
  };
  ARROW_ASSIGN_OR_RAISE(recording_, engine_->StartRecording(std::move(ro)));
  if (options_.attach) {
    ARROW_ASSIGN_OR_RAISE(detach_, options_.attach(*engine_));
  }
  return engine_->StartAcquisition();
}

void Acquisition::RequestStop(std::string reason) {
  {
    std::lock_guard lock(mutex_);
    if (stop_reason_.empty()) stop_reason_ = std::move(reason);
  }
  RequestStop();
}

void Acquisition::WaitForEnd() {
  const auto duration = options_.duration ? *options_.duration : config_.run.duration;
  // run.progress_interval, on a terminal too (app/progress_view.h draws it).
  const auto interval = config_.run.progress_interval;
  const bool bounded = duration.count() > 0;
  const auto start = engine_->acquisition_start();
  auto next_progress = Clock::now() + interval;
  std::vector<pipeline::StreamStats> previous = engine_->router().Stats();
  auto previous_time = Clock::now();
  ProgressView view(options_.interactive);
  while (!stop_requested_.load(std::memory_order_relaxed) &&
         !end_requested_.load(std::memory_order_relaxed) &&
         !(bounded && Clock::now() - start >= duration)) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    engine_->Tick();
    if (options_.progress == nullptr || Clock::now() < next_progress) continue;
    next_progress = std::max(next_progress + interval, Clock::now());
    auto now = Clock::now();
    auto stats = engine_->router().Stats();
    const double dt = std::chrono::duration<double>(now - previous_time).count();
    std::vector<StreamProgress> lines;
    for (size_t i = 0; i < stats.size(); ++i) {
      const auto& st = stats[i];
      const auto prev_rows = i < previous.size() ? previous[i].rows : 0;
      StreamProgress line{st.name, st.rows, dt > 0 ? (st.rows - prev_rows) / dt : 0, 0};
      for (const auto& m : engine_->monitors()) {
        auto per = m->subscription()->Stats();
        if (auto it = per.find(st.name); it != per.end()) line.drops += it->second.dropped;
      }
      lines.push_back(std::move(line));
    }
    const double elapsed = std::chrono::duration<double>(now - start).count();
    const TerminalSize size =
        options_.interactive ? TerminalSizeOf(options_.progress_fd) : TerminalSize{};
    *options_.progress << view.Render(elapsed, lines, size) << std::flush;
    previous = std::move(stats);
    previous_time = now;
  }
}

Status Acquisition::Run() {
  Status st = Start();
  if (st.ok()) WaitForEnd();
  if (detach_) {
    detach_();
    detach_ = nullptr;
  }
  if (engine_) engine_->Stop();
  if (st.ok() && failed_.load()) {
    std::lock_guard lock(mutex_);
    st = failure_;
  }
  if (recording_) {
    const auto begin = engine_->acquisition_start();
    const auto end = engine_->acquisition_end();
    const double duration_s = begin == Clock::time_point{} || end < begin
                                  ? 0
                                  : std::chrono::duration<double>(end - begin).count();
    summary_ = SummarizeRecording(*engine_, *recording_, duration_s);
  } else if (engine_) {
    summary_.events = engine_->events().Events();
  }
  if (!st.ok()) {
    summary_.outcome = "failed";
    summary_.error = st.ToString();
  } else if (stop_requested_.load()) {
    summary_.outcome = "stopped";
    std::lock_guard lock(mutex_);
    summary_.stop_reason = stop_reason_.empty() ? "stop requested (signal)" : stop_reason_;
  }
  summary_.metadata = config_.run.metadata;
  summary_.override_args = options_.override_args;
  if (recording_) {
    ReleaseSpace((recording_->directory() / kSummaryReserve).string());
    Status written =
        WriteSummaryJson(summary_, (recording_->directory() / "summary.json").string());
    if (st.ok()) st = written;
  }
  return st;
}

}  // namespace arrowdaq::app
