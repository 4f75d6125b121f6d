#include "arrowdaq/runtime/worker_thread.h"

#include <atomic>
#include <future>
#include <thread>

#include <gtest/gtest.h>

#include "arrowdaq/runtime/actor.h"

namespace arrowdaq::runtime {
namespace {

TEST(WorkerThread, RunResumesTheCoroutineWithTheResultFromTheWorker) {
  ActorSystem sys({.threads = 1});
  WorkerThread worker("test-worker");
  auto main_id = std::this_thread::get_id();
  auto [value, worker_id] = sys.BlockOn([&]() -> asio::awaitable<std::pair<int, std::thread::id>> {
    auto r = co_await worker.Run([] { return std::make_pair(42, std::this_thread::get_id()); });
    co_return r;
  }());
  EXPECT_EQ(value, 42);
  EXPECT_NE(worker_id, main_id);
}

TEST(WorkerThread, JobsInterleaveWithTheIdleTask) {
  WorkerThread worker("idle");
  std::atomic<int> iterations{0};
  // An idle task that never ends by itself, like an acquisition loop.
  worker.SetIdleTask([&] {
    ++iterations;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
    return true;
  });
  while (iterations.load() == 0) std::this_thread::yield();
  std::promise<int> seen;
  ASSERT_TRUE(worker.Post([&] { seen.set_value(iterations.load()); }));
  auto f = seen.get_future();
  ASSERT_EQ(f.wait_for(std::chrono::seconds(5)), std::future_status::ready)
      << "a job never ran while the idle task kept going";
  EXPECT_GE(f.get(), 1);
  worker.SetIdleTask({});  // uninstall: the counter stops
  const int stopped_at = iterations.load();
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  EXPECT_LE(iterations.load(), stopped_at + 1);
  worker.Shutdown();
  EXPECT_FALSE(worker.Post([] {}));
}

}  // namespace
}  // namespace arrowdaq::runtime
