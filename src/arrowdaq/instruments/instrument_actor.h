// InstrumentActor: one instrument as an actor. Its mailbox takes control messages (connect,
// commands, start/stop acquisition, status); the driver and its hardware run on the
// instrument's I/O worker (runtime/serial_worker.h): its own thread when driver calls block on
// a device, or a strand of the shared PacedPool when the driver is paced() (simulated sources:
// a read only waits for time, so the pool runs it when due and no thread waits between
// batches). While acquiring, the worker loops read -> decode -> publish, and control messages
// interleave at batch boundaries.
//
// Publishing calls the `publish` callback on the I/O thread; a lossless subscriber that is full
// makes that call wait, which is how back-pressure reaches the instrument.
//
// Threading: use the ActorRef from any thread. Everything inside runs on the actor's strand
// (messages) or on the I/O thread (driver calls); the shared counters are atomics.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <variant>
#include <vector>

#include "arrowdaq/core/data_packet.h"
#include "arrowdaq/core/run_event.h"
#include "arrowdaq/core/status.h"
#include "arrowdaq/instruments/driver.h"
#include "arrowdaq/instruments/instrument_status.h"
#include "arrowdaq/runtime/actor.h"
#include "arrowdaq/runtime/paced_pool.h"
#include "arrowdaq/runtime/serial_worker.h"

