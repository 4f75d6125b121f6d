#include "arrowdaq/instruments/sample_clock.h"

#include <algorithm>
#include <cmath>

namespace arrowdaq::instruments {

std::int64_t SampleClock::OffsetNanos(std::int64_t k, double rate_hz) {
  // Clamped (to ~100 years) so that an absurdly low rate cannot overflow the conversion.
  return static_cast<std::int64_t>(
      std::min(std::floor(static_cast<double>(k) * 1e9 / rate_hz), 3.0e18));
}

void SampleClock::Reset() {
  has_segment_ = false;
  next_index_ = 0;
  segment_first_index_ = 0;
  segment_start_ns_ = 0;
}

void SampleClock::StartSegment(std::int64_t wall_ns) {
  segment_start_ns_ = has_last_ ? std::max(wall_ns, last_ns_ + 1) : wall_ns;
  segment_first_index_ = next_index_;
  has_segment_ = true;
}

Status SampleClock::Stamp(std::int64_t rows, std::int64_t* out) {
  if (!has_segment_) {
    return Status::Invalid("no acquisition segment: StartAcquisition must precede Decode");
  }
  const std::int64_t k0 = next_index_ - segment_first_index_;  // >= 0
  // OffsetNanos for k >= 0, where floor is the truncation the conversion does anyway: the same
  // values without the floor's compare-and-adjust per sample (with the int-to-double conversion
  // chaining each sample to the last, a tenth of a 48 MS/s run's CPU). k also runs as a double,
  // exact below 2^53 samples (104 days at 1 GHz); beyond, each k is converted as before.
  const double rate = rate_hz_;
  const std::int64_t start = segment_start_ns_;
  constexpr std::int64_t kExactDoubles = std::int64_t{1} << 53;
  if (k0 <= kExactDoubles - rows) {
    double kd = static_cast<double>(k0);
    for (std::int64_t i = 0; i < rows; ++i) {
      out[i] = start + static_cast<std::int64_t>(std::min(kd * 1e9 / rate, 3.0e18));
      kd += 1.0;
    }
  } else {
    for (std::int64_t i = 0; i < rows; ++i) out[i] = start + OffsetNanos(k0 + i, rate);
  }
  if (rows > 0) {
    last_ns_ = out[rows - 1];
    has_last_ = true;
  }
  next_index_ += rows;
  return Status::OK();
}

}  // namespace arrowdaq::instruments
