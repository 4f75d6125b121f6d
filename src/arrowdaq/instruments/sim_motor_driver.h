// SimMotorDriver: the simulated motorised stage `sim.motor`, a Movable
// (movable.h) with one or more axes that move with a trapezoidal velocity
// profile (acceleration, cruise at velocity, deceleration; a triangle when the
// move is too short to reach the velocity). A move takes the time the profile
// says: position and motion are computed from the clock at the moment they are
// asked for, so nothing sleeps while an axis moves. The positions are published
// as the driver's ordinary stream
//
//   timestamp: timestamp[ns, UTC]   (the wall clock at which the positions were
//   computed) <axis>:    float64 per axis     (field metadata unit = the `unit`
//   option)
//
// one row per batch, rate_hz batches per second (schema metadata rate_hz,
// driver, resource).
//
// Options (SimMotorOptionSpecs): axes ("x,y"), unit, velocity, acceleration,
// min, max (the soft limits of every axis), start (every axis's position after
// Configure), rate_hz and fault_at_move: when k > 0, the k-th accepted MoveTo
// since Configure (counting from 1, over all axes) faults halfway through its
// travel time: the axis stops where it is then, and from that moment IsMoving
// and Position of that axis return an IOError naming the fault; further moves
// of the axis are refused until the next Configure (a reconnect), as a real
// controller needs a reset after a following error.
//
// Stop halts the axis at once where it is (the simulator does not decelerate).
//
// Ownership: the driver owns its hardware (the motion model). Threading: the
// instrument's own thread only. RegisterSimMotorDriver is called once by
// DriverRegistry::Default().
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "arrowdaq/core/options.h"
#include "arrowdaq/instruments/driver.h"
#include "arrowdaq/instruments/movable.h"

namespace arrowdaq::instruments {

inline constexpr char kSimMotorDriverName[] = "sim.motor";
inline constexpr char kSimMotorResource[] = "SIM::motor";

/// Return the options of sim.motor with defaults: axes, unit, velocity,
/// acceleration, min, max, start, rate_hz, fault_at_move.
std::vector<OptionSpec> SimMotorOptionSpecs();

/// One trapezoidal move from `from` to `to` starting at `t0_ns`: pure
/// arithmetic, any thread.
struct TrapezoidMove {
  double from = 0;
  double to = 0;
  std::int64_t t0_ns = 0;
  double velocity = 1;      ///< > 0, unit/s
  double acceleration = 1;  ///< > 0, unit/s^2

  /// Return the duration of the move in seconds.
  double Duration() const;
  /// Return the position at `t_ns` (from before t0, to after the end).
  double PositionAt(std::int64_t t_ns) const;
  /// Return the time (ns) at which the move ends.
  std::int64_t EndNs() const;
};

struct SimMotorOptions {
  std::vector<std::string> axes = {"x"};
  std::string unit = "mm";
  double velocity = 10;
  double acceleration = 100;
  double min = -100;
  double max = 100;
  double start = 0;
  double rate_hz = 100;
  std::int64_t fault_at_move = 0;
};

class SimMotorDriver : public InstrumentDriver, public Movable {
 public:
  /// A clock returning ns since the Unix epoch (WallClockNanos by default;
  /// tests inject one).
  using Clock = std::function<std::int64_t()>;

  /// Validate `options` (message names the option) and build the driver.
  static Result<std::unique_ptr<SimMotorDriver>> Make(const SimMotorOptions& options,
                                                      Clock clock = {});
  /// Build from options resolved against SimMotorOptionSpecs(), as the registry
  /// does.
  static Result<std::unique_ptr<SimMotorDriver>> Make(const ResolvedOptions& options);

  ~SimMotorDriver() override;

  // InstrumentDriver
  std::shared_ptr<arrow::Schema> schema() const override { return schema_; }
  hardware::InstrumentHardware& hardware() override;
  /// Return max(1 s, 4 sample periods).
  hardware::Timeout read_timeout() const override;
  /// Check the *IDN? reply; every axis back at `start`, at rest, no fault, move
  /// count 0.
  Status Configure() override;
  /// Decode one row of positions (the block the hardware returns); an empty block (the
  /// readback was not due within 1 ms: the hardware sleeps no longer, so motion commands are
  /// never held up by the readback's pacing) gives nullptr, nothing to publish.
  Result<std::shared_ptr<arrow::RecordBatch>> Decode(std::shared_ptr<arrow::Buffer> raw) override;
  Movable* movable() override { return this; }
  /// Nothing of sim.motor blocks (positions are arithmetic on the clock): it shares the
  /// paced pool, whose timer waits for the next readback, so a motion command queued for the
  /// instrument runs at once instead of behind a read sleeping until its row is due.
  bool paced() const override { return true; }
  std::chrono::steady_clock::time_point NextReadDue() const override;

  // Movable
  const std::vector<AxisInfo>& Axes() const override { return axes_; }
  Status MoveTo(int axis, double position) override;
  Result<bool> IsMoving(int axis) override;
  Result<double> Position(int axis) override;
  Status Stop(int axis) override;

  const SimMotorOptions& options() const { return options_; }

 private:
  class Hardware;
  SimMotorDriver(SimMotorOptions options, Clock clock, std::shared_ptr<arrow::Schema> schema);
  Status CheckAxis(int axis) const;

  SimMotorOptions options_;
  std::vector<AxisInfo> axes_;
  std::shared_ptr<arrow::Schema> schema_;
  std::unique_ptr<Hardware> hardware_;
};

/// Register sim.motor in `registry`.
Status RegisterSimMotorDriver(DriverRegistry& registry);

}  // namespace arrowdaq::instruments