namespace arrowdaq::instruments {

namespace msg {
using runtime::Ack;
using runtime::Reply;
struct Connect {
  Reply<Ack> reply;
};
struct Disconnect {
  Reply<Ack> reply;
};
struct SendCommand {
  std::string command;
  Reply<std::string> reply;
};
/// Read one batch now (not while acquiring), publish it and answer with the packet.
struct ReadData {
  Reply<DataPacket> reply;
};
struct StartAcquisition {
  Reply<Ack> reply;
};
struct StopAcquisition {
  Reply<Ack> reply;
};
struct GetStatus {
  Reply<InstrumentStatus> reply;
};
// Motion (movable.h), run on the instrument's own thread between batches, so acquisition of
// its stream goes on. An instrument whose driver has no Movable answers Status::NotImplemented;
// one not connected, Status::Invalid (except GetAxes, known from the options).
struct GetAxes {
  Reply<std::vector<AxisInfo>> reply;
};
struct MoveTo {
  int axis = 0;
  double position = 0;
  Reply<Ack> reply;
};
struct IsMoving {
  int axis = 0;
  Reply<bool> reply;
};
struct GetPosition {
  int axis = 0;
  Reply<double> reply;
};
struct StopMotion {
  int axis = 0;
  Reply<Ack> reply;
};
/// Move `axis` to `position` and answer once the axis has stopped, with the position read
/// back then: one request per move instead of MoveTo, IsMoving per poll and GetPosition. The
/// instrument follows the move itself (IsMoving every kMotionPoll on its own thread, between
/// batches, looking sooner at first: at once, then after 1/8, 1/4 and 1/2 of it; a move
/// already over when started is answered from the first look, on the I/O thread). The mailbox stays free meanwhile: StopMotion of the axis ends the wait at once
/// with Status::Cancelled, as does a later MoveTo or MoveAndWait of the axis (it supersedes
/// the move). A refused target and a fault during the move (IsMoving or Position failing)
/// come back as errors; so does a disconnect or the actor stopping before the axis stopped.
struct MoveAndWait {
  int axis = 0;
  double position = 0;
  Reply<double> reply;
};
}  // namespace msg

/// How often an instrument looks at an axis it follows for msg::MoveAndWait.
inline constexpr std::chrono::microseconds kMotionPoll{1000};

using InstrumentMessage = std::variant<msg::Connect, msg::Disconnect, msg::SendCommand,
                                       msg::ReadData, msg::StartAcquisition,
                                       msg::StopAcquisition, msg::GetStatus, msg::GetAxes,
                                       msg::MoveTo, msg::IsMoving, msg::GetPosition,
                                       msg::StopMotion, msg::MoveAndWait>;
using InstrumentRef = runtime::ActorRef<InstrumentMessage>;

/// Publish one batch of the instrument's stream; returns the packet as published (with its
/// sequence number). Called on the I/O thread; may block for back-pressure.
using Publisher = std::function<Result<DataPacket>(std::shared_ptr<arrow::RecordBatch>)>;

/// Everything an InstrumentActor needs; shared by all its incarnations (restarts).
struct InstrumentSpec {
  std::string name;
  std::string driver;
  std::string resource;
  /// Build a fresh driver (called for the first incarnation and after every restart).
  std::function<Result<std::unique_ptr<InstrumentDriver>>()> make_driver;
  Publisher publish;
  /// Told on the I/O thread when acquisition stops for good because of an error (after the
  /// reconnect attempts, if any, failed).
  std::function<void(const std::string& instrument, const Status&)> on_fault;
  /// Told on the I/O thread of every gap, overrun and reconnect (for the run's event log).
  std::function<void(RunEvent)> on_event;
  hardware::Timeout connect_timeout{5'000};
  hardware::Timeout command_timeout{2'000};
  /// After a read fails while acquiring: reconnect attempts before giving up (0: none), with
  /// an exponential backoff from `reconnect_backoff`, doubling up to `max_reconnect_backoff`.
  /// Attempts count from the last batch published: reconnecting successfully does not give
  /// them back, only data does, so a device that connects but never delivers fails.
  int reconnect_attempts = 5;
  std::chrono::milliseconds reconnect_backoff{200};
  std::chrono::milliseconds max_reconnect_backoff{5'000};
  /// Where paced drivers run (nullptr: every driver gets a thread of its own). Not owned: the
  /// owner (InstrumentManager) keeps it running until every instrument actor has stopped.
  runtime::PacedPool* paced_pool = nullptr;
};

class InstrumentActor : public runtime::Actor<InstrumentMessage> {
 public:
  /// `driver` may be given for the first incarnation (already built while validating the
  /// config); otherwise spec.make_driver builds one in OnStart.
  InstrumentActor(std::shared_ptr<const InstrumentSpec> spec,
                  std::unique_ptr<InstrumentDriver> driver);
  ~InstrumentActor() override;

  asio::awaitable<Status> OnStart() override;
  asio::awaitable<Status> Handle(InstrumentMessage msg) override;
  asio::awaitable<void> OnStop() override;

 private:
  struct Shared;      // state shared with the I/O thread
  struct MotionWait;  // a MoveAndWait whose axis is still moving

  asio::awaitable<Status> DoConnect();
  asio::awaitable<Status> DoDisconnect();
  asio::awaitable<Status> DoStart();
  asio::awaitable<Status> DoStop();
  asio::awaitable<Result<DataPacket>> DoRead();
  InstrumentStatus Snapshot() const;
  /// Run `f(Movable&)` on the I/O thread (motion messages); errors name the instrument.
  template <typename R, typename F>
  asio::awaitable<Result<R>> DoMotion(F f);
  /// The motion messages' preconditions: a Movable driver, connected.
  Status MotionReady() const;
  asio::awaitable<void> DoMoveAndWait(msg::MoveAndWait m);
  /// Follow a started move on the actor's strand (spawned, so the mailbox goes on) until the
  /// axis stops or the wait is ended; answers the wait.
  asio::awaitable<void> FollowMove(std::shared_ptr<MotionWait> wait);
  /// Answer every wait of `axis` (-1: every axis) with `why` and forget them (strand only).
  void EndWaits(int axis, const Status& why);
  /// One turn of the acquisition loop on the I/O thread: read, decode, publish; on an error,
  /// reconnect with backoff and record the gap, or give up. Returns whether to go on.
  static bool AcquireOnce(const InstrumentSpec& spec, Shared& shared, InstrumentDriver& driver);

  std::shared_ptr<const InstrumentSpec> spec_;
  std::unique_ptr<InstrumentDriver> driver_;
  std::shared_ptr<Shared> shared_;
  std::unique_ptr<runtime::SerialWorker> io_;
  bool connected_ = false;
  // Waits being followed (strand only), and how many FollowMove coroutines still run: OnStop
  // ends the waits and lets those coroutines finish before the actor goes away.
  std::vector<std::shared_ptr<MotionWait>> waits_;
  int following_ = 0;
};

/// Spawn an InstrumentActor; restarts rebuild the driver from spec->make_driver.
InstrumentRef SpawnInstrument(runtime::ActorSystem& system,
                              std::shared_ptr<const InstrumentSpec> spec,
                              std::unique_ptr<InstrumentDriver> first_driver,
                              runtime::ActorOptions options);

}  // namespace arrowdaq::instruments
