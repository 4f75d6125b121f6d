#include "arrowdaq/hardware/sim_camera.h"
#include "arrowdaq/core/options.h"

#include <bit>
#include <cstring>
#include <vector>

namespace arrowdaq::hardware {

static_assert(std::endian::native == std::endian::little,
              "SimCamera writes native uint16 as its little-endian frame format");

namespace {

// Every row of a frame is 16-bit counting run b, b+1, ..., b+width-1 (mod 65536), so it is a
// window of this table: T[i] = i mod 65536 for i < 65536 + kMaxSimCameraSide. Filling a row is
// one memcpy, which keeps 512 x 512 at 100 fps cheap even in a sanitized debug build.
const std::vector<std::uint16_t>& CountingTable() {
  static const std::vector<std::uint16_t> table = [] {
    std::vector<std::uint16_t> t(65536 + static_cast<size_t>(kMaxSimCameraSide));
    for (size_t i = 0; i < t.size(); ++i) t[i] = static_cast<std::uint16_t>(i);
    return t;
  }();
  return table;
}

}  // namespace

Status ValidateSimCameraOptions(const SimCameraOptions& o) {
  if (o.width < 1 || o.width > kMaxSimCameraSide) {
    return Status::Invalid("option 'width' must be 1..", kMaxSimCameraSide, " (pixels), got ",
                           o.width);
  }
  if (o.height < 1 || o.height > kMaxSimCameraSide) {
    return Status::Invalid("option 'height' must be 1..", kMaxSimCameraSide, " (pixels), got ",
                           o.height);
  }
  if (!(o.fps > 0 && o.fps <= kMaxSimCameraFps)) {
    return Status::Invalid("option 'fps' must be > 0 and <= ", FormatNumber(kMaxSimCameraFps),
                           " (Hz), got ", FormatNumber(o.fps));
  }
  if (o.frames_per_batch < 1 || o.frames_per_batch > kMaxSimCameraFramesPerBatch) {
    return Status::Invalid("option 'frames_per_batch' must be 1..", kMaxSimCameraFramesPerBatch,
                           ", got ", o.frames_per_batch);
  }
  if (o.seed < 0) return Status::Invalid("option 'seed' must be >= 0, got ", o.seed);
  const std::int64_t bytes = o.frames_per_batch * o.height * o.width * 2;
  if (bytes > kMaxSimCameraBatchBytes) {
    return Status::Invalid("a batch of frames_per_batch ", o.frames_per_batch, " x height ",
                           o.height, " x width ", o.width, " x 2 bytes is ", bytes,
                           " bytes, more than the 1 GiB limit; lower frames_per_batch");
  }
  return Status::OK();
}

void FillSimCameraFrames(const SimCameraOptions& o, std::int64_t first_frame, std::int64_t count,
                         std::uint16_t* out) {
  const std::uint16_t* table = CountingTable().data();
  const size_t row_bytes = static_cast<size_t>(o.width) * sizeof(std::uint16_t);
  for (std::int64_t k = 0; k < count; ++k) {
    for (std::int64_t y = 0; y < o.height; ++y) {
      // The row's first value, x = 0; the rest count up from it.
      const std::uint16_t b = SimCameraPixel(first_frame + k, y, 0, o.seed);
      std::memcpy(out, table + b, row_bytes);
      out += o.width;
    }
  }
}

Result<std::unique_ptr<SimCamera>> SimCamera::Make(const SimCameraOptions& options) {
  ARROW_RETURN_NOT_OK(ValidateSimCameraOptions(options));
  return std::make_unique<SimCamera>(PrivateTag{}, options);
}

SimCamera::SimCamera(PrivateTag, const SimCameraOptions& options)
    : SimDevice("simulated camera"), options_(options) {}

std::int64_t SimCamera::batch_bytes() const {
  return options_.frames_per_batch * options_.height * options_.width *
         static_cast<std::int64_t>(sizeof(std::uint16_t));
}

void SimCamera::FillBatch(std::int64_t first_row, std::int64_t rows,
                          std::span<std::uint8_t> out) const {
  FillSimCameraFrames(options_, first_row, rows, reinterpret_cast<std::uint16_t*>(out.data()));
}

}  // namespace arrowdaq::hardware
