// FIR inner kernels, compiled once per SIMD target by Highway's foreach_target.h and dispatched
// at run time. See fir_kernels_internal.h for the contracts.
//
// FirValid computes kOutVecs output vectors at a time (y[i .. i + kOutVecs * L), L = lanes) with
// "outer product" register blocking. Output vector j needs, for tap k, the input vector at
// s + i + j*L + k. Writing k = r + p*L (residue r < L, tap group p), the vector loaded at
// s + i + m*L + r serves every (j, p) with j + p = m: one load feeds up to kTapBlock FMAs, each
// with a different tap broadcast held in a register. Per block of kTapBlock tap groups this costs
// kOutVecs + kTapBlock - 1 vector loads and kTapBlock broadcasts for kOutVecs * kTapBlock FMAs,
// instead of one load per FMA. Loads at r != 0 straddle a cache line (the buffers are 64-byte
// aligned), and this core sustains only about one such load per 2.5 cycles, so the number of
// FMAs per load decides the speed: with 8 tap groups per block (>= 64 taps in float64) the loop
// runs at 85-95 % of the FMA peak, with 2 (16 taps) at about 48 %. Filters too short for
// kTapBlock tap groups at the full width therefore run at half the width on AVX-512 targets
// (256-bit vectors, twice the tap groups per residue, and only every other load crosses a line):
// float64 16 taps reaches about 80 % there. Building the shifted vectors
// with two-source permutes (vpermt2pd) from aligned loads instead was measured slower at every
// tap count on this machine, so it is not used.
//
// Every output accumulates its taps in the same fixed order (residue r ascending, then tap group
// p ascending), starting from zero, whichever path computes it (block of kOutVecs vectors, single
// vector, partial last vector): results are bitwise independent of where batch boundaries fall.
// Only the taps that exist are applied (no zero padding), so a NaN or inf reaches exactly the
// outputs whose window contains it.

#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "arrowdaq/dsp/fir_kernels.cc"
#include "arrowdaq/dsp/fir_kernels_internal.h"
#include "hwy/foreach_target.h"  // IWYU pragma: keep
#include "hwy/highway.h"

#include <cmath>
#include <type_traits>

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

// Register budget per target: accumulators + tap broadcasts + 1-2 input vectors must fit in the
// vector registers (32 on AVX-512, 16 otherwise). kOutVecs = 12 also leaves slack over the 8
// independent chains that 2 FMA ports x 4 cycles of latency need.
#if HWY_ARCH_X86 && HWY_TARGET <= HWY_AVX3
constexpr size_t kOutVecs = 12;
constexpr size_t kTapBlock = 8;
#else
constexpr size_t kOutVecs = 6;
constexpr size_t kTapBlock = 4;
#endif

#if HWY_ARCH_X86 && HWY_TARGET <= HWY_AVX3
// Filters with fewer than kTapBlock tap groups per residue at 512 bits (float64: < 64 taps) use
// 256-bit vectors: each residue then has twice as many tap groups, so each (mostly line-crossing)
// unaligned load feeds about twice as many FMAs. On cores that execute a 512-bit FMA as two
// 256-bit halves (AMD Zen 4) the FMA peak is the same at both widths; measured on the EPYC of
// docs/performance.md, float64 16 taps went from 0.48 to 0.78 of the FMA peak.
template <typename T>
HWY_INLINE bool UseHalfWidth(size_t num_taps) {
  return num_taps < kTapBlock * hn::Lanes(hn::ScalableTag<T>());
}
#endif

// acc[j] += sum_{q < kQ} taps[q * L] * x[(j + q) * L ...], for q ascending in every acc[j]:
// the vector loaded at x + m * L is used by all (j, q) with j + q = m while it is in a register.
template <size_t kJ, size_t kQ, class D, typename T, class V>
HWY_INLINE void ApplyTapBlock(D d, const T* HWY_RESTRICT x, const T* HWY_RESTRICT taps,
                              V (&acc)[kJ]) {
  const size_t lanes = hn::Lanes(d);
  V t[kQ];
#pragma GCC unroll 16
  for (size_t q = 0; q < kQ; ++q) t[q] = hn::Set(d, taps[q * lanes]);
#pragma GCC unroll 32
  for (size_t m = 0; m + 1 < kJ + kQ; ++m) {
    const V v = hn::LoadU(d, x + m * lanes);
#pragma GCC unroll 16
    for (size_t q = 0; q < kQ; ++q) {
      if (q <= m && m - q < kJ) acc[m - q] = hn::MulAdd(t[q], v, acc[m - q]);
    }
  }
}

