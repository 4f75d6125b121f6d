// newport.esp300 against the ESP300 model in tools/sim/newport_esp300.py (a real process on a
// pseudo-terminal at 19200 Bd with RTS/CTS, a ten-deep error queue, axis errors, software travel
// limits and trapezoidal motion profiles that take real time) and against a scripted session
// from the manual's examples: stale errors drained before the motors go on, axis units and
// travel limits read from the controller, positions through SendCommand, the Movable capability
// (moves that take time and are streamed while they run, Stop, limits refused before anything is
// sent, controller errors named by code).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <fstream>
#include <limits>
#include <sstream>

#include "arrowdaq/core/schema.h"
#include "arrowdaq/instruments/newport_esp300.h"
#include "arrowdaq/testing/temp_dir.h"
#include "device_test_util.h"

namespace arrowdaq::instruments {
namespace {

using namespace testing;  // NOLINT: the device test helpers
using ::testing::HasSubstr;

Movable* Motion(const std::unique_ptr<InstrumentDriver>& d) {
  return d == nullptr ? nullptr : d->movable();
}

// Poll IsMoving until the axis stops (each poll is a round trip to the controller; bounded by a
// generous wall-clock limit so a broken simulator fails instead of hanging).
Status WaitStopped(Movable& m, int axis) {
  const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (std::chrono::steady_clock::now() < give_up) {
    ARROW_ASSIGN_OR_RAISE(bool moving, m.IsMoving(axis));
    if (!moving) return Status::OK();
  }
  return Status::IOError("axis ", axis, " still moving after 60 s");
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

TEST(NewportEsp300, MovesAndPublishesPositionsInMm) {
  SimProcess sim("serial_sim.py", {"--model", "esp300"});
  ASSERT_TRUE(sim.ready());
  auto d = Create("newport.esp300", {{"axes", std::int64_t{2}}, {"batch_size", std::int64_t{3}},
                                     {"rate_hz", 100.0}});
  ASSERT_NE(d, nullptr);
  ASSERT_OK(Start(*d, SerialResource(sim)));
  EXPECT_EQ(d->schema()->field(2)->name(), "axis2");
  EXPECT_EQ(FieldUnit(*d->schema()->field(1)), "mm");
  Movable* m = Motion(d);
  ASSERT_NE(m, nullptr);
  ASSERT_OK(m->MoveTo(0, 2.5));
  ASSERT_OK(WaitStopped(*m, 0));
  ASSERT_OK_AND_ASSIGN(double p1, m->Position(0));
  EXPECT_DOUBLE_EQ(p1, 2.5);
  ASSERT_OK(m->MoveTo(1, -1.25));
  ASSERT_OK(WaitStopped(*m, 1));
  ASSERT_OK_AND_ASSIGN(auto b, ReadBatch(*d));
  for (int i = 0; i < 3; ++i) {
    EXPECT_DOUBLE_EQ(Column(*b, 1)->Value(i), 2.5);
    EXPECT_DOUBLE_EQ(Column(*b, 2)->Value(i), -1.25);
  }
  EXPECT_TRUE(m->MoveTo(2, 1.0).IsInvalid());
  EXPECT_TRUE(m->MoveTo(-1, 1.0).IsInvalid());
  EXPECT_TRUE(m->IsMoving(2).status().IsInvalid());
}

// A controller left with errors in its queue (up to ten, each read once by TE?) must still
// configure, on every reconnect.
TEST(NewportEsp300, StaleErrorsAreDrainedBeforeTheMotorsGoOn) {
  for (const char* stale : {"1", "3", "15"}) {
    SimProcess sim("serial_sim.py", {"--model", "esp300", "--stale-errors", stale});
    ASSERT_TRUE(sim.ready());
    auto d = Create("newport.esp300", {{"rate_hz", 100.0}, {"batch_size", std::int64_t{2}}});
    ASSERT_NE(d, nullptr);
    SCOPED_TRACE(std::string(stale) + " stale errors");
    ASSERT_OK(Start(*d, SerialResource(sim)));
    ASSERT_OK_AND_ASSIGN(auto b, ReadBatch(*d));
    EXPECT_DOUBLE_EQ(Column(*b, 1)->Value(0), 0.0);
  }
}

// The axis unit comes from the controller (SN?), not from an assumption.
TEST(NewportEsp300, AxisUnitsAreCheckedAgainstTheController) {
  SimProcess sim("serial_sim.py", {"--model", "esp300", "--units", "2,3"});
  ASSERT_TRUE(sim.ready());
  auto d = Create("newport.esp300", {{"axes", std::int64_t{2}}});
  ASSERT_NE(d, nullptr);
  ASSERT_OK(d->hardware().Connect(SerialResource(sim), Timeout{2000}));
  const Status st = d->Configure();
  ASSERT_TRUE(st.IsInvalid()) << st;
  EXPECT_NE(st.message().find("axis 2 is set to micrometer (2SN? answered 3), but option 'unit' "
                              "says \"mm\"; set unit = \"um\""),
            std::string::npos)
      << st;

  SimProcess um("serial_sim.py", {"--model", "esp300", "--units", "3"});
  ASSERT_TRUE(um.ready());
  auto d_um = Create("newport.esp300", {{"unit", std::string("um")}});
  ASSERT_NE(d_um, nullptr);
  EXPECT_EQ(FieldUnit(*d_um->schema()->field(1)), "um");
  ASSERT_OK(Start(*d_um, SerialResource(um)));
  EXPECT_TRUE(DriverRegistry::Default()
                  .Create("newport.esp300", {{"unit", std::string("furlong")}})
                  .status()
                  .IsInvalid());
}

// "1TP" answers without a '?': SendCommand (the actor's command path) must return its reply.
TEST(NewportEsp300, PositionQueriesWorkThroughSendCommand) {
  SimProcess sim("serial_sim.py", {"--model", "esp300"});
  ASSERT_TRUE(sim.ready());
  auto d = Create("newport.esp300", {});
  ASSERT_NE(d, nullptr);
  ASSERT_OK(Start(*d, SerialResource(sim)));
  ASSERT_OK(d->movable()->MoveTo(0, 1.5));
  ASSERT_OK(WaitStopped(*d->movable(), 0));
  ASSERT_OK_AND_ASSIGN(std::string tp, d->hardware().SendCommand("1TP", Timeout{1000}));
  EXPECT_EQ(tp, "1.50000");
  ASSERT_OK_AND_ASSIGN(std::string none, d->hardware().SendCommand("1VA10", Timeout{1000}));
  EXPECT_EQ(none, "");
  ASSERT_OK_AND_ASSIGN(std::string va, d->hardware().SendCommand("1VA?", Timeout{1000}));
  EXPECT_EQ(va, "10");
}

TEST(NewportEsp300, MoveWithTheMotorOffIsRefusedByName) {
  SimProcess sim("serial_sim.py", {"--model", "esp300"});
  ASSERT_TRUE(sim.ready());
  auto d = Create("newport.esp300", {});
  ASSERT_NE(d, nullptr);
  ASSERT_OK(Start(*d, SerialResource(sim)));
  ASSERT_OK(d->hardware().SendCommand("1MF", Timeout{1000}).status());
  const Status st = d->movable()->MoveTo(0, 3.0);
  ASSERT_TRUE(st.IsInvalid()) << st;
  EXPECT_THAT(st.message(), HasSubstr("ESP300 reported error 113 (axis 1: MOTOR NOT ENABLED) "
                                      "after '1PA3.000000'"));
  ASSERT_OK_AND_ASSIGN(double p, d->movable()->Position(0));
  EXPECT_EQ(p, 0.0) << "a refused move does not move";
}

// MoveTo returns at once: the move takes the time the profile says (5 mm at 10 mm/s and
// 50 mm/s^2: 0.7 s), MD? answers 0 until it ends, the position stream keeps flowing while the
// axis moves (monotonic, between start and target, some rows strictly inside), and the move
// ends at the target.
TEST(NewportEsp300, MoveTakesRealTimeAndIsStreamedWhileItRuns) {
  SimProcess sim("serial_sim.py",
                 {"--model", "esp300", "--velocity", "10", "--acceleration", "50"});
  ASSERT_TRUE(sim.ready());
  auto d = Create("newport.esp300", {{"rate_hz", 100.0}, {"batch_size", std::int64_t{5}}});
  ASSERT_NE(d, nullptr);
  ASSERT_OK(Start(*d, SerialResource(sim)));
  Movable* m = Motion(d);
  ASSERT_NE(m, nullptr);
  ASSERT_OK(m->MoveTo(0, 5.0));
  const auto started = std::chrono::steady_clock::now();
  ASSERT_OK_AND_ASSIGN(bool moving, m->IsMoving(0));
  EXPECT_TRUE(moving) << "MD? must answer 0 right after PA: the move takes 0.7 s";
  std::vector<double> streamed;
  int batches = 0;
  while (moving) {
    ASSERT_OK_AND_ASSIGN(auto b, ReadBatch(*d));
    auto col = Column(*b, 1);
    for (int64_t i = 0; i < col->length(); ++i) streamed.push_back(col->Value(i));
    ASSERT_OK_AND_ASSIGN(moving, m->IsMoving(0));
    ASSERT_LT(++batches, 2000) << "the move never ended";
  }
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  EXPECT_GE(seconds, 0.5) << "a 0.7 s move ended early";
  int inside = 0;
  for (std::size_t i = 0; i < streamed.size(); ++i) {
    EXPECT_GE(streamed[i], 0.0);
    EXPECT_LE(streamed[i], 5.0);
    if (i > 0) {
      EXPECT_GE(streamed[i], streamed[i - 1]) << "row " << i;
    }
    if (streamed[i] > 0.0 && streamed[i] < 5.0) ++inside;
  }
  EXPECT_GE(inside, 3) << "positions streamed during the move";
  ASSERT_OK_AND_ASSIGN(double end, m->Position(0));
  EXPECT_NEAR(end, 5.0, 1e-6);
}

// Stop halts the axis short of the target (5 s away); it stays there: the stream shows it.
TEST(NewportEsp300, StopMidMoveHaltsShortOfTheTarget) {
  SimProcess sim("serial_sim.py", {"--model", "esp300", "--velocity", "10"});
  ASSERT_TRUE(sim.ready());
  auto d = Create("newport.esp300", {{"rate_hz", 100.0}, {"batch_size", std::int64_t{3}}});
  ASSERT_NE(d, nullptr);
  ASSERT_OK(Start(*d, SerialResource(sim)));
  Movable* m = Motion(d);
  ASSERT_OK(m->MoveTo(0, 50.0));  // 5 s at 10 mm/s
  double p = 0;
  for (int polls = 0; p < 1.0; ++polls) {
    ASSERT_OK_AND_ASSIGN(p, m->Position(0));
    ASSERT_LT(polls, 1000000) << "the axis never moved";
  }
  ASSERT_OK(m->Stop(0));
  ASSERT_OK(WaitStopped(*m, 0));  // a real axis decelerates; this one stops at once
  ASSERT_OK_AND_ASSIGN(double stopped, m->Position(0));
  EXPECT_GE(stopped, 1.0);
  EXPECT_LT(stopped, 45.0) << "Stop must halt the move well short of 50";
  ASSERT_OK_AND_ASSIGN(auto b, ReadBatch(*d));
  for (int64_t i = 0; i < b->num_rows(); ++i) EXPECT_EQ(Column(*b, 1)->Value(i), stopped);
}

// Soft limits: the options' (known before Connect, in Axes()) and the controller's SL/SR (read
// at Configure) each refuse a target, saying which, before anything is sent: the simulator's
// command log holds no PA until an allowed move.
TEST(NewportEsp300, TargetsOutsideEitherLimitAreRefusedBeforeAnyPa) {
  arrowdaq::testing::TempDir dir;
  const std::string log = dir.path() + "/commands.log";
  SimProcess sim("serial_sim.py", {"--model", "esp300", "--left-limit", "-30", "--right-limit",
                                   "20", "--log", log});
  ASSERT_TRUE(sim.ready());
  auto d = Create("newport.esp300", {{"axis1_min", -50.0}, {"axis1_max", 40.0}});
  ASSERT_NE(d, nullptr);
  Movable* m = Motion(d);
  ASSERT_NE(m, nullptr);
  ASSERT_EQ(m->Axes().size(), 1u);
  EXPECT_EQ(m->Axes()[0].name, "axis1");
  EXPECT_EQ(m->Axes()[0].unit, "mm");
  EXPECT_EQ(m->Axes()[0].min, -50.0);
  EXPECT_EQ(m->Axes()[0].max, 40.0);
  ASSERT_OK(Start(*d, SerialResource(sim)));

  Status st = m->MoveTo(0, 45.0);
  ASSERT_TRUE(st.IsInvalid()) << st;
  EXPECT_THAT(st.message(), HasSubstr("axis1: target 45 mm is outside the soft limits [-50, 40] "
                                      "of options 'axis1_min'/'axis1_max'; nothing moved"));
  st = m->MoveTo(0, 25.0);
  ASSERT_TRUE(st.IsInvalid()) << st;
  EXPECT_THAT(st.message(), HasSubstr("axis1: target 25 mm is outside the controller's software "
                                      "travel limits [-30, 20] (1SL?, 1SR?); nothing moved"));
  st = m->MoveTo(0, -40.0);
  ASSERT_TRUE(st.IsInvalid()) << st;
  EXPECT_THAT(st.message(), HasSubstr("[-30, 20] (1SL?, 1SR?)"));
  EXPECT_TRUE(m->MoveTo(0, std::numeric_limits<double>::quiet_NaN()).IsInvalid());
  ASSERT_OK_AND_ASSIGN(double p, m->Position(0));
  EXPECT_EQ(p, 0.0);
  EXPECT_EQ(ReadFile(log).find("PA"), std::string::npos) << ReadFile(log);

  // An allowed move is sent and shows in the same log (so the check above can fail).
  ASSERT_OK(m->MoveTo(0, 19.5));
  EXPECT_THAT(ReadFile(log), HasSubstr("1PA19.500000"));
  ASSERT_OK(WaitStopped(*m, 0));

  // The simulator itself refuses a PA beyond SR or SL with the manual's codes (xx06, xx07).
  ASSERT_OK(d->hardware().SendCommand("1PA21", Timeout{1000}).status());
  ASSERT_OK_AND_ASSIGN(std::string te, d->hardware().SendCommand("TE?", Timeout{1000}));
  EXPECT_EQ(te, "106");
  ASSERT_OK(d->hardware().SendCommand("1PA-31", Timeout{1000}).status());
  ASSERT_OK_AND_ASSIGN(te, d->hardware().SendCommand("TE?", Timeout{1000}));
  EXPECT_EQ(te, "107");
  ASSERT_OK_AND_ASSIGN(p, m->Position(0));
  EXPECT_DOUBLE_EQ(p, 19.5);
}

// A fault during the move (the simulator's following error at 2 mm) is an error from IsMoving
// with the controller's code and its name; the axis stands where it faulted.
TEST(NewportEsp300, FaultDuringAMoveIsReportedWithItsCodeAndName) {
  SimProcess sim("serial_sim.py",
                 {"--model", "esp300", "--velocity", "10", "--fault-at", "1:2.0"});
  ASSERT_TRUE(sim.ready());
  auto d = Create("newport.esp300", {});
  ASSERT_NE(d, nullptr);
  ASSERT_OK(Start(*d, SerialResource(sim)));
  Movable* m = Motion(d);
  ASSERT_OK(m->MoveTo(0, 5.0));
  const Status st = WaitStopped(*m, 0);
  ASSERT_TRUE(st.IsInvalid()) << st;
  EXPECT_THAT(st.message(), HasSubstr("ESP300 reported error 103 (axis 1: FOLLOWING ERROR "
                                      "THRESHOLD EXCEEDED) while axis1"));
  ASSERT_OK_AND_ASSIGN(double p, m->Position(0));
  EXPECT_DOUBLE_EQ(p, 2.0);
  ASSERT_OK_AND_ASSIGN(bool moving, m->IsMoving(0));
  EXPECT_FALSE(moving) << "the error was read once; the axis stands still";
}

// A move still running after move_timeout_ms is stopped and reported.
TEST(NewportEsp300, MoveLongerThanTheTimeoutIsStopped) {
  SimProcess sim("serial_sim.py", {"--model", "esp300", "--velocity", "10"});
  ASSERT_TRUE(sim.ready());
  auto d = Create("newport.esp300", {{"move_timeout_ms", std::int64_t{300}}});
  ASSERT_NE(d, nullptr);
  ASSERT_OK(Start(*d, SerialResource(sim)));
  Movable* m = Motion(d);
  ASSERT_OK(m->MoveTo(0, 80.0));  // 8 s
  const Status st = WaitStopped(*m, 0);
  ASSERT_TRUE(st.IsIOError()) << st;
  EXPECT_THAT(st.message(), HasSubstr("axis1 still moving after 300 ms (option "
                                      "'move_timeout_ms'); sent 1ST"));
  ASSERT_OK_AND_ASSIGN(bool moving, m->IsMoving(0));
  EXPECT_FALSE(moving);
  ASSERT_OK_AND_ASSIGN(double p, m->Position(0));
  EXPECT_LT(p, 80.0);
}

// Limits a controller reports that are no range, and targets too large to send, are refused.
TEST(NewportEsp300, NonsenseLimitsAndHugeTargetsAreRefused) {
  SimProcess inverted("serial_sim.py",
                      {"--model", "esp300", "--left-limit", "5", "--right-limit", "-5"});
  ASSERT_TRUE(inverted.ready());
  auto d = Create("newport.esp300", {});
  ASSERT_NE(d, nullptr);
  ASSERT_OK(d->hardware().Connect(SerialResource(inverted), Timeout{2000}));
  const Status st = d->Configure();
  ASSERT_TRUE(st.IsInvalid()) << st;
  EXPECT_THAT(st.message(), HasSubstr("axis 1 reports software travel limits [5, -5] (1SL?, "
                                      "1SR?): not a range"));

  SimProcess wide("serial_sim.py", {"--model", "esp300", "--right-limit", "1e300"});
  ASSERT_TRUE(wide.ready());
  auto w = Create("newport.esp300", {});
  ASSERT_NE(w, nullptr);
  ASSERT_OK(Start(*w, SerialResource(wide)));
  const Status huge = w->movable()->MoveTo(0, 1e200);
  ASSERT_TRUE(huge.IsInvalid()) << huge;
  EXPECT_THAT(huge.message(), HasSubstr("target 1e+200 is too large to send; nothing moved"));
}

TEST(NewportEsp300, SoftLimitOptionsAreChecked) {
  auto& registry = DriverRegistry::Default();
  auto bad = registry.Create("newport.esp300", {{"axis1_min", 5.0}, {"axis1_max", 1.0}});
  ASSERT_TRUE(bad.status().IsInvalid());
  EXPECT_THAT(bad.status().message(),
              HasSubstr("option 'axis1_min' (5) must be below 'axis1_max' (1)"));
  bad = registry.Create("newport.esp300", {{"axis2_max", 1.0}});
  ASSERT_TRUE(bad.status().IsInvalid());
  EXPECT_THAT(bad.status().message(),
              HasSubstr("option 'axis2_max' is set, but 'axes' is 1: there is no axis 2"));
  auto d = Create("newport.esp300", {{"axes", std::int64_t{3}}, {"axis3_max", 7.0}});
  ASSERT_NE(d, nullptr);
  const auto& axes = d->movable()->Axes();
  ASSERT_EQ(axes.size(), 3u);
  EXPECT_EQ(axes[0].min, -std::numeric_limits<double>::infinity());
  EXPECT_EQ(axes[2].max, 7.0);
  EXPECT_EQ(axes[2].name, "axis3");
  // Not connected: a move is refused, nothing crashes.
  EXPECT_FALSE(d->movable()->MoveTo(0, 1.0).ok());
  EXPECT_FALSE(d->movable()->IsMoving(0).ok());
  EXPECT_FALSE(d->movable()->Stop(0).ok());
}

TEST(NewportEsp300, WithoutRtsCtsTheControllerDoesNotAnswer) {
  SimProcess sim("serial_sim.py", {"--model", "esp300"});
  ASSERT_TRUE(sim.ready());
  auto d = Create("newport.esp300", {{"flow_control", std::string("none")},
                                     {"timeout_ms", std::int64_t{300}}});
  ASSERT_NE(d, nullptr);
  ASSERT_OK(d->hardware().Connect(SerialResource(sim), Timeout{2000}));
  const Status st = d->Configure();
  ASSERT_TRUE(st.IsIOError()) << st;
  EXPECT_NE(st.message().find("flow control none"), std::string::npos) << st;
}

TEST(NewportEsp300, ScriptedSessionFromTheManual) {
  auto session = StartSession("newport_esp300.txt");
  ASSERT_TRUE(session->ready());
  auto d = Create("newport.esp300", {{"batch_size", std::int64_t{3}}, {"rate_hz", 100.0}});
  ASSERT_NE(d, nullptr);
  ASSERT_OK(Start(*d, SerialResource(*session)));
  ASSERT_OK_AND_ASSIGN(auto b, ReadBatch(*d));
  EXPECT_EQ(session->NextLine(), "COMPLETE");
  auto v = Column(*b, 1);
  ASSERT_EQ(v->length(), 3);
  EXPECT_DOUBLE_EQ(v->Value(0), 5.32);
  EXPECT_DOUBLE_EQ(v->Value(1), 5.33);
  EXPECT_DOUBLE_EQ(v->Value(2), 7.52);
}

}  // namespace
}  // namespace arrowdaq::instruments
