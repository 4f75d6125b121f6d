// Unit tests of arrowdaq::dsp: FIR streaming semantics (empty batches, NaN/inf windows, filters
// longer than the signal, split invariance, float32 accuracy), decimation, moving average,
// firwin argument errors and batch statistics. Single-threaded.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <random>
#include <thread>
#include <vector>

#include "arrowdaq/dsp/batch_stats.h"
#include "arrowdaq/dsp/decimator.h"
#include "arrowdaq/dsp/fir_design.h"
#include "arrowdaq/dsp/fir_filter.h"
#include "arrowdaq/dsp/moving_average.h"
#include "arrowdaq/testing/gtest_util.h"

namespace arrowdaq::dsp {
namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

std::vector<double> RandomVector(size_t n, uint32_t seed) {
  std::mt19937 gen(seed);
  std::normal_distribution<double> dist(0.0, 1.0);
  std::vector<double> v(n);
  for (double& x : v) x = dist(gen);
  return v;
}

// lfilter(b, 1, x) with zero initial state, accumulated in long double.
std::vector<double> Reference(const std::vector<double>& b, const std::vector<double>& x) {
  std::vector<double> y(x.size());
  for (size_t n = 0; n < x.size(); ++n) {
    long double acc = 0;
    for (size_t k = 0; k < b.size() && k <= n; ++k) {
      acc += static_cast<long double>(b[k]) * x[n - k];
    }
    y[n] = static_cast<double>(acc);
  }
  return y;
}

double MaxAbs(const std::vector<double>& v) {
  double m = 0;
  for (double x : v) m = std::max(m, std::abs(x));
  return m;
}

template <typename T>
std::vector<T> FilterInBatches(FirFilter<T>& fir, const std::vector<T>& x,
                               const std::vector<size_t>& sizes) {
  std::vector<T> y(x.size());
  size_t pos = 0;
  for (size_t i = 0; pos < x.size(); i = (i + 1) % sizes.size()) {
    const size_t len = std::min(sizes[i], x.size() - pos);
    fir.Process(std::span<const T>(x).subspan(pos, len), std::span<T>(y).subspan(pos, len));
    pos += len;
  }
  return y;
}

TEST(FirFilter, MakeRejectsBadTaps) {
  EXPECT_FALSE(FirFilter<double>::Make({}).ok());
  EXPECT_FALSE(FirFilter<double>::Make({1.0, kNaN}).ok());
  EXPECT_FALSE(FirFilter<float>::Make({kInf}).ok());
}

TEST(FirFilter, EmptyBatchChangesNothing) {
  const auto b = RandomVector(9, 1);
  const auto x = RandomVector(40, 2);
  ASSERT_OK_AND_ASSIGN(auto fir, FirFilter<double>::Make(b));
  std::vector<double> y(x.size());
  fir.Process({}, {});
  fir.Process(std::span(x).first(17), std::span(y).first(17));
  fir.Process({}, {});
  fir.Process(std::span(x).subspan(17), std::span(y).subspan(17));
  const auto ref = Reference(b, x);
  for (size_t i = 0; i < x.size(); ++i) EXPECT_NEAR(y[i], ref[i], 1e-13) << i;
}

TEST(FirFilter, MatchesReferenceOnBlockedPath) {
  // Long enough to run the register-blocked main loop, the single-vector loop and the tail.
  const auto b = RandomVector(64, 3);
  const auto x = RandomVector(10007, 4);
  ASSERT_OK_AND_ASSIGN(auto fir, FirFilter<double>::Make(b));
  std::vector<double> y(x.size());
  fir.Process(x, y);
  const auto ref = Reference(b, x);
  for (size_t i = 0; i < x.size(); ++i) ASSERT_NEAR(y[i], ref[i], 1e-12) << i;
}

TEST(FirFilter, NanAndInfPoisonExactlyTheirWindow) {
  const std::vector<double> b = {0.5, 0.25, 0.125, 1.0, 2.0, 0.75, 0.1};  // all positive
  auto x = RandomVector(300, 5);
  const size_t nan_at = 150, inf_at = 40;
  x[nan_at] = kNaN;
  x[inf_at] = kInf;
  auto clean = x;
  clean[nan_at] = 0.0;
  clean[inf_at] = 0.0;
  const auto ref = Reference(b, clean);
  for (const std::vector<size_t>& split : {std::vector<size_t>{300}, std::vector<size_t>{1}}) {
    ASSERT_OK_AND_ASSIGN(auto fir, FirFilter<double>::Make(b));
    const auto y = FilterInBatches(fir, x, split);
    for (size_t i = 0; i < x.size(); ++i) {
      if (i >= nan_at && i < nan_at + b.size()) {
        EXPECT_TRUE(std::isnan(y[i])) << i;
      } else if (i >= inf_at && i < inf_at + b.size()) {
        EXPECT_EQ(y[i], kInf) << i;
      } else {
        EXPECT_NEAR(y[i], ref[i], 1e-12) << i;
      }
    }
  }
}

TEST(FirFilter, OppositeInfinitiesGiveNan) {
  // lfilter: inf * b0 + (-inf) * b1 = NaN while both are in the window.
  ASSERT_OK_AND_ASSIGN(auto fir, FirFilter<double>::Make({1.0, 1.0}));
  const std::vector<double> x = {kInf, -kInf, 1.0, 2.0};
  std::vector<double> y(4);
  fir.Process(x, y);
  EXPECT_EQ(y[0], kInf);
  EXPECT_TRUE(std::isnan(y[1]));
  EXPECT_EQ(y[2], -kInf);
  EXPECT_EQ(y[3], 3.0);
}

TEST(FirFilter, FilterLongerThanSignal) {
  const auto b = RandomVector(200, 6);
  const auto x = RandomVector(37, 7);
  const auto ref = Reference(b, x);
  for (const std::vector<size_t>& split :
       {std::vector<size_t>{37}, std::vector<size_t>{1}, std::vector<size_t>{5, 2}}) {
    ASSERT_OK_AND_ASSIGN(auto fir, FirFilter<double>::Make(b));
    const auto y = FilterInBatches(fir, x, split);
    for (size_t i = 0; i < x.size(); ++i) EXPECT_NEAR(y[i], ref[i], 1e-12) << i;
  }
}

TEST(FirFilter, SplitInvarianceIsBitExact) {
  const auto b = RandomVector(64, 8);
  const auto x = RandomVector(20000, 9);  // > one internal chunk of 8192
  ASSERT_OK_AND_ASSIGN(auto whole_fir, FirFilter<double>::Make(b));
  const auto whole = FilterInBatches(whole_fir, x, {x.size()});
  for (const std::vector<size_t>& split :
       {std::vector<size_t>{1}, std::vector<size_t>{63, 1, 64, 65, 7, 1000}}) {
    ASSERT_OK_AND_ASSIGN(auto fir, FirFilter<double>::Make(b));
    const auto y = FilterInBatches(fir, x, split);
    for (size_t i = 0; i < x.size(); ++i) ASSERT_EQ(y[i], whole[i]) << i;
  }
}

// Each batch in its own exactly-sized vector, so that ASan flags any read past a batch's end
// (long batches are read in place, without the scratch padding).
template <typename T>
std::vector<T> FilterInOwnedBatches(FirFilter<T>& fir, const std::vector<T>& x,
                                    const std::vector<size_t>& sizes) {
  std::vector<T> y(x.size());
  size_t pos = 0;
  for (size_t i = 0; pos < x.size(); i = (i + 1) % sizes.size()) {
    const size_t len = std::min(sizes[i], x.size() - pos);
    const std::vector<T> in(x.begin() + pos, x.begin() + pos + len);
    std::vector<T> out(len);
    fir.Process(in, out);
    std::copy(out.begin(), out.end(), y.begin() + pos);
    pos += len;
  }
  return y;
}

template <typename T>
void ExpectBitwiseEqual(const std::vector<T>& a, const std::vector<T>& b, size_t taps) {
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) {
    ASSERT_EQ(std::memcmp(&a[i], &b[i], sizeof(T)), 0) << "taps " << taps << " i " << i;
  }
}

