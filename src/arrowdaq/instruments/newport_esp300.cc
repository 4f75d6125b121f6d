#include "arrowdaq/instruments/newport_esp300.h"

#include <cctype>
#include <cmath>
#include <cstdio>
#include <limits>

#include "arrowdaq/hardware/ieee488.h"

namespace arrowdaq::instruments {

using hardware::StreamTransport;

namespace {

// SN codes (manual p. 3-133) and the unit names the `unit` option takes for them.
constexpr const char* kUnits[] = {"counts", "steps", "mm",  "um",  "in",   "mil",
                                  "uin",    "deg",   "grad", "rad", "mrad", "urad"};
constexpr const char* kUnitNames[] = {
    "encoder count", "motor step", "millimeter", "micrometer", "inches", "milli-inches",
    "micro-inches",  "degree",     "gradient",   "radian",     "milliradian", "microradian"};
constexpr int kUnitCount = 12;
constexpr int kMaxAxes = 3;

std::string UnitList() {
  std::string out;
  for (int i = 0; i < kUnitCount; ++i) out += std::string(i ? " | " : "") + kUnits[i];
  return out;
}

// Commands that answer without a '?' in them (manual pages TP, TV, DV; EPICS's PH and TS).
bool IsEsp300Query(const std::string& command) {
  if (command.find('?') != std::string::npos) return true;
  std::size_t i = 0;
  while (i < command.size() && std::isdigit(static_cast<unsigned char>(command[i]))) ++i;
  std::string mnemonic = command.substr(i, 2);
  for (char& c : mnemonic) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  const bool rest_empty = command.find_first_not_of(" \t", i + 2) == std::string::npos;
  return rest_empty && (mnemonic == "TP" || mnemonic == "TV" || mnemonic == "DV" ||
                        mnemonic == "PH" || mnemonic == "TS");
}

}  // namespace

std::string DescribeEsp300Error(int code) {
  // Appendix A of the manual (names as PyMeasure's esp300.py lists them).
  struct Name {
    int code;
    const char* text;
  };
  static constexpr Name kGeneral[] = {
      {1, "PCI COMMUNICATION TIME-OUT"}, {4, "EMERGENCY STOP ACTIVATED"},
      {6, "COMMAND DOES NOT EXIST"},     {7, "PARAMETER OUT OF RANGE"},
      {8, "CABLE INTERLOCK ERROR"},      {9, "AXIS NUMBER OUT OF RANGE"},
      {37, "AXIS NUMBER MISSING"},       {38, "COMMAND PARAMETER MISSING"}};
  static constexpr Name kAxis[] = {
      {0, "MOTOR TYPE NOT DEFINED"},           {1, "PARAMETER OUT OF RANGE"},
      {2, "AMPLIFIER FAULT DETECTED"},         {3, "FOLLOWING ERROR THRESHOLD EXCEEDED"},
      {4, "POSITIVE HARDWARE LIMIT DETECTED"}, {5, "NEGATIVE HARDWARE LIMIT DETECTED"},
      {6, "POSITIVE SOFTWARE LIMIT DETECTED"}, {7, "NEGATIVE SOFTWARE LIMIT DETECTED"},
      {8, "MOTOR / STAGE NOT CONNECTED"},      {9, "FEEDBACK SIGNAL FAULT DETECTED"},
      {10, "MAXIMUM VELOCITY EXCEEDED"},       {11, "MAXIMUM ACCELERATION EXCEEDED"},
      {13, "MOTOR NOT ENABLED"},               {20, "HOMING ABORTED"}};
  if (code >= 100) {
    for (const Name& n : kAxis) {
      if (n.code == code % 100) {
        return "axis " + std::to_string(code / 100) + ": " + n.text;
      }
    }
    return "axis " + std::to_string(code / 100) + " error " + std::to_string(code % 100);
  }
  for (const Name& n : kGeneral) {
    if (n.code == code) return n.text;
  }
  return "see the error codes in Appendix A of the ESP300 manual";
}

std::vector<OptionSpec> NewportEsp300OptionSpecs() {
  std::vector<OptionSpec> specs = {
      {"axes", std::int64_t{1}, "number of axes published (1..3): axis1..axis<N>", ""},
      {"unit", std::string("mm"),
       "displacement unit every axis must be set to (checked with SN?): " + UnitList(), ""},
  };
  for (int a = 1; a <= kMaxAxes; ++a) {
    const std::string n = std::to_string(a);
    specs.push_back({"axis" + n + "_min", -std::numeric_limits<double>::infinity(),
                     "lowest position a move of axis " + n +
                         " may go to (soft limit; the controller's SL also applies)",
                     ""});
    specs.push_back({"axis" + n + "_max", std::numeric_limits<double>::infinity(),
                     "highest position a move of axis " + n +
                         " may go to (soft limit; the controller's SR also applies)",
                     ""});
  }
  for (OptionSpec s : std::vector<OptionSpec>{
           {"rate_hz", 10.0, "position polls per second, > 0 and <= 10000", "Hz"},
           {"batch_size", std::int64_t{10}, "polls per batch, 1..1000000", ""},
           {"move_timeout_ms", std::int64_t{60000},
            "longest a move may take: a move still running then is stopped (ST) and reported",
            "ms"},
       }) {
    specs.push_back(std::move(s));
  }
  hardware::SerialOptions link;
  link.baud = 19200;
  link.flow_control = "rtscts";
  link.framing.write_terminator = "\r";
  link.framing.read_terminator = "\n";  // replies end CR LF; the CR is stripped
  for (auto& s : LinkOptionSpecs(link, 1000)) specs.push_back(std::move(s));
  return specs;
}

NewportEsp300Driver::NewportEsp300Driver(PolledConfig config, std::unique_ptr<MessageDevice> device,
                                         std::shared_ptr<arrow::Schema> schema,
                                         std::vector<AxisInfo> axes, int unit_code,
                                         hardware::Timeout move_timeout)
    : PolledDriver(std::move(config), std::move(device), std::move(schema)),
      axis_info_(std::move(axes)),
      unit_code_(unit_code),
      move_timeout_(move_timeout),
      move_started_(axis_info_.size()) {
  this->device().set_query_rule(IsEsp300Query);
}

Result<std::unique_ptr<NewportEsp300Driver>> NewportEsp300Driver::Make(
    const ResolvedOptions& given) {
  ARROW_ASSIGN_OR_RAISE(const ResolvedOptions o,
                        ResolvedOptions::Make(NewportEsp300OptionSpecs(), given.values()));
  const std::int64_t axes = o.GetInt("axes");
  if (axes < 1 || axes > kMaxAxes) {
    return Status::Invalid("option 'axes' must be 1..", kMaxAxes, ", got ", axes);
  }
  const std::int64_t move_ms = o.GetInt("move_timeout_ms");
  if (move_ms < 1) return Status::Invalid("option 'move_timeout_ms' must be >= 1, got ", move_ms);
  const std::string unit = o.GetString("unit");
  int unit_code = -1;
  for (int i = 0; i < kUnitCount; ++i) {
    if (unit == kUnits[i]) unit_code = i;
  }
  if (unit_code < 0) {
    return Status::Invalid("option 'unit' must be ", UnitList(), " (the ESP300's SN units), got \"",
                           unit, "\"");
  }
  std::vector<AxisInfo> axis_info;
  for (int a = 1; a <= kMaxAxes; ++a) {
    const std::string n = std::to_string(a);
    const double lo = o.GetDouble("axis" + n + "_min");
    const double hi = o.GetDouble("axis" + n + "_max");
    if (a > axes) {
      if (!std::isinf(lo) || !std::isinf(hi)) {
        return Status::Invalid("option 'axis", n, "_", std::isinf(lo) ? "max" : "min",
                               "' is set, but 'axes' is ", axes, ": there is no axis ", n);
      }
      continue;
    }
    if (!(lo < hi)) {
      return Status::Invalid("option 'axis", n, "_min' (", FormatNumber(lo),
                             ") must be below 'axis", n, "_max' (", FormatNumber(hi), ")");
    }
    axis_info.push_back(AxisInfo{"axis" + n, unit, lo, hi});
  }
  PolledConfig c;
  c.driver_name = "newport.esp300";
  for (std::int64_t a = 1; a <= axes; ++a) {
    c.channels.push_back(ChannelSpec{"axis" + std::to_string(a), unit,
                                     "actual position (ESP300 " + std::to_string(a) + "TP)",
                                     arrow::float64()});
  }
  c.rate_hz = o.GetDouble("rate_hz");
  c.batch_size = o.GetInt("batch_size");
  ARROW_ASSIGN_OR_RAISE(c.link, LinkFromOptions(o));
  c.io_timeout = hardware::Timeout{o.GetInt("timeout_ms")};
  std::unique_ptr<MessageDevice> device;
  std::shared_ptr<arrow::Schema> schema;
  ARROW_RETURN_NOT_OK(Prepare(c, &device, &schema));
  return std::unique_ptr<NewportEsp300Driver>(
      new NewportEsp300Driver(std::move(c), std::move(device), std::move(schema),
                              std::move(axis_info), unit_code, hardware::Timeout{move_ms}));
}

Result<double> NewportEsp300Driver::QueryNumber(StreamTransport& t, const std::string& command) {
  ARROW_ASSIGN_OR_RAISE(std::string reply, t.Query(command, config().io_timeout));
  auto value = hardware::ParseNumber(reply);
  if (!value.ok()) {
    return Status::Invalid(t.resource(), ": ", hardware::ReplyTo(command), ": ",
                           value.status().message());
  }
  return *value;
}

Status NewportEsp300Driver::CheckNoError(StreamTransport& t, const std::string& after) {
  ARROW_ASSIGN_OR_RAISE(double code, QueryNumber(t, "TE?"));
  if (code == 0) return Status::OK();
  // TE? popped the error; TB? would return the next one, so name the code only.
  const int c = static_cast<int>(code);
  return Status::Invalid(t.resource(), ": ESP300 reported error ", c, " (",
                         DescribeEsp300Error(c), ") ", after);
}

Status NewportEsp300Driver::ConfigureDevice(StreamTransport& t) {
  controller_limits_.clear();  // until this controller's are read: no move is allowed
  ARROW_RETURN_NOT_OK(Identify(t, "VE?", "ESP300", config().io_timeout).status());
  // Errors from before this connection: read each once, so they are gone (at most ten).
  std::string stale;
  for (int i = 0;; ++i) {
    ARROW_ASSIGN_OR_RAISE(double code, QueryNumber(t, "TE?"));
    if (code == 0) break;
    if (i == 16) {
      return Status::Invalid(t.resource(), ": TE? still reports errors after 16 reads (the ",
                             "queue holds ten): ", stale);
    }
    stale += (stale.empty() ? "" : ", ") + std::to_string(static_cast<int>(code));
  }
  const int axes = static_cast<int>(axis_info_.size());
  for (int a = 1; a <= axes; ++a) {
    const std::string query = std::to_string(a) + "SN?";
    ARROW_ASSIGN_OR_RAISE(double units, QueryNumber(t, query));
    if (units != unit_code_) {
      const int u = static_cast<int>(units);
      const bool known = units == u && u >= 0 && u < kUnitCount;
      return Status::Invalid(
          t.resource(), ": axis ", a, " is set to ", known ? kUnitNames[u] : "unknown units",
          " (", query, " answered ", u, "), but option 'unit' says \"", kUnits[unit_code_],
          "\"", known ? "; set unit = \"" + std::string(kUnits[u]) + "\"" : std::string(),
          " or change the axis units on the controller");
    }
  }
  std::vector<Limits> limits;
  for (int a = 1; a <= axes; ++a) {
    Limits l;
    ARROW_ASSIGN_OR_RAISE(l.left, QueryNumber(t, std::to_string(a) + "SL?"));
    ARROW_ASSIGN_OR_RAISE(l.right, QueryNumber(t, std::to_string(a) + "SR?"));
    if (!std::isfinite(l.left) || !std::isfinite(l.right) || l.left > l.right) {
      return Status::Invalid(t.resource(), ": axis ", a, " reports software travel limits [",
                             FormatNumber(l.left), ", ", FormatNumber(l.right), "] (", a,
                             "SL?, ", a, "SR?): not a range a move can be checked against");
    }
    limits.push_back(l);
  }
  controller_limits_ = std::move(limits);
  for (auto& started : move_started_) started.reset();
  for (int a = 1; a <= axes; ++a) {
    ARROW_RETURN_NOT_OK(t.WriteLine(std::to_string(a) + "MO", config().io_timeout));
  }
  return CheckNoError(t, "after switching the motors on");
}

Result<std::vector<double>> NewportEsp300Driver::PollRow(StreamTransport& t) {
  std::vector<double> row;
  row.reserve(axis_info_.size());
  for (std::size_t a = 1; a <= axis_info_.size(); ++a) {
    ARROW_ASSIGN_OR_RAISE(double position, QueryNumber(t, std::to_string(a) + "TP"));
    row.push_back(position);
  }
  return row;
}

Status NewportEsp300Driver::CheckAxis(int axis) const {
  if (axis < 0 || axis >= static_cast<int>(axis_info_.size())) {
    return Status::Invalid("newport.esp300: axis index ", axis, " out of range 0..",
                           axis_info_.size() - 1, " (axis1..axis", axis_info_.size(), ")");
  }
  return Status::OK();
}

Status NewportEsp300Driver::MoveTo(int axis, double position) {
  ARROW_RETURN_NOT_OK(CheckAxis(axis));
  const AxisInfo& info = axis_info_[static_cast<std::size_t>(axis)];
  const std::string n = std::to_string(axis + 1);
  if (!std::isfinite(position)) {
    return Status::Invalid("newport.esp300: ", info.name, ": target ", FormatNumber(position),
                           " is not a position; nothing moved");
  }
  if (position < info.min || position > info.max) {
    return Status::Invalid("newport.esp300: ", info.name, ": target ", FormatNumber(position),
                           " ", info.unit, " is outside the soft limits [",
                           FormatNumber(info.min), ", ", FormatNumber(info.max),
                           "] of options 'axis", n, "_min'/'axis", n, "_max'; nothing moved");
  }
  ARROW_ASSIGN_OR_RAISE(StreamTransport * t, device().transport());
  if (static_cast<std::size_t>(axis) >= controller_limits_.size()) {
    return Status::Invalid(t->resource(), ": ", info.name,
                           ": the controller's travel limits are not known yet (the device is "
                           "not configured); nothing moved");
  }
  const Limits& l = controller_limits_[static_cast<std::size_t>(axis)];
  if (position < l.left || position > l.right) {
    return Status::Invalid(t->resource(), ": ", info.name, ": target ", FormatNumber(position),
                           " ", info.unit, " is outside the controller's software travel limits [",
                           FormatNumber(l.left), ", ", FormatNumber(l.right), "] (", n, "SL?, ",
                           n, "SR?); nothing moved");
  }
  char text[64];
  const int length = std::snprintf(text, sizeof(text), "%sPA%.6f", n.c_str(), position);
  if (length < 0 || length >= static_cast<int>(sizeof(text))) {
    return Status::Invalid("newport.esp300: ", info.name, ": target ", FormatNumber(position),
                           " is too large to send; nothing moved");
  }
  const std::string command = text;
  ARROW_RETURN_NOT_OK(t->WriteLine(command, config().io_timeout));
  // A refused move (motor off, beyond a limit) leaves an error and no motion.
  ARROW_RETURN_NOT_OK(CheckNoError(*t, "after '" + command + "'"));
  move_started_[static_cast<std::size_t>(axis)] = SteadyClock::now();
  return Status::OK();
}

Result<bool> NewportEsp300Driver::IsMoving(int axis) {
  ARROW_RETURN_NOT_OK(CheckAxis(axis));
  ARROW_ASSIGN_OR_RAISE(StreamTransport * t, device().transport());
  const std::string n = std::to_string(axis + 1);
  auto& started = move_started_[static_cast<std::size_t>(axis)];
  ARROW_ASSIGN_OR_RAISE(double done, QueryNumber(*t, n + "MD?"));
  if (done != 0 && done != 1) {
    return Status::Invalid(t->resource(), ": ", n, "MD? answered ", FormatNumber(done),
                           ", expected 0 (moving) or 1 (done)");
  }
  // An error queued while the axis moved (a following error, a limit switch) is a fault.
  Status st = CheckNoError(*t, "while " + axis_info_[static_cast<std::size_t>(axis)].name +
                                   (done == 0 ? " was moving" : " moved"));
  if (!st.ok()) {
    started.reset();
    return st;
  }
  if (done == 1) {
    started.reset();
    return false;
  }
  if (started && SteadyClock::now() - *started > move_timeout_) {
    started.reset();
    const Status stop = t->WriteLine(n + "ST", config().io_timeout);
    return Status::IOError(t->resource(), ": ", axis_info_[static_cast<std::size_t>(axis)].name,
                           " still moving after ", move_timeout_.count(),
                           " ms (option 'move_timeout_ms'); sent ", n, "ST",
                           stop.ok() ? std::string() : " (failed: " + stop.message() + ")");
  }
  return true;
}

Result<double> NewportEsp300Driver::Position(int axis) {
  ARROW_RETURN_NOT_OK(CheckAxis(axis));
  ARROW_ASSIGN_OR_RAISE(StreamTransport * t, device().transport());
  return QueryNumber(*t, std::to_string(axis + 1) + "TP");
}

Status NewportEsp300Driver::Stop(int axis) {
  ARROW_RETURN_NOT_OK(CheckAxis(axis));
  ARROW_ASSIGN_OR_RAISE(StreamTransport * t, device().transport());
  const std::string command = std::to_string(axis + 1) + "ST";
  ARROW_RETURN_NOT_OK(t->WriteLine(command, config().io_timeout));
  return CheckNoError(*t, "after '" + command + "'");
}

Status RegisterNewportEsp300(DriverRegistry& registry) {
  DriverInfo info;
  info.name = "newport.esp300";
  info.description = "Newport ESP300 motion controller over RS-232: axis positions, moves";
  info.default_resource = "";
  info.options = NewportEsp300OptionSpecs();
  info.factory = FactoryOf(&NewportEsp300Driver::Make);
  return registry.Register(std::move(info));
}

}  // namespace arrowdaq::instruments
