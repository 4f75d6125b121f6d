#include "arrowdaq/app/scan_plan.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace arrowdaq::app {

Result<Reduction> ParseReduction(std::string_view text) {
  if (text == "mean") return Reduction::kMean;
  if (text == "std") return Reduction::kStd;
  if (text == "min") return Reduction::kMin;
  if (text == "max") return Reduction::kMax;
  if (text == "count") return Reduction::kCount;
  return Status::Invalid("unknown reduction \"", std::string(text),
                         "\" (expected mean, std, min, max or count)");
}

std::string_view ToString(Reduction reduction) {
  switch (reduction) {
    case Reduction::kMean: return "mean";
    case Reduction::kStd: return "std";
    case Reduction::kMin: return "min";
    case Reduction::kMax: return "max";
    case Reduction::kCount: return "count";
  }
  return "mean";
}

double Reduce(Reduction reduction, const double* values, std::size_t n) {
  if (reduction == Reduction::kCount) return static_cast<double>(n);
  if (n == 0) return std::numeric_limits<double>::quiet_NaN();
  switch (reduction) {
    case Reduction::kMin: return *std::min_element(values, values + n);
    case Reduction::kMax: return *std::max_element(values, values + n);
    case Reduction::kMean:
    case Reduction::kStd: {
      double sum = 0;
      for (std::size_t i = 0; i < n; ++i) sum += values[i];
      const double mean = sum / static_cast<double>(n);
      if (reduction == Reduction::kMean) return mean;
      double squares = 0;  // two passes: no cancellation for a large offset
      for (std::size_t i = 0; i < n; ++i) squares += (values[i] - mean) * (values[i] - mean);
      return std::sqrt(squares / static_cast<double>(n));
    }
    case Reduction::kCount: break;
  }
  return std::numeric_limits<double>::quiet_NaN();
}

std::vector<double> AxisPositions(const config::PlanAxisConfig& axis) {
  std::vector<double> out;
  if (axis.num <= 0) return out;
  out.reserve(static_cast<std::size_t>(axis.num));
  if (axis.num == 1) return {axis.start};
  const double step = (axis.stop - axis.start) / static_cast<double>(axis.num - 1);
  for (std::int64_t i = 0; i < axis.num; ++i) {
    out.push_back(axis.start + static_cast<double>(i) * step);
  }
  out.back() = axis.stop;
  return out;
}

std::int64_t PlanPoints(const config::PlanConfig& plan) {
  if (plan.kind == "count") return plan.num;
  if (plan.axes.empty()) return 0;
  if (plan.kind == "list") return static_cast<std::int64_t>(plan.axes[0].positions.size());
  if (plan.kind == "line") return plan.axes[0].num;
  std::int64_t points = 1;
  for (const auto& a : plan.axes) {
    if (a.num <= 0 || points > config::kMaxPlanPoints / a.num) return -1;
    points *= a.num;
  }
  return points;
}

Result<PlanPointList> PlanPointList::Make(const config::PlanConfig& plan) {
  const std::int64_t total = PlanPoints(plan);
  if (total < 1 || total > config::kMaxPlanPoints) {
    return Status::Invalid("plan '", plan.name, "': ", total, " points (expected 1 to ",
                           config::kMaxPlanPoints, ")");
  }
  PlanPointList list;
  list.total_ = static_cast<std::size_t>(total);
  list.snake_ = plan.snake;
  if (plan.kind == "count") return list;
  if (plan.kind == "list" || plan.kind == "line") {
    list.kind_ = Kind::kTogether;
    for (const auto& a : plan.axes) {
      list.along_.push_back(plan.kind == "list" ? a.positions : AxisPositions(a));
      if (list.along_.back().size() != list.total_) {
        return Status::Invalid("plan '", plan.name, "': axis ", a.motor,
                               " has a different number of points");
      }
    }
    return list;
  }
  if (plan.kind != "grid") return Status::Invalid("unknown plan kind '", plan.kind, "'");
  list.kind_ = Kind::kGrid;
  for (const auto& a : plan.axes) list.along_.push_back(AxisPositions(a));
  return list;
}

ScanPoint PlanPointList::operator[](std::size_t i) const {
  ScanPoint p;
  const std::size_t n_axes = along_.size();
  p.positions.reserve(n_axes);
  p.indices.reserve(n_axes);
  if (kind_ == Kind::kTogether) {
    for (const auto& positions : along_) {
      p.positions.push_back(positions[i]);
      p.indices.push_back(static_cast<std::int64_t>(i));
    }
    return p;
  }
  if (kind_ != Kind::kGrid) return p;
  // Row-major digits of `i`, the first axis slowest.
  std::vector<std::size_t> digit(n_axes);
  std::size_t rest = i;
  for (std::size_t j = n_axes; j-- > 0;) {
    digit[j] = rest % along_[j].size();
    rest /= along_[j].size();
  }
  std::size_t pass = 0;  // linear index of the axes before j: which pass of axis j this is
  for (std::size_t j = 0; j < n_axes; ++j) {
    const std::size_t n = along_[j].size();
    std::size_t index = digit[j];
    if (snake_ && j > 0 && pass % 2 == 1) index = n - 1 - index;
    p.positions.push_back(along_[j][index]);
    p.indices.push_back(static_cast<std::int64_t>(index));
    pass = pass * n + digit[j];
  }
  return p;
}

}  // namespace arrowdaq::app
