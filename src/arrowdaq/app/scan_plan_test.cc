#include "arrowdaq/app/scan_plan.h"

#include <gtest/gtest.h>

#include <cmath>

#include "arrowdaq/testing/gtest_util.h"

namespace arrowdaq::app {
namespace {

config::PlanAxisConfig Axis(const std::string& motor, double start, double stop,
                            std::int64_t num) {
  config::PlanAxisConfig a;
  a.motor = motor;
  a.start = start;
  a.stop = stop;
  a.num = num;
  return a;
}

// Every point of the plan, in order.
Result<std::vector<ScanPoint>> ExpandPlan(const config::PlanConfig& plan) {
  ARROW_ASSIGN_OR_RAISE(PlanPointList list, PlanPointList::Make(plan));
  std::vector<ScanPoint> points;
  for (std::size_t i = 0; i < list.size(); ++i) points.push_back(list[i]);
  return points;
}

std::vector<std::vector<double>> Positions(const std::vector<ScanPoint>& points) {
  std::vector<std::vector<double>> out;
  for (const auto& p : points) out.push_back(p.positions);
  return out;
}

TEST(ScanPlan, CountHasNumPointsAndNoPositions) {
  config::PlanConfig plan;
  plan.kind = "count";
  plan.num = 3;
  ASSERT_OK_AND_ASSIGN(auto points, ExpandPlan(plan));
  ASSERT_EQ(points.size(), 3u);
  EXPECT_TRUE(points[2].positions.empty());
}

TEST(ScanPlan, LineMovesEveryAxisTogetherEndingExactlyAtStop) {
  config::PlanConfig plan;
  plan.kind = "line";
  plan.axes = {Axis("m", 0, 1, 4), Axis("n", 10, 7, 4)};
  ASSERT_OK_AND_ASSIGN(auto points, ExpandPlan(plan));
  const std::vector<std::vector<double>> expected = {
      {0, 10}, {1.0 / 3, 9}, {2.0 / 3, 8}, {1, 7}};
  ASSERT_EQ(points.size(), 4u);
  for (std::size_t i = 0; i < 4; ++i) {
    EXPECT_NEAR(points[i].positions[0], expected[i][0], 1e-15);
    EXPECT_EQ(points[i].positions[1], expected[i][1]);
    EXPECT_EQ(points[i].indices[1], static_cast<std::int64_t>(i));
  }
  EXPECT_EQ(points[3].positions[0], 1.0);  // exactly stop, as numpy.linspace
  plan.axes = {Axis("m", 5, 9, 1)};
  ASSERT_OK_AND_ASSIGN(points, ExpandPlan(plan));
  EXPECT_EQ(Positions(points), (std::vector<std::vector<double>>{{5}}));
}

TEST(ScanPlan, ListTakesThePositionsInOrder) {
  config::PlanConfig plan;
  plan.kind = "list";
  config::PlanAxisConfig a;
  a.motor = "m";
  a.positions = {3, -1, 2};
  plan.axes = {a};
  ASSERT_OK_AND_ASSIGN(auto points, ExpandPlan(plan));
  EXPECT_EQ(Positions(points), (std::vector<std::vector<double>>{{3}, {-1}, {2}}));
}

TEST(ScanPlan, GridIsRowMajorFirstAxisSlowest) {
  config::PlanConfig plan;
  plan.kind = "grid";
  plan.axes = {Axis("y", 0, 1, 2), Axis("x", 0, 2, 3)};
  ASSERT_OK_AND_ASSIGN(auto points, ExpandPlan(plan));
  EXPECT_EQ(Positions(points), (std::vector<std::vector<double>>{
                                   {0, 0}, {0, 1}, {0, 2}, {1, 0}, {1, 1}, {1, 2}}));
  EXPECT_EQ(points[4].indices, (std::vector<std::int64_t>{1, 1}));
}

TEST(ScanPlan, SnakeReversesEveryOtherPassOfEachFasterAxis) {
  config::PlanConfig plan;
  plan.kind = "grid";
  plan.snake = true;
  plan.axes = {Axis("y", 0, 2, 3), Axis("x", 0, 1, 2)};
  ASSERT_OK_AND_ASSIGN(auto points, ExpandPlan(plan));
  EXPECT_EQ(Positions(points), (std::vector<std::vector<double>>{
                                   {0, 0}, {0, 1}, {1, 1}, {1, 0}, {2, 0}, {2, 1}}));
  EXPECT_EQ(points[2].indices, (std::vector<std::int64_t>{1, 1}));
  // Three axes: the middle axis snakes along the slowest, the fastest along both.
  plan.axes = {Axis("z", 0, 1, 2), Axis("y", 0, 1, 2), Axis("x", 0, 1, 2)};
  ASSERT_OK_AND_ASSIGN(points, ExpandPlan(plan));
  EXPECT_EQ(Positions(points), (std::vector<std::vector<double>>{{0, 0, 0},
                                                                 {0, 0, 1},
                                                                 {0, 1, 1},
                                                                 {0, 1, 0},
                                                                 {1, 1, 0},
                                                                 {1, 1, 1},
                                                                 {1, 0, 1},
                                                                 {1, 0, 0}}));
}

TEST(ScanPlan, TooManyPointsIsAnErrorNotAnAllocation) {
  config::PlanConfig plan;
  plan.kind = "grid";
  plan.axes = {Axis("a", 0, 1, 100000), Axis("b", 0, 1, 100000)};
  EXPECT_FALSE(ExpandPlan(plan).ok());
  EXPECT_EQ(PlanPoints(plan), -1);
}

TEST(ScanPlan, ReductionsMatchTheirDefinitions) {
  const double v[] = {1e9 + 1, 1e9 + 2, 1e9 + 3, 1e9 + 6};
  EXPECT_DOUBLE_EQ(Reduce(Reduction::kMean, v, 4), 1e9 + 3);
  // Population std of {1, 2, 3, 6} around a large offset: sqrt((4 + 1 + 0 + 9) / 4).
  EXPECT_NEAR(Reduce(Reduction::kStd, v, 4), std::sqrt(3.5), 1e-9);
  EXPECT_EQ(Reduce(Reduction::kMin, v, 4), 1e9 + 1);
  EXPECT_EQ(Reduce(Reduction::kMax, v, 4), 1e9 + 6);
  EXPECT_EQ(Reduce(Reduction::kCount, v, 4), 4);
  EXPECT_EQ(Reduce(Reduction::kCount, v, 0), 0);
  EXPECT_TRUE(std::isnan(Reduce(Reduction::kMean, v, 0)));
  EXPECT_TRUE(std::isnan(Reduce(Reduction::kMax, v, 0)));
  ASSERT_OK_AND_ASSIGN(auto r, ParseReduction("std"));
  EXPECT_EQ(r, Reduction::kStd);
  EXPECT_FALSE(ParseReduction("median").ok());
}


TEST(ScanPlan, ALargeSnakeGridIsComputedPointByPoint) {
  // 3000 x 3000 = 9 million points: a list of them would be over a gigabyte.
  config::PlanConfig plan;
  plan.kind = "grid";
  plan.snake = true;
  plan.axes = {Axis("y", 0, 2999, 3000), Axis("x", -1, 1, 3000)};
  ASSERT_OK_AND_ASSIGN(auto points, PlanPointList::Make(plan));
  ASSERT_EQ(points.size(), 9'000'000u);
  auto at = [&](std::size_t i) { return points[i]; };
  // Row 0 runs forwards, row 1 backwards (snake), the last row (2999, odd) backwards.
  EXPECT_EQ(at(0).positions, (std::vector<double>{0, -1}));
  EXPECT_EQ(at(2999).positions, (std::vector<double>{0, 1}));
  EXPECT_EQ(at(3000).positions, (std::vector<double>{1, 1}));
  EXPECT_EQ(at(3000).indices, (std::vector<std::int64_t>{1, 2999}));
  EXPECT_EQ(at(5999).indices, (std::vector<std::int64_t>{1, 0}));
  EXPECT_EQ(at(8'999'999).positions, (std::vector<double>{2999, -1}));
  EXPECT_EQ(at(8'999'999).indices, (std::vector<std::int64_t>{2999, 0}));
  plan.axes[0].num = 0;
  EXPECT_FALSE(PlanPointList::Make(plan).ok());
}

}  // namespace
}  // namespace arrowdaq::app
