#include "arrowdaq/hardware/simulated_hardware.h"

#include <algorithm>
#include <bit>
#include <cctype>
#include <string_view>

namespace arrowdaq::hardware {

// The wire format is little-endian float64; on a little-endian host that is the native layout,
// which is what lets the driver wrap the buffer into arrays without a copy.
static_assert(std::endian::native == std::endian::little,
              "SimulatedHardware writes native doubles as its little-endian wire format");

Result<std::unique_ptr<SimulatedHardware>> SimulatedHardware::Make(
    const SimSourceOptions& options) {
  ARROW_RETURN_NOT_OK(ValidateSimSourceOptions(options));
  return std::make_unique<SimulatedHardware>(PrivateTag{}, options);
}

SimulatedHardware::SimulatedHardware(PrivateTag, const SimSourceOptions& options)
    : SimDevice("simulated hardware"), options_(options) {}

std::int64_t SimulatedHardware::batch_bytes() const {
  return options_.batch_size * options_.channels * static_cast<std::int64_t>(sizeof(double));
}

std::string SimulatedHardware::IdnModel() const {
  std::string out(ToString(options_.waveform));
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char ch) { return static_cast<char>(std::toupper(ch)); });
  return out;
}

void SimulatedHardware::FillBatch(std::int64_t first_row, std::int64_t rows,
                                  std::span<std::uint8_t> out) const {
  FillSimBlock(options_, first_row, rows, reinterpret_cast<double*>(out.data()));
}

}  // namespace arrowdaq::hardware
