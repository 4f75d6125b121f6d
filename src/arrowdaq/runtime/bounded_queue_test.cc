#include "arrowdaq/runtime/bounded_queue.h"

#include <thread>

#include <gtest/gtest.h>

namespace arrowdaq::runtime {
namespace {

using namespace std::chrono_literals;

TEST(BoundedQueue, DropOldestKeepsTheNewestAndReportsWhatItDropped) {
  BoundedQueue<int> q(3, OverflowPolicy::kDropOldest);
  std::vector<int> gone;
  for (int i = 0; i < 10; ++i) q.Push(i, {}, [&](int& v) { gone.push_back(v); });
  EXPECT_EQ(q.dropped(), 7u);
  EXPECT_EQ(gone, (std::vector<int>{0, 1, 2, 3, 4, 5, 6}));
  EXPECT_EQ(*q.TryPop(), 7);
  EXPECT_EQ(*q.TryPop(), 8);
  EXPECT_EQ(*q.TryPop(), 9);
  EXPECT_FALSE(q.TryPop());
}

TEST(BoundedQueue, DropNewestRejectsAndCounts) {
  BoundedQueue<int> q(2, OverflowPolicy::kDropNewest);
  EXPECT_EQ(q.Push(1), PushOutcome::kQueued);
  EXPECT_EQ(q.Push(2), PushOutcome::kQueued);
  EXPECT_EQ(q.Push(3), PushOutcome::kRejected);
  EXPECT_EQ(q.dropped(), 1u);
  EXPECT_EQ(*q.TryPop(), 1);
}

TEST(BoundedQueue, BlockWaitsForRoomAndLosesNothing) {
  BoundedQueue<int> q(4, OverflowPolicy::kBlock);
  constexpr int kN = 20000;
  std::thread producer([&] {
    for (int i = 0; i < kN; ++i) ASSERT_EQ(q.Push(i), PushOutcome::kQueued);
    q.Close();
  });
  int expected = 0;
  while (auto v = q.Pop()) {
    ASSERT_EQ(*v, expected);
    ++expected;
  }
  producer.join();
  EXPECT_EQ(expected, kN);
  EXPECT_EQ(q.dropped(), 0u);
}

TEST(BoundedQueue, CloseWakesABlockedProducer) {
  BoundedQueue<int> q(1, OverflowPolicy::kBlock);
  ASSERT_EQ(q.Push(1), PushOutcome::kQueued);
  std::thread closer([&] {
    std::this_thread::sleep_for(20ms);
    q.Close();
  });
  EXPECT_EQ(q.Push(2), PushOutcome::kClosed);
  closer.join();
  EXPECT_EQ(q.Push(3, std::chrono::steady_clock::now() + 1ms), PushOutcome::kClosed);
  EXPECT_EQ(*q.Pop(), 1);  // queued items survive Close
  EXPECT_FALSE(q.Pop());
}

TEST(BoundedQueue, BlockingPushTimesOut) {
  BoundedQueue<int> q(1, OverflowPolicy::kBlock);
  ASSERT_EQ(q.Push(1), PushOutcome::kQueued);
  EXPECT_EQ(q.Push(2, std::chrono::steady_clock::now() + 10ms), PushOutcome::kTimedOut);
  EXPECT_EQ(q.size(), 1u);
}

}  // namespace
}  // namespace arrowdaq::runtime
