#include "arrowdaq/core/batch_pool.h"

#include <atomic>
#include <cstring>
#include <thread>
#include <vector>

#include <arrow/array.h>
#include <arrow/array/data.h>
#include <gtest/gtest.h>

#include "arrowdaq/testing/gtest_util.h"

namespace arrowdaq {
namespace {

constexpr std::int64_t kRows = 16;

// Two int64 columns laid out one after the other in the block.
Result<std::unique_ptr<BatchPool>> MakePool(std::int64_t max_batches, PoolExhaustion policy,
                                            arrow::MemoryPool* memory_pool,
                                            std::chrono::milliseconds timeout =
                                                std::chrono::milliseconds(10'000)) {
  auto schema = arrow::schema({arrow::field("a", arrow::int64()), arrow::field("b", arrow::int64())});
  BatchBuilder builder =
      [schema](const std::shared_ptr<arrow::Buffer>& block)
      -> Result<std::shared_ptr<arrow::RecordBatch>> {
    const std::int64_t col = kRows * 8;
    std::vector<std::shared_ptr<arrow::ArrayData>> columns;
    for (int c = 0; c < 2; ++c) {
      columns.push_back(arrow::ArrayData::Make(arrow::int64(), kRows,
                                               {nullptr, arrow::SliceBuffer(block, c * col, col)},
                                               /*null_count=*/0));
    }
    return arrow::RecordBatch::Make(schema, kRows, std::move(columns));
  };
  return BatchPool::Make({.block_bytes = 2 * kRows * 8,
                          .max_batches = max_batches,
                          .on_exhausted = policy,
                          .block_timeout = timeout,
                          .memory_pool = memory_pool},
                         std::move(builder));
}

void Fill(const PooledBatch& b, std::int64_t value) {
  auto* v = reinterpret_cast<std::int64_t*>(b.data);
  for (std::int64_t i = 0; i < 2 * kRows; ++i) v[i] = value;
}

std::int64_t FirstA(const arrow::RecordBatch& batch) {
  return static_cast<const arrow::Int64Array&>(*batch.column(0)).Value(0);
}

TEST(BatchPool, ReusesTheWholeBatchOnceTheLastReaderLetsGo) {
  arrow::ProxyMemoryPool arrow_pool(arrow::default_memory_pool());
  ASSERT_OK_AND_ASSIGN(auto pool, MakePool(2, PoolExhaustion::kCount, &arrow_pool));
  ASSERT_OK_AND_ASSIGN(PooledBatch first, pool->Acquire());
  Fill(first, 7);
  EXPECT_EQ(FirstA(*first.batch), 7);
  const arrow::RecordBatch* shell = first.batch.get();
  const std::uint8_t* data = first.data;
  first = {};  // the reader lets go
  const auto allocated = arrow_pool.num_allocations();
  for (int i = 0; i < 100; ++i) {
    ASSERT_OK_AND_ASSIGN(PooledBatch again, pool->Acquire());
    EXPECT_EQ(again.batch.get(), shell);  // the same RecordBatch, columns and block
    EXPECT_EQ(again.data, data);
    Fill(again, i);
    EXPECT_EQ(FirstA(*again.batch), i);
  }
  EXPECT_EQ(arrow_pool.num_allocations(), allocated);  // no sample memory either
  auto s = pool->stats();
  EXPECT_EQ(s.blocks, 1);
  EXPECT_EQ(s.misses, 1);
  EXPECT_EQ(s.hits, 100);
  EXPECT_EQ(s.overflows, 0);
  EXPECT_NEAR(s.hit_rate(), 100.0 / 101.0, 1e-12);
}

TEST(BatchPool, AReaderKeepingAColumnABufferOrASliceKeepsTheBatchOut) {
  ASSERT_OK_AND_ASSIGN(auto pool, MakePool(4, PoolExhaustion::kCount, arrow::default_memory_pool()));
  // Each kind of reference a reader may keep after dropping the batch.
  std::vector<std::function<std::shared_ptr<const void>(const arrow::RecordBatch&)>> keepers = {
      [](const arrow::RecordBatch& b) { return b.column(1); },
      [](const arrow::RecordBatch& b) { return b.column_data(0); },
      [](const arrow::RecordBatch& b) { return b.column_data(1)->buffers[1]; },
      [](const arrow::RecordBatch& b) { return b.column(0)->Slice(3, 2); },
      [](const arrow::RecordBatch& b) {
        return arrow::SliceBuffer(b.column_data(0)->buffers[1], 8, 8);
      },
  };
  for (const auto& keep : keepers) {
    ASSERT_OK_AND_ASSIGN(PooledBatch b, pool->Acquire());
    Fill(b, 41);
    std::shared_ptr<const void> kept = keep(*b.batch);
    const std::uint8_t* data = b.data;
    b = {};
    // The kept reference still sees 41: the next batches come from other blocks.
    ASSERT_OK_AND_ASSIGN(PooledBatch next, pool->Acquire());
    EXPECT_NE(next.data, data);
    Fill(next, 99);
    EXPECT_EQ(reinterpret_cast<const std::int64_t*>(data)[0], 41);
    next = {};
    kept.reset();
    // Back at the baseline: the first free block in turn is used again, nothing new built.
    const auto blocks = pool->stats().blocks;
    ASSERT_OK_AND_ASSIGN(PooledBatch again, pool->Acquire());
    EXPECT_EQ(pool->stats().blocks, blocks);
  }
}

TEST(BatchPool, ExhaustedWithCountHandsOutFreshBatchesAndStaysBounded) {
  arrow::ProxyMemoryPool arrow_pool(arrow::default_memory_pool());
  ASSERT_OK_AND_ASSIGN(auto pool, MakePool(3, PoolExhaustion::kCount, &arrow_pool));
  // A consumer holds every batch it gets (more than the pool has).
  std::vector<PooledBatch> held;
  for (int i = 0; i < 10; ++i) {
    ASSERT_OK_AND_ASSIGN(PooledBatch b, pool->Acquire());
    Fill(b, i);
    held.push_back(b);
  }
  for (int i = 0; i < 10; ++i) EXPECT_EQ(FirstA(*held[static_cast<size_t>(i)].batch), i);
  auto s = pool->stats();
  EXPECT_EQ(s.blocks, 3);  // never more than its bound
  EXPECT_EQ(s.misses, 10);
  EXPECT_EQ(s.overflows, 7);
  EXPECT_EQ(s.hits, 0);
  EXPECT_EQ(s.waits, 0);
  // The overflow batches are freed with their last reader: only the pooled blocks stay.
  held.clear();
  EXPECT_EQ(arrow_pool.bytes_allocated(), 3 * pool->options().block_bytes);
  ASSERT_OK_AND_ASSIGN(PooledBatch b, pool->Acquire());
  EXPECT_EQ(pool->stats().hits, 1);
}

TEST(BatchPool, ExhaustedWithBlockWaitsForAReaderToLetGo) {
  ASSERT_OK_AND_ASSIGN(auto pool, MakePool(2, PoolExhaustion::kBlock, arrow::default_memory_pool()));
  ASSERT_OK_AND_ASSIGN(PooledBatch a, pool->Acquire());
  ASSERT_OK_AND_ASSIGN(PooledBatch b, pool->Acquire());
  Fill(a, 1);
  Fill(b, 2);
  const std::uint8_t* b_data = b.data;
  Result<PooledBatch> got = Status::UnknownError("not yet");
  std::atomic<bool> done{false};
  std::thread producer([&] {
    got = pool->Acquire();
    done = true;
  });
  // The producer is waiting once it counted the wait; then the consumer lets go of b.
  while (pool->stats().waits == 0 && !done) std::this_thread::yield();
  EXPECT_FALSE(done) << "Acquire did not wait for a batch to come back";
  b = {};
  producer.join();
  ASSERT_OK(got.status());
  EXPECT_EQ(got->data, b_data);
  EXPECT_EQ(FirstA(*a.batch), 1);  // the batch still held was not touched
  auto s = pool->stats();
  EXPECT_EQ(s.blocks, 2);
  EXPECT_EQ(s.waits, 1);
  EXPECT_EQ(s.overflows, 0);
}

TEST(BatchPool, ExhaustedWithBlockFailsAfterItsTimeout) {
  ASSERT_OK_AND_ASSIGN(auto pool, MakePool(1, PoolExhaustion::kBlock, arrow::default_memory_pool(),
                                           std::chrono::milliseconds(20)));
  ASSERT_OK_AND_ASSIGN(PooledBatch a, pool->Acquire());
  auto r = pool->Acquire();
  ASSERT_TRUE(r.status().IsIOError()) << r.status().ToString();
  EXPECT_NE(r.status().message().find("exhausted"), std::string::npos);
  EXPECT_EQ(pool->stats().blocks, 1);
}

TEST(BatchPool, RejectsBadOptions) {
  BatchBuilder none;
  EXPECT_TRUE(BatchPool::Make({.block_bytes = 0}, [](const std::shared_ptr<arrow::Buffer>&)
                                  -> Result<std::shared_ptr<arrow::RecordBatch>> {
                return nullptr;
              }).status().IsInvalid());
  EXPECT_TRUE(BatchPool::Make({.block_bytes = 8, .max_batches = 0}, none).status().IsInvalid());
  EXPECT_TRUE(BatchPool::Make({.block_bytes = 8}, none).status().IsInvalid());
  EXPECT_EQ(*ParsePoolExhaustion("block"), PoolExhaustion::kBlock);
  EXPECT_TRUE(ParsePoolExhaustion("grow").status().IsInvalid());
}

}  // namespace
}  // namespace arrowdaq
