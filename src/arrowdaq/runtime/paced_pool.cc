#include "arrowdaq/runtime/paced_pool.h"

#include <pthread.h>

#include <algorithm>
#include <atomic>
#include <future>
#include <mutex>
#include <optional>

#include <asio/bind_executor.hpp>
#include <asio/executor_work_guard.hpp>
#include <asio/io_context.hpp>
#include <asio/steady_timer.hpp>
#include <asio/strand.hpp>

namespace arrowdaq::runtime {

struct PacedPool::Impl {
  asio::io_context io;
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> work{
      asio::make_work_guard(io)};
  // Starvation guard: handlers begun, and threads inside a handler. When every thread has
  // been inside one (a publish waiting for back-pressure) and no handler began for a while,
  // the watchdog adds a thread, up to max_threads, so the other instruments' due batches and
  // control jobs (start, stop) still run.
  std::atomic<std::uint64_t> begun{0};
  std::atomic<int> active{0};

  // Wrap a handler so the guard sees it queued, begun and finished.
  template <typename F>
  auto Counted(F f) {
    return [this, f = std::move(f)](auto&&... args) mutable {
      begun.fetch_add(1, std::memory_order_relaxed);
      active.fetch_add(1, std::memory_order_relaxed);
      struct Leave {
        std::atomic<int>& a;
        ~Leave() { a.fetch_sub(1, std::memory_order_relaxed); }
      } leave{active};
      f(std::forward<decltype(args)>(args)...);
    };
  }
};

namespace {

using Strand = asio::strand<asio::io_context::executor_type>;

// The state of one worker, shared with the handlers queued on its strand (a handler may run
// after the PacedWorker object is gone, e.g. a cancelled timer's; it then only returns).
struct WorkerState : std::enable_shared_from_this<WorkerState> {
  explicit WorkerState(std::shared_ptr<PacedPool::Impl> pool_impl)
      : pool(std::move(pool_impl)), strand(asio::make_strand(pool->io)), timer(strand) {}

  std::shared_ptr<PacedPool::Impl> pool;  // keeps the io_context alive for the timer
  Strand strand;
  asio::steady_timer timer;  // used on the strand only

  std::mutex mutex;  // guards the fields below
  // Shared, so that each step takes a reference instead of copying the task (an allocation).
  std::shared_ptr<std::function<bool()>> idle;
  SerialWorker::NextDue next_due;
  std::uint64_t generation = 0;
  bool stopping = false;

  // One acquisition step of generation `gen` (on the strand); schedules the next one.
  void Step(std::uint64_t gen) {
    std::shared_ptr<std::function<bool()>> task;
    SerialWorker::NextDue due;
    {
      std::lock_guard lock(mutex);
      if (stopping || gen != generation || !idle) return;
      task = idle;  // held: the task may uninstall itself or be replaced while it runs
      due = next_due;
    }
    const bool go_on = (*task)();
    {
      std::lock_guard lock(mutex);
      if (stopping || gen != generation) return;
      if (!go_on) {
        idle = nullptr;
        return;
      }
    }
    Schedule(gen, due ? due() : SerialWorker::Clock::now());
  }

  // Run Step(gen) at `when` (on the strand): at once (behind queued jobs) when it is due.
  void Schedule(std::uint64_t gen, SerialWorker::Clock::time_point when) {
    auto self = shared_from_this();
    if (when <= SerialWorker::Clock::now()) {
      asio::post(strand, pool->Counted([self, gen] { self->Step(gen); }));
      return;
    }
    timer.expires_at(when);
    timer.async_wait(asio::bind_executor(
        strand, pool->Counted([self, gen](const asio::error_code& ec) {
          if (!ec) self->Step(gen);
        })));
  }
};

class PacedWorker : public SerialWorker {
 public:
  explicit PacedWorker(std::shared_ptr<PacedPool::Impl> pool)
      : state_(std::make_shared<WorkerState>(std::move(pool))) {}
  ~PacedWorker() override { Shutdown(); }

  bool Post(UniqueFunction job) override {
    {
      std::lock_guard lock(state_->mutex);
      if (state_->stopping) return false;
    }
    asio::post(state_->strand, state_->pool->Counted(std::move(job)));
    return true;
  }

