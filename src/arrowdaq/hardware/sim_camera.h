// SimCamera: an InstrumentHardware for `SIM::<model>` resources that behaves like a free-running
// camera: width x height uint16 pixels per frame at `fps` frames per second, handed out
// `frames_per_batch` frames per ReadRawData at the instant a real camera would have them. The
// pixel values are a pure function of the frame index f and the pixel (y, x), so tests in any
// language can check every pixel (SimCameraPixel, docs/instruments.md):
//
//   p[f, y, x] = (x + 2*y + 7*f + seed) mod 65536
//
// Pacing, like SimulatedHardware: after INIT at steady time t_init, batch k (0-based since that
// INIT) is released at t_init + (k+1)*frames_per_batch/fps (absolute deadlines, no drift). A late
// reader gets the overdue batches at once; no frame is skipped (the camera waits for its reader,
// so back-pressure pauses it and nothing is lost). f starts at 0 on Connect and *RST and keeps
// counting across ABOR/INIT.
//
// Ownership: the owner (a driver) holds it in a unique_ptr. Each batch is ONE fresh buffer from
// Arrow's default memory pool (64-byte aligned), frames one after the other, each frame row-major
// (y outer, x inner), native (little-endian) uint16; it is handed over to the caller, who may wrap
// it without copying. Threading: one thread at a time (the instrument's own thread).
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "arrowdaq/core/clock.h"
#include "arrowdaq/hardware/instrument_hardware.h"

namespace arrowdaq::hardware {

inline constexpr std::int64_t kMaxSimCameraSide = 8192;
inline constexpr double kMaxSimCameraFps = 100000.0;
inline constexpr std::int64_t kMaxSimCameraFramesPerBatch = 10000;
/// Largest batch a simulated camera hands out in one buffer: 1 GiB.
inline constexpr std::int64_t kMaxSimCameraBatchBytes = std::int64_t{1} << 30;

/// Configure a simulated camera. Field names equal the driver option names.
struct SimCameraOptions {
  std::int64_t width = 512;           ///< pixels per row, 1 .. 8192
  std::int64_t height = 512;          ///< rows per frame, 1 .. 8192
  double fps = 100.0;                 ///< frames per second, (0, 1e5]
  std::int64_t frames_per_batch = 1;  ///< frames per ReadRawData, 1 .. 10000
  std::int64_t seed = 0;              ///< added to every pixel (mod 65536), >= 0
};

/// Check every field's range, and that one batch is at most 1 GiB. The message names the
/// option and the value ("option 'fps' must be > 0 and <= 100000, got -3").
Status ValidateSimCameraOptions(const SimCameraOptions& options);

/// Return pixel (y, x) of frame f: (x + 2*y + 7*f + seed) mod 65536.
inline std::uint16_t SimCameraPixel(std::int64_t f, std::int64_t y, std::int64_t x,
                                    std::int64_t seed) {
  // Unsigned arithmetic wraps modulo 2^64, and 2^16 divides 2^64, so the low 16 bits are exact.
  return static_cast<std::uint16_t>(
      static_cast<std::uint64_t>(x) + 2 * static_cast<std::uint64_t>(y) +
      7 * static_cast<std::uint64_t>(f) + static_cast<std::uint64_t>(seed));
}

/// Write `count` frames starting at frame index `first_frame` to `out` (count*height*width
/// values, frame after frame, row-major).
void FillSimCameraFrames(const SimCameraOptions& options, std::int64_t first_frame,
                         std::int64_t count, std::uint16_t* out);

class SimCamera : public InstrumentHardware {
  struct PrivateTag {
    explicit PrivateTag() = default;
  };

 public:
  /// Validate `options` (ValidateSimCameraOptions) and build a disconnected camera.
  static Result<std::unique_ptr<SimCamera>> Make(const SimCameraOptions& options);

  /// Use Make; the tag keeps construction with unchecked options out of reach.
  SimCamera(PrivateTag, const SimCameraOptions& options);

  /// Accept `SIM::<model>` (any non-empty model); anything else is Status::Invalid naming the
  /// string. Resets the camera: disarmed, next frame index 0.
  Status Connect(const std::string& resource, Timeout timeout) override;
  /// Disarm and disconnect; idempotent.
  Status Disconnect() override;
  /// Understand (case-insensitive, surrounding blanks ignored):
  /// `*IDN?` -> "arrowdaq,SIM-CAMERA,0,<arrowdaq version>"; `INIT` / `INITIATE` (arm; error if
  /// armed); `ABOR` / `ABORT` (disarm); `*RST` (disarm, next frame index 0). Anything else
  /// fails with `-113,"Undefined header"` and the command quoted.
  Result<std::string> SendCommand(const std::string& command, Timeout timeout) override;
  /// Wait for the next batch's deadline and return its frames (batch_bytes() bytes). Fails with
  /// Status::Invalid when not connected or not armed; with Status::IOError "... timed out ..."
  /// after waiting `timeout` when the deadline lies beyond it (the batch is not lost).
  Result<std::shared_ptr<arrow::Buffer>> ReadRawData(Timeout timeout) override;

  const SimCameraOptions& options() const { return options_; }
  bool connected() const { return connected_; }
  bool armed() const { return armed_; }
  /// Return the frame index of the first frame of the next batch.
  std::int64_t next_frame_index() const { return next_frame_; }
  /// Return the size in bytes of one batch: frames_per_batch * height * width * 2.
  std::int64_t batch_bytes() const;

 private:
  Status CheckConnected(const char* what) const;
  SteadyClock::time_point next_deadline() const;

  SimCameraOptions options_;
  std::string resource_;
  bool connected_ = false;
  bool armed_ = false;
  std::int64_t next_frame_ = 0;
  std::int64_t batches_since_init_ = 0;
  SteadyClock::time_point t_init_{};
};

}  // namespace arrowdaq::hardware
