#include "arrowdaq/instruments/keysight_34461a.h"

namespace arrowdaq::instruments {

namespace {

struct Function {
  const char* scpi;     // CONF:<scpi>
  const char* channel;  // column name
  const char* unit;
  bool has_nplc;
};

constexpr Function kFunctions[] = {
    {"VOLT:DC", "voltage", "V", true},   {"VOLT:AC", "voltage", "V", false},
    {"CURR:DC", "current", "A", true},   {"CURR:AC", "current", "A", false},
    {"RES", "resistance", "Ohm", true},  {"FRES", "resistance", "Ohm", true},
};

}  // namespace

std::vector<OptionSpec> Keysight34461aOptionSpecs() {
  std::vector<OptionSpec> specs = {
      {"function", std::string("VOLT:DC"),
       "measurement: VOLT:DC | VOLT:AC | CURR:DC | CURR:AC | RES | FRES", ""},
      {"range", std::string("AUTO"), "CONF range argument: AUTO, MIN, MAX, DEF or a number", ""},
      {"nplc", 1.0, "integration time in power-line cycles (DC and resistance only)", "PLC"},
      {"rate_hz", 10.0, "READ? polls per second, > 0 and <= 10000", "Hz"},
      {"batch_size", std::int64_t{10}, "readings per batch, 1..1000000", ""},
  };
  hardware::SerialOptions link;
  for (auto& s : LinkOptionSpecs(link, 2000)) specs.push_back(std::move(s));
  return specs;
}

Result<std::unique_ptr<ScpiDriver>> MakeKeysight34461a(const ResolvedOptions& given) {
  ARROW_ASSIGN_OR_RAISE(const ResolvedOptions o,
                        ResolvedOptions::Make(Keysight34461aOptionSpecs(), given.values()));
  const std::string function = o.GetString("function");
  const Function* f = nullptr;
  for (const Function& candidate : kFunctions) {
    if (function == candidate.scpi) f = &candidate;
  }
  if (f == nullptr) {
    return Status::Invalid("option 'function' must be VOLT:DC | VOLT:AC | CURR:DC | CURR:AC | ",
                           "RES | FRES, got \"", function, "\"");
  }
  const double nplc = o.GetDouble("nplc");
  if (!(nplc > 0 && nplc <= 100)) {
    return Status::Invalid("option 'nplc' must be > 0 and <= 100 (PLC), got ", nplc);
  }
  ScpiConfig c;
  c.polled.driver_name = "keysight.34461a";
  c.polled.channels = {ChannelSpec{f->channel, f->unit, std::string("34461A ") + f->scpi,
                                   arrow::float64()}};
  c.polled.rate_hz = o.GetDouble("rate_hz");
  c.polled.batch_size = o.GetInt("batch_size");
  ARROW_ASSIGN_OR_RAISE(c.polled.link, LinkFromOptions(o));
  c.polled.io_timeout = hardware::Timeout{o.GetInt("timeout_ms")};
  c.identify_expect = "34461A";
  c.setup = {"*CLS", std::string("CONF:") + f->scpi + " " + o.GetString("range")};
  if (f->has_nplc) {
    std::string func = f->scpi;
    c.setup.push_back(func + ":NPLC " + std::to_string(nplc));
  }
  c.setup.insert(c.setup.end(), {"TRIG:SOUR IMM", "TRIG:COUN 1", "SAMP:COUN 1"});
  c.query = "READ?";
  c.check_errors = true;
  return ScpiDriver::Make(std::move(c));
}

Status RegisterKeysight34461a(DriverRegistry& registry) {
  DriverInfo info;
  info.name = "keysight.34461a";
  info.description = "Keysight 34461A DMM over LAN (SCPI socket, port 5025): READ? polling";
  info.default_resource = "";
  info.options = Keysight34461aOptionSpecs();
  info.factory = FactoryOf(&MakeKeysight34461a);
  return registry.Register(std::move(info));
}

}  // namespace arrowdaq::instruments