// Long batches read most inputs in place, short ones go through the scratch window, and the
// first / last outputs of a long batch too: all must give the same bits, NaN windows included.
template <typename T>
void CheckPathsAgree() {
  for (size_t taps : {1, 3, 16, 64, 65, 200}) {
    std::vector<double> b = RandomVector(taps, 20 + taps);
    for (double& v : b) v = std::abs(v) + 0.1;  // positive: NaN windows are exact, no inf - inf
    const auto xd = RandomVector(7001, 21);
    std::vector<T> x(xd.begin(), xd.end());
    const std::vector<size_t> nan_at = {0, taps / 2, 700, 3000, 3001, 7000 - taps / 3, 7000};
    for (size_t i : nan_at) x[i] = std::numeric_limits<T>::quiet_NaN();
    FirFilterOptions direct;  // the direct form is bitwise split-invariant (the FFT path: below)
    direct.method = FirMethod::kDirect;
    ASSERT_OK_AND_ASSIGN(auto whole_fir, FirFilter<T>::Make(b, direct));
    const auto whole = FilterInOwnedBatches(whole_fir, x, {x.size()});
    for (size_t i = 0; i < x.size(); ++i) {
      bool in_window = false;
      for (size_t k : nan_at) in_window = in_window || (i >= k && i < k + taps);
      ASSERT_EQ(std::isnan(whole[i]), in_window) << "taps " << taps << " i " << i;
    }
    const size_t h = taps - 1;
    for (const std::vector<size_t>& split :
         {std::vector<size_t>{1}, std::vector<size_t>{h + 256, 1, h + 255, 2000, 7, h + 300},
          std::vector<size_t>{3001, 17, 999}}) {
      ASSERT_OK_AND_ASSIGN(auto fir, FirFilter<T>::Make(b, direct));
      ExpectBitwiseEqual(FilterInOwnedBatches(fir, x, split), whole, taps);
    }
  }
}

