// Newport 1830-C optical power meter over RS-232: `newport.1830c`. After each Connect it
// selects watts (`U1`), sets the calibration wavelength (`W<nm>`), selects auto-ranging
// (`A1`), then reads the settings back (`U?` must answer 1, `W?` the wavelength): the meter
// has no *IDN?, so the read-back is the identification. It then polls `D?` (the reading, in
// the selected unit) at rate_hz. The meter answers queries only; set commands have no reply.
//
// Follows: Newport Model 1830-C Optical Power Meter User's Manual, Section 4 "Computer
// Interfacing" (RS-232 set-up, command syntax: commands end with LF, replies end with LF)
// and its command reference (A auto-range, D? read data, U units 1=W 2=dB 3=dBm 4=REL,
// W wavelength in nm). Defaults 9600 Bd 8N1 no handshake as the manual's RS-232 section gives
// them; check the rear-panel settings of your unit. The section numbers were not verified
// against a scanned copy here (see docs/instruments.md).
//
// Ownership and threading: as every driver.
#pragma once

#include <memory>
#include <vector>

#include "arrowdaq/core/options.h"
#include "arrowdaq/instruments/message_device.h"

namespace arrowdaq::instruments {

class Newport1830cDriver : public PolledDriver {
 public:
  /// Build from options resolved against Newport1830cOptionSpecs().
  static Result<std::unique_ptr<Newport1830cDriver>> Make(const ResolvedOptions& options);

 protected:
  Newport1830cDriver(PolledConfig config, std::unique_ptr<MessageDevice> device,
                     std::shared_ptr<arrow::Schema> schema, std::int64_t wavelength_nm)
      : PolledDriver(std::move(config), std::move(device), std::move(schema)),
        wavelength_nm_(wavelength_nm) {}

  Status ConfigureDevice(hardware::StreamTransport& t) override;
  Result<std::vector<double>> PollRow(hardware::StreamTransport& t) override;

 private:
  std::int64_t wavelength_nm_;
};

/// Return the options of newport.1830c (wavelength_nm, rate_hz, batch_size, link options).
std::vector<OptionSpec> Newport1830cOptionSpecs();

/// Register newport.1830c.
Status RegisterNewport1830c(DriverRegistry& registry);

}  // namespace arrowdaq::instruments
