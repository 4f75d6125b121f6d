#include "arrowdaq/instruments/newport_esp300.h"

#include <thread>

#include "arrowdaq/hardware/ieee488.h"

namespace arrowdaq::instruments {

using hardware::StreamTransport;

std::vector<OptionSpec> NewportEsp300OptionSpecs() {
  std::vector<OptionSpec> specs = {
      {"axes", std::int64_t{1}, "number of axes published (1..3): axis1..axis<N>", ""},
      {"unit", std::string("mm"), "unit of the axes' positions (as set up in the controller)", ""},
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

Result<std::unique_ptr<NewportEsp300Driver>> NewportEsp300Driver::Make(
    const ResolvedOptions& given) {
  ARROW_ASSIGN_OR_RAISE(const ResolvedOptions o,
                        ResolvedOptions::Make(NewportEsp300OptionSpecs(), given.values()));
  const std::int64_t axes = o.GetInt("axes");
  if (axes < 1 || axes > 3) return Status::Invalid("option 'axes' must be 1..3, got ", axes);
  const std::int64_t move_ms = o.GetInt("move_timeout_ms");
  if (move_ms < 1) return Status::Invalid("option 'move_timeout_ms' must be >= 1, got ", move_ms);
  PolledConfig c;
  c.driver_name = "newport.esp300";
  for (std::int64_t a = 1; a <= axes; ++a) {
    c.channels.push_back(ChannelSpec{"axis" + std::to_string(a), o.GetString("unit"),
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
                              static_cast<int>(axes), hardware::Timeout{move_ms}));
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
  return Status::Invalid(t.resource(), ": ESP300 reported error ", code, " after ", after,
                         " (see the error code list in the ESP300 manual)");
}

Status NewportEsp300Driver::ConfigureDevice(StreamTransport& t) {
  ARROW_RETURN_NOT_OK(Identify(t, "VE?", "ESP300", config().io_timeout).status());
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
  if (!wait) return CheckNoError(*t, "'" + command + "'");
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
