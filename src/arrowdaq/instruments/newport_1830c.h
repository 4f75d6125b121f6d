// Newport 1830-C optical power meter over RS-232: `newport.1830c`. After each Connect it turns
// echo off (`E0`; in echo mode the meter sends every command back, which breaks every query),
// selects watts (`U1`), the calibration wavelength (`W<nm>`), auto-ranging (`R0`), the
// attenuator setting (`A0`, or `A1` when the `attenuator` option says one is fitted: `A` is the
// attenuator, not auto-range) and run mode (`G1`; in hold mode, `G0`, `D?` repeats a frozen
// reading), pausing `set_delay_ms` after each set command as the meter needs. It then reads the
// settings back (`U?` = 1, `W?` = the wavelength, `A?`, `G?` = 1: the meter has no *IDN?, so the
// read-back is the identification) and checks the status byte (`Q?`: no command or parameter
// error), then clears it (`C`). Each poll sends `D?` (the reading) and `Q?`: a reading taken
// while the detector is saturated (bit 2) or the signal is over the range (bit 3) is stored as
// NaN and counted in one `overload` event per batch, never stored as a number.
//
// Follows: Newport Model 1830-C Optical Power Meter User's Manual, computer interface chapter:
// command reference pages "Rn Range setting" (p. 39: R0 auto-range, R1..R8 manual), "Q? Status
// Byte Register query" (p. 38: bit 0 parameter error, 1 command error, 2 saturation, 3
// over-range, 4 message available, 5 busy, 7 read done; C clears), read as scanned pages on
// easymanua.ls. Checked against public drivers: Instrumental `powermeters/newport.py` (A =
// attenuator, R0 = auto-range, G0 = hold / G1 = run, Q? bits, W, U1 = watts), lantz
// `newport/powermeter1830c.py` (E echo "only applied to RS232", G go, R 0 = auto, U 1 = watts,
// 9600 8N1 LF), rust-daq's bench notes (9600 8N1, no flow control, LF only, set commands
// answer nothing, D? answers "+.75E-9"), pymodaq_plugins_urashg's 1830-C controller (0.1 s
// pause after each set command). Units U2..U4 (dB, dBm, REL) disagree between those sources
// and are not used.
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

  /// Return one `overload` event for the readings flagged since the last call, if any.
  std::vector<DriverEvent> TakeEvents() override;

 protected:
  Newport1830cDriver(PolledConfig config, std::unique_ptr<MessageDevice> device,
                     std::shared_ptr<arrow::Schema> schema, std::int64_t wavelength_nm,
                     bool attenuator, hardware::Timeout set_delay)
      : PolledDriver(std::move(config), std::move(device), std::move(schema)),
        wavelength_nm_(wavelength_nm),
        attenuator_(attenuator),
        set_delay_(set_delay) {}

  Status ConfigureDevice(hardware::StreamTransport& t) override;
  Result<std::vector<double>> PollRow(hardware::StreamTransport& t) override;

 private:
  Status Set(hardware::StreamTransport& t, const std::string& command);
  Result<double> QueryNumber(hardware::StreamTransport& t, const std::string& command);

  std::int64_t wavelength_nm_;
  bool attenuator_;
  hardware::Timeout set_delay_;
  // Readings since the last TakeEvents: all, flagged (stored as NaN), and per cause.
  std::int64_t readings_ = 0;
  std::int64_t flagged_ = 0;
  std::int64_t saturated_ = 0;
  std::int64_t over_range_ = 0;
};

/// Return the options of newport.1830c (wavelength_nm, attenuator, set_delay_ms, rate_hz,
/// batch_size, link options).
std::vector<OptionSpec> Newport1830cOptionSpecs();

/// Register newport.1830c.
Status RegisterNewport1830c(DriverRegistry& registry);

}  // namespace arrowdaq::instruments