TEST(FirFilter, LongAndShortBatchPathsAgreeBitwise) {
  CheckPathsAgree<double>();
  CheckPathsAgree<float>();
}

TEST(FirFilter, ResetRestartsFromZeroState) {
  const auto b = RandomVector(16, 10);
  const auto x = RandomVector(100, 11);
  ASSERT_OK_AND_ASSIGN(auto fir, FirFilter<double>::Make(b));
  std::vector<double> y1(x.size()), y2(x.size());
  fir.Process(x, y1);
  fir.Reset();
  fir.Process(x, y2);
  EXPECT_EQ(y1, y2);
}

TEST(FirFilter, InPlace) {
  const auto b = RandomVector(33, 12);
  auto x = RandomVector(500, 13);
  const auto ref = Reference(b, x);
  ASSERT_OK_AND_ASSIGN(auto fir, FirFilter<double>::Make(b));
  fir.Process(x, x);
  for (size_t i = 0; i < x.size(); ++i) EXPECT_NEAR(x[i], ref[i], 1e-12) << i;
}

TEST(FirFilter, Float32WithinRoundingBound) {
  // Bound: |y32 - y| <= (T + 2) * 2^-24 * sum_k |b_k| * max|x| (rounding of x, of the taps and of
  // T multiply-adds in float).
  const auto b = RandomVector(64, 14);
  const auto x = RandomVector(5000, 15);
  double sum_abs_b = 0;
  for (double v : b) sum_abs_b += std::abs(v);
  const double bound = (b.size() + 2) * std::ldexp(1.0, -24) * sum_abs_b * MaxAbs(x);
  ASSERT_OK_AND_ASSIGN(auto fir, FirFilter<float>::Make(b));
  const std::vector<float> xf(x.begin(), x.end());
  const auto yf = FilterInBatches(fir, xf, {1, 100, 7});
  const auto ref = Reference(b, x);
  double worst = 0;
  for (size_t i = 0; i < x.size(); ++i) worst = std::max(worst, std::abs(yf[i] - ref[i]));
  EXPECT_LE(worst, bound);
  EXPECT_GT(worst, 0.0);  // really float arithmetic
}

// ---- FFT overlap-save path (long filters) ----

// Random batch sizes in [1, max_len], with ones and lengths around the FFT block among them.
std::vector<size_t> RandomSplit(uint32_t seed, size_t max_len, size_t block) {
  std::mt19937 gen(seed);
  std::uniform_int_distribution<size_t> len(1, max_len);
  std::vector<size_t> sizes = {1, 1, block - 1, block, block + 1, 2, 3 * block + 5};
  for (int i = 0; i < 40; ++i) sizes.push_back(len(gen));
  std::shuffle(sizes.begin(), sizes.end(), gen);
  return sizes;
}

