// SimCameraDriver: the simulated camera `sim.camera` as a first-class driver. It owns a
// hardware::SimCamera (pixel formula in hardware/sim_camera.h and docs/instruments.md) and
// publishes the stream
//
//   timestamp: timestamp[ns, UTC]
//   frame:     arrow.fixed_shape_tensor(value_type=uint16, shape=[height, width])
//              (field metadata unit = "counts"; storage fixed_size_list<uint16>[height*width])
//
// with schema metadata driver = sim.camera, resource = SIM::camera, rate_hz = fps. One row per
// frame, frames_per_batch rows per batch. Decode wraps the camera's buffer without copying: the
// tensor column's values ARE the raw buffer; only the timestamp column (8 bytes per frame) is
// allocated. The acquisition loop (ReadBatch) does better: batches come from a BatchPool
// (core/batch_pool.h), one block per batch holding the timestamps and then the frames, which
// the camera fills in place, so no frame and no batch allocates once the pool is warm.
// Timestamps come from a SampleClock at fps (t[f] = t_init + floor(f * 1e9 / fps)).
//
// Ownership: the driver owns its camera. Threading: the instrument's own thread only.
// RegisterSimCameraDriver is called once by DriverRegistry::Default().
#pragma once

#include <memory>
#include <vector>

#include "arrowdaq/core/options.h"
#include "arrowdaq/hardware/sim_camera.h"
#include "arrowdaq/instruments/driver.h"
#include "arrowdaq/instruments/sample_clock.h"

namespace arrowdaq::instruments {

inline constexpr char kSimCameraDriverName[] = "sim.camera";
inline constexpr char kSimCameraResource[] = "SIM::camera";
/// Name of the frame column.
inline constexpr char kFrameColumn[] = "frame";

/// Return the options of sim.camera with defaults: width, height, fps, frames_per_batch, seed,
/// pool_batches, on_pool_exhausted.
std::vector<OptionSpec> SimCameraOptionSpecs();

/// Return the type of a frame column: fixed_shape_tensor(uint16, [height, width]). Makes sure
/// the extension type is registered, so that IPC readers in this process rebuild it.
Result<std::shared_ptr<arrow::DataType>> FrameType(std::int64_t height, std::int64_t width);

class SimCameraDriver : public InstrumentDriver {
 public:
  /// Validate `options` (message names the option) and build the driver.
  static Result<std::unique_ptr<SimCameraDriver>> Make(const hardware::SimCameraOptions& options,
                                                       SimPoolOptions pool = {});
  /// Build from options resolved against SimCameraOptionSpecs(), as the registry does.
  static Result<std::unique_ptr<SimCameraDriver>> Make(const ResolvedOptions& options);

  /// Use Make.
  SimCameraDriver(std::unique_ptr<hardware::SimCamera> camera,
                  std::shared_ptr<arrow::Schema> schema);

  std::shared_ptr<arrow::Schema> schema() const override { return schema_; }
  hardware::InstrumentHardware& hardware() override { return *camera_; }
  /// Return max(1 s, 4 batch periods), a batch period being frames_per_batch / fps.
  hardware::Timeout read_timeout() const override;
  /// Send *RST (frame index back to 0) and check the *IDN? reply; restart the sample clock.
  Status Configure() override;
  /// Send INIT and start a timestamp segment at the wall clock.
  Status StartAcquisition() override;
  /// Send ABOR.
  Status StopAcquisition() override;
  /// Wrap exactly one batch (frames_per_batch frames) into a batch of schema(); any other size
  /// is refused. Zero copy; a buffer not aligned to 2 bytes is refused.
  Result<std::shared_ptr<arrow::RecordBatch>> Decode(std::shared_ptr<arrow::Buffer> raw) override;
  /// Fill a pooled batch in place: the camera writes the frames, the clock the timestamps; no
  /// allocation per frame or batch once the pool is warm. Exhaustion: the pool's policy.
  Result<std::shared_ptr<arrow::RecordBatch>> ReadBatch() override;
  std::optional<BufferPoolStats> pool_stats() const override { return batches_->stats(); }
  std::string_view pool_policy() const override {
    return ToString(batches_->options().on_exhausted);
  }

  hardware::SimCamera& camera() { return *camera_; }
  const hardware::SimCameraOptions& options() const { return camera_->options(); }
  const SampleClock& clock() const { return clock_; }

 private:
  std::unique_ptr<hardware::SimCamera> camera_;
  std::shared_ptr<arrow::Schema> schema_;
  SampleClock clock_;
  std::int64_t time_bytes_ = 0;         // timestamps at the block's start, rounded up to 64
  std::unique_ptr<BatchPool> batches_;  // made by Make, never replaced (pool_stats: any thread)
};

/// Register sim.camera in `registry`.
Status RegisterSimCameraDriver(DriverRegistry& registry);

}  // namespace arrowdaq::instruments
