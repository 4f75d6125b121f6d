// Benchmarks of arrowdaq::dsp::FirFilter (16/64/256 taps, 1M samples, float64 and float32) with
// the fraction of this core's FMA peak they reach. The peak is measured in the same binary by
// BM_FmaPeak (register-only FMA chains, same SIMD target) and checked against the documented peak
// (vendor FLOP/cycle x the clock measured in the same run): the fractions divide by the larger
// of the two. Single-threaded.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <bit>
#include <cstdlib>
#include <ctime>
#include <random>
#include <string>
#include <vector>

#include "arrowdaq/dsp/fir_filter.h"
#include "arrowdaq/dsp/fir_kernels_internal.h"
#include "fma_peak_kernel.h"

namespace arrowdaq::bench {
namespace {

constexpr size_t kSamples = 1 << 20;

double ThreadCpuSeconds() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + 1e-9 * static_cast<double>(ts.tv_nsec);
}

// FLOP/s of the register-only FMA loop per second of thread CPU time (the clock Google Benchmark
// uses for the FIR rates): the best of 3 runs of ~15 ms, measured again at every call and
// combined with earlier calls by keeping the maximum, so that a run slowed down by another
// process on a shared core (which would inflate the fraction) is eventually replaced.
double MeasuredPeakFlops(bool f64) {
  static double best[2] = {0.0, 0.0};
  double& slot = best[f64 ? 1 : 0];
  size_t flops_per_iter = 0;
  for (int rep = 0; rep < 3; ++rep) {
    const size_t iters = 1'000'000;
    const double t0 = ThreadCpuSeconds();
    benchmark::DoNotOptimize(FmaPeakLoop(f64, iters, &flops_per_iter));
    const double dt = ThreadCpuSeconds() - t0;
    slot = std::max(slot, static_cast<double>(iters) * flops_per_iter / dt);
  }
  return slot;
}

// The documented peak of this core at the clock it runs at now: FLOP per cycle from the vendor's
// optimisation guide (fma_peak_kernel.cc's table; 0 if the core is not in it) times the clock
// measured with a dependent-add chain. Measured once per process.
double CoreClockHz() {
  static const double clock_hz = MeasureCoreClockHz();
  return clock_hz;
}

double DocumentedPeakFlops(bool f64, const char** source) {
  const double clock_hz = CoreClockHz();
  static const char* src = nullptr;
  static const double per_cycle = DocumentedF64FlopsPerCycle(&src);
  *source = src;
  return per_cycle * (f64 ? 1.0 : 2.0) * clock_hz;
}

// The reference the FIR fractions divide by: the larger of the measured and the documented peak,
// so that a peak loop slowed down by a busy machine cannot make the FIR look better than it is.
double ReferencePeakFlops(bool f64) {
  const char* source = nullptr;
  return std::max(MeasuredPeakFlops(f64), DocumentedPeakFlops(f64, &source));
}

void BM_FmaPeak(benchmark::State& state, bool f64) {
  size_t flops_per_iter = 0;
  const size_t iters = 1'000'000;
  for (auto _ : state) {
    benchmark::DoNotOptimize(FmaPeakLoop(f64, iters, &flops_per_iter));
  }
  const double flops = static_cast<double>(state.iterations()) * iters * flops_per_iter;
  state.counters["FLOPS"] = benchmark::Counter(flops, benchmark::Counter::kIsRate);
  const char* source = nullptr;
  const double documented = DocumentedPeakFlops(f64, &source);
  state.counters["clock_Hz"] = CoreClockHz();
  state.counters["documented_FLOPS"] = documented;
  // The best rate of the loop in this process (MeasuredPeakFlops keeps the maximum over its
  // calls): on a shared machine a single run's rate measures the neighbours as much as the core.
  const double best = MeasuredPeakFlops(f64);
  state.counters["best_FLOPS"] = best;
  if (documented > 0) state.counters["peak_vs_documented"] = best / documented;
  state.SetLabel(std::string(FmaPeakTargetName()) + ", " + source);
}

// `method` kDirect: the direct form (the FMA-peak fractions are about it); kFft: overlap-save
// with the FFT size from `fft_factor` x nextpow2(taps) (0: the filter's own choice).
template <typename T>
void RunFir(benchmark::State& state, dsp::FirMethod method, size_t fft_factor) {
  const size_t taps = static_cast<size_t>(state.range(0));
  std::mt19937 gen(42);
  std::normal_distribution<double> dist;
  std::vector<double> b(taps);
  for (double& v : b) v = dist(gen);
  std::vector<T> x(kSamples), y(kSamples);
  for (T& v : x) v = static_cast<T>(dist(gen));
  dsp::FirFilterOptions options;
  options.method = method;
  options.fft_size = fft_factor == 0 ? 0 : fft_factor * std::bit_ceil(taps);
  auto fir = dsp::FirFilter<T>::Make(b, options);
  if (!fir.ok()) {
    state.SkipWithError(fir.status().ToString().c_str());
    return;
  }
  const double peak = ReferencePeakFlops(sizeof(T) == 8);
  for (auto _ : state) {
    fir->Process(x, y);
    benchmark::DoNotOptimize(y.data());
    benchmark::ClobberMemory();
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * kSamples));
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * kSamples * sizeof(T)));
  // Direct-form FLOPs (2 per tap and sample): on the FFT path an "equivalent" rate.
  const double flops = 2.0 * taps * static_cast<double>(state.iterations()) * kSamples;
  state.counters["FLOPS"] = benchmark::Counter(flops, benchmark::Counter::kIsRate);
  if (fir->method() == dsp::FirMethod::kDirect) {
    // kIsRate divides by the measured time, so flops / peak becomes (achieved FLOP/s) / peak.
    state.counters["peak_FLOPS"] = peak;
    state.counters["fma_peak_fraction"] =
        benchmark::Counter(flops / peak, benchmark::Counter::kIsRate);
    state.SetLabel(dsp::internal::FirTargetName());
  } else {
    state.counters["fft_size"] = static_cast<double>(fir->fft_size());
    state.SetLabel("fft");
  }
}

