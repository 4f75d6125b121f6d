#include "arrowdaq/hardware/simulated_hardware.h"

#include <vector>
#include <arrow/memory_pool.h>
#include <gtest/gtest.h>

#include <chrono>
#include <cstring>
#include <thread>

#include "arrowdaq/testing/gtest_util.h"

namespace arrowdaq::hardware {
namespace {

using std::chrono::milliseconds;
constexpr Timeout kLong{2000};

SimSourceOptions Ramp(std::int64_t channels, double rate_hz, std::int64_t batch) {
  SimSourceOptions o;
  o.waveform = Waveform::kRamp;
  o.channels = channels;
  o.rate_hz = rate_hz;
  o.batch_size = batch;
  return o;
}

std::unique_ptr<SimulatedHardware> Connected(const SimSourceOptions& o) {
  auto hw = SimulatedHardware::Make(o).ValueOrDie();
  EXPECT_OK(hw->Connect("SIM::test", kLong));
  return hw;
}

double At(const arrow::Buffer& buf, std::int64_t i) {
  double v;
  std::memcpy(&v, buf.data() + i * 8, 8);
  return v;
}

TEST(SimulatedHardware, ConnectAcceptsOnlySimResources) {
  auto hw = SimulatedHardware::Make(Ramp(1, 1000, 10)).ValueOrDie();
  auto st = hw->Connect("TCPIP::host::5025::SOCKET", kLong);
  ASSERT_TRUE(st.IsInvalid());
  EXPECT_NE(st.message().find("'TCPIP::host::5025::SOCKET'"), std::string::npos) << st.message();
  EXPECT_NE(st.message().find("SIM::"), std::string::npos) << st.message();
  EXPECT_TRUE(hw->Connect("SIM::", kLong).IsInvalid());
  EXPECT_FALSE(hw->SendCommand("*IDN?", kLong).ok()) << "commands need a connection";
  ASSERT_OK(hw->Connect("SIM::anything", kLong));
  EXPECT_TRUE(hw->connected());
  ASSERT_OK(hw->Disconnect());
  ASSERT_OK(hw->Disconnect());
}

TEST(SimulatedHardware, MakeRejectsBadOptions) {
  auto o = Ramp(1, 0.0, 10);
  auto r = SimulatedHardware::Make(o);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("rate_hz"), std::string::npos);
}

TEST(SimulatedHardware, AnswersIdnAndRefusesUnknownCommands) {
  SimSourceOptions o;
  o.waveform = Waveform::kNoise;
  auto hw = Connected(o);
  ASSERT_OK_AND_ASSIGN(auto idn, hw->SendCommand("*IDN?", kLong));
  EXPECT_EQ(idn.rfind("arrowdaq,SIM-NOISE,0,", 0), 0u) << idn;
  ASSERT_OK_AND_ASSIGN(auto idn2, hw->SendCommand("  *idn?\n", kLong));
  EXPECT_EQ(idn2, idn);
  auto bad = hw->SendCommand("MEAS:VOLT?", kLong);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("-113"), std::string::npos) << bad.status().message();
  EXPECT_NE(bad.status().message().find("'MEAS:VOLT?'"), std::string::npos)
      << bad.status().message();
}

TEST(SimulatedHardware, ReadRequiresInitAndStopsAfterAbor) {
  auto hw = Connected(Ramp(1, 10000, 10));
  auto before = hw->ReadRawData(kLong);
  ASSERT_FALSE(before.ok());
  EXPECT_NE(before.status().message().find("INIT"), std::string::npos);
  ASSERT_OK(hw->SendCommand("INIT", kLong));
  EXPECT_FALSE(hw->SendCommand("INIT", kLong).ok()) << "a second INIT while armed is refused";
  ASSERT_OK(hw->ReadRawData(kLong));
  ASSERT_OK(hw->SendCommand("ABOR", kLong));
  EXPECT_FALSE(hw->ReadRawData(kLong).ok());
}

TEST(SimulatedHardware, ColumnMajorLayoutAndIndexAcrossAborInitAndRst) {
  auto hw = Connected(Ramp(3, 100000, 4));
  ASSERT_OK(hw->SendCommand("INIT", kLong));
  ASSERT_OK_AND_ASSIGN(auto b0, hw->ReadRawData(kLong));
  ASSERT_EQ(b0->size(), 3 * 4 * 8);
  // ramp with amplitude 1: x[n,c] = n + c; channel c occupies values [4c, 4c+4).
  for (int c = 0; c < 3; ++c) {
    for (int i = 0; i < 4; ++i) EXPECT_EQ(At(*b0, c * 4 + i), i + c) << c << "," << i;
  }
  ASSERT_OK(hw->SendCommand("ABOR", kLong));
  ASSERT_OK(hw->SendCommand("INIT", kLong));
  ASSERT_OK_AND_ASSIGN(auto b1, hw->ReadRawData(kLong));
  EXPECT_EQ(At(*b1, 0), 4.0) << "the sample index keeps counting across ABOR/INIT";
  ASSERT_OK(hw->SendCommand("*RST", kLong));
  EXPECT_FALSE(hw->armed());
  ASSERT_OK(hw->SendCommand("INIT", kLong));
  ASSERT_OK_AND_ASSIGN(auto b2, hw->ReadRawData(kLong));
  EXPECT_EQ(At(*b2, 0), 0.0) << "*RST restarts the sample index";
}

