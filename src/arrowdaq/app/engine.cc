#include "arrowdaq/app/engine.h"

#include <cstdlib>

#include "arrowdaq/app/run_plan.h"

#include <algorithm>

#include "arrowdaq/app/sinks_setup.h"

#include "arrowdaq/core/clock.h"
#include "arrowdaq/core/options.h"
#include "arrowdaq/core/schema.h"
#include "arrowdaq/instruments/driver.h"

namespace arrowdaq::app {

using SteadyClock = std::chrono::steady_clock;

Engine::Engine(config::RunConfig config, EngineOptions options)
    : config_(std::move(config)),
      options_(std::move(options)),
      events_(options_.events),
      instruments_(config_.instruments) {}

Engine::~Engine() { Stop(); }

Result<std::unique_ptr<Engine>> Engine::Make(config::RunConfig config, EngineOptions options) {
  if (config.instruments.empty()) return Status::Invalid("an engine needs an instrument");
  return std::unique_ptr<Engine>(new Engine(std::move(config), std::move(options)));
}

void Engine::Fatal(const Status& status) {
  if (fatal_.exchange(true)) return;
  if (options_.on_fatal) options_.on_fatal(status);
}

Status Engine::Prepare() {
  system_ = std::make_unique<runtime::ActorSystem>(
      runtime::ActorSystemOptions{.threads = options_.threads});
  pipeline::ManagerOptions mo;
  mo.on_fault = [this](const std::string& instrument, const Status& st) {
    // The fault itself is already an event (on_event); here only its consequence is decided.
    auto inst = FindInstrument(instrument);
    if (inst && inst->stop_run_on_failure) {
      Fatal(st.WithMessage("instrument '", instrument,
                           "' failed and its on_failure is stop_run: ", st.message()));
    }
  };
  mo.on_event = [this](RunEvent e) { events_.Record(std::move(e)); };
  // Benchmark knob (bench/compare/cost_curves.py): ARROWDAQ_PACED_THREADS=-1 gives every
  // instrument a thread of its own, as before the paced pool, to compare in one binary.
  if (const char* paced = std::getenv("ARROWDAQ_PACED_THREADS"); paced != nullptr) {
    mo.paced_threads = std::atoi(paced);
  }
  manager_ = std::make_unique<pipeline::InstrumentManager>(*system_, mo);

  for (const auto& inst : config_.instruments) ARROW_RETURN_NOT_OK(Register(inst));

  auto& router = manager_->router();
  for (const auto& proc : config_.processors) {  // dependency order (Acquisition::Make)
    ARROW_ASSIGN_OR_RAISE(auto input, router.FindStream(proc.input));
    pipeline::ProcessorSpec spec{proc.kind, proc.output, input, proc.PlainOptions()};
    auto factory = [spec] { return pipeline::MakeProcessor(spec); };
    ARROW_ASSIGN_OR_RAISE(auto first, factory());
    ARROW_ASSIGN_OR_RAISE(
        auto output, router.AddStream(std::make_shared<StreamInfo>(
                         StreamInfo{proc.output, first->output_schema()})));
    ARROW_ASSIGN_OR_RAISE(auto sub, router.Subscribe({.name = proc.output + ".input",
                                                      .streams = {proc.input},
                                                      .capacity = kProcessorInputCapacity,
                                                      .policy = OverflowPolicy::kBlock}));
    processors_.push_back(std::make_unique<pipeline::ProcessorActor>(
        proc.output, factory, std::move(first), std::move(sub), router, std::move(output),
        runtime::SupervisionOptions{}, [this](RunEvent e) { events_.Record(std::move(e)); }));
  }
  for (auto& p : processors_) p->Start();

  for (const auto& sub : config_.subscriptions) {
    ARROW_ASSIGN_OR_RAISE(auto subscription,
                          manager_->AddDataSubscriber({.name = sub.name,
                                                       .streams = sub.streams,
                                                       .capacity = sub.capacity,
                                                       .policy = sub.policy}));
    monitors_.push_back(std::make_unique<Monitor>(std::move(subscription)));
    monitors_.back()->Start();
  }
  ARROW_ASSIGN_OR_RAISE(sinks_, MakeSinks(config_, [this](RunEvent e) {
                          events_.Record(std::move(e));
                        }));
  for (auto& sink : sinks_) ARROW_RETURN_NOT_OK(sink->Start(router));
  return Status::OK();
}

Status Engine::ConnectInstruments() {
  for (const auto& inst : config_.instruments) {
    Status st = manager_->ConnectInstrument(inst.name);
    if (st.ok()) {
      connected_.push_back(inst.name);
    } else if (inst.stop_run_on_failure) {
      return st.WithMessage(st.message(), " (its on_failure is stop_run)");
    } else {
      not_started_.emplace_back(inst.name, st);
    }
  }
  return Status::OK();
}

Status Engine::StartAcquisition() {
  started_at_ = SteadyClock::now();
  started_wall_ns_ = WallClockNanos();
  // All at once (requests sent, then answers awaited): started one after the other, a
  // thousand instruments took longer to start than a short run lasts.
  const std::vector<Status> started = manager_->StartAcquisitionMany(connected_);
  for (std::size_t i = 0; i < connected_.size(); ++i) {
    const std::string& name = connected_[i];
    const Status& st = started[i];
    if (st.ok()) continue;
    const auto inst = FindInstrument(name);
    if (inst && inst->stop_run_on_failure) {
      return st.WithMessage(st.message(), " (its on_failure is stop_run)");
    }
    not_started_.emplace_back(name, st);
  }
  for (const auto& [name, cause] : not_started_) RetryInBackground(*FindInstrument(name), cause);
  acquiring_.store(true);
  return Status::OK();
}

void Engine::Tick() {
  events_.Tick();
  if (!acquiring_.load() || stopping_.load() || !manager_) return;
  for (auto& event : rate_watch_.Check(router().Stats(), RequestedRates(), SteadyClock::now(),
                                       WallClockNanos())) {
    events_.Record(std::move(event));
  }
}

std::map<std::string, double> Engine::RequestedRates() const {
  std::map<std::string, double> rates;
  if (!manager_) return rates;
  auto& router = manager_->router();
  for (const auto& name : router.StreamNames()) {
    auto info = router.FindStream(name);
    if (!info.ok()) continue;
    auto rate = StreamRate(*(*info)->schema);
    if (rate.ok()) rates[name] = *rate;
  }
  return rates;
}

std::optional<config::InstrumentConfig> Engine::FindInstrument(const std::string& name) const {
  std::lock_guard lock(mutex_);
  for (const auto& inst : instruments_) {
    if (inst.name == name) return inst;
  }
  return std::nullopt;
}

Status Engine::Register(const config::InstrumentConfig& inst) {
  ARROW_ASSIGN_OR_RAISE(const auto* info,
                        instruments::DriverRegistry::Default().Find(inst.driver));
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
  return manager_->RegisterInstrument(std::move(reg));
}

Result<std::string> Engine::SendCommand(const std::string& instrument,
                                        const std::string& command) {
  if (!manager_) return Status::Invalid("the engine is not prepared");
  return manager_->SendCommand(instrument, command);
}

Status Engine::ConnectInstrument(const std::string& instrument) {
  if (!manager_) return Status::Invalid("the engine is not prepared");
  if (stopping_.load()) return Status::Invalid("the engine is stopping");
  ARROW_RETURN_NOT_OK(manager_->ConnectInstrument(instrument));
  return manager_->StartAcquisition(instrument);
}

Status Engine::DisconnectInstrument(const std::string& instrument) {
  if (!manager_) return Status::Invalid("the engine is not prepared");
  ARROW_RETURN_NOT_OK(manager_->StopAcquisition(instrument));
  return manager_->DisconnectInstrument(instrument);
}

Status Engine::AddInstrument(config::InstrumentConfig inst) {
  if (!manager_) return Status::Invalid("the engine is not prepared");
  if (stopping_.load()) return Status::Invalid("the engine is stopping");
  const std::string key = "instruments." + inst.name;
  if (!config::IsValidStreamName(inst.name)) {
    return config::ErrorAt(inst.where, key,
                           "an instrument name has only letters, digits, '_', '.' and '-'");
  }
  if (router().FindStream(inst.name).ok()) {
    return Status::AlreadyExists("a stream named '", inst.name, "' exists already");
  }
  // The checks a config file's instrument table gets (PlanRun: driver, options, resource,
  // [limits]), on a config of this one instrument under the engine's limits.
  config::RunConfig alone;
  alone.path = inst.where.file;
  alone.instruments = {inst};
  alone.limits = config_.limits;
  ARROW_RETURN_NOT_OK(PlanRun(alone).status());
  ARROW_RETURN_NOT_OK(Register(inst));
  {
    std::lock_guard lock(mutex_);
    instruments_.push_back(inst);
  }
  Status st = ConnectInstrument(inst.name);
  if (!st.ok()) {
    (void)manager_->UnregisterInstrument(inst.name);
    std::lock_guard lock(mutex_);
    std::erase_if(instruments_, [&](const auto& i) { return i.name == inst.name; });
    return st;
  }
  events_.Record({WallClockNanos(), inst.name, "info", "instrument added (" + inst.driver + ")"});
  return Status::OK();
}

Status Engine::RemoveInstrument(const std::string& instrument) {
  if (!manager_) return Status::Invalid("the engine is not prepared");
  if (stopping_.load()) return Status::Invalid("the engine is stopping");
  if (!FindInstrument(instrument)) {
    std::string known;
    for (const auto& name : InstrumentNames()) known += (known.empty() ? "" : ", ") + name;
    return Status::KeyError("no instrument '", instrument, "' (instruments: ",
                            known.empty() ? "none" : known, ")");
  }
  for (const auto& proc : config_.processors) {
    if (proc.input == instrument) {
      return Status::Invalid("instrument '", instrument, "' feeds processor '", proc.output,
                             "'; it cannot be removed while the engine runs");
    }
  }
  for (const auto& recording : Recordings()) {
    if (recording->stopped()) continue;
    const auto& names = recording->stream_names();
    if (std::find(names.begin(), names.end(), instrument) != names.end()) {
      return Status::Invalid("instrument '", instrument, "' is being recorded by ",
                             recording->id(), "; stop that recording first");
    }
  }
  ARROW_RETURN_NOT_OK(manager_->UnregisterInstrument(instrument));
  {
    std::lock_guard lock(mutex_);
    std::erase_if(instruments_, [&](const auto& i) { return i.name == instrument; });
  }
  events_.Record({WallClockNanos(), instrument, "info", "instrument removed"});
  return Status::OK();
}

void Engine::RetryInBackground(const config::InstrumentConfig& inst, const Status& cause) {
  const int attempts = inst.reconnect_attempts;
  events_.Record({WallClockNanos(), inst.name, "fault",
                  "cannot start: " + cause.ToString() + "; on_failure is continue: the run " +
                      "goes on without it" +
                      (attempts > 0 ? ", retrying " + std::to_string(attempts) +
                                          " time(s) in the background"
                                    : std::string())});
  std::lock_guard lock(mutex_);
  never_started_[inst.name] = cause.ToString();
  if (attempts <= 0) return;
  retrying_.push_back(inst.name);
  const std::string name = inst.name;
  auto backoff = std::chrono::duration_cast<std::chrono::milliseconds>(inst.reconnect_backoff);
  retry_threads_.emplace_back([this, name, attempts, backoff]() mutable {
    Status last;
    for (int attempt = 1; attempt <= attempts; ++attempt) {
      const auto until = SteadyClock::now() + backoff;
      while (SteadyClock::now() < until) {
        if (stopping_.load()) return;
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
      }
      backoff = std::min<std::chrono::milliseconds>(backoff * 2, std::chrono::seconds(5));
      if (stopping_.load()) return;
      last = manager_->ConnectInstrument(name);
      if (last.ok()) last = manager_->StartAcquisition(name);
      if (last.ok()) {
        events_.Record({WallClockNanos(), name, "info",
                        "started after " + std::to_string(attempt) + " background attempt(s)"});
        std::lock_guard lock(mutex_);
        std::erase(retrying_, name);
        never_started_.erase(name);
        return;
      }
    }
    events_.Record({WallClockNanos(), name, "fault",
                    "gave up after " + std::to_string(attempts) +
                        " background attempt(s) to start it; last: " + last.ToString()});
    std::lock_guard lock(mutex_);
    std::erase(retrying_, name);
    never_started_[name] = last.ToString();
  });
}

void Engine::Stop() {
  if (stopped_) return;
  stopped_ = true;
  stopping_.store(true);
  std::vector<std::thread> retries;
  {
    std::lock_guard lock(mutex_);
    retries.swap(retry_threads_);
  }
  for (auto& t : retries) t.join();
  if (manager_) {
    // One instant for every instrument stream: later batches are not published. The sinks'
    // delivery deadline starts counting now.
    for (auto& sink : sinks_) sink->BeginStop();
    const std::vector<std::string> names = InstrumentNames();
    if (Status st = manager_->router().SealStreams(names); !st.ok()) {
      events_.Record({WallClockNanos(), "", "fault", "stop: " + st.ToString()});
    }
    ended_at_ = SteadyClock::now();
    ended_wall_ns_ = WallClockNanos();
    if (Status st = manager_->StopAcquisitionAll(); !st.ok()) {
      events_.Record({WallClockNanos(), "", "fault", "stop: " + st.ToString()});
    }
    final_statuses_ = manager_->GetInstrumentList();
    std::lock_guard lock(mutex_);
    for (auto& status : final_statuses_) {
      if (auto it = never_started_.find(status.name); it != never_started_.end()) {
        status.failed = true;
        if (status.last_error.empty()) status.last_error = "never started: " + it->second;
      }
    }
  }
  if (ended_at_ == SteadyClock::time_point{}) {
    ended_at_ = SteadyClock::now();
    ended_wall_ns_ = WallClockNanos();
  }
  // Sources are stopped. Drain the processors stage by stage (inputs first), so that what
  // they hold reaches the recordings.
  for (auto& p : processors_) p->CloseAndJoin();
  // Every stream is complete now (derived ones too): the whole run's rates.
  if (manager_ && acquiring_.exchange(false)) {
    const double seconds = std::chrono::duration<double>(ended_at_ - started_at_).count();
    for (auto& event : rate_watch_.Final(manager_->router().Stats(), RequestedRates(), seconds,
                                         WallClockNanos())) {
      events_.Record(std::move(event));
    }
  }
  events_.Flush();
  for (const auto& recording : Recordings()) (void)recording->Stop();
  for (auto& sink : sinks_) sink->Stop();
  if (manager_) manager_->Shutdown();
  for (auto& m : monitors_) m->Join();
}

Result<std::shared_ptr<Recording>> Engine::StartRecording(RecordingOptions options) {
  if (stopping_.load()) return Status::Invalid("the engine is stopping");
  ARROW_ASSIGN_OR_RAISE(auto made, Recording::Start(router(), events_, std::move(options)));
  std::shared_ptr<Recording> recording = std::move(made);
  std::lock_guard lock(mutex_);
  recordings_.push_back(recording);
  return recording;
}

Status Engine::StopRecording(const std::string& id) {
  std::shared_ptr<Recording> found;
  {
    std::lock_guard lock(mutex_);
    for (const auto& r : recordings_) {
      if (r->id() == id) found = r;
    }
  }
  if (!found) return Status::KeyError("no recording '", id, "'");
  return found->Stop();
}

std::vector<std::shared_ptr<Recording>> Engine::Recordings() const {
  std::lock_guard lock(mutex_);
  return recordings_;
}

std::vector<InstrumentState> Engine::Instruments() {
  std::vector<InstrumentState> out;
  if (!manager_) return out;
  std::vector<std::string> retrying;
  {
    std::lock_guard lock(mutex_);
    retrying = retrying_;
  }
  for (auto& status : manager_->GetInstrumentList()) {
    const bool waiting =
        std::find(retrying.begin(), retrying.end(), status.name) != retrying.end();
    out.push_back({std::move(status), waiting});
  }
  return out;
}

std::vector<std::string> Engine::InstrumentNames() const {
  std::vector<std::string> names;
  std::lock_guard lock(mutex_);
  for (const auto& inst : instruments_) names.push_back(inst.name);
  return names;
}

}  // namespace arrowdaq::app
