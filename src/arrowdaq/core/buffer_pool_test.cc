#include "arrowdaq/core/buffer_pool.h"

#include <cstring>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "arrowdaq/testing/gtest_util.h"

namespace arrowdaq {
namespace {

TEST(BufferPool, ReusesReturnedBlocksAndNeverKeepsMoreThanItsBound) {
  arrow::ProxyMemoryPool arrow_pool(arrow::default_memory_pool());
  ASSERT_OK_AND_ASSIGN(auto pool, BufferPool::Make({.block_bytes = 4096,
                                                    .max_blocks = 4,
                                                    .memory_pool = &arrow_pool}));
  // Readers hold ten buffers at once: four pool blocks, six overflows freed on release.
  std::vector<std::shared_ptr<arrow::MutableBuffer>> held;
  for (int i = 0; i < 10; ++i) {
    ASSERT_OK_AND_ASSIGN(auto b, pool->Acquire());
    ASSERT_EQ(b->size(), 4096);
    ASSERT_EQ(reinterpret_cast<std::uintptr_t>(b->data()) % 64, 0u);
    held.push_back(b);
  }
  auto s = pool->stats();
  EXPECT_EQ(s.blocks, 4);
  EXPECT_EQ(s.outstanding, 10);
  EXPECT_EQ(s.misses, 10);
  EXPECT_EQ(s.overflows, 6);
  EXPECT_EQ(arrow_pool.bytes_allocated(), 10 * 4096);
  held.clear();  // the last readers let go
  s = pool->stats();
  EXPECT_EQ(s.outstanding, 0);
  EXPECT_EQ(s.idle, 4);
  EXPECT_EQ(arrow_pool.bytes_allocated(), 4 * 4096);  // the overflows went back to Arrow

  // Steady state, one batch in flight at a time: every Acquire is a hit on the same blocks,
  // and Arrow sees no new allocation.
  const auto allocations = arrow_pool.num_allocations();
  const std::uint8_t* first = nullptr;
  for (int i = 0; i < 1000; ++i) {
    ASSERT_OK_AND_ASSIGN(auto b, pool->Acquire());
    if (first == nullptr) first = b->data();
    EXPECT_EQ(b->data(), first);  // LIFO: the block just returned
  }
  s = pool->stats();
  EXPECT_EQ(s.hits, 1000);
  EXPECT_EQ(s.misses, 10);
  EXPECT_EQ(s.blocks, 4);
  EXPECT_EQ(arrow_pool.num_allocations(), allocations);
  EXPECT_NEAR(s.hit_rate(), 1000.0 / 1010.0, 1e-12);
}

TEST(BufferPool, BuffersReleasedOnOtherThreadsComeBackAndOutliveThePool) {
  arrow::ProxyMemoryPool arrow_pool(arrow::default_memory_pool());
  std::shared_ptr<arrow::MutableBuffer> survivor;
  {
    ASSERT_OK_AND_ASSIGN(auto pool, BufferPool::Make({.block_bytes = 256,
                                                      .max_blocks = 3,
                                                      .memory_pool = &arrow_pool}));
    for (int round = 0; round < 200; ++round) {
      std::vector<std::shared_ptr<arrow::MutableBuffer>> batch;
      for (int i = 0; i < 3; ++i) {
        ASSERT_OK_AND_ASSIGN(auto b, pool->Acquire());
        std::memset(b->mutable_data(), round & 0xff, 256);
        batch.push_back(std::move(b));
      }
      std::thread reader([batch = std::move(batch), round]() mutable {
        for (const auto& b : batch) ASSERT_EQ(b->data()[255], round & 0xff);
        batch.clear();
      });
      reader.join();
    }
    const auto s = pool->stats();
    EXPECT_EQ(s.blocks, 3);
    EXPECT_EQ(s.misses, 3);
    EXPECT_EQ(s.hits, 597);
    ASSERT_OK_AND_ASSIGN(survivor, pool->Acquire());
  }  // the pool's owner is gone; the buffer still holds the pool
  std::memset(survivor->mutable_data(), 1, 256);
  survivor.reset();
  EXPECT_EQ(arrow_pool.bytes_allocated(), 0);  // everything back once the last buffer went
}

TEST(BufferPool, RejectsBadOptions) {
  EXPECT_TRUE(BufferPool::Make({.block_bytes = 0}).status().IsInvalid());
  EXPECT_TRUE(BufferPool::Make({.block_bytes = 8, .max_blocks = 0}).status().IsInvalid());
}

}  // namespace
}  // namespace arrowdaq
