#include "arrowdaq/dsp/decimator.h"

#include <algorithm>
#include <cmath>

#include "arrowdaq/dsp/fir_design.h"
#include "arrowdaq/dsp/fir_kernels_internal.h"

namespace arrowdaq::dsp {

template <typename T>
Result<Decimator<T>> Decimator<T>::Make(int q) {
  ARROW_ASSIGN_OR_RAISE(auto taps, DecimateDefaultTaps(q));
  return Make(q, std::move(taps));
}

template <typename T>
Result<Decimator<T>> Decimator<T>::Make(int q, std::vector<double> taps) {
  if (q < 1) return Status::Invalid("Decimator: q must be >= 1, got ", q);
  if (taps.empty()) return Status::Invalid("Decimator: taps must not be empty");
  std::vector<T> rtaps(taps.size());
  for (size_t k = 0; k < taps.size(); ++k) {
    if (!std::isfinite(taps[k])) {
      return Status::Invalid("Decimator: taps[", k, "] is not finite (", taps[k], ")");
    }
    rtaps[taps.size() - 1 - k] = static_cast<T>(taps[k]);
  }
  return Decimator(static_cast<size_t>(q), std::move(rtaps));
}

template <typename T>
Result<size_t> Decimator<T>::Process(std::span<const T> in, std::span<T> out) {
  const size_t total = OutputSize(in.size());
  if (out.size() < total) {
    return Status::Invalid("Decimator::Process: out holds ", out.size(), " samples, need ", total);
  }
  size_t written = 0;
  for (size_t pos = 0; pos < in.size(); pos += internal::kMaxChunk) {
    const size_t n = std::min(internal::kMaxChunk, in.size() - pos);
    const T* s = window_.Append(in.subspan(pos, n));
    const size_t count = n > phase_ ? (n - phase_ + factor_ - 1) / factor_ : 0;
    // Output for chunk sample i reads s[i .. i + taps - 1].
    internal::FirValidStrided(s + phase_, count, factor_, rtaps_.data(), rtaps_.size(),
                              out.data() + written);
    written += count;
    // Next kept sample: phase_ + count * factor_, relative to the next chunk.
    phase_ = phase_ + count * factor_ - n;
    window_.Commit();
  }
  return written;
}

template class Decimator<double>;
template class Decimator<float>;

}  // namespace arrowdaq::dsp
