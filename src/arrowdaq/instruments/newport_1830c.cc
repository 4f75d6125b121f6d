#include "arrowdaq/instruments/newport_1830c.h"

#include "arrowdaq/hardware/ieee488.h"

namespace arrowdaq::instruments {

using hardware::StreamTransport;

std::vector<OptionSpec> Newport1830cOptionSpecs() {
  std::vector<OptionSpec> specs = {
      {"wavelength_nm", std::int64_t{633}, "calibration wavelength, 400..1800", "nm"},
      {"rate_hz", 10.0, "D? polls per second, > 0 and <= 10000", "Hz"},
      {"batch_size", std::int64_t{10}, "readings per batch, 1..1000000", ""},
  };
  hardware::SerialOptions link;  // 9600 8N1, LF both ways
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
  PolledConfig c;
  c.driver_name = "newport.1830c";
  c.channels = {ChannelSpec{"power", "W", "optical power (1830-C, units W)", arrow::float64()}};
  c.rate_hz = o.GetDouble("rate_hz");
  c.batch_size = o.GetInt("batch_size");
  ARROW_ASSIGN_OR_RAISE(c.link, LinkFromOptions(o));
  c.io_timeout = hardware::Timeout{o.GetInt("timeout_ms")};
  std::unique_ptr<MessageDevice> device;
  std::shared_ptr<arrow::Schema> schema;
  ARROW_RETURN_NOT_OK(Prepare(c, &device, &schema,
                              {{"wavelength_nm", std::to_string(wavelength)}}));
  return std::unique_ptr<Newport1830cDriver>(
      new Newport1830cDriver(std::move(c), std::move(device), std::move(schema), wavelength));
}

Status Newport1830cDriver::ConfigureDevice(StreamTransport& t) {
  const hardware::Timeout timeout = config().io_timeout;
  ARROW_RETURN_NOT_OK(t.WriteLine("U1", timeout));
  ARROW_RETURN_NOT_OK(t.WriteLine("W" + std::to_string(wavelength_nm_), timeout));
  ARROW_RETURN_NOT_OK(t.WriteLine("A1", timeout));
  ARROW_ASSIGN_OR_RAISE(std::string units, t.Query("U?", timeout));
  ARROW_ASSIGN_OR_RAISE(std::string wavelength, t.Query("W?", timeout));
  auto u = hardware::ParseNumber(units);
  auto w = hardware::ParseNumber(wavelength);
  if (!u.ok() || *u != 1 || !w.ok() || *w != static_cast<double>(wavelength_nm_)) {
    return Status::Invalid(t.resource(), ": not a 1830-C, or it ignored the set-up: U? answered '",
                           hardware::EscapeBytes(units), "' (expected 1 = W), W? answered '",
                           hardware::EscapeBytes(wavelength), "' (expected ", wavelength_nm_,
                           ")");
  }
  return Status::OK();
}

Result<std::vector<double>> Newport1830cDriver::PollRow(StreamTransport& t) {
  ARROW_ASSIGN_OR_RAISE(std::string reply, t.Query("D?", config().io_timeout));
  auto value = hardware::ParseNumber(reply);
  if (!value.ok()) {
    return Status::Invalid(t.resource(), ": ", hardware::ReplyTo("D?"), ": ",
                           value.status().message());
  }
  return std::vector<double>{*value};
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
