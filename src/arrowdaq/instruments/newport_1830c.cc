#include "arrowdaq/instruments/newport_1830c.h"

#include <cmath>
#include <limits>
#include <thread>

#include "arrowdaq/hardware/ieee488.h"

namespace arrowdaq::instruments {

using hardware::StreamTransport;

namespace {

// Q? status byte bits (manual p. 38).
constexpr int kParameterError = 1;
constexpr int kCommandError = 2;
constexpr int kSaturated = 4;
constexpr int kOverRange = 8;

}  // namespace

std::vector<OptionSpec> Newport1830cOptionSpecs() {
  std::vector<OptionSpec> specs = {
      {"wavelength_nm", std::int64_t{633}, "calibration wavelength, 400..1800", "nm"},
      {"attenuator", false,
       "true when the detector's attenuator is fitted (sends A1, else A0)", ""},
      {"set_delay_ms", std::int64_t{100}, "pause after each set command, 0..10000", "ms"},
      {"rate_hz", 10.0, "D? polls per second, > 0 and <= 10000", "Hz"},
      {"batch_size", std::int64_t{10}, "readings per batch, 1..1000000", ""},
  };
  hardware::SerialOptions link;  // 9600 8N1, no handshake, LF both ways
  for (auto& s : LinkOptionSpecs(link, 1000)) specs.push_back(std::move(s));
  return specs;
}

Result<std::unique_ptr<Newport1830cDriver>> Newport1830cDriver::Make(
    const ResolvedOptions& given) {
  ARROW_ASSIGN_OR_RAISE(const ResolvedOptions o,
                        ResolvedOptions::Make(Newport1830cOptionSpecs(), given.values()));
  const std::int64_t wavelength = o.GetInt("wavelength_nm");
  if (wavelength < 400 || wavelength > 1800) {
    return Status::Invalid("option 'wavelength_nm' must be 400..1800 (nm), got ", wavelength);
  }
  const std::int64_t set_delay = o.GetInt("set_delay_ms");
  if (set_delay < 0 || set_delay > 10000) {
    return Status::Invalid("option 'set_delay_ms' must be 0..10000 (ms), got ", set_delay);
  }
  PolledConfig c;
  c.driver_name = "newport.1830c";
  c.channels = {ChannelSpec{"power", "W",
                            "optical power (1830-C, units W; NaN: saturated or over range)",
                            arrow::float64()}};
  c.rate_hz = o.GetDouble("rate_hz");
  c.batch_size = o.GetInt("batch_size");
  ARROW_ASSIGN_OR_RAISE(c.link, LinkFromOptions(o));
  c.io_timeout = hardware::Timeout{o.GetInt("timeout_ms")};
  std::unique_ptr<MessageDevice> device;
  std::shared_ptr<arrow::Schema> schema;
  const bool attenuator = o.GetBool("attenuator");
  ARROW_RETURN_NOT_OK(Prepare(c, &device, &schema,
                              {{"wavelength_nm", std::to_string(wavelength)},
                               {"attenuator", attenuator ? "fitted" : "none"}}));
  return std::unique_ptr<Newport1830cDriver>(
      new Newport1830cDriver(std::move(c), std::move(device), std::move(schema), wavelength,
                             attenuator, hardware::Timeout{set_delay}));
}

Status Newport1830cDriver::Set(StreamTransport& t, const std::string& command) {
  ARROW_RETURN_NOT_OK(t.WriteLine(command, config().io_timeout));
  // The meter executes one command at a time and answers nothing to a set command, so the
  // only way to not overrun it is to wait (public drivers wait about 100 ms).
  if (set_delay_.count() > 0) std::this_thread::sleep_for(set_delay_);
  return Status::OK();
}

Result<double> Newport1830cDriver::QueryNumber(StreamTransport& t, const std::string& command) {
  ARROW_ASSIGN_OR_RAISE(std::string reply, t.Query(command, config().io_timeout));
  auto value = hardware::ParseNumber(reply);
  if (!value.ok()) {
    return Status::Invalid(t.resource(), ": ", hardware::ReplyTo(command), ": ",
                           value.status().message());
  }
  return *value;
}

Status Newport1830cDriver::ConfigureDevice(StreamTransport& t) {
  // Echo off first: a meter left in echo mode sends "E0" back, which the discard drops.
  ARROW_RETURN_NOT_OK(Set(t, "E0"));
  ARROW_RETURN_NOT_OK(t.DiscardInput());
  ARROW_RETURN_NOT_OK(Set(t, "U1"));
  ARROW_RETURN_NOT_OK(Set(t, "W" + std::to_string(wavelength_nm_)));
  ARROW_RETURN_NOT_OK(Set(t, "R0"));
  ARROW_RETURN_NOT_OK(Set(t, attenuator_ ? "A1" : "A0"));
  ARROW_RETURN_NOT_OK(Set(t, "G1"));
  struct Expect {
    const char* query;
    double value;
    const char* meaning;
  };
  const Expect checks[] = {
      {"U?", 1, "1 = watts"},
      {"W?", static_cast<double>(wavelength_nm_), "the wavelength in nm"},
      {"A?", attenuator_ ? 1.0 : 0.0, attenuator_ ? "1 = attenuator fitted" : "0 = no attenuator"},
      {"G?", 1, "1 = run (not hold)"},
  };
  for (const Expect& e : checks) {
    ARROW_ASSIGN_OR_RAISE(std::string reply, t.Query(e.query, config().io_timeout));
    auto value = hardware::ParseNumber(reply);
    if (!value.ok() || *value != e.value) {
      return Status::Invalid(t.resource(), ": not a 1830-C, or it ignored the set-up: ",
                             e.query, " answered '", hardware::EscapeBytes(reply),
                             "' (expected ", e.value, ", ", e.meaning, ")");
    }
  }
  ARROW_ASSIGN_OR_RAISE(const double status, QueryNumber(t, "Q?"));
  const int bits = static_cast<int>(status);
  if ((bits & (kParameterError | kCommandError)) != 0) {
    return Status::Invalid(t.resource(), ": the 1830-C refused part of the set-up: Q? = ", bits,
                           (bits & kCommandError) != 0 ? " (command error)" : "",
                           (bits & kParameterError) != 0 ? " (parameter error)" : "");
  }
  ARROW_RETURN_NOT_OK(Set(t, "C"));  // clear the status byte: later bits are the readings'
  return Status::OK();
}

Result<std::vector<double>> Newport1830cDriver::PollRow(StreamTransport& t) {
  ARROW_ASSIGN_OR_RAISE(const double reading, QueryNumber(t, "D?"));
  ARROW_ASSIGN_OR_RAISE(const double status, QueryNumber(t, "Q?"));
  const int bits = static_cast<int>(status);
  ++readings_;
  if ((bits & (kSaturated | kOverRange)) != 0) {
    ++flagged_;
    if ((bits & kSaturated) != 0) ++saturated_;
    if ((bits & kOverRange) != 0) ++over_range_;
    return std::vector<double>{std::numeric_limits<double>::quiet_NaN()};
  }
  return std::vector<double>{reading};
}

std::vector<DriverEvent> Newport1830cDriver::TakeEvents() {
  std::vector<DriverEvent> events = TakeScheduleEvents();
  if (flagged_ > 0) {
    std::string message = std::to_string(flagged_) + " of " + std::to_string(readings_) +
                          " readings stored as NaN (Q? status byte):";
    if (saturated_ > 0) message += " " + std::to_string(saturated_) + " detector saturated";
    if (over_range_ > 0) {
      message += std::string(saturated_ > 0 ? "," : "") + " " + std::to_string(over_range_) +
                 " over range";
    }
    events.push_back({"overload", std::move(message)});
  }
  flagged_ = saturated_ = over_range_ = readings_ = 0;
  return events;
}

Status RegisterNewport1830c(DriverRegistry& registry) {
  DriverInfo info;
  info.name = "newport.1830c";
  info.description = "Newport 1830-C optical power meter over RS-232: D? polling, watts";
  info.default_resource = "";
  info.options = Newport1830cOptionSpecs();
  info.factory = FactoryOf(&Newport1830cDriver::Make);
  return registry.Register(std::move(info));
}

}  // namespace arrowdaq::instruments
