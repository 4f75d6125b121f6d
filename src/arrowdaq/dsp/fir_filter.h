// FirFilter<T>: streaming FIR filter (convolution with carried state) for float64 and float32
// samples, SIMD via Highway runtime dispatch. Filtering a signal in any split of batches gives
// the output of filtering it whole, equal to scipy.signal.lfilter(taps, 1, x) with zero initial
// state. The filter owns its taps and its scratch buffer; callers lend input and output spans.
// Not thread-safe: one thread at a time per instance (instances are independent).
#pragma once

#include <cstddef>
#include <span>
#include <vector>

#include "arrowdaq/core/status.h"
#include "arrowdaq/dsp/streaming_window_internal.h"

namespace arrowdaq::dsp {

/// \brief Streaming direct-form FIR filter y[n] = sum_k taps[k] * x[n - k].
///
/// NaN and inf propagate as in lfilter: a non-finite input at index i affects exactly the
/// outputs i .. i + taps - 1. Accumulation order differs from lfilter's, so results agree to
/// rounding (see docs/dsp.md for measured bounds), not bit for bit.
template <typename T>
class FirFilter {
 public:
  /// Create a filter from its taps (b coefficients, b[0] applies to the newest sample).
  /// float filters store the taps rounded to float. Fails if `taps` is empty or holds a
  /// non-finite value.
  [[nodiscard]] static Result<FirFilter> Make(std::vector<double> taps);

  /// Filter one batch. `out.size()` must equal `in.size()` (checked; a mismatch aborts, it is
  /// a programming error). `in` and `out` may alias exactly (in-place) but must not partially
  /// overlap. Allocates only while the internal scratch grows to min(batch, 8192) samples.
  void Process(std::span<const T> in, std::span<T> out);

  /// Forget the signal seen so far (back to zero initial state).
  void Reset() { window_.Reset(); }

  /// Taps in the order given to Make (rounded to T).
  std::vector<T> taps() const { return {rtaps_.rbegin(), rtaps_.rend()}; }
  size_t num_taps() const { return rtaps_.size(); }

 private:
  explicit FirFilter(std::vector<T> rtaps) : rtaps_(std::move(rtaps)), window_(rtaps_.size() - 1) {}

  std::vector<T> rtaps_;  // reversed taps: rtaps_[j] multiplies the j-th oldest sample
  internal::StreamingWindow<T> window_;
};

extern template class FirFilter<double>;
extern template class FirFilter<float>;

}  // namespace arrowdaq::dsp
