#include "arrowdaq/runtime/paced_pool.h"

#include <atomic>
#include <future>
#include <memory>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "arrowdaq/runtime/actor.h"

namespace arrowdaq::runtime {
namespace {

using Clock = SerialWorker::Clock;

// Wait (bounded, generously) until a job posted now has run: jobs run in order, so every
// earlier job and idle step of this worker has finished too.
void Drain(SerialWorker& worker) {
  std::promise<void> done;
  auto f = done.get_future();
  ASSERT_TRUE(worker.Post([&] { done.set_value(); }));
  ASSERT_EQ(f.wait_for(std::chrono::seconds(30)), std::future_status::ready);
}

TEST(PacedPool, RunResumesTheCoroutineWithTheResultFromAPoolThread) {
  ActorSystem sys({.threads = 1});
  PacedPool pool({.threads = 2});
  EXPECT_EQ(pool.threads(), 2);
  auto worker = pool.MakeWorker("w");
  EXPECT_TRUE(worker->shared());
  auto main_id = std::this_thread::get_id();
  auto [value, id] = sys.BlockOn([&]() -> asio::awaitable<std::pair<int, std::thread::id>> {
    auto job = [] { return std::make_pair(42, std::this_thread::get_id()); };
    co_return co_await worker->Run(std::move(job));
  }());
  EXPECT_EQ(value, 42);
  EXPECT_NE(id, main_id);
  worker->Shutdown();
  EXPECT_FALSE(worker->Post([] {}));
}

TEST(PacedPool, TheIdleTaskWaitsForItsDueTimeAndHoldsNoThreadMeanwhile) {
  PacedPool pool({.threads = 1});
  auto worker = pool.MakeWorker("slow");
  std::atomic<int> steps{0};
  // Due at once the first time, then an hour later: exactly one step must run, however many
  // jobs pass through the worker in between.
  const auto far = Clock::now() + std::chrono::hours(1);
  std::promise<void> first;
  worker->SetIdleTask(
      [&] {
        if (steps.fetch_add(1) == 0) first.set_value();
        return true;
      },
      [&] { return steps.load() == 0 ? Clock::now() : far; });
  ASSERT_EQ(first.get_future().wait_for(std::chrono::seconds(30)), std::future_status::ready);
  // The pool's only thread is free: another worker's jobs run while the first one waits.
  auto other = pool.MakeWorker("other");
  for (int i = 0; i < 20; ++i) Drain(*other);
  for (int i = 0; i < 20; ++i) Drain(*worker);
  EXPECT_EQ(steps.load(), 1) << "the idle task ran before it was due";
  worker->Shutdown();  // cancels the hour-long timer: the pool can stop
  other->Shutdown();
  pool.Shutdown();
}

TEST(PacedPool, ManyWorkersOnTwoThreadsEachRunInOrderAndNeverConcurrently) {
  PacedPool pool({.threads = 2});
  constexpr int kWorkers = 200;
  constexpr int kSteps = 50;
  struct Counter {
    std::atomic<int> steps{0};
    std::atomic<bool> busy{false};
    std::atomic<int> overlaps{0};
    std::vector<int> order;  // written by this worker's jobs only
  };
  std::vector<std::unique_ptr<SerialWorker>> workers;
  std::vector<std::unique_ptr<Counter>> counters;
  std::atomic<int> finished{0};
  std::promise<void> all_done;
  for (int w = 0; w < kWorkers; ++w) {
    workers.push_back(pool.MakeWorker("w" + std::to_string(w)));
    counters.push_back(std::make_unique<Counter>());
    Counter* c = counters.back().get();
    workers.back()->SetIdleTask(
        [c, &finished, &all_done] {
          if (c->busy.exchange(true)) c->overlaps.fetch_add(1);
          const int n = c->steps.fetch_add(1) + 1;
          c->busy.store(false);
          if (n == kSteps) {
            if (finished.fetch_add(1) + 1 == kWorkers) all_done.set_value();
            return false;  // uninstalls itself
          }
          return true;
        },
        [] { return Clock::now(); });
    for (int j = 0; j < 10; ++j) {
      ASSERT_TRUE(workers.back()->Post([c, j] { c->order.push_back(j); }));
    }
  }
  ASSERT_EQ(all_done.get_future().wait_for(std::chrono::seconds(60)), std::future_status::ready);
  for (auto& w : workers) Drain(*w);
  for (int w = 0; w < kWorkers; ++w) {
    EXPECT_EQ(counters[w]->steps.load(), kSteps) << "worker " << w << " ran on after false";
    EXPECT_EQ(counters[w]->overlaps.load(), 0) << "worker " << w << " ran two steps at once";
    std::vector<int> expected(10);
    for (int j = 0; j < 10; ++j) expected[j] = j;
    EXPECT_EQ(counters[w]->order, expected) << "worker " << w;
  }
  for (auto& w : workers) w->Shutdown();
  pool.Shutdown();
}

TEST(PacedPool, ShutdownRunsQueuedJobsAndEndsTheIdleTask) {
  PacedPool pool({.threads = 1});
  auto worker = pool.MakeWorker("w");
  std::atomic<int> steps{0};
  worker->SetIdleTask(
      [&] {
        ++steps;
        return true;
      },
      [] { return Clock::now(); });
  std::atomic<int> jobs{0};
  for (int i = 0; i < 100; ++i) ASSERT_TRUE(worker->Post([&] { ++jobs; }));
  worker->Shutdown();
  EXPECT_EQ(jobs.load(), 100) << "queued jobs run before Shutdown returns";
  const int at_shutdown = steps.load();
  for (int i = 0; i < 10; ++i) std::this_thread::yield();
  EXPECT_EQ(steps.load(), at_shutdown) << "the idle task ran after Shutdown returned";
  pool.Shutdown();  // returns: nothing of the worker is pending
}

TEST(PacedPool, AJobHeldByBackPressureDoesNotStarveTheOtherWorkers) {
  // One thread; worker A's job waits (as a publish waits for a full lossless subscriber)
  // until worker B's job has run. Without the starvation guard B never runs.
  PacedPool pool({.threads = 1, .max_threads = 3});
  auto a = pool.MakeWorker("a");
  auto b = pool.MakeWorker("b");
  std::promise<void> b_ran;
  auto b_ran_future = b_ran.get_future().share();
  std::atomic<bool> a_released{false};
  ASSERT_TRUE(a->Post([b_ran_future, &a_released] {
    a_released = b_ran_future.wait_for(std::chrono::seconds(60)) == std::future_status::ready;
  }));
  ASSERT_TRUE(b->Post([&] { b_ran.set_value(); }));
  ASSERT_EQ(b_ran_future.wait_for(std::chrono::seconds(60)), std::future_status::ready)
      << "worker b starved behind worker a's blocked job";
  Drain(*a);
  EXPECT_TRUE(a_released.load());
  EXPECT_GE(pool.threads(), 2);
  EXPECT_LE(pool.threads(), 3);
  a->Shutdown();
  b->Shutdown();
  pool.Shutdown();
}

}  // namespace
}  // namespace arrowdaq::runtime
