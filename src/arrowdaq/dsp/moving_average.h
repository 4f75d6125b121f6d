// MovingAverage<T>: streaming boxcar mean over the last N samples, equal to
// lfilter(ones(N) / N, 1, x) with zero initial state (so the first N - 1 outputs average in
// zeros). Built on FirFilter, so NaN/inf propagate exactly as in lfilter (a running sum would
// keep a NaN forever) at O(N) SIMD work per sample. Not thread-safe (one thread per instance).
#pragma once

#include <span>

#include "arrowdaq/core/status.h"
#include "arrowdaq/dsp/fir_filter.h"

namespace arrowdaq::dsp {

template <typename T>
class MovingAverage {
 public:
  /// Average over `window` >= 1 samples.
  [[nodiscard]] static Result<MovingAverage> Make(int window);

  /// Same contract as FirFilter::Process (out.size() == in.size(), aborts otherwise).
  void Process(std::span<const T> in, std::span<T> out) { fir_.Process(in, out); }
  void Reset() { fir_.Reset(); }
  int window() const { return static_cast<int>(fir_.num_taps()); }

 private:
  explicit MovingAverage(FirFilter<T> fir) : fir_(std::move(fir)) {}
  FirFilter<T> fir_;
};

extern template class MovingAverage<double>;
extern template class MovingAverage<float>;

}  // namespace arrowdaq::dsp
