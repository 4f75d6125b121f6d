// StreamingWindow<T>: the contiguous [history | chunk] scratch buffer shared by the streaming
// filters. It keeps the last `history` input samples across calls so that a kernel can read
// every window it needs from one buffer. Owned by value by one filter; not thread-safe (one
// thread at a time, like its owner). Internal to arrowdaq_dsp.
#pragma once

#include <algorithm>
#include <cstddef>
#include <new>
#include <span>
#include <vector>

#include "arrowdaq/dsp/fir_kernels_internal.h"

namespace arrowdaq::dsp::internal {

/// Inputs are processed in chunks of at most this many samples, so that the scratch buffer
/// stays cache-resident and stops growing once it reached history + kMaxChunk.
inline constexpr size_t kMaxChunk = 8192;

/// Alignment of the scratch buffer: one cache line, which is also the widest vector (AVX-512),
/// so that the kernels' loads at multiples of the vector length from the start never straddle
/// two lines.
inline constexpr size_t kScratchAlignment = 64;

/// Minimal allocator handing out kScratchAlignment-aligned storage (std::vector's default
/// allocator only guarantees 16 bytes).
template <typename T>
struct CacheLineAllocator {
  using value_type = T;
  CacheLineAllocator() = default;
  template <typename U>
  explicit CacheLineAllocator(const CacheLineAllocator<U>&) noexcept {}
  T* allocate(size_t n) {
    return static_cast<T*>(::operator new(n * sizeof(T), std::align_val_t{kScratchAlignment}));
  }
  void deallocate(T* p, size_t) noexcept {
    ::operator delete(p, std::align_val_t{kScratchAlignment});
  }
  friend bool operator==(const CacheLineAllocator&, const CacheLineAllocator&) { return true; }
};

template <typename T>
class StreamingWindow {
 public:
  explicit StreamingWindow(size_t history)
      : history_(history), buffer_(history + kFirPadding, T(0)) {}

  /// Append `chunk` (at most kMaxChunk samples) after the history and return the start of the
  /// contiguous [history | chunk] buffer (kScratchAlignment-aligned), followed by kFirPadding
  /// readable elements; valid until the next call.
  const T* Append(std::span<const T> chunk) {
    const size_t needed = history_ + chunk.size();
    if (buffer_.size() < needed + kFirPadding) buffer_.resize(needed + kFirPadding, T(0));
    std::copy(chunk.begin(), chunk.end(), buffer_.begin() + history_);
    filled_ = needed;
    return buffer_.data();
  }

  /// Keep the last `history` samples of the buffer built by the last Append as the new history.
  void Commit() {
    std::copy(buffer_.begin() + (filled_ - history_), buffer_.begin() + filled_, buffer_.begin());
    filled_ = history_;
  }

  /// Replace the history with `last` (exactly history() samples: the inputs just before the next
  /// Append), for callers that processed some input without going through Append.
  void SetHistory(std::span<const T> last) {
    std::copy(last.begin(), last.end(), buffer_.begin());
    filled_ = history_;
  }

  /// Forget all past input (history back to zeros, like lfilter's zero initial state).
  void Reset() {
    std::fill(buffer_.begin(), buffer_.begin() + history_, T(0));
    filled_ = history_;
  }

  size_t history() const { return history_; }

 private:
  size_t history_;
  std::vector<T, CacheLineAllocator<T>> buffer_;
  size_t filled_ = 0;
};

}  // namespace arrowdaq::dsp::internal
