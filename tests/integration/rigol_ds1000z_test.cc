// rigol.ds1000z against the DS1000Z model in tools/sim/rigol_ds1000z.py (a real process on a TCP
// socket that honours :WAV:SOUR/MODE/FORM/STAR/STOP, reports realistic preambles and returns
// short blocks when stopped and scrolled) and against a scripted session from the programming
// guide's examples: every setting sent again before each read, short blocks kept as data,
// points beyond the screen refused, a slow scope reported.
#include <arrow/array.h>
#include <gtest/gtest.h>

#include <cmath>

#include "arrowdaq/core/schema.h"
#include "arrowdaq/hardware/tcp_transport.h"
#include "device_test_util.h"

namespace arrowdaq::instruments {
namespace {

using namespace testing;  // NOLINT: the device test helpers

// The model's screen data: acquisition w of a channel, screen point i (0-based).
double ModelVolts(int i, int w, int channel_offset, int yorigin) {
  return (static_cast<double>((i + w + channel_offset) % 256) - yorigin - 127) * 0.008;
}

struct Waveforms {
  std::shared_ptr<arrow::DoubleArray> values;
  std::int64_t points;
  double Value(int row, int i) const { return values->Value(row * points + i); }
};

Waveforms WaveformsOf(const arrow::RecordBatch& b) {
  auto wf = std::static_pointer_cast<arrow::FixedSizeListArray>(b.column(1));
  return {std::static_pointer_cast<arrow::DoubleArray>(wf->values()), wf->value_length()};
}

std::shared_ptr<arrow::Int64Array> ValidPoints(const arrow::RecordBatch& b) {
  return std::static_pointer_cast<arrow::Int64Array>(b.column(4));
}

TEST(RigolDs1000z, ReadsWaveformsAsFixedSizeListsInVolts) {
  SimProcess sim("scpi_server.py", {"--model", "ds1000z"});
  ASSERT_TRUE(sim.ready());
  for (const auto& [source, offset, yorigin] :
       {std::tuple{"CHAN1", 0, 50}, std::tuple{"CHAN2", 16, -25}}) {
    auto d = Create("rigol.ds1000z", {{"batch_size", std::int64_t{2}}, {"rate_hz", 50.0},
                                      {"source", std::string(source)}});
    ASSERT_NE(d, nullptr);
    ASSERT_OK(Start(*d, TcpResource(sim)));
    EXPECT_EQ(FieldUnit(*d->schema()->field(1)), "V");
    ASSERT_OK_AND_ASSIGN(auto b, ReadBatch(*d));
    ASSERT_OK(b->ValidateFull());
    ASSERT_EQ(b->num_rows(), 2);
    const Waveforms wf = WaveformsOf(*b);
    EXPECT_EQ(wf.points, 1200);
    // The model makes a new acquisition for each read while running.
    static int reads = 0;
    for (int row = 0; row < 2; ++row) {
      ++reads;
      for (int i : {0, 1, 500, 1199}) {
        EXPECT_DOUBLE_EQ(wf.Value(row, i), ModelVolts(i, reads, offset, yorigin))
            << source << " waveform " << row << " point " << i;
      }
      EXPECT_EQ(ValidPoints(*b)->Value(row), 1200);
    }
    EXPECT_DOUBLE_EQ(Column(*b, 2)->Value(0), 1e-6);
    EXPECT_DOUBLE_EQ(Column(*b, 3)->Value(0), -6e-4);
    ExpectIncreasingTimestamps(*b);
    ASSERT_OK(d->hardware().Disconnect());
  }
}

// Another client (or the front panel) changes the waveform settings between two reads: the
// driver sets source, mode, format, start and stop again before each one.
TEST(RigolDs1000z, SettingsAreSentAgainBeforeEachRead) {
  SimProcess sim("scpi_server.py", {"--model", "ds1000z"});
  ASSERT_TRUE(sim.ready());
  auto d = Create("rigol.ds1000z", {{"batch_size", std::int64_t{1}}, {"rate_hz", 50.0}});
  ASSERT_NE(d, nullptr);
  ASSERT_OK(Start(*d, TcpResource(sim)));
  ASSERT_OK_AND_ASSIGN(auto first, ReadBatch(*d));
  ASSERT_OK_AND_ASSIGN(auto other, hardware::TcpTransport::Make({}));
  ASSERT_OK(other->Connect(TcpResource(sim), Timeout{2000}));
  ASSERT_OK(other->WriteLine(":WAV:SOUR CHAN3;:WAV:FORM ASC;:WAV:STAR 100;:WAV:STOP 300",
                             Timeout{1000}));
  ASSERT_OK_AND_ASSIGN(std::string echo, other->Query(":WAV:STAR?", Timeout{1000}));
  ASSERT_EQ(echo, "100");  // the other client's settings are in place
  ASSERT_OK_AND_ASSIGN(auto second, ReadBatch(*d));
  const Waveforms wf = WaveformsOf(*second);
  EXPECT_EQ(ValidPoints(*second)->Value(0), 1200);
  for (int i : {0, 99, 1199}) EXPECT_DOUBLE_EQ(wf.Value(0, i), ModelVolts(i, 2, 0, 50)) << i;
}

// A stopped scope whose trace is scrolled returns fewer points: data, not a failed batch.
TEST(RigolDs1000z, ShortBlockIsDataWithFewerPoints) {
  for (int scroll : {200, -300}) {
    SimProcess sim("scpi_server.py",
                   {"--model", "ds1000z", "--stopped", "--scroll", std::to_string(scroll)});
    ASSERT_TRUE(sim.ready());
    auto d = Create("rigol.ds1000z", {{"batch_size", std::int64_t{2}}, {"rate_hz", 50.0}});
    ASSERT_NE(d, nullptr);
    ASSERT_OK(Start(*d, TcpResource(sim)));
    ASSERT_OK_AND_ASSIGN(auto b, ReadBatch(*d));
    const int valid = 1200 - std::abs(scroll);
    const int first = scroll > 0 ? scroll : 0;  // screen index of the first valid point
    const Waveforms wf = WaveformsOf(*b);
    for (int row = 0; row < 2; ++row) {
      EXPECT_EQ(ValidPoints(*b)->Value(row), valid);
      for (int i : {0, valid / 2, valid - 1}) {
        EXPECT_DOUBLE_EQ(wf.Value(row, i), ModelVolts(first + i, 0, 0, 50)) << scroll << " " << i;
      }
      for (int i = valid; i < 1200; ++i) ASSERT_TRUE(std::isnan(wf.Value(row, i))) << i;
      EXPECT_DOUBLE_EQ(Column(*b, 3)->Value(row), (first - 600) * 1e-6);  // x_origin
    }
    auto events = EventsOf(*d, "info");
    ASSERT_EQ(events.size(), 1u);
    EXPECT_EQ(events[0].message, "2 of 2 waveforms had fewer than 1200 points (fewest " +
                                     std::to_string(valid) +
                                     "; a stopped scope with its trace scrolled): NaN after the "
                                     "points returned, see valid_points");
  }
}

TEST(RigolDs1000z, PointsBeyondTheScreenAreRefusedAndFewerAreRead) {
  auto refused = DriverRegistry::Default().Create("rigol.ds1000z", {{"points", std::int64_t{5000}}});
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().message(),
            "rigol.ds1000z: option 'points' must be 1..1200 (the screen waveform, NORMal mode), "
            "got 5000: more points need RAW mode, the scope stopped and reads of at most 250000 "
            "bytes each, which this driver does not implement");
  SimProcess sim("scpi_server.py", {"--model", "ds1000z"});
  ASSERT_TRUE(sim.ready());
  auto d = Create("rigol.ds1000z", {{"points", std::int64_t{600}}, {"rate_hz", 50.0}});
  ASSERT_NE(d, nullptr);
  ASSERT_OK(Start(*d, TcpResource(sim)));
  ASSERT_OK_AND_ASSIGN(auto b, ReadBatch(*d));
  const Waveforms wf = WaveformsOf(*b);
  EXPECT_EQ(wf.points, 600);
  EXPECT_EQ(ValidPoints(*b)->Value(0), 600);
  EXPECT_DOUBLE_EQ(wf.Value(0, 599), ModelVolts(599, 1, 0, 50));
}

// A scope that needs 50 ms per waveform cannot give 100 waveforms/s: reported, not hidden.
TEST(RigolDs1000z, ASlowScopeIsReportedAsARateShortfall) {
  SimProcess sim("scpi_server.py", {"--model", "ds1000z", "--data-ms", "50"});
  ASSERT_TRUE(sim.ready());
  auto d = Create("rigol.ds1000z", {{"batch_size", std::int64_t{4}}, {"rate_hz", 100.0}});
  ASSERT_NE(d, nullptr);
  ASSERT_OK(Start(*d, TcpResource(sim)));
  ASSERT_OK_AND_ASSIGN(auto b, ReadBatch(*d));
  auto events = EventsOf(*d, "rate_shortfall");
  ASSERT_EQ(events.size(), 1u);
  EXPECT_NE(events[0].message.find("of 4 waveforms started more than one period (10 ms) late: "
                                   "the instrument is slower than rate_hz = 100 asks"),
            std::string::npos)
      << events[0].message;
}

// A read that fails after the first waveform of a batch keeps that waveform (a short batch);
// the failure comes with the next read.
TEST(RigolDs1000z, WaveformsReadBeforeAFailureAreKept) {
  // Replies: *IDN?, :SYST:ERR?, :WAV:PRE? (3), waveform 1: :WAV:PRE?, :WAV:DATA? (5), silence.
  SimProcess sim("scpi_server.py", {"--model", "ds1000z", "--hang-after", "5"});
  ASSERT_TRUE(sim.ready());
  auto d = Create("rigol.ds1000z", {{"batch_size", std::int64_t{3}}, {"rate_hz", 50.0},
                                    {"timeout_ms", std::int64_t{300}}});
  ASSERT_NE(d, nullptr);
  ASSERT_OK(Start(*d, TcpResource(sim)));
  ASSERT_OK_AND_ASSIGN(auto kept, ReadBatch(*d));
  ASSERT_OK(kept->ValidateFull());
  ASSERT_EQ(kept->num_rows(), 1);
  EXPECT_EQ(ValidPoints(*kept)->Value(0), 1200);
  EXPECT_DOUBLE_EQ(WaveformsOf(*kept).Value(0, 1199), ModelVolts(1199, 1, 0, 50));
  EXPECT_DOUBLE_EQ(Column(*kept, 3)->Value(0), -6e-4);
  auto r = ReadBatch(*d);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("reply to ':WAV:PRE?': timed out"), std::string::npos)
      << r.status();
}

