// Scan plans as points: PlanPointList gives a validated `[[plans]]` entry's (config.h) points,
// the ordered motor positions of each, and Reduce turns the samples a detector stream gave
// inside a point's dwell window into the point's value. docs/scans.md is the reference (plan
// kinds, point order, snake, reductions). Pure functions over values; any thread.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "arrowdaq/config/config.h"
#include "arrowdaq/core/status.h"

namespace arrowdaq::app {

/// How a stream detector's samples inside a window become one value.
enum class Reduction { kMean, kStd, kMin, kMax, kCount };

/// Parse "mean", "std", "min", "max" or "count".
[[nodiscard]] Result<Reduction> ParseReduction(std::string_view text);
/// Return the reduction's name as the config writes it.
[[nodiscard]] std::string_view ToString(Reduction reduction);

/// Reduce `n` values: mean, population standard deviation (ddof 0, as numpy's default), min,
/// max or the number of values. With n = 0 every reduction but count is NaN.
[[nodiscard]] double Reduce(Reduction reduction, const double* values, std::size_t n);

/// One point of a scan: the position of each of the plan's axes (in plan order) and, for each
/// axis, its index along that axis (grid: the row/column of an image; other kinds: the point's
/// number for every axis).
struct ScanPoint {
  std::vector<double> positions;
  std::vector<std::int64_t> indices;
};

/// Return the positions of a line or grid axis: start + i * (stop - start) / (num - 1), the
/// last exactly `stop` (numpy.linspace); {start} when num = 1.
[[nodiscard]] std::vector<double> AxisPositions(const config::PlanAxisConfig& axis);

/// A plan's points in the order they are taken:
///   count  num points, no positions
///   list   point i at every axis's positions[i]
///   line   point i at every axis's AxisPositions()[i] (the axes move together)
///   grid   every combination, the first axis slowest (row-major); with snake, each axis but
///          the first runs backwards on every other pass (pass = the index of the axes before it)
/// Each point is computed when asked for from the axes' positions: a 3000 x 3000 grid (9
/// million points) costs its 6000 positions, not two small vectors per point (over a gigabyte,
/// and seconds before the first move).
class PlanPointList {
 public:
  PlanPointList() = default;  ///< no points
  /// Fails (Invalid) on a plan the config parser would refuse.
  [[nodiscard]] static Result<PlanPointList> Make(const config::PlanConfig& plan);
  std::size_t size() const { return total_; }
  /// Return point `i` (i < size()).
  ScanPoint operator[](std::size_t i) const;

 private:
  enum class Kind { kCount, kTogether, kGrid };
  Kind kind_ = Kind::kCount;
  bool snake_ = false;
  std::size_t total_ = 0;
  std::vector<std::vector<double>> along_;  // each axis's positions
};

/// Return the number of points a plan has (PlanPointList::size), without making the list.
[[nodiscard]] std::int64_t PlanPoints(const config::PlanConfig& plan);

}  // namespace arrowdaq::app
