// SimCamera: a SimDevice (see sim_device.h) for `SIM::<model>` resources that behaves like a
// camera: width x height uint16 pixels per frame at `fps` frames per second, handed out
// `frames_per_batch` frames per ReadRawData at the instant a real camera would have them. The
// pixel values are a pure function of the frame index f and the pixel (y, x), so tests in any
// language can check every pixel (SimCameraPixel, docs/instruments.md):
//
//   p[f, y, x] = (x + 2*y + 7*f + seed) mod 65536
//
// Pacing (SimDevice's, a row being one frame): after INIT at steady time t_init, batch k (0-based
// since that INIT) is released at t_init + (k+1)*frames_per_batch/fps (absolute deadlines, no
// drift). A late reader gets the overdue batches at once; no frame is skipped (the camera has no
// FIFO and waits for its reader, so back-pressure pauses it and nothing is lost). f starts at 0
// on Connect and *RST and keeps counting across ABOR/INIT.
//
// Ownership: the owner (a driver) holds it in a unique_ptr. Each batch is ONE fresh buffer from
// Arrow's default memory pool (64-byte aligned), frames one after the other, each frame row-major
// (y outer, x inner), native (little-endian) uint16; it is handed over to the caller, who may wrap
// it without copying. Threading: one thread at a time (the instrument's own thread).
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "arrowdaq/hardware/sim_device.h"

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

class SimCamera : public SimDevice {
  struct PrivateTag {
    explicit PrivateTag() = default;
  };

 public:
  /// Validate `options` (ValidateSimCameraOptions) and build a disconnected camera.
  static Result<std::unique_ptr<SimCamera>> Make(const SimCameraOptions& options);

  /// Use Make; the tag keeps construction with unchecked options out of reach.
  SimCamera(PrivateTag, const SimCameraOptions& options);

  // Connect, Disconnect, SendCommand (*IDN? -> "arrowdaq,SIM-CAMERA,0,<version>") and
  // ReadRawData come from SimDevice; the camera has no FIFO, so it never skips a frame.

  const SimCameraOptions& options() const { return options_; }
  /// Return the frame index of the first frame of the next batch.
  std::int64_t next_frame_index() const { return next_row(); }
  /// Return the size in bytes of one batch: frames_per_batch * height * width * 2.
  std::int64_t batch_bytes() const override;

 private:
  std::string IdnModel() const override { return "CAMERA"; }
  std::int64_t RowsPerBatch() const override { return options_.frames_per_batch; }
  double RowsPerSecond() const override { return options_.fps; }
  void FillBatch(std::int64_t first_row, std::int64_t rows,
                 std::span<std::uint8_t> out) const override;

  SimCameraOptions options_;
};

}  // namespace arrowdaq::hardware
