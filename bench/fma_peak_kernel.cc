// Register-only FMA loop used by dsp_fir_benchmark to measure this core's achievable FMA
// throughput with the same SIMD target the FIR kernels dispatch to. Compiled once per target by
// Highway's foreach_target.h. Stateless; any thread.
#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "fma_peak_kernel.cc"
#include "fma_peak_kernel.h"

#include "hwy/foreach_target.h"  // IWYU pragma: keep
#include "hwy/highway.h"

#if HWY_ONCE
#include <time.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#if defined(__x86_64__)
#include <cpuid.h>
#endif
#endif

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
size_t PeakLanesF64() { return hn::Lanes(hn::ScalableTag<double>()); }

}  // namespace arrowdaq::bench::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace arrowdaq::bench {
HWY_EXPORT(FmaPeakF64);
HWY_EXPORT(FmaPeakF32);
HWY_EXPORT(PeakTargetName);
HWY_EXPORT(PeakLanesF64);

double FmaPeakLoop(bool f64, size_t iters, size_t* flops_per_iter) {
  return f64 ? HWY_DYNAMIC_DISPATCH(FmaPeakF64)(iters, flops_per_iter)
             : HWY_DYNAMIC_DISPATCH(FmaPeakF32)(iters, flops_per_iter);
}
const char* FmaPeakTargetName() { return HWY_DYNAMIC_DISPATCH(PeakTargetName)(); }
size_t FmaPeakLanesF64() { return HWY_DYNAMIC_DISPATCH(PeakLanesF64)(); }

namespace {
double ThreadCpuSeconds() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + 1e-9 * static_cast<double>(ts.tv_nsec);
}
}  // namespace

double MeasureCoreClockHz() {
#if defined(__x86_64__)
  // 32 dependent adds per iteration: the chain takes 32 cycles, the loop counter and branch run
  // beside it. Best of 5 runs of ~10 ms, so an interrupted run does not lower the figure.
  constexpr uint64_t kIters = 1'000'000;
  double best = 0.0;
  for (int rep = 0; rep < 5; ++rep) {
    uint64_t x = 0;
    const double t0 = ThreadCpuSeconds();
    for (uint64_t i = 0; i < kIters; ++i) {
      asm volatile(
          ".rept 32\n\t"
          "add $1, %0\n\t"
          ".endr"
          : "+r"(x));
    }
    const double dt = ThreadCpuSeconds() - t0;
    if (x != 32 * kIters || dt <= 0) return 0.0;
    best = std::max(best, 32.0 * kIters / dt);
  }
  return best;
#else
  return 0.0;
#endif
}

double DocumentedF64FlopsPerCycle(const char** source) {
  *source = "unknown core (not in the table of fma_peak_kernel.cc)";
  double per_cycle = 0.0;
#if defined(__x86_64__)
  unsigned eax = 0, ebx = 0, ecx = 0, edx = 0;
  if (__get_cpuid(0, &eax, &ebx, &ecx, &edx) == 0) return 0.0;
  char vendor[13] = {};
  std::memcpy(vendor, &ebx, 4);
  std::memcpy(vendor + 4, &edx, 4);
  std::memcpy(vendor + 8, &ecx, 4);
  if (__get_cpuid(1, &eax, &ebx, &ecx, &edx) == 0) return 0.0;
  const unsigned base_family = (eax >> 8) & 0xf;
  const unsigned family = base_family == 0xf ? base_family + ((eax >> 20) & 0xff) : base_family;
  const unsigned model = ((eax >> 4) & 0xf) | (base_family == 0xf ? ((eax >> 16) & 0xf) << 4 : 0);
  if (std::strcmp(vendor, "AuthenticAMD") == 0) {
    // AMD's Software Optimization Guides: Zen 2, 3 and 4 have two 256-bit FMA pipes (Zen 4 runs
    // a 512-bit FMA over both, one per cycle), Zen 1 two 128-bit ones, Zen 5 two 512-bit ones.
    if (family == 0x19 || (family == 0x17 && model >= 0x30)) {
      per_cycle = 2 * 4 * 2;
      *source = family == 0x19 && model >= 0x10
                    ? "AMD family 19h (Zen 4): 2 FMA pipes x 256 bits"
                    : "AMD family 17h/19h (Zen 2/3): 2 FMA pipes x 256 bits";
    } else if (family == 0x17) {
      per_cycle = 2 * 2 * 2;
      *source = "AMD family 17h (Zen 1): 2 FMA pipes x 128 bits";
    } else if (family == 0x1a) {
      per_cycle = 2 * 8 * 2;
      *source = "AMD family 1Ah (Zen 5): 2 FMA pipes x 512 bits";
    }
  }
  // Intel cores are left out: their number of 512-bit FMA units differs between SKUs of the same
  // family, so CPUID alone does not give it.
#endif
  // The loop cannot exceed 2 FMA pipes x the vector width of the target it runs with.
  return std::min(per_cycle, 2.0 * 2.0 * static_cast<double>(FmaPeakLanesF64()));
}
}  // namespace arrowdaq::bench
#endif  // HWY_ONCE
