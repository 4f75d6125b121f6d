#include "arrowdaq/instruments/instrument_actor.h"

#include <algorithm>
#include <cstdio>
#include <exception>
#include <optional>
#include <thread>

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/steady_timer.hpp>

#include "arrowdaq/core/clock.h"
#include "arrowdaq/runtime/worker_thread.h"

namespace arrowdaq::instruments {

struct InstrumentActor::Shared {
  std::atomic<bool> acquiring{false};
  std::atomic<bool> failed{false};
  std::atomic<std::uint64_t> batches{0};
  std::atomic<std::uint64_t> rows{0};
  std::atomic<std::uint64_t> read_errors{0};
  std::atomic<std::uint64_t> overrun_samples{0};
  std::atomic<std::uint64_t> reconnects{0};
  // Reconnect attempts since the last batch published (I/O thread only): a device that
  // reconnects but never delivers uses them up.
  int attempts_since_batch = 0;
  mutable std::mutex mutex;
  std::string last_error;

  void RecordError(const Status& st) {
    read_errors.fetch_add(1, std::memory_order_relaxed);
    std::lock_guard lock(mutex);
    last_error = st.ToString();
  }
};

// One MoveAndWait being followed. Answered once, from the I/O thread (the axis stopped or
// faulted) or from the actor's strand (StopMotion, a new move, disconnect, stop): `mutex`
// makes the first answer win.
struct InstrumentActor::MotionWait {
  int axis = 0;
  double target = 0;
  std::mutex mutex;
  bool answered = false;
  runtime::Reply<double> reply;

  bool done() {
    std::lock_guard lock(mutex);
    return answered;
  }
  void Answer(Result<double> r) {
    std::lock_guard lock(mutex);
    if (answered) return;
    answered = true;
    reply.Send(std::move(r));
  }
};

namespace {

// Run a driver call, turning an exception from driver code into a Status: a misbehaving
// driver is contained, not allowed to take the process down.
template <typename F>
auto Guarded(const std::string& name, F&& f) -> decltype(f()) {
  try {
    return f();
  } catch (const std::exception& e) {
    return Status::UnknownError("instrument '", name, "': driver threw: ", e.what());
  } catch (...) {
    return Status::UnknownError("instrument '", name, "': driver threw a non-standard exception");
  }
}

Status Prefixed(const std::string& name, const Status& st) {
  if (st.ok()) return st;
  return st.WithMessage("instrument '", name, "': ", st.message());
}

void Emit(const InstrumentSpec& spec, const char* kind, std::string message,
          std::uint64_t samples = 0);

// Report the samples the source lost (overrun) since the last call, if any.
void EmitOverruns(const InstrumentSpec& spec, std::atomic<std::uint64_t>& overrun_samples,
                  InstrumentDriver& driver) {
  if (const std::int64_t lost = driver.TakeOverrunSamples(); lost > 0) {
    overrun_samples.fetch_add(static_cast<std::uint64_t>(lost), std::memory_order_relaxed);
    Emit(spec, "overrun",
         std::to_string(lost) + " samples lost: the source cannot pause and its buffer overflowed",
         static_cast<std::uint64_t>(lost));
  }
}

// Read one batch (ReadBatch: raw block + Decode, or a pooled batch filled in place) and
// publish it. Runs on the I/O thread. Samples lost before
// the block are reported before it is published, so that a consumer told of the overrun
// knows the hole lies just before the next batch it receives (a scan flags the point).
Result<DataPacket> ReadDecodePublish(const InstrumentSpec& spec,
                                     std::atomic<std::uint64_t>& overrun_samples,
                                     InstrumentDriver& driver) {
  ARROW_ASSIGN_OR_RAISE(auto batch, driver.ReadBatch());
  if (batch == nullptr) return DataPacket{};  // nothing this time (an idle network source)
  EmitOverruns(spec, overrun_samples, driver);
  return spec.publish(std::move(batch));
}

void Emit(const InstrumentSpec& spec, const char* kind, std::string message,
          std::uint64_t samples) {
  if (spec.on_event) {
    spec.on_event({WallClockNanos(), spec.name, kind, std::move(message), 1, samples});
  }
}

std::string Seconds(std::int64_t ns) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.3f s", static_cast<double>(ns) / 1e9);
  return buf;
}

}  // namespace

