// Newport ESP300 motion controller over RS-232: `newport.esp300`. After each Connect it checks
// `VE?` names an ESP300, drains the error queue (`TE?` until it answers 0: the controller keeps
// up to ten errors from before, each read once, and a stale one would otherwise fail every
// reconnect), checks each configured axis's displacement units (`<n>SN?`) against the `unit`
// option, switches the motors on (`<n>MO`) and checks `TE?` = 0. It then polls the actual position
// of each axis (`<n>TP`) and publishes one column per axis (`axis1`, ... in `unit`). For scans,
// MoveAbsolute sends `<n>PA<pos>` and waits for motion done (`<n>MD?` answers 1), then checks
// `TE?`; Position queries `<n>TP`. `<n>TP` answers though it has no '?': the device's query rule
// says so, so SendCommand("1TP") returns the position too. Error codes are named in messages
// (`113 (axis 1: MOTOR NOT ENABLED)`).
//
// Follows: Newport ESP300 Motion Controller/Driver User's Manual (Newport, 1999/2002),
// Section 3 "Remote Mode", read as scanned pages: the RS-232C set-up (19200 Bd, 8N1, CTS/RTS;
// commands end with CR, replies with CR LF), TE (p. 3-139: "Errors are maintained in a FIFO
// buffer ten (10) elements deep ... an error can be read only once"), SN (p. 3-133: 0 encoder
// count, 1 motor step, 2 millimeter, 3 micrometer, 4 inches, 5 milli-inches, 6 micro-inches,
// 7 degree, 8 gradient, 9 radian, 10 milliradian, 11 microradian), MO, PA, MD, TP, VE and
// Appendix A's error codes. Checked against the EPICS motorNewport driver drvESP300.cc (VE? to
// identify, "%.2dTP" without '?', "%.2dSN?", CR out / LF in), PyMeasure's newport/esp300.py
// (TP, SN?, MD?, TE? drained until 0 in clear_errors, the error names) and rust-daq's bench
// notes (no answer without RTS/CTS; *IDN? answers the same string as VE?).
//
// Ownership and threading: as every driver. MoveAbsolute and Position block on the
// instrument's thread, like every other call on the driver.
#pragma once

#include <memory>
#include <vector>

#include "arrowdaq/core/options.h"
#include "arrowdaq/instruments/message_device.h"

namespace arrowdaq::instruments {

class NewportEsp300Driver : public PolledDriver {
 public:
  /// Build from options resolved against NewportEsp300OptionSpecs().
  static Result<std::unique_ptr<NewportEsp300Driver>> Make(const ResolvedOptions& options);

  /// Move `axis` (1..axes) to `position` (in the axis unit) and, when `wait`, block until
  /// MD? reports done (within move_timeout_ms) and TE? reports no error.
  Status MoveAbsolute(int axis, double position, bool wait = true);
  /// Return the actual position of `axis` (1..axes), in the axis unit.
  Result<double> Position(int axis);

 protected:
  NewportEsp300Driver(PolledConfig config, std::unique_ptr<MessageDevice> device,
                      std::shared_ptr<arrow::Schema> schema, int axes, int unit_code,
                      hardware::Timeout move_timeout);

  Status ConfigureDevice(hardware::StreamTransport& t) override;
  Result<std::vector<double>> PollRow(hardware::StreamTransport& t) override;

 private:
  Status CheckAxis(int axis) const;
  Status CheckNoError(hardware::StreamTransport& t, const std::string& after);
  Result<double> QueryNumber(hardware::StreamTransport& t, const std::string& command);

  int axes_;
  int unit_code_;  // SN code of the `unit` option
  hardware::Timeout move_timeout_;
};

/// Return the options of newport.esp300 (axes, unit, rate_hz, batch_size, move_timeout_ms,
/// link options with the ESP300 defaults: 19200 Bd, rtscts, CR out, LF in).
std::vector<OptionSpec> NewportEsp300OptionSpecs();

/// Return the name of an ESP300 error code ("113" -> "axis 1: MOTOR NOT ENABLED").
std::string DescribeEsp300Error(int code);

/// Register newport.esp300.
Status RegisterNewportEsp300(DriverRegistry& registry);

}  // namespace arrowdaq::instruments
