#include "arrowdaq/server/engine_adapter.h"

#include <algorithm>
#include <cstdio>
#include <optional>

#include "arrowdaq/app/run_plan.h"
#include "arrowdaq/app/run_report.h"
#include "arrowdaq/app/scan_run.h"
#include "arrowdaq/app/run_summary.h"
#include "arrowdaq/core/clock.h"
#include "arrowdaq/core/schema.h"
#include "arrowdaq/storage/writer_factory.h"

namespace arrowdaq::server {

using SteadyClock = std::chrono::steady_clock;

struct EngineAdapter::Entry {
  std::shared_ptr<app::Recording> recording;
  std::string name;
  std::vector<std::string> formats;
  std::optional<SteadyClock::time_point> deadline;

  std::mutex mutex;  // guards error, finished, result
  std::string error;  // the first storage error
  bool finished = false;
  Status result;
  std::mutex finish_mutex;  // held by the thread finishing it
};

EngineAdapter::EngineAdapter(app::Engine& engine, EngineAdapterOptions options)
    : engine_(engine), options_(std::move(options)), started_(SteadyClock::now()) {}

Result<std::unique_ptr<EngineAdapter>> EngineAdapter::Make(app::Engine& engine,
                                                           EngineAdapterOptions options) {
  std::unique_ptr<EngineAdapter> adapter(new EngineAdapter(engine, std::move(options)));
  ARROW_ASSIGN_OR_RAISE(adapter->feed_,
                        pipeline::LiveFeed::Make(engine.router(), adapter->options_.feed));
  // Scans publish their documents live on one stream for the server's life, so a client can
  // subscribe before a scan starts (docs/scans.md): declared now when the config has plans,
  // else at the first run_plan. A config stream of that name keeps it (no live documents).
  if (!engine.config().plans.empty() &&
      !engine.router().FindStream(app::ScanExecutor::kDocumentsStreamName).ok()) {
    ARROW_ASSIGN_OR_RAISE(adapter->documents_,
                          app::ScanExecutor::DeclareDocumentsStream(engine.router()));
  }
  adapter->timer_ = std::thread([a = adapter.get()] { a->RunTimer(); });
  return adapter;
}

EngineAdapter::~EngineAdapter() { Shutdown(); }

void EngineAdapter::Shutdown(const std::string& reason) {
  {
    std::lock_guard lock(mutex_);
    if (shut_down_) return;
  }
  EndScan();  // aborts a running scan; its recording ends with it
  std::vector<std::shared_ptr<Entry>> entries;
  {
    std::lock_guard lock(mutex_);
    if (shut_down_) return;
    shut_down_ = true;
    entries = entries_;
  }
  changed_.notify_all();
  if (timer_.joinable()) timer_.join();
  for (auto& e : entries) (void)Finish(*e, reason);
  feed_->Stop();
}

void EngineAdapter::RunTimer() {
  std::unique_lock lock(mutex_);
  while (!shut_down_) {
    std::optional<SteadyClock::time_point> next;
    std::shared_ptr<Entry> due;
    const auto now = SteadyClock::now();
    for (const auto& e : entries_) {
      if (!e->deadline || e->recording->stopped()) continue;
      if (*e->deadline <= now) {
        due = e;
        break;
      }
      if (!next || *e->deadline < *next) next = e->deadline;
    }
    if (due) {
      due->deadline.reset();
      lock.unlock();
      (void)Finish(*due, "");
      lock.lock();
      continue;
    }
    if (next) {
      changed_.wait_until(lock, *next);
    } else {
      changed_.wait(lock);
    }
  }
}

namespace {

InstrumentState StateOfStream(const std::string& name,
                              const std::vector<app::InstrumentState>& instruments,
                              const config::RunConfig& config, int depth = 0) {
  for (const auto& i : instruments) {
    if (i.status.name == name) return StateOf(i.status);
  }
  if (depth > 64) return InstrumentState::kDisconnected;
  for (const auto& p : config.processors) {
    if (p.output == name) return StateOfStream(p.input, instruments, config, depth + 1);
  }
  return InstrumentState::kDisconnected;
}

// Move every location of a parsed table up by `lines` (the header line put before it).
void ShiftLines(config::SourceLocation* where, int lines) {
  where->line = std::max(1, where->line - lines);
}

// "origin:L:C: ..." -> "origin:L-1:C: ..." (never below 1).
std::string ShiftMessage(const std::string& message, const std::string& origin) {
  if (message.rfind(origin + ":", 0) != 0) return message;
  int line = 0, column = 0, consumed = 0;
  if (std::sscanf(message.c_str() + origin.size(), ":%d:%d:%n", &line, &column, &consumed) < 2 ||
      consumed == 0) {
    return message;
  }
  return origin + ":" + std::to_string(std::max(1, line - 1)) + ":" + std::to_string(column) +
         ":" + message.substr(origin.size() + static_cast<std::size_t>(consumed));
}

}  // namespace

std::vector<StreamDescription> EngineAdapter::ListStreams() {
  const auto instruments = engine_.Instruments();
  const auto& config = engine_.config();
  std::map<std::string, std::uint64_t> dropped;
  for (const auto& m : engine_.monitors()) {
    for (const auto& [stream, st] : m->subscription()->Stats()) dropped[stream] += st.dropped;
  }
  auto& router = engine_.router();
  std::vector<StreamDescription> out;
  for (const auto& s : router.Stats()) {
    auto info = router.FindStream(s.name);
    if (!info.ok()) continue;  // removed meanwhile
    StreamDescription d;
    d.name = s.name;
    d.schema = (*info)->schema;
    d.kind = StreamKind::kInstrument;
    d.source = s.name;
    for (const auto& i : instruments) {
      if (i.status.name == s.name) {
        d.driver = i.status.driver;
        d.overrun_samples = i.status.overrun_samples;
      }
    }
    for (const auto& p : config.processors) {
      if (p.output == s.name) {
        d.kind = StreamKind::kDerived;
        d.source = p.input;
        d.driver = p.kind;
      }
    }
    d.state = StateOfStream(s.name, instruments, config);
    if (auto rate = StreamRate(*d.schema); rate.ok()) d.nominal_rate_hz = *rate;
    if (s.rows > 1 && s.last_timestamp_ns > s.first_timestamp_ns) {
      d.measured_rate_hz = static_cast<double>(s.rows - 1) * 1e9 /
                           static_cast<double>(s.last_timestamp_ns - s.first_timestamp_ns);
    }
    d.packets = s.packets;
    d.rows = s.rows;
    d.bytes = s.bytes;
    d.next_sequence = s.next_sequence;
    d.first_timestamp_ns = s.first_timestamp_ns;
    d.last_timestamp_ns = s.last_timestamp_ns;
    if (auto it = dropped.find(s.name); it != dropped.end()) d.dropped = it->second;
    out.push_back(std::move(d));
  }
  return out;
}

Result<StreamDescription> EngineAdapter::DescribeStream(const std::string& name) {
  ARROW_RETURN_NOT_OK(engine_.router().FindStream(name));  // the error lists the streams
  for (auto& d : ListStreams()) {
    if (d.name == name) return std::move(d);
  }
  return Status::KeyError("no stream named '", name, "'");
}

Result<std::shared_ptr<pipeline::LiveSubscription>> EngineAdapter::Subscribe(
    pipeline::LiveSubscriptionOptions options) {
  return feed_->Subscribe(std::move(options));
}

RecordingInfo EngineAdapter::Snapshot(const Entry& e) const {
  RecordingInfo info;
  info.id = e.recording->id();
  info.name = e.name;
  info.directory = e.recording->directory().string();
  info.streams = e.recording->stream_names();
  info.formats = e.formats;
  info.started_ns = e.recording->start_wall_ns();
  info.stopped_ns = e.recording->stop_wall_ns();
  for (const auto& [stream, r] : e.recording->received()) info.rows[stream] = r.rows;
  std::lock_guard lock(const_cast<std::mutex&>(e.mutex));
  info.error = e.error;
  info.state = !e.error.empty()            ? RecordingState::kFailed
               : e.recording->stopped()    ? RecordingState::kStopped
                                           : RecordingState::kRecording;
  return info;
}

EngineStatus EngineAdapter::GetStatus() {
  EngineStatus status;
  for (auto& i : engine_.Instruments()) status.instruments.push_back(std::move(i.status));
  status.streams = ListStreams();
  std::vector<std::shared_ptr<Entry>> entries;
  {
    std::lock_guard lock(mutex_);
    entries = entries_;
  }
  for (const auto& e : entries) status.recordings.push_back(Snapshot(*e));
  status.uptime = SteadyClock::now() - started_;
  status.memory = telemetry::SampleMemory();
  status.replay = feed_->Stats();
  {
    std::lock_guard lock(scan_mutex_);
    if (scan_) status.scan = ScanSnapshot(*scan_);
  }
  return status;
}

std::vector<RunEvent> EngineAdapter::RecentEvents(std::size_t limit) {
  auto events = engine_.events().Events();
  limit = std::min(limit, options_.max_events);
  if (events.size() > limit) {
    events.erase(events.begin(), events.end() - static_cast<std::ptrdiff_t>(limit));
  }
  return events;
}

Result<RecordingInfo> EngineAdapter::StartRecording(const RecordingRequest& request) {
  ARROW_RETURN_NOT_OK(CheckRecordingName(request.name));
  for (const auto& f : request.formats) {
    if (auto format = storage::ParseStorageFormat(f); !format.ok()) {
      return Status::Invalid("format '", f, "': ", format.status().message());
    }
  }
  for (const auto& s : request.streams) ARROW_RETURN_NOT_OK(engine_.router().FindStream(s));
  {
    std::lock_guard lock(mutex_);
    if (shut_down_) return Status::Invalid("the server is shutting down");
  }
  auto entry = std::make_shared<Entry>();
  entry->name = request.name;
  app::RecordingOptions ro;
  ro.name = request.name;
  ro.output_dir = options_.output_dir;
  ro.storage = options_.storage;
  if (!request.streams.empty()) ro.storage.streams = request.streams;
  if (!request.formats.empty()) ro.storage.formats = request.formats;
  entry->formats = ro.storage.formats;
  ro.config_text = options_.config_text;
  ro.metadata = options_.metadata;
  ro.override_args = options_.override_args;
  std::weak_ptr<Entry> weak = entry;
  ro.on_error = [weak](const Status& st) {
    if (auto e = weak.lock()) {
      std::lock_guard lock(e->mutex);
      if (e->error.empty()) e->error = "storage: " + st.message();
    }
  };
  app::Engine* engine = &engine_;
  ro.on_disk = [weak, engine](const storage::DiskCheck& check) {
    engine->events().Record({WallClockNanos(), "", "info", check.message});
    if (check.verdict != storage::DiskVerdict::kStop) return;
    if (auto e = weak.lock()) {
      std::lock_guard lock(e->mutex);
      if (e->error.empty()) e->error = check.message;
    }
  };
  ARROW_ASSIGN_OR_RAISE(entry->recording, engine_.StartRecording(std::move(ro)));
  if (request.duration) entry->deadline = SteadyClock::now() + *request.duration;
  engine_.events().Record({WallClockNanos(), "", "info",
                           "recording " + entry->recording->id() + " started in " +
                               entry->recording->directory().string()});
  bool late = false;
  {
    std::lock_guard lock(mutex_);
    late = shut_down_;  // Shutdown began meanwhile and will not see this one
    if (!late) entries_.push_back(entry);
  }
  if (late) {
    (void)Finish(*entry, "server stopped (signal)");
    return Status::Invalid("the server is shutting down");
  }
  changed_.notify_all();
  return Snapshot(*entry);
}

Status EngineAdapter::Finish(Entry& e, const std::string& reason) {
  std::lock_guard finishing(e.finish_mutex);
  {
    std::lock_guard lock(e.mutex);
    if (e.finished) return e.result;
  }
  Status st = e.recording->Stop();
  const double duration_s =
      e.recording->stop_wall_ns() > e.recording->start_wall_ns()
          ? static_cast<double>(e.recording->stop_wall_ns() - e.recording->start_wall_ns()) / 1e9
          : 0.0;
  app::RunSummary summary = app::SummarizeRecording(engine_, *e.recording, duration_s);
  std::string error;
  {
    std::lock_guard lock(e.mutex);
    error = e.error;
  }
  if (!st.ok() || !error.empty()) {
    summary.outcome = "failed";
    summary.error = !error.empty() ? error : st.ToString();
  } else if (!reason.empty()) {
    summary.outcome = "stopped";
    summary.stop_reason = reason;
  }
  summary.metadata = options_.metadata;
  summary.override_args = options_.override_args;
  app::ReleaseSpace((e.recording->directory() / app::kSummaryReserve).string());
  Status written = app::WriteSummaryJson(
      summary, (e.recording->directory() / "summary.json").string());
  if (st.ok()) st = written;
  engine_.events().Record({WallClockNanos(), "", "info",
                           "recording " + e.recording->id() + " stopped" +
                               (reason.empty() ? std::string() : ": " + reason)});
  std::lock_guard lock(e.mutex);
  if (!st.ok() && e.error.empty()) e.error = st.ToString();
  e.finished = true;
  e.result = st;
  return st;
}

Result<RecordingInfo> EngineAdapter::StopRecording(const std::string& id) {
  std::shared_ptr<Entry> found;
  std::string known;
  {
    std::lock_guard lock(mutex_);
    for (const auto& e : entries_) {
      if (e->recording->id() == id) found = e;
      known += (known.empty() ? "" : ", ") + e->recording->id();
    }
    // A name stands for its recording while exactly one open recording has it ("record stop
    // scan1" after "record start scan1").
    if (!found) {
      std::vector<std::shared_ptr<Entry>> open;
      for (const auto& e : entries_) {
        std::lock_guard entry_lock(e->mutex);
        if (e->name == id && !e->finished && !e->recording->stopped()) open.push_back(e);
      }
      if (open.size() == 1) found = open.front();
      if (open.size() > 1) {
        return Status::Invalid("recording name '", id, "' is open ", open.size(),
                               " times: give the id (recordings: ", known, ")");
      }
    }
  }
  if (!found) {
    return Status::KeyError("no recording with id '", id, "' (recordings: ",
                            known.empty() ? "none" : known, ")");
  }
  {
    std::lock_guard lock(found->mutex);
    if (found->finished || found->recording->stopped()) {
      return Status::Invalid("recording ", found->recording->id(), " is already stopped");
    }
  }
  Status st = Finish(*found, "");
  if (!st.ok()) return st.WithMessage("recording ", found->recording->id(), ": ", st.message());
  return Snapshot(*found);
}

Result<std::string> EngineAdapter::SendCommand(const std::string& instrument,
                                               const std::string& command) {
  return engine_.SendCommand(instrument, command);
}

Status EngineAdapter::ConnectInstrument(const std::string& instrument) {
  return engine_.ConnectInstrument(instrument);
}

Status EngineAdapter::DisconnectInstrument(const std::string& instrument) {
  return engine_.DisconnectInstrument(instrument);
}

Status EngineAdapter::AddInstrument(const InstrumentTable& table) {
  if (!config::IsValidStreamName(table.name)) {
    return Status::Invalid("instrument name '", table.name,
                           "': only letters, digits, '_', '.' and '-' are allowed");
  }
  // The table as it stands in a config file, under its header; locations are then moved up
  // one line so that they count the table's own lines.
  const std::string text = "[instruments." + table.name + "]\n" + table.toml;
  auto parsed = config::ParseConfig(text, table.origin);
  if (!parsed.ok()) {
    return parsed.status().WithMessage(ShiftMessage(parsed.status().message(), table.origin));
  }
  const config::RunOptions defaults;
  if (parsed->instruments.size() != 1 || parsed->instruments[0].name != table.name ||
      !parsed->processors.empty() || !parsed->subscriptions.empty() || parsed->storage ||
      parsed->run.output_dir != defaults.output_dir || parsed->run.name != defaults.name ||
      parsed->run.duration != defaults.duration || !parsed->run.metadata.empty() ||
      parsed->run.log_level != defaults.log_level) {
    return Status::Invalid(table.origin, ": the table must describe one instrument, '",
                           table.name, "', and nothing else (no other [table] headers)");
  }
  config::InstrumentConfig inst = std::move(parsed->instruments[0]);
  ShiftLines(&inst.where, 1);
  for (auto& [key, opt] : inst.options) ShiftLines(&opt.where, 1);
  ARROW_RETURN_NOT_OK(engine_.AddInstrument(std::move(inst)));
  std::lock_guard lock(mutex_);
  added_tables_[table.name] = text;
  return Status::OK();
}

Status EngineAdapter::RemoveInstrument(const std::string& instrument) {
  ARROW_RETURN_NOT_OK(engine_.RemoveInstrument(instrument));
  std::lock_guard lock(mutex_);
  added_tables_.erase(instrument);
  return Status::OK();
}

// ---- scans ------------------------------------------------------------------------------------

struct EngineAdapter::Scan {
  std::string plan;
  std::string recording_id;
  std::string directory;
  std::unique_ptr<app::ScanExecutor> executor;
  std::thread waiter;              // joins the executor, then stops the recording
  std::atomic<bool> ended{false};  // the recording is stopped: the files are complete
};

ScanInfo EngineAdapter::ScanSnapshot(const Scan& scan) const {
  ScanInfo info;
  info.plan = scan.plan;
  info.recording_id = scan.recording_id;
  info.directory = scan.directory;
  const app::ScanExecutor& e = *scan.executor;
  info.points_total = e.points_total();
  info.points_done = e.points_done();
  if (scan.ended.load()) {
    info.state = ScanState::kDone;
    info.exit_status = std::string(app::ToString(e.exit_status()));
    info.reason = e.reason();
  } else {
    info.state = e.paused() ? ScanState::kPaused : ScanState::kRunning;
  }
  return info;
}

void EngineAdapter::EndScan() {
  std::lock_guard lock(scan_mutex_);
  if (!scan_) return;
  scan_->executor->Abort();  // no effect once the scan has ended
  if (scan_->waiter.joinable()) scan_->waiter.join();
}

namespace {

// "run_plan:47:3: plans[2].axes[0].stop: target ..." -> "run_plan: axes[0].stop: target ...":
// the line and column count the server's config text with the plan appended, which the
// client never saw; the field path is what names the problem.
std::string PlanMessage(const std::string& message, const std::string& origin) {
  std::string rest = message;
  if (rest.rfind(origin + ":", 0) == 0) {
    int line = 0, column = 0, consumed = 0;
    if (std::sscanf(rest.c_str() + origin.size(), ":%d:%d:%n", &line, &column, &consumed) >= 2 &&
        consumed > 0) {
      rest = rest.substr(origin.size() + static_cast<std::size_t>(consumed));
    } else {
      rest = rest.substr(origin.size() + 1);
    }
  }
  while (!rest.empty() && rest.front() == ' ') rest.erase(0, 1);
  if (rest.rfind("plans[", 0) == 0) {
    const auto close = rest.find(']');
    if (close != std::string::npos) {
      rest = rest.substr(close + 1);
      if (!rest.empty() && rest.front() == '.') rest.erase(0, 1);
      if (!rest.empty() && rest.front() == ':') rest = "plan" + rest;
    }
  }
  return origin + ": " + rest;
}

}  // namespace

Result<ScanInfo> EngineAdapter::RunPlan(const PlanRequest& request) {
  std::lock_guard lock(scan_mutex_);
  {
    std::lock_guard state(mutex_);
    if (shut_down_) return Status::Invalid(request.origin, ": the server is shutting down");
  }
  if (scan_ && !scan_->ended.load()) {
    const ScanInfo now = ScanSnapshot(*scan_);
    return Status::AlreadyExists(request.origin, ": a scan is already running (plan '", now.plan,
                                 "', ", now.points_done, "/", now.points_total, " points, ",
                                 ToString(now.state), ", in ", now.directory,
                                 "); abort it or wait for it to end");
  }
  const config::RunConfig& base = engine_.config();
  config::PlanConfig plan;
  std::vector<config::InstrumentConfig> instruments;  // the config's and those added since
  if (request.by_name) {
    std::string names;
    const config::PlanConfig* found = nullptr;
    for (const auto& p : base.plans) {
      names += (names.empty() ? "" : ", ") + p.name;
      if (p.name == request.name) found = &p;
    }
    if (found == nullptr) {
      return Status::KeyError(request.origin, ": name: no plan '", request.name,
                              "' in the config (plans: ", names.empty() ? "none" : names,
                              "); or give the whole plan ([[plans]] fields)");
    }
    plan = *found;
  } else {
    // The entry under its header after the server's own config, so that it is read (unknown
    // keys, types, kinds, axes and detectors against the instruments) exactly like one.
    // Under a placeholder name no config plan has (a plan sent in full may reuse the name of
    // one of the config's); the request's name is checked as the recording name below.
    if (Status st = CheckRecordingName(request.name); !st.ok()) {
      return Status::Invalid(request.origin, ": name: ", st.message());
    }
    std::string placeholder = "run_plan_entry";
    for (bool taken = true; taken;) {
      taken = false;
      for (const auto& p : base.plans) taken = taken || p.name == placeholder;
      if (taken) placeholder += "_";
    }
    // Instruments added at run time first, as tables of the config: a plan may use them.
    std::string added;
    {
      std::lock_guard state(mutex_);
      for (const auto& [name, table] : added_tables_) added += "\n" + table + "\n";
    }
    auto parsed = config::ParseConfig(base.text + added + "\n[[plans]]\nname = \"" + placeholder +
                                          "\"\n" + request.toml,
                                      request.origin);
    if (!parsed.ok()) {
      return Status::Invalid(PlanMessage(parsed.status().message(), request.origin));
    }
    if (parsed->plans.size() != base.plans.size() + 1) {
      return Status::Invalid(request.origin, ": the body must be one plan's fields");
    }
    plan = std::move(parsed->plans.back());
    plan.name = request.name;
    instruments = std::move(parsed->instruments);
  }
  // Soft limits, movable motors and numeric detector columns, before anything moves.
  config::RunConfig checked = base;
  if (!instruments.empty()) checked.instruments = std::move(instruments);
  checked.plans = {plan};
  auto planned = app::PlanRun(checked);
  if (!planned.ok()) {
    return planned.status().WithMessage(PlanMessage(planned.status().message(), request.origin));
  }
  if (Status st = CheckRecordingName(plan.name); !st.ok()) {
    return Status::Invalid(request.origin, ": name: ", st.message());
  }
  if (scan_) {  // the last scan has ended: its threads are done, its stream goes
    if (scan_->waiter.joinable()) scan_->waiter.join();
    scan_.reset();
    (void)engine_.router().RemoveStream(app::ScanExecutor::kStreamName);
  }
  auto scan = std::make_shared<Scan>();
  scan->plan = plan.name;
  app::ScanOptions so;  // no progress output, no terminal: the actions drive it
  if (!documents_ && !engine_.router().FindStream(app::ScanExecutor::kDocumentsStreamName).ok()) {
    ARROW_ASSIGN_OR_RAISE(documents_,
                          app::ScanExecutor::DeclareDocumentsStream(engine_.router()));
  }
  so.documents = documents_;
  ARROW_ASSIGN_OR_RAISE(scan->executor, app::ScanExecutor::Make(engine_, *planned, plan, so));
  RecordingRequest rec;
  rec.name = plan.name;
  {  // the scan's points are stored whenever the recording stores anything
    const auto& wanted = options_.storage.streams;
    if (!wanted.empty() && std::find(wanted.begin(), wanted.end(), "*") == wanted.end()) {
      rec.streams = wanted;
      if (std::find(wanted.begin(), wanted.end(), app::ScanExecutor::kStreamName) ==
          wanted.end()) {
        rec.streams.push_back(app::ScanExecutor::kStreamName);
      }
    }
  }
  auto started = StartRecording(rec);
  if (!started.ok()) {
    scan->executor.reset();
    (void)engine_.router().RemoveStream(app::ScanExecutor::kStreamName);
    return started.status();
  }
  scan->recording_id = started->id;
  scan->directory = started->directory;
  if (Status st = scan->executor->Start(started->directory, nullptr); !st.ok()) {
    (void)StopRecording(scan->recording_id);
    scan->executor.reset();
    (void)engine_.router().RemoveStream(app::ScanExecutor::kStreamName);
    return st;
  }
  engine_.events().Record({WallClockNanos(), "", "info",
                           "scan " + plan.name + " started in " + scan->directory});
  Scan* raw = scan.get();
  scan->waiter = std::thread([this, raw] {
    raw->executor->Join();
    const app::ScanExecutor& e = *raw->executor;
    // As `arrowdaq scan` ends its run: a completed scan as a finished run, an aborted or
    // failed one stopped with the reason (summary.json stop_reason "scan abort: ...").
    std::shared_ptr<Entry> entry;
    {
      std::lock_guard state(mutex_);
      for (const auto& candidate : entries_) {
        if (candidate->recording->id() == raw->recording_id) entry = candidate;
      }
    }
    if (entry) {
      (void)Finish(*entry, e.exit_status() == app::ScanExit::kSuccess
                               ? std::string()
                               : "scan " + std::string(app::ToString(e.exit_status())) + ": " +
                                     e.reason());
    }
    raw->ended.store(true);
    engine_.events().Record({WallClockNanos(), "", "info",
                             "scan " + raw->plan + " ended: " +
                                 std::string(app::ToString(e.exit_status())) + ", " +
                                 std::to_string(e.points_done()) + "/" +
                                 std::to_string(e.points_total()) + " points" +
                                 (e.reason().empty() ? "" : " (" + e.reason() + ")")});
  });
  scan_ = scan;
  return ScanSnapshot(*scan_);
}

Result<ScanInfo> EngineAdapter::ControlScan(ScanControl control) {
  std::lock_guard lock(scan_mutex_);
  const char* name = control == ScanControl::kPause    ? "pause"
                     : control == ScanControl::kResume ? "resume"
                                                       : "abort";
  if (!scan_ || scan_->ended.load()) {
    return Status::Invalid(name, ": no scan is running",
                           scan_ ? " (the last, plan '" + scan_->plan + "', has ended)" : "");
  }
  switch (control) {
    case ScanControl::kPause:
      scan_->executor->Pause();
      break;
    case ScanControl::kResume:
      if (!scan_->executor->paused()) {
        return Status::Invalid("resume: the scan is not paused (plan '", scan_->plan, "', ",
                               scan_->executor->points_done(), "/",
                               scan_->executor->points_total(), " points)");
      }
      scan_->executor->Resume();
      break;
    case ScanControl::kAbort:
      scan_->executor->Abort();
      break;
  }
  return ScanSnapshot(*scan_);
}

}  // namespace arrowdaq::server
