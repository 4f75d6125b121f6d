// BatchStats: summary statistics of one batch of float64 samples (min, max, mean, population
// standard deviation, rms, counts). A pure function over a borrowed span; any thread.
#pragma once

#include <cstdint>
#include <span>

namespace arrowdaq::dsp {

/// \brief Statistics of a batch.
///
/// NaN handling: NaN samples are skipped and counted in `nan_count`; every other statistic is
/// over the `count` non-NaN samples. Infinities are ordinary values (so min/max may be +-inf
/// and mean/std/rms follow IEEE arithmetic: inf or NaN). With count == 0 (empty or all-NaN
/// batch) min, max, mean, std and rms are NaN.
struct BatchStats {
  int64_t count = 0;      ///< non-NaN samples
  int64_t nan_count = 0;  ///< NaN samples skipped
  double min = 0.0;
  double max = 0.0;
  double mean = 0.0;
  double std = 0.0;  ///< population standard deviation (divides by count), two-pass
  double rms = 0.0;  ///< sqrt(mean of squares)

  /// Compute the statistics of `values`.
  static BatchStats Compute(std::span<const double> values);
};

}  // namespace arrowdaq::dsp
