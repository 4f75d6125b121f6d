// WorkerThread: one dedicated OS thread for blocking work (an instrument's driver and
// hardware calls). Jobs run one at a time in submission order; between jobs an optional idle
// task runs repeatedly (an instrument's acquisition loop: read, decode, publish), so control
// commands interleave with acquisition at batch boundaries. Coroutines submit with Run(),
// which suspends the coroutine, never an executor thread.
//
// Threading: Post/Run/SetIdleTask may be called from any thread; jobs and the idle task run
// only on the worker thread. The destructor stops and joins the thread (queued jobs still run).
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <type_traits>
#include <utility>

#include <asio/async_result.hpp>
#include <asio/associated_executor.hpp>
#include <asio/awaitable.hpp>
#include <asio/post.hpp>
#include <asio/use_awaitable.hpp>

#include "arrowdaq/runtime/unique_function.h"

namespace arrowdaq::runtime {

class WorkerThread {
 public:
  /// Start the thread; `name` shows in debuggers (first 15 characters).
  explicit WorkerThread(std::string name);
  ~WorkerThread();
  WorkerThread(const WorkerThread&) = delete;
  WorkerThread& operator=(const WorkerThread&) = delete;

  /// Queue a job; returns false after Shutdown.
  bool Post(UniqueFunction job);

  /// Install the task run while no job is queued; it returns false to uninstall itself.
  /// An empty function uninstalls the current one.
  void SetIdleTask(std::function<bool()> task);

  /// Run `fn` on the worker thread and resume the awaiting coroutine with its result.
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

  /// Stop taking jobs, run the queued ones, end the idle task and join the thread.
  void Shutdown();

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
