// Simulated waveforms: the exact formulas the simulated sources (SimulatedHardware, the
// sim.sine / sim.noise / sim.ramp drivers) produce, as pure functions of the sample index n
// (0, 1, 2, ... since the first INIT after Connect) and the channel c (0 .. channels-1), so a
// test in any language can recompute every value. docs/instruments.md repeats them.
// They live in hardware/ (not instruments/) because SimulatedHardware computes them and
// hardware/ may not depend on instruments/. Pure values and functions; any thread.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

#include "arrowdaq/core/status.h"

namespace arrowdaq::hardware {

/// Say which signal a simulated source produces.
enum class Waveform { kSine, kNoise, kRamp };

/// Return "sine", "noise" or "ramp".
std::string_view ToString(Waveform waveform);
/// Parse "sine", "noise" or "ramp"; nullopt for anything else.
std::optional<Waveform> ParseWaveform(std::string_view text);

/// Default period of the ramp: 2^40 samples.
inline constexpr std::int64_t kDefaultRampWrap = std::int64_t{1} << 40;
/// Largest ramp period: 2^53, so that every (n + c) mod wrap is exact as a double.
inline constexpr std::int64_t kMaxRampWrap = std::int64_t{1} << 53;
/// Largest sample rate a simulated source accepts.
inline constexpr double kMaxSimRateHz = 100e6;
inline constexpr std::int64_t kMaxSimBatchSize = 10'000'000;
inline constexpr std::int64_t kMaxSimChannels = 1024;

/// Configure a simulated source. Field names equal the driver option names.
struct SimSourceOptions {
  Waveform waveform = Waveform::kSine;
  std::int64_t channels = 1;             ///< 1 .. 1024
  double rate_hz = 1000.0;               ///< samples per second per channel, (0, 1e8]
  std::int64_t batch_size = 100;         ///< samples per channel per batch, 1 .. 10'000'000
  double amplitude = 1.0;                ///< in the channel unit; finite
  double frequency_hz = 10.0;            ///< sine only; finite
  double offset = 0.0;                   ///< in the channel unit; finite
  std::uint64_t seed = 0;                ///< noise only
  std::int64_t wrap = kDefaultRampWrap;  ///< ramp only, 1 .. 2^53
  /// 0: the source waits for its reader (back-pressure pauses it, nothing is lost).
  /// N > 0: a free-running device with a FIFO of N batches: when the reader falls more than
  /// N batches behind, the oldest samples are lost and counted as overrun samples.
  std::int64_t fifo_batches = 0;
  /// 0: off. N > 0: every N-th batch is lost as an overrun (its samples skipped and counted),
  /// a deterministic hole in the stream for tests.
  std::int64_t drop_every = 0;
};

/// Check every field's range. The message names the option and the value
/// ("option 'rate_hz' must be > 0 and <= 1e+08 (Hz), got -3").
Status ValidateSimSourceOptions(const SimSourceOptions& options);

/// The standard SplitMix64 output function (Steele, Lea, Flood 2014), applied to x, all
/// arithmetic modulo 2^64:
///   z = x + 0x9E3779B97F4A7C15
///   z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9
///   z = (z ^ (z >> 27)) * 0x94D049BB133111EB
///   return z ^ (z >> 31)
std::uint64_t SplitMix64(std::uint64_t x);

/// ramp:  x[n,c] = offset + amplitude * double((n + c) mod wrap)
/// ((n + c) mod wrap is computed in integers, so with amplitude 1 and offset 0, x[n,0] == n).
double RampSample(const SimSourceOptions& options, std::int64_t n, std::int64_t c);

/// sine:  x[n,c] = offset + amplitude * sin(2*pi*frequency_hz*n/rate_hz + 2*pi*c/channels)
/// evaluated in IEEE double exactly in that order (left to right, pi = M_PI).
double SineSample(const SimSourceOptions& options, std::int64_t n, std::int64_t c);

/// noise: Gaussian white noise (Box-Muller) from a counter-based generator, with
///   m  = n*channels + c                       (uint64)
///   u1 = (SplitMix64(seed ^ (2*m))     >> 11) * 2^-53     in [0, 1)
///   u2 = (SplitMix64(seed ^ (2*m + 1)) >> 11) * 2^-53     in [0, 1)
///   x[n,c] = offset + amplitude * sqrt(-2*ln(1 - u1)) * cos(2*pi*u2)
/// Each value depends only on (seed, n, c): no generator state, no order dependence.
double NoiseSample(const SimSourceOptions& options, std::int64_t n, std::int64_t c);

/// Return x[n,c] of `options.waveform`.
double SimSample(const SimSourceOptions& options, std::int64_t n, std::int64_t c);

/// Fill `out` with `rows` samples per channel starting at sample index `first_n`, column by
/// column: out[c*rows + i] = SimSample(options, first_n + i, c). `out` holds rows*channels values.
void FillSimBlock(const SimSourceOptions& options, std::int64_t first_n, std::int64_t rows,
                  double* out);

}  // namespace arrowdaq::hardware