// kJ consecutive output vectors starting at y (inputs from s), all taps in the fixed order.
template <size_t kJ, class D, typename T>
HWY_INLINE void FirOutputBlock(D d, const T* HWY_RESTRICT s, const T* HWY_RESTRICT rtaps,
                               size_t num_taps, T* HWY_RESTRICT y) {
  using V = hn::Vec<D>;
  const size_t lanes = hn::Lanes(d);
  V acc[kJ];
#pragma GCC unroll 16
  for (size_t j = 0; j < kJ; ++j) acc[j] = hn::Zero(d);
  const size_t residues = HWY_MIN(lanes, num_taps);
  for (size_t r = 0; r < residues; ++r) {
    const size_t groups = (num_taps - r + lanes - 1) / lanes;  // taps r, r + L, ... < num_taps
    const T* HWY_RESTRICT x = s + r;
    const T* HWY_RESTRICT taps = rtaps + r;
    size_t p = 0;
    for (; p + kTapBlock <= groups; p += kTapBlock) {
      ApplyTapBlock<kJ, kTapBlock>(d, x + p * lanes, taps + p * lanes, acc);
    }
    if constexpr (kTapBlock > 4) {
      if (p + 4 <= groups) {
        ApplyTapBlock<kJ, 4>(d, x + p * lanes, taps + p * lanes, acc);
        p += 4;
      }
    }
    if (p + 2 <= groups) {
      ApplyTapBlock<kJ, 2>(d, x + p * lanes, taps + p * lanes, acc);
      p += 2;
    }
    if (p < groups) ApplyTapBlock<kJ, 1>(d, x + p * lanes, taps + p * lanes, acc);
  }
#pragma GCC unroll 16
  for (size_t j = 0; j < kJ; ++j) hn::StoreU(acc[j], d, y + j * lanes);
}

// One output vector, with exactly the operations FirOutputBlock applies to each of its vectors.
template <class D, typename T>
HWY_INLINE hn::Vec<D> FirOneVector(D d, const T* HWY_RESTRICT s, const T* HWY_RESTRICT rtaps,
                                   size_t num_taps) {
  const size_t lanes = hn::Lanes(d);
  auto a = hn::Zero(d);
  const size_t residues = HWY_MIN(lanes, num_taps);
  for (size_t r = 0; r < residues; ++r) {
    for (size_t k = r; k < num_taps; k += lanes) {
      a = hn::MulAdd(hn::Set(d, rtaps[k]), hn::LoadU(d, s + k), a);
    }
  }
  return a;
}

// Computes the outputs in whole vectors of `d`; with `partial_tail` also the last partial vector
// (reading into the padding). Returns the number of outputs written.
template <class D, typename T>
HWY_INLINE size_t FirValidWithTag(D d, const T* HWY_RESTRICT s, size_t n_out,
                                  const T* HWY_RESTRICT rtaps, size_t num_taps, T* HWY_RESTRICT y,
                                  bool partial_tail) {
  const size_t lanes = hn::Lanes(d);
  size_t i = 0;
  for (; i + kOutVecs * lanes <= n_out; i += kOutVecs * lanes) {
    FirOutputBlock<kOutVecs>(d, s + i, rtaps, num_taps, y + i);
  }
  for (; i + lanes <= n_out; i += lanes) {
    hn::StoreU(FirOneVector(d, s + i, rtaps, num_taps), d, y + i);
  }
  if (partial_tail && i < n_out) {
    // Partial last vector: same arithmetic (so results do not depend on where a batch boundary
    // falls), reading into the kernel padding; only the valid lanes are kept.
    HWY_ALIGN T tmp[HWY_MAX_BYTES / sizeof(T)];
    hn::Store(FirOneVector(d, s + i, rtaps, num_taps), d, tmp);
    for (size_t l = 0; i + l < n_out; ++l) y[i + l] = tmp[l];
    i = n_out;
  }
  return i;
}

