#include "arrowdaq/server/fake_engine.h"

#include <algorithm>
#include <ctime>
#include <filesystem>
#include <system_error>

#include "arrowdaq/core/clock.h"
#include "arrowdaq/core/schema.h"
#include "arrowdaq/instruments/driver.h"

namespace arrowdaq::server {

namespace fs = std::filesystem;

struct FakeEngine::Recording {
  RecordingInfo info;  // id, name, directory, streams, formats, started_ns: fixed at start
  std::string subscription;
  std::shared_ptr<pipeline::Subscription> input;
  std::optional<std::chrono::steady_clock::time_point> deadline;
  std::thread thread;
  std::mutex mutex;  // guards rows, stopped_ns, state
  std::map<std::string, std::uint64_t> rows;
  std::int64_t stopped_ns = 0;
  RecordingState state = RecordingState::kRecording;
};

FakeEngine::FakeEngine(FakeEngineOptions options)
    : options_(std::move(options)), started_(std::chrono::steady_clock::now()) {}

Result<std::unique_ptr<FakeEngine>> FakeEngine::Make(const config::RunConfig& config,
                                                     FakeEngineOptions options) {
  std::unique_ptr<FakeEngine> engine(new FakeEngine(std::move(options)));
  engine->system_ = std::make_unique<runtime::ActorSystem>(runtime::ActorSystemOptions{});
  pipeline::ManagerOptions manager_options;
  FakeEngine* self = engine.get();
  manager_options.on_event = [self](RunEvent event) { self->Record(std::move(event)); };
  engine->manager_ =
      std::make_unique<pipeline::InstrumentManager>(*engine->system_, manager_options);
  ARROW_ASSIGN_OR_RAISE(engine->feed_,
                        pipeline::LiveFeed::Make(engine->manager_->router(),
                                                 engine->options_.feed));
  for (const auto& instrument : config.instruments) {
    ARROW_RETURN_NOT_OK(engine->Register(instrument));
  }
  return engine;
}

FakeEngine::~FakeEngine() { Shutdown(); }

void FakeEngine::Shutdown() {
  std::vector<std::unique_ptr<Recording>> recordings;
  {
    std::lock_guard lock(mutex_);
    if (shut_down_) return;
    shut_down_ = true;
    for (auto& r : recordings_) StopLocked(*r);
  }
  feed_->Stop();
  manager_->Shutdown();
}

void FakeEngine::Record(RunEvent event) {
  std::lock_guard lock(mutex_);
  events_.push_back(std::move(event));
  while (events_.size() > options_.max_events) events_.pop_front();
}

Status FakeEngine::Register(const config::InstrumentConfig& inst) {
  const auto& registry = instruments::DriverRegistry::Default();
  auto found = registry.Find(inst.driver);
  if (!found.ok()) {
    return config::ErrorAt(inst.where, "instruments." + inst.name + ".driver",
                           found.status().message());
  }
  // Range checks live in the driver's factory: build one now, as the config check does.
  auto probe = registry.Create(inst.driver, inst.PlainOptions());
  if (!probe.ok()) {
    return config::ErrorAt(inst.where, "instruments." + inst.name + ".options",
                           probe.status().message());
  }
  pipeline::InstrumentRegistration reg;
  reg.name = inst.name;
  reg.driver = inst.driver;
  reg.resource = inst.resource.empty() ? (*found)->default_resource : inst.resource;
  reg.reconnect_attempts = inst.reconnect_attempts;
  reg.reconnect_backoff =
      std::chrono::duration_cast<std::chrono::milliseconds>(inst.reconnect_backoff);
  reg.make_driver = [driver = inst.driver, options = inst.PlainOptions()] {
    return instruments::DriverRegistry::Default().Create(driver, options);
  };
  ARROW_RETURN_NOT_OK(manager_->RegisterInstrument(std::move(reg)));
  Status st = ConnectInstrument(inst.name);
  if (!st.ok()) (void)manager_->UnregisterInstrument(inst.name);
  return st;
}

std::vector<StreamDescription> FakeEngine::ListStreams() {
  const auto instruments = manager_->GetInstrumentList();
  std::vector<StreamDescription> out;
  for (const auto& s : manager_->router().Stats()) {
    StreamDescription d;
    d.name = s.name;
    auto info = manager_->router().FindStream(s.name);
    if (!info.ok()) continue;  // removed meanwhile
    d.schema = (*info)->schema;
    d.kind = StreamKind::kInstrument;
    d.source = s.name;
    for (const auto& i : instruments) {
      if (i.name == s.name) {
        d.driver = i.driver;
        d.state = StateOf(i);
        d.overrun_samples = i.overrun_samples;
      }
    }
    if (auto rate = StreamRate(*d.schema); rate.ok()) d.nominal_rate_hz = *rate;
    if (s.rows > 1 && s.last_timestamp_ns > s.first_timestamp_ns) {
      d.measured_rate_hz = static_cast<double>(s.rows - 1) * 1e9 /
                           static_cast<double>(s.last_timestamp_ns - s.first_timestamp_ns);
    }
    d.packets = s.packets;
    d.rows = s.rows;
    d.bytes = s.bytes;
    d.next_sequence = s.packets;
    d.first_timestamp_ns = s.first_timestamp_ns;
    d.last_timestamp_ns = s.last_timestamp_ns;
    out.push_back(std::move(d));
  }
  return out;
}

Result<StreamDescription> FakeEngine::DescribeStream(const std::string& name) {
  ARROW_RETURN_NOT_OK(manager_->router().FindStream(name));  // the error lists the streams
  for (auto& d : ListStreams()) {
    if (d.name == name) return std::move(d);
  }
  return Status::KeyError("no stream named '", name, "'");
}

Result<std::shared_ptr<pipeline::LiveSubscription>> FakeEngine::Subscribe(
    pipeline::LiveSubscriptionOptions options) {
  return feed_->Subscribe(std::move(options));
}

EngineStatus FakeEngine::GetStatus() {
  EngineStatus status;
  status.instruments = manager_->GetInstrumentList();
  status.streams = ListStreams();
  {
    std::lock_guard lock(mutex_);
    for (auto& r : recordings_) status.recordings.push_back(Snapshot(*r));
  }
  status.uptime = std::chrono::steady_clock::now() - started_;
  status.memory = telemetry::SampleMemory();
  status.replay = feed_->Stats();
  return status;
}

std::vector<RunEvent> FakeEngine::RecentEvents(std::size_t limit) {
  std::lock_guard lock(mutex_);
  const std::size_t n = std::min(limit, events_.size());
  return {events_.end() - static_cast<std::ptrdiff_t>(n), events_.end()};
}

RecordingInfo FakeEngine::Snapshot(Recording& r) {
  RecordingInfo info = r.info;
  std::lock_guard lock(r.mutex);
  info.rows = r.rows;
  info.stopped_ns = r.stopped_ns;
  info.state = r.state;
  return info;
}

Result<RecordingInfo> FakeEngine::StartRecording(const RecordingRequest& request) {
  ARROW_RETURN_NOT_OK(CheckRecordingName(request.name));
  for (const auto& s : request.streams) ARROW_RETURN_NOT_OK(manager_->router().FindStream(s));

  // <output>/<name>-<UTC time>[-N]/, and nowhere else.
  std::error_code ec;
  fs::create_directories(options_.output_dir, ec);
  const fs::path output = fs::weakly_canonical(options_.output_dir, ec);
  if (ec) return Status::IOError("output directory '", options_.output_dir, "': ", ec.message());
  const std::time_t now = std::time(nullptr);
  std::tm utc{};
  gmtime_r(&now, &utc);
  char stamp[32];
  std::strftime(stamp, sizeof stamp, "%Y%m%dT%H%M%SZ", &utc);
  fs::path dir;
  for (int n = 1;; ++n) {
    dir = output / (request.name + "-" + stamp + (n > 1 ? "-" + std::to_string(n) : ""));
    if (fs::create_directory(dir, ec)) break;
    if (ec || n > 100) {
      return Status::IOError("cannot create run directory '", dir.string(), "': ",
                             ec ? ec.message() : "too many with this name");
    }
  }
  if (fs::weakly_canonical(dir).parent_path() != output) {
    fs::remove(dir, ec);
    return Status::Invalid("recording name '", request.name, "' leaves the output directory");
  }

  auto rec = std::make_unique<Recording>();
  std::lock_guard lock(mutex_);
  if (shut_down_) return Status::Invalid("the engine is shutting down");
  rec->info.id = "rec-" + std::to_string(next_recording_++);
  rec->info.name = request.name;
  rec->info.directory = dir.string();
  rec->info.streams = request.streams.empty() ? manager_->router().StreamNames() : request.streams;
  rec->info.formats = request.formats.empty() ? std::vector<std::string>{"hdf5"} : request.formats;
  rec->info.started_ns = WallClockNanos();
  rec->subscription = "recording." + rec->info.id;
  ARROW_ASSIGN_OR_RAISE(rec->input,
                        manager_->router().Subscribe({.name = rec->subscription,
                                                      .streams = rec->info.streams,
                                                      .capacity = 64,
                                                      .policy = OverflowPolicy::kBlock}));
  if (request.duration) rec->deadline = std::chrono::steady_clock::now() + *request.duration;
  Recording* r = rec.get();
  pipeline::StreamRouter* router = &manager_->router();
  r->thread = std::thread([r, router] {
    while (true) {
      std::optional<std::chrono::steady_clock::time_point> wake;
      if (r->deadline) wake = *r->deadline;
      auto packet = r->input->Next(wake);
      if (packet) {
        std::lock_guard lock(r->mutex);
        r->rows[packet->stream_name()] += static_cast<std::uint64_t>(packet->num_rows());
        continue;
      }
      if (r->input->closed()) break;  // stopped
      if (r->deadline && std::chrono::steady_clock::now() >= *r->deadline) {
        (void)router->Unsubscribe(r->subscription);  // its duration is over
        std::lock_guard lock(r->mutex);
        r->state = RecordingState::kStopped;
        r->stopped_ns = WallClockNanos();
        break;
      }
    }
  });
  events_.push_back({WallClockNanos(), "", "info",
                     "recording " + rec->info.id + " started in " + rec->info.directory});
  RecordingInfo info = Snapshot(*rec);
  recordings_.push_back(std::move(rec));
  return info;
}

void FakeEngine::StopLocked(Recording& r) {
  (void)manager_->router().Unsubscribe(r.subscription);
  r.input->Close();
  if (r.thread.joinable()) r.thread.join();
  std::lock_guard lock(r.mutex);
  if (r.state == RecordingState::kRecording) {
    r.state = RecordingState::kStopped;
    r.stopped_ns = WallClockNanos();
  }
}

Result<RecordingInfo> FakeEngine::StopRecording(const std::string& id) {
  std::lock_guard lock(mutex_);
  for (auto& r : recordings_) {
    if (r->info.id != id) continue;
    {
      std::lock_guard rlock(r->mutex);
      if (r->state != RecordingState::kRecording) {
        return Status::Invalid("recording ", id, " is already ", ToString(r->state));
      }
    }
    StopLocked(*r);
    events_.push_back({WallClockNanos(), "", "info", "recording " + id + " stopped"});
    return Snapshot(*r);
  }
  std::string known;
  for (auto& r : recordings_) known += (known.empty() ? "" : ", ") + r->info.id;
  return Status::KeyError("no recording with id '", id, "' (recordings: ",
                          known.empty() ? "none" : known, ")");
}

Result<std::string> FakeEngine::SendCommand(const std::string& instrument,
                                            const std::string& command) {
  return manager_->SendCommand(instrument, command);
}

Status FakeEngine::ConnectInstrument(const std::string& instrument) {
  ARROW_RETURN_NOT_OK(manager_->ConnectInstrument(instrument));
  return manager_->StartAcquisition(instrument);
}

Status FakeEngine::DisconnectInstrument(const std::string& instrument) {
  ARROW_RETURN_NOT_OK(manager_->StopAcquisition(instrument));
  return manager_->DisconnectInstrument(instrument);
}

Status FakeEngine::AddInstrument(const InstrumentTable& table) {
  if (!config::IsValidStreamName(table.name)) {
    return Status::Invalid("instrument name '", table.name,
                           "': only letters, digits, '_', '.' and '-' are allowed");
  }
  // The table as it would stand in a config file. (The real engine should parse the table
  // alone, so that line numbers are the table's own; here they count this header line.)
  const std::string text = "[instruments." + table.name + "]\n" + table.toml;
  ARROW_ASSIGN_OR_RAISE(auto parsed, config::ParseConfig(text, table.origin));
  if (parsed.instruments.size() != 1 || parsed.instruments[0].name != table.name ||
      !parsed.processors.empty() || !parsed.subscriptions.empty() || parsed.storage) {
    return Status::Invalid(table.origin, ": the table must describe one instrument, '",
                           table.name, "', and nothing else");
  }
  ARROW_RETURN_NOT_OK(Register(parsed.instruments[0]));
  Record({WallClockNanos(), table.name, "info",
          "instrument added (" + parsed.instruments[0].driver + ")"});
  return Status::OK();
}

Status FakeEngine::RemoveInstrument(const std::string& instrument) {
  ARROW_RETURN_NOT_OK(manager_->UnregisterInstrument(instrument));
  Record({WallClockNanos(), instrument, "info", "instrument removed"});
  return Status::OK();
}

}  // namespace arrowdaq::server
