// Typed options: the values a config file gives a driver or processor (`rate_hz = 1000`), the
// specifications that declare them (name, type by its default, unit, description, range,
// allowed values), and the checks that turn the first into validated values with defaults
// filled in. The same OptionSpec declares the keys of the config file's own tables
// (config::ConfigTables()), so every key the program accepts is declared in exactly one place
// and `arrowdaq drivers` / `arrowdaq processors` / the documentation test read it from there.
// Pure values and functions; any thread.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "arrowdaq/core/status.h"

namespace arrowdaq {

/// Hold one option value as TOML gives it.
using OptionValue = std::variant<bool, std::int64_t, double, std::string>;
using OptionMap = std::map<std::string, OptionValue>;

/// Say how an option's value is written. kValue: the type of OptionSpec::default_value
/// (boolean, integer, number or string); the others occur only in the config file's own tables.
enum class OptionKind {
  kValue,
  kDuration,    ///< "10s" or a number of seconds (default_value: its text, e.g. "2s")
  kByteSize,    ///< "256MiB" or an integer number of bytes (default_value: its text)
  kName,        ///< a name (see config::IsValidName); default_value "" means none
  kPath,        ///< a non-empty string naming a file or directory
  kStringList,  ///< an array of strings (default_value: its TOML text, e.g. ["hdf5"])
  kTable,       ///< a table of free-form options (default_value: "{}")
};

/// Return "value", "duration", "byte size", "name", "path", "array of strings" or "table".
std::string_view ToString(OptionKind kind);

/// Describe one option a component accepts; for OptionKind::kValue its type is the type of
/// `default_value` (an integer is accepted where a double is expected).
struct OptionSpec {
  std::string name;
  OptionValue default_value;
  std::string description;
  std::string unit;
  /// Bounds of an integer or number option (nullopt: unbounded); inclusive unless
  /// `min_exclusive` (for rates and durations that must be > 0).
  std::optional<double> min = std::nullopt;
  std::optional<double> max = std::nullopt;
  bool min_exclusive = false;
  /// Allowed values of a string option, or of each item of a string list; empty: any. A
  /// closed set: anything else is an error naming them.
  std::vector<std::string> choices = {};
  OptionKind kind = OptionKind::kValue;
  /// The option must be given; `default_value` is then only its type.
  bool required = false;
};

/// Return the type name of a value as a config author would say it ("integer", "string", ...).
std::string OptionTypeName(const OptionValue& value);
/// Format a value as it would appear in TOML (strings quoted, numbers in their shortest exact
/// form: 1e+08, 0.5, 1000).
std::string FormatOptionValue(const OptionValue& value);
/// Format a number in its shortest exact form ("1e+08", "0.25", "1000"), never as
/// "100000000.000000".
std::string FormatNumber(double value);
/// Format a quoted, comma-separated list: "a", "b", "c".
std::string QuotedChoices(const std::vector<std::string>& choices);

/// Describe what `spec` accepts, as it follows "expected": "an integer from 1 to 1000",
/// "a number > 0 and <= 1e+08", "one of \"a\", \"b\"", "a string".
std::string DescribeExpected(const OptionSpec& spec);

/// Check that `value` (of the spec's type) lies in the spec's range and choices; the message
/// is "expected <DescribeExpected>, got <value>" without the option's name.
Status CheckRange(const OptionSpec& spec, const OptionValue& value);

/// Check one key and value against `specs`: the key must be declared and the value of the
/// declared type, range and choices. The message names the key and what was expected
/// ("unknown option 'rat_hz' (known: batch_size, rate_hz)", "option 'rate_hz': expected a
/// number, got a string (\"fast\")", "option 'rate_hz': expected a number > 0 and <= 1e+08,
/// got -3").
Status CheckOption(const std::vector<OptionSpec>& specs, const std::string& key,
                   const OptionValue& value);

/// Return the name of the first option a message is about ("option 'rate_hz' must be ..." ->
/// "rate_hz"), or "" when it names none. Lets a caller point at the value a factory refused.
std::string OptionNamedIn(std::string_view message);

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
