// PacedPool: a small thread pool (an asio::io_context run by a few threads) shared by every
// instrument whose driver knows when its next batch is due (simulated sources). Each such
// instrument gets a worker (MakeWorker): an asio strand, so its jobs and acquisition steps run
// one at a time and in order, and a steady_timer, so between batches it holds no thread at all.
// A thousand paced instruments cost a few threads and a timer each instead of a thousand
// sleeping threads with their stacks and wake-ups.
//
// What runs on the pool must not block for long: a driver read is only called when its batch
// is due (so it does not sleep), and publishing waits only for back-pressure (lossless
// subscribers that are full). While every pool thread waits so, a starvation guard adds a
// thread (up to max_threads), so that other instruments' due batches and control jobs (start,
// stop, status) are not held up behind someone else's back-pressure. Drivers whose calls block
// on devices (sockets, serial ports, SDKs) keep a WorkerThread of their own.
//
// Ownership: the owner (InstrumentManager) holds the pool; workers share its io_context and
// keep it alive. Shutdown() joins the pool's threads; call it after every worker was shut down
// (an instrument actor shuts its worker down in OnStop).
//
// Threading: MakeWorker and Shutdown from any thread but the pool's own.
#pragma once

#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "arrowdaq/runtime/serial_worker.h"

namespace arrowdaq::runtime {

struct PacedPoolOptions {
  /// Threads serving every paced worker; 0: as many as the machine has cores, at least 4
  /// (a thread held by back-pressure leaves others; on 2 cores 2 threads fell behind at 1000
  /// instruments x 10 batches/s while other processes loaded the machine) and at most 8.
  int threads = 0;
  /// Thread name prefix (debuggers, top -H).
  std::string name = "paced";
  /// Starvation guard: when every thread has been inside a handler (a publish waiting for
  /// back-pressure) for two checks in a row with no handler begun, a thread is added, up to
  /// this many, so other instruments' batches and control jobs still run.
  int max_threads = 64;
  std::chrono::milliseconds starvation_check{50};
};

class PacedPool {
 public:
  explicit PacedPool(PacedPoolOptions options = {});
  ~PacedPool();
  PacedPool(const PacedPool&) = delete;
  PacedPool& operator=(const PacedPool&) = delete;

  /// Return a new worker on this pool (`name` is for messages only).
  std::unique_ptr<SerialWorker> MakeWorker(std::string name);

  /// Stop the threads once they have no work left (every worker shut down) and join them.
  void Shutdown();

  /// Return the pool's threads now (grows only when the starvation guard adds one).
  int threads() const;

  struct Impl;

 private:
  void AddThreadLocked();
  void Watch();

  PacedPoolOptions options_;
  std::shared_ptr<Impl> impl_;
  mutable std::mutex mutex_;  // guards threads_ and stopping_
  std::condition_variable watch_cv_;
  std::vector<std::thread> threads_;
  bool stopping_ = false;
  std::thread watchdog_;
};

}  // namespace arrowdaq::runtime
