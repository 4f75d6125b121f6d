#include "arrowdaq/instruments/sim_motor_driver.h"

#include <arrow/array/data.h>
#include <arrow/buffer.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <set>
#include <sstream>
#include <thread>

#include "arrowdaq/core/clock.h"
#include "arrowdaq/core/schema.h"
#include "arrowdaq/hardware/instrument_hardware.h"

namespace arrowdaq::instruments {

namespace {

constexpr char kIdn[] = "arrowdaq,SIM-MOTOR,0,1";
constexpr std::int64_t kMaxWaitNs = 1'000'000;  // longest sleep of one ReadRawData

std::vector<std::string> SplitAxes(const std::string& text) {
  std::vector<std::string> out;
  std::string item;
  std::istringstream in(text);
  while (std::getline(in, item, ',')) {
    const auto b = item.find_first_not_of(" \t");
    const auto e = item.find_last_not_of(" \t");
    out.push_back(b == std::string::npos ? "" : item.substr(b, e - b + 1));
  }
  return out;
}

bool IsAxisName(const std::string& name) {
  if (name.empty() || name.size() > 64) return false;
  if (!(std::isalpha(static_cast<unsigned char>(name[0])) || name[0] == '_')) return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_';
  });
}

}  // namespace

double TrapezoidMove::Duration() const {
  const double d = std::abs(to - from);
  if (d == 0) return 0;
  const double v = velocity, a = acceleration;
  if (d >= v * v / a) return 2 * v / a + (d - v * v / a) / v;
  return 2 * std::sqrt(d / a);
}

std::int64_t TrapezoidMove::EndNs() const {
  return t0_ns + static_cast<std::int64_t>(std::ceil(Duration() * 1e9));
}

double TrapezoidMove::PositionAt(std::int64_t t_ns) const {
  const double d = std::abs(to - from);
  if (d == 0 || t_ns <= t0_ns) return from;
  if (t_ns >= EndNs()) return to;
  const double sign = to > from ? 1.0 : -1.0;
  const double v = velocity, a = acceleration;
  double t_acc, t_cruise, v_peak;
  if (d >= v * v / a) {
    t_acc = v / a;
    t_cruise = (d - v * v / a) / v;
    v_peak = v;
  } else {
    t_acc = std::sqrt(d / a);
    t_cruise = 0;
    v_peak = a * t_acc;
  }
  const double total = 2 * t_acc + t_cruise;
  const double tau = static_cast<double>(t_ns - t0_ns) / 1e9;
  double x;
  if (tau < t_acc) {
    x = 0.5 * a * tau * tau;
  } else if (tau < t_acc + t_cruise) {
    x = 0.5 * a * t_acc * t_acc + v_peak * (tau - t_acc);
  } else {
    const double left = std::max(0.0, total - tau);
    x = d - 0.5 * a * left * left;
  }
  return from + sign * std::clamp(x, 0.0, d);
}

std::vector<OptionSpec> SimMotorOptionSpecs() {
  return {
      {"axes", std::string("x"),
       "comma-separated axis names, 1..16 of them (each the name of a stream "
       "column)",
       ""},
      {"unit", std::string("mm"), "unit of every axis (positions, limits, velocity per s)", ""},
      {"velocity", 10.0, "cruise speed of every axis, > 0, in unit/s", "unit/s", 0.0, 1e9, true},
      {"acceleration", 100.0, "acceleration and deceleration of every axis, > 0, in unit/s^2",
       "unit/s^2", 0.0, 1e12, true},
      {"min", -100.0, "lower soft limit of every axis (inclusive)", "unit"},
      {"max", 100.0, "upper soft limit of every axis (inclusive), >= min", "unit"},
      {"start", 0.0, "position of every axis after connecting, within [min, max]", "unit"},
      {"rate_hz", 100.0, "position readback rows per second, > 0 and <= 10000", "Hz", 0.0, 10000.0,
       true},
      {"fault_at_move", std::int64_t{0},
       "0: never; k > 0: the k-th move since connecting faults halfway through "
       "its travel "
       "(for tests)",
       "", 0.0, 1e15},
  };
}

// The motion model and the readback pacing: the "hardware" of the simulated
// stage.
class SimMotorDriver::Hardware : public hardware::InstrumentHardware {
 public:
  struct AxisState {
    TrapezoidMove move;
    std::int64_t fault_ns = -1;  // when the current move faults (-1: it does not)
    std::string fault;           // the fault's words
  };

  Hardware(const SimMotorOptions& options, Clock clock)
      : options_(options), clock_(std::move(clock)), state_(options.axes.size()) {
    Reset();
  }

  void Reset() {
    for (AxisState& s : state_) {
      s = AxisState{};
      s.move = TrapezoidMove{options_.start, options_.start, 0, options_.velocity,
                             options_.acceleration};
    }
    moves_ = 0;
  }

