#include "arrowdaq/hardware/sim_waveforms.h"
#include "arrowdaq/core/options.h"

#include <cmath>
#include <numbers>

namespace arrowdaq::hardware {

namespace {

constexpr double kPi = std::numbers::pi;
constexpr double kTwoPow53Inv = 1.0 / 9007199254740992.0;  // 2^-53

bool Finite(double v) { return std::isfinite(v); }

/// Evaluate `sample(n, c)` for a whole column-major block; the waveform is resolved once.
template <typename Fn>
void FillWith(const SimSourceOptions& options, std::int64_t first_n, std::int64_t rows, double* out,
              Fn sample) {
  for (std::int64_t c = 0; c < options.channels; ++c) {
    double* column = out + c * rows;
    for (std::int64_t i = 0; i < rows; ++i) column[i] = sample(options, first_n + i, c);
  }
}

/// RampSample for a whole block without a 64-bit division per sample (it was a quarter of a
/// 48 MS/s run's CPU): k steps by one and wraps, the same values bit for bit. k also runs as a
/// double (exact: wrap <= 2^53), so no int-to-double conversion chains one sample to the next,
/// and the options are read once (a store through `out` could otherwise alias them).
void FillRamp(const SimSourceOptions& o, std::int64_t first_n, std::int64_t rows, double* out) {
  const double offset = o.offset;
  const double amplitude = o.amplitude;
  const std::int64_t wrap = o.wrap;
  for (std::int64_t c = 0; c < o.channels; ++c) {
    double* column = out + c * rows;
    std::int64_t k = (first_n + c) % wrap;
    double kd = static_cast<double>(k);
    for (std::int64_t i = 0; i < rows; ++i) {
      column[i] = offset + amplitude * kd;
      kd += 1.0;
      if (++k == wrap) {
        k = 0;
        kd = 0.0;
      }
    }
  }
}

}  // namespace

std::string_view ToString(Waveform waveform) {
  switch (waveform) {
    case Waveform::kSine: return "sine";
    case Waveform::kNoise: return "noise";
    case Waveform::kRamp: return "ramp";
  }
  return "?";
}

std::optional<Waveform> ParseWaveform(std::string_view text) {
  if (text == "sine") return Waveform::kSine;
  if (text == "noise") return Waveform::kNoise;
  if (text == "ramp") return Waveform::kRamp;
  return std::nullopt;
}

Status ValidateSimSourceOptions(const SimSourceOptions& o) {
  if (!(o.rate_hz > 0 && o.rate_hz <= kMaxSimRateHz)) {
    return Status::Invalid("option 'rate_hz' must be > 0 and <= ",
                           FormatNumber(kMaxSimRateHz), " (Hz), got ", FormatNumber(o.rate_hz));
  }
  if (o.batch_size < 1 || o.batch_size > kMaxSimBatchSize) {
    return Status::Invalid("option 'batch_size' must be in 1..", kMaxSimBatchSize, ", got ",
                           o.batch_size);
  }
  if (o.channels < 1 || o.channels > kMaxSimChannels) {
    return Status::Invalid("option 'channels' must be in 1..", kMaxSimChannels, ", got ",
                           o.channels);
  }
  if (!Finite(o.amplitude)) {
    return Status::Invalid("option 'amplitude' must be finite, got ", o.amplitude);
  }
  if (!Finite(o.offset)) return Status::Invalid("option 'offset' must be finite, got ", o.offset);
  if (!Finite(o.frequency_hz)) {
    return Status::Invalid("option 'frequency_hz' must be finite, got ", o.frequency_hz);
  }
  if (o.fifo_batches < 0 || o.fifo_batches > 1'000'000) {
    return Status::Invalid("option 'fifo_batches' must be in 0..1000000, got ", o.fifo_batches);
  }
  if (o.drop_every < 0 || o.drop_every > 1'000'000'000) {
    return Status::Invalid("option 'drop_every' must be in 0..1000000000, got ", o.drop_every);
  }
  if (o.wrap < 1 || o.wrap > kMaxRampWrap) {
    return Status::Invalid("option 'wrap' must be in 1..2^53, got ", o.wrap);
  }
  return Status::OK();
}

std::uint64_t SplitMix64(std::uint64_t x) {
  std::uint64_t z = x + 0x9E3779B97F4A7C15ULL;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

double RampSample(const SimSourceOptions& o, std::int64_t n, std::int64_t c) {
  const std::int64_t k = (n + c) % o.wrap;
  return o.offset + o.amplitude * static_cast<double>(k);
}

double SineSample(const SimSourceOptions& o, std::int64_t n, std::int64_t c) {
  const double phase = 2.0 * kPi * o.frequency_hz * static_cast<double>(n) / o.rate_hz +
                       2.0 * kPi * static_cast<double>(c) / static_cast<double>(o.channels);
  return o.offset + o.amplitude * std::sin(phase);
}

double NoiseSample(const SimSourceOptions& o, std::int64_t n, std::int64_t c) {
  const std::uint64_t m = static_cast<std::uint64_t>(n) * static_cast<std::uint64_t>(o.channels) +
                          static_cast<std::uint64_t>(c);
  const double u1 = static_cast<double>(SplitMix64(o.seed ^ (2 * m)) >> 11) * kTwoPow53Inv;
  const double u2 = static_cast<double>(SplitMix64(o.seed ^ (2 * m + 1)) >> 11) * kTwoPow53Inv;
  return o.offset + o.amplitude * std::sqrt(-2.0 * std::log(1.0 - u1)) * std::cos(2.0 * kPi * u2);
}

double SimSample(const SimSourceOptions& options, std::int64_t n, std::int64_t c) {
  switch (options.waveform) {
    case Waveform::kSine: return SineSample(options, n, c);
    case Waveform::kNoise: return NoiseSample(options, n, c);
    case Waveform::kRamp: return RampSample(options, n, c);
  }
  return 0.0;
}

void FillSimBlock(const SimSourceOptions& options, std::int64_t first_n, std::int64_t rows,
                  double* out) {
  switch (options.waveform) {
    case Waveform::kSine: FillWith(options, first_n, rows, out, SineSample); return;
    case Waveform::kNoise: FillWith(options, first_n, rows, out, NoiseSample); return;
    case Waveform::kRamp:
      if (first_n >= 0) {
        FillRamp(options, first_n, rows, out);
      } else {
        FillWith(options, first_n, rows, out, RampSample);
      }
      return;
  }
}

}  // namespace arrowdaq::hardware
