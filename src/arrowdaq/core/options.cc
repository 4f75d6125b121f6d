#include "arrowdaq/core/options.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <sstream>

namespace arrowdaq {

std::string_view ToString(OptionKind kind) {
  switch (kind) {
    case OptionKind::kValue: return "value";
    case OptionKind::kDuration: return "duration";
    case OptionKind::kByteSize: return "byte size";
    case OptionKind::kName: return "name";
    case OptionKind::kPath: return "path";
    case OptionKind::kStringList: return "array of strings";
    case OptionKind::kTable: return "table";
  }
  return "value";
}

std::string OptionTypeName(const OptionValue& value) {
  switch (value.index()) {
    case 0: return "a boolean";
    case 1: return "an integer";
    case 2: return "a number";
    default: return "a string";
  }
}

std::string FormatNumber(double value) {
  if (std::isnan(value)) return "nan";
  if (std::isinf(value)) return value > 0 ? "inf" : "-inf";
  char buf[64];
  // Shortest representation that reads back exactly; to_chars picks fixed or scientific,
  // whichever is shorter, so 1e8 is "1e+08" and 1000 is "1000".
  const auto result = std::to_chars(buf, buf + sizeof(buf), value);
  return std::string(buf, result.ptr);
}

std::string FormatOptionValue(const OptionValue& value) {
  std::ostringstream out;
  std::visit(
      [&out](const auto& v) {
        using T = std::decay_t<decltype(v)>;
        if constexpr (std::is_same_v<T, bool>) {
          out << (v ? "true" : "false");
        } else if constexpr (std::is_same_v<T, std::string>) {
          out << '"' << v << '"';
        } else if constexpr (std::is_same_v<T, double>) {
          out << FormatNumber(v);
        } else {
          out << v;
        }
      },
      value);
  return out.str();
}

std::string QuotedChoices(const std::vector<std::string>& choices) {
  std::string out;
  for (const auto& c : choices) out += (out.empty() ? "\"" : ", \"") + c + "\"";
  return out;
}

namespace {

const OptionSpec* FindSpec(const std::vector<OptionSpec>& specs, const std::string& key) {
  auto it = std::find_if(specs.begin(), specs.end(),
                         [&key](const OptionSpec& s) { return s.name == key; });
  return it == specs.end() ? nullptr : &*it;
}

bool IsIntegerSpec(const OptionSpec& spec) {
  return spec.kind == OptionKind::kValue && spec.default_value.index() == 1;
}

std::string Bound(const OptionSpec& spec, double bound) {
  if (IsIntegerSpec(spec) && std::abs(bound) < 9.0e15 && bound == std::floor(bound)) {
    return std::to_string(static_cast<std::int64_t>(bound));
  }
  return FormatNumber(bound);
}

std::optional<double> NumericValue(const OptionValue& value) {
  if (const auto* i = std::get_if<std::int64_t>(&value)) return static_cast<double>(*i);
  if (const auto* d = std::get_if<double>(&value)) return *d;
  return std::nullopt;
}

}  // namespace

std::string DescribeExpected(const OptionSpec& spec) {
  if (!spec.choices.empty()) return "one of " + QuotedChoices(spec.choices);
  std::string what;
  switch (spec.kind) {
    case OptionKind::kValue: what = OptionTypeName(spec.default_value); break;
    case OptionKind::kDuration: what = "a duration"; break;
    case OptionKind::kByteSize: what = "a byte size"; break;
    case OptionKind::kName: what = "a name"; break;
    case OptionKind::kPath: what = "a non-empty path"; break;
    case OptionKind::kStringList: what = "an array of strings"; break;
    case OptionKind::kTable: what = "a table"; break;
  }
  const bool integer = IsIntegerSpec(spec);
  if (spec.min && spec.max && integer && !spec.min_exclusive) {
    return what + " from " + Bound(spec, *spec.min) + " to " + Bound(spec, *spec.max);
  }
  if (spec.min) what += (spec.min_exclusive ? " > " : " >= ") + Bound(spec, *spec.min);
  if (spec.min && spec.max) what += " and";
  if (spec.max) what += " <= " + Bound(spec, *spec.max);
  return what;
}

Status CheckRange(const OptionSpec& spec, const OptionValue& value) {
  bool ok = true;
  if (!spec.choices.empty()) {
    const auto* text = std::get_if<std::string>(&value);
    ok = text != nullptr &&
         std::find(spec.choices.begin(), spec.choices.end(), *text) != spec.choices.end();
  } else if (const auto number = NumericValue(value)) {
    if (std::isnan(*number)) ok = !spec.min && !spec.max;
    if (spec.min) ok = ok && (spec.min_exclusive ? *number > *spec.min : *number >= *spec.min);
    if (spec.max) ok = ok && *number <= *spec.max;
  }
  if (ok) return Status::OK();
  return Status::Invalid("expected ", DescribeExpected(spec), ", got ", FormatOptionValue(value));
}

Status CheckOption(const std::vector<OptionSpec>& specs, const std::string& key,
                   const OptionValue& value) {
  const OptionSpec* spec = FindSpec(specs, key);
  if (spec == nullptr) {
    std::string known;
    for (const auto& s : specs) known += (known.empty() ? "" : ", ") + s.name;
    return Status::Invalid("unknown option '", key, "' (known: ", known.empty() ? "none" : known,
                           ")");
  }
  const bool int_for_double = spec->default_value.index() == 2 && value.index() == 1;
  if (spec->default_value.index() != value.index() && !int_for_double) {
    return Status::Invalid("option '", key, "': expected ", OptionTypeName(spec->default_value),
                           ", got ", OptionTypeName(value), " (", FormatOptionValue(value), ")");
  }
  if (Status st = CheckRange(*spec, value); !st.ok()) {
    return Status::Invalid("option '", key, "': ", st.message());
  }
  return Status::OK();
}

std::string OptionNamedIn(std::string_view message) {
  constexpr std::string_view kPrefix = "option '";
  const auto begin = message.find(kPrefix);
  if (begin == std::string_view::npos) return "";
  const auto name_begin = begin + kPrefix.size();
  const auto end = message.find('\'', name_begin);
  if (end == std::string_view::npos) return "";
  return std::string(message.substr(name_begin, end - name_begin));
}

Result<ResolvedOptions> ResolvedOptions::Make(const std::vector<OptionSpec>& specs,
                                              const OptionMap& values) {
  ResolvedOptions out;
  for (const auto& [key, value] : values) {
    ARROW_RETURN_NOT_OK(CheckOption(specs, key, value));
  }
  for (const auto& spec : specs) {
    auto it = values.find(spec.name);
    OptionValue v = it == values.end() ? spec.default_value : it->second;
    if (spec.default_value.index() == 2 && v.index() == 1) {
      v = static_cast<double>(std::get<std::int64_t>(v));
    }
    out.values_.emplace(spec.name, std::move(v));
  }
  return out;
}

double ResolvedOptions::GetDouble(const std::string& name) const {
  return std::get<double>(values_.at(name));
}
std::int64_t ResolvedOptions::GetInt(const std::string& name) const {
  return std::get<std::int64_t>(values_.at(name));
}
bool ResolvedOptions::GetBool(const std::string& name) const {
  return std::get<bool>(values_.at(name));
}
const std::string& ResolvedOptions::GetString(const std::string& name) const {
  return std::get<std::string>(values_.at(name));
}

}  // namespace arrowdaq