  std::int64_t Now() const { return clock_(); }

  // Where the axis is at `t` (frozen at the fault when it has faulted).
  double PositionAt(const AxisState& s, std::int64_t t) const {
    if (s.fault_ns >= 0 && t >= s.fault_ns) return s.move.PositionAt(s.fault_ns);
    return s.move.PositionAt(t);
  }
  static bool Faulted(const AxisState& s, std::int64_t t) {
    return s.fault_ns >= 0 && t >= s.fault_ns;
  }

  AxisState& axis(int i) { return state_[static_cast<std::size_t>(i)]; }
  // When the next readback row is due, on the steady clock (now when it is due already).
  std::chrono::steady_clock::time_point NextDue() const {
    const auto steady = std::chrono::steady_clock::now();
    const std::int64_t ahead = next_due_ == 0 ? 0 : next_due_ - Now();
    return ahead <= 0 ? steady : steady + std::chrono::nanoseconds(ahead);
  }
  std::int64_t& moves() { return moves_; }

  Status Connect(const std::string& resource, hardware::Timeout) override {
    if (resource.rfind("SIM::", 0) != 0) {
      return Status::Invalid("sim.motor: resource '", resource, "' is not a SIM:: resource");
    }
    connected_ = true;
    next_due_ = 0;
    return Status::OK();
  }
  Status Disconnect() override {
    connected_ = false;
    return Status::OK();
  }
  Result<std::string> SendCommand(const std::string& command, hardware::Timeout) override {
    if (!connected_) return Status::IOError("sim.motor: not connected");
    if (command == "*IDN?") return std::string(kIdn);
    if (command == "*RST") {
      Reset();
      return std::string();
    }
    if (command.rfind("POS? ", 0) == 0) {  // the position of one axis, by name
      const std::string name = command.substr(5);
      for (std::size_t i = 0; i < options_.axes.size(); ++i) {
        if (options_.axes[i] != name) continue;
        const AxisState& s = state_[i];
        const std::int64_t now = Now();
        if (Faulted(s, now)) return Status::IOError("sim.motor: axis ", name, ": ", s.fault);
        return FormatNumber(PositionAt(s, now));
      }
      return Status::Invalid("sim.motor: no axis '", name, "'");
    }
    return Status::Invalid("sim.motor: unknown command '", command,
                           "' (it knows *IDN?, *RST and POS? <axis>)");
  }
  // One row: [t_ns as int64][position of each axis as float64], due every
  // 1/rate_hz.
  Result<std::shared_ptr<arrow::Buffer>> ReadRawData(hardware::Timeout timeout) override {
    if (!connected_) return Status::IOError("sim.motor: not connected");
    const auto period = static_cast<std::int64_t>(1e9 / options_.rate_hz);
    std::int64_t now = Now();
    if (next_due_ == 0 || next_due_ < now - 10 * period) next_due_ = now;
    if (next_due_ > now) {
      // Pacing the readback only, and at most 1 ms at a time: the instrument's thread runs
      // motion commands between reads, so a long sleep here would delay every MoveTo and
      // IsMoving by up to a readback period. Not due yet: an empty block (nothing published).
      const std::int64_t wait = std::min<std::int64_t>(next_due_ - now, kMaxWaitNs);
      if (wait > std::chrono::duration_cast<std::chrono::nanoseconds>(timeout).count()) {
        return Status::IOError("sim.motor: no readback within the read timeout");
      }
      std::this_thread::sleep_for(std::chrono::nanoseconds(wait));
      now = Now();
      if (next_due_ > now) return std::make_shared<arrow::Buffer>(nullptr, 0);
    }
    next_due_ += period;
    // A few bytes per row: plain heap vectors (Buffer::FromVector), not Arrow's pool, whose
    // reuse of memory across threads ThreadSanitizer cannot see through (tests/tsan.supp).
    const std::size_t n = state_.size();
    std::vector<double> words(1 + n);  // 8-byte words: the time's bits, then the positions
    std::memcpy(words.data(), &now, 8);
    for (std::size_t i = 0; i < n; ++i) words[1 + i] = PositionAt(state_[i], now);
    return arrow::Buffer::FromVector(std::move(words));
  }

 private:
  SimMotorOptions options_;
  Clock clock_;
  std::vector<AxisState> state_;
  std::int64_t moves_ = 0;
  std::int64_t next_due_ = 0;
  bool connected_ = false;
};

