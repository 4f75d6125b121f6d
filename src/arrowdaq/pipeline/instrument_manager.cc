#include "arrowdaq/pipeline/instrument_manager.h"

#include <algorithm>
#include <optional>

#include "arrowdaq/core/clock.h"
#include "arrowdaq/core/options.h"

namespace arrowdaq::pipeline {

using instruments::InstrumentStatus;
using runtime::Ack;
using runtime::Reply;
namespace msg = instruments::msg;

InstrumentManager::InstrumentManager(runtime::ActorSystem& system, ManagerOptions options)
    : system_(system), options_(std::move(options)) {}

InstrumentManager::~InstrumentManager() { Shutdown(); }

Status InstrumentManager::RegisterInstrument(InstrumentRegistration reg) {
  if (reg.name.empty()) return Status::Invalid("an instrument needs a name");
  if (!reg.make_driver) return Status::Invalid("instrument '", reg.name, "' has no driver");
  {
    std::lock_guard lock(mutex_);
    for (const auto& e : entries_) {
      if (e.name == reg.name) {
        return Status::AlreadyExists("instrument '", reg.name, "' is already registered");
      }
    }
  }
  auto driver = reg.make_driver();
  if (!driver.ok()) {
    return driver.status().WithMessage("instrument '", reg.name, "': ",
                                       driver.status().message());
  }
  auto info = std::make_shared<StreamInfo>(StreamInfo{reg.name, (*driver)->schema()});
  ARROW_ASSIGN_OR_RAISE(auto stream, router_.AddStream(info));

  auto spec = std::make_shared<instruments::InstrumentSpec>();
  spec->name = reg.name;
  spec->driver = reg.driver;
  spec->resource = reg.resource;
  spec->make_driver = std::move(reg.make_driver);
  spec->connect_timeout = reg.connect_timeout;
  spec->command_timeout = reg.command_timeout;
  spec->publish = [router = &router_, stream](std::shared_ptr<arrow::RecordBatch> batch) {
    return router->Publish(*stream, std::move(batch));
  };
  spec->on_fault = options_.on_fault;
  spec->on_event = options_.on_event;
  spec->reconnect_attempts = reg.reconnect_attempts;
  spec->reconnect_backoff = reg.reconnect_backoff;
  if (options_.paced_threads >= 0 && (*driver)->paced()) {
    std::lock_guard lock(mutex_);
    if (!paced_pool_) {
      runtime::PacedPoolOptions pool_options;
      pool_options.threads = options_.paced_threads;
      paced_pool_ = std::make_unique<runtime::PacedPool>(pool_options);
    }
    spec->paced_pool = paced_pool_.get();
  }

  runtime::ActorOptions actor_options;
  actor_options.name = reg.name;
  actor_options.mailbox_capacity = options_.instrument_mailbox;
  actor_options.overflow = OverflowPolicy::kBlock;
  actor_options.supervision = options_.supervision;
  actor_options.on_exit = [on_fault = options_.on_fault,
                           on_event = options_.on_event](const runtime::ActorExit& exit) {
    if (exit.status.ok()) return;
    if (on_event) {
      on_event({WallClockNanos(), exit.name, "fault",
                "instrument actor gave up after " + std::to_string(exit.restarts) +
                    " restart(s): " + exit.status.ToString()});
    }
    if (on_fault) on_fault(exit.name, exit.status);
  };
  auto ref = instruments::SpawnInstrument(system_, spec, std::move(driver).ValueUnsafe(),
                                          std::move(actor_options));
  std::lock_guard lock(mutex_);
  entries_.push_back(Entry{reg.name, std::move(spec), std::move(stream), std::move(ref)});
  return Status::OK();
}

Result<InstrumentManager::Entry> InstrumentManager::Find(const std::string& name) const {
  std::lock_guard lock(mutex_);
  std::string known;
  for (const auto& e : entries_) {
    if (e.name == name) return e;
    known += (known.empty() ? "" : ", ") + e.name;
  }
  return Status::KeyError("no instrument named '", name, "' (instruments: ",
                          known.empty() ? "none" : known, ")");
}

std::chrono::milliseconds InstrumentManager::AskTimeout(hardware::Timeout io) const {
  return io + options_.ask_margin;
}

Status InstrumentManager::UnregisterInstrument(const std::string& name) {
  ARROW_ASSIGN_OR_RAISE(auto entry, Find(name));
  (void)StopAcquisition(name);
  entry.ref.Stop();
  entry.ref.Join();
  {
    std::lock_guard lock(mutex_);
    entries_.erase(std::remove_if(entries_.begin(), entries_.end(),
                                  [&](const Entry& e) { return e.name == name; }),
                   entries_.end());
  }
  return router_.RemoveStream(name);
}

Result<std::shared_ptr<Subscription>> InstrumentManager::AddDataSubscriber(
    SubscriptionOptions options) {
  return router_.Subscribe(std::move(options));
}

Status InstrumentManager::RemoveDataSubscriber(const std::string& name) {
  return router_.Unsubscribe(name);
}

namespace {

template <typename M>
Status AskAck(const instruments::InstrumentRef& ref, std::chrono::milliseconds timeout) {
  return ref.AskBlocking<Ack>([](Reply<Ack> r) { return M{std::move(r)}; }, timeout).status();
}

}  // namespace

Status InstrumentManager::ConnectInstrument(const std::string& name) {
  ARROW_ASSIGN_OR_RAISE(auto e, Find(name));
  return AskAck<msg::Connect>(
      e.ref, AskTimeout(e.spec->connect_timeout + 5 * e.spec->command_timeout));
}

Status InstrumentManager::DisconnectInstrument(const std::string& name) {
  ARROW_ASSIGN_OR_RAISE(auto e, Find(name));
  return AskAck<msg::Disconnect>(e.ref, AskTimeout(e.spec->command_timeout));
}

Status InstrumentManager::StartAcquisition(const std::string& name) {
  ARROW_ASSIGN_OR_RAISE(auto e, Find(name));
  return AskAck<msg::StartAcquisition>(e.ref, AskTimeout(e.spec->command_timeout));
}

Status InstrumentManager::StopAcquisition(const std::string& name) {
  ARROW_ASSIGN_OR_RAISE(auto e, Find(name));
  // Stopping waits for the batch in flight, which may wait on back-pressure: allow more time.
  return AskAck<msg::StopAcquisition>(e.ref, AskTimeout(e.spec->command_timeout) * 5);
}

std::vector<Status> InstrumentManager::StartAcquisitionMany(const std::vector<std::string>& names) {
  std::vector<Status> results(names.size());
  std::vector<std::optional<runtime::PendingAsk<Ack>>> pending(names.size());
  // All requests are in flight together, so the machine works through all of them inside one
  // timeout: allow each 50 ms more per instrument started with it (one after the other, each
  // had the whole timeout to itself; a loaded 2-core machine under ASan needed that).
  const auto shared_extra = std::chrono::milliseconds(50) * static_cast<int>(names.size());
  for (std::size_t i = 0; i < names.size(); ++i) {
    auto e = Find(names[i]);
    if (!e.ok()) {
      results[i] = e.status();
      continue;
    }
    pending[i] = e->ref.AskLater<Ack>(
        [](Reply<Ack> r) { return msg::StartAcquisition{std::move(r)}; },
        AskTimeout(e->spec->command_timeout) + shared_extra);
  }
  for (std::size_t i = 0; i < names.size(); ++i) {
    if (pending[i]) results[i] = pending[i]->Wait().status();
  }
  return results;
}

Status InstrumentManager::StopAcquisitionAll() {
  std::vector<Entry> entries;
  {
    std::lock_guard lock(mutex_);
    entries = entries_;
  }
  std::vector<runtime::PendingAsk<Ack>> pending;
  pending.reserve(entries.size());
  for (const auto& e : entries) {
    if (e.ref.finished()) continue;
    pending.push_back(e.ref.AskLater<Ack>(
        [](Reply<Ack> r) { return msg::StopAcquisition{std::move(r)}; },
        AskTimeout(e.spec->command_timeout) * 5));
  }
  Status first;
  for (auto& p : pending) {
    Status st = p.Wait().status();
    if (first.ok() && !st.ok()) first = st;
  }
  return first;
}

Result<std::string> InstrumentManager::SendCommand(const std::string& name,
                                                   const std::string& command) {
  ARROW_ASSIGN_OR_RAISE(auto e, Find(name));
  return e.ref.AskBlocking<std::string>(
      [&](Reply<std::string> r) { return msg::SendCommand{command, std::move(r)}; },
      AskTimeout(e.spec->command_timeout));
}

Result<std::vector<instruments::AxisInfo>> InstrumentManager::GetAxes(const std::string& name) {
  ARROW_ASSIGN_OR_RAISE(auto e, Find(name));
  return e.ref.AskBlocking<std::vector<instruments::AxisInfo>>(
      [](Reply<std::vector<instruments::AxisInfo>> r) { return msg::GetAxes{std::move(r)}; },
      AskTimeout(e.spec->command_timeout));
}

Status InstrumentManager::MoveTo(const std::string& name, int axis, double position) {
  ARROW_ASSIGN_OR_RAISE(auto e, Find(name));
  return e.ref
      .AskBlocking<Ack>(
          [&](Reply<Ack> r) { return msg::MoveTo{axis, position, std::move(r)}; },
          AskTimeout(e.spec->command_timeout))
      .status();
}

Result<bool> InstrumentManager::IsMoving(const std::string& name, int axis) {
  ARROW_ASSIGN_OR_RAISE(auto e, Find(name));
  return e.ref.AskBlocking<bool>(
      [&](Reply<bool> r) { return msg::IsMoving{axis, std::move(r)}; },
      AskTimeout(e.spec->command_timeout));
}

Result<double> InstrumentManager::GetPosition(const std::string& name, int axis) {
  ARROW_ASSIGN_OR_RAISE(auto e, Find(name));
  return e.ref.AskBlocking<double>(
      [&](Reply<double> r) { return msg::GetPosition{axis, std::move(r)}; },
      AskTimeout(e.spec->command_timeout));
}

Status InstrumentManager::StopMotion(const std::string& name, int axis) {
  ARROW_ASSIGN_OR_RAISE(auto e, Find(name));
  return e.ref
      .AskBlocking<Ack>([&](Reply<Ack> r) { return msg::StopMotion{axis, std::move(r)}; },
                        AskTimeout(e.spec->command_timeout))
      .status();
}

Result<std::vector<double>> InstrumentManager::MoveAndWait(
    const std::vector<AxisTarget>& targets, const std::function<bool()>& cancelled,
    std::chrono::milliseconds check, std::chrono::nanoseconds timeout) {
  const auto sent = std::chrono::steady_clock::now();
  // A move has no time limit of its own (a long travel is legitimate): the instrument answers
  // when the axis stops, faults, or the instrument stops; its reply cannot be lost (an actor
  // that ends answers every pending request). The day is only a backstop.
  constexpr auto kMoveBackstop = std::chrono::hours(24);
  std::vector<std::optional<runtime::PendingAsk<double>>> pending(targets.size());
  Status first;
  for (std::size_t i = 0; i < targets.size() && first.ok(); ++i) {
    auto e = Find(targets[i].instrument);
    if (!e.ok()) {
      first = e.status();
      break;
    }
    const AxisTarget& t = targets[i];
    pending[i] = e->ref.AskLater<double>(
        [&](Reply<double> r) { return msg::MoveAndWait{t.axis, t.position, std::move(r)}; },
        kMoveBackstop);
  }
  std::vector<double> readback(targets.size(), 0.0);
  bool stopped = false;
  auto stop_all = [&] {
    if (stopped) return;
    stopped = true;
    for (std::size_t i = 0; i < targets.size(); ++i) {
      if (pending[i]) (void)StopMotion(targets[i].instrument, targets[i].axis);
    }
  };
  if (!first.ok()) stop_all();
  bool was_cancelled = false;
  for (std::size_t i = 0; i < targets.size(); ++i) {
    if (!pending[i]) continue;
    while (!pending[i]->WaitUntil(std::chrono::steady_clock::now() + check)) {
      if (!stopped && cancelled && cancelled()) {
        was_cancelled = true;
        stop_all();
      } else if (!stopped && timeout.count() > 0 &&
                 std::chrono::steady_clock::now() - sent >= timeout) {
        const AxisTarget& t = targets[i];
        first = Status::IOError(
            t.label.empty() ? t.instrument + " axis " + std::to_string(t.axis) : t.label,
            " still moving to ", FormatNumber(t.position), " after ",
            std::chrono::duration_cast<std::chrono::milliseconds>(timeout).count(),
            " ms: stopped (move_timeout)");
        stop_all();
      }
    }
    Result<double> r = pending[i]->Wait();
    if (r.ok()) {
      readback[i] = *r;
    } else if (first.ok() && !was_cancelled) {
      first = r.status().IsCancelled() ? Status::IOError(r.status().message()) : r.status();
      stop_all();
    }
  }
  if (was_cancelled) return Status::Cancelled("cancelled while moving");
  if (!first.ok()) return first;
  return readback;
}

std::vector<Result<std::string>> InstrumentManager::SendCommandMany(
    const std::vector<std::pair<std::string, std::string>>& commands) {
  std::vector<Result<std::string>> results(commands.size(), Status::UnknownError("not sent"));
  std::vector<std::optional<runtime::PendingAsk<std::string>>> pending(commands.size());
  for (std::size_t i = 0; i < commands.size(); ++i) {
    auto e = Find(commands[i].first);
    if (!e.ok()) {
      results[i] = e.status();
      continue;
    }
    const std::string& command = commands[i].second;
    pending[i] = e->ref.AskLater<std::string>(
        [&](Reply<std::string> r) { return msg::SendCommand{command, std::move(r)}; },
        AskTimeout(e->spec->command_timeout));
  }
  for (std::size_t i = 0; i < commands.size(); ++i) {
    if (pending[i]) results[i] = pending[i]->Wait();
  }
  return results;
}

Result<DataPacket> InstrumentManager::ReadData(const std::string& name) {
  ARROW_ASSIGN_OR_RAISE(auto e, Find(name));
  return e.ref.AskBlocking<DataPacket>(
      [](Reply<DataPacket> r) { return msg::ReadData{std::move(r)}; },
      AskTimeout(e.spec->command_timeout) * 5);
}

Result<InstrumentStatus> InstrumentManager::GetStatus(const std::string& name) {
  ARROW_ASSIGN_OR_RAISE(auto e, Find(name));
  return e.ref.AskBlocking<InstrumentStatus>(
      [](Reply<InstrumentStatus> r) { return msg::GetStatus{std::move(r)}; },
      AskTimeout(e.spec->command_timeout));
}

std::vector<InstrumentStatus> InstrumentManager::GetInstrumentList() {
  std::vector<Entry> entries;
  {
    std::lock_guard lock(mutex_);
    entries = entries_;
  }
  std::vector<InstrumentStatus> out;
  for (const auto& e : entries) {
    auto st = GetStatus(e.name);
    if (st.ok()) {
      out.push_back(std::move(*st));
    } else {
      InstrumentStatus s;
      s.name = e.name;
      s.driver = e.spec->driver;
      s.resource = e.spec->resource;
      s.last_error = st.status().ToString();
      out.push_back(std::move(s));
    }
  }
  return out;
}

void InstrumentManager::Shutdown() {
  std::vector<Entry> entries;
  {
    std::lock_guard lock(mutex_);
    entries = entries_;
  }
  (void)StopAcquisitionAll();
  for (const auto& e : entries) e.ref.Stop();
  for (const auto& e : entries) e.ref.Join();
  router_.CloseAll();
  // Every instrument actor has stopped (and shut its worker down): the pool has no work left.
  std::unique_ptr<runtime::PacedPool> pool;
  {
    std::lock_guard lock(mutex_);
    pool = std::move(paced_pool_);
  }
  if (pool) pool->Shutdown();
}

}  // namespace arrowdaq::pipeline
