#include "arrowdaq/instruments/sim_camera_driver.h"

#include <arrow/array/data.h>
#include <arrow/extension/fixed_shape_tensor.h>
#include <arrow/extension_type.h>
#include <arrow/memory_pool.h>

#include <algorithm>
#include <cmath>
#include <mutex>

#include "arrowdaq/core/clock.h"
#include "arrowdaq/core/schema.h"

namespace arrowdaq::instruments {

namespace {

constexpr hardware::Timeout kCommandTimeout{1000};

// Arrow registers its canonical extension types itself; register ours only if this build of
// Arrow did not, so IPC readers rebuild the tensor type instead of handing back its storage.
Status EnsureTensorTypeRegistered(const std::shared_ptr<arrow::DataType>& type) {
  static std::once_flag once;
  static Status result;
  std::call_once(once, [&] {
    const auto& ext = static_cast<const arrow::ExtensionType&>(*type);
    if (arrow::GetExtensionType(ext.extension_name()) != nullptr) return;
    Status st = arrow::RegisterExtensionType(std::static_pointer_cast<arrow::ExtensionType>(type));
    // Another component may have registered it in between; that is what we wanted.
    if (!st.ok() && arrow::GetExtensionType(ext.extension_name()) == nullptr) result = st;
  });
  return result;
}

}  // namespace

std::vector<OptionSpec> SimCameraOptionSpecs() {
  return {
      {"width", std::int64_t{512}, "pixels per row, 1..8192", "pixels"},
      {"height", std::int64_t{512}, "rows per frame, 1..8192", "pixels"},
      {"fps", 100.0, "frames per second, > 0 and <= 100000", "Hz"},
      {"frames_per_batch", std::int64_t{1}, "frames per batch (rows per batch), 1..10000", ""},
      {"seed", std::int64_t{0}, "added to every pixel value (mod 65536), >= 0", ""},
      SimPoolOptionSpecs()[0],
      SimPoolOptionSpecs()[1],
  };
}

Result<std::shared_ptr<arrow::DataType>> FrameType(std::int64_t height, std::int64_t width) {
  ARROW_ASSIGN_OR_RAISE(
      auto type, arrow::extension::FixedShapeTensorType::Make(arrow::uint16(), {height, width}));
  ARROW_RETURN_NOT_OK(EnsureTensorTypeRegistered(type));
  return type;
}

Result<std::unique_ptr<SimCameraDriver>> SimCameraDriver::Make(
    const hardware::SimCameraOptions& options, SimPoolOptions pool) {
  ARROW_ASSIGN_OR_RAISE(auto camera, hardware::SimCamera::Make(options));
  ARROW_ASSIGN_OR_RAISE(auto frame_type, FrameType(options.height, options.width));
  ARROW_ASSIGN_OR_RAISE(
      auto schema,
      MakeStreamSchema(
          {ChannelSpec{kFrameColumn, "counts",
                       "simulated camera frame: uint16 pixels, row-major [y, x]", frame_type}},
          {{"driver", kSimCameraDriverName},
           {"resource", kSimCameraResource},
           {kRateKey, FormatRate(options.fps)}}));
  auto driver = std::make_unique<SimCameraDriver>(std::move(camera), std::move(schema));
  const std::int64_t frames = options.frames_per_batch;
  const std::int64_t time_bytes = (frames * 8 + 63) / 64 * 64;
  const std::int64_t pixel_bytes = driver->camera_->batch_bytes();
  driver->time_bytes_ = time_bytes;
  BatchBuilder builder = [schema = driver->schema_, frames, time_bytes, pixel_bytes,
                          pixels = options.height * options.width](
                             const std::shared_ptr<arrow::Buffer>& block)
      -> Result<std::shared_ptr<arrow::RecordBatch>> {
    auto timestamps = arrow::ArrayData::Make(
        schema->field(0)->type(), frames, {nullptr, arrow::SliceBuffer(block, 0, frames * 8)},
        /*null_count=*/0);
    auto values = arrow::ArrayData::Make(
        arrow::uint16(), frames * pixels,
        {nullptr, arrow::SliceBuffer(block, time_bytes, pixel_bytes)}, /*null_count=*/0);
    auto frame = arrow::ArrayData::Make(schema->field(1)->type(), frames, {nullptr},
                                        {std::move(values)}, /*null_count=*/0);
    return arrow::RecordBatch::Make(schema, frames, {std::move(timestamps), std::move(frame)});
  };
  const std::int64_t block_bytes = time_bytes + pixel_bytes;
  ARROW_ASSIGN_OR_RAISE(driver->batches_,
                        BatchPool::Make({.block_bytes = block_bytes,
                                         .max_batches = SimPoolBatches(pool, block_bytes),
                                         .on_exhausted = pool.on_exhausted,
                                         .block_timeout = driver->read_timeout()},
                                        std::move(builder)));
  return driver;
}

Result<std::unique_ptr<SimCameraDriver>> SimCameraDriver::Make(const ResolvedOptions& given) {
  ARROW_ASSIGN_OR_RAISE(const ResolvedOptions options,
                        ResolvedOptions::Make(SimCameraOptionSpecs(), given.values()));
  hardware::SimCameraOptions o;
  o.width = options.GetInt("width");
  o.height = options.GetInt("height");
  o.fps = options.GetDouble("fps");
  o.frames_per_batch = options.GetInt("frames_per_batch");
  o.seed = options.GetInt("seed");
  ARROW_ASSIGN_OR_RAISE(const SimPoolOptions pool, SimPoolOptionsFrom(options));
  return Make(o, pool);
}

SimCameraDriver::SimCameraDriver(std::unique_ptr<hardware::SimCamera> camera,
                                 std::shared_ptr<arrow::Schema> schema)
    : camera_(std::move(camera)), schema_(std::move(schema)), clock_(camera_->options().fps) {}

hardware::Timeout SimCameraDriver::read_timeout() const {
  const auto& o = camera_->options();
  const double four_periods_ms = 4.0 * static_cast<double>(o.frames_per_batch) / o.fps * 1000.0;
  const double clamped_ms = std::min(std::ceil(four_periods_ms), 3.0e12);
  return std::max(hardware::Timeout{1000},
                  hardware::Timeout{static_cast<std::int64_t>(clamped_ms)});
}

Status SimCameraDriver::Configure() {
  ARROW_RETURN_NOT_OK(camera_->SendCommand("*RST", kCommandTimeout));
  ARROW_ASSIGN_OR_RAISE(std::string idn, camera_->SendCommand("*IDN?", kCommandTimeout));
  if (idn.rfind("arrowdaq,SIM-CAMERA,", 0) != 0) {
    return Status::Invalid("unexpected *IDN? reply '", idn,
                           "' (expected 'arrowdaq,SIM-CAMERA,...')");
  }
  clock_.Reset();
  return Status::OK();
}

Status SimCameraDriver::StartAcquisition() {
  ARROW_RETURN_NOT_OK(camera_->SendCommand("INIT", kCommandTimeout));
  clock_.StartSegment(WallClockNanos());
  return Status::OK();
}

Status SimCameraDriver::StopAcquisition() {
  return camera_->SendCommand("ABOR", kCommandTimeout).status();
}

Result<std::shared_ptr<arrow::RecordBatch>> SimCameraDriver::Decode(
    std::shared_ptr<arrow::Buffer> raw) {
  if (raw == nullptr) return Status::Invalid("raw block is null");
  if (!raw->is_cpu()) return Status::Invalid("raw block is not in CPU memory");
  const auto& o = camera_->options();
  const std::int64_t frames = o.frames_per_batch;
  const std::int64_t pixels = o.height * o.width;
  if (raw->size() != camera_->batch_bytes()) {
    return Status::Invalid("raw block has ", raw->size(), " bytes, expected ",
                           camera_->batch_bytes(), " (frames_per_batch ", frames, " * height ",
                           o.height, " * width ", o.width, " * 2 bytes of uint16)");
  }
  if (raw->address() % alignof(std::uint16_t) != 0) {
    return Status::Invalid("raw block is not 2-byte aligned");
  }
  if (!clock_.has_segment()) {
    return Status::Invalid("no acquisition segment: StartAcquisition must precede Decode");
  }
  ARROW_ASSIGN_OR_RAISE(
      std::unique_ptr<arrow::Buffer> times,
      arrow::AllocateBuffer(frames * static_cast<std::int64_t>(sizeof(std::int64_t))));
  ARROW_RETURN_NOT_OK(clock_.Stamp(frames, reinterpret_cast<std::int64_t*>(times->mutable_data())));

  const auto& frame_type = schema_->field(1)->type();
  // pixels (uint16, the raw buffer itself) <- fixed_size_list<uint16>[h*w] <- tensor extension.
  auto values = arrow::ArrayData::Make(arrow::uint16(), frames * pixels, {nullptr, std::move(raw)},
                                       /*null_count=*/0);
  auto frame = arrow::ArrayData::Make(frame_type, frames, {nullptr}, {std::move(values)},
                                      /*null_count=*/0);
  auto timestamps = arrow::ArrayData::Make(
      schema_->field(0)->type(), frames, {nullptr, std::shared_ptr<arrow::Buffer>(std::move(times))},
      /*null_count=*/0);
  return arrow::RecordBatch::Make(schema_, frames, {std::move(timestamps), std::move(frame)});
}

Result<std::shared_ptr<arrow::RecordBatch>> SimCameraDriver::ReadBatch() {
  if (!clock_.has_segment()) {
    return Status::Invalid("no acquisition segment: StartAcquisition must precede ReadBatch");
  }
  const std::int64_t frames = camera_->options().frames_per_batch;
  ARROW_ASSIGN_OR_RAISE(PooledBatch pooled, batches_->Acquire());
  ARROW_RETURN_NOT_OK(camera_->ReadInto(
      std::span<std::uint8_t>(pooled.data + time_bytes_,
                              static_cast<std::size_t>(camera_->batch_bytes())),
      read_timeout()));
  ARROW_RETURN_NOT_OK(clock_.Stamp(frames, reinterpret_cast<std::int64_t*>(pooled.data)));
  return std::move(pooled.batch);
}

Status RegisterSimCameraDriver(DriverRegistry& registry) {
  DriverInfo info;
  info.name = kSimCameraDriverName;
  info.description =
      "simulated camera: uint16 frames (x + 2y + 7f + seed) mod 65536 at fps, as "
      "fixed_shape_tensor";
  info.default_resource = kSimCameraResource;
  info.options = SimCameraOptionSpecs();
  info.factory = FactoryOf(&SimCameraDriver::Make);
  return registry.Register(std::move(info));
}

}  // namespace arrowdaq::instruments