template <typename T>
HWY_NOINLINE size_t FirValidImpl(const T* HWY_RESTRICT s, size_t n_out,
                                 const T* HWY_RESTRICT rtaps, size_t num_taps, T* HWY_RESTRICT y,
                                 bool partial_tail) {
#if HWY_ARCH_X86 && HWY_TARGET <= HWY_AVX3
  if (UseHalfWidth<T>(num_taps)) {
    return FirValidWithTag(hn::Full256<T>(), s, n_out, rtaps, num_taps, y, partial_tail);
  }
#endif
  return FirValidWithTag(hn::ScalableTag<T>(), s, n_out, rtaps, num_taps, y, partial_tail);
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
  FirValidImpl(s, n_out, rtaps, num_taps, y, /*partial_tail=*/true);
}
void FirValidF32(const float* s, size_t n_out, const float* rtaps, size_t num_taps, float* y) {
  FirValidImpl(s, n_out, rtaps, num_taps, y, /*partial_tail=*/true);
}
size_t FirValidWholeVectorsF64(const double* s, size_t n_out, const double* rtaps,
                               size_t num_taps, double* y) {
  return FirValidImpl(s, n_out, rtaps, num_taps, y, /*partial_tail=*/false);
}
size_t FirValidWholeVectorsF32(const float* s, size_t n_out, const float* rtaps, size_t num_taps,
                               float* y) {
  return FirValidImpl(s, n_out, rtaps, num_taps, y, /*partial_tail=*/false);
}
void FirValidStridedF64(const double* s, size_t n_out, size_t stride, const double* rtaps,
                        size_t num_taps, double* y) {
  FirValidStridedImpl(s, n_out, stride, rtaps, num_taps, y);
}
void FirValidStridedF32(const float* s, size_t n_out, size_t stride, const float* rtaps,
                        size_t num_taps, float* y) {
  FirValidStridedImpl(s, n_out, stride, rtaps, num_taps, y);
}
size_t LastNonFiniteEndImpl(const double* HWY_RESTRICT x, size_t n) {
  const hn::ScalableTag<double> d;
  const size_t lanes = hn::Lanes(d);
  size_t i = 0;
  bool any = false;
  for (; i + 4 * lanes <= n && !any; i += 4 * lanes) {
    const auto m = hn::Or(hn::Or(hn::Not(hn::IsFinite(hn::LoadU(d, x + i))),
                                 hn::Not(hn::IsFinite(hn::LoadU(d, x + i + lanes)))),
                          hn::Or(hn::Not(hn::IsFinite(hn::LoadU(d, x + i + 2 * lanes))),
                                 hn::Not(hn::IsFinite(hn::LoadU(d, x + i + 3 * lanes)))));
    any = !hn::AllFalse(d, m);
  }
  if (!any) {
    for (; i < n; ++i) any = any || !std::isfinite(x[i]);
  }
  if (!any) return 0;
  for (size_t j = n; j > 0; --j) {
    if (!std::isfinite(x[j - 1])) return j;
  }
  return 0;
}

template <typename T>
HWY_INLINE bool CopyAllFiniteImpl(const T* HWY_RESTRICT in, double* HWY_RESTRICT out, size_t n) {
  const hn::ScalableTag<double> d;
  const size_t lanes = hn::Lanes(d);
  auto bad = hn::Zero(d);  // NaN in a lane once a non-finite value went through it
  size_t i = 0;
  for (; i + lanes <= n; i += lanes) {
    hn::Vec<decltype(d)> v;
    if constexpr (std::is_same_v<T, double>) {
      v = hn::LoadU(d, in + i);
    } else {
      v = hn::PromoteTo(d, hn::LoadU(hn::Rebind<float, decltype(d)>(), in + i));
    }
    hn::StoreU(v, d, out + i);
    bad = hn::Add(bad, hn::Sub(v, v));  // v - v is 0, or NaN for NaN and inf
  }
  bool all_finite = hn::AllTrue(d, hn::Eq(bad, bad));
  for (; i < n; ++i) {
    out[i] = static_cast<double>(in[i]);
    all_finite = all_finite && std::isfinite(out[i]);
  }
  return all_finite;
}
bool CopyAllFiniteF64(const double* in, double* out, size_t n) {
  return CopyAllFiniteImpl(in, out, n);
}
bool CopyAllFiniteF32(const float* in, double* out, size_t n) {
  return CopyAllFiniteImpl(in, out, n);
}

