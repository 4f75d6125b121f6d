#include "arrowdaq/instruments/sim_camera_driver.h"

#include <arrow/array.h>
#include <arrow/extension/fixed_shape_tensor.h>
#include <arrow/extension_type.h>
#include <arrow/util/key_value_metadata.h>
#include <gtest/gtest.h>

#include <cstdint>
#include <vector>

#include "arrowdaq/core/schema.h"
#include "arrowdaq/testing/gtest_util.h"

namespace arrowdaq::instruments {
namespace {

using hardware::SimCameraOptions;
using hardware::Timeout;

constexpr Timeout kLong{5000};

// The formula written out again from docs/instruments.md (not by calling the code under test).
std::uint16_t RefPixel(std::int64_t f, std::int64_t y, std::int64_t x, std::int64_t seed) {
  return static_cast<std::uint16_t>((x + 2 * y + 7 * f + seed) % 65536);
}

TEST(SimCameraDriver, SchemaIsTimestampThenATensorFrameWithUnitAndRate) {
  SimCameraOptions o;
  o.width = 7;
  o.height = 5;
  o.fps = 250.0;
  ASSERT_OK_AND_ASSIGN(auto driver, SimCameraDriver::Make(o));
  const auto& schema = *driver->schema();
  ASSERT_OK(ValidateStreamSchema(schema));
  ASSERT_EQ(schema.num_fields(), 2);
  const auto& frame = *schema.field(1);
  EXPECT_EQ(frame.name(), "frame");
  EXPECT_EQ(FieldUnit(frame), "counts");
  ASSERT_EQ(frame.type()->id(), arrow::Type::EXTENSION);
  const auto& ext = static_cast<const arrow::ExtensionType&>(*frame.type());
  EXPECT_EQ(ext.extension_name(), "arrow.fixed_shape_tensor");
  const auto& tensor = static_cast<const arrow::extension::FixedShapeTensorType&>(ext);
  EXPECT_EQ(tensor.shape(), (std::vector<std::int64_t>{5, 7}));
  EXPECT_TRUE(tensor.value_type()->Equals(*arrow::uint16()));
  EXPECT_TRUE(ext.storage_type()->Equals(*arrow::fixed_size_list(arrow::uint16(), 35)));
  ASSERT_OK_AND_ASSIGN(double rate, StreamRate(schema));
  EXPECT_EQ(rate, 250.0);
  EXPECT_EQ(schema.metadata()->Get("driver").ValueOr(""), "sim.camera");
  // Registered, so IPC readers in this process rebuild the tensor type.
  EXPECT_NE(arrow::GetExtensionType("arrow.fixed_shape_tensor"), nullptr);
}

TEST(SimCameraDriver, FramesFollowTheFormulaAndWrapTheRawBufferWithoutCopy) {
  SimCameraOptions o;
  o.width = 300;
  o.height = 200;  // 2*199 + 299 + 7*f + seed crosses 65536 for the later frames below
  o.fps = 1000.0;
  o.frames_per_batch = 3;
  o.seed = 65000;
  ASSERT_OK_AND_ASSIGN(auto driver, SimCameraDriver::Make(o));
  ASSERT_OK(driver->hardware().Connect("SIM::camera", kLong));
  ASSERT_OK(driver->Configure());
  ASSERT_OK(driver->StartAcquisition());
  std::int64_t f0 = 0;
  std::int64_t last_ts = 0;
  for (int batch = 0; batch < 3; ++batch) {
    ASSERT_OK_AND_ASSIGN(auto raw, driver->hardware().ReadRawData(kLong));
    const std::uint8_t* raw_address = raw->data();
    ASSERT_OK_AND_ASSIGN(auto rb, driver->Decode(raw));
    ASSERT_OK(rb->ValidateFull());
    ASSERT_EQ(rb->num_rows(), 3);
    EXPECT_TRUE(rb->schema()->Equals(*driver->schema()));
    const auto& ext = static_cast<const arrow::ExtensionArray&>(*rb->column(1));
    const auto& list = static_cast<const arrow::FixedSizeListArray&>(*ext.storage());
    const auto& values = static_cast<const arrow::UInt16Array&>(*list.values());
    EXPECT_EQ(reinterpret_cast<const std::uint8_t*>(values.raw_values()), raw_address)
        << "the pixels must be the camera's buffer, not a copy";
    for (std::int64_t k = 0; k < 3; ++k) {
      for (std::int64_t y = 0; y < o.height; ++y) {
        for (std::int64_t x = 0; x < o.width; ++x) {
          const std::uint16_t got = values.Value((k * o.height + y) * o.width + x);
          ASSERT_EQ(got, RefPixel(f0 + k, y, x, o.seed))
              << "f " << f0 + k << " y " << y << " x " << x;
        }
      }
    }
    const auto& ts = static_cast<const arrow::TimestampArray&>(*rb->column(0));
    for (std::int64_t k = 0; k < 3; ++k) {
      if (f0 + k > 0) {
        EXPECT_GT(ts.Value(k), last_ts);
      }
      last_ts = ts.Value(k);
    }
    f0 += 3;
  }
  ASSERT_OK(driver->StopAcquisition());
}

TEST(SimCameraDriver, RegistryBuildsItWithDefaultsAndRejectsBadOptions) {
  const auto* info = *DriverRegistry::Default().Find("sim.camera");
  EXPECT_EQ(info->default_resource, "SIM::camera");
  ASSERT_OK_AND_ASSIGN(auto driver, DriverRegistry::Default().Create("sim.camera", {}));
  const auto& tensor = static_cast<const arrow::extension::FixedShapeTensorType&>(
      *driver->schema()->field(1)->type());
  EXPECT_EQ(tensor.shape(), (std::vector<std::int64_t>{512, 512}));
  auto bad = DriverRegistry::Default().Create("sim.camera", {{"fps", -1.0}});
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("option 'fps'"), std::string::npos)
      << bad.status().ToString();
  bad = DriverRegistry::Default().Create("sim.camera", {{"width", std::int64_t{0}}});
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("option 'width'"), std::string::npos);
}

