// Decimator<T>: streaming integer-factor decimation with an anti-alias FIR, float64 or float32.
// Output equals lfilter(taps, 1, x)[::q] of the whole signal whatever the batch split: the
// filter state and the decimation phase are carried across batches, and only the kept outputs
// are computed. Owns its taps and scratch; not thread-safe (one thread at a time per instance).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "arrowdaq/core/status.h"
#include "arrowdaq/dsp/streaming_window_internal.h"

namespace arrowdaq::dsp {

template <typename T>
class Decimator {
 public:
  /// Decimate by `q` >= 2 with scipy.signal.decimate's default FIR
  /// (firwin(20 * q + 1, 1 / q, window='hamming'), see DecimateDefaultTaps).
  [[nodiscard]] static Result<Decimator> Make(int q);
  /// Decimate by `q` >= 1 with the given anti-alias taps (non-empty, finite).
  [[nodiscard]] static Result<Decimator> Make(int q, std::vector<double> taps);

  /// Number of outputs the next Process call produces for a batch of `n` input samples.
  size_t OutputSize(size_t n) const {
    return n > phase_ ? (n - phase_ + factor_ - 1) / factor_ : 0;
  }

  /// Filter and decimate one batch; writes OutputSize(in.size()) samples to the front of `out`
  /// and returns that count. Fails (writing nothing, state unchanged) if `out` is too small.
  [[nodiscard]] Result<size_t> Process(std::span<const T> in, std::span<T> out);

  /// Forget the signal seen so far; the next input sample is index 0 again (kept).
  void Reset() {
    window_.Reset();
    phase_ = 0;
  }

  int factor() const { return static_cast<int>(factor_); }
  std::vector<T> taps() const { return {rtaps_.rbegin(), rtaps_.rend()}; }

 private:
  Decimator(size_t factor, std::vector<T> rtaps)
      : factor_(factor), rtaps_(std::move(rtaps)), window_(rtaps_.size() - 1) {}

  size_t factor_;
  std::vector<T> rtaps_;
  internal::StreamingWindow<T> window_;
  size_t phase_ = 0;  // offset of the next kept sample in the next batch, in [0, factor_)
};

extern template class Decimator<double>;
extern template class Decimator<float>;

}  // namespace arrowdaq::dsp