TEST(RigolDs1000z, ScriptedSessionFromTheProgrammingGuide) {
  auto session = StartSession("rigol_ds1000z.txt");
  ASSERT_TRUE(session->ready());
  auto d = Create("rigol.ds1000z", {{"batch_size", std::int64_t{2}}, {"rate_hz", 50.0}});
  ASSERT_NE(d, nullptr);
  ASSERT_OK(Start(*d, TcpResource(*session)));
  ASSERT_OK_AND_ASSIGN(auto b, ReadBatch(*d));
  EXPECT_EQ(session->NextLine(), "COMPLETE");
  const Waveforms wf = WaveformsOf(*b);
  EXPECT_DOUBLE_EQ(wf.Value(0, 0), (0 - 50 - 127) * 0.008);
  EXPECT_DOUBLE_EQ(wf.Value(0, 300), (300 % 256 - 50 - 127) * 0.008);
  EXPECT_EQ(ValidPoints(*b)->Value(0), 1200);
  EXPECT_EQ(ValidPoints(*b)->Value(1), 1000);
  EXPECT_DOUBLE_EQ(wf.Value(1, 999), (200 + 999 % 56 - 50 - 127) * 0.008);
  EXPECT_TRUE(std::isnan(wf.Value(1, 1000)));
  EXPECT_DOUBLE_EQ(Column(*b, 3)->Value(1), -4e-4);
}

}  // namespace
}  // namespace arrowdaq::instruments
