#include "arrowdaq/dsp/fir_filter.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <vector>

#include "arrowdaq/dsp/fir_kernels_internal.h"

namespace arrowdaq::dsp {

template <typename T>
Result<FirFilter<T>> FirFilter<T>::Make(std::vector<double> taps,
                                        const FirFilterOptions& options) {
  if (taps.empty()) return Status::Invalid("FirFilter: taps must not be empty");
  std::vector<T> rtaps(taps.size());
  for (size_t k = 0; k < taps.size(); ++k) {
    if (!std::isfinite(taps[k])) {
      return Status::Invalid("FirFilter: taps[", k, "] is not finite (", taps[k], ")");
    }
    rtaps[taps.size() - 1 - k] = static_cast<T>(taps[k]);
  }
  const bool fft = options.method == FirMethod::kFft ||
                   (options.method == FirMethod::kAuto && taps.size() >= kFirFftCrossoverTaps &&
                    taps.size() <= internal::kFftMaxTaps);
  std::unique_ptr<internal::FftOverlapSave<T>> path;
  if (fft) {
    ARROW_ASSIGN_OR_RAISE(path, internal::FftOverlapSave<T>::Make(taps, options.fft_size, options.fft_planning));
  }
  return FirFilter(std::move(rtaps), std::move(path));
}

namespace {

// Filters `in` through the window's contiguous [history | chunk] scratch, chunk by chunk.
template <typename T>
void ProcessThroughWindow(internal::StreamingWindow<T>& window, const std::vector<T>& rtaps,
                          std::span<const T> in, std::span<T> out) {
  for (size_t pos = 0; pos < in.size(); pos += internal::kMaxChunk) {
    const size_t n = std::min(internal::kMaxChunk, in.size() - pos);
    const T* s = window.Append(in.subspan(pos, n));
    internal::FirValid(s, n, rtaps.data(), rtaps.size(), out.data() + pos);
    window.Commit();
  }
}

// Batches at least this much longer than the history read most inputs in place (below).
constexpr size_t kMinDirectOutputs = 256;

}  // namespace

template <typename T>
void FirFilter<T>::Process(std::span<const T> in, std::span<T> out) {
  if (in.size() != out.size()) {
    std::fprintf(stderr, "FirFilter::Process: out.size() %zu != in.size() %zu\n", out.size(),
                 in.size());
    std::abort();
  }
  if (fft_) {
    fft_->Process(in, out);
    return;
  }
  const size_t h = window_.history();
  if (in.data() == out.data() || in.size() < h + kMinDirectOutputs) {
    ProcessThroughWindow(window_, rtaps_, in, out);
    return;
  }
  // Only the first h outputs need the stored history and only the last partial vector needs
  // padding: those go through the scratch window. Every other output reads its h + 1 inputs
  // straight from `in`, which saves copying the batch and lets the input stream into the cache
  // while the FMAs run (64 taps float64: from about 45 % to about 85 % of the FMA peak).
  // All outputs use the same kernel arithmetic, so the result does not depend on which path
  // computed it. In-place calls use the window only: outputs written early would overwrite
  // inputs still needed. The head also takes the few samples up to the next cache line, so that
  // the windows read in place start at a 64-byte boundary like the scratch.
  constexpr size_t kAlign = internal::kScratchAlignment;
  const size_t misalign = reinterpret_cast<uintptr_t>(in.data()) % kAlign;
  const size_t head = h + (misalign == 0 ? 0 : (kAlign - misalign) / sizeof(T));
  ProcessThroughWindow(window_, rtaps_, in.first(head), out.first(head));
  const size_t done =
      head + internal::FirValidWholeVectors(in.data() + head - h, in.size() - head, rtaps_.data(),
                                            rtaps_.size(), out.data() + head);
  window_.SetHistory(in.subspan(done - h, h));
  ProcessThroughWindow(window_, rtaps_, in.subspan(done), out.subspan(done));
}

template class FirFilter<double>;
template class FirFilter<float>;

}  // namespace arrowdaq::dsp