TEST(SimulatedHardware, TimeoutKeepsTheBatch) {
  // One batch per second: far beyond the 20 ms timeout even on a loaded machine.
  auto hw = Connected(Ramp(1, 1000, 1000));
  ASSERT_OK(hw->SendCommand("INIT", kLong));
  const auto t0 = SteadyClock::now();
  auto r = hw->ReadRawData(Timeout{20});
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(r.status().IsIOError());
  EXPECT_NE(r.status().message().find("timed out"), std::string::npos) << r.status().message();
  EXPECT_GE(SteadyClock::now() - t0, milliseconds(20)) << "waits for its timeout first";
  EXPECT_EQ(hw->next_sample_index(), 0);
  ASSERT_OK_AND_ASSIGN(auto b, hw->ReadRawData(Timeout{3000}));
  EXPECT_EQ(At(*b, 0), 0.0) << "the timed-out batch is delivered next, not skipped";
}

TEST(SimulatedHardware, LateCallerCatchesUpWithoutSkipping) {
  // One batch every 10 ms; after sleeping 100 ms the first 10 batches are overdue and must
  // come out with a zero timeout (a source that re-paced them would time out), in order.
  auto hw = Connected(Ramp(1, 1000, 10));
  ASSERT_OK(hw->SendCommand("INIT", kLong));
  std::this_thread::sleep_for(milliseconds(100));
  for (int k = 0; k < 10; ++k) {
    ASSERT_OK_AND_ASSIGN(auto b, hw->ReadRawData(Timeout{0}));
    EXPECT_EQ(At(*b, 0), 10.0 * k);
  }
}

TEST(SimulatedHardware, OneAllocationPerBatchFromTheDefaultPool) {
  auto hw = Connected(Ramp(4, 1e6, 1000));
  ASSERT_OK(hw->SendCommand("INIT", kLong));
  arrow::MemoryPool* pool = arrow::default_memory_pool();
  const std::int64_t allocs = pool->num_allocations();
  const std::int64_t bytes = pool->bytes_allocated();
  ASSERT_OK_AND_ASSIGN(auto b, hw->ReadRawData(kLong));
  EXPECT_EQ(pool->num_allocations() - allocs, 1);
  EXPECT_GE(pool->bytes_allocated() - bytes, 4 * 1000 * 8);
}

// Pooled batch buffers (issue 20): a warm device reuses the blocks its readers gave back, keeps
// at most PoolBlocks(batch_bytes) of them however many batches readers hold, and a reused block
// carries the new batch's values, never the old one's.
TEST(SimulatedHardware, BatchBuffersComeFromABoundedPoolAndReturnWhenReleased) {
  auto hw = Connected(Ramp(2, 1e8, 1000));  // 16 kB per batch: the bound is 128 blocks
  ASSERT_OK(hw->SendCommand("INIT", kLong));
  const std::int64_t bound = SimDevice::PoolBlocks(hw->batch_bytes());
  ASSERT_EQ(bound, 128);
  // A reader that holds 200 batches at once: 128 pool blocks, 72 overflows (freed later).
  std::vector<std::shared_ptr<arrow::Buffer>> held;
  for (int i = 0; i < 200; ++i) {
    ASSERT_OK_AND_ASSIGN(auto b, hw->ReadRawData(kLong));
    held.push_back(b);
  }
  auto s = hw->buffer_pool_stats();
  EXPECT_EQ(s.blocks, bound);
  EXPECT_EQ(s.overflows, 200 - bound);
  EXPECT_EQ(s.outstanding, 200);
  EXPECT_EQ(s.hits, 0);
  held.clear();  // the last readers let go
  s = hw->buffer_pool_stats();
  EXPECT_EQ(s.outstanding, 0);
  EXPECT_EQ(s.idle, bound);
  // Steady state (one batch alive at a time): every batch reuses a block, none is allocated,
  // and each carries its own rows (batch k starts at row (200 + k) * 1000).
  for (int k = 0; k < 500; ++k) {
    ASSERT_OK_AND_ASSIGN(auto b, hw->ReadRawData(kLong));
    const double first = 1000.0 * (200 + k);
    ASSERT_EQ(At(*b, 0), first) << "batch " << k;
    ASSERT_EQ(At(*b, 1999), first + 999 + 1) << "batch " << k;  // ch1 (n + 1), last row
  }
  s = hw->buffer_pool_stats();
  EXPECT_EQ(s.hits, 500);
  EXPECT_EQ(s.misses, 200);
  EXPECT_EQ(s.blocks, bound);
}


TEST(SimWaveforms, RampBlocksEqualRampSampleAcrossWraps) {
  // FillSimBlock's ramp steps and wraps instead of dividing per sample: the same values as
  // RampSample bit for bit, whatever the block's start, the wrap and the channel.
  for (std::int64_t wrap : {std::int64_t{1}, std::int64_t{3}, std::int64_t{7}, kDefaultRampWrap}) {
    SimSourceOptions o;
    o.waveform = Waveform::kRamp;
    o.channels = 3;
    o.wrap = wrap;
    o.amplitude = 0.37;
    o.offset = -2.5;
    for (std::int64_t first : {std::int64_t{0}, std::int64_t{5}, wrap - 1, wrap * 1000 + 2}) {
      constexpr std::int64_t kRows = 50;
      std::vector<double> block(static_cast<std::size_t>(kRows * o.channels));
      FillSimBlock(o, first, kRows, block.data());
      for (std::int64_t c = 0; c < o.channels; ++c) {
        for (std::int64_t i = 0; i < kRows; ++i) {
          ASSERT_EQ(block[static_cast<std::size_t>(c * kRows + i)], RampSample(o, first + i, c))
              << "wrap " << wrap << ", first " << first << ", channel " << c << ", row " << i;
        }
      }
    }
  }
}

}  // namespace
}  // namespace arrowdaq::hardware
