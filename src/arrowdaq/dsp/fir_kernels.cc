// FIR inner kernels, compiled once per SIMD target by Highway's foreach_target.h and dispatched
// at run time. See fir_kernels_internal.h for the contracts.
//
// FirValid register-blocks the outputs: kUnroll accumulator vectors cover kUnroll * Lanes
// consecutive outputs; for every tap one broadcast feeds kUnroll FMAs whose inputs are unaligned
// loads from the contiguous [history | input] buffer. Only the taps that exist are applied (no
// zero padding), so a NaN or inf reaches exactly the outputs whose window contains it.

#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "arrowdaq/dsp/fir_kernels.cc"
#include "arrowdaq/dsp/fir_kernels_internal.h"
#include "hwy/foreach_target.h"  // IWYU pragma: keep
#include "hwy/highway.h"

HWY_BEFORE_NAMESPACE();
namespace arrowdaq::dsp::HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

// Adds the taps past the last whole vector to a reduced dot product.
template <typename T>
HWY_INLINE T AddTailTaps(T acc, const T* HWY_RESTRICT s, const T* HWY_RESTRICT rtaps, size_t from,
                         size_t num_taps) {
  for (size_t j = from; j < num_taps; ++j) acc += rtaps[j] * s[j];
  return acc;
}

// One strided output; the 4-output loop below performs exactly these operations per output.
template <class D, typename T>
HWY_INLINE T DotOne(D d, const T* HWY_RESTRICT s, const T* HWY_RESTRICT rtaps, size_t vec_taps,
                    size_t num_taps) {
  const size_t lanes = hn::Lanes(d);
  auto a = hn::Zero(d);
  for (size_t j = 0; j < vec_taps; j += lanes) {
    a = hn::MulAdd(hn::LoadU(d, rtaps + j), hn::LoadU(d, s + j), a);
  }
  return AddTailTaps(hn::GetLane(hn::SumOfLanes(d, a)), s, rtaps, vec_taps, num_taps);
}

template <typename T>
HWY_NOINLINE void FirValidImpl(const T* HWY_RESTRICT s, size_t n_out, const T* HWY_RESTRICT rtaps,
                               size_t num_taps, T* HWY_RESTRICT y) {
  const hn::ScalableTag<T> d;
  const size_t lanes = hn::Lanes(d);
  constexpr size_t kUnroll = 8;
  size_t i = 0;
  for (; i + kUnroll * lanes <= n_out; i += kUnroll * lanes) {
    const T* HWY_RESTRICT p = s + i;
    auto a0 = hn::Zero(d), a1 = hn::Zero(d), a2 = hn::Zero(d), a3 = hn::Zero(d);
    auto a4 = hn::Zero(d), a5 = hn::Zero(d), a6 = hn::Zero(d), a7 = hn::Zero(d);
    for (size_t j = 0; j < num_taps; ++j, ++p) {
      const auto t = hn::Set(d, rtaps[j]);
      a0 = hn::MulAdd(t, hn::LoadU(d, p + 0 * lanes), a0);
      a1 = hn::MulAdd(t, hn::LoadU(d, p + 1 * lanes), a1);
      a2 = hn::MulAdd(t, hn::LoadU(d, p + 2 * lanes), a2);
      a3 = hn::MulAdd(t, hn::LoadU(d, p + 3 * lanes), a3);
      a4 = hn::MulAdd(t, hn::LoadU(d, p + 4 * lanes), a4);
      a5 = hn::MulAdd(t, hn::LoadU(d, p + 5 * lanes), a5);
      a6 = hn::MulAdd(t, hn::LoadU(d, p + 6 * lanes), a6);
      a7 = hn::MulAdd(t, hn::LoadU(d, p + 7 * lanes), a7);
    }
    hn::StoreU(a0, d, y + i + 0 * lanes);
    hn::StoreU(a1, d, y + i + 1 * lanes);
    hn::StoreU(a2, d, y + i + 2 * lanes);
    hn::StoreU(a3, d, y + i + 3 * lanes);
    hn::StoreU(a4, d, y + i + 4 * lanes);
    hn::StoreU(a5, d, y + i + 5 * lanes);
    hn::StoreU(a6, d, y + i + 6 * lanes);
    hn::StoreU(a7, d, y + i + 7 * lanes);
  }
  for (; i + lanes <= n_out; i += lanes) {
    auto a = hn::Zero(d);
    for (size_t j = 0; j < num_taps; ++j) {
      a = hn::MulAdd(hn::Set(d, rtaps[j]), hn::LoadU(d, s + i + j), a);
    }
    hn::StoreU(a, d, y + i);
  }
  if (i < n_out) {
    // Partial last vector: same arithmetic as above (so results do not depend on where a batch
    // boundary falls), reading into the kernel padding; only the valid lanes are kept.
    HWY_ALIGN T tmp[HWY_MAX_BYTES / sizeof(T)];
    auto a = hn::Zero(d);
    for (size_t j = 0; j < num_taps; ++j) {
      a = hn::MulAdd(hn::Set(d, rtaps[j]), hn::LoadU(d, s + i + j), a);
    }
    hn::Store(a, d, tmp);
    for (size_t l = 0; i + l < n_out; ++l) y[i + l] = tmp[l];
  }
}

