// newport.esp300 against the ESP300 model in tools/sim/newport_esp300.py (a real process on a
// pseudo-terminal at 19200 Bd with RTS/CTS, a ten-deep error queue, axis errors and trapezoidal
// motion profiles) and against a scripted session from the manual's examples: stale errors
// drained before the motors go on, axis units read from the controller, positions through
// SendCommand, moves that follow the profile, a move with the motor off refused by name.
#include <gtest/gtest.h>

#include "arrowdaq/core/schema.h"
#include "arrowdaq/instruments/newport_esp300.h"
#include "device_test_util.h"

namespace arrowdaq::instruments {
namespace {

using namespace testing;  // NOLINT: the device test helpers

NewportEsp300Driver* Esp(const std::unique_ptr<InstrumentDriver>& d) {
  return dynamic_cast<NewportEsp300Driver*>(d.get());
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
  auto* esp = Esp(d);
  ASSERT_NE(esp, nullptr);
  ASSERT_OK(esp->MoveAbsolute(1, 2.5));
  ASSERT_OK_AND_ASSIGN(double p1, esp->Position(1));
  EXPECT_DOUBLE_EQ(p1, 2.5);
  ASSERT_OK(esp->MoveAbsolute(2, -1.25));
  ASSERT_OK_AND_ASSIGN(auto b, ReadBatch(*d));
  for (int i = 0; i < 3; ++i) {
    EXPECT_DOUBLE_EQ(Column(*b, 1)->Value(i), 2.5);
    EXPECT_DOUBLE_EQ(Column(*b, 2)->Value(i), -1.25);
  }
  EXPECT_TRUE(esp->MoveAbsolute(4, 1.0).IsInvalid());
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
  ASSERT_OK(Esp(d)->MoveAbsolute(1, 1.5));
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
  const Status st = Esp(d)->MoveAbsolute(1, 3.0);
  ASSERT_TRUE(st.IsInvalid()) << st;
  EXPECT_NE(st.message().find("ESP300 reported error 113 (axis 1: MOTOR NOT ENABLED) after "
                              "'1PA3.000000'"),
            std::string::npos)
      << st;
  ASSERT_OK_AND_ASSIGN(double p, Esp(d)->Position(1));
  EXPECT_EQ(p, 0.0) << "a refused move does not move";
}

// MD? answers 0 while the trapezoidal profile runs; positions along it only grow toward the
// target, and the move ends exactly there.
TEST(NewportEsp300, MotionDoneFollowsTheProfile) {
  SimProcess sim("serial_sim.py", {"--model", "esp300", "--velocity", "10", "--acceleration",
                                   "50"});
  ASSERT_TRUE(sim.ready());
  auto d = Create("newport.esp300", {});
  ASSERT_NE(d, nullptr);
  ASSERT_OK(Start(*d, SerialResource(sim)));
  auto* esp = Esp(d);
  ASSERT_OK(esp->MoveAbsolute(1, 5.0, /*wait=*/false));  // 0.7 s at 10 mm/s, 50 mm/s^2
  double last = 0;
  int polls = 0;
  while (true) {
    ASSERT_OK_AND_ASSIGN(std::string done, d->hardware().SendCommand("1MD?", Timeout{1000}));
    ASSERT_OK_AND_ASSIGN(double p, esp->Position(1));
    EXPECT_GE(p, last);
    EXPECT_LE(p, 5.0);
    last = p;
    ++polls;
    if (done == "1") break;
    ASSERT_LT(polls, 100000) << "the move never ended";
  }
  ASSERT_OK_AND_ASSIGN(double end, esp->Position(1));
  EXPECT_DOUBLE_EQ(end, 5.0);
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
