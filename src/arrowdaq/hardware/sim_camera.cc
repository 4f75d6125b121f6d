#include "arrowdaq/hardware/sim_camera.h"

#include <arrow/buffer.h>
#include <arrow/memory_pool.h>

#include <algorithm>
#include <bit>
#include <cctype>
#include <cmath>
#include <cstring>
#include <thread>
#include <vector>

#include "arrowdaq/hardware/resource.h"

#ifndef ARROWDAQ_VERSION
#define ARROWDAQ_VERSION "0.0.0"
#endif

namespace arrowdaq::hardware {

static_assert(std::endian::native == std::endian::little,
              "SimCamera writes native uint16 as its little-endian frame format");

namespace {

std::string NormalizeCommand(const std::string& command) {
  auto begin = std::find_if_not(command.begin(), command.end(),
                                [](unsigned char ch) { return std::isspace(ch) != 0; });
  auto end = std::find_if_not(command.rbegin(), command.rend(), [](unsigned char ch) {
               return std::isspace(ch) != 0;
             }).base();
  std::string out(begin, std::max(begin, end));
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char ch) { return static_cast<char>(std::toupper(ch)); });
  return out;
}

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
    return Status::Invalid("option 'fps' must be > 0 and <= ", kMaxSimCameraFps, " (Hz), got ",
                           o.fps);
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

SimCamera::SimCamera(PrivateTag, const SimCameraOptions& options) : options_(options) {}

Status SimCamera::Connect(const std::string& resource, Timeout /*timeout*/) {
  auto parsed = ParseResource(resource);
  if (!parsed.ok() || parsed->kind != ResourceKind::kSim) {
    return Status::Invalid("simulated camera: cannot connect to '", resource,
                           "': expected SIM::<model>");
  }
  resource_ = resource;
  connected_ = true;
  armed_ = false;
  next_frame_ = 0;
  batches_since_init_ = 0;
  return Status::OK();
}

Status SimCamera::Disconnect() {
  connected_ = false;
  armed_ = false;
  return Status::OK();
}

Status SimCamera::CheckConnected(const char* what) const {
  if (!connected_) return Status::Invalid("simulated camera: ", what, " while not connected");
  return Status::OK();
}

Result<std::string> SimCamera::SendCommand(const std::string& command, Timeout /*timeout*/) {
  ARROW_RETURN_NOT_OK(CheckConnected("SendCommand"));
  const std::string cmd = NormalizeCommand(command);
  if (cmd == "*IDN?") return std::string("arrowdaq,SIM-CAMERA,0,") + ARROWDAQ_VERSION;
  if (cmd == "INIT" || cmd == "INITIATE") {
    if (armed_) return Status::Invalid(resource_, ": -213,\"Init ignored\" (already armed)");
    armed_ = true;
    batches_since_init_ = 0;
    t_init_ = SteadyClock::now();
    return std::string();
  }
  if (cmd == "ABOR" || cmd == "ABORT") {
    armed_ = false;
    return std::string();
  }
  if (cmd == "*RST") {
    armed_ = false;
    next_frame_ = 0;
    batches_since_init_ = 0;
    return std::string();
  }
  return Status::Invalid(resource_, ": -113,\"Undefined header\": '", command, "'");
}

SteadyClock::time_point SimCamera::next_deadline() const {
  const double due_ns = static_cast<double>(batches_since_init_ + 1) *
                        static_cast<double>(options_.frames_per_batch) * 1e9 / options_.fps;
  const double clamped_ns = std::min(std::ceil(due_ns), 3.0e18);
  return t_init_ + std::chrono::nanoseconds(static_cast<std::int64_t>(clamped_ns));
}

std::int64_t SimCamera::batch_bytes() const {
  return options_.frames_per_batch * options_.height * options_.width *
         static_cast<std::int64_t>(sizeof(std::uint16_t));
}

Result<std::shared_ptr<arrow::Buffer>> SimCamera::ReadRawData(Timeout timeout) {
  ARROW_RETURN_NOT_OK(CheckConnected("ReadRawData"));
  if (!armed_) {
    return Status::Invalid(resource_, ": ReadRawData while not armed (send INIT first)");
  }
  const SteadyClock::time_point deadline = next_deadline();
  const SteadyClock::time_point start = SteadyClock::now();
  if (std::chrono::duration<double, std::milli>(deadline - start) >
      std::chrono::duration<double, std::milli>(timeout)) {
    std::this_thread::sleep_until(start + std::max(timeout, Timeout::zero()));
    return Status::IOError(resource_, ": read timed out after ", timeout.count(), " ms");
  }
  // The one allocation of the batch; everything downstream wraps it.
  ARROW_ASSIGN_OR_RAISE(std::unique_ptr<arrow::Buffer> buffer,
                        arrow::AllocateBuffer(batch_bytes(), arrow::default_memory_pool()));
  FillSimCameraFrames(options_, next_frame_, options_.frames_per_batch,
                      reinterpret_cast<std::uint16_t*>(buffer->mutable_data()));
  std::this_thread::sleep_until(deadline);
  next_frame_ += options_.frames_per_batch;
  ++batches_since_init_;
  return std::shared_ptr<arrow::Buffer>(std::move(buffer));
}

}  // namespace arrowdaq::hardware
