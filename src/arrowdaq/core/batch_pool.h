// BatchPool: a bounded pool of whole record batches of one fixed shape, recycled when the last
// reader lets go (the areaDetector NDArrayPool idea, for the batch and not only its memory). A
// pooled batch is built once over one 64-byte aligned block (its columns' buffers are slices of
// the block): the RecordBatch, its Array and ArrayData objects, their buffer objects and the
// shared_ptr control blocks all stay, and a producer that takes a batch only rewrites the
// block's bytes. A warm source therefore makes no allocation per batch.
//
// When is a batch back? Every object of a pooled batch through which its memory can be reached
// (the RecordBatch, each column's Array and ArrayData, nested ones, each buffer and the block) is
// tracked with the reference count it has inside the pool. A batch is idle again only when
// every tracked count is back at that baseline: a reader that kept a column, an Array, an
// ArrayData, a buffer or a slice of one after dropping the batch keeps the batch out, so its
// bytes are never rewritten under it. Acquire checks the batches in turn (taking a reference to
// each tracked object synchronises with the reader's release of it). Plain shared_ptr
// ownership holds everything: batches still out when the pool goes away are freed by their
// last reader as usual.
//
// Bounds and exhaustion: at most `max_batches` batches are pooled. When all are out, the
// pool's PoolExhaustion policy decides: kCount builds a fresh batch of the same shape (freed,
// not kept, when its last reader lets go) and counts it as an overflow; kBlock waits for a
// batch to come back (counted as a wait), and fails with IOError after `block_timeout`. The pool
// never grows past its bound either way.
//
// Threading: Acquire from one thread at a time (the producer); stats() from any thread; pooled
// batches may be read and released on any thread.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string_view>
#include <utility>
#include <vector>

#include <arrow/buffer.h>
#include <arrow/memory_pool.h>
#include <arrow/record_batch.h>

#include "arrowdaq/core/buffer_pool.h"
#include "arrowdaq/core/status.h"

namespace arrowdaq {

/// What a pool does when every pooled batch is out.
enum class PoolExhaustion {
  kCount,  ///< build a fresh, unpooled batch and count it (overflows); never waits
  kBlock,  ///< wait for a batch to come back (waits); IOError after block_timeout
};

/// Return "count" or "block".
std::string_view ToString(PoolExhaustion policy);
/// Parse "count" or "block"; anything else is Status::Invalid naming the value.
Result<PoolExhaustion> ParsePoolExhaustion(std::string_view text);

/// Build the batch of a pool over `block` (BatchPoolOptions::block_bytes, 64-byte aligned,
/// contents undefined): every buffer of the batch must be `block` or a slice of it.
using BatchBuilder =
    std::function<Result<std::shared_ptr<arrow::RecordBatch>>(const std::shared_ptr<arrow::Buffer>&)>;

struct BatchPoolOptions {
  std::int64_t block_bytes = 0;   ///< bytes of one batch's block (> 0)
  std::int64_t max_batches = 8;   ///< batches the pool keeps at most (>= 1)
  PoolExhaustion on_exhausted = PoolExhaustion::kCount;
  std::chrono::milliseconds block_timeout{10'000};  ///< kBlock: longest wait for a batch
  arrow::MemoryPool* memory_pool = arrow::default_memory_pool();
};

/// A batch taken from the pool: publish `batch` after writing the block at `data`.
struct PooledBatch {
  std::shared_ptr<arrow::RecordBatch> batch;
  std::uint8_t* data = nullptr;  ///< the block (block_bytes), to be filled by the producer
};

class BatchPool {
 public:
  /// Make a pool; fails unless block_bytes > 0, max_batches >= 1 and `builder` is set. No
  /// batch is built before the first Acquire.
  static Result<std::unique_ptr<BatchPool>> Make(BatchPoolOptions options, BatchBuilder builder);

  ~BatchPool();
  BatchPool(const BatchPool&) = delete;
  BatchPool& operator=(const BatchPool&) = delete;

  /// Return an idle pooled batch, a newly pooled one while the pool is below its bound, or on
  /// exhaustion what the policy says (see above). A builder error is returned as is.
  Result<PooledBatch> Acquire();
  /// Return what the pool did so far (any thread). `blocks` counts pooled batches; `idle` and
  /// `outstanding` are not tracked (0): a batch is found idle only by looking at it.
  BufferPoolStats stats() const;
  const BatchPoolOptions& options() const { return options_; }

 private:
  struct Slot;
  BatchPool(BatchPoolOptions options, BatchBuilder builder);
  Result<std::unique_ptr<Slot>> Build();
  /// Return whether every tracked object of `slot` is back at its baseline count.
  static bool Idle(const Slot& slot);
  /// Return the index of the first idle slot from next_ on, or -1.
  std::int64_t FindIdle();

  BatchPoolOptions options_;
  BatchBuilder builder_;
  std::vector<std::unique_ptr<Slot>> slots_;
  std::size_t next_ = 0;  // where the next search starts (round robin: oldest first)
  std::atomic<std::int64_t> blocks_{0};
  std::atomic<std::int64_t> hits_{0}, misses_{0}, overflows_{0}, waits_{0};
};

}  // namespace arrowdaq
