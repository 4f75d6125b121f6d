// newport.1830c against the 1830-C model in tools/sim/newport_1830c.py (a real process on a
// pseudo-terminal with the meter's line settings) and against a scripted session from the
// manual's examples. Each behaviour the manual and public drivers describe has its test: auto-range
// (R0) rather than the attenuator (A1), the attenuator only when fitted, echo off, run not hold,
// a pause after set commands, saturation and over-range flagged as NaN with an overload event,
// wrong line settings refused, and a hung or dropped line.
#include <arrow/util/key_value_metadata.h>
#include <gtest/gtest.h>

#include <cmath>

#include "arrowdaq/core/schema.h"
#include "device_test_util.h"

namespace arrowdaq::instruments {
namespace {

using namespace testing;  // NOLINT: the device test helpers

constexpr double kPowerW = 1.0e-4;  // the model's default input power

// Reading k of the model: P * (1 + 0.001 k), printed with 5 significant digits.
void ExpectReadings(const arrow::RecordBatch& b, int first_k, double power_w = kPowerW) {
  auto v = Column(b, 1);
  for (int i = 0; i < v->length(); ++i) {
    const double expected = power_w * (1 + 0.001 * (first_k + i));
    EXPECT_NEAR(v->Value(i), expected, expected * 1e-4) << "reading " << i;
  }
}

OptionMap Fast(OptionMap extra = {}) {
  OptionMap o = {{"batch_size", std::int64_t{4}}, {"rate_hz", 200.0}};
  for (auto& [k, v] : extra) o[k] = v;
  return o;
}

TEST(Newport1830c, ReadsPowerInWattsOverAPty) {
  SimProcess sim("serial_sim.py", {"--model", "1830c"});
  ASSERT_TRUE(sim.ready());
  auto d = Create("newport.1830c", Fast({{"wavelength_nm", std::int64_t{1064}}}));
  ASSERT_NE(d, nullptr);
  ASSERT_OK(Start(*d, SerialResource(sim)));
  EXPECT_EQ(FieldUnit(*d->schema()->field(1)), "W");
  ASSERT_OK_AND_ASSIGN(auto b, ReadBatch(*d));
  ASSERT_EQ(b->num_rows(), 4);
  ExpectReadings(*b, 0);
  ExpectIncreasingTimestamps(*b);
  EXPECT_TRUE(EventsOf(*d, "overload").empty());
}

// The manual's R0 is auto-range; A1 switches the attenuator correction on. A meter left on a
// sensitive manual range (R3, 200 nW full scale) reads 100 uW only once R0 is sent.
TEST(Newport1830c, SelectsAutoRangeWithR0) {
  SimProcess sim("serial_sim.py", {"--model", "1830c", "--range", "3"});
  ASSERT_TRUE(sim.ready());
  auto d = Create("newport.1830c", Fast());
  ASSERT_NE(d, nullptr);
  ASSERT_OK(Start(*d, SerialResource(sim)));
  ASSERT_OK_AND_ASSIGN(auto b, ReadBatch(*d));
  ExpectReadings(*b, 0);
}

// Without an attenuator on the detector, A1 makes every reading 1000x too high: A0 is sent
// unless the `attenuator` option says one is fitted, and then A1 gives the right power.
TEST(Newport1830c, AttenuatorCorrectionOnlyWhenFitted) {
  {
    SimProcess sim("serial_sim.py", {"--model", "1830c", "--attenuator", "1"});
    ASSERT_TRUE(sim.ready());
    auto d = Create("newport.1830c", Fast());
    ASSERT_NE(d, nullptr);
    ASSERT_OK(Start(*d, SerialResource(sim)));
    ASSERT_OK_AND_ASSIGN(auto b, ReadBatch(*d));
    ExpectReadings(*b, 0);
  }
  {
    SimProcess sim("serial_sim.py", {"--model", "1830c", "--attenuator-fitted"});
    ASSERT_TRUE(sim.ready());
    auto d = Create("newport.1830c", Fast({{"attenuator", true}}));
    ASSERT_NE(d, nullptr);
    ASSERT_OK(Start(*d, SerialResource(sim)));
    EXPECT_EQ(d->schema()->metadata()->Get("attenuator").ValueOr(""), "fitted");
    ASSERT_OK_AND_ASSIGN(auto b, ReadBatch(*d));
    ExpectReadings(*b, 0);
  }
}

// A meter left in echo mode sends every command back before its reply.
TEST(Newport1830c, TurnsEchoOff) {
  SimProcess sim("serial_sim.py", {"--model", "1830c", "--echo", "1"});
  ASSERT_TRUE(sim.ready());
  auto d = Create("newport.1830c", Fast());
  ASSERT_NE(d, nullptr);
  ASSERT_OK(Start(*d, SerialResource(sim)));
  ASSERT_OK_AND_ASSIGN(auto b, ReadBatch(*d));
  ExpectReadings(*b, 0);
}

// A meter left in hold mode (G0) answers D? with one frozen reading forever.
TEST(Newport1830c, LeavesHoldMode) {
  SimProcess sim("serial_sim.py", {"--model", "1830c", "--hold"});
  ASSERT_TRUE(sim.ready());
  auto d = Create("newport.1830c", Fast());
  ASSERT_NE(d, nullptr);
  ASSERT_OK(Start(*d, SerialResource(sim)));
  ASSERT_OK_AND_ASSIGN(auto b, ReadBatch(*d));
  ExpectReadings(*b, 0);
}

// A meter that is still executing a set command loses the next one: the driver pauses.
TEST(Newport1830c, PausesAfterSetCommands) {
  SimProcess sim("serial_sim.py", {"--model", "1830c", "--set-ms", "20", "--range", "3"});
  ASSERT_TRUE(sim.ready());
  auto d = Create("newport.1830c", Fast());
  ASSERT_NE(d, nullptr);
  ASSERT_OK(Start(*d, SerialResource(sim)));
  ASSERT_OK_AND_ASSIGN(auto b, ReadBatch(*d));
  ExpectReadings(*b, 0);
}

TEST(Newport1830c, SaturatedReadingsAreNaNWithAnOverloadEvent) {
  SimProcess sim("serial_sim.py", {"--model", "1830c", "--power-w", "0.05"});
  ASSERT_TRUE(sim.ready());
  auto d = Create("newport.1830c", Fast());
  ASSERT_NE(d, nullptr);
  ASSERT_OK(Start(*d, SerialResource(sim)));
  ASSERT_OK_AND_ASSIGN(auto b, ReadBatch(*d));
  auto v = Column(*b, 1);
  for (int i = 0; i < v->length(); ++i) EXPECT_TRUE(std::isnan(v->Value(i))) << v->Value(i);
  auto events = EventsOf(*d, "overload");
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].message,
            "4 of 4 readings stored as NaN (Q? status byte): 4 detector saturated");
  EXPECT_TRUE(EventsOf(*d, "overload").empty()) << "events are handed over once";
}