double MaxAbsDiff(const std::vector<double>& a, const std::vector<double>& b) {
  double m = 0;
  for (size_t i = 0; i < a.size(); ++i) m = std::max(m, std::abs(a[i] - b[i]));
  return m;
}

TEST(FirFilterFft, AutoPicksTheFftFromTheCrossover) {
  ASSERT_OK_AND_ASSIGN(auto short_fir,
                       FirFilter<double>::Make(RandomVector(kFirFftCrossoverTaps - 1, 1)));
  EXPECT_EQ(short_fir.method(), FirMethod::kDirect);
  ASSERT_OK_AND_ASSIGN(auto long_fir,
                       FirFilter<double>::Make(RandomVector(kFirFftCrossoverTaps, 1)));
  EXPECT_EQ(long_fir.method(), FirMethod::kFft);
  EXPECT_GE(long_fir.fft_size(), 2 * kFirFftCrossoverTaps);
}

TEST(FirFilterFft, RejectsBadOptions) {
  FirFilterOptions o;
  o.method = FirMethod::kFft;
  o.fft_size = 1000;  // not a power of two
  EXPECT_FALSE(FirFilter<double>::Make(RandomVector(300, 2), o).ok());
  o.fft_size = 512;  // < 2 x taps
  EXPECT_FALSE(FirFilter<double>::Make(RandomVector(300, 2), o).ok());
  o.fft_size = 0;
  EXPECT_FALSE(FirFilter<double>::Make(std::vector<double>(internal::kFftMaxTaps + 1, 1.0), o).ok());
}

// Equal to lfilter (long double reference) within 1e-10 of the output's scale, for any split,
// and the split changes the outputs by rounding only.
TEST(FirFilterFft, MatchesReferenceWhateverTheSplit) {
  for (size_t taps : {200, 1024, 4096}) {
    const auto b = RandomVector(taps, 30 + taps);
    const auto x = RandomVector(taps == 4096 ? 20000 : 30000, 31);
    const auto ref = Reference(b, x);
    // FFTW_MEASURE (the default) at 1024 taps, the instant estimate elsewhere (planning takes
    // seconds under the sanitizers on a loaded machine; the arithmetic is the same).
    FirFilterOptions o;
    if (taps != 1024) o.fft_planning = internal::FftPlanning::kEstimate;
    ASSERT_OK_AND_ASSIGN(auto whole_fir, FirFilter<double>::Make(b, o));
    ASSERT_EQ(whole_fir.method(), FirMethod::kFft);
    const size_t block = whole_fir.fft_size() - taps + 1;
    const auto whole = FilterInOwnedBatches(whole_fir, x, {x.size()});
    const double scale = MaxAbs(ref);
    EXPECT_LE(MaxAbsDiff(whole, ref), 1e-10 * scale) << "taps " << taps;
    for (uint32_t seed : {1u, 2u}) {
      ASSERT_OK_AND_ASSIGN(auto fir, FirFilter<double>::Make(b, o));
      const auto y = FilterInOwnedBatches(fir, x, RandomSplit(seed, 2 * block, block));
      EXPECT_LE(MaxAbsDiff(y, ref), 1e-10 * scale) << "taps " << taps << " seed " << seed;
      EXPECT_LE(MaxAbsDiff(y, whole), 1e-12 * scale) << "taps " << taps << " seed " << seed;
    }
  }
}

// The streaming state crosses batches: one sample at a time equals the whole signal.
TEST(FirFilterFft, OneSampleAtATime) {
  const auto b = RandomVector(200, 40);
  const auto x = RandomVector(3000, 41);
  const auto ref = Reference(b, x);
  ASSERT_OK_AND_ASSIGN(auto fir, FirFilter<double>::Make(b));
  ASSERT_EQ(fir.method(), FirMethod::kFft);
  const auto y = FilterInOwnedBatches(fir, x, {1});
  EXPECT_LE(MaxAbsDiff(y, ref), 1e-10 * MaxAbs(ref));
}

