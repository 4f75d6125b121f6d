#include "arrowdaq/dsp/fir_filter.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <vector>

#include "arrowdaq/dsp/fir_kernels_internal.h"

namespace arrowdaq::dsp {

template <typename T>
Result<FirFilter<T>> FirFilter<T>::Make(std::vector<double> taps) {
  if (taps.empty()) return Status::Invalid("FirFilter: taps must not be empty");
  std::vector<T> rtaps(taps.size());
  for (size_t k = 0; k < taps.size(); ++k) {
    if (!std::isfinite(taps[k])) {
      return Status::Invalid("FirFilter: taps[", k, "] is not finite (", taps[k], ")");
    }
    rtaps[taps.size() - 1 - k] = static_cast<T>(taps[k]);
  }
  return FirFilter(std::move(rtaps));
}

template <typename T>
void FirFilter<T>::Process(std::span<const T> in, std::span<T> out) {
  if (in.size() != out.size()) {
    std::fprintf(stderr, "FirFilter::Process: out.size() %zu != in.size() %zu\n", out.size(),
                 in.size());
    std::abort();
  }
  for (size_t pos = 0; pos < in.size(); pos += internal::kMaxChunk) {
    const size_t n = std::min(internal::kMaxChunk, in.size() - pos);
    const T* s = window_.Append(in.subspan(pos, n));
    internal::FirValid(s, n, rtaps_.data(), rtaps_.size(), out.data() + pos);
    window_.Commit();
  }
}

template class FirFilter<double>;
template class FirFilter<float>;

}  // namespace arrowdaq::dsp
