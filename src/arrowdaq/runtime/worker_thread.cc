#include "arrowdaq/runtime/worker_thread.h"

#include <pthread.h>

namespace arrowdaq::runtime {

WorkerThread::WorkerThread(std::string name) {
  thread_ = std::thread([this] { Loop(); });
  name.resize(std::min<std::size_t>(name.size(), 15));
  pthread_setname_np(thread_.native_handle(), name.c_str());
}

WorkerThread::~WorkerThread() { Shutdown(); }

bool WorkerThread::Post(UniqueFunction job) {
  {
    std::lock_guard lock(mutex_);
    if (stopping_) return false;
    jobs_.push_back(std::move(job));
  }
  cv_.notify_one();
  return true;
}

void WorkerThread::SetIdleTask(std::function<bool()> task, NextDue /*next_due*/) {
  {
    std::lock_guard lock(mutex_);
    idle_ = std::move(task);
    ++idle_generation_;
  }
  cv_.notify_one();
}

void WorkerThread::Shutdown() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
    idle_ = nullptr;
  }
  cv_.notify_one();
  if (thread_.joinable()) thread_.join();
}

void WorkerThread::Loop() {
  for (;;) {
    UniqueFunction job;
    std::function<bool()> idle;
    std::uint64_t generation = 0;
    {
      std::unique_lock lock(mutex_);
      cv_.wait(lock, [this] { return stopping_ || !jobs_.empty() || idle_; });
      if (!jobs_.empty()) {
        job = std::move(jobs_.front());
        jobs_.pop_front();
      } else if (stopping_) {
        return;
      } else {
        idle = idle_;  // copy: the task may uninstall itself or be replaced while it runs
        generation = idle_generation_;
      }
    }
    if (job) {
      job();
    } else if (idle && !idle()) {
      std::lock_guard lock(mutex_);
      if (generation == idle_generation_) idle_ = nullptr;
    }
  }
}

}  // namespace arrowdaq::runtime