TEST(FirFilterFft, NanAndInfPoisonExactlyTheirWindow) {
  const size_t taps = 1024;
  std::vector<double> b = RandomVector(taps, 50);
  for (double& v : b) v = std::abs(v) + 0.1;  // no inf - inf
  auto x = RandomVector(40000, 51);
  const std::vector<size_t> bad_at = {5, 9000, 9001, 30000};
  x[5] = kNaN;
  x[9000] = kInf;
  x[9001] = kNaN;
  x[30000] = -kInf;
  for (const std::vector<size_t>& split : {std::vector<size_t>{x.size()},
                                           RandomSplit(3, 20000, 7169)}) {
    ASSERT_OK_AND_ASSIGN(auto fir, FirFilter<double>::Make(b));
    ASSERT_EQ(fir.method(), FirMethod::kFft);
    const auto y = FilterInOwnedBatches(fir, x, split);
    for (size_t i = 0; i < y.size(); ++i) {
      bool in_window = false;
      for (size_t k : bad_at) in_window = in_window || (i >= k && i < k + taps);
      ASSERT_EQ(std::isfinite(y[i]), !in_window) << i;
    }
    EXPECT_TRUE(std::isinf(y[29999 + taps]) && y[29999 + taps] < 0);
  }
}

TEST(FirFilterFft, InPlaceAndReset) {
  const auto b = RandomVector(250, 60);
  const auto x = RandomVector(20000, 61);
  const auto ref = Reference(b, x);
  ASSERT_OK_AND_ASSIGN(auto fir, FirFilter<double>::Make(b));
  ASSERT_EQ(fir.method(), FirMethod::kFft);
  auto y = x;
  fir.Process(y, y);
  EXPECT_LE(MaxAbsDiff(y, ref), 1e-10 * MaxAbs(ref));
  fir.Reset();
  auto y2 = x;
  fir.Process(y2, y2);
  EXPECT_EQ(y, y2);
}

TEST(FirFilterFft, Float32WithinRoundingBound) {
  const auto b = RandomVector(1024, 70);
  const auto x = RandomVector(20000, 71);
  double sum_abs_b = 0;
  for (double v : b) sum_abs_b += std::abs(v);
  // Rounding of x and of the taps to float, and of the outputs (the arithmetic is float64).
  const double bound = 4 * std::ldexp(1.0, -24) * sum_abs_b * MaxAbs(x);
  ASSERT_OK_AND_ASSIGN(auto fir, FirFilter<float>::Make(b));
  ASSERT_EQ(fir.method(), FirMethod::kFft);
  const std::vector<float> xf(x.begin(), x.end());
  const auto yf = FilterInBatches(fir, xf, {1, 5000, 77});
  const auto ref = Reference(b, x);
  double worst = 0;
  for (size_t i = 0; i < x.size(); ++i) worst = std::max(worst, std::abs(yf[i] - ref[i]));
  EXPECT_LE(worst, bound);
  EXPECT_GT(worst, 0.0);
}

// Filters made, run and destroyed on several threads at once (FFTW's planner is not thread-safe:
// FftOverlapSave serialises it). Each thread's outputs must match its own reference. Without the
// planner mutex this test aborted inside FFTW in 2 of 6 runs of 6 rounds: a likely, not a certain,
// red (now 12 rounds).
TEST(FirFilterFft, ConcurrentMakeAndProcess) {
  constexpr int kThreads = 4;
  std::vector<std::thread> threads;
  std::vector<double> errors(kThreads, -1.0);
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([t, &errors] {
      double worst = 0;
      for (int round = 0; round < 12; ++round) {
        const size_t taps = 200 + 37 * static_cast<size_t>(t + kThreads * round);
        const auto b = RandomVector(taps, 80 + t);
        const auto x = RandomVector(4000, 90 + t);
        FirFilterOptions o;
        o.fft_planning = internal::FftPlanning::kEstimate;
        auto fir = FirFilter<double>::Make(b, o);
        if (!fir.ok() || fir->method() != FirMethod::kFft) return;
        std::vector<double> y(x.size());
        fir->Process(x, y);
        const auto ref = Reference(b, x);
        worst = std::max(worst, MaxAbsDiff(y, ref) / MaxAbs(ref));
      }
      errors[t] = worst;
    });
  }
  for (auto& th : threads) th.join();
  for (int t = 0; t < kThreads; ++t) {
    EXPECT_GE(errors[t], 0.0) << "thread " << t << " could not make its filter";
    EXPECT_LE(errors[t], 1e-10) << "thread " << t;
  }
}

