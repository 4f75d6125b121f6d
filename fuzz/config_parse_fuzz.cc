// libFuzzer target: ParseConfig on arbitrary bytes. ParseConfig promises never to throw and to
// report every error as Status::Invalid starting with "FILE:LINE:COLUMN: "; a config it accepts
// has at least one instrument, each with a driver and a valid stream name. Any crash, hang,
// sanitizer report, escaping exception or broken promise is a finding.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <string>
#include <string_view>

#include "arrowdaq/config/config.h"

namespace {

constexpr const char* kFile = "fuzz.toml";

[[noreturn]] void Finding(const std::string& what) {
  std::fprintf(stderr, "config_parse_fuzz: %s\n", what.c_str());
  std::abort();
}

// "fuzz.toml:<digits>:<digits>: " at the start of `message`.
bool HasLocationPrefix(std::string_view message) {
  if (!message.starts_with(std::string(kFile) + ":")) return false;
  std::size_t i = std::string_view(kFile).size() + 1;
  for (int part = 0; part < 2; ++part) {
    const std::size_t digits_from = i;
    while (i < message.size() && message[i] >= '0' && message[i] <= '9') ++i;
    if (i == digits_from || i >= message.size() || message[i] != ':') return false;
    ++i;
  }
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  try {
    auto config = arrowdaq::config::ParseConfig(text, kFile);
    if (config.ok()) {
      if (config->instruments.empty()) Finding("accepted a config without instruments");
      for (const auto& instrument : config->instruments) {
        if (instrument.driver.empty()) Finding("accepted instrument without driver");
        if (!arrowdaq::config::IsValidStreamName(instrument.name)) {
          Finding("accepted invalid stream name '" + instrument.name + "'");
        }
      }
    } else {
      const auto& status = config.status();
      if (!status.IsInvalid()) Finding("error is not Invalid: " + status.ToString());
      if (!HasLocationPrefix(status.message())) {
        Finding("error lacks the file:line:column prefix: " + status.message());
      }
    }
  } catch (const std::exception& e) {
    Finding(std::string("ParseConfig threw: ") + e.what());
  } catch (...) {
    Finding("ParseConfig threw a non-std exception");
  }
  return 0;
}