// Strided outputs cannot share input vectors, so this one vectorises along the taps instead:
// four outputs at a time share each tap-vector load, then reduce horizontally.
template <typename T>
HWY_NOINLINE void FirValidStridedImpl(const T* HWY_RESTRICT s, size_t n_out, size_t stride,
                                      const T* HWY_RESTRICT rtaps, size_t num_taps,
                                      T* HWY_RESTRICT y) {
  const hn::ScalableTag<T> d;
  const size_t lanes = hn::Lanes(d);
  const size_t vec_taps = num_taps - num_taps % lanes;
  size_t k = 0;
  for (; k + 4 <= n_out; k += 4) {
    const T* HWY_RESTRICT p0 = s + (k + 0) * stride;
    const T* HWY_RESTRICT p1 = s + (k + 1) * stride;
    const T* HWY_RESTRICT p2 = s + (k + 2) * stride;
    const T* HWY_RESTRICT p3 = s + (k + 3) * stride;
    auto a0 = hn::Zero(d), a1 = hn::Zero(d), a2 = hn::Zero(d), a3 = hn::Zero(d);
    for (size_t j = 0; j < vec_taps; j += lanes) {
      const auto t = hn::LoadU(d, rtaps + j);
      a0 = hn::MulAdd(t, hn::LoadU(d, p0 + j), a0);
      a1 = hn::MulAdd(t, hn::LoadU(d, p1 + j), a1);
      a2 = hn::MulAdd(t, hn::LoadU(d, p2 + j), a2);
      a3 = hn::MulAdd(t, hn::LoadU(d, p3 + j), a3);
    }
    y[k + 0] = AddTailTaps(hn::GetLane(hn::SumOfLanes(d, a0)), p0, rtaps, vec_taps, num_taps);
    y[k + 1] = AddTailTaps(hn::GetLane(hn::SumOfLanes(d, a1)), p1, rtaps, vec_taps, num_taps);
    y[k + 2] = AddTailTaps(hn::GetLane(hn::SumOfLanes(d, a2)), p2, rtaps, vec_taps, num_taps);
    y[k + 3] = AddTailTaps(hn::GetLane(hn::SumOfLanes(d, a3)), p3, rtaps, vec_taps, num_taps);
  }
  for (; k < n_out; ++k) y[k] = DotOne(d, s + k * stride, rtaps, vec_taps, num_taps);
}

void FirValidF64(const double* s, size_t n_out, const double* rtaps, size_t num_taps, double* y) {
  FirValidImpl(s, n_out, rtaps, num_taps, y);
}
void FirValidF32(const float* s, size_t n_out, const float* rtaps, size_t num_taps, float* y) {
  FirValidImpl(s, n_out, rtaps, num_taps, y);
}
void FirValidStridedF64(const double* s, size_t n_out, size_t stride, const double* rtaps,
                        size_t num_taps, double* y) {
  FirValidStridedImpl(s, n_out, stride, rtaps, num_taps, y);
}
void FirValidStridedF32(const float* s, size_t n_out, size_t stride, const float* rtaps,
                        size_t num_taps, float* y) {
  FirValidStridedImpl(s, n_out, stride, rtaps, num_taps, y);
}
const char* TargetNameHere() { return hwy::TargetName(HWY_TARGET); }

}  // namespace arrowdaq::dsp::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace arrowdaq::dsp::internal {

HWY_EXPORT(FirValidF64);
HWY_EXPORT(FirValidF32);
HWY_EXPORT(FirValidStridedF64);
HWY_EXPORT(FirValidStridedF32);
HWY_EXPORT(TargetNameHere);

void FirValid(const double* s, size_t n_out, const double* rtaps, size_t num_taps, double* y) {
  HWY_DYNAMIC_DISPATCH(FirValidF64)(s, n_out, rtaps, num_taps, y);
}
void FirValid(const float* s, size_t n_out, const float* rtaps, size_t num_taps, float* y) {
  HWY_DYNAMIC_DISPATCH(FirValidF32)(s, n_out, rtaps, num_taps, y);
}
void FirValidStrided(const double* s, size_t n_out, size_t stride, const double* rtaps,
                     size_t num_taps, double* y) {
  HWY_DYNAMIC_DISPATCH(FirValidStridedF64)(s, n_out, stride, rtaps, num_taps, y);
}
void FirValidStrided(const float* s, size_t n_out, size_t stride, const float* rtaps,
                     size_t num_taps, float* y) {
  HWY_DYNAMIC_DISPATCH(FirValidStridedF32)(s, n_out, stride, rtaps, num_taps, y);
}
const char* FirTargetName() { return HWY_DYNAMIC_DISPATCH(TargetNameHere)(); }

}  // namespace arrowdaq::dsp::internal
#endif  // HWY_ONCE
