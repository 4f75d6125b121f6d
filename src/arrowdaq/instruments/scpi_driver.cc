#include "arrowdaq/instruments/scpi_driver.h"

#include <algorithm>
#include <array>
#include <bit>
#include <cmath>
#include <cstring>
#include <limits>

#include "arrowdaq/hardware/ieee488.h"
#include "arrowdaq/instruments/keysight_34461a.h"
#include "arrowdaq/instruments/newport_1830c.h"
#include "arrowdaq/instruments/newport_esp300.h"
#include "arrowdaq/instruments/rigol_ds1000z.h"

namespace arrowdaq::instruments {

using hardware::StreamTransport;

Result<ReplyFormat> ParseReplyFormat(const std::string& text) {
  if (text == "ascii") return ReplyFormat::kAscii;
  if (text == "real64") return ReplyFormat::kReal64;
  if (text == "real32") return ReplyFormat::kReal32;
  if (text == "int16") return ReplyFormat::kInt16;
  return Status::Invalid("option 'format' must be ascii | real64 | real32 | int16, got \"", text,
                         "\"");
}

namespace {

template <typename T>
T Load(const char* p, bool big_endian) {
  std::array<char, sizeof(T)> bytes;
  std::memcpy(bytes.data(), p, sizeof(T));
  if (big_endian != (std::endian::native == std::endian::big)) {
    std::reverse(bytes.begin(), bytes.end());
  }
  T value;
  std::memcpy(&value, bytes.data(), sizeof(T));
  return value;
}

template <typename T>
std::vector<double> LoadAll(std::string_view payload, bool big_endian) {
  std::vector<double> out(payload.size() / sizeof(T));
  for (std::size_t i = 0; i < out.size(); ++i) {
    out[i] = static_cast<double>(Load<T>(payload.data() + i * sizeof(T), big_endian));
  }
  return out;
}

}  // namespace

Result<std::vector<double>> DecodeBinaryValues(std::string_view payload, ReplyFormat format,
                                               bool big_endian) {
  std::size_t width = 8;
  if (format == ReplyFormat::kReal32) width = 4;
  if (format == ReplyFormat::kInt16) width = 2;
  if (format == ReplyFormat::kAscii) return Status::Invalid("ascii is not a binary format");
  if (payload.size() % width != 0) {
    return Status::Invalid("binary block of ", payload.size(), " bytes is not a whole number of ",
                           width, "-byte values");
  }
  switch (format) {
    case ReplyFormat::kReal64: return LoadAll<double>(payload, big_endian);
    case ReplyFormat::kReal32: return LoadAll<float>(payload, big_endian);
    default: return LoadAll<std::int16_t>(payload, big_endian);
  }
}

Result<std::unique_ptr<ScpiDriver>> ScpiDriver::Make(ScpiConfig config) {
  if (config.query.empty()) return Status::Invalid("option 'query' must not be empty");
  std::unique_ptr<MessageDevice> device;
  std::shared_ptr<arrow::Schema> schema;
  ARROW_RETURN_NOT_OK(Prepare(config.polled, &device, &schema));
  return std::unique_ptr<ScpiDriver>(
      new ScpiDriver(std::move(config), std::move(device), std::move(schema)));
}

std::vector<OptionSpec> ScpiDriverOptionSpecs() {
  std::vector<OptionSpec> specs = {
      {"identify", std::string(""), "text the *IDN? reply must contain (\"\": any reply)", ""},
      {"setup", std::string(""), "commands sent after identification, separated by ';;'", ""},
      {"query", std::string("READ?"), "query sent once per poll", ""},
      {"channels", std::int64_t{1}, "values per poll: channels ch0..ch<N-1>, 1..1024", ""},
      {"rate_hz", 10.0, "polls per second, > 0 and <= 10000", "Hz"},
      {"batch_size", std::int64_t{10}, "polls per batch, 1..1000000", ""},
      {"check_errors", false, "query SYST:ERR? after each setup command, fail on errors", ""},
      {"binary", false, "the reply is an IEEE 488.2 block (format defaults to real64)", ""},
      {"format", std::string("ascii"), "ascii | real64 | real32 | int16", ""},
      {"byte_order", std::string("big"),
       "binary values: big (SCPI FORMat:BORDer NORMal, the *RST default) | little (SWAPped)",
       ""},
      {"unit", std::string("V"), "unit of every channel", ""},
  };
  for (auto& s : LinkOptionSpecs(hardware::SerialOptions{}, 1000)) specs.push_back(std::move(s));
  return specs;
}

Result<std::unique_ptr<ScpiDriver>> ScpiDriver::Make(const ResolvedOptions& given) {
  ARROW_ASSIGN_OR_RAISE(const ResolvedOptions o,
                        ResolvedOptions::Make(ScpiDriverOptionSpecs(), given.values()));
  ScpiConfig c;
  c.polled.driver_name = "scpi.generic";
  const std::int64_t channels = o.GetInt("channels");
  if (channels < 1 || channels > 1024) {
    return Status::Invalid("option 'channels' must be 1..1024, got ", channels);
  }
  for (std::int64_t i = 0; i < channels; ++i) {
    c.polled.channels.push_back({"ch" + std::to_string(i), o.GetString("unit"), "", nullptr});
    c.polled.channels.back().type = arrow::float64();
  }
  c.polled.rate_hz = o.GetDouble("rate_hz");
  c.polled.batch_size = o.GetInt("batch_size");
  ARROW_ASSIGN_OR_RAISE(c.polled.link, LinkFromOptions(o));
  c.polled.io_timeout = hardware::Timeout{o.GetInt("timeout_ms")};
  c.identify_expect = o.GetString("identify");
  c.setup = SplitCommands(o.GetString("setup"));
  c.query = o.GetString("query");
  c.check_errors = o.GetBool("check_errors");
  ARROW_ASSIGN_OR_RAISE(c.format, ParseReplyFormat(o.GetString("format")));
  if (o.GetBool("binary") && c.format == ReplyFormat::kAscii) c.format = ReplyFormat::kReal64;
  if (!o.GetBool("binary") && c.format != ReplyFormat::kAscii) {
    return Status::Invalid("option 'format' = \"", o.GetString("format"),
                           "\" needs binary = true");
  }
  const std::string order = o.GetString("byte_order");
  if (order != "little" && order != "big") {
    return Status::Invalid("option 'byte_order' must be little | big, got \"", order, "\"");
  }
  c.big_endian = order == "big";
  return Make(std::move(c));
}

Status ScpiDriver::ConfigureDevice(StreamTransport& t) {
  const hardware::Timeout timeout = config().io_timeout;
  if (!scpi_.identify_command.empty()) {
    ARROW_ASSIGN_OR_RAISE(idn_,
                          Identify(t, scpi_.identify_command, scpi_.identify_expect, timeout));
  }
  if (scpi_.check_errors) {  // errors left over from before us are not ours to report
    ARROW_RETURN_NOT_OK(t.SendCommand("*CLS", timeout).status());
  }
  for (const std::string& command : scpi_.setup) {
    ARROW_RETURN_NOT_OK(t.SendCommand(command, timeout).status());
    if (scpi_.check_errors) {
      ARROW_RETURN_NOT_OK(CheckScpiErrors(t, "'" + hardware::EscapeBytes(command) + "'", timeout));
    }
  }
  return Status::OK();
}

double MapScpiSpecialValue(double value) {
  // Instruments print these with a few digits ("+9.90000000E+37"): compare with a tolerance.
  auto near = [](double v, double target) { return std::abs(v - target) <= 1e-6 * target; };
  if (near(value, 9.9e37)) return std::numeric_limits<double>::infinity();
  if (near(-value, 9.9e37)) return -std::numeric_limits<double>::infinity();
  if (near(value, 9.91e37)) return std::numeric_limits<double>::quiet_NaN();
  return value;
}

Result<std::vector<double>> ScpiDriver::PollRow(StreamTransport& t) {
  const hardware::Timeout timeout =
      scpi_.query_timeout.count() > 0 ? scpi_.query_timeout : config().io_timeout;
  Result<std::vector<double>> values;
  if (scpi_.format == ReplyFormat::kAscii) {
    ARROW_ASSIGN_OR_RAISE(std::string reply, t.Query(scpi_.query, timeout));
    values = hardware::ParseNumberList(reply);
  } else {
    ARROW_ASSIGN_OR_RAISE(std::string payload, t.QueryBlock(scpi_.query, timeout));
    values = DecodeBinaryValues(payload, scpi_.format, scpi_.big_endian);
  }
  if (!values.ok()) {
    return Status::Invalid(t.resource(), ": ", hardware::ReplyTo(scpi_.query), ": ",
                           values.status().message());
  }
  for (double& v : *values) {
    ++values_;
    v = MapScpiSpecialValue(v);
    if (std::isnan(v)) ++not_a_number_;
    if (std::isinf(v)) ++(v > 0 ? positive_overloads_ : negative_overloads_);
  }
  return values;
}

std::vector<DriverEvent> ScpiDriver::TakeEvents() {
  std::vector<DriverEvent> events = TakeScheduleEvents();
  const std::int64_t flagged = positive_overloads_ + negative_overloads_ + not_a_number_;
  if (flagged > 0) {
    std::string message = std::to_string(flagged) + " of " + std::to_string(values_) +
                          " values were SCPI special values:";
    std::string sep = " ";
    if (positive_overloads_ > 0) {
      message += sep + std::to_string(positive_overloads_) + " overload +9.9E+37 stored as +inf";
      sep = ", ";
    }
    if (negative_overloads_ > 0) {
      message += sep + std::to_string(negative_overloads_) + " overload -9.9E+37 stored as -inf";
      sep = ", ";
    }
    if (not_a_number_ > 0) {
      message += sep + std::to_string(not_a_number_) + " not-a-number 9.91E+37 stored as NaN";
    }
    events.push_back({"overload", std::move(message)});
  }
  values_ = positive_overloads_ = negative_overloads_ = not_a_number_ = 0;
  return events;
}

Status RegisterDeviceDrivers(DriverRegistry& registry) {
  DriverInfo info;
  info.name = "scpi.generic";
  info.description = "any SCPI instrument over TCP or serial: polls a query, ASCII or binary";
  info.default_resource = "";
  info.options = ScpiDriverOptionSpecs();
  info.factory = FactoryOf(&ScpiDriver::Make);
  ARROW_RETURN_NOT_OK(registry.Register(std::move(info)));
  ARROW_RETURN_NOT_OK(RegisterKeysight34461a(registry));
  ARROW_RETURN_NOT_OK(RegisterNewport1830c(registry));
  ARROW_RETURN_NOT_OK(RegisterNewportEsp300(registry));
  ARROW_RETURN_NOT_OK(RegisterRigolDs1000z(registry));
  return Status::OK();
}

}  // namespace arrowdaq::instruments
