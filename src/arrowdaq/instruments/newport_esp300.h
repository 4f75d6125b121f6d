// Newport ESP300 motion controller over RS-232: `newport.esp300`. After each Connect it
// checks `VE?` names an ESP300, switches the motors of the configured axes on (`<n>MO`) and
// checks the error queue (`TE?` must answer 0). It then polls the actual position of each axis
// (`<n>TP`) and publishes one column per axis (`axis1`, ... in `unit`, default mm). For scans,
// MoveAbsolute sends `<n>PA<pos>` and waits for motion done (`<n>MD?` answers 1), then checks
// `TE?`; Position queries `<n>TP`. TB? (error with message) is used to explain a non-zero TE?.
//
// Follows: Newport ESP300 Motion Controller/Driver User's Manual (Newport, 1999/2002),
// Section 3 "Remote Mode": its RS-232C communication set-up (19200 Bd, 8 data bits, no
// parity, 1 stop bit, CTS/RTS hardware handshake; commands end with CR, replies with CR LF)
// and its per-command pages (pp. 3-x, e.g. ID on p. 3-86, TS on p. 3-142): MO motor on,
// PA move to absolute position, MD? read motion done status, TP read actual position, TE?
// read error code, TB? read error message, VE? read controller firmware version.
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
                      std::shared_ptr<arrow::Schema> schema, int axes,
                      hardware::Timeout move_timeout)
      : PolledDriver(std::move(config), std::move(device), std::move(schema)),
        axes_(axes),
        move_timeout_(move_timeout) {}

  Status ConfigureDevice(hardware::StreamTransport& t) override;
  Result<std::vector<double>> PollRow(hardware::StreamTransport& t) override;

 private:
  Status CheckAxis(int axis) const;
  Status CheckNoError(hardware::StreamTransport& t, const std::string& after);
  Result<double> QueryNumber(hardware::StreamTransport& t, const std::string& command);

  int axes_;
  hardware::Timeout move_timeout_;
};

/// Return the options of newport.esp300 (axes, unit, rate_hz, batch_size, move_timeout_ms,
/// link options with the ESP300 defaults: 19200 Bd, rtscts, CR out, LF in).
std::vector<OptionSpec> NewportEsp300OptionSpecs();

/// Register newport.esp300.
Status RegisterNewportEsp300(DriverRegistry& registry);

}  // namespace arrowdaq::instruments
