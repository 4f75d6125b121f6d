#include "arrowdaq/instruments/sim_driver.h"

#include <arrow/array.h>
#include <arrow/util/key_value_metadata.h>
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <numbers>
#include <thread>
#include <vector>

#include "arrowdaq/core/clock.h"
#include "arrowdaq/core/schema.h"
#include "arrowdaq/testing/gtest_util.h"

namespace arrowdaq::instruments {
namespace {

using hardware::SimSourceOptions;
using hardware::Timeout;
using hardware::Waveform;
using std::chrono::milliseconds;

constexpr Timeout kLong{5000};

// Reference formulas written out again from docs/instruments.md (not by calling the code under
// test), so a change of the formulas in one place only makes this test fail.
std::uint64_t RefSplitMix64(std::uint64_t x) {
  x += 0x9E3779B97F4A7C15ULL;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ULL;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBULL;
  return x ^ (x >> 31);
}

double RefValue(const SimSourceOptions& o, std::int64_t n, std::int64_t c) {
  const double pi = std::numbers::pi;
  switch (o.waveform) {
    case Waveform::kRamp: return o.offset + o.amplitude * static_cast<double>((n + c) % o.wrap);
    case Waveform::kSine:
      return o.offset +
             o.amplitude *
                 std::sin(2 * pi * o.frequency_hz * static_cast<double>(n) / o.rate_hz +
                          2 * pi * static_cast<double>(c) / static_cast<double>(o.channels));
    case Waveform::kNoise: {
      const std::uint64_t m = static_cast<std::uint64_t>(n * o.channels + c);
      const double u1 = std::ldexp(static_cast<double>(RefSplitMix64(o.seed ^ (2 * m)) >> 11), -53);
      const double u2 =
          std::ldexp(static_cast<double>(RefSplitMix64(o.seed ^ (2 * m + 1)) >> 11), -53);
      return o.offset + o.amplitude * std::sqrt(-2 * std::log(1 - u1)) * std::cos(2 * pi * u2);
    }
  }
  return NAN;
}

std::unique_ptr<SimDriver> Started(const SimSourceOptions& o) {
  auto driver = SimDriver::Make(o).ValueOrDie();
  EXPECT_OK(driver->hardware().Connect("SIM::test", kLong));
  EXPECT_OK(driver->Configure());
  EXPECT_OK(driver->StartAcquisition());
  return driver;
}

// The acquisition loop's path: a pooled batch filled in place (ReadBatch). The raw path
// (ReadRawData + Decode) has its own tests below.
std::shared_ptr<arrow::RecordBatch> ReadBatch(SimDriver& driver) {
  auto batch = driver.ReadBatch();
  EXPECT_TRUE(batch.ok()) << batch.status().ToString();
  return batch.ok() ? *batch : nullptr;
}

const arrow::DoubleArray& Channel(const arrow::RecordBatch& b, int c) {
  return static_cast<const arrow::DoubleArray&>(*b.column(c + 1));
}

const arrow::TimestampArray& Times(const arrow::RecordBatch& b) {
  return static_cast<const arrow::TimestampArray&>(*b.column(0));
}

TEST(SimWaveforms, SplitMix64MatchesTheStandardSequence) {
  // First outputs of the reference SplitMix64 generator seeded with 0: its state after k steps
  // is k * 0x9E3779B97F4A7C15, so output k is SplitMix64((k-1) * golden gamma).
  EXPECT_EQ(hardware::SplitMix64(0), 0xE220A8397B1DCDAFULL);
  EXPECT_EQ(hardware::SplitMix64(0x9E3779B97F4A7C15ULL), 0x6E789E6AA1B965F4ULL);
}

class SimDriverValues : public ::testing::TestWithParam<Waveform> {};

TEST_P(SimDriverValues, EqualTheFormulasForEveryBatchAndChannel) {
  SimSourceOptions o;
  o.waveform = GetParam();
  o.channels = 3;
  o.rate_hz = 50000;
  o.batch_size = 64;
  o.amplitude = 2.5;
  o.offset = -0.5;
  o.frequency_hz = 440;
  o.seed = 12345;
  o.wrap = 100;  // small, so the ramp wraps inside the test
  auto driver = Started(o);
  std::int64_t n = 0;
  for (int k = 0; k < 5; ++k) {
    auto batch = ReadBatch(*driver);
    ASSERT_NE(batch, nullptr);
    ASSERT_OK(batch->ValidateFull());
    ASSERT_EQ(batch->num_rows(), 64);
    ASSERT_EQ(batch->num_columns(), 4);
    for (int c = 0; c < 3; ++c) {
      for (std::int64_t i = 0; i < 64; ++i) {
        ASSERT_DOUBLE_EQ(Channel(*batch, c).Value(i), RefValue(o, n + i, c))
            << hardware::ToString(o.waveform) << " n=" << n + i << " c=" << c;
      }
    }
    n += 64;
  }
}

INSTANTIATE_TEST_SUITE_P(AllWaveforms, SimDriverValues,
                         ::testing::Values(Waveform::kSine, Waveform::kNoise, Waveform::kRamp),
                         [](const auto& info) { return std::string(ToString(info.param)); });

TEST(SimDriver, NoiseLooksGaussian) {
  SimSourceOptions o;
  o.waveform = Waveform::kNoise;
  o.rate_hz = 1e6;
  o.batch_size = 20000;
  o.amplitude = 2.0;
  o.offset = 1.0;
  auto driver = Started(o);
  auto batch = ReadBatch(*driver);
  ASSERT_NE(batch, nullptr);
  const auto& x = Channel(*batch, 0);
  double sum = 0, sum2 = 0;
  for (std::int64_t i = 0; i < x.length(); ++i) {
    sum += x.Value(i);
    sum2 += x.Value(i) * x.Value(i);
  }
  const double mean = sum / static_cast<double>(x.length());
  const double var = sum2 / static_cast<double>(x.length()) - mean * mean;
  EXPECT_NEAR(mean, 1.0, 0.1);  // 5 standard errors
  EXPECT_NEAR(std::sqrt(var), 2.0, 0.1);
}

TEST(SimDriver, RampProvesOrderAndCompletenessAcrossBatchesAndRestarts) {
  SimSourceOptions o;
  o.waveform = Waveform::kRamp;
  o.channels = 2;
  o.rate_hz = 100000;
  o.batch_size = 100;
  auto driver = Started(o);
  std::int64_t expected = 0;
  for (int segment = 0; segment < 2; ++segment) {
    for (int k = 0; k < 5; ++k) {
      auto batch = ReadBatch(*driver);
      ASSERT_NE(batch, nullptr);
      for (std::int64_t i = 0; i < batch->num_rows(); ++i, ++expected) {
        ASSERT_EQ(Channel(*batch, 0).Value(i), static_cast<double>(expected));
        ASSERT_EQ(Channel(*batch, 1).Value(i), static_cast<double>(expected + 1));
      }
    }
    // ABOR/INIT keeps counting: the next segment continues at the next sample index.
    ASSERT_OK(driver->StopAcquisition());
    ASSERT_OK(driver->StartAcquisition());
  }
  EXPECT_EQ(expected, 1000);
}

TEST(SimDriver, TimestampsFollowTheFormulaAndStrictlyIncrease) {
  SimSourceOptions o;
  o.waveform = Waveform::kRamp;
  o.rate_hz = 3000;  // 1e9/3000 is not an integer: exercises the floor
  o.batch_size = 30;
  auto driver = SimDriver::Make(o).ValueOrDie();
  ASSERT_OK(driver->hardware().Connect("SIM::ramp", kLong));
  ASSERT_OK(driver->Configure());
  const std::int64_t before = WallClockNanos();
  ASSERT_OK(driver->StartAcquisition());
  const std::int64_t after = WallClockNanos();
  const std::int64_t t_init = driver->clock().segment_start_ns();
  EXPECT_GE(t_init, before);
  EXPECT_LE(t_init, after);
  std::int64_t last = std::numeric_limits<std::int64_t>::min();
  for (int k = 0; k < 4; ++k) {
    auto batch = ReadBatch(*driver);
    ASSERT_NE(batch, nullptr);
    const auto& t = Times(*batch);
    for (std::int64_t i = 0; i < t.length(); ++i) {
      const auto n = static_cast<std::int64_t>(Channel(*batch, 0).Value(i));  // ramp: x = n
      ASSERT_EQ(t.Value(i), t_init + static_cast<std::int64_t>(std::floor(n * 1e9 / 3000.0)));
      ASSERT_GT(t.Value(i), last);
      last = t.Value(i);
    }
  }
  // A new segment starts at the wall clock of its INIT (never before the last timestamp) and
  // follows t = t_seg + floor((n - n_seg) * 1e9 / rate_hz).
  ASSERT_OK(driver->StopAcquisition());
  ASSERT_OK(driver->StartAcquisition());
  const std::int64_t t_seg = driver->clock().segment_start_ns();
  EXPECT_GT(t_seg, last);
  EXPECT_EQ(driver->clock().segment_first_index(), 120);
  auto batch = ReadBatch(*driver);
  ASSERT_NE(batch, nullptr);
  for (std::int64_t i = 0; i < batch->num_rows(); ++i) {
    const auto n = static_cast<std::int64_t>(Channel(*batch, 0).Value(i));
    ASSERT_EQ(Times(*batch).Value(i),
              t_seg + static_cast<std::int64_t>(std::floor((n - 120) * 1e9 / 3000.0)));
  }
}

TEST(SimDriver, PacingUsesAbsoluteDeadlines) {
  SimSourceOptions o;
  o.waveform = Waveform::kSine;
  o.rate_hz = 2000;
  o.batch_size = 100;  // one batch per 50 ms; 20 batches take 1 s
  auto driver = SimDriver::Make(o).ValueOrDie();
  ASSERT_OK(driver->hardware().Connect("SIM::sine", kLong));
  ASSERT_OK(driver->Configure());
  const auto t0 = SteadyClock::now();
  ASSERT_OK(driver->StartAcquisition());
  for (int k = 0; k < 20; ++k) {
    auto batch = ReadBatch(*driver);
    ASSERT_NE(batch, nullptr);
    const auto released = SteadyClock::now();
    ASSERT_GE(released - t0, milliseconds(50 * (k + 1))) << "batch " << k << " came early";
  }
  const double seconds = std::chrono::duration<double>(SteadyClock::now() - t0).count();
  EXPECT_GT(seconds, 0.8);
  EXPECT_LT(seconds, 3.0);
}

TEST(SimDriver, ReadBeforeInitFails) {
  auto driver = SimDriver::Make(SimSourceOptions{}).ValueOrDie();
  ASSERT_OK(driver->hardware().Connect("SIM::sine", kLong));
  ASSERT_OK(driver->Configure());
  auto raw = driver->hardware().ReadRawData(kLong);
  ASSERT_FALSE(raw.ok());
  EXPECT_NE(raw.status().message().find("INIT"), std::string::npos) << raw.status().message();
}

TEST(SimDriver, DecodeRefusesAWrongSizedBuffer) {
  SimSourceOptions o;
  o.channels = 2;
  o.batch_size = 10;
  o.rate_hz = 1e5;
  auto driver = Started(o);
  ASSERT_OK_AND_ASSIGN(auto raw, driver->hardware().ReadRawData(kLong));
  ASSERT_EQ(raw->size(), 2 * 10 * 8);
  // One row short: still a whole number of rows, but not batch_size of them.
  auto st = driver->Decode(arrow::SliceBuffer(raw, 0, raw->size() - 16)).status();
  ASSERT_TRUE(st.IsInvalid());
  EXPECT_NE(st.message().find("144 bytes, expected 160"), std::string::npos) << st.message();
  EXPECT_TRUE(driver->Decode(arrow::SliceBuffer(raw, 0, 3)).status().IsInvalid());
  EXPECT_TRUE(driver->Decode(nullptr).status().IsInvalid());
  EXPECT_EQ(driver->clock().next_index(), 0) << "a refused block does not advance the clock";
  ASSERT_OK(driver->Decode(raw));
  EXPECT_EQ(driver->clock().next_index(), 10);
}

TEST(SimDriver, ChannelColumnsAreZeroCopySlicesOfTheRawBuffer) {
  SimSourceOptions o;
  o.channels = 4;
  o.batch_size = 256;
  o.rate_hz = 1e6;
  auto driver = Started(o);
  ASSERT_OK_AND_ASSIGN(auto raw, driver->hardware().ReadRawData(kLong));
  ASSERT_OK_AND_ASSIGN(auto batch, driver->Decode(raw));
  for (int c = 0; c < 4; ++c) {
    const auto* values = reinterpret_cast<const std::uint8_t*>(Channel(*batch, c).raw_values());
    EXPECT_EQ(values, raw->data() + c * 256 * 8) << "channel " << c;
    EXPECT_LE(values + 256 * 8, raw->data() + raw->size());
  }
}

TEST(SimDriver, SchemaNamesChannelsUnitsAndSource) {
  SimSourceOptions o;
  o.waveform = Waveform::kNoise;
  o.channels = 3;
  auto driver = SimDriver::Make(o, "mV").ValueOrDie();
  const auto& schema = *driver->schema();
  ASSERT_OK(ValidateStreamSchema(schema));
  ASSERT_EQ(schema.num_fields(), 4);
  EXPECT_EQ(schema.field(1)->name(), "ch0");
  EXPECT_EQ(schema.field(3)->name(), "ch2");
  EXPECT_EQ(FieldUnit(*schema.field(2)), "mV");
  EXPECT_EQ(schema.metadata()->Get("driver").ValueOrDie(), "sim.noise");
  EXPECT_EQ(schema.metadata()->Get("resource").ValueOrDie(), "SIM::noise");
}

TEST(SimDriver, ReadTimeoutIsAtLeastFourBatchPeriods) {
  SimSourceOptions fast;
  EXPECT_EQ(SimDriver::Make(fast).ValueOrDie()->read_timeout(), Timeout{1000});
  SimSourceOptions slow;
  slow.rate_hz = 10;
  slow.batch_size = 100;  // 10 s per batch
  EXPECT_EQ(SimDriver::Make(slow).ValueOrDie()->read_timeout(), Timeout{40000});
}

TEST(SimDriver, PooledBatchesAreRecycledAndAllocateNothingOnceWarm) {
  SimSourceOptions o;
  o.waveform = Waveform::kRamp;
  o.channels = 3;
  o.rate_hz = 1e6;
  o.batch_size = 100;
  auto driver = Started(o);
  arrow::MemoryPool* arrow_pool = arrow::default_memory_pool();
  const arrow::RecordBatch* first = nullptr;
  std::int64_t allocations = 0;
  std::int64_t n = 0;
  for (int k = 0; k < 50; ++k) {
    auto batch = ReadBatch(*driver);  // released at the end of each turn, like a fast reader
    ASSERT_NE(batch, nullptr);
    ASSERT_OK(batch->ValidateFull());
    if (k == 0) {
      first = batch.get();
      allocations = arrow_pool->num_allocations();
    }
    EXPECT_EQ(batch.get(), first) << "the same batch object comes back";
    for (std::int64_t i = 0; i < batch->num_rows(); ++i, ++n) {
      for (int c = 0; c < 3; ++c) {
        ASSERT_EQ(Channel(*batch, c).Value(i), RefValue(o, n, c)) << "batch " << k;
      }
    }
  }
  EXPECT_EQ(arrow_pool->num_allocations(), allocations) << "no sample memory after the first";
  auto stats = driver->pool_stats();
  ASSERT_TRUE(stats.has_value());
  EXPECT_EQ(stats->hits, 49);
  EXPECT_EQ(stats->misses, 1);
  EXPECT_EQ(stats->blocks, 1);
  EXPECT_EQ(stats->block_bytes, 100 * 8 * (1 + 3));
  EXPECT_EQ(driver->pool_policy(), "count");
}

std::unique_ptr<SimDriver> StartedFromRegistry(const OptionMap& options) {
  auto made = DriverRegistry::Default().Create("sim.ramp", options);
  EXPECT_TRUE(made.ok()) << made.status().ToString();
  auto driver = std::unique_ptr<SimDriver>(static_cast<SimDriver*>(made->release()));
  EXPECT_OK(driver->hardware().Connect("SIM::ramp", kLong));
  EXPECT_OK(driver->Configure());
  EXPECT_OK(driver->StartAcquisition());
  return driver;
}

TEST(SimDriver, AConsumerHoldingEveryBatchMakesThePoolCountOverflowsWithinItsBound) {
  auto driver = StartedFromRegistry({{"rate_hz", 1e6}, {"batch_size", std::int64_t{100}},
                                     {"pool_batches", std::int64_t{3}}});
  arrow::MemoryPool* arrow_pool = arrow::default_memory_pool();
  const std::int64_t before = arrow_pool->bytes_allocated();
  std::vector<std::shared_ptr<arrow::RecordBatch>> held;
  for (int k = 0; k < 10; ++k) held.push_back(ReadBatch(*driver));
  // Every batch held keeps its own samples (no block was rewritten under a reader).
  for (int k = 0; k < 10; ++k) {
    ASSERT_NE(held[k], nullptr);
    EXPECT_EQ(Channel(*held[k], 0).Value(0), 100.0 * k);
  }
  auto stats = *driver->pool_stats();
  EXPECT_EQ(stats.blocks, 3);
  EXPECT_EQ(stats.max_blocks, 3);
  EXPECT_EQ(stats.overflows, 7);
  EXPECT_EQ(stats.misses, 10);
  // Released: the overflow batches are freed, the pool keeps its three.
  held.clear();
  EXPECT_EQ(arrow_pool->bytes_allocated() - before, 3 * stats.block_bytes);
  auto batch = ReadBatch(*driver);
  ASSERT_NE(batch, nullptr);
  EXPECT_EQ(Channel(*batch, 0).Value(0), 1000.0);
  EXPECT_EQ(driver->pool_stats()->hits, 1);
}

TEST(SimDriver, AConsumerHoldingEveryBatchMakesABlockingPoolWait) {
  auto driver = StartedFromRegistry({{"rate_hz", 1e6}, {"batch_size", std::int64_t{100}},
                                     {"pool_batches", std::int64_t{2}},
                                     {"on_pool_exhausted", std::string("block")}});
  EXPECT_EQ(driver->pool_policy(), "block");
  auto a = ReadBatch(*driver);
  auto b = ReadBatch(*driver);
  ASSERT_NE(b, nullptr);
  std::shared_ptr<arrow::RecordBatch> c;
  std::atomic<bool> read_done{false};
  std::thread reader([&] {
    c = ReadBatch(*driver);
    read_done = true;
  });
  // The read waits (and says so) until a batch comes back; one that returns at once is wrong.
  while (driver->pool_stats()->waits == 0 && !read_done) std::this_thread::yield();
  EXPECT_FALSE(read_done) << "the read did not wait for a batch to come back";
  const arrow::RecordBatch* b_object = b.get();
  b.reset();  // the consumer lets one go: the waiting read takes it
  reader.join();
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(c.get(), b_object);
  EXPECT_EQ(Channel(*c, 0).Value(0), 200.0);
  EXPECT_EQ(Channel(*a, 0).Value(0), 0.0) << "the batch still held is untouched";
  auto stats = *driver->pool_stats();
  EXPECT_EQ(stats.blocks, 2);
  EXPECT_EQ(stats.overflows, 0);
  EXPECT_EQ(stats.waits, 1);
  // Nobody lets go: the read fails after its timeout (1 s here), nothing grows.
  auto d = driver->ReadBatch();
  ASSERT_TRUE(d.status().IsIOError()) << d.status().ToString();
  EXPECT_NE(d.status().message().find("exhausted"), std::string::npos);
  EXPECT_EQ(driver->pool_stats()->blocks, 2);
}

TEST(SimDriver, PoolOptionsAreChecked) {
  auto bad = DriverRegistry::Default().Create("sim.ramp", {{"on_pool_exhausted", std::string("grow")}});
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("on_pool_exhausted"), std::string::npos);
  bad = DriverRegistry::Default().Create("sim.ramp", {{"pool_batches", std::int64_t{-1}}});
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("pool_batches"), std::string::npos);
}

}  // namespace
}  // namespace arrowdaq::instruments
