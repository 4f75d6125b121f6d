// Typed options: the values a config file gives a driver or processor (`rate_hz = 1000`), the
// specifications a driver declares for them (name, type by its default, unit, description), and
// the checks that turn the first into validated values with defaults filled in.
// Pure values and functions; any thread.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <variant>
#include <vector>

#include "arrowdaq/core/status.h"

namespace arrowdaq {

/// Hold one option value as TOML gives it.
using OptionValue = std::variant<bool, std::int64_t, double, std::string>;
using OptionMap = std::map<std::string, OptionValue>;

/// Describe one option a component accepts; its type is the type of `default_value`
/// (an integer is accepted where a double is expected).
struct OptionSpec {
  std::string name;
  OptionValue default_value;
  std::string description;
  std::string unit;
};

/// Return the type name of a value as a config author would say it ("integer", "string", ...).
std::string OptionTypeName(const OptionValue& value);
/// Format a value as it would appear in TOML (strings quoted).
std::string FormatOptionValue(const OptionValue& value);

/// Check one key and value against `specs`: the key must be declared and the value of the
/// declared type. The message names the key and what was expected
/// ("unknown option 'rat_hz' (known: batch_size, rate_hz)", "option 'rate_hz': expected a
/// number, got a string").
Status CheckOption(const std::vector<OptionSpec>& specs, const std::string& key,
                   const OptionValue& value);

/// Validated options: every declared option present, with its default when not given.
class ResolvedOptions {
 public:
  /// Check every value in `values` with CheckOption, then fill in defaults.
  static Result<ResolvedOptions> Make(const std::vector<OptionSpec>& specs,
                                      const OptionMap& values);

  double GetDouble(const std::string& name) const;
  std::int64_t GetInt(const std::string& name) const;
  bool GetBool(const std::string& name) const;
  const std::string& GetString(const std::string& name) const;
  const OptionMap& values() const { return values_; }

 private:
  OptionMap values_;
};

}  // namespace arrowdaq