template <typename T>
void BM_Fir(benchmark::State& state) {
  RunFir<T>(state, dsp::FirMethod::kDirect, 0);
}
void BM_FirFftF64(benchmark::State& state) { RunFir<double>(state, dsp::FirMethod::kFft, 0); }
void BM_FirFftF32(benchmark::State& state) { RunFir<float>(state, dsp::FirMethod::kFft, 0); }
// FFT size against tap count (range(1) x nextpow2(taps)): the evidence for ChooseFftSize.
void BM_FirFftSize(benchmark::State& state) {
  RunFir<double>(state, dsp::FirMethod::kFft, static_cast<size_t>(state.range(1)));
}

BENCHMARK_CAPTURE(BM_FmaPeak, f64, true);
BENCHMARK_CAPTURE(BM_FmaPeak, f32, false);
BENCHMARK_TEMPLATE(BM_Fir, double)
    ->Name("BM_FirF64")
    ->Arg(16)
    ->Arg(64)
    ->Arg(128)
    ->Arg(256)
    ->Arg(512)
    ->Unit(benchmark::kMillisecond);
BENCHMARK_TEMPLATE(BM_Fir, float)
    ->Name("BM_FirF32")
    ->Arg(16)
    ->Arg(64)
    ->Arg(256)
    ->Unit(benchmark::kMillisecond);
// The FFT path; with BM_FirF64 at 128-512 taps it gives the crossover (kFirFftCrossoverTaps).
BENCHMARK(BM_FirFftF64)
    ->Arg(128)
    ->Arg(256)
    ->Arg(512)
    ->Arg(1024)
    ->Arg(4096)
    ->Arg(16384)
    ->Unit(benchmark::kMillisecond);
BENCHMARK(BM_FirFftF32)->Arg(1024)->Arg(4096)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_FirFftSize)
    ->ArgsProduct({{1024, 4096}, {2, 4, 8, 16}})
    ->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace arrowdaq::bench

BENCHMARK_MAIN();