bool InstrumentActor::AcquireOnce(const InstrumentSpec& spec, Shared& shared,
                                  InstrumentDriver& driver) {
  if (!shared.acquiring.load(std::memory_order_relaxed)) return false;
  auto packet =
      Guarded(spec.name, [&] { return ReadDecodePublish(spec, shared.overrun_samples, driver); });
  // The stream was sealed (the run has ended): the batch read is after the end, and so are
  // the samples the source lost before it (the run ends with the last batch published). Not a
  // fault; the loop ends and StopAcquisition disarms the device.
  if (packet.status().IsCancelled()) {
    (void)driver.TakeOverrunSamples();
    (void)driver.TakeEvents();  // about data after the end, too
    return false;
  }
  for (DriverEvent& e : driver.TakeEvents()) Emit(spec, e.kind.c_str(), std::move(e.message));
  EmitOverruns(spec, shared.overrun_samples, driver);
  if (packet.ok() && packet->batch == nullptr) return true;  // nothing published this time
  if (packet.ok()) {
    shared.attempts_since_batch = 0;
    shared.batches.fetch_add(1, std::memory_order_relaxed);
    shared.rows.fetch_add(static_cast<std::uint64_t>(packet->num_rows()),
                          std::memory_order_relaxed);
    return true;
  }
  const Status cause = Prefixed(spec.name, packet.status());
  shared.RecordError(cause);
  if (!shared.acquiring.load()) return false;  // stopped while reading: not a fault
  const std::int64_t gap_start = WallClockNanos();
  Status last = cause;
  // Attempts count from the last batch published, not from this failure: a device that
  // connects and configures but never delivers (it answers *IDN? but not READ?, or garbage)
  // must use them up, or it would be reconnected forever. The backoff grows with them.
  int attempts_here = 0;
  while (shared.attempts_since_batch < spec.reconnect_attempts) {
    const int attempt = ++shared.attempts_since_batch;
    ++attempts_here;
    auto backoff = spec.reconnect_backoff;
    for (int i = 1; i < attempt && backoff < spec.max_reconnect_backoff; ++i) backoff *= 2;
    backoff = std::min(spec.max_reconnect_backoff, backoff);
    // Wait the backoff in small steps, so that a stop request is honoured promptly.
    const auto until = std::chrono::steady_clock::now() + backoff;
    while (std::chrono::steady_clock::now() < until) {
      if (!shared.acquiring.load()) return false;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    last = Guarded(spec.name, [&]() -> Status {
      (void)driver.hardware().Disconnect();
      ARROW_RETURN_NOT_OK(driver.hardware().Connect(spec.resource, spec.connect_timeout));
      ARROW_RETURN_NOT_OK(driver.Configure());
      return driver.StartAcquisition();
    });
    if (last.ok()) {
      shared.reconnects.fetch_add(1);
      const std::int64_t gap_end = WallClockNanos();
      Emit(spec, "gap",
           "no data for " + Seconds(gap_end - gap_start) + " (reconnected after " +
               std::to_string(attempts_here) + " attempt(s)); cause: " + cause.ToString());
      return true;
    }
    shared.RecordError(Prefixed(spec.name, last));
  }
  // Give up: the instrument is failed; the run goes on or stops per its on_failure.
  shared.acquiring.store(false);
  shared.failed.store(true);
  (void)Guarded(spec.name, [&] { return driver.StopAcquisition(); });
  Status final_status = cause;
  if (spec.reconnect_attempts > 0) {
    final_status = cause.WithMessage(cause.message(), "; gave up after ", spec.reconnect_attempts,
                                     " reconnect attempt(s) without a batch in between, last: ",
                                     last.message());
  }
  Emit(spec, "fault", final_status.ToString());
  if (spec.on_fault) spec.on_fault(spec.name, final_status);
  return false;
}

InstrumentActor::InstrumentActor(std::shared_ptr<const InstrumentSpec> spec,
                                 std::unique_ptr<InstrumentDriver> driver)
    : spec_(std::move(spec)), driver_(std::move(driver)), shared_(std::make_shared<Shared>()) {}

InstrumentActor::~InstrumentActor() {
  if (io_) io_->Shutdown();
}

asio::awaitable<Status> InstrumentActor::OnStart() {
  if (!driver_) {
    auto made = Guarded(spec_->name, [&] { return spec_->make_driver(); });
    if (!made.ok()) co_return Prefixed(spec_->name, made.status());
    driver_ = std::move(made).ValueUnsafe();
  }
  if (spec_->paced_pool != nullptr && driver_->paced()) {
    io_ = spec_->paced_pool->MakeWorker(spec_->name);
  } else {
    io_ = std::make_unique<runtime::WorkerThread>("inst-" + spec_->name);
  }
  co_return Status::OK();
}

asio::awaitable<void> InstrumentActor::OnStop() {
  // Waits end first, and their FollowMove coroutines (each at most one poll or one driver
  // call away from seeing that) finish before the actor and its driver go away.
  EndWaits(-1, Status::Cancelled("instrument '", spec_->name,
                                 "' stopped before the axis stopped moving"));
  if (following_ > 0) {
    asio::steady_timer timer(co_await asio::this_coro::executor);
    while (following_ > 0) {
      timer.expires_after(kMotionPoll);
      (void)co_await timer.async_wait(asio::experimental::as_tuple(asio::use_awaitable));
    }
  }
  if (io_ && driver_) {
    (void)co_await DoStop();
    (void)co_await DoDisconnect();
  }
  if (io_) io_->Shutdown();
}

asio::awaitable<Status> InstrumentActor::DoConnect() {
  if (connected_) co_return Status::OK();
  auto job = [this] {
    return Guarded(spec_->name, [this]() -> Status {
      ARROW_RETURN_NOT_OK(driver_->hardware().Connect(spec_->resource, spec_->connect_timeout));
      return driver_->Configure();
    });
  };
  Status st = co_await io_->Run(std::move(job));
  connected_ = st.ok();
  co_return Prefixed(spec_->name, st);
}

asio::awaitable<Status> InstrumentActor::DoDisconnect() {
  if (!connected_) co_return Status::OK();
  EndWaits(-1, Status::IOError("instrument '", spec_->name,
                               "' was disconnected before the axis stopped moving"));
  co_await DoStop();
  auto job = [this] {
    return Guarded(spec_->name, [this] { return driver_->hardware().Disconnect(); });
  };
  Status st = co_await io_->Run(std::move(job));
  connected_ = false;
  co_return Prefixed(spec_->name, st);
}

asio::awaitable<Status> InstrumentActor::DoStart() {
  if (!connected_) {
    co_return Status::Invalid("instrument '", spec_->name, "' is not connected");
  }
  if (shared_->acquiring.load()) co_return Status::OK();
  auto job = [this] {
    return Guarded(spec_->name, [this] { return driver_->StartAcquisition(); });
  };
  Status st = co_await io_->Run(std::move(job));
  if (!st.ok()) co_return Prefixed(spec_->name, st);
  shared_->acquiring.store(true);
  // The acquisition loop: one batch per idle iteration, so control jobs interleave. A paced
  // worker runs an iteration when the driver's next batch is due; a thread runs them back to
  // back, each waiting in the driver's read.
  runtime::SerialWorker::NextDue next_due;
  if (io_->shared()) next_due = [driver = driver_.get()] { return driver->NextReadDue(); };
  io_->SetIdleTask(
      [spec = spec_, shared = shared_, driver = driver_.get()] {
        return AcquireOnce(*spec, *shared, *driver);
      },
      std::move(next_due));
  co_return Status::OK();
}

asio::awaitable<Status> InstrumentActor::DoStop() {
  if (!shared_->acquiring.exchange(false)) co_return Status::OK();
  // Runs on the I/O thread after the current batch, so no read is cut in half.
  auto job = [this] {
    io_->SetIdleTask({});
    return Guarded(spec_->name, [this] { return driver_->StopAcquisition(); });
  };
  Status st = co_await io_->Run(std::move(job));
  co_return Prefixed(spec_->name, st);
}

asio::awaitable<Result<DataPacket>> InstrumentActor::DoRead() {
  if (!connected_) {
    co_return Status::Invalid("instrument '", spec_->name, "' is not connected");
  }
  if (shared_->acquiring.load()) {
    co_return Status::Invalid("instrument '", spec_->name,
                              "' is acquiring; ReadData is for single reads");
  }
  // A single read is a one-batch acquisition: arm, read, disarm. On a shared (paced) worker
  // the wait for the batch is a timer here, not a pool thread sleeping in the driver's read.
  bool armed = false;
  if (io_->shared()) {
    auto arm = [this] {
      return Guarded(spec_->name, [this]() -> Result<runtime::SerialWorker::Clock::time_point> {
        ARROW_RETURN_NOT_OK(driver_->StartAcquisition());
        return driver_->NextReadDue();
      });
    };
    auto due = co_await io_->Run(std::move(arm));
    if (!due.ok()) {
      shared_->RecordError(due.status());
      co_return Prefixed(spec_->name, due.status());
    }
    asio::steady_timer timer(co_await asio::this_coro::executor);
    timer.expires_at(*due);
    (void)co_await timer.async_wait(asio::experimental::as_tuple(asio::use_awaitable));
    armed = true;
  }
  auto job = [this, armed] {
    return Guarded(spec_->name, [this, armed]() -> Result<DataPacket> {
      if (!armed) ARROW_RETURN_NOT_OK(driver_->StartAcquisition());
      auto packet = ReadDecodePublish(*spec_, shared_->overrun_samples, *driver_);
      for (DriverEvent& e : driver_->TakeEvents()) Emit(*spec_, e.kind.c_str(), std::move(e.message));
      if (packet.ok() && packet->batch == nullptr) {
        packet = Status::IOError("no data within the read timeout");
      }
      Status stopped = driver_->StopAcquisition();
      if (packet.ok() && !stopped.ok()) return stopped;
      return packet;
    });
  };
  auto packet = co_await io_->Run(std::move(job));
  if (!packet.ok()) {
    shared_->RecordError(packet.status());
    co_return Prefixed(spec_->name, packet.status());
  }
  shared_->batches.fetch_add(1, std::memory_order_relaxed);
  shared_->rows.fetch_add(static_cast<std::uint64_t>(packet->num_rows()),
                          std::memory_order_relaxed);
  co_return packet;
}

InstrumentStatus InstrumentActor::Snapshot() const {
  InstrumentStatus s;
  s.name = spec_->name;
  s.driver = spec_->driver;
  s.resource = spec_->resource;
  s.connected = connected_;
  s.acquiring = shared_->acquiring.load();
  s.batches = shared_->batches.load();
  s.rows = shared_->rows.load();
  s.read_errors = shared_->read_errors.load();
  s.overrun_samples = shared_->overrun_samples.load();
  s.reconnects = shared_->reconnects.load();
  s.failed = shared_->failed.load();
  if (driver_ != nullptr) {
    if (auto p = driver_->pool_stats()) {  // thread-safe: the pool's counters are atomics
      s.pool = PoolStatus{std::string(driver_->pool_policy()), p->block_bytes, p->max_blocks,
                          p->blocks, p->hits, p->misses, p->overflows, p->waits};
    }
  }
  std::lock_guard lock(shared_->mutex);
  s.last_error = shared_->last_error;
  return s;
}

Status InstrumentActor::MotionReady() const {
  if (driver_->movable() == nullptr) {
    return Status::NotImplemented("instrument '", spec_->name, "' (driver ", spec_->driver,
                                  ") moves nothing");
  }
  if (!connected_) return Status::Invalid("instrument '", spec_->name, "' is not connected");
  return Status::OK();
}

template <typename R, typename F>
asio::awaitable<Result<R>> InstrumentActor::DoMotion(F f) {
  if (Status ready = MotionReady(); !ready.ok()) co_return ready;
  auto job = [this, f = std::move(f)] {
    return Guarded(spec_->name, [&]() -> Result<R> { return f(*driver_->movable()); });
  };
  Result<R> out = co_await io_->Run(std::move(job));
  if (!out.ok()) co_return Prefixed(spec_->name, out.status());
  co_return out;
}

namespace {

// On the I/O thread: look at the axis of `wait`; when it has stopped (or faulted), answer the
// wait here with its position (or the error), without a hop through the actor. Returns
// whether the axis is still moving (false once the wait is answered, by anyone).
template <typename Wait>
bool LookAtAxis(const std::string& name, Wait& wait, Movable& movable) {
  if (wait.done()) return false;
  // nullopt: still moving.
  Result<std::optional<double>> look = Guarded(name, [&]() -> Result<std::optional<double>> {
    ARROW_ASSIGN_OR_RAISE(const bool moving, movable.IsMoving(wait.axis));
    if (moving) return std::nullopt;
    ARROW_ASSIGN_OR_RAISE(const double position, movable.Position(wait.axis));
    return position;
  });
  if (look.ok() && !look->has_value()) return true;
  wait.Answer(look.ok() ? Result<double>(**look) : Prefixed(name, look.status()));
  return false;
}

}  // namespace

void InstrumentActor::EndWaits(int axis, const Status& why) {
  auto ending = std::stable_partition(waits_.begin(), waits_.end(), [axis](const auto& w) {
    return axis >= 0 && w->axis != axis;
  });
  for (auto it = ending; it != waits_.end(); ++it) (*it)->Answer(why);
  waits_.erase(ending, waits_.end());
}

asio::awaitable<void> InstrumentActor::DoMoveAndWait(msg::MoveAndWait m) {
  if (Status ready = MotionReady(); !ready.ok()) {
    m.reply.Send(ready);
    co_return;
  }
  auto wait = std::make_shared<MotionWait>();
  wait->axis = m.axis;
  wait->target = m.position;
  wait->reply = std::move(m.reply);
  // A new move of the axis supersedes a move still followed.
  EndWaits(m.axis, Status::Cancelled("instrument '", spec_->name, "': axis ", m.axis,
                                     " was given a new target (", m.position,
                                     ") before it reached its previous one"));
  // Start the move and look at once: a short move is over by then and answered right there.
  auto start = [this, wait] {
    Status started = Guarded(spec_->name, [&] {
      return driver_->movable()->MoveTo(wait->axis, wait->target);
    });
    if (!started.ok()) {
      wait->Answer(Prefixed(spec_->name, started));
      return false;
    }
    return LookAtAxis(spec_->name, *wait, *driver_->movable());
  };
  const bool moving = co_await io_->Run(std::move(start));
  if (!moving) co_return;
  waits_.push_back(wait);
  ++following_;
  asio::co_spawn(co_await asio::this_coro::executor, FollowMove(std::move(wait)),
                 asio::detached);
}

asio::awaitable<void> InstrumentActor::FollowMove(std::shared_ptr<MotionWait> wait) {
  // `this` outlives this coroutine: OnStop ends every wait and waits for following_ to be 0.
  // Looks come quickly at first (a short move ends within microseconds of the first look),
  // then every kMotionPoll: at once, then after 1/8, 1/4, 1/2 of it.
  asio::steady_timer timer(co_await asio::this_coro::executor);
  std::chrono::microseconds delay{0};
  while (!wait->done()) {
    if (delay.count() > 0) {
      timer.expires_after(delay);
      (void)co_await timer.async_wait(asio::experimental::as_tuple(asio::use_awaitable));
      if (wait->done()) break;
    }
    delay = delay.count() == 0 ? kMotionPoll / 8 : std::min(kMotionPoll, delay * 2);
    auto look = [this, wait] { return LookAtAxis(spec_->name, *wait, *driver_->movable()); };
    (void)co_await io_->Run(std::move(look));
  }
  waits_.erase(std::remove(waits_.begin(), waits_.end(), wait), waits_.end());
  --following_;
}

asio::awaitable<Status> InstrumentActor::Handle(InstrumentMessage message) {
  // Errors of a request go back to the asker; the actor itself stays healthy.
  if (auto* m = std::get_if<msg::Connect>(&message)) {
    Status st = co_await DoConnect();
    m->reply.Send(st.ok() ? Result<msg::Ack>(msg::Ack{}) : Result<msg::Ack>(st));
  } else if (auto* m = std::get_if<msg::Disconnect>(&message)) {
    Status st = co_await DoDisconnect();
    m->reply.Send(st.ok() ? Result<msg::Ack>(msg::Ack{}) : Result<msg::Ack>(st));
  } else if (auto* m = std::get_if<msg::SendCommand>(&message)) {
    if (!connected_) {
      m->reply.Send(Status::Invalid("instrument '", spec_->name, "' is not connected"));
    } else {
      // A named job, not a temporary inside co_await: GCC 12 destroys such temporaries
      // twice when they own memory.
      // The answer goes to the asker from the I/O thread, one hop sooner than through here.
      auto job = [this, cmd = std::move(m->command), reply = std::move(m->reply)]() mutable {
        auto answer = Guarded(spec_->name, [&] {
          return driver_->hardware().SendCommand(cmd, spec_->command_timeout);
        });
        reply.Send(answer.ok() ? std::move(answer) : Prefixed(spec_->name, answer.status()));
        return true;
      };
      (void)co_await io_->Run(std::move(job));
    }
  } else if (auto* m = std::get_if<msg::ReadData>(&message)) {
    m->reply.Send(co_await DoRead());
  } else if (auto* m = std::get_if<msg::StartAcquisition>(&message)) {
    Status st = co_await DoStart();
    m->reply.Send(st.ok() ? Result<msg::Ack>(msg::Ack{}) : Result<msg::Ack>(st));
  } else if (auto* m = std::get_if<msg::StopAcquisition>(&message)) {
    Status st = co_await DoStop();
    m->reply.Send(st.ok() ? Result<msg::Ack>(msg::Ack{}) : Result<msg::Ack>(st));
  } else if (auto* m = std::get_if<msg::GetStatus>(&message)) {
    m->reply.Send(Snapshot());
  } else if (auto* m = std::get_if<msg::GetAxes>(&message)) {
    // Known from the options: answered on the strand, no I/O.
    Movable* movable = driver_->movable();
    if (movable == nullptr) {
      m->reply.Send(Status::NotImplemented("instrument '", spec_->name, "' (driver ",
                                           spec_->driver, ") moves nothing"));
    } else {
      m->reply.Send(movable->Axes());
    }
  } else if (auto* m = std::get_if<msg::MoveTo>(&message)) {
    if (MotionReady().ok()) {
      EndWaits(m->axis, Status::Cancelled("instrument '", spec_->name, "': axis ", m->axis,
                                          " was given a new target (", m->position,
                                          ") before it stopped"));
    }
    auto r = co_await DoMotion<msg::Ack>([axis = m->axis, pos = m->position](Movable& mv)
                                             -> Result<msg::Ack> {
      ARROW_RETURN_NOT_OK(mv.MoveTo(axis, pos));
      return msg::Ack{};
    });
    m->reply.Send(std::move(r));
  } else if (auto* m = std::get_if<msg::IsMoving>(&message)) {
    m->reply.Send(co_await DoMotion<bool>([axis = m->axis](Movable& mv) {
      return mv.IsMoving(axis);
    }));
  } else if (auto* m = std::get_if<msg::GetPosition>(&message)) {
    m->reply.Send(co_await DoMotion<double>([axis = m->axis](Movable& mv) {
      return mv.Position(axis);
    }));
  } else if (auto* m = std::get_if<msg::StopMotion>(&message)) {
    // A wait for the axis ends now (before the Stop runs, so no look after it can take the
    // stopped axis for a move that arrived).
    EndWaits(m->axis, Status::Cancelled("instrument '", spec_->name, "': axis ", m->axis,
                                        " was stopped before it reached its target"));
    auto r = co_await DoMotion<msg::Ack>([axis = m->axis](Movable& mv) -> Result<msg::Ack> {
      ARROW_RETURN_NOT_OK(mv.Stop(axis));
      return msg::Ack{};
    });
    m->reply.Send(std::move(r));
  } else if (auto* m = std::get_if<msg::MoveAndWait>(&message)) {
    co_await DoMoveAndWait(std::move(*m));
  }
  co_return Status::OK();
}

InstrumentRef SpawnInstrument(runtime::ActorSystem& system,
                              std::shared_ptr<const InstrumentSpec> spec,
                              std::unique_ptr<InstrumentDriver> first_driver,
                              runtime::ActorOptions options) {
  // The first incarnation takes the pre-built driver; restarts build their own.
  auto first = std::make_shared<std::unique_ptr<InstrumentDriver>>(std::move(first_driver));
  return system.Spawn<InstrumentActor>(
      [spec, first] { return std::make_unique<InstrumentActor>(spec, std::move(*first)); },
      std::move(options));
}

}  // namespace arrowdaq::instruments
