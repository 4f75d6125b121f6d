// FirFilter<T>: streaming FIR filter (convolution with carried state) for float64 and float32
// samples: direct form (SIMD via Highway runtime dispatch) for short filters, FFT overlap-save
// (FFTW) for long ones, chosen from the tap count. Filtering a signal in any split of batches
// gives the output of filtering it whole (bit for bit on the direct form, to rounding on the FFT
// path), equal to scipy.signal.lfilter(taps, 1, x) with zero initial state. The filter owns its
// taps and its buffers (and FFTW plans, made once in Make); callers lend input and output spans.
// Not thread-safe: one thread at a time per instance (instances are independent, also on
// different threads at once: FFTW planning is serialised inside).
#pragma once

#include <cstddef>
#include <span>
#include <vector>

#include <memory>

#include "arrowdaq/core/status.h"
#include "arrowdaq/dsp/fft_overlap_save_internal.h"
#include "arrowdaq/dsp/streaming_window_internal.h"

namespace arrowdaq::dsp {

/// How a FirFilter computes its outputs.
enum class FirMethod {
  kAuto,    ///< kFft from kFirFftCrossoverTaps taps up to 2^20, kDirect otherwise
  kDirect,  ///< direct form (SIMD dot products); bitwise split-invariant
  kFft,     ///< FFT overlap-save (FFTW, float64 arithmetic); at most 2^20 taps
};

/// Tap count from which kAuto picks the FFT path. Measured on the EPYC (Zen 4) of
/// docs/performance.md with batches of 2^20 samples (bench/dsp_fir_benchmark.cc, BM_FirF64 against
/// BM_FirFftF64): equal speed at 128 taps (about 225 MS/s each), FFT 2x faster at 256.
inline constexpr size_t kFirFftCrossoverTaps = 192;

struct FirFilterOptions {
  FirMethod method = FirMethod::kAuto;
  /// FFT size of the kFft path (a power of two >= 2 x taps); 0 picks it from the tap count.
  size_t fft_size = 0;
  /// FFTW planning effort of the kFft path (kMeasure: fastest transforms, slow first Make).
  internal::FftPlanning fft_planning = internal::FftPlanning::kMeasure;
};

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
  /// non-finite value, or if `options` ask for the FFT path with more than 2^20 taps or a bad
  /// FFT size.
  [[nodiscard]] static Result<FirFilter> Make(std::vector<double> taps,
                                              const FirFilterOptions& options = {});

  /// Filter one batch. `out.size()` must equal `in.size()` (checked; a mismatch aborts, it is
  /// a programming error). `in` and `out` may alias exactly (in-place) but must not partially
  /// overlap. Direct form: allocates only while the internal scratch grows to min(batch, 8192)
  /// samples; FFT path: never (buffers made in Make).
  void Process(std::span<const T> in, std::span<T> out);

  /// Forget the signal seen so far (back to zero initial state).
  void Reset() {
    window_.Reset();
    if (fft_) fft_->Reset();
  }

  /// kDirect or kFft: the method this filter uses.
  FirMethod method() const { return fft_ ? FirMethod::kFft : FirMethod::kDirect; }
  /// FFT size of the kFft path (0 on the direct form).
  size_t fft_size() const { return fft_ ? fft_->fft_size() : 0; }

  /// Taps in the order given to Make (rounded to T).
  std::vector<T> taps() const { return {rtaps_.rbegin(), rtaps_.rend()}; }
  size_t num_taps() const { return rtaps_.size(); }

 private:
  FirFilter(std::vector<T> rtaps, std::unique_ptr<internal::FftOverlapSave<T>> fft)
      : rtaps_(std::move(rtaps)),
        window_(fft ? 0 : rtaps_.size() - 1),
        fft_(std::move(fft)) {}

  std::vector<T> rtaps_;  // reversed taps: rtaps_[j] multiplies the j-th oldest sample
  internal::StreamingWindow<T> window_;  // direct form only
  std::unique_ptr<internal::FftOverlapSave<T>> fft_;  // FFT path, or null
};

extern template class FirFilter<double>;
extern template class FirFilter<float>;

}  // namespace arrowdaq::dsp
