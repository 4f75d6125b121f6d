// Overlap-save FIR with FFTW. Each block of up to block() new samples is copied after the last
// taps - 1 samples (the history) in buf_; the circular convolution of that window with the taps
// (zero-padded to the FFT size) equals the linear convolution at its last block() positions.
// Outputs are computed per block, blocks follow the batches (a batch's last partial block is a
// block too), so where the batch boundaries fall changes the rounding of the outputs (every
// output stays within a few ulps of sum |b| * max |x| of lfilter's), not their values beyond it;
// see docs/dsp.md. Blocks too short to repay a transform, and windows holding a NaN or inf, go
// through the direct kernel on the same buffer.
#include "arrowdaq/dsp/fft_overlap_save_internal.h"

#include <fftw3.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstring>
#include <mutex>
#include <new>

#include "arrowdaq/dsp/fir_kernels_internal.h"

namespace arrowdaq::dsp::internal {
namespace {

// FFTW's planner (plan creation and destruction) is not thread-safe; fftw_execute on distinct
// plans is. Every planner call of this library holds this mutex.
std::mutex& PlannerMutex() {
  static std::mutex mutex;
  return mutex;
}

constexpr size_t kMaxMeasuredFftSize = size_t{1} << 16;

// FFT size: nextpow2(taps) x 8 up to 2^16 taps (about 7/8 of each transform yields new outputs;
// measured fastest per sample on the EPYC of docs/performance.md at 1024 and 4096 taps), x 2
// above (memory).
size_t ChooseFftSize(size_t taps) {
  const size_t p = std::bit_ceil(taps);
  return p <= (size_t{1} << 16) ? 8 * p : 2 * p;
}

// A block of `n` outputs goes through the direct kernel when its n * taps FMAs cost less than a
// block through the transforms. Measured on the EPYC: the direct kernel does about 25 taps x
// samples per ns, a block of FFT size N costs about 0.35 N log2 N ps (plus copies), so the
// crossing point is n * taps ~= 8 N log2 N; 4 N log2 N keeps a margin for the direct kernel's
// lower rate on short blocks.
bool DirectIsCheaper(size_t n, size_t taps, size_t fft_size) {
  const double n_log_n = static_cast<double>(fft_size) * std::log2(static_cast<double>(fft_size));
  return static_cast<double>(n) * static_cast<double>(taps) < 4.0 * n_log_n;
}

}  // namespace

template <typename T>
struct FftOverlapSave<T>::Plans {
  fftw_plan forward = nullptr;
  fftw_plan inverse = nullptr;
};

template <typename T>
FftOverlapSave<T>::FftOverlapSave(size_t num_taps, size_t n)
    : m_(num_taps), n_(n), block_(n - num_taps + 1), plans_(std::make_unique<Plans>()) {}

template <typename T>
Result<std::unique_ptr<FftOverlapSave<T>>> FftOverlapSave<T>::Make(const std::vector<double>& taps,
                                                                   size_t fft_size,
                                                                   FftPlanning planning) {
  if (taps.empty() || taps.size() > kFftMaxTaps) {
    return Status::Invalid("FirFilter: the FFT path takes 1 to ", kFftMaxTaps, " taps, got ",
                           taps.size());
  }
  if (fft_size == 0) fft_size = ChooseFftSize(taps.size());
  if (!std::has_single_bit(fft_size) || fft_size < 2 * taps.size() ||
      fft_size > 4 * kFftMaxTaps) {
    return Status::Invalid("FirFilter: fft_size must be a power of two in [2 * taps (",
                           2 * taps.size(), "), ", 4 * kFftMaxTaps, "], got ", fft_size);
  }
  std::unique_ptr<FftOverlapSave> f(new FftOverlapSave(taps.size(), fft_size));
  const size_t n = fft_size;
  f->rtaps_.assign(taps.rbegin(), taps.rend());
  f->bufs_[0] = fftw_alloc_real(n + kFirPadding);
  f->bufs_[1] = fftw_alloc_real(n + kFirPadding);
  f->res_ = fftw_alloc_real(n);
  f->spec_ = reinterpret_cast<double*>(fftw_alloc_complex(n / 2 + 1));
  if (f->bufs_[0] == nullptr || f->bufs_[1] == nullptr || f->res_ == nullptr ||
      f->spec_ == nullptr) {
    return Status::OutOfMemory("FirFilter: cannot allocate FFT buffers of ", n, " samples");
  }
  auto* spec = reinterpret_cast<fftw_complex*>(f->spec_);
  {
    // FFTW_MEASURE times candidate algorithms on these arrays (overwriting them), once per size
    // and process: later plans of the same size reuse the accumulated wisdom. Above 2^16 points
    // (filters of more than 8192 taps) measuring would take tens of seconds: estimate.
    const unsigned flags = planning == FftPlanning::kMeasure && n <= kMaxMeasuredFftSize
                               ? FFTW_MEASURE
                               : FFTW_ESTIMATE;
    std::lock_guard<std::mutex> lock(PlannerMutex());
    f->plans_->forward =
        fftw_plan_dft_r2c_1d(static_cast<int>(n), f->bufs_[0], spec, flags | FFTW_DESTROY_INPUT);
    f->plans_->inverse =
        fftw_plan_dft_c2r_1d(static_cast<int>(n), spec, f->res_, flags | FFTW_DESTROY_INPUT);
  }
  if (f->plans_->forward == nullptr || f->plans_->inverse == nullptr) {
    return Status::UnknownError("FirFilter: FFTW could not plan a transform of size ", n);
  }
  // Spectrum of the taps, with FFTW's factor n of forward + inverse folded in.
  std::fill(f->bufs_[0], f->bufs_[0] + n + kFirPadding, 0.0);
  std::copy(taps.begin(), taps.end(), f->bufs_[0]);
  fftw_execute(f->plans_->forward);
  const double scale = 1.0 / static_cast<double>(n);
  f->h_re_dup_.resize(n + 2);
  f->h_im_signed_.resize(n + 2);
  for (size_t k = 0; k <= n / 2; ++k) {
    f->h_re_dup_[2 * k] = f->h_re_dup_[2 * k + 1] = spec[k][0] * scale;
    f->h_im_signed_[2 * k] = -spec[k][1] * scale;
    f->h_im_signed_[2 * k + 1] = spec[k][1] * scale;
  }
  f->Reset();
  return f;
}

template <typename T>
FftOverlapSave<T>::~FftOverlapSave() {
  if (plans_) {
    std::lock_guard<std::mutex> lock(PlannerMutex());
    if (plans_->forward != nullptr) fftw_destroy_plan(plans_->forward);
    if (plans_->inverse != nullptr) fftw_destroy_plan(plans_->inverse);
  }
  fftw_free(bufs_[0]);
  fftw_free(bufs_[1]);
  fftw_free(res_);
  fftw_free(spec_);
}

template <typename T>
void FftOverlapSave<T>::Reset() {
  for (double* b : bufs_) std::fill(b, b + n_ + kFirPadding, 0.0);
  cur_ = 0;
  nonfinite_end_ = 0;
  seen_ = 0;
}

template <typename T>
void FftOverlapSave<T>::FilterBlock(double* w, size_t n, T* out) {
  const size_t h = m_ - 1;
  // The window holds inputs [seen_ - h, seen_ + n); one of them is not finite if the last
  // non-finite input ends after seen_ - h.
  const bool nonfinite = nonfinite_end_ + h > seen_;
  if (nonfinite || DirectIsCheaper(n, m_, n_)) {
    if constexpr (std::is_same_v<T, double>) {
      FirValid(w, n, rtaps_.data(), m_, out);
    } else {
      FirValid(w, n, rtaps_.data(), m_, res_);
      std::copy(res_, res_ + n, out);
    }
    return;
  }
  // The outputs kept never read past w[h + n) (no wrap-around at positions >= h), but a NaN or inf
  // left there by an earlier block would spread over the whole transform: clear the tail.
  if (n < block_) std::fill(w + h + n, w + n_, 0.0);
  auto* spec = reinterpret_cast<fftw_complex*>(spec_);
  fftw_execute_dft_r2c(plans_->forward, w, spec);
  ComplexMultiplyInterleaved(spec_, h_re_dup_.data(), h_im_signed_.data(), n_ / 2 + 1);
  fftw_execute_dft_c2r(plans_->inverse, spec, res_);
  std::copy(res_ + h, res_ + h + n, out);
}

template <typename T>
void FftOverlapSave<T>::Process(std::span<const T> in, std::span<T> out) {
  const size_t h = m_ - 1;
  for (size_t pos = 0; pos < in.size();) {
    const size_t n = std::min(block_, in.size() - pos);
    double* w = bufs_[cur_];
    // Copy the inputs before writing any output: `in` and `out` may be the same buffer.
    if (!CopyToF64AllFinite(in.data() + pos, w + h, n)) {
      nonfinite_end_ = seen_ + LastNonFiniteEnd(w + h, n);
    }
    // The next window's history: the last h samples of this one.
    std::memcpy(bufs_[cur_ ^ 1], w + n, h * sizeof(double));
    FilterBlock(w, n, out.data() + pos);
    seen_ += n;
    cur_ ^= 1;
    pos += n;
  }
}

template class FftOverlapSave<double>;
template class FftOverlapSave<float>;

}  // namespace arrowdaq::dsp::internal
