#include "arrowdaq/instruments/newport_esp300.h"

#include <cctype>
#include <cstdio>
#include <thread>

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
      {"rate_hz", 10.0, "position polls per second, > 0 and <= 10000", "Hz"},
      {"batch_size", std::int64_t{10}, "polls per batch, 1..1000000", ""},
      {"move_timeout_ms", std::int64_t{60000}, "longest wait for a move to finish", "ms"},
  };
  hardware::SerialOptions link;
  link.baud = 19200;
  link.flow_control = "rtscts";
  link.framing.write_terminator = "\r";
  link.framing.read_terminator = "\n";  // replies end CR LF; the CR is stripped
  for (auto& s : LinkOptionSpecs(link, 1000)) specs.push_back(std::move(s));
  return specs;
}

NewportEsp300Driver::NewportEsp300Driver(PolledConfig config, std::unique_ptr<MessageDevice> device,
                                         std::shared_ptr<arrow::Schema> schema, int axes,
                                         int unit_code, hardware::Timeout move_timeout)
    : PolledDriver(std::move(config), std::move(device), std::move(schema)),
      axes_(axes),
      unit_code_(unit_code),
      move_timeout_(move_timeout) {
  this->device().set_query_rule(IsEsp300Query);
}

Result<std::unique_ptr<NewportEsp300Driver>> NewportEsp300Driver::Make(
    const ResolvedOptions& given) {
  ARROW_ASSIGN_OR_RAISE(const ResolvedOptions o,
                        ResolvedOptions::Make(NewportEsp300OptionSpecs(), given.values()));
  const std::int64_t axes = o.GetInt("axes");
  if (axes < 1 || axes > 3) return Status::Invalid("option 'axes' must be 1..3, got ", axes);
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
                              static_cast<int>(axes), unit_code, hardware::Timeout{move_ms}));
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
                         DescribeEsp300Error(c), ") after ", after);
}

Status NewportEsp300Driver::ConfigureDevice(StreamTransport& t) {
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
  for (int a = 1; a <= axes_; ++a) {
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
  for (int a = 1; a <= axes_; ++a) {
    ARROW_RETURN_NOT_OK(t.WriteLine(std::to_string(a) + "MO", config().io_timeout));
  }
  return CheckNoError(t, "switching the motors on");
}

Result<std::vector<double>> NewportEsp300Driver::PollRow(StreamTransport& t) {
  std::vector<double> row;
  row.reserve(static_cast<std::size_t>(axes_));
  for (int a = 1; a <= axes_; ++a) {
    ARROW_ASSIGN_OR_RAISE(double position, QueryNumber(t, std::to_string(a) + "TP"));
    row.push_back(position);
  }
  return row;
}

Status NewportEsp300Driver::CheckAxis(int axis) const {
  if (axis < 1 || axis > axes_) {
    return Status::Invalid("newport.esp300: axis ", axis, " out of range 1..", axes_);
  }
  return Status::OK();
}

Status NewportEsp300Driver::MoveAbsolute(int axis, double position, bool wait) {
  ARROW_RETURN_NOT_OK(CheckAxis(axis));
  ARROW_ASSIGN_OR_RAISE(StreamTransport * t, device().transport());
  char text[64];
  std::snprintf(text, sizeof(text), "%dPA%.6f", axis, position);
  const std::string command = text;
  ARROW_RETURN_NOT_OK(t->WriteLine(command, config().io_timeout));
  // A refused move (motor off, beyond a limit) leaves an error and no motion: check first.
  ARROW_RETURN_NOT_OK(CheckNoError(*t, "'" + command + "'"));
  if (!wait) return Status::OK();
  const auto deadline = SteadyClock::now() + move_timeout_;
  const std::string done_query = std::to_string(axis) + "MD?";
  while (true) {
    ARROW_ASSIGN_OR_RAISE(double done, QueryNumber(*t, done_query));
    if (done == 1) break;
    if (SteadyClock::now() > deadline) {
      return Status::IOError(t->resource(), ": move '", command, "' not done after ",
                             move_timeout_.count(), " ms (", done_query, " still answers 0)");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return CheckNoError(*t, "'" + command + "'");
}

Result<double> NewportEsp300Driver::Position(int axis) {
  ARROW_RETURN_NOT_OK(CheckAxis(axis));
  ARROW_ASSIGN_OR_RAISE(StreamTransport * t, device().transport());
  return QueryNumber(*t, std::to_string(axis) + "TP");
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
