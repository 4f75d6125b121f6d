// InstrumentManager: the control plane over every instrument of a run. It registers
// instruments (spawning one InstrumentActor each, with its own I/O thread), connects them,
// starts and stops acquisition, forwards commands, lists their status, and manages data
// subscriptions. Data flows through its StreamRouter: each instrument publishes on its own
// I/O thread straight into the router, which fans out to subscribers without copying.
//
// Threading: every method may be called from any plain thread (they block until the
// instrument answers or its timeout passes); not from an executor thread.
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "arrowdaq/core/status.h"
#include "arrowdaq/instruments/instrument_actor.h"
#include "arrowdaq/pipeline/stream_router.h"
#include "arrowdaq/runtime/actor.h"
#include "arrowdaq/runtime/paced_pool.h"

namespace arrowdaq::pipeline {

struct ManagerOptions {
  /// Extra time allowed for an instrument to answer on top of its own I/O timeout.
  std::chrono::milliseconds ask_margin{2'000};
  std::size_t instrument_mailbox = 64;
  runtime::SupervisionOptions supervision;
  /// Told (on an I/O or executor thread) when an instrument stops acquiring because of an
  /// error, or when its actor gives up.
  std::function<void(const std::string& instrument, const Status&)> on_fault;
  /// Told of every gap, overrun and reconnect of any instrument (on its I/O thread).
  std::function<void(RunEvent)> on_event;
  /// Paced drivers (simulated sources) share a pool of this many threads instead of a thread
  /// each (runtime/paced_pool.h); 0: as many as cores, at least 4 and at most 8; -1: a thread per instrument
  /// for every driver (the design before the pool; kept for comparison).
  int paced_threads = 0;
};

/// One axis to move with InstrumentManager::MoveAndWait.
struct AxisTarget {
  std::string instrument;
  int axis = 0;
  double position = 0;
  std::string label;  ///< how messages name the axis ("stage.x"); empty: "<instrument> axis N"
};

/// What RegisterInstrument needs to know about an instrument.
struct InstrumentRegistration {
  std::string name;      ///< also the stream name
  std::string driver;    ///< registry name, for status and files
  std::string resource;  ///< VISA-style resource string
  /// Build a driver; called once now (to learn the schema) and again for every restart.
  std::function<Result<std::unique_ptr<instruments::InstrumentDriver>>()> make_driver;
  hardware::Timeout connect_timeout{5'000};
  hardware::Timeout command_timeout{2'000};
  /// Reconnect attempts after a read fails while acquiring (0: fail at once).
  int reconnect_attempts = 5;
  std::chrono::milliseconds reconnect_backoff{200};
};

class InstrumentManager {
 public:
  InstrumentManager(runtime::ActorSystem& system, ManagerOptions options = {});
  ~InstrumentManager();
  InstrumentManager(const InstrumentManager&) = delete;
  InstrumentManager& operator=(const InstrumentManager&) = delete;

  /// Build the driver, declare its stream and start the instrument's actor.
  Status RegisterInstrument(InstrumentRegistration registration);
  /// Stop the instrument's acquisition and actor and forget its stream.
  Status UnregisterInstrument(const std::string& name);

  /// Subscribe to streams; see SubscriptionOptions.
  Result<std::shared_ptr<Subscription>> AddDataSubscriber(SubscriptionOptions options);
  Status RemoveDataSubscriber(const std::string& name);

  Status ConnectInstrument(const std::string& name);
  Status DisconnectInstrument(const std::string& name);
  Status StartAcquisition(const std::string& name);
  /// Start several instruments at once: every request is sent, then every answer awaited, so
  /// a thousand instruments start in about the time of one. One Status per name, in order.
  std::vector<Status> StartAcquisitionMany(const std::vector<std::string>& names);
  Status StopAcquisition(const std::string& name);
  /// Stop every instrument's acquisition at once (each waits for its batch in flight in
  /// parallel, so the time taken does not grow with the number of instruments); returns the
  /// first error.
  Status StopAcquisitionAll();
  Result<std::string> SendCommand(const std::string& name, const std::string& command);
  /// Read one batch now (instrument connected, not acquiring) and publish it.
  Result<DataPacket> ReadData(const std::string& name);
  Result<instruments::InstrumentStatus> GetStatus(const std::string& name);
  /// Motion (instruments/movable.h) through the instrument's actor, on its own thread while
  /// its stream goes on. NotImplemented for an instrument whose driver moves nothing.
  Result<std::vector<instruments::AxisInfo>> GetAxes(const std::string& name);
  Status MoveTo(const std::string& name, int axis, double position);
  Result<bool> IsMoving(const std::string& name, int axis);
  Result<double> GetPosition(const std::string& name, int axis);
  Status StopMotion(const std::string& name, int axis);
  /// Move every target's axis at once and wait until all have stopped (one
  /// msg::MoveAndWait each: the instruments follow their moves themselves); return the
  /// positions read back then, in the order of `targets`. `cancelled` is looked at every
  /// `check` while waiting: when it returns true, every axis is stopped (StopMotion) and
  /// Status::Cancelled comes back. After the first error the other axes are stopped too and
  /// that error comes back (a wait ended by someone else's StopMotion is an IOError then).
  /// With a `timeout` above zero, axes still moving that long after the moves were sent are
  /// stopped and Status::IOError names the first of them (a stuck or far too slow axis).
  Result<std::vector<double>> MoveAndWait(
      const std::vector<AxisTarget>& targets, const std::function<bool()>& cancelled = {},
      std::chrono::milliseconds check = std::chrono::milliseconds(10),
      std::chrono::nanoseconds timeout = std::chrono::nanoseconds(0));
  /// Send several commands at once ({instrument, command} each) and wait for every answer:
  /// different instruments answer concurrently, one instrument's in order. One result per
  /// command, in order.
  std::vector<Result<std::string>> SendCommandMany(
      const std::vector<std::pair<std::string, std::string>>& commands);
  /// Return every instrument's status, in registration order.
  std::vector<instruments::InstrumentStatus> GetInstrumentList();

  /// Stop every instrument's acquisition, then every actor (graceful), then close the
  /// subscriptions. Idempotent.
  void Shutdown();

  StreamRouter& router() { return router_; }

 private:
  struct Entry {
    std::string name;
    std::shared_ptr<const instruments::InstrumentSpec> spec;
    std::shared_ptr<StreamHandle> stream;
    instruments::InstrumentRef ref;
  };
  Result<Entry> Find(const std::string& name) const;
  /// Time allowed for an instrument's answer: its own I/O time plus the margin.
  std::chrono::milliseconds AskTimeout(hardware::Timeout io) const;

  runtime::ActorSystem& system_;
  ManagerOptions options_;
  // Shared by the paced instruments; started with the first one, joined by Shutdown after
  // every instrument actor has stopped.
  std::unique_ptr<runtime::PacedPool> paced_pool_;
  StreamRouter router_;
  mutable std::mutex mutex_;
  std::vector<Entry> entries_;
};

}  // namespace arrowdaq::pipeline
