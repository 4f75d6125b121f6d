// Byte sizes as a config author writes them: "256MiB", "1.5 GB", 4096.
#include <charconv>
#include <cmath>
#include <cstdio>
#include <string>

#include "arrowdaq/config/config.h"

namespace arrowdaq::config {

namespace {

struct Unit {
  std::string_view name;
  double bytes;
};

constexpr Unit kUnits[] = {{"B", 1.0},      {"kB", 1e3},          {"MB", 1e6},
                           {"GB", 1e9},     {"TB", 1e12},         {"KiB", 1024.0},
                           {"MiB", 1048576.0}, {"GiB", 1073741824.0}, {"TiB", 1099511627776.0}};
constexpr char kUnitList[] = "B, kB, MB, GB, TB, KiB, MiB, GiB, TiB";

Status BadSize(std::string_view text, const std::string& why) {
  return Status::Invalid("invalid byte size \"", std::string(text), "\": ", why,
                         " (expected a number followed by one of ", kUnitList,
                         ", for example \"256MiB\" or \"1.5GB\")");
}

}  // namespace

Result<std::int64_t> ParseByteSize(std::string_view text) {
  std::size_t begin = 0;
  std::size_t end = text.size();
  while (begin < end && (text[begin] == ' ' || text[begin] == '\t')) ++begin;
  while (end > begin && (text[end - 1] == ' ' || text[end - 1] == '\t')) --end;
  const std::string_view body = text.substr(begin, end - begin);
  if (body.empty()) return BadSize(text, "it is empty");
  std::size_t pos = 0;
  std::size_t digits = 0;
  while (pos < body.size() && body[pos] >= '0' && body[pos] <= '9') ++pos, ++digits;
  if (pos < body.size() && body[pos] == '.') {
    ++pos;
    while (pos < body.size() && body[pos] >= '0' && body[pos] <= '9') ++pos, ++digits;
  }
  if (digits == 0) return BadSize(text, "it does not start with a number");
  double value = 0;
  const auto [ptr, ec] = std::from_chars(body.data(), body.data() + pos, value);
  if (ec != std::errc() || ptr != body.data() + pos) return BadSize(text, "the number is not valid");
  std::size_t unit_begin = pos;
  while (unit_begin < body.size() && body[unit_begin] == ' ') ++unit_begin;
  const std::string_view unit = body.substr(unit_begin);
  double scale = 0;
  if (unit.empty()) {
    scale = 1.0;
  } else {
    for (const Unit& u : kUnits) {
      if (u.name == unit) scale = u.bytes;
    }
    if (scale == 0) return BadSize(text, "unknown unit \"" + std::string(unit) + "\"");
  }
  const double bytes = std::floor(value * scale);
  if (!(bytes >= 1)) return BadSize(text, "it is less than one byte");
  if (bytes >= 9.2e18) return BadSize(text, "it is too large");
  return static_cast<std::int64_t>(bytes);
}

bool IsZeroByteSize(std::string_view text) {
  std::size_t pos = 0;
  while (pos < text.size() && (text[pos] == ' ' || text[pos] == '\t')) ++pos;
  std::size_t digits = 0;
  while (pos < text.size() && (text[pos] == '0' || text[pos] == '.')) {
    digits += text[pos] == '0';
    ++pos;
  }
  if (digits == 0) return false;
  while (pos < text.size() && text[pos] == ' ') ++pos;
  std::string_view unit = text.substr(pos);
  while (!unit.empty() && (unit.back() == ' ' || unit.back() == '\t')) unit.remove_suffix(1);
  if (unit.empty()) return true;
  for (const Unit& u : kUnits) {
    if (u.name == unit) return true;
  }
  return false;
}

std::string FormatByteSize(double bytes) {
  static constexpr const char* kNames[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
  int unit = 0;
  while (std::abs(bytes) >= 1024 && unit < 6) bytes /= 1024, ++unit;
  char buf[32];
  if (unit == 0) {
    std::snprintf(buf, sizeof(buf), "%.0f B", bytes);
  } else {
    std::snprintf(buf, sizeof(buf), bytes >= 100 ? "%.0f %s" : "%.3g %s", bytes, kNames[unit]);
  }
  return buf;
}

}  // namespace arrowdaq::config