TEST(Newport1830c, OverRangeReadingsAreNaNWithAnOverloadEvent) {
  // 50 mW on a detector that does not saturate: above the highest range (20 mW).
  SimProcess sim("serial_sim.py",
                 {"--model", "1830c", "--power-w", "0.05", "--saturation-w", "1"});
  ASSERT_TRUE(sim.ready());
  auto d = Create("newport.1830c", Fast());
  ASSERT_NE(d, nullptr);
  ASSERT_OK(Start(*d, SerialResource(sim)));
  ASSERT_OK_AND_ASSIGN(auto b, ReadBatch(*d));
  auto v = Column(*b, 1);
  for (int i = 0; i < v->length(); ++i) EXPECT_TRUE(std::isnan(v->Value(i))) << v->Value(i);
  auto events = EventsOf(*d, "overload");
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].message, "4 of 4 readings stored as NaN (Q? status byte): 4 over range");
}

// The meter runs at 9600 8N1 without handshake: other settings get no answer, and the timeout
// names the settings used. (A Linux pty forces 8 data bits and no parity, so those two cannot
// be checked here; baud rate, stop bits and handshake can.)
TEST(Newport1830c, WrongLineSettingsAreNotUnderstood) {
  for (const OptionMap& wrong : {OptionMap{{"baud", std::int64_t{19200}}},
                                 OptionMap{{"stop_bits", std::int64_t{2}}},
                                 OptionMap{{"flow_control", std::string("rtscts")}}}) {
    SimProcess sim("serial_sim.py", {"--model", "1830c"});
    ASSERT_TRUE(sim.ready());
    OptionMap o = Fast(wrong);
    o["timeout_ms"] = std::int64_t{300};
    o["set_delay_ms"] = std::int64_t{0};
    auto d = Create("newport.1830c", o);
    ASSERT_NE(d, nullptr);
    ASSERT_OK(d->hardware().Connect(SerialResource(sim), Timeout{2000}));
    const Status st = d->Configure();
    ASSERT_TRUE(st.IsIOError()) << st;
    EXPECT_NE(st.message().find("timed out"), std::string::npos) << st;
    EXPECT_NE(st.message().find("line set to"), std::string::npos) << st;
  }
}

