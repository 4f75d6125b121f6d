// SerialWorker: where an instrument's driver calls run, one at a time, in submission order.
// Between jobs an optional idle task runs repeatedly (an instrument's acquisition loop: read,
// decode, publish), so control jobs interleave with acquisition at batch boundaries.
// Coroutines submit with Run(), which suspends the coroutine, never an executor thread.
//
// Two implementations: WorkerThread (worker_thread.h), a dedicated OS thread for drivers whose
// calls block (sockets, serial ports, vendor SDKs); and a worker of a PacedPool
// (paced_pool.h), a strand on a small shared thread pool for drivers that know when their next
// batch is due (simulated sources), whose idle task then runs only when due, on a timer.
//
// Threading: Post/Run/SetIdleTask/Shutdown may be called from any thread except the worker's
// own jobs (SetIdleTask may be called from a job). Jobs and the idle task never run
// concurrently with each other. Shutdown runs the jobs already queued, ends the idle task and
// returns once nothing of this worker runs any more.
#pragma once

#include <chrono>
#include <functional>
#include <type_traits>
#include <utility>

#include <asio/async_result.hpp>
#include <asio/associated_executor.hpp>
#include <asio/awaitable.hpp>
#include <asio/post.hpp>
#include <asio/use_awaitable.hpp>

#include "arrowdaq/runtime/unique_function.h"

namespace arrowdaq::runtime {

class SerialWorker {
 public:
  using Clock = std::chrono::steady_clock;
  /// When the idle task can next run without waiting (a paced source's next batch deadline).
  using NextDue = std::function<Clock::time_point()>;

  virtual ~SerialWorker() = default;

  /// Queue a job; returns false after Shutdown.
  virtual bool Post(UniqueFunction job) = 0;

  /// Install the task run while no job is queued; it returns false to uninstall itself. An
  /// empty function uninstalls the current one. `next_due`, when given, says when the task can
  /// run next without blocking: a paced worker waits on a timer until then (a dedicated thread
  /// ignores it: its task may block).
  virtual void SetIdleTask(std::function<bool()> task, NextDue next_due = {}) = 0;

  /// Stop taking jobs, run the queued ones, end the idle task; returns when none runs.
  virtual void Shutdown() = 0;

  /// Return whether the worker is shared with other instruments (its jobs must not block
  /// for long: a paced pool's threads serve every paced instrument).
  virtual bool shared() const = 0;

  /// Run `fn` on the worker and resume the awaiting coroutine with its result.
  /// Pass a named callable (`auto job = [..]{..}; co_await w.Run(std::move(job));`): GCC 12
  /// destroys a lambda temporary with non-trivial captures twice inside a co_await expression.
  template <typename F>
  asio::awaitable<std::invoke_result_t<F>> Run(F fn) {
    using R = std::invoke_result_t<F>;
    return asio::async_initiate<decltype(asio::use_awaitable), void(R)>(
        [this](auto handler, F f) {
          auto ex = asio::get_associated_executor(handler);
          Post([handler = std::move(handler), f = std::move(f), ex]() mutable {
            R result = f();
            asio::post(ex, [handler = std::move(handler), result = std::move(result)]() mutable {
              std::move(handler)(std::move(result));
            });
          });
        },
        asio::use_awaitable, std::move(fn));
  }
};

}  // namespace arrowdaq::runtime
