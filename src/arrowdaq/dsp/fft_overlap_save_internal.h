// FftOverlapSave: the FFT path of FirFilter for long filters (overlap-save with FFTW, float64
// arithmetic for both float64 and float32 samples). Internal to arrowdaq_dsp. Owned by one
// FirFilter; not thread-safe per instance (one thread at a time, like its owner). Instances may
// run on different threads at once: FFTW's execute is thread-safe on distinct plans, and plan
// creation and destruction (FFTW's planner is not thread-safe) are serialised by a process-wide
// mutex in fft_overlap_save.cc.
#pragma once

#include <cstddef>
#include <memory>
#include <span>
#include <vector>

#include "arrowdaq/core/status.h"

namespace arrowdaq::dsp::internal {

/// Largest filter the FFT path takes: its buffers cost about 32 x 2 x nextpow2(taps) bytes
/// (64 MiB at 2^20 taps), longer filters stay on the direct form (whose cost per sample is then
/// prohibitive anyway).
inline constexpr size_t kFftMaxTaps = size_t{1} << 20;

/// How much effort FFTW spends choosing its algorithm when a filter is made.
enum class FftPlanning {
  kMeasure,   ///< FFTW_MEASURE up to 2^16 points (8192 taps), FFTW_ESTIMATE above: times
              ///< candidates, about 1-3 s per new size and process on the EPYC of
              ///< docs/performance.md (later filters of that size reuse the result)
  kEstimate,  ///< FFTW_ESTIMATE: instant, transforms of 8192 points and more up to 2x slower
};

template <typename T>
class FftOverlapSave {
 public:
  /// Plans the transforms for `taps` (b coefficients, b[0] applies to the newest sample); the
  /// FFT size is chosen from the tap count (see fft_overlap_save.cc) unless `fft_size` != 0
  /// (a power of two >= 2 * taps, for the benchmarks).
  [[nodiscard]] static Result<std::unique_ptr<FftOverlapSave>> Make(
      const std::vector<double>& taps, size_t fft_size, FftPlanning planning);
  ~FftOverlapSave();
  FftOverlapSave(const FftOverlapSave&) = delete;
  FftOverlapSave& operator=(const FftOverlapSave&) = delete;

  /// Same contract as FirFilter::Process (sizes already checked; exact aliasing allowed).
  void Process(std::span<const T> in, std::span<T> out);
  void Reset();

  size_t fft_size() const { return n_; }
  /// New samples per full block (fft_size - taps + 1).
  size_t block() const { return block_; }

 private:
  struct Plans;
  FftOverlapSave(size_t num_taps, size_t n);
  // Filters the `n` samples just copied after the history in window `w` into `out` (the FFT
  // destroys `w`).
  void FilterBlock(double* w, size_t n, T* out);

  size_t m_;       // taps
  size_t n_;       // FFT size
  size_t block_;   // n_ - m_ + 1
  std::vector<double> rtaps_;  // reversed taps, for the direct kernel on short or non-finite blocks
  // Two windows [m_ - 1 history | block | zeros] of n_ + kFirPadding samples, FFTW-aligned, used
  // in turn: the next block's history is copied out of the current window before the forward
  // transform destroys it (which lets FFTW skip a copy of its own).
  double* bufs_[2] = {nullptr, nullptr};
  int cur_ = 0;
  double* res_ = nullptr;      // inverse transform, n_
  double* spec_ = nullptr;     // fftw_complex[n_ / 2 + 1] (interleaved re, im)
  std::vector<double> h_re_dup_;     // spectrum of the taps / n_: (re, re) pairs
  std::vector<double> h_im_signed_;  // and (-im, +im) pairs
  std::unique_ptr<Plans> plans_;
  // Absolute index (in samples since construction or Reset) one past the most recent non-finite
  // input, and of the next input: a window holding a NaN or inf goes through the direct kernel,
  // so that it poisons exactly the outputs it does in lfilter, not a whole FFT block.
  size_t nonfinite_end_ = 0;
  size_t seen_ = 0;
};

extern template class FftOverlapSave<double>;
extern template class FftOverlapSave<float>;

}  // namespace arrowdaq::dsp::internal
