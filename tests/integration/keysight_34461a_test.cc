// keysight.34461a against the 34461A model in tools/sim/keysight_34461a.py (a real process on a
// TCP socket, with integration and autozero delays and an error queue) and against a scripted
// session from the Truevolt guide's examples: the NPLC values the meter has, the rate its
// integration time allows, a READ? timeout that follows the integration time, overload readings
// stored as infinities with an event, and a hung, garbled or dropped connection.
#include <gtest/gtest.h>

#include <cmath>

#include "arrowdaq/core/schema.h"
#include "device_test_util.h"

namespace arrowdaq::instruments {
namespace {

using namespace testing;  // NOLINT: the device test helpers

OptionMap Options(OptionMap extra) {
  OptionMap o = {{"nplc", 0.02}, {"rate_hz", 100.0}, {"batch_size", std::int64_t{3}}};
  for (auto& [k, v] : extra) o[k] = v;
  return o;
}

TEST(Keysight34461a, ReadsDeterministicVoltsAcrossBatches) {
  SimProcess sim("scpi_server.py", {"--model", "34461a"});
  ASSERT_TRUE(sim.ready());
  auto d = Create("keysight.34461a", Options({{"rate_hz", 200.0}, {"batch_size", std::int64_t{5}}}));
  ASSERT_NE(d, nullptr);
  ASSERT_OK(Start(*d, TcpResource(sim)));
  EXPECT_EQ(d->schema()->field(1)->name(), "voltage");
  EXPECT_EQ(FieldUnit(*d->schema()->field(1)), "V");
  for (int batch = 0; batch < 2; ++batch) {
    ASSERT_OK_AND_ASSIGN(auto b, ReadBatch(*d));
    ASSERT_EQ(b->num_rows(), 5);
    auto v = Column(*b, 1);
    for (int i = 0; i < 5; ++i) EXPECT_DOUBLE_EQ(v->Value(i), 1.0 + 0.001 * (batch * 5 + i));
    ExpectIncreasingTimestamps(*b);
  }
  EXPECT_TRUE(EventsOf(*d, "overload").empty());
}

// The 34461A integrates 0.02, 0.2, 1, 10 or 100 PLC; the options refuse anything else (so
// `arrowdaq validate` does, see tests/python/test_device_options.py), and so does the meter.
TEST(Keysight34461a, NplcOutsideTheMetersListIsRefused) {
  for (double nplc : {5.0, 0.5, 200.0, 0.0}) {
    auto d = DriverRegistry::Default().Create("keysight.34461a", Options({{"nplc", nplc}}));
    ASSERT_FALSE(d.ok()) << nplc;
    EXPECT_NE(d.status().message().find("keysight.34461a: option 'nplc' must be one of 0.02, "
                                        "0.2, 1, 10, 100"),
              std::string::npos)
        << d.status();
  }
  SimProcess sim("scpi_server.py", {"--model", "34461a"});
  ASSERT_TRUE(sim.ready());
  auto d = Create("scpi.generic", {{"setup", std::string("CONF:VOLT:DC;;VOLT:DC:NPLC 5")},
                                   {"check_errors", true}});
  ASSERT_NE(d, nullptr);
  ASSERT_OK(d->hardware().Connect(TcpResource(sim), Timeout{2000}));
  const Status st = d->Configure();
  EXPECT_NE(st.message().find("after 'VOLT:DC:NPLC 5': -222,\"Data out of range\""),
            std::string::npos)
      << st;
}

// At 10 PLC on 50 Hz mains with autozero, one reading takes 2 x 0.2 s: at most 2.5 per second.
TEST(Keysight34461a, RateItsIntegrationTimeCannotReachIsRefused) {
  auto d = DriverRegistry::Default().Create("keysight.34461a",
                                            {{"nplc", 10.0}, {"rate_hz", 10.0}});
  ASSERT_FALSE(d.ok());
  EXPECT_EQ(d.status().message(),
            "keysight.34461a: option 'rate_hz' = 10 is more than the 34461A can deliver: at "
            "nplc = 10 with autozero on on 50 Hz mains one reading takes at least 0.4 s, so at "
            "most 2.5 readings/s; lower rate_hz or nplc, or set autozero = false");
  EXPECT_TRUE(DriverRegistry::Default()
                  .Create("keysight.34461a", {{"nplc", 10.0}, {"rate_hz", 10.0},
                                              {"autozero", false}, {"line_frequency_hz", 60.0}})
                  .status()
                  .IsInvalid());  // 10 PLC at 60 Hz: 0.167 s, at most 6 per second
  EXPECT_OK(DriverRegistry::Default()
                .Create("keysight.34461a", {{"nplc", 10.0}, {"rate_hz", 2.5}})
                .status());
}

// A 300 ms timeout against readings that take 400 ms: READ? waits for the integration too.
TEST(Keysight34461a, ReadTimeoutFollowsTheIntegrationTime) {
  SimProcess sim("scpi_server.py", {"--model", "34461a"});
  ASSERT_TRUE(sim.ready());
  auto d = Create("keysight.34461a", {{"nplc", 10.0}, {"rate_hz", 2.0},
                                      {"batch_size", std::int64_t{2}},
                                      {"timeout_ms", std::int64_t{300}}});
  ASSERT_NE(d, nullptr);
  ASSERT_OK(Start(*d, TcpResource(sim)));
  ASSERT_OK_AND_ASSIGN(auto b, ReadBatch(*d));
  auto v = Column(*b, 1);
  ASSERT_EQ(v->length(), 2);
  EXPECT_DOUBLE_EQ(v->Value(0), 1.0);
  EXPECT_DOUBLE_EQ(v->Value(1), 1.001);
}

TEST(Keysight34461a, OverloadIsStoredAsInfinityWithAnOverloadEvent) {
  for (double input : {5.0, -5.0}) {
    SimProcess sim("scpi_server.py", {"--model", "34461a", "--input", std::to_string(input)});
    ASSERT_TRUE(sim.ready());
    auto d = Create("keysight.34461a", Options({{"range", std::string("1")}}));
    ASSERT_NE(d, nullptr);
    ASSERT_OK(Start(*d, TcpResource(sim)));
    ASSERT_OK_AND_ASSIGN(auto b, ReadBatch(*d));
    auto v = Column(*b, 1);
    for (int i = 0; i < v->length(); ++i) {
      EXPECT_TRUE(std::isinf(v->Value(i)) && (v->Value(i) > 0) == (input > 0)) << v->Value(i);
    }
    auto events = EventsOf(*d, "overload");
    ASSERT_EQ(events.size(), 1u);
    EXPECT_EQ(events[0].message,
              std::string("3 of 3 values were SCPI special values: 3 overload ") +
                  (input > 0 ? "+9.9E+37 stored as +inf" : "-9.9E+37 stored as -inf"));
  }
}

TEST(Keysight34461a, ScriptedSessionFromTheManual) {
  auto session = StartSession("keysight_34461a.txt");
  ASSERT_TRUE(session->ready());
  auto d = Create("keysight.34461a", {{"function", std::string("CURR:DC")},
                                      {"nplc", 10.0},
                                      {"autozero", false},
                                      {"rate_hz", 5.0},
                                      {"batch_size", std::int64_t{3}}});
  ASSERT_NE(d, nullptr);
  ASSERT_OK(Start(*d, TcpResource(*session)));
  ASSERT_OK_AND_ASSIGN(auto b, ReadBatch(*d));
  EXPECT_EQ(session->NextLine(), "COMPLETE");
  EXPECT_EQ(b->schema()->field(1)->name(), "current");
  auto v = Column(*b, 1);
  ASSERT_EQ(v->length(), 3);
  EXPECT_DOUBLE_EQ(v->Value(0), 0.62753);
  EXPECT_EQ(v->Value(1), std::numeric_limits<double>::infinity());
  EXPECT_EQ(v->Value(2), -std::numeric_limits<double>::infinity());
  ASSERT_EQ(EventsOf(*d, "overload").size(), 1u);
}

TEST(Keysight34461a, HungDeviceTripsTheTimeoutNamingResourceAndCommand) {
  // Replies: *IDN? (1), six SYST:ERR? (7), READ? (8), then silence.
  SimProcess sim("scpi_server.py", {"--model", "34461a", "--hang-after", "8"});
  ASSERT_TRUE(sim.ready());
  auto d = Create("keysight.34461a", Options({{"timeout_ms", std::int64_t{300}}}));
  ASSERT_NE(d, nullptr);
  ASSERT_OK(Start(*d, TcpResource(sim)));
  // The reading taken before the device hung is kept: a short batch of one row...
  ASSERT_OK_AND_ASSIGN(auto kept, ReadBatch(*d));
  ASSERT_EQ(kept->num_rows(), 1);
  EXPECT_DOUBLE_EQ(Column(*kept, 1)->Value(0), 1.0);
  // ...and the failed poll comes with the next read (the actor records it as the gap).
  auto r = ReadBatch(*d);
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(r.status().IsIOError()) << r.status();
  // The READ? timeout is the 300 ms plus one reading (2 x 0.02 PLC at 50 Hz, rounded up).
  for (const std::string& part : {TcpResource(sim), std::string("'READ?'"),
                                  std::string("timed out after 301 ms")}) {
    EXPECT_NE(r.status().message().find(part), std::string::npos) << r.status();
  }
}

TEST(Keysight34461a, GarbageRepliesAreErrorsNotCrashes) {
  SimProcess sim("scpi_server.py", {"--model", "34461a", "--garbage-after", "7"});
  ASSERT_TRUE(sim.ready());
  auto d = Create("keysight.34461a",
                  Options({{"batch_size", std::int64_t{2}}, {"timeout_ms", std::int64_t{300}}}));
  ASSERT_NE(d, nullptr);
  ASSERT_OK(Start(*d, TcpResource(sim)));
  for (int i = 0; i < 3; ++i) {
    auto r = ReadBatch(*d);
    ASSERT_FALSE(r.ok());
    EXPECT_NE(r.status().message().find("READ?"), std::string::npos) << r.status();
    EXPECT_NE(r.status().message().find("\\x00\\xFF"), std::string::npos) << r.status();
  }
}

TEST(Keysight34461a, DroppedConnectionThenReconnectWhenTheSimulatorIsBack) {
  // Replies: *IDN?, six SYST:ERR?, READ? #1 (8), READ? #2 (9) then the connection closes.
  auto sim = std::make_unique<SimProcess>(
      "scpi_server.py", std::vector<std::string>{"--model", "34461a", "--drop-after", "9"});
  ASSERT_TRUE(sim->ready());
  const std::string port = sim->first_line();
  const std::string resource = TcpResource(*sim);
  auto d = Create("keysight.34461a", Options({{"timeout_ms", std::int64_t{500}}}));
  ASSERT_NE(d, nullptr);
  ASSERT_OK(Start(*d, resource));
  // READ? #1 answered, #2 answered then closed, #3 fails: the two readings are kept.
  ASSERT_OK_AND_ASSIGN(auto kept, ReadBatch(*d));
  ASSERT_EQ(kept->num_rows(), 2);
  EXPECT_DOUBLE_EQ(Column(*kept, 1)->Value(1), 1.001);
  auto r = ReadBatch(*d);
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(r.status().IsIOError()) << r.status();
  EXPECT_NE(r.status().message().find(resource), std::string::npos) << r.status();
  EXPECT_NE(r.status().message().find("closed"), std::string::npos) << r.status();
  // The simulator goes away: reconnecting fails clearly.
  sim->Kill();
  ASSERT_OK(d->hardware().Disconnect());
  const Status refused = d->hardware().Connect(resource, Timeout{500});
  EXPECT_TRUE(refused.IsIOError()) << refused;
  EXPECT_NE(refused.message().find(resource), std::string::npos) << refused;
  // It is back on the same port: Disconnect + Connect works and readings flow again.
  sim = std::make_unique<SimProcess>("scpi_server.py",
                                     std::vector<std::string>{"--model", "34461a", "--port", port});
  ASSERT_TRUE(sim->ready());
  ASSERT_OK(d->hardware().Disconnect());
  ASSERT_OK(Start(*d, resource));
  ASSERT_OK_AND_ASSIGN(auto b, ReadBatch(*d));
  EXPECT_DOUBLE_EQ(Column(*b, 1)->Value(0), 1.0);  // a fresh simulator counts from reading 0
}

}  // namespace
}  // namespace arrowdaq::instruments
