// WorkerThread: one dedicated OS thread for blocking work (an instrument's driver and
// hardware calls): a SerialWorker (serial_worker.h) of its own. Jobs run one at a time in
// submission order; between jobs the idle task runs repeatedly and may block (a driver's read
// waits for its data).
//
// Threading: see SerialWorker. The destructor stops and joins the thread (queued jobs still run).
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

#include "arrowdaq/runtime/serial_worker.h"

namespace arrowdaq::runtime {

class WorkerThread : public SerialWorker {
 public:
  /// Start the thread; `name` shows in debuggers (first 15 characters).
  explicit WorkerThread(std::string name);
  ~WorkerThread() override;
  WorkerThread(const WorkerThread&) = delete;
  WorkerThread& operator=(const WorkerThread&) = delete;

  bool Post(UniqueFunction job) override;
  void SetIdleTask(std::function<bool()> task, NextDue next_due = {}) override;
  bool shared() const override { return false; }

  /// Stop taking jobs, run the queued ones, end the idle task and join the thread.
  void Shutdown() override;

 private:
  void Loop();

  std::mutex mutex_;
  std::condition_variable cv_;
  std::deque<UniqueFunction> jobs_;
  std::function<bool()> idle_;
  std::uint64_t idle_generation_ = 0;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace arrowdaq::runtime
