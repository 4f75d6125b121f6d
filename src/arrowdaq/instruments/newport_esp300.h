// Newport ESP300 motion controller over RS-232: `newport.esp300`, a stream of axis positions and
// a Movable (movable.h). After each Connect it checks `VE?` names an ESP300, drains the error
// queue (`TE?` until it answers 0: the controller keeps up to ten errors from before, each read
// once, and a stale one would otherwise fail every reconnect), checks each configured axis's
// displacement units (`<n>SN?`) against the `unit` option, reads each axis's software travel
// limits (`<n>SL?`, `<n>SR?`), switches the motors on (`<n>MO`) and checks `TE?` = 0. It then
// polls the actual position of each axis (`<n>TP`) and publishes one column per axis (`axis1`,
// ... in `unit`), also while axes move.
//
// Movable (axis i = controller axis i+1): MoveTo refuses a target outside the options' soft
// limits (`axis<n>_min`, `axis<n>_max`, known before Connect) or outside the controller's own
// SL/SR limits (read at Configure), naming which, before anything is sent; otherwise it sends
// `<n>PA<pos>`, checks `TE?` (a refused move, e.g. motor off, is an error naming the code:
// `113 (axis 1: MOTOR NOT ENABLED)`) and returns without waiting. IsMoving asks `<n>MD?` (0:
// moving) and `TE?` (an error queued during the move, e.g. 103 FOLLOWING ERROR THRESHOLD
// EXCEEDED, is an error Status with its code and name); a move still running after
// `move_timeout_ms` is stopped (`<n>ST`) and reported. Position queries `<n>TP`; Stop sends
// `<n>ST`. `<n>TP` answers though it has no '?': the device's query rule says so, so
// SendCommand("1TP") returns the position too.
//
// Follows: Newport ESP300 Motion Controller/Driver User's Manual (Newport, 1999/2002),
// Section 3 "Remote Mode", read as scanned pages: the RS-232C set-up (19200 Bd, 8N1, CTS/RTS;
// commands end with CR, replies with CR LF), command syntax and `;` (p. 3-2: "1PA+30; 1WS;
// 2PR-10"; a move does not suspend command execution), ID (p. 3-86), MV (p. 3-101, which names
// PA, PR, ST and MD as its related commands and shows `MV?` answering 0 while in motion), SN
// (p. 3-133: 0 encoder count, 1 motor step, 2 millimeter, 3 micrometer, 4 inches, 5
// milli-inches, 6 micro-inches, 7 degree, 8 gradient, 9 radian, 10 milliradian, 11
// microradian), TE (p. 3-139: "Errors are maintained in a FIFO buffer ten (10) elements deep
// ... an error can be read only once"), DP and TV (p. 3-52, 3-143: `3TP?` answers `5.32`), ZS
// (p. 3-169: software-limit checking per axis), and the command pages MO, MD, PA, SL, SR, ST,
// TP, VE of the same alphabetical reference (their page numbers not located in the scan
// read); Appendix A's error codes (xx03 FOLLOWING ERROR THRESHOLD EXCEEDED, xx06/xx07
// POSITIVE/NEGATIVE SOFTWARE LIMIT DETECTED, xx13 MOTOR NOT ENABLED, ...). Checked against the
// EPICS motorNewport driver drvESP300.cc (VE? to identify, "%.2dTP" without '?', "%.2dSN?", CR
// out / LF in), PyMeasure's newport/esp300.py (TP, SN?, MD?, TE? drained until 0 in
// clear_errors, the error names) and rust-daq's bench notes (no answer without RTS/CTS; *IDN?
// answers the same string as VE?).
//
// Ownership and threading: as every driver: every call (the Movable ones included) on the
// instrument's thread; each is one or two short queries, none waits for motion.
#pragma once

#include <memory>
#include <optional>
#include <vector>

#include "arrowdaq/core/options.h"
#include "arrowdaq/instruments/message_device.h"
#include "arrowdaq/instruments/movable.h"

namespace arrowdaq::instruments {

class NewportEsp300Driver : public PolledDriver, public Movable {
 public:
  /// Build from options resolved against NewportEsp300OptionSpecs().
  static Result<std::unique_ptr<NewportEsp300Driver>> Make(const ResolvedOptions& options);

  Movable* movable() override { return this; }

  // Movable (movable.h): axis 0 is the controller's axis 1.
  const std::vector<AxisInfo>& Axes() const override { return axis_info_; }
  [[nodiscard]] Status MoveTo(int axis, double position) override;
  [[nodiscard]] Result<bool> IsMoving(int axis) override;
  [[nodiscard]] Result<double> Position(int axis) override;
  [[nodiscard]] Status Stop(int axis) override;

 protected:
  NewportEsp300Driver(PolledConfig config, std::unique_ptr<MessageDevice> device,
                      std::shared_ptr<arrow::Schema> schema, std::vector<AxisInfo> axes,
                      int unit_code, hardware::Timeout move_timeout);

  Status ConfigureDevice(hardware::StreamTransport& t) override;
  Result<std::vector<double>> PollRow(hardware::StreamTransport& t) override;

 private:
  struct Limits {
    double left = 0;   // <n>SL?
    double right = 0;  // <n>SR?
  };

  Status CheckAxis(int axis) const;
  Status CheckNoError(hardware::StreamTransport& t, const std::string& after);
  Result<double> QueryNumber(hardware::StreamTransport& t, const std::string& command);

  std::vector<AxisInfo> axis_info_;
  int unit_code_;  // SN code of the `unit` option
  hardware::Timeout move_timeout_;
  std::vector<Limits> controller_limits_;  // read at each Configure; empty before
  std::vector<std::optional<SteadyClock::time_point>> move_started_;  // per axis, while moving
};

/// Return the options of newport.esp300 (axes, unit, axis<n>_min/axis<n>_max soft limits,
/// rate_hz, batch_size, move_timeout_ms, link options with the ESP300 defaults: 19200 Bd,
/// rtscts, CR out, LF in).
std::vector<OptionSpec> NewportEsp300OptionSpecs();

/// Return the name of an ESP300 error code ("113" -> "axis 1: MOTOR NOT ENABLED").
std::string DescribeEsp300Error(int code);

/// Register newport.esp300.
Status RegisterNewportEsp300(DriverRegistry& registry);

}  // namespace arrowdaq::instruments