  void SetIdleTask(std::function<bool()> task, NextDue next_due) override {
    std::uint64_t gen = 0;
    bool run = false;
    {
      std::lock_guard lock(state_->mutex);
      if (state_->stopping) return;
      state_->idle =
          task ? std::make_shared<std::function<bool()>>(std::move(task)) : nullptr;
      state_->next_due = std::move(next_due);
      gen = ++state_->generation;
      run = static_cast<bool>(state_->idle);
    }
    // On the strand: a pending timer of the previous task is cancelled (its handler sees the
    // old generation and returns), and the new task starts when it is due.
    asio::post(state_->strand, [self = state_, gen, run] {
      self->timer.cancel();
      if (!run) return;
      SerialWorker::NextDue due;
      {
        std::lock_guard lock(self->mutex);
        if (gen != self->generation) return;
        due = self->next_due;
      }
      self->Schedule(gen, due ? due() : SerialWorker::Clock::now());
    });
  }

  void Shutdown() override {
    {
      std::lock_guard lock(state_->mutex);
      if (state_->stopping) return;
      state_->stopping = true;
      state_->idle = nullptr;
      ++state_->generation;
    }
    // Queued jobs run first (the strand keeps order); then the timer is cancelled. Waiting
    // here is safe: Shutdown is never called from the worker's own jobs.
    if (state_->pool->io.stopped()) {  // the pool is gone: nothing of ours can run any more
      return;
    }
    std::promise<void> done;
    auto finished = done.get_future();
    asio::post(state_->strand, [self = state_, &done] {
      self->timer.cancel();
      done.set_value();
    });
    finished.wait();
  }

  bool shared() const override { return true; }

 private:
  std::shared_ptr<WorkerState> state_;
};

}  // namespace

PacedPool::PacedPool(PacedPoolOptions options)
    : options_(std::move(options)), impl_(std::make_shared<Impl>()) {
  int n = options_.threads;
  if (n <= 0) n = std::clamp(static_cast<int>(std::thread::hardware_concurrency()), 4, 8);
  {
    std::lock_guard lock(mutex_);
    for (int i = 0; i < n; ++i) AddThreadLocked();
  }
  if (options_.max_threads > n) watchdog_ = std::thread([this] { Watch(); });
}

PacedPool::~PacedPool() { Shutdown(); }

void PacedPool::AddThreadLocked() {
  threads_.emplace_back([impl = impl_] { impl->io.run(); });
  std::string name = options_.name + "-" + std::to_string(threads_.size() - 1);
  name.resize(std::min<std::size_t>(name.size(), 15));
  pthread_setname_np(threads_.back().native_handle(), name.c_str());
}

int PacedPool::threads() const {
  std::lock_guard lock(mutex_);
  return static_cast<int>(threads_.size());
}

void PacedPool::Watch() {
  std::uint64_t last_begun = impl_->begun.load();
  int stuck_checks = 0;
  std::unique_lock lock(mutex_);
  while (!stopping_) {
    watch_cv_.wait_for(lock, options_.starvation_check);
    if (stopping_) break;
    const std::uint64_t begun = impl_->begun.load();
    const bool all_inside = impl_->active.load() >= static_cast<int>(threads_.size());
    stuck_checks = (all_inside && begun == last_begun) ? stuck_checks + 1 : 0;
    last_begun = begun;
    if (stuck_checks >= 2 && static_cast<int>(threads_.size()) < options_.max_threads) {
      AddThreadLocked();
      stuck_checks = 0;
    }
  }
}

std::unique_ptr<SerialWorker> PacedPool::MakeWorker(std::string /*name*/) {
  return std::make_unique<PacedWorker>(impl_);
}

void PacedPool::Shutdown() {
  std::vector<std::thread> threads;
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
    threads.swap(threads_);
  }
  watch_cv_.notify_all();
  if (watchdog_.joinable()) watchdog_.join();
  impl_->work.reset();  // run() returns once no handler or timer is pending
  for (auto& t : threads) {
    if (t.joinable()) t.join();
  }
}

}  // namespace arrowdaq::runtime
