#include "arrowdaq/instruments/sim_motor_driver.h"

#include <arrow/array.h>
#include <gtest/gtest.h>

#include <cmath>
#include <memory>

#include "arrowdaq/testing/gtest_util.h"

namespace arrowdaq::instruments {
namespace {

constexpr std::int64_t kSec = 1'000'000'000;

// A clock the test moves by hand.
struct FakeClock {
  std::shared_ptr<std::int64_t> now = std::make_shared<std::int64_t>(1'000 * kSec);
  SimMotorDriver::Clock fn() const {
    return [n = now] { return *n; };
  }
  void Advance(double seconds) { *now += static_cast<std::int64_t>(seconds * 1e9); }
};

std::unique_ptr<SimMotorDriver> MakeMotor(const FakeClock& clock, SimMotorOptions o) {
  auto made = SimMotorDriver::Make(o, clock.fn());
  EXPECT_TRUE(made.ok()) << made.status().ToString();
  auto driver = std::move(made).ValueOrDie();
  EXPECT_TRUE(driver->hardware().Connect("SIM::motor", hardware::Timeout{100}).ok());
  EXPECT_TRUE(driver->Configure().ok());
  return driver;
}

TEST(TrapezoidMove, TrapezoidAndTriangleFollowTheFormulas) {
  // v = 10, a = 100: reaching v takes 0.1 s over 0.5 units; 10 units = 0.1 + 0.9 + 0.1 s.
  TrapezoidMove m{0, 10, 0, 10, 100};
  EXPECT_NEAR(m.Duration(), 1.1, 1e-12);
  EXPECT_NEAR(m.PositionAt(kSec / 20), 0.5 * 100 * 0.05 * 0.05, 1e-9);              // accelerating
  EXPECT_NEAR(m.PositionAt(kSec / 2), 0.5 + 10 * 0.4, 1e-9);                        // cruising
  EXPECT_NEAR(m.PositionAt(kSec + kSec / 20), 10 - 0.5 * 100 * 0.05 * 0.05, 1e-9);  // braking
  EXPECT_EQ(m.PositionAt(m.EndNs()), 10);
  EXPECT_EQ(m.PositionAt(-5), 0);
  // 0.25 units never reach v: a triangle of 2 * sqrt(0.25 / 100) = 0.1 s, downward.
  TrapezoidMove t{1, 0.75, 0, 10, 100};
  EXPECT_NEAR(t.Duration(), 0.1, 1e-12);
  EXPECT_NEAR(t.PositionAt(kSec / 20), 1 - 0.125, 1e-9);
  EXPECT_EQ(TrapezoidMove{}.Duration(), 0);
}

TEST(SimMotor, MoveTakesTheProfileTimeAndStopsAtTheTarget) {
  FakeClock clock;
  SimMotorOptions o;
  o.axes = {"x", "y"};
  auto m = MakeMotor(clock, o);
  ASSERT_EQ(m->Axes().size(), 2u);
  EXPECT_EQ(m->Axes()[1].name, "y");
  ASSERT_OK(m->MoveTo(0, 10));
  ASSERT_OK_AND_ASSIGN(bool moving, m->IsMoving(0));
  EXPECT_TRUE(moving);
  ASSERT_OK_AND_ASSIGN(bool y_moving, m->IsMoving(1));
  EXPECT_FALSE(y_moving);
  clock.Advance(0.5);
  ASSERT_OK_AND_ASSIGN(double x, m->Position(0));
  EXPECT_NEAR(x, 4.5, 1e-9);
  clock.Advance(0.6);
  ASSERT_OK_AND_ASSIGN(moving, m->IsMoving(0));
  EXPECT_FALSE(moving);
  ASSERT_OK_AND_ASSIGN(x, m->Position(0));
  EXPECT_EQ(x, 10);
  ASSERT_OK_AND_ASSIGN(std::string reply, m->hardware().SendCommand("POS? x", {}));
  EXPECT_EQ(reply, "10");
  EXPECT_FALSE(m->hardware().SendCommand("POS? z", {}).ok());
}

TEST(SimMotor, LimitsAreRefusedAndNothingMoves) {
  FakeClock clock;
  SimMotorOptions o;
  o.min = -1;
  o.max = 1;
  auto m = MakeMotor(clock, o);
  Status st = m->MoveTo(0, 1.5);
  EXPECT_TRUE(st.IsInvalid()) << st.ToString();
  EXPECT_NE(st.message().find("outside the soft limits [-1, 1]"), std::string::npos)
      << st.ToString();
  EXPECT_FALSE(m->MoveTo(0, std::nan("")).ok());
  ASSERT_OK_AND_ASSIGN(bool moving, m->IsMoving(0));
  EXPECT_FALSE(moving);
  EXPECT_FALSE(m->MoveTo(3, 0).ok());
  ASSERT_OK(m->MoveTo(0, 1));  // the limit itself is inside
}

TEST(SimMotor, FaultAtMoveFaultsHalfwayAndNeedsAReset) {
  FakeClock clock;
  SimMotorOptions o;
  o.fault_at_move = 2;
  auto m = MakeMotor(clock, o);
  ASSERT_OK(m->MoveTo(0, 1));
  clock.Advance(5);
  ASSERT_OK_AND_ASSIGN(bool moving, m->IsMoving(0));
  EXPECT_FALSE(moving);
  ASSERT_OK(m->MoveTo(0, 11));  // 10 units: 1.1 s, the fault at 0.55 s (position 6)
  clock.Advance(0.5);
  ASSERT_OK_AND_ASSIGN(moving, m->IsMoving(0));
  EXPECT_TRUE(moving);
  clock.Advance(0.1);
  auto faulted = m->IsMoving(0);
  ASSERT_FALSE(faulted.ok());
  EXPECT_NE(faulted.status().message().find("following error at move 2"), std::string::npos);
  EXPECT_FALSE(m->Position(0).ok());
  EXPECT_FALSE(m->MoveTo(0, 0).ok());
  ASSERT_OK(m->Stop(0));
  // The stream keeps showing where it stopped.
  ASSERT_OK_AND_ASSIGN(auto raw, m->hardware().ReadRawData(hardware::Timeout{1000}));
  ASSERT_OK_AND_ASSIGN(auto batch, m->Decode(raw));
  ASSERT_EQ(batch->num_rows(), 1);
  EXPECT_NEAR(std::static_pointer_cast<arrow::DoubleArray>(batch->column(1))->Value(0), 6.0, 1e-9);
  auto pos = m->hardware().SendCommand("POS? x", hardware::Timeout{100});
  EXPECT_FALSE(pos.ok());  // the faulted axis answers with the fault
  // A reconnect resets it.
  ASSERT_OK(m->Configure());
  ASSERT_OK_AND_ASSIGN(double x, m->Position(0));
  EXPECT_EQ(x, 0);
}

TEST(SimMotor, StopHaltsWhereTheAxisIs) {
  FakeClock clock;
  auto m = MakeMotor(clock, SimMotorOptions{});
  ASSERT_OK(m->MoveTo(0, 10));
  clock.Advance(0.5);
  ASSERT_OK(m->Stop(0));
  clock.Advance(2);
  ASSERT_OK_AND_ASSIGN(double x, m->Position(0));
  EXPECT_NEAR(x, 4.5, 1e-9);
  ASSERT_OK_AND_ASSIGN(bool moving, m->IsMoving(0));
  EXPECT_FALSE(moving);
}

TEST(SimMotor, StreamHasOneColumnPerAxisAndOptionsAreChecked) {
  FakeClock clock;
  SimMotorOptions o;
  o.axes = {"x", "theta"};
  auto m = MakeMotor(clock, o);
  EXPECT_EQ(m->schema()->field(2)->name(), "theta");
  EXPECT_EQ(m->schema()->num_fields(), 3);
  o.axes = {"x", "x"};
  EXPECT_FALSE(SimMotorDriver::Make(o).ok());
  o.axes = {"timestamp"};
  EXPECT_FALSE(SimMotorDriver::Make(o).ok());
  o.axes = {"x"};
  o.start = 500;
  EXPECT_FALSE(SimMotorDriver::Make(o).ok());
  auto by_name =
      DriverRegistry::Default().Create("sim.motor", {{"axes", std::string("a, b")}, {"max", 5.0}});
  ASSERT_OK(by_name.status());
  ASSERT_NE((*by_name)->movable(), nullptr);
  EXPECT_EQ((*by_name)->movable()->Axes()[1].name, "b");
  EXPECT_EQ((*by_name)->movable()->Axes()[1].max, 5.0);
}

}  // namespace
}  // namespace arrowdaq::instruments
