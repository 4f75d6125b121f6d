#include "arrowdaq/instruments/keysight_34461a.h"

#include <cmath>
#include <cstdio>

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
      {"nplc", 1.0,
       "integration time: 0.02 | 0.2 | 1 | 10 | 100 power-line cycles (DC and resistance)",
       "PLC"},
      {"autozero", true, "autozero (a zero reading per reading: twice the time), DC and RES", ""},
      {"line_frequency_hz", 50.0, "mains frequency, 50 or 60: sets the integration time", "Hz"},
      {"rate_hz", 10.0, "READ? polls per second, > 0, at most what nplc allows", "Hz"},
      {"batch_size", std::int64_t{10}, "readings per batch, 1..1000000", ""},
  };
  hardware::SerialOptions link;
  for (auto& s : LinkOptionSpecs(link, 2000)) specs.push_back(std::move(s));
  return specs;
}

namespace {

std::string FormatNplc(double nplc) {
  char text[32];
  std::snprintf(text, sizeof(text), "%g", nplc);
  return text;
}

}  // namespace

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
  // The 34461A takes exactly these (Truevolt guide, [SENSe:]...:NPLC); the 34465A/70A have more.
  const double nplc = o.GetDouble("nplc");
  bool known = false;
  for (double allowed : {0.02, 0.2, 1.0, 10.0, 100.0}) known = known || nplc == allowed;
  if (!known) {
    return Status::Invalid("option 'nplc' must be one of 0.02, 0.2, 1, 10, 100 (the 34461A's ",
                           "integration times in power-line cycles), got ", FormatNplc(nplc));
  }
  const double line_hz = o.GetDouble("line_frequency_hz");
  if (line_hz != 50.0 && line_hz != 60.0) {
    return Status::Invalid("option 'line_frequency_hz' must be 50 or 60, got ", line_hz);
  }
  const bool autozero = o.GetBool("autozero");
  const double rate = o.GetDouble("rate_hz");
  // One reading integrates nplc / line frequency, and as long again for the zero reading when
  // autozero is on: that bounds the rate from above (AC functions are not bounded here).
  const double reading_s = f->has_nplc ? nplc / line_hz * (autozero ? 2.0 : 1.0) : 0.0;
  if (reading_s > 0 && rate > 1.0 / reading_s) {
    char text[320];
    std::snprintf(text, sizeof(text),
                  "option 'rate_hz' = %g is more than the 34461A can deliver: at nplc = %s with "
                  "autozero %s on %g Hz mains one reading takes at least %g s, so at most %g "
                  "readings/s; lower rate_hz or nplc%s",
                  rate, FormatNplc(nplc).c_str(), autozero ? "on" : "off", line_hz, reading_s,
                  1.0 / reading_s, autozero ? ", or set autozero = false" : "");
    return Status::Invalid(text);
  }
  ScpiConfig c;
  c.polled.driver_name = "keysight.34461a";
  c.polled.channels = {ChannelSpec{f->channel, f->unit,
                                   std::string("34461A ") + f->scpi +
                                       " (+/-inf: overload, +/-9.9E+37 from the meter)",
                                   arrow::float64()}};
  c.polled.rate_hz = rate;
  c.polled.batch_size = o.GetInt("batch_size");
  ARROW_ASSIGN_OR_RAISE(c.polled.link, LinkFromOptions(o));
  c.polled.io_timeout = hardware::Timeout{o.GetInt("timeout_ms")};
  // READ? answers once the reading is made: wait for the integration on top of the timeout.
  c.query_timeout =
      c.polled.io_timeout + hardware::Timeout{static_cast<std::int64_t>(std::ceil(reading_s * 1e3))};
  c.identify_expect = "34461A";
  c.setup = {std::string("CONF:") + f->scpi + " " + o.GetString("range")};
  if (f->has_nplc) {
    const std::string func = f->scpi;
    c.setup.push_back(func + ":NPLC " + FormatNplc(nplc));
    if (func != "FRES") c.setup.push_back(func + ":ZERO:AUTO " + (autozero ? "ON" : "OFF"));
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
