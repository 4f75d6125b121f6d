#include "arrowdaq/runtime/worker_thread.h"

#include <atomic>
#include <future>

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
  worker.SetIdleTask([&] { return ++iterations < 1000; });
  std::promise<int> seen;
  ASSERT_TRUE(worker.Post([&] { seen.set_value(iterations.load()); }));
  seen.get_future().get();
  worker.Shutdown();
  EXPECT_FALSE(worker.Post([] {}));
}

}  // namespace
}  // namespace arrowdaq::runtime
