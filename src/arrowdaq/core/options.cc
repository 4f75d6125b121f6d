#include "arrowdaq/core/options.h"

#include <algorithm>
#include <sstream>

namespace arrowdaq {

std::string OptionTypeName(const OptionValue& value) {
  switch (value.index()) {
    case 0: return "a boolean";
    case 1: return "an integer";
    case 2: return "a number";
    default: return "a string";
  }
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
        } else {
          out << v;
        }
      },
      value);
  return out.str();
}

namespace {

const OptionSpec* FindSpec(const std::vector<OptionSpec>& specs, const std::string& key) {
  auto it = std::find_if(specs.begin(), specs.end(),
                         [&key](const OptionSpec& s) { return s.name == key; });
  return it == specs.end() ? nullptr : &*it;
}

}  // namespace

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
  return Status::OK();
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