TEST(Decimator, EqualsEveryQthOutputWhateverTheSplit) {
  const int q = 5;
  ASSERT_OK_AND_ASSIGN(auto taps, DecimateDefaultTaps(q));
  EXPECT_EQ(taps.size(), 101u);
  const auto x = RandomVector(3001, 16);
  const auto full = Reference(taps, x);
  std::vector<double> expected;
  for (size_t i = 0; i < full.size(); i += q) expected.push_back(full[i]);
  std::vector<double> first;
  for (const std::vector<size_t>& split :
       {std::vector<size_t>{3001}, std::vector<size_t>{1}, std::vector<size_t>{3, 4, 101, 2}}) {
    ASSERT_OK_AND_ASSIGN(auto dec, Decimator<double>::Make(q));
    std::vector<double> y;
    size_t pos = 0;
    for (size_t i = 0; pos < x.size(); i = (i + 1) % split.size()) {
      const size_t len = std::min(split[i], x.size() - pos);
      std::vector<double> out(dec.OutputSize(len));
      ASSERT_OK_AND_ASSIGN(size_t got, dec.Process(std::span(x).subspan(pos, len), std::span(out)));
      ASSERT_EQ(got, out.size());
      y.insert(y.end(), out.begin(), out.end());
      pos += len;
    }
    ASSERT_EQ(y.size(), expected.size());
    for (size_t i = 0; i < y.size(); ++i) ASSERT_NEAR(y[i], expected[i], 1e-12) << i;
    if (first.empty()) {
      first = y;
    } else {
      EXPECT_EQ(y, first);  // bit-exact across splits
    }
  }
}

TEST(Decimator, RejectsBadArguments) {
  EXPECT_FALSE(Decimator<double>::Make(1).ok());  // default design needs q >= 2
  EXPECT_FALSE(Decimator<double>::Make(0, {1.0}).ok());
  EXPECT_FALSE(Decimator<float>::Make(2, {}).ok());
  ASSERT_OK_AND_ASSIGN(auto dec, Decimator<double>::Make(4));
  std::vector<double> x(10, 1.0), out(2);  // needs 3
  EXPECT_FALSE(dec.Process(x, out).ok());
}

TEST(MovingAverage, MatchesBoxcarFir) {
  ASSERT_OK_AND_ASSIGN(auto ma, MovingAverage<double>::Make(4));
  const std::vector<double> x = {4, 8, 12, 16, 20, kNaN, 1, 1, 1, 1, 1};
  std::vector<double> y(x.size());
  ma.Process(x, y);
  EXPECT_DOUBLE_EQ(y[0], 1.0);
  EXPECT_DOUBLE_EQ(y[3], 10.0);
  EXPECT_DOUBLE_EQ(y[4], 14.0);
  for (size_t i = 5; i < 9; ++i) EXPECT_TRUE(std::isnan(y[i])) << i;
  EXPECT_DOUBLE_EQ(y[9], 1.0);
  EXPECT_FALSE(MovingAverage<double>::Make(0).ok());
}

TEST(Firwin, RejectsBadArguments) {
  const auto hamming = Window::Hamming();
  EXPECT_FALSE(Firwin(0, {50}, 1000, PassKind::kLowpass, hamming).ok());
  EXPECT_FALSE(Firwin(-3, {50}, 1000, PassKind::kLowpass, hamming).ok());
  EXPECT_FALSE(Firwin(31, {0}, 1000, PassKind::kLowpass, hamming).ok());
  EXPECT_FALSE(Firwin(31, {-5}, 1000, PassKind::kLowpass, hamming).ok());
  EXPECT_FALSE(Firwin(31, {500}, 1000, PassKind::kLowpass, hamming).ok());  // == Nyquist
  EXPECT_FALSE(Firwin(31, {600}, 1000, PassKind::kLowpass, hamming).ok());
  EXPECT_FALSE(Firwin(31, {}, 1000, PassKind::kLowpass, hamming).ok());
  EXPECT_FALSE(Firwin(31, {50}, 0, PassKind::kLowpass, hamming).ok());
  EXPECT_FALSE(Firwin(31, {50, 40}, 1000, PassKind::kBandpass, hamming).ok());
  EXPECT_FALSE(Firwin(31, {50}, 1000, PassKind::kBandpass, hamming).ok());
  EXPECT_FALSE(Firwin(31, {50, 60}, 1000, PassKind::kLowpass, hamming).ok());
  EXPECT_FALSE(Firwin(32, {50}, 1000, PassKind::kHighpass, hamming).ok());
  EXPECT_FALSE(Firwin(32, {50, 60}, 1000, PassKind::kBandstop, hamming).ok());
  EXPECT_FALSE(Firwin(31, {50}, 1000, PassKind::kLowpass, Window::Kaiser(kNaN)).ok());
  // Even lengths are fine when Nyquist is in a stopband.
  EXPECT_OK(Firwin(32, {50}, 1000, PassKind::kLowpass, hamming));
  EXPECT_OK(Firwin(32, {50, 60}, 1000, PassKind::kBandpass, hamming));
}

