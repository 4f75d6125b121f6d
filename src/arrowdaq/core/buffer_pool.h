// BufferPool: a bounded pool of equally sized, 64-byte aligned memory blocks handed out as
// arrow::Buffers (the areaDetector NDArrayPool idea). A block returns to the pool when the last
// reference to its buffer goes (the last reader of the batch lets go: the buffer's destructor
// gives it back), so a source that fills one block per batch stops allocating, and stops
// touching fresh pages, once the pool is warm.
//
// Bounds: the pool keeps at most `max_blocks` blocks. When all of them are out (readers hold
// more batches than that), Acquire hands out a fresh buffer that is freed, not kept, when its
// last reader lets go, and counts a miss: the pool never grows past its bound, and how many
// batches are alive at once stays bounded by the queues downstream (back-pressure or the drop
// policies), as without a pool.
//
// Ownership: every buffer handed out keeps the pool alive (shared_ptr), so buffers may outlive
// whoever made the pool. Threading: Acquire and stats from any thread; buffers may be released
// on any thread.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <vector>

#include <arrow/buffer.h>
#include <arrow/memory_pool.h>

#include "arrowdaq/core/status.h"

namespace arrowdaq {

struct BufferPoolOptions {
  std::int64_t block_bytes = 0;  ///< size of every block (> 0)
  std::int64_t max_blocks = 8;   ///< blocks the pool keeps at most (>= 1)
  arrow::MemoryPool* memory_pool = arrow::default_memory_pool();
};

/// What a pool did so far (summary.json's memory section and the benchmarks show it).
struct BufferPoolStats {
  std::int64_t block_bytes = 0;
  std::int64_t max_blocks = 0;
  std::int64_t blocks = 0;       ///< blocks the pool owns now (idle + out), <= max_blocks
  std::int64_t idle = 0;         ///< of those, waiting in the pool
  std::int64_t outstanding = 0;  ///< buffers handed out and not yet released (pooled or not)
  std::int64_t hits = 0;         ///< Acquire served by an idle block
  std::int64_t misses = 0;       ///< Acquire that allocated (a new pool block or an overflow)
  std::int64_t overflows = 0;    ///< of the misses, buffers beyond max_blocks (freed, not kept)
  std::int64_t waits = 0;        ///< Acquire that waited for a block to come back (BatchPool kBlock)
  /// Return hits / (hits + misses), 0 before the first Acquire.
  double hit_rate() const {
    return hits + misses == 0 ? 0.0 : static_cast<double>(hits) / static_cast<double>(hits + misses);
  }
};

class BufferPool : public std::enable_shared_from_this<BufferPool> {
 public:
  /// Make a pool; fails unless block_bytes > 0 and max_blocks >= 1.
  static Result<std::shared_ptr<BufferPool>> Make(BufferPoolOptions options);
  ~BufferPool();

  BufferPool(const BufferPool&) = delete;
  BufferPool& operator=(const BufferPool&) = delete;

  /// Return a mutable buffer of block_bytes (contents undefined: the caller overwrites them).
  Result<std::shared_ptr<arrow::MutableBuffer>> Acquire();
  BufferPoolStats stats() const;
  std::int64_t block_bytes() const { return options_.block_bytes; }

 private:
  class PooledBuffer;
  struct PrivateTag {};

 public:
  BufferPool(PrivateTag, BufferPoolOptions options) : options_(options) {}

 private:
  void Release(std::uint8_t* block, bool pooled);

  const BufferPoolOptions options_;
  mutable std::mutex mutex_;
  std::vector<std::uint8_t*> idle_;
  std::int64_t blocks_ = 0;
  std::int64_t outstanding_ = 0;
  std::int64_t hits_ = 0;
  std::int64_t misses_ = 0;
  std::int64_t overflows_ = 0;
};

}  // namespace arrowdaq