TEST(Newport1830c, ScriptedSessionFromTheManual) {
  auto session = StartSession("newport_1830c.txt");
  ASSERT_TRUE(session->ready());
  auto d = Create("newport.1830c", {{"batch_size", std::int64_t{3}}, {"rate_hz", 100.0}});
  ASSERT_NE(d, nullptr);
  ASSERT_OK(Start(*d, SerialResource(*session)));
  ASSERT_OK_AND_ASSIGN(auto b, ReadBatch(*d));
  EXPECT_EQ(session->NextLine(), "COMPLETE");
  auto v = Column(*b, 1);
  ASSERT_EQ(v->length(), 3);
  EXPECT_DOUBLE_EQ(v->Value(0), 5e-9);
  EXPECT_DOUBLE_EQ(v->Value(1), 0.75e-9);
  EXPECT_TRUE(std::isnan(v->Value(2)));  // Q? = 136: new reading, over range
  auto events = EventsOf(*d, "overload");
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].message, "1 of 3 readings stored as NaN (Q? status byte): 1 over range");
}

TEST(Newport1830c, HungMeterTripsTheTimeoutNamingTheLineAndCommand) {
  // Replies: U?, W?, A?, G?, Q? during the set-up, D? (6), then silence at the next Q?.
  SimProcess sim("serial_sim.py", {"--model", "1830c", "--hang-after", "6"});
  ASSERT_TRUE(sim.ready());
  auto d = Create("newport.1830c", {{"batch_size", std::int64_t{3}}, {"rate_hz", 100.0},
                                    {"timeout_ms", std::int64_t{300}}});
  ASSERT_NE(d, nullptr);
  ASSERT_OK(Start(*d, SerialResource(sim)));
  auto r = ReadBatch(*d);
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(r.status().IsIOError()) << r.status();
  EXPECT_NE(r.status().message().find(SerialResource(sim) + ": reply to 'Q?': timed out"),
            std::string::npos)
      << r.status();
}

TEST(Newport1830c, DroppedLineIsAClearError) {
  SimProcess sim("serial_sim.py", {"--model", "1830c", "--drop-after", "7"});
  ASSERT_TRUE(sim.ready());
  auto d = Create("newport.1830c", {{"batch_size", std::int64_t{3}}, {"rate_hz", 100.0},
                                    {"timeout_ms", std::int64_t{500}}});
  ASSERT_NE(d, nullptr);
  ASSERT_OK(Start(*d, SerialResource(sim)));
  // Replies: five set-up queries, D? and Q? of the first poll (7), then the line drops: the
  // first reading is kept as a short batch and the failure comes with the next read.
  ASSERT_OK_AND_ASSIGN(auto kept, ReadBatch(*d));
  ASSERT_EQ(kept->num_rows(), 1);
  ExpectReadings(*kept, 0);
  auto r = ReadBatch(*d);
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(r.status().IsIOError()) << r.status();
  EXPECT_NE(r.status().message().find(SerialResource(sim)), std::string::npos) << r.status();
}

}  // namespace
}  // namespace arrowdaq::instruments