TEST(Firwin, ParsesWindowsAndKinds) {
  ASSERT_OK_AND_ASSIGN(auto w, ParseWindow("kaiser:8.6"));
  EXPECT_EQ(w.kind, WindowKind::kKaiser);
  EXPECT_DOUBLE_EQ(w.beta, 8.6);
  ASSERT_OK_AND_ASSIGN(w, ParseWindow("hann"));
  EXPECT_EQ(w.kind, WindowKind::kHann);
  EXPECT_FALSE(ParseWindow("hanning-ish").ok());
  EXPECT_FALSE(ParseWindow("kaiser").ok());
  EXPECT_FALSE(ParseWindow("kaiser:").ok());
  EXPECT_FALSE(ParseWindow("kaiser:abc").ok());
  EXPECT_FALSE(ParsePassKind("allpass").ok());
  ASSERT_OK_AND_ASSIGN(auto k, ParsePassKind("bandstop"));
  EXPECT_EQ(k, PassKind::kBandstop);
}

TEST(Firwin, LowpassHasUnitDcGainAndIsSymmetric) {
  ASSERT_OK_AND_ASSIGN(auto h, Firwin(63, {50}, 1000, PassKind::kLowpass, Window::Blackman()));
  double sum = 0;
  for (double v : h) sum += v;
  EXPECT_NEAR(sum, 1.0, 1e-14);
  // Symmetric up to rounding of the window and sinc evaluations.
  for (size_t i = 0; i < h.size(); ++i) EXPECT_NEAR(h[i], h[h.size() - 1 - i], 1e-16) << i;
}

TEST(BatchStats, KnownVector) {
  const std::vector<double> x = {2, 4, 4, 4, 5, 5, 7, 9};
  const auto st = BatchStats::Compute(x);
  EXPECT_EQ(st.count, 8);
  EXPECT_EQ(st.nan_count, 0);
  EXPECT_EQ(st.min, 2.0);
  EXPECT_EQ(st.max, 9.0);
  EXPECT_DOUBLE_EQ(st.mean, 5.0);
  EXPECT_DOUBLE_EQ(st.std, 2.0);
  EXPECT_DOUBLE_EQ(st.rms, std::sqrt(232.0 / 8.0));
}

TEST(BatchStats, NanSkippedAndCounted) {
  const auto st = BatchStats::Compute(std::vector<double>{1.0, kNaN, 3.0, kNaN});
  EXPECT_EQ(st.count, 2);
  EXPECT_EQ(st.nan_count, 2);
  EXPECT_DOUBLE_EQ(st.mean, 2.0);
  EXPECT_DOUBLE_EQ(st.std, 1.0);
  const auto empty = BatchStats::Compute({});
  EXPECT_EQ(empty.count, 0);
  EXPECT_TRUE(std::isnan(empty.mean));
  EXPECT_TRUE(std::isnan(empty.min));
}

TEST(BatchStats, LargeOffsetKeepsPrecision) {
  const std::vector<double> x = {1e9 + 1, 1e9 + 2, 1e9 + 3};
  const auto st = BatchStats::Compute(x);
  EXPECT_NEAR(st.std, std::sqrt(2.0 / 3.0), 1e-9);
}

}  // namespace
}  // namespace arrowdaq::dsp