Result<std::unique_ptr<SimMotorDriver>> SimMotorDriver::Make(const SimMotorOptions& o,
                                                             Clock clock) {
  if (o.axes.empty() || o.axes.size() > 16) {
    return Status::Invalid("axes: expected 1 to 16 comma-separated names, got ", o.axes.size());
  }
  std::set<std::string> seen;
  std::vector<ChannelSpec> channels;
  for (const std::string& name : o.axes) {
    if (!IsAxisName(name) || name == kTimestampColumn) {
      return Status::Invalid("axes: '", name,
                             "' is not an axis name (a letter or _, then letters, digits or _; "
                             "not 'timestamp')");
    }
    if (!seen.insert(name).second) return Status::Invalid("axes: '", name, "' is given twice");
    channels.push_back(ChannelSpec{name, o.unit, "position of axis " + name});
  }
  if (!(o.velocity > 0) || !std::isfinite(o.velocity)) {
    return Status::Invalid("velocity: expected a number > 0, got ", o.velocity);
  }
  if (!(o.acceleration > 0) || !std::isfinite(o.acceleration)) {
    return Status::Invalid("acceleration: expected a number > 0, got ", o.acceleration);
  }
  if (!std::isfinite(o.min) || !std::isfinite(o.max) || !(o.min <= o.max)) {
    return Status::Invalid("max: expected a number >= min (", o.min, "), got ", o.max);
  }
  if (!(o.start >= o.min && o.start <= o.max)) {
    return Status::Invalid("start: expected a number within [min, max] = [", o.min, ", ", o.max,
                           "], got ", o.start);
  }
  if (!(o.rate_hz > 0 && o.rate_hz <= 10000)) {
    return Status::Invalid("rate_hz: expected a number > 0 and <= 10000, got ", o.rate_hz);
  }
  if (o.fault_at_move < 0) {
    return Status::Invalid("fault_at_move: expected an integer >= 0, got ", o.fault_at_move);
  }
  ARROW_ASSIGN_OR_RAISE(auto schema,
                        MakeStreamSchema(channels, {{"driver", kSimMotorDriverName},
                                                    {"resource", kSimMotorResource},
                                                    {kRateKey, FormatRate(o.rate_hz)}}));
  if (!clock) clock = [] { return WallClockNanos(); };
  return std::unique_ptr<SimMotorDriver>(
      new SimMotorDriver(o, std::move(clock), std::move(schema)));
}

Result<std::unique_ptr<SimMotorDriver>> SimMotorDriver::Make(const ResolvedOptions& given) {
  ARROW_ASSIGN_OR_RAISE(const ResolvedOptions options,
                        ResolvedOptions::Make(SimMotorOptionSpecs(), given.values()));
  SimMotorOptions o;
  o.axes = SplitAxes(options.GetString("axes"));
  o.unit = options.GetString("unit");
  o.velocity = options.GetDouble("velocity");
  o.acceleration = options.GetDouble("acceleration");
  o.min = options.GetDouble("min");
  o.max = options.GetDouble("max");
  o.start = options.GetDouble("start");
  o.rate_hz = options.GetDouble("rate_hz");
  o.fault_at_move = options.GetInt("fault_at_move");
  return Make(o);
}

SimMotorDriver::SimMotorDriver(SimMotorOptions options, Clock clock,
                               std::shared_ptr<arrow::Schema> schema)
    : options_(std::move(options)),
      schema_(std::move(schema)),
      hardware_(std::make_unique<Hardware>(options_, std::move(clock))) {
  for (const std::string& name : options_.axes) {
    axes_.push_back(AxisInfo{name, options_.unit, options_.min, options_.max});
  }
}

SimMotorDriver::~SimMotorDriver() = default;

hardware::InstrumentHardware& SimMotorDriver::hardware() {
  return *hardware_;
}

std::chrono::steady_clock::time_point SimMotorDriver::NextReadDue() const {
  return hardware_->NextDue();
}

hardware::Timeout SimMotorDriver::read_timeout() const {
  const double four_periods_ms = std::ceil(4000.0 / options_.rate_hz);
  return std::max(hardware::Timeout{1000},
                  hardware::Timeout{static_cast<std::int64_t>(four_periods_ms)});
}

Status SimMotorDriver::Configure() {
  constexpr hardware::Timeout kCommandTimeout{1000};
  ARROW_RETURN_NOT_OK(hardware_->SendCommand("*RST", kCommandTimeout));
  ARROW_ASSIGN_OR_RAISE(std::string idn, hardware_->SendCommand("*IDN?", kCommandTimeout));
  if (idn != kIdn) {
    return Status::Invalid("unexpected *IDN? reply '", idn, "' (expected '", kIdn, "')");
  }
  return Status::OK();
}

