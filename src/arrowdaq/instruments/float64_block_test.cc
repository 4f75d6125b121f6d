#include "arrowdaq/instruments/float64_block.h"

#include <arrow/array.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstring>
#include <vector>

#include "arrowdaq/core/clock.h"
#include "arrowdaq/testing/gtest_util.h"
#include "arrowdaq/testing/mock_hardware.h"

namespace arrowdaq::instruments {
namespace {

using hardware::Timeout;
using ::testing::_;
using ::testing::Return;

using arrowdaq::testing::MockHardware;

/// Return a buffer of `values` at an 8-byte aligned address (`misalign` bytes later if asked).
std::shared_ptr<arrow::Buffer> Block(const std::vector<double>& values, int misalign = 0) {
  const auto bytes = static_cast<std::int64_t>(values.size() * sizeof(double));
  auto buf = arrow::AllocateBuffer(bytes + misalign).ValueOrDie();
  if (bytes > 0) {
    std::memcpy(buf->mutable_data() + misalign, values.data(), static_cast<std::size_t>(bytes));
  }
  return arrow::SliceBuffer(std::shared_ptr<arrow::Buffer>(std::move(buf)), misalign, bytes);
}

const arrow::DoubleArray& Channel(const arrow::RecordBatch& b, int c) {
  return static_cast<const arrow::DoubleArray&>(*b.column(c + 1));
}

std::unique_ptr<Float64BlockDriver> MakeDriver(std::unique_ptr<MockHardware> hw,
                                               std::int64_t channels, double rate_hz) {
  return Float64BlockDriver::Make(std::move(hw), channels, rate_hz, "A").ValueOrDie();
}

TEST(Float64BlockDriver, DecodesRowsInferredFromTheSizeWithoutCopying) {
  auto hw = std::make_unique<MockHardware>();
  // 3 rows of 2 channels, column by column: ch0 = 1,2,3; ch1 = 10,20,30.
  auto first = Block({1, 2, 3, 10, 20, 30});
  auto second = Block({4, 40});
  EXPECT_CALL(*hw, ReadRawData(_)).WillOnce(Return(first)).WillOnce(Return(second));
  auto driver = MakeDriver(std::move(hw), 2, 1000.0);
  ASSERT_OK(driver->Configure());
  const std::int64_t before = WallClockNanos();
  ASSERT_OK(driver->StartAcquisition());

  ASSERT_OK_AND_ASSIGN(auto raw1, driver->hardware().ReadRawData(driver->read_timeout()));
  ASSERT_OK_AND_ASSIGN(auto b1, driver->Decode(raw1));
  ASSERT_OK(b1->ValidateFull());
  ASSERT_EQ(b1->num_rows(), 3);
  EXPECT_EQ(Channel(*b1, 0).Value(2), 3.0);
  EXPECT_EQ(Channel(*b1, 1).Value(0), 10.0);
  EXPECT_EQ(reinterpret_cast<const std::uint8_t*>(Channel(*b1, 1).raw_values()),
            first->data() + 3 * 8);

  ASSERT_OK_AND_ASSIGN(auto raw2, driver->hardware().ReadRawData(driver->read_timeout()));
  ASSERT_OK_AND_ASSIGN(auto b2, driver->Decode(raw2));
  ASSERT_EQ(b2->num_rows(), 1);
  EXPECT_EQ(Channel(*b2, 1).Value(0), 40.0);

  // Timestamps: t_init + floor(n * 1e9 / 1000) = t_init + n ms, continuing across blocks.
  const auto& t1 = static_cast<const arrow::TimestampArray&>(*b1->column(0));
  const auto& t2 = static_cast<const arrow::TimestampArray&>(*b2->column(0));
  const std::int64_t t_init = t1.Value(0);
  EXPECT_GE(t_init, before);
  EXPECT_EQ(t1.Value(2) - t_init, 2'000'000);
  EXPECT_EQ(t2.Value(0) - t_init, 3'000'000);
  EXPECT_EQ(b1->schema()->field(1)->name(), "ch0");
}

TEST(Float64BlockDriver, RefusesMalformedBlocks) {
  auto driver = MakeDriver(std::make_unique<MockHardware>(), 3, 100.0);
  ASSERT_OK(driver->Configure());
  auto early = driver->Decode(Block({1, 2, 3})).status();
  EXPECT_TRUE(early.IsInvalid());
  EXPECT_NE(early.message().find("StartAcquisition"), std::string::npos) << early.message();
  ASSERT_OK(driver->StartAcquisition());
  auto st = driver->Decode(Block({1, 2, 3, 4})).status();
  ASSERT_TRUE(st.IsInvalid());
  EXPECT_NE(st.message().find("not a whole number of rows"), std::string::npos) << st.message();
  EXPECT_TRUE(driver->Decode(Block({})).status().IsInvalid());
  EXPECT_TRUE(driver->Decode(nullptr).status().IsInvalid());
  EXPECT_EQ(driver->clock().next_index(), 0);
}

TEST(Float64BlockDriver, CopiesAMisalignedBlockOnce) {
  auto driver = MakeDriver(std::make_unique<MockHardware>(), 1, 100.0);
  ASSERT_OK(driver->Configure());
  ASSERT_OK(driver->StartAcquisition());
  auto raw = Block({0.5, 1.5}, /*misalign=*/3);
  ASSERT_NE(raw->address() % 8, 0u);
  ASSERT_OK_AND_ASSIGN(auto batch, driver->Decode(raw));
  ASSERT_OK(batch->ValidateFull());
  EXPECT_EQ(Channel(*batch, 0).Value(1), 1.5);
  EXPECT_EQ(reinterpret_cast<std::uintptr_t>(Channel(*batch, 0).raw_values()) % 8, 0u);
}

TEST(Float64BlockDriver, MakeRejectsBadArguments) {
  EXPECT_TRUE(Float64BlockDriver::Make(nullptr, 1, 1.0, "V").status().IsInvalid());
  EXPECT_TRUE(
      Float64BlockDriver::Make(std::make_unique<MockHardware>(), 0, 1.0, "V").status().IsInvalid());
  EXPECT_TRUE(Float64BlockDriver::Make(std::make_unique<MockHardware>(), 1, -1.0, "V")
                  .status()
                  .IsInvalid());
}

TEST(SampleClock, FloorsAndKeepsTimestampsIncreasingAcrossSegmentsAndResets) {
  SampleClock clock(3.0);  // 333333333.33 ns per sample
  std::int64_t t[3];
  EXPECT_FALSE(clock.Stamp(3, t).ok());
  clock.StartSegment(1000);
  ASSERT_OK(clock.Stamp(3, t));
  EXPECT_EQ(t[0], 1000);
  EXPECT_EQ(t[1], 1000 + 333333333);
  EXPECT_EQ(t[2], 1000 + 666666666);
  // A wall clock that went backwards does not make timestamps go back.
  clock.StartSegment(5);
  ASSERT_OK(clock.Stamp(1, t));
  EXPECT_EQ(t[0], 1000 + 666666666 + 1);
  EXPECT_EQ(clock.segment_first_index(), 3);
  clock.Reset();
  EXPECT_EQ(clock.next_index(), 0);
  EXPECT_FALSE(clock.has_segment());
}


TEST(SampleClock, StampEqualsOffsetNanosForEveryRateAndIndex) {
  // Stamp computes floor(k * 1e9 / rate) without OffsetNanos's floor (a truncation for k >= 0);
  // the values must be the same, the clamp at ~100 years included.
  for (double rate : {3.0, 7.3, 1e3, 3e6, 2.5e6, 1e8, 1e-9}) {
    SampleClock clock(rate);
    clock.StartSegment(0);
    std::vector<std::int64_t> t(1000);
    ASSERT_OK(clock.Stamp(500, t.data()));  // from k = 0
    for (std::int64_t k = 0; k < 500; ++k) {
      ASSERT_EQ(t[k], SampleClock::OffsetNanos(k, rate)) << "rate " << rate << ", k " << k;
    }
    // Far along: k near 2^40
    SampleClock far(rate);
    far.StartSegment(0);
    std::vector<std::int64_t> skip(1 << 20);
    for (int i = 0; i < 3; ++i) ASSERT_OK(far.Stamp(static_cast<std::int64_t>(skip.size()), skip.data()));
    ASSERT_OK(far.Stamp(1000, t.data()));
    for (std::int64_t i = 0; i < 1000; ++i) {
      ASSERT_EQ(t[i], SampleClock::OffsetNanos(3 * (1 << 20) + i, rate)) << "rate " << rate;
    }
  }
}

}  // namespace
}  // namespace arrowdaq::instruments
