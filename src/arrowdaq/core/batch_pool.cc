#include "arrowdaq/core/batch_pool.h"

#include <algorithm>
#include <thread>

#include <arrow/array.h>
#include <arrow/array/data.h>
#include <arrow/extension_type.h>

namespace arrowdaq {

namespace {
constexpr std::int64_t kAlignment = 64;
}  // namespace

// One pooled batch: the block, the batch built over it, and every object through which its
// memory can be reached, with its reference count inside the pool (these copies included).
struct BatchPool::Slot {
  std::shared_ptr<arrow::Buffer> block;
  std::shared_ptr<arrow::RecordBatch> batch;
  std::vector<std::shared_ptr<const void>> nodes;  // nodes[0] is the batch
  std::vector<long> baseline;

  void TrackData(const std::shared_ptr<arrow::ArrayData>& data) {
    if (data == nullptr) return;
    nodes.push_back(data);
    for (const auto& b : data->buffers) {
      if (b != nullptr) nodes.push_back(b);
    }
    for (const auto& child : data->child_data) TrackData(child);
    TrackData(data->dictionary);
  }

  void TrackArray(const std::shared_ptr<arrow::Array>& array) {
    if (array == nullptr) return;
    nodes.push_back(array);
    TrackData(array->data());
    // Arrays that box nested arrays when made (extension storage, list values, struct fields).
    switch (array->type_id()) {
      case arrow::Type::EXTENSION:
        TrackArray(static_cast<const arrow::ExtensionArray&>(*array).storage());
        break;
      case arrow::Type::FIXED_SIZE_LIST:
        TrackArray(static_cast<const arrow::FixedSizeListArray&>(*array).values());
        break;
      case arrow::Type::LIST:
        TrackArray(static_cast<const arrow::ListArray&>(*array).values());
        break;
      case arrow::Type::LARGE_LIST:
        TrackArray(static_cast<const arrow::LargeListArray&>(*array).values());
        break;
      case arrow::Type::STRUCT:
        for (const auto& f : static_cast<const arrow::StructArray&>(*array).fields()) {
          TrackArray(f);
        }
        break;
      default:
        break;
    }
  }
};

std::string_view ToString(PoolExhaustion policy) {
  switch (policy) {
    case PoolExhaustion::kCount: return "count";
    case PoolExhaustion::kBlock: return "block";
  }
  return "count";
}

Result<PoolExhaustion> ParsePoolExhaustion(std::string_view text) {
  if (text == "count") return PoolExhaustion::kCount;
  if (text == "block") return PoolExhaustion::kBlock;
  return Status::Invalid("expected \"count\" or \"block\", got \"", std::string(text), "\"");
}

BatchPool::BatchPool(BatchPoolOptions options, BatchBuilder builder)
    : options_(options), builder_(std::move(builder)) {}

BatchPool::~BatchPool() = default;

Result<std::unique_ptr<BatchPool>> BatchPool::Make(BatchPoolOptions options,
                                                   BatchBuilder builder) {
  if (options.block_bytes <= 0) {
    return Status::Invalid("batch pool: block size must be > 0, got ", options.block_bytes);
  }
  if (options.max_batches < 1) {
    return Status::Invalid("batch pool: max_batches must be >= 1, got ", options.max_batches);
  }
  if (!builder) return Status::Invalid("batch pool: no batch builder");
  if (options.memory_pool == nullptr) options.memory_pool = arrow::default_memory_pool();
  return std::unique_ptr<BatchPool>(new BatchPool(options, std::move(builder)));
}

Result<std::unique_ptr<BatchPool::Slot>> BatchPool::Build() {
  auto slot = std::make_unique<Slot>();
  ARROW_ASSIGN_OR_RAISE(std::unique_ptr<arrow::Buffer> block,
                        arrow::AllocateBuffer(options_.block_bytes, kAlignment,
                                              options_.memory_pool));
  slot->block = std::move(block);
  ARROW_ASSIGN_OR_RAISE(slot->batch, builder_(slot->block));
  if (slot->batch == nullptr) return Status::Invalid("batch pool: the builder made no batch");
  slot->nodes.push_back(slot->batch);
  slot->nodes.push_back(slot->block);
  // column(i) boxes the column once and caches it in the batch: boxed now, so the Arrays are
  // part of the baseline and readers asking for columns later allocate nothing.
  for (int i = 0; i < slot->batch->num_columns(); ++i) slot->TrackArray(slot->batch->column(i));
  slot->baseline.reserve(slot->nodes.size());
  for (const auto& node : slot->nodes) slot->baseline.push_back(node.use_count());
  return slot;
}

bool BatchPool::Idle(const Slot& slot) {
  for (std::size_t i = 0; i < slot.nodes.size(); ++i) {
    // Copying the pointer is an acquire-release increment of its count: it synchronises with
    // the release of every reader that let go of this object before, so the block's bytes are
    // rewritten only after their last read.
    std::shared_ptr<const void> probe = slot.nodes[i];
    if (probe.use_count() != slot.baseline[i] + 1) return false;
  }
  return true;
}

std::int64_t BatchPool::FindIdle() {
  const std::size_t n = slots_.size();
  for (std::size_t k = 0; k < n; ++k) {
    const std::size_t i = (next_ + k) % n;
    if (Idle(*slots_[i])) return static_cast<std::int64_t>(i);  // the oldest idle one
  }
  return -1;
}

Result<PooledBatch> BatchPool::Acquire() {
  std::int64_t i = FindIdle();
  if (i >= 0) {
    hits_.fetch_add(1, std::memory_order_relaxed);
  } else if (static_cast<std::int64_t>(slots_.size()) < options_.max_batches) {
    ARROW_ASSIGN_OR_RAISE(auto slot, Build());
    slots_.push_back(std::move(slot));
    blocks_.store(static_cast<std::int64_t>(slots_.size()), std::memory_order_relaxed);
    misses_.fetch_add(1, std::memory_order_relaxed);
    i = static_cast<std::int64_t>(slots_.size()) - 1;
  } else if (options_.on_exhausted == PoolExhaustion::kCount) {
    misses_.fetch_add(1, std::memory_order_relaxed);
    overflows_.fetch_add(1, std::memory_order_relaxed);
    ARROW_ASSIGN_OR_RAISE(auto fresh, Build());  // freed by its last reader, never kept
    return PooledBatch{fresh->batch, fresh->block->mutable_data()};
  } else {
    // kBlock: wait for a reader to let go (polled with a growing nap: releases do not notify).
    waits_.fetch_add(1, std::memory_order_relaxed);
    const auto give_up = std::chrono::steady_clock::now() + options_.block_timeout;
    auto nap = std::chrono::microseconds(20);
    while ((i = FindIdle()) < 0) {
      if (std::chrono::steady_clock::now() >= give_up) {
        return Status::IOError("batch pool exhausted: readers held all ", slots_.size(),
                               " pooled batches for ", options_.block_timeout.count(),
                               " ms (policy block)");
      }
      std::this_thread::sleep_for(nap);
      nap = std::min(nap * 2, std::chrono::microseconds(1000));
    }
    hits_.fetch_add(1, std::memory_order_relaxed);
  }
  next_ = (static_cast<std::size_t>(i) + 1) % slots_.size();
  Slot& slot = *slots_[static_cast<std::size_t>(i)];
  return PooledBatch{slot.batch, slot.block->mutable_data()};
}

BufferPoolStats BatchPool::stats() const {
  BufferPoolStats s;
  s.block_bytes = options_.block_bytes;
  s.max_blocks = options_.max_batches;
  s.blocks = blocks_.load(std::memory_order_relaxed);
  s.hits = hits_.load(std::memory_order_relaxed);
  s.misses = misses_.load(std::memory_order_relaxed);
  s.overflows = overflows_.load(std::memory_order_relaxed);
  s.waits = waits_.load(std::memory_order_relaxed);
  return s;
}

}  // namespace arrowdaq
