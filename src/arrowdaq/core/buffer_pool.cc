#include "arrowdaq/core/buffer_pool.h"

namespace arrowdaq {

namespace {
constexpr std::int64_t kAlignment = 64;
}  // namespace

// The buffer handed out: its destructor (the last reference gone) gives the block back.
class BufferPool::PooledBuffer : public arrow::MutableBuffer {
 public:
  PooledBuffer(std::shared_ptr<BufferPool> pool, std::uint8_t* block, bool pooled)
      : arrow::MutableBuffer(block, pool->options_.block_bytes),
        pool_(std::move(pool)),
        block_(block),
        pooled_(pooled) {}
  ~PooledBuffer() override { pool_->Release(block_, pooled_); }

 private:
  std::shared_ptr<BufferPool> pool_;
  std::uint8_t* block_;
  bool pooled_;
};

Result<std::shared_ptr<BufferPool>> BufferPool::Make(BufferPoolOptions options) {
  if (options.block_bytes <= 0) {
    return Status::Invalid("buffer pool: block size must be > 0, got ", options.block_bytes);
  }
  if (options.max_blocks < 1) {
    return Status::Invalid("buffer pool: max_blocks must be >= 1, got ", options.max_blocks);
  }
  if (options.memory_pool == nullptr) options.memory_pool = arrow::default_memory_pool();
  return std::make_shared<BufferPool>(PrivateTag{}, options);
}

BufferPool::~BufferPool() {
  // Every buffer handed out holds the pool, so by now all blocks are idle.
  for (std::uint8_t* block : idle_) {
    options_.memory_pool->Free(block, options_.block_bytes, kAlignment);
  }
}

Result<std::shared_ptr<arrow::MutableBuffer>> BufferPool::Acquire() {
  std::uint8_t* block = nullptr;
  bool pooled = true;
  {
    std::lock_guard lock(mutex_);
    ++outstanding_;
    if (!idle_.empty()) {
      block = idle_.back();
      idle_.pop_back();
      ++hits_;
    } else {
      ++misses_;
      if (blocks_ < options_.max_blocks) {
        ++blocks_;
      } else {
        pooled = false;
        ++overflows_;
      }
    }
  }
  if (block == nullptr) {
    Status st = options_.memory_pool->Allocate(options_.block_bytes, kAlignment, &block);
    if (!st.ok()) {
      std::lock_guard lock(mutex_);
      --outstanding_;
      if (pooled) --blocks_;
      return st;
    }
  }
  return std::make_shared<PooledBuffer>(shared_from_this(), block, pooled);
}

void BufferPool::Release(std::uint8_t* block, bool pooled) {
  {
    std::lock_guard lock(mutex_);
    --outstanding_;
    if (pooled) {
      idle_.push_back(block);  // never more than max_blocks: reserve-free after warm-up
      return;
    }
  }
  options_.memory_pool->Free(block, options_.block_bytes, kAlignment);
}

BufferPoolStats BufferPool::stats() const {
  std::lock_guard lock(mutex_);
  return {options_.block_bytes,
          options_.max_blocks,
          blocks_,
          static_cast<std::int64_t>(idle_.size()),
          outstanding_,
          hits_,
          misses_,
          overflows_,
          0};
}

}  // namespace arrowdaq