Result<std::shared_ptr<arrow::RecordBatch>> SimMotorDriver::Decode(
    std::shared_ptr<arrow::Buffer> raw) {
  const std::int64_t n = static_cast<std::int64_t>(axes_.size());
  if (raw != nullptr && raw->size() == 0) return nullptr;  // no readback due yet
  if (raw == nullptr || !raw->is_cpu() || raw->size() != 8 * (1 + n)) {
    return Status::Invalid("sim.motor: raw block of ", raw == nullptr ? 0 : raw->size(),
                           " bytes, expected ", 8 * (1 + n));
  }
  std::vector<std::shared_ptr<arrow::ArrayData>> columns;
  std::int64_t t = 0;
  std::memcpy(&t, raw->data(), 8);
  columns.push_back(arrow::ArrayData::Make(
      TimestampType(), 1, {nullptr, arrow::Buffer::FromVector(std::vector<std::int64_t>{t})}, 0));
  for (std::int64_t i = 0; i < n; ++i) {
    double p = 0;
    std::memcpy(&p, raw->data() + 8 * (1 + i), 8);
    columns.push_back(arrow::ArrayData::Make(
        arrow::float64(), 1, {nullptr, arrow::Buffer::FromVector(std::vector<double>{p})}, 0));
  }
  return arrow::RecordBatch::Make(schema_, 1, std::move(columns));
}

Status SimMotorDriver::CheckAxis(int axis) const {
  if (axis < 0 || axis >= static_cast<int>(axes_.size())) {
    return Status::Invalid("sim.motor: no axis ", axis, " (it has ", axes_.size(), ")");
  }
  return Status::OK();
}

Status SimMotorDriver::MoveTo(int axis, double position) {
  ARROW_RETURN_NOT_OK(CheckAxis(axis));
  const AxisInfo& info = axes_[static_cast<std::size_t>(axis)];
  if (!(position >= info.min && position <= info.max)) {
    return Status::Invalid("sim.motor: axis ", info.name, ": target ", FormatNumber(position),
                           " is outside the soft limits [", FormatNumber(info.min), ", ",
                           FormatNumber(info.max), "]");
  }
  Hardware::AxisState& s = hardware_->axis(axis);
  const std::int64_t now = hardware_->Now();
  if (Hardware::Faulted(s, now)) {
    return Status::IOError("sim.motor: axis ", info.name, " is faulted (", s.fault,
                           "); reconnect to reset it");
  }
  const double from = hardware_->PositionAt(s, now);
  s.move = TrapezoidMove{from, position, now, options_.velocity, options_.acceleration};
  s.fault_ns = -1;
  s.fault.clear();
  const std::int64_t k = ++hardware_->moves();
  if (options_.fault_at_move > 0 && k == options_.fault_at_move) {
    s.fault_ns = now + static_cast<std::int64_t>(s.move.Duration() * 0.5e9);
    s.fault = "following error at move " + std::to_string(k) +
              " (sim.motor fault_at_move = " + std::to_string(options_.fault_at_move) + ")";
  }
  return Status::OK();
}

Result<bool> SimMotorDriver::IsMoving(int axis) {
  ARROW_RETURN_NOT_OK(CheckAxis(axis));
  const Hardware::AxisState& s = hardware_->axis(axis);
  const std::int64_t now = hardware_->Now();
  if (Hardware::Faulted(s, now)) {
    return Status::IOError("sim.motor: axis ", axes_[static_cast<std::size_t>(axis)].name, ": ",
                           s.fault);
  }
  return now < s.move.EndNs();
}

Result<double> SimMotorDriver::Position(int axis) {
  ARROW_RETURN_NOT_OK(CheckAxis(axis));
  const Hardware::AxisState& s = hardware_->axis(axis);
  const std::int64_t now = hardware_->Now();
  if (Hardware::Faulted(s, now)) {
    return Status::IOError("sim.motor: axis ", axes_[static_cast<std::size_t>(axis)].name, ": ",
                           s.fault);
  }
  return hardware_->PositionAt(s, now);
}

Status SimMotorDriver::Stop(int axis) {
  ARROW_RETURN_NOT_OK(CheckAxis(axis));
  Hardware::AxisState& s = hardware_->axis(axis);
  const std::int64_t now = hardware_->Now();
  if (Hardware::Faulted(s, now)) return Status::OK();  // already stopped by its fault
  const double here = hardware_->PositionAt(s, now);
  s.move = TrapezoidMove{here, here, now, options_.velocity, options_.acceleration};
  s.fault_ns = -1;  // stopped before its fault: the fault does not happen
  s.fault.clear();
  return Status::OK();
}

Status RegisterSimMotorDriver(DriverRegistry& registry) {
  DriverInfo info;
  info.name = kSimMotorDriverName;
  info.description =
      "simulated motorised stage: axes with velocity, acceleration and soft "
      "limits "
      "(trapezoidal moves), positions streamed at rate_hz; movable";
  info.default_resource = kSimMotorResource;
  info.options = SimMotorOptionSpecs();
  info.factory = FactoryOf(&SimMotorDriver::Make);
  return registry.Register(std::move(info));
}

}  // namespace arrowdaq::instruments
