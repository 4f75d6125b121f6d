#include "arrowdaq/dsp/batch_stats.h"

#include <cmath>
#include <limits>

namespace arrowdaq::dsp {

BatchStats BatchStats::Compute(std::span<const double> values) {
  BatchStats st;
  double sum = 0.0;
  double sum_sq = 0.0;
  double lo = std::numeric_limits<double>::infinity();
  double hi = -std::numeric_limits<double>::infinity();
  for (double v : values) {
    if (std::isnan(v)) {
      ++st.nan_count;
      continue;
    }
    ++st.count;
    sum += v;
    sum_sq += v * v;
    lo = v < lo ? v : lo;
    hi = v > hi ? v : hi;
  }
  if (st.count == 0) {
    const double nan = std::numeric_limits<double>::quiet_NaN();
    st.min = st.max = st.mean = st.std = st.rms = nan;
    return st;
  }
  const double n = static_cast<double>(st.count);
  st.min = lo;
  st.max = hi;
  st.mean = sum / n;
  // Second pass about the mean: no cancellation for signals with a large offset.
  double m2 = 0.0;
  for (double v : values) {
    if (!std::isnan(v)) m2 += (v - st.mean) * (v - st.mean);
  }
  st.std = std::sqrt(m2 / n);
  st.rms = std::sqrt(sum_sq / n);
  return st;
}

}  // namespace arrowdaq::dsp