void ComplexMultiplyImpl(double* HWY_RESTRICT spec, const double* HWY_RESTRICT h_re_dup,
                         const double* HWY_RESTRICT h_im_signed, size_t count) {
  const hn::ScalableTag<double> d;
  const size_t lanes = hn::Lanes(d);
  const size_t n = 2 * count;
  size_t i = 0;
  for (; i + lanes <= n; i += lanes) {
    const auto a = hn::LoadU(d, spec + i);
    const auto swapped = hn::Reverse2(d, a);  // (im, re) pairs
    hn::StoreU(hn::MulAdd(swapped, hn::LoadU(d, h_im_signed + i),
                          hn::Mul(a, hn::LoadU(d, h_re_dup + i))),
               d, spec + i);
  }
  for (; i < n; i += 2) {
    const double re = spec[i], im = spec[i + 1];
    spec[i] = im * h_im_signed[i] + re * h_re_dup[i];
    spec[i + 1] = re * h_im_signed[i + 1] + im * h_re_dup[i + 1];
  }
}

const char* TargetNameHere() { return hwy::TargetName(HWY_TARGET); }

}  // namespace arrowdaq::dsp::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace arrowdaq::dsp::internal {

HWY_EXPORT(FirValidF64);
HWY_EXPORT(FirValidF32);
HWY_EXPORT(FirValidWholeVectorsF64);
HWY_EXPORT(FirValidWholeVectorsF32);
HWY_EXPORT(FirValidStridedF64);
HWY_EXPORT(FirValidStridedF32);
HWY_EXPORT(TargetNameHere);
HWY_EXPORT(LastNonFiniteEndImpl);
HWY_EXPORT(CopyAllFiniteF64);
HWY_EXPORT(CopyAllFiniteF32);
HWY_EXPORT(ComplexMultiplyImpl);

bool CopyToF64AllFinite(const double* in, double* out, size_t n) {
  return HWY_DYNAMIC_DISPATCH(CopyAllFiniteF64)(in, out, n);
}
bool CopyToF64AllFinite(const float* in, double* out, size_t n) {
  return HWY_DYNAMIC_DISPATCH(CopyAllFiniteF32)(in, out, n);
}
void ComplexMultiplyInterleaved(double* spec, const double* h_re_dup, const double* h_im_signed,
                                size_t count) {
  HWY_DYNAMIC_DISPATCH(ComplexMultiplyImpl)(spec, h_re_dup, h_im_signed, count);
}

size_t LastNonFiniteEnd(const double* x, size_t n) {
  return HWY_DYNAMIC_DISPATCH(LastNonFiniteEndImpl)(x, n);
}

void FirValid(const double* s, size_t n_out, const double* rtaps, size_t num_taps, double* y) {
  HWY_DYNAMIC_DISPATCH(FirValidF64)(s, n_out, rtaps, num_taps, y);
}
void FirValid(const float* s, size_t n_out, const float* rtaps, size_t num_taps, float* y) {
  HWY_DYNAMIC_DISPATCH(FirValidF32)(s, n_out, rtaps, num_taps, y);
}
size_t FirValidWholeVectors(const double* s, size_t n_out, const double* rtaps, size_t num_taps,
                            double* y) {
  return HWY_DYNAMIC_DISPATCH(FirValidWholeVectorsF64)(s, n_out, rtaps, num_taps, y);
}
size_t FirValidWholeVectors(const float* s, size_t n_out, const float* rtaps, size_t num_taps,
                            float* y) {
  return HWY_DYNAMIC_DISPATCH(FirValidWholeVectorsF32)(s, n_out, rtaps, num_taps, y);
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