TEST(SimCameraDriver, DecodeRefusesAWrongSize) {
  SimCameraOptions o;
  o.width = 4;
  o.height = 4;
  ASSERT_OK_AND_ASSIGN(auto driver, SimCameraDriver::Make(o));
  ASSERT_OK(driver->hardware().Connect("SIM::camera", kLong));
  ASSERT_OK(driver->Configure());
  ASSERT_OK(driver->StartAcquisition());
  ASSERT_OK_AND_ASSIGN(auto small, arrow::AllocateBuffer(30));
  auto r = driver->Decode(std::shared_ptr<arrow::Buffer>(std::move(small)));
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("expected 32"), std::string::npos) << r.status().ToString();
}

TEST(SimCameraDriver, FramesGoIntoPooledBatchesWithNoAllocationPerFrame) {
  SimCameraOptions o;
  o.width = 64;
  o.height = 48;
  o.fps = 100000.0;
  o.frames_per_batch = 2;
  o.seed = 3;
  ASSERT_OK_AND_ASSIGN(auto driver, SimCameraDriver::Make(o));
  ASSERT_OK(driver->hardware().Connect("SIM::camera", kLong));
  ASSERT_OK(driver->Configure());
  ASSERT_OK(driver->StartAcquisition());
  arrow::MemoryPool* arrow_pool = arrow::default_memory_pool();
  std::int64_t allocations = 0;
  std::int64_t last_ts = 0;
  for (std::int64_t batch = 0; batch < 20; ++batch) {
    ASSERT_OK_AND_ASSIGN(auto rb, driver->ReadBatch());  // released each turn
    if (batch == 0) allocations = arrow_pool->num_allocations();
    ASSERT_OK(rb->ValidateFull());
    ASSERT_EQ(rb->num_rows(), 2);
    const auto& ext = static_cast<const arrow::ExtensionArray&>(*rb->column(1));
    const auto& list = static_cast<const arrow::FixedSizeListArray&>(*ext.storage());
    const auto& values = static_cast<const arrow::UInt16Array&>(*list.values());
    const auto& ts = static_cast<const arrow::TimestampArray&>(*rb->column(0));
    for (std::int64_t k = 0; k < 2; ++k) {
      const std::int64_t f = 2 * batch + k;
      for (std::int64_t y = 0; y < o.height; ++y) {
        for (std::int64_t x = 0; x < o.width; ++x) {
          ASSERT_EQ(values.Value((k * o.height + y) * o.width + x), RefPixel(f, y, x, o.seed))
              << "f " << f << " y " << y << " x " << x;
        }
      }
      if (f > 0) {
        EXPECT_GT(ts.Value(k), last_ts);
      }
      last_ts = ts.Value(k);
    }
  }
  EXPECT_EQ(arrow_pool->num_allocations(), allocations) << "a frame allocated memory";
  auto stats = *driver->pool_stats();
  EXPECT_EQ(stats.hits, 19);
  EXPECT_EQ(stats.misses, 1);
  // One block: the timestamps (rounded up to 64 bytes), then the two frames.
  EXPECT_EQ(stats.block_bytes, 64 + 2 * 64 * 48 * 2);
  ASSERT_OK(driver->StopAcquisition());
}

TEST(SimCameraDriver, AConsumerHoldingEveryFrameMakesThePoolCountOverflows) {
  ASSERT_OK_AND_ASSIGN(auto made, DriverRegistry::Default().Create(
                                      "sim.camera", {{"width", std::int64_t{16}},
                                                     {"height", std::int64_t{8}},
                                                     {"fps", 100000.0},
                                                     {"pool_batches", std::int64_t{4}}}));
  ASSERT_OK(made->hardware().Connect("SIM::camera", kLong));
  ASSERT_OK(made->Configure());
  ASSERT_OK(made->StartAcquisition());
  std::vector<std::shared_ptr<arrow::RecordBatch>> held;
  for (int k = 0; k < 12; ++k) {
    ASSERT_OK_AND_ASSIGN(auto rb, made->ReadBatch());
    held.push_back(rb);
  }
  for (std::int64_t k = 0; k < 12; ++k) {  // each held frame is still its own
    const auto& ext = static_cast<const arrow::ExtensionArray&>(*held[k]->column(1));
    const auto& list = static_cast<const arrow::FixedSizeListArray&>(*ext.storage());
    EXPECT_EQ(static_cast<const arrow::UInt16Array&>(*list.values()).Value(0),
              RefPixel(k, 0, 0, 0));
  }
  auto stats = *made->pool_stats();
  EXPECT_EQ(stats.blocks, 4);
  EXPECT_EQ(stats.overflows, 8);
  EXPECT_EQ(made->pool_policy(), "count");
}

}  // namespace
}  // namespace arrowdaq::instruments
