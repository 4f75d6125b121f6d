// Durations as a config author writes them: "10s", "250ms", "1.5min".
#include <charconv>
#include <cmath>
#include <cstdint>
#include <limits>
#include <string>

#include "arrowdaq/config/config.h"

namespace arrowdaq::config {

namespace {

struct Unit {
  std::string_view name;
  double nanos;
};

constexpr Unit kUnits[] = {{"ns", 1.0},   {"us", 1e3},   {"ms", 1e6},
                           {"s", 1e9},    {"min", 60e9}, {"h", 3600e9}};
constexpr char kUnitList[] = "ns, us, ms, s, min, h";

bool IsSpace(char c) { return c == ' ' || c == '\t'; }
bool IsDigit(char c) { return c >= '0' && c <= '9'; }

Status BadDuration(std::string_view text, const std::string& why) {
  return Status::Invalid("invalid duration \"", std::string(text), "\": ", why,
                         " (expected a number followed by one of ", kUnitList,
                         ", for example \"10s\" or \"250ms\")");
}

Result<std::chrono::nanoseconds> NanosToDuration(double nanos) {
  // 2^63 is exactly representable as a double; anything at or above it does not fit.
  if (!std::isfinite(nanos) || nanos < 0 || nanos >= 9223372036854775808.0) {
    return Status::Invalid("duration out of range");
  }
  const auto rounded = std::chrono::nanoseconds(static_cast<std::int64_t>(std::llround(nanos)));
  // 0 means "until stopped": a duration that is not 0 must not become it by rounding.
  if (nanos > 0 && rounded.count() == 0) {
    return Status::Invalid("shorter than 1 ns, the resolution of durations");
  }
  return rounded;
}

}  // namespace

Result<std::chrono::nanoseconds> SecondsToDuration(double seconds) {
  if (!std::isfinite(seconds) || seconds < 0) {
    return Status::Invalid("a duration must be a finite number >= 0, got ", FormatNumber(seconds));
  }
  const double nanos = seconds * 1e9;
  auto result = NanosToDuration(nanos);
  if (!result.ok()) {
    if (nanos > 0 && nanos < 1) {
      return Status::Invalid("a duration of ", FormatNumber(seconds),
                             " s is shorter than 1 ns, the resolution of durations (0 means "
                             "until stopped)");
    }
    return Status::Invalid("duration of ", FormatNumber(seconds), " s is out of range");
  }
  return result;
}

Result<std::chrono::nanoseconds> ParseDuration(std::string_view text) {
  std::size_t begin = 0;
  std::size_t end = text.size();
  while (begin < end && IsSpace(text[begin])) ++begin;
  while (end > begin && IsSpace(text[end - 1])) --end;
  const std::string_view body = text.substr(begin, end - begin);
  if (body.empty()) return BadDuration(text, "it is empty");
  if (body.front() == '-') return BadDuration(text, "a duration cannot be negative");

  // Digits with an optional fraction; no sign, exponent, inf or nan.
  std::size_t pos = 0;
  std::size_t digits = 0;
  while (pos < body.size() && IsDigit(body[pos])) ++pos, ++digits;
  if (pos < body.size() && body[pos] == '.') {
    ++pos;
    while (pos < body.size() && IsDigit(body[pos])) ++pos, ++digits;
  }
  if (digits == 0) return BadDuration(text, "it does not start with a number");
  double value = 0;
  const auto [ptr, ec] = std::from_chars(body.data(), body.data() + pos, value);
  if (ec != std::errc() || ptr != body.data() + pos) {
    return BadDuration(text, "the number is not valid");
  }

  std::size_t unit_begin = pos;
  while (unit_begin < body.size() && IsSpace(body[unit_begin])) ++unit_begin;
  const std::string_view unit = body.substr(unit_begin);
  if (unit.empty()) {
    if (value == 0) return std::chrono::nanoseconds(0);
    return BadDuration(text, "the unit is missing");
  }
  for (const Unit& u : kUnits) {
    if (u.name == unit) {
      const double nanos = value * u.nanos;
      auto result = NanosToDuration(nanos);
      if (!result.ok()) {
        if (nanos > 0 && nanos < 1) {
          return Status::Invalid("invalid duration \"", std::string(text),
                                 "\": it is shorter than 1 ns, the resolution of durations (0 "
                                 "means until stopped)");
        }
        return BadDuration(text, "it is too long");
      }
      return result;
    }
  }
  return BadDuration(text, "unknown unit \"" + std::string(unit) + "\"");
}

}  // namespace arrowdaq::config
