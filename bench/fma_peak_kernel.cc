// Register-only FMA loop used by dsp_fir_benchmark to measure this core's achievable FMA
// throughput with the same SIMD target the FIR kernels dispatch to. Compiled once per target by
// Highway's foreach_target.h. Stateless; any thread.
#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "fma_peak_kernel.cc"
#include "fma_peak_kernel.h"

#include "hwy/foreach_target.h"  // IWYU pragma: keep
#include "hwy/highway.h"

HWY_BEFORE_NAMESPACE();
namespace arrowdaq::bench::HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

// 16 independent accumulator chains hide the FMA latency (4 cycles x 2 ports needs >= 8).
template <typename T>
HWY_NOINLINE T FmaLoop(size_t iters, size_t* flops_per_iter) {
  const hn::ScalableTag<T> d;
  const auto k = hn::Set(d, T(0.999));
  const auto c = hn::Set(d, T(0.001));
  // Every chain starts from a different value: chains with equal starting values compute equal
  // results, and the compiler merges them (it did: 16 chains became 4, so the loop ran at the
  // FMA latency with a quarter of the counted FMAs, and the "peak" was overstated).
  auto a0 = hn::Set(d, T(1)), a1 = hn::Set(d, T(2)), a2 = hn::Set(d, T(3)), a3 = hn::Set(d, T(4));
  auto a4 = hn::Set(d, T(5)), a5 = hn::Set(d, T(6)), a6 = hn::Set(d, T(7)), a7 = hn::Set(d, T(8));
  auto a8 = hn::Set(d, T(9)), a9 = hn::Set(d, T(10)), a10 = hn::Set(d, T(11));
  auto a11 = hn::Set(d, T(12)), a12 = hn::Set(d, T(13)), a13 = hn::Set(d, T(14));
  auto a14 = hn::Set(d, T(15)), a15 = hn::Set(d, T(16));
  for (size_t i = 0; i < iters; ++i) {
    a0 = hn::MulAdd(a0, k, c);
    a1 = hn::MulAdd(a1, k, c);
    a2 = hn::MulAdd(a2, k, c);
    a3 = hn::MulAdd(a3, k, c);
    a4 = hn::MulAdd(a4, k, c);
    a5 = hn::MulAdd(a5, k, c);
    a6 = hn::MulAdd(a6, k, c);
    a7 = hn::MulAdd(a7, k, c);
    a8 = hn::MulAdd(a8, k, c);
    a9 = hn::MulAdd(a9, k, c);
    a10 = hn::MulAdd(a10, k, c);
    a11 = hn::MulAdd(a11, k, c);
    a12 = hn::MulAdd(a12, k, c);
    a13 = hn::MulAdd(a13, k, c);
    a14 = hn::MulAdd(a14, k, c);
    a15 = hn::MulAdd(a15, k, c);
  }
  *flops_per_iter = 16 * 2 * hn::Lanes(d);
  auto s =
      hn::Add(hn::Add(hn::Add(a0, a1), hn::Add(a2, a3)), hn::Add(hn::Add(a4, a5), hn::Add(a6, a7)));
  s = hn::Add(s, hn::Add(hn::Add(hn::Add(a8, a9), hn::Add(a10, a11)),
                         hn::Add(hn::Add(a12, a13), hn::Add(a14, a15))));
  return hn::GetLane(s);
}

double FmaPeakF64(size_t iters, size_t* flops_per_iter) {
  return FmaLoop<double>(iters, flops_per_iter);
}
double FmaPeakF32(size_t iters, size_t* flops_per_iter) {
  return FmaLoop<float>(iters, flops_per_iter);
}
const char* PeakTargetName() { return hwy::TargetName(HWY_TARGET); }

}  // namespace arrowdaq::bench::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace arrowdaq::bench {
HWY_EXPORT(FmaPeakF64);
HWY_EXPORT(FmaPeakF32);
HWY_EXPORT(PeakTargetName);

double FmaPeakLoop(bool f64, size_t iters, size_t* flops_per_iter) {
  return f64 ? HWY_DYNAMIC_DISPATCH(FmaPeakF64)(iters, flops_per_iter)
             : HWY_DYNAMIC_DISPATCH(FmaPeakF32)(iters, flops_per_iter);
}
const char* FmaPeakTargetName() { return HWY_DYNAMIC_DISPATCH(PeakTargetName)(); }
}  // namespace arrowdaq::bench
#endif  // HWY_ONCE
