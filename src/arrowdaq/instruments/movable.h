// Movable: the motion capability a driver may offer besides its stream (a stage, a rotation
// mount, a monochromator's wavelength). A scan moves axes through it and waits until they stop;
// the axis positions are also published as an ordinary stream by the driver itself (one column
// per axis, named as AxisInfo::name), so a run records where the motors were at every sample.
//
// Contract (every implementation keeps it; the scan executor relies on it):
// - Axes are numbered 0..Axes().size()-1. Axes() is known from the options alone (before
//   Connect), so plans are checked against limits before anything moves.
// - MoveTo starts a move and returns at once (it never waits for the end of motion: the actor
//   keeps polling and publishing positions while an axis moves). A target outside
//   [min, max] is refused with Status::Invalid naming the axis, the target and the limits,
//   and nothing moves. A refused or failed command is an error Status, never a crash.
// - IsMoving reports whether the axis is still in motion; a motor fault (following error,
//   limit switch, `fault_at` in sim.motor) is an error Status from IsMoving or Position, with
//   the device's own code and words in the message.
// - Stop halts the axis (decelerating as the device does); it is safe to call at any time.
//
// Threading: as every driver call, only on the owning instrument's thread; callers elsewhere go
// through the InstrumentActor's messages.
#pragma once

#include <string>
#include <vector>

#include "arrowdaq/core/status.h"

namespace arrowdaq::instruments {

/// One axis of a Movable: its stream column name, unit and soft limits (inclusive).
struct AxisInfo {
  std::string name;  ///< column in the driver's stream ("x", "axis1")
  std::string unit;  ///< "mm", "deg", ...
  double min = 0;
  double max = 0;
};

class Movable {
 public:
  virtual ~Movable() = default;

  /// Return the axes, known from the options alone.
  virtual const std::vector<AxisInfo>& Axes() const = 0;
  /// Start moving `axis` to `position` (in the axis unit); returns when the move is started.
  [[nodiscard]] virtual Status MoveTo(int axis, double position) = 0;
  /// Return whether `axis` is still moving; an error when the axis faulted.
  [[nodiscard]] virtual Result<bool> IsMoving(int axis) = 0;
  /// Return the actual position of `axis`, in the axis unit.
  [[nodiscard]] virtual Result<double> Position(int axis) = 0;
  /// Halt `axis`.
  [[nodiscard]] virtual Status Stop(int axis) = 0;
};

}  // namespace arrowdaq::instruments
