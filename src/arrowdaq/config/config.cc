// The TOML adapter: toml11 parses, this file validates and converts. toml11's exceptions are
// caught here and turned into Status; nothing throws out of this file.
#include "arrowdaq/config/config.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <system_error>
#include <tuple>
#include <utility>

#include <toml.hpp>

namespace arrowdaq::config {

namespace {

using TomlValue = toml::value;

// toml11 v3 parses arrays and inline tables recursively and dotted keys in quadratic time; these
// limits keep hostile input from overflowing the stack or hanging the parser. Valid configs come
// nowhere near them.
constexpr int kMaxNesting = 32;
constexpr int kMaxDotsPerLine = 256;
constexpr std::size_t kMaxFileBytes = 4 << 20;
constexpr std::int64_t kMaxCapacity = 1 << 24;

// ---------------------------------------------------------------------------------------------
// Small helpers

std::string Quote(std::string_view text) {
  constexpr std::size_t kMaxShown = 60;
  std::string out = "\"";
  std::size_t shown = 0;
  for (const char c : text) {
    if (shown++ == kMaxShown) {
      out += "...";
      break;
    }
    const auto u = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (u < 0x20 || u == 0x7f) {
      char buf[8];
      std::snprintf(buf, sizeof(buf), "\\x%02x", u);
      out += buf;
    } else {
      out += c;
    }
  }
  out += '"';
  return out;
}

bool IsBareKey(std::string_view key) {
  if (key.empty()) return false;
  return std::all_of(key.begin(), key.end(), [](char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
           c == '_' || c == '-';
  });
}

// Append `key` to a dotted path, quoting it when it is not a bare TOML key.
std::string Path(const std::string& parent, std::string_view key) {
  std::string part = IsBareKey(key) ? std::string(key) : Quote(key);
  return parent.empty() ? part : parent + "." + part;
}

std::string Join(const std::vector<std::string>& items, std::string_view sep = ", ") {
  std::string out;
  for (const auto& item : items) {
    if (!out.empty()) out += sep;
    out += item;
  }
  return out;
}

std::string QuotedList(const std::vector<std::string>& items) {
  std::vector<std::string> quoted;
  quoted.reserve(items.size());
  for (const auto& item : items) quoted.push_back(Quote(item));
  return Join(quoted);
}

std::size_t EditDistance(std::string_view a, std::string_view b) {
  std::vector<std::size_t> row(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::size_t diagonal = row[0];
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t above = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = above;
    }
  }
  return row[b.size()];
}

// Describe a TOML value as "a string (\"fast\")", "an integer (3)", "a table", ...
std::string Describe(const TomlValue& v) {
  std::ostringstream out;
  switch (v.type()) {
    case toml::value_t::boolean:
      out << "a boolean (" << (v.as_boolean() ? "true" : "false") << ")";
      break;
    case toml::value_t::integer:
      out << "an integer (" << v.as_integer() << ")";
      break;
    case toml::value_t::floating:
      out << "a number (" << v.as_floating() << ")";
      break;
    case toml::value_t::string:
      out << "a string (" << Quote(v.as_string().str) << ")";
      break;
    case toml::value_t::array:
      out << "an array";
      break;
    case toml::value_t::table:
      out << "a table";
      break;
    case toml::value_t::offset_datetime:
    case toml::value_t::local_datetime:
    case toml::value_t::local_date:
    case toml::value_t::local_time:
      out << "a date/time";
      break;
    default:
      out << "an empty value";
      break;
  }
  return out.str();
}

// Return a table's entries sorted by where they appear in the file (then by key), so that
// iteration and "first error" are deterministic despite toml11's unordered tables.
std::vector<std::pair<std::string, const TomlValue*>> EntriesInFileOrder(const TomlValue& table) {
  std::vector<std::tuple<std::uint_least32_t, std::uint_least32_t, std::string, const TomlValue*>>
      sorted;
  for (const auto& [key, child] : table.as_table()) {
    const auto loc = child.location();
    sorted.emplace_back(loc.line(), loc.column(), key, &child);
  }
  std::sort(sorted.begin(), sorted.end(), [](const auto& a, const auto& b) {
    return std::tie(std::get<0>(a), std::get<1>(a), std::get<2>(a)) <
           std::tie(std::get<0>(b), std::get<1>(b), std::get<2>(b));
  });
  std::vector<std::pair<std::string, const TomlValue*>> out;
  out.reserve(sorted.size());
  for (auto& entry : sorted) out.emplace_back(std::move(std::get<2>(entry)), std::get<3>(entry));
  return out;
}

const TomlValue* Find(const TomlValue& table, const std::string& key) {
  const auto& t = table.as_table();
  auto it = t.find(key);
  return it == t.end() ? nullptr : &it->second;
}

// ---------------------------------------------------------------------------------------------
// Encoding gate: the bytes toml11 may see. toml11 3.7 reads past the end of its buffer on some
// invalid UTF-8 sequences and control bytes (fuzz/findings/README.md); the TOML specification
// forbids them anyway, so they are refused here with the place and the byte, before any parser
// runs.

// Return the length of the well-formed UTF-8 sequence at the start of `s` (1..4), or 0 when it
// is not one (overlong forms, surrogates, code points above U+10FFFF, truncated sequences).
std::size_t Utf8SequenceLength(std::string_view s) {
  const auto byte = [&s](std::size_t i) { return static_cast<unsigned char>(s[i]); };
  const unsigned char lead = byte(0);
  if (lead < 0x80) return 1;
  std::size_t length = 0;
  unsigned char low = 0x80;  // allowed range of the second byte
  unsigned char high = 0xBF;
  if (lead >= 0xC2 && lead <= 0xDF) {
    length = 2;
  } else if (lead >= 0xE0 && lead <= 0xEF) {
    length = 3;
    if (lead == 0xE0) low = 0xA0;   // overlong below U+0800
    if (lead == 0xED) high = 0x9F;  // UTF-16 surrogates
  } else if (lead >= 0xF0 && lead <= 0xF4) {
    length = 4;
    if (lead == 0xF0) low = 0x90;   // overlong below U+10000
    if (lead == 0xF4) high = 0x8F;  // above U+10FFFF
  } else {
    return 0;  // continuation byte, C0/C1 overlong lead, or F5..FF
  }
  if (s.size() < length) return 0;
  if (byte(1) < low || byte(1) > high) return 0;
  for (std::size_t i = 2; i < length; ++i) {
    if (byte(i) < 0x80 || byte(i) > 0xBF) return 0;
  }
  return length;
}

const char* ControlName(unsigned char c) {
  static constexpr const char* kNames[32] = {
      "NUL", "SOH", "STX", "ETX", "EOT", "ENQ", "ACK", "BEL", "BS",  "TAB", "LF",
      "VT",  "FF",  "CR",  "SO",  "SI",  "DLE", "DC1", "DC2", "DC3", "DC4", "NAK",
      "SYN", "ETB", "CAN", "EM",  "SUB", "ESC", "FS",  "GS",  "RS",  "US"};
  return c < 32 ? kNames[c] : "DEL";
}

Status CheckEncoding(std::string_view text, const std::string& file) {
  int line = 1;
  int column = 1;
  for (std::size_t i = 0; i < text.size();) {
    const auto c = static_cast<unsigned char>(text[i]);
    const SourceLocation here{file, line, column};
    if (c == '\n') {
      ++line;
      column = 1;
      ++i;
      continue;
    }
    if (c == '\r' && (i + 1 == text.size() || text[i + 1] != '\n')) {
      return ErrorAt(here, "",
                     "carriage return (U+000D) not followed by a line feed: TOML lines end "
                     "with LF or CR LF");
    }
    if ((c < 0x20 && c != '\t' && c != '\r') || c == 0x7F) {
      char code[8];
      std::snprintf(code, sizeof(code), "%04X", c);
      return ErrorAt(here, "",
                     std::string("control character U+") + code + " (" + ControlName(c) +
                         ") is not allowed in a TOML file (only tab, LF and CR LF are; write "
                         "it as an escape such as \\u" + code + " inside a string)");
    }
    const std::size_t length = Utf8SequenceLength(text.substr(i));
    if (length == 0) {
      char shown[8];
      std::snprintf(shown, sizeof(shown), "0x%02X", c);
      return ErrorAt(here, "",
                     std::string("byte ") + shown +
                         " is not valid UTF-8: a config file must be UTF-8 (was it saved in "
                         "Latin-1 or another legacy encoding?)");
    }
    i += length;
    column += static_cast<int>(length);
  }
  return Status::OK();
}

// ---------------------------------------------------------------------------------------------
// Pre-scan: reject bytes no TOML file may hold, and input that would make toml11 recurse too
// deeply or take quadratic time.

Status PreScan(std::string_view text, const std::string& file) {
  if (text.size() > kMaxFileBytes) {
    return ErrorAt({file, 1, 1}, "",
                   "file is too large for a config file (" + std::to_string(text.size()) +
                       " bytes, limit " + std::to_string(kMaxFileBytes) + ")");
  }
  ARROW_RETURN_NOT_OK(CheckEncoding(text, file));
  enum class State { kCode, kComment, kBasic, kLiteral, kMlBasic, kMlLiteral };
  State state = State::kCode;
  int depth = 0;
  int dots = 0;
  int line = 1;
  int column = 1;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    const std::string_view rest = text.substr(i);
    const auto starts = [&rest](std::string_view s) { return rest.substr(0, s.size()) == s; };
    switch (state) {
      case State::kCode:
        if (c == '#') {
          state = State::kComment;
        } else if (starts("\"\"\"")) {
          state = State::kMlBasic;
          i += 2, column += 2;
        } else if (starts("'''")) {
          state = State::kMlLiteral;
          i += 2, column += 2;
        } else if (c == '"') {
          state = State::kBasic;
        } else if (c == '\'') {
          state = State::kLiteral;
        } else if (c == '[' || c == '{') {
          if (++depth > kMaxNesting) {
            return ErrorAt({file, line, column}, "",
                           "arrays or inline tables nested deeper than " +
                               std::to_string(kMaxNesting) + " levels");
          }
        } else if (c == ']' || c == '}') {
          depth = std::max(0, depth - 1);
        } else if (c == '.' && ++dots > kMaxDotsPerLine) {
          return ErrorAt({file, line, column}, "",
                         "more than " + std::to_string(kMaxDotsPerLine) +
                             " dots on one line (key too deeply dotted)");
        }
        break;
      case State::kComment:
        break;
      case State::kBasic:
      case State::kMlBasic:
        if (c == '\\' && i + 1 < text.size() && text[i + 1] != '\n') {
          ++i, ++column;
        } else if (state == State::kBasic && c == '"') {
          state = State::kCode;
        } else if (state == State::kMlBasic && starts("\"\"\"")) {
          state = State::kCode;
          i += 2, column += 2;
        }
        break;
      case State::kLiteral:
        if (c == '\'') state = State::kCode;
        break;
      case State::kMlLiteral:
        if (starts("'''")) {
          state = State::kCode;
          i += 2, column += 2;
        }
        break;
    }
    if (c == '\n') {
      ++line;
      column = 1;
      dots = 0;
      if (state == State::kComment || state == State::kBasic || state == State::kLiteral) {
        state = State::kCode;
      }
    } else {
      ++column;
    }
  }
  return Status::OK();
}

// ---------------------------------------------------------------------------------------------
// toml11 syntax errors to "file:line:column: message"

// toml11's message looks like:
//   [error] toml::parse_key_value_pair: missing value after key-value separator '='
//    --> demo.toml
//      |
//    3 | foo =
//      |       ^--- expected value, but got nothing
// The exception's own location has the right line but often column 1, so the column is taken
// from the marker under the snippet of that line.
Status ConvertSyntaxError(const toml::exception& e, const std::string& file) {
  const std::string what = e.what();
  const int error_line = static_cast<int>(e.location().line());
  int column = static_cast<int>(e.location().column());

  std::istringstream lines(what);
  std::string first;
  std::getline(lines, first);
  constexpr std::string_view kErrorPrefix = "[error] ";
  if (first.rfind(kErrorPrefix, 0) == 0) first.erase(0, kErrorPrefix.size());
  if (first.rfind("toml::", 0) == 0) {
    const auto colon = first.find(": ");
    if (colon != std::string::npos) first.erase(0, colon + 2);
  }

  std::string hint;
  std::string line_text;
  int snippet_line = -1;
  bool found = false;
  while (!found && std::getline(lines, line_text)) {
    const auto bar = line_text.find(" | ");
    const auto bar_end = line_text.find(" |");
    if (bar == std::string::npos && bar_end == std::string::npos) continue;
    const std::string head = line_text.substr(0, std::min(bar, bar_end));
    const auto digits = head.find_first_not_of(' ');
    if (digits != std::string::npos &&
        head.find_first_not_of("0123456789", digits) == std::string::npos) {
      snippet_line = std::atoi(head.c_str() + digits);
      continue;
    }
    if (snippet_line != error_line || bar == std::string::npos) continue;
    const std::string marker = line_text.substr(bar + 3);
    const auto mark = marker.find_first_of("^~");
    if (mark == std::string::npos) continue;
    column = static_cast<int>(mark) + 1;
    auto comment = marker.substr(mark);
    comment.erase(0, comment.find_first_not_of("^~-"));
    comment.erase(0, comment.find_first_not_of(' '));
    hint = comment;
    found = true;
  }
  std::string message = "invalid TOML: " + first;
  if (!hint.empty()) message += " (" + hint + ")";
  return ErrorAt({file, std::max(error_line, 1), std::max(column, 1)}, "", message);
}

// ---------------------------------------------------------------------------------------------
// The schema walker: each table is read against its declaration in ConfigTables().

const OptionSpec* FindKey(const TableSpec& table, const std::string& key) {
  for (const auto& spec : table.keys) {
    if (spec.name == key) return &spec;
  }
  return nullptr;
}

using StringList = std::vector<std::pair<std::string, const TomlValue*>>;

// The given keys of one table, each converted by its declared kind and checked for its type,
// range and choices. Keys left out are absent (the struct's defaults, which equal the
// declared ones, apply).
struct TableValues {
  std::map<std::string, const TomlValue*> given;
  std::map<std::string, OptionValue> values;  // kValue, kName, kPath
  std::map<std::string, std::chrono::nanoseconds> durations;
  std::map<std::string, std::int64_t> sizes;
  std::map<std::string, StringList> lists;
  std::map<std::string, std::map<std::string, LocatedOption>> tables;

  bool Has(const std::string& key) const { return given.count(key) != 0; }
  const std::string& String(const std::string& key) const {
    return std::get<std::string>(values.at(key));
  }
  std::int64_t Int(const std::string& key) const {
    return std::get<std::int64_t>(values.at(key));
  }
};

class Builder {
 public:
  explicit Builder(std::string file) : file_(std::move(file)) {}

  Result<RunConfig> Build(const TomlValue& root);

 private:
  SourceLocation Where(const TomlValue& v) const {
    const auto loc = v.location();
    return {file_, static_cast<int>(loc.line()), static_cast<int>(loc.column())};
  }

  Status Error(const TomlValue& v, const std::string& path, const std::string& message) const {
    return ErrorAt(Where(v), path, message);
  }

  Status Expected(const TomlValue& v, const std::string& path, const std::string& what) const {
    return Error(v, path, "expected " + what + ", got " + Describe(v));
  }

  Status CheckTable(const TomlValue& v, const std::string& path) const {
    if (!v.is_table()) return Expected(v, path, "a table");
    return Status::OK();
  }

  Status CheckKeys(const TomlValue& table, const std::string& path,
                   const std::vector<std::string>& allowed) const;
  Status Missing(const TomlValue& table, const std::string& path, const std::string& key) const {
    return Error(table, path, "missing required key \"" + key + "\"");
  }

  // Read `v` (a table) against `spec`: unknown keys, missing required keys, then each given
  // key in file order. Records the table's and each key's location in `located`.
  // Keys in `read_elsewhere` are declared (so allowed) but read by the caller.
  // Keys in `nested` are not declared in `spec` (arrays of tables or numbers with a section of
  // their own in docs/config.md) but allowed, and read by the caller.
  Result<TableValues> ReadTable(const TomlValue& v, const std::string& path,
                                const TableSpec& spec, Located* located,
                                const std::set<std::string>& read_elsewhere = {},
                                const std::vector<std::string>& nested = {}) const;
  // Call `read(table, "name[i]")` for each table of the array of tables `v` ([[name]]).
  template <typename Read>
  Status ForEachTable(const TomlValue& v, const std::string& name, Read&& read) const {
    if (!v.is_array()) return Expected(v, name, "an array of tables ([[" + name + "]])");
    std::size_t index = 0;
    for (const auto& table : v.as_array()) {
      ARROW_RETURN_NOT_OK(read(table, name + "[" + std::to_string(index++) + "]"));
    }
    return Status::OK();
  }
  Status ReadKey(const OptionSpec& spec, const TomlValue& v, const std::string& path,
                 TableValues* out, Located* located) const;

  Result<std::string> ReadString(const TomlValue& v, const std::string& path) const;
  Result<std::chrono::nanoseconds> ReadDuration(const TomlValue& v, const std::string& path,
                                                bool allow_zero) const;
  Result<StringList> ReadStringList(const TomlValue& v, const std::string& path) const;
  Result<std::map<std::string, LocatedOption>> ReadOptions(const TomlValue& v,
                                                           const std::string& path) const;
  Status CheckNameSyntax(const TomlValue& where, const std::string& path,
                         const std::string& name) const;
  Status CheckNotReserved(const TomlValue& where, const std::string& path,
                          const std::string& name) const;

  Status ReadRun(const TomlValue& v, RunOptions* out) const;
  Status ReadMetadata(const TomlValue& v, RunOptions* out) const;
  Status ReadInstruments(const TomlValue& v, std::vector<InstrumentConfig>* out) const;
  Status ReadSubscriptions(const TomlValue& v, std::vector<SubscriptionConfig>* out) const;
  Status ReadStorage(const TomlValue& v, StorageConfig* out) const;
  Status ReadProcessors(const TomlValue& v, std::vector<ProcessorConfig>* out) const;
  Status ReadLimits(const TomlValue& v, LimitsConfig* out) const;
  Status ReadServer(const TomlValue& v, ServerConfig* out) const;
  Status ReadPlugins(const TomlValue& v, PluginsConfig* out) const;
  Status ReadSinks(const TomlValue& v, std::vector<SinkConfig>* out) const;
  Status ReadPlans(const TomlValue& v, std::vector<PlanConfig>* out) const;
  // Check a plan's kind-dependent keys and its references to instruments and streams.
  Status CheckPlan(const TomlValue& table, const std::string& path, const PlanConfig& plan,
                   const RunConfig& config, const std::set<std::string>& known) const;
  Status FlattenSettings(const TomlValue& v, const std::string& path, const std::string& prefix,
                         std::map<std::string, LocatedOption>* out) const;

  // Check that every listed stream exists ("*" alone means all).
  Status CheckStreamRefs(const StringList& streams, const std::string& path,
                         const std::set<std::string>& known) const;

  std::string file_;
};

Status Builder::CheckKeys(const TomlValue& table, const std::string& path,
                          const std::vector<std::string>& allowed) const {
  for (const auto& [key, child] : EntriesInFileOrder(table)) {
    if (std::find(allowed.begin(), allowed.end(), key) != allowed.end()) continue;
    std::string message = "unknown key";
    std::string best;
    std::size_t best_distance = 3;
    for (const auto& candidate : allowed) {
      const std::size_t d = EditDistance(key, candidate);
      if (d < best_distance) best_distance = d, best = candidate;
    }
    if (!best.empty()) message += " (did you mean \"" + best + "\"?)";
    std::vector<std::string> sorted = allowed;
    std::sort(sorted.begin(), sorted.end());
    message += "; allowed keys" + std::string(path.empty() ? " at the top level" : " here") +
               ": " + Join(sorted);
    return Error(*child, Path(path, key), message);
  }
  return Status::OK();
}

Result<TableValues> Builder::ReadTable(const TomlValue& v, const std::string& path,
                                       const TableSpec& spec, Located* located,
                                       const std::set<std::string>& read_elsewhere,
                                       const std::vector<std::string>& nested) const {
  ARROW_RETURN_NOT_OK(CheckTable(v, path));
  std::vector<std::string> names = nested;
  for (const auto& key : spec.keys) names.push_back(key.name);
  ARROW_RETURN_NOT_OK(CheckKeys(v, path, names));
  located->where = Where(v);
  for (const auto& key : spec.keys) {
    if (key.required && Find(v, key.name) == nullptr) return Missing(v, path, key.name);
  }
  TableValues out;
  for (const auto& [key, child] : EntriesInFileOrder(v)) {
    if (read_elsewhere.count(key) != 0) continue;
    if (std::find(nested.begin(), nested.end(), key) != nested.end()) {
      located->key_where[key] = Where(*child);
      continue;
    }
    ARROW_RETURN_NOT_OK(ReadKey(*FindKey(spec, key), *child, Path(path, key), &out, located));
  }
  return out;
}

Status Builder::ReadKey(const OptionSpec& spec, const TomlValue& v, const std::string& path,
                        TableValues* out, Located* located) const {
  out->given[spec.name] = &v;
  located->key_where[spec.name] = Where(v);
  switch (spec.kind) {
    case OptionKind::kValue: {
      OptionValue value;
      const std::string expected = DescribeExpected(spec);
      switch (spec.default_value.index()) {
        case 0:
          if (!v.is_boolean()) return Expected(v, path, expected);
          value = v.as_boolean();
          break;
        case 1:
          if (!v.is_integer()) return Expected(v, path, expected);
          value = static_cast<std::int64_t>(v.as_integer());
          break;
        case 2:
          if (v.is_integer()) {
            value = static_cast<double>(v.as_integer());
          } else if (v.is_floating()) {
            value = static_cast<double>(v.as_floating());
          } else {
            return Expected(v, path, expected);
          }
          break;
        default:
          if (!v.is_string()) return Expected(v, path, expected);
          value = v.as_string().str;
          if (!spec.choices.empty()) {
            if (Status st = CheckRange(spec, value); !st.ok()) return Expected(v, path, expected);
          }
          break;
      }
      if (Status st = CheckRange(spec, value); !st.ok()) return Error(v, path, st.message());
      out->values[spec.name] = std::move(value);
      return Status::OK();
    }
    case OptionKind::kName: {
      ARROW_ASSIGN_OR_RAISE(auto name, ReadString(v, path));
      ARROW_RETURN_NOT_OK(CheckNameSyntax(v, path, name));
      out->values[spec.name] = std::move(name);
      return Status::OK();
    }
    case OptionKind::kPath: {
      ARROW_ASSIGN_OR_RAISE(auto text, ReadString(v, path));
      if (text.empty()) return Expected(v, path, "a non-empty directory path");
      out->values[spec.name] = std::move(text);
      return Status::OK();
    }
    case OptionKind::kDuration: {
      const bool allow_zero = !(spec.min && spec.min_exclusive);
      ARROW_ASSIGN_OR_RAISE(out->durations[spec.name], ReadDuration(v, path, allow_zero));
      return Status::OK();
    }
    case OptionKind::kByteSize: {
      const std::string expected =
          "a byte size (an integer number of bytes, or a string such as \"256MiB\" with unit B, "
          "kB, MB, GB, TB, KiB, MiB, GiB or TiB)";
      Result<std::int64_t> bytes;
      if (v.is_string()) {
        bytes = ParseByteSize(v.as_string().str);
      } else if (v.is_integer()) {
        bytes = static_cast<std::int64_t>(v.as_integer());
      } else {
        return Expected(v, path, expected);
      }
      // A declared minimum of 0 allows 0 ("off"); otherwise a size is at least one byte.
      const bool allow_zero = spec.min && *spec.min == 0;
      if (!bytes.ok()) {
        if (allow_zero && v.is_string() && IsZeroByteSize(v.as_string().str)) {
          bytes = std::int64_t{0};
        } else {
          return Error(v, path, bytes.status().message());
        }
      }
      if (*bytes < (allow_zero ? 0 : 1)) return Expected(v, path, expected);
      out->sizes[spec.name] = *bytes;
      return Status::OK();
    }
    case OptionKind::kStringList: {
      ARROW_ASSIGN_OR_RAISE(auto list, ReadStringList(v, path));
      std::size_t index = 0;
      for (const auto& [item, where] : list) {
        const std::string item_key = spec.name + "[" + std::to_string(index) + "]";
        located->key_where[item_key] = Where(*where);
        if (!spec.choices.empty() &&
            std::find(spec.choices.begin(), spec.choices.end(), item) == spec.choices.end()) {
          return Expected(*where, path + "[" + std::to_string(index) + "]",
                          "one of " + QuotedList(spec.choices));
        }
        ++index;
      }
      out->lists[spec.name] = std::move(list);
      return Status::OK();
    }
    case OptionKind::kTable: {
      ARROW_ASSIGN_OR_RAISE(out->tables[spec.name], ReadOptions(v, path));
      return Status::OK();
    }
  }
  return Error(v, path, "unsupported key kind");
}

Result<std::string> Builder::ReadString(const TomlValue& v, const std::string& path) const {
  if (!v.is_string()) return Expected(v, path, "a string");
  return v.as_string().str;
}

Status Builder::CheckNameSyntax(const TomlValue& where, const std::string& path,
                                const std::string& name) const {
  if (name.size() > kMaxNameLength) {
    return Error(where, path,
                 "invalid name " + Quote(name) + ": a name must be at most " +
                     std::to_string(kMaxNameLength) + " characters (it becomes a file name), got " +
                     std::to_string(name.size()));
  }
  if (!name.empty() && name.front() == '.' && IsValidName("x" + name)) {
    return Error(where, path,
                 "invalid name " + Quote(name) +
                     ": a name must not start with '.' (it becomes a file or directory name)");
  }
  if (!IsValidName(name)) {
    return Error(where, path,
                 "invalid name " + Quote(name) +
                     ": a name must be non-empty and use only letters, digits, '_', '.' and '-'");
  }
  return Status::OK();
}

Status Builder::CheckNotReserved(const TomlValue& where, const std::string& path,
                                 const std::string& name) const {
  if (IsReservedStreamName(name)) {
    return Error(where, path,
                 "the stream name " + Quote(name) +
                     " is reserved (run.h5 keeps /events, /entry and /entry/metadata; a CSV "
                     "stream's sidecars are <stream>.units.csv and <stream>.metadata.csv); "
                     "choose another name");
  }
  return Status::OK();
}

Result<std::chrono::nanoseconds> Builder::ReadDuration(const TomlValue& v, const std::string& path,
                                                       bool allow_zero) const {
  const std::string expected =
      std::string("a duration (a string such as \"10s\" with unit ns, us, ms, s, min or h, or a "
                  "number of seconds") +
      (allow_zero ? ")" : " > 0)");
  Result<std::chrono::nanoseconds> result;
  if (v.is_string()) {
    result = ParseDuration(v.as_string().str);
  } else if (v.is_integer()) {
    result = SecondsToDuration(static_cast<double>(v.as_integer()));
  } else if (v.is_floating()) {
    result = SecondsToDuration(v.as_floating());
  } else {
    return Expected(v, path, expected);
  }
  if (!result.ok()) return Error(v, path, result.status().message());
  if (!allow_zero && result->count() == 0) return Expected(v, path, expected);
  return result;
}

Result<StringList> Builder::ReadStringList(const TomlValue& v, const std::string& path) const {
  if (!v.is_array()) return Expected(v, path, "an array of strings");
  StringList out;
  std::size_t index = 0;
  for (const auto& item : v.as_array()) {
    const std::string item_path = path + "[" + std::to_string(index++) + "]";
    ARROW_ASSIGN_OR_RAISE(auto text, ReadString(item, item_path));
    for (const auto& [seen, where] : out) {
      if (seen == text) return Error(item, item_path, Quote(text) + " is listed twice");
    }
    out.emplace_back(std::move(text), &item);
  }
  if (out.empty()) return Error(v, path, "expected a non-empty array of strings, got []");
  return out;
}

Result<std::map<std::string, LocatedOption>> Builder::ReadOptions(const TomlValue& v,
                                                                  const std::string& path) const {
  ARROW_RETURN_NOT_OK(CheckTable(v, path));
  std::map<std::string, LocatedOption> out;
  for (const auto& [key, child] : EntriesInFileOrder(v)) {
    const std::string key_path = Path(path, key);
    LocatedOption option;
    option.where = Where(*child);
    switch (child->type()) {
      case toml::value_t::boolean:
        option.value = child->as_boolean();
        break;
      case toml::value_t::integer:
        option.value = static_cast<std::int64_t>(child->as_integer());
        break;
      case toml::value_t::floating:
        option.value = static_cast<double>(child->as_floating());
        break;
      case toml::value_t::string:
        option.value = child->as_string().str;
        break;
      default:
        return Expected(*child, key_path, "a boolean, integer, number or string");
    }
    out.emplace(key, std::move(option));
  }
  return out;
}

Status Builder::ReadRun(const TomlValue& v, RunOptions* out) const {
  // [run.metadata] first: its values are checked with its own message (ReadTable would read
  // it as a table of driver-style options).
  if (const auto* x = v.is_table() ? Find(v, "metadata") : nullptr) {
    ARROW_RETURN_NOT_OK(ReadMetadata(*x, out));
  }
  ARROW_ASSIGN_OR_RAISE(const TableValues t, ReadTable(v, "run", *FindTable("run"), out));
  if (t.Has("duration")) out->duration = t.durations.at("duration");
  if (t.Has("output")) out->output_dir = t.String("output");
  if (t.Has("log_level")) out->log_level = t.String("log_level");
  if (t.Has("name")) out->name = t.String("name");
  if (t.Has("progress_interval")) out->progress_interval = t.durations.at("progress_interval");
  return Status::OK();
}

Status Builder::ReadMetadata(const TomlValue& v, RunOptions* out) const {
  const std::string path = "run.metadata";
  ARROW_RETURN_NOT_OK(CheckTable(v, path));
  for (const auto& [key, value] : EntriesInFileOrder(v)) {
    if (Status st = ValidateMetadataKey(key); !st.ok()) {
      return Error(*value, Path(path, key), st.message());
    }
    std::string text;
    if (value->is_string()) {
      text = value->as_string();
    } else if (value->is_boolean()) {
      text = value->as_boolean() ? "true" : "false";
    } else if (value->is_integer()) {
      text = std::to_string(value->as_integer());
    } else if (value->is_floating()) {
      char buf[64];
      auto r = std::to_chars(buf, buf + sizeof(buf), value->as_floating());
      text.assign(buf, r.ptr);
    } else {
      return Expected(*value, Path(path, key), "a string, number or boolean");
    }
    if (text.size() > 4096) {
      return Error(*value, Path(path, key), "value is longer than 4096 bytes");
    }
    out->metadata.emplace_back(key, std::move(text));
  }
  return Status::OK();
}

Status Builder::ReadInstruments(const TomlValue& v, std::vector<InstrumentConfig>* out) const {
  ARROW_RETURN_NOT_OK(CheckTable(v, "instruments"));
  const TableSpec& spec = *FindTable("instruments.<name>");
  for (const auto& [name, table] : EntriesInFileOrder(v)) {
    const std::string path = Path("instruments", name);
    ARROW_RETURN_NOT_OK(CheckTable(*table, path));
    ARROW_RETURN_NOT_OK(CheckNameSyntax(*table, path, name));
    ARROW_RETURN_NOT_OK(CheckNotReserved(*table, path, name));
    InstrumentConfig instrument;
    instrument.name = name;
    ARROW_ASSIGN_OR_RAISE(const TableValues t, ReadTable(*table, path, spec, &instrument));
    instrument.driver = t.String("driver");
    if (instrument.driver.empty()) {
      return Expected(*t.given.at("driver"), Path(path, "driver"), "a driver name");
    }
    if (t.Has("resource")) instrument.resource = t.String("resource");
    if (t.Has("options")) instrument.options = t.tables.at("options");
    if (t.Has("on_failure")) instrument.stop_run_on_failure = t.String("on_failure") == "stop_run";
    if (t.Has("reconnect_attempts")) {
      instrument.reconnect_attempts = static_cast<int>(t.Int("reconnect_attempts"));
    }
    if (t.Has("reconnect_backoff")) {
      instrument.reconnect_backoff = t.durations.at("reconnect_backoff");
    }
    out->push_back(std::move(instrument));
  }
  return Status::OK();
}

Status Builder::ReadSubscriptions(const TomlValue& v, std::vector<SubscriptionConfig>* out) const {
  const TableSpec& spec = *FindTable("subscriptions");
  return ForEachTable(v, "subscriptions", [&](const TomlValue& table, const std::string& path) {
    SubscriptionConfig sub;
    ARROW_ASSIGN_OR_RAISE(const TableValues t, ReadTable(table, path, spec, &sub));
    sub.name = t.String("name");
    for (const auto& other : *out) {
      if (other.name == sub.name) {
        return Error(*t.given.at("name"), Path(path, "name"),
                     "duplicate subscription name " + Quote(sub.name) + " (first defined at " +
                         other.where.ToString() + ")");
      }
    }
    // Stream references are checked in Build, once every stream is known.
    for (const auto& [stream, where] : t.lists.at("streams")) sub.streams.push_back(stream);
    if (t.Has("kind")) sub.kind = t.String("kind");
    if (t.Has("capacity")) sub.capacity = static_cast<std::size_t>(t.Int("capacity"));
    if (t.Has("policy")) sub.policy = *ParseOverflowPolicy(t.String("policy"));
    out->push_back(std::move(sub));
    return Status::OK();
  });
}

Status Builder::ReadStorage(const TomlValue& v, StorageConfig* out) const {
  ARROW_ASSIGN_OR_RAISE(const TableValues t, ReadTable(v, "storage", *FindTable("storage"), out));
  if (t.Has("formats")) {
    out->formats.clear();
    for (const auto& [format, where] : t.lists.at("formats")) out->formats.push_back(format);
  }
  // storage.streams is read in Build, once every stream is known.
  if (t.Has("flush_interval")) out->flush_interval = t.durations.at("flush_interval");
  if (t.Has("capacity")) out->capacity = static_cast<std::size_t>(t.Int("capacity"));
  if (t.Has("compression")) out->compression = t.String("compression");
  if (t.Has("parquet_segment")) out->parquet_segment = t.durations.at("parquet_segment");
  if (t.Has("min_free")) out->min_free_bytes = t.sizes.at("min_free");
  if (t.Has("disk_warn")) out->disk_warn = t.durations.at("disk_warn");
  if (t.Has("hdf5_roll_size")) out->hdf5_roll_bytes = t.sizes.at("hdf5_roll_size");
  if (t.Has("hdf5_roll_interval")) out->hdf5_roll_interval = t.durations.at("hdf5_roll_interval");
  return Status::OK();
}

Status Builder::ReadProcessors(const TomlValue& v, std::vector<ProcessorConfig>* out) const {
  const TableSpec& spec = *FindTable("processors");
  return ForEachTable(v, "processors", [&](const TomlValue& table, const std::string& path) {
    ProcessorConfig processor;
    ARROW_ASSIGN_OR_RAISE(const TableValues t, ReadTable(table, path, spec, &processor));
    processor.kind = t.String("kind");
    if (processor.kind.empty()) {
      return Expected(*t.given.at("kind"), Path(path, "kind"), "a processor kind");
    }
    processor.input = t.String("input");
    processor.output = t.String("output");
    ARROW_RETURN_NOT_OK(
        CheckNotReserved(*t.given.at("output"), Path(path, "output"), processor.output));
    if (t.Has("options")) processor.options = t.tables.at("options");
    out->push_back(std::move(processor));
    return Status::OK();
  });
}

Status Builder::ReadLimits(const TomlValue& v, LimitsConfig* out) const {
  ARROW_ASSIGN_OR_RAISE(const TableValues t, ReadTable(v, "limits", *FindTable("limits"), out));
  if (t.Has("batch_bytes")) out->batch_bytes = t.sizes.at("batch_bytes");
  if (t.Has("stream_queue_bytes")) out->stream_queue_bytes = t.sizes.at("stream_queue_bytes");
  return Status::OK();
}

Status Builder::ReadServer(const TomlValue& v, ServerConfig* out) const {
  ARROW_ASSIGN_OR_RAISE(const TableValues t, ReadTable(v, "server", *FindTable("server"), out));
  for (auto [key, field] : {std::pair{"listen", &out->listen},
                            {"token_file", &out->token_file},
                            {"tls_cert", &out->tls_cert},
                            {"tls_key", &out->tls_key},
                            {"http_listen", &out->http_listen}}) {
    if (!t.Has(key)) continue;
    *field = t.String(key);
    if (field->empty()) return Expected(*t.given.at(key), Path("server", key), "a non-empty string");
  }
  if (out->tls_cert.empty() != out->tls_key.empty()) {
    return Error(v, "server", "tls_cert and tls_key go together: give both or neither");
  }
  if (t.Has("replay_seconds")) out->replay_seconds = t.durations.at("replay_seconds");
  if (t.Has("replay_bytes")) out->replay_bytes = t.sizes.at("replay_bytes");
  if (t.Has("client_queue")) out->client_queue = static_cast<std::size_t>(t.Int("client_queue"));
  if (t.Has("client_queue_bytes")) out->client_queue_bytes = t.sizes.at("client_queue_bytes");
  return Status::OK();
}

Status Builder::ReadPlugins(const TomlValue& v, PluginsConfig* out) const {
  ARROW_ASSIGN_OR_RAISE(const TableValues t, ReadTable(v, "plugins", *FindTable("plugins"), out));
  if (!t.Has("paths")) return Status::OK();
  std::size_t index = 0;
  for (const auto& [path, where] : t.lists.at("paths")) {
    if (path.empty()) {
      return Expected(*where, "plugins.paths[" + std::to_string(index) + "]",
                      "a path to a plugin (a shared library) or a directory of plugins");
    }
    out->paths.push_back(path);
    ++index;
  }
  return Status::OK();
}

// [[sinks]]: every key is declared in ConfigTables() ("sinks"); `producer` is read here,
// flattened into client settings (`producer.linger.ms = 5` is the nested table
// {linger = {ms = 5}} in TOML) and kept as text for the client library to check.
Status Builder::ReadSinks(const TomlValue& v, std::vector<SinkConfig>* out) const {
  const TableSpec& spec = *FindTable("sinks");
  return ForEachTable(v, "sinks", [&](const TomlValue& table, const std::string& path) {
    SinkConfig sink;
    ARROW_ASSIGN_OR_RAISE(const TableValues t,
                          ReadTable(table, path, spec, &sink, /*read_elsewhere=*/{"producer"}));
    sink.kind = t.String("kind");
    sink.name = t.Has("name") ? t.String("name") : sink.kind;
    for (const auto& other : *out) {
      if (other.name == sink.name) {
        return Error(t.Has("name") ? *t.given.at("name") : table, Path(path, "name"),
                     "duplicate sink name " + Quote(sink.name) + " (first defined at " +
                         other.where.ToString() + "); give each sink a name");
      }
    }
    // Stream references are checked in Build, once every stream is known.
    if (t.Has("streams")) {
      sink.streams.clear();
      for (const auto& [stream, where] : t.lists.at("streams")) sink.streams.push_back(stream);
    }
    if (t.Has("policy")) sink.policy = *ParseOverflowPolicy(t.String("policy"));
    if (t.Has("capacity")) sink.capacity = static_cast<std::size_t>(t.Int("capacity"));
    sink.brokers = t.String("brokers");
    if (t.Has("topic")) sink.topic = t.String("topic");
    if (t.Has("node")) sink.node = t.String("node");
    if (t.Has("schema_topic")) sink.schema_topic = t.String("schema_topic");
    if (t.Has("flush_timeout")) sink.flush_timeout = t.durations.at("flush_timeout");
    if (const auto* x = Find(table, "producer")) {
      sink.key_where["producer"] = Where(*x);
      ARROW_RETURN_NOT_OK(CheckTable(*x, Path(path, "producer")));
      ARROW_RETURN_NOT_OK(FlattenSettings(*x, Path(path, "producer"), "", &sink.producer));
    }
    out->push_back(std::move(sink));
    return Status::OK();
  });
}

Status Builder::ReadPlans(const TomlValue& v, std::vector<PlanConfig>* out) const {
  const TableSpec& spec = *FindTable("plans");
  const TableSpec& axis_spec = *FindTable("plans.axes");
  const TableSpec& detector_spec = *FindTable("plans.detectors");
  return ForEachTable(v, "plans", [&](const TomlValue& table, const std::string& path) {
    PlanConfig plan;
    ARROW_ASSIGN_OR_RAISE(const TableValues t,
                          ReadTable(table, path, spec, &plan, {}, {"axes", "detectors"}));
    plan.name = t.String("name");
    for (const auto& other : *out) {
      if (other.name == plan.name) {
        return Error(*t.given.at("name"), Path(path, "name"),
                     "duplicate plan name " + Quote(plan.name) + " (first defined at " +
                         other.where.ToString() + ")");
      }
    }
    plan.kind = t.String("kind");
    if (t.Has("num")) plan.num = t.Int("num");
    if (t.Has("snake")) plan.snake = std::get<bool>(t.values.at("snake"));
    if (t.Has("settle")) plan.settle = t.durations.at("settle");
    if (t.Has("dwell")) plan.dwell = t.durations.at("dwell");
    if (t.Has("move_timeout")) plan.move_timeout = t.durations.at("move_timeout");
    if (const auto* axes = Find(table, "axes")) {
      ARROW_RETURN_NOT_OK(ForEachTable(
          *axes, Path(path, "axes"), [&](const TomlValue& at, const std::string& apath) {
            PlanAxisConfig axis;
            ARROW_ASSIGN_OR_RAISE(const TableValues a,
                                  ReadTable(at, apath, axis_spec, &axis, {}, {"positions"}));
            axis.motor = a.String("motor");
            if (a.Has("axis")) axis.axis = a.String("axis");
            auto number = [&](const char* key) {
              return std::get<double>(a.values.at(key));
            };
            if (a.Has("start")) axis.start = number("start");
            if (a.Has("stop")) axis.stop = number("stop");
            if (a.Has("num")) axis.num = a.Int("num");
            if (const auto* p = Find(at, "positions")) {
              const std::string ppath = Path(apath, "positions");
              if (!p->is_array() || p->as_array().empty()) {
                return Expected(*p, ppath, "a non-empty array of numbers");
              }
              std::size_t i = 0;
              for (const auto& item : p->as_array()) {
                const std::string ipath = ppath + "[" + std::to_string(i) + "]";
                axis.key_where["positions[" + std::to_string(i++) + "]"] = Where(item);
                double x;
                if (item.is_integer()) {
                  x = static_cast<double>(item.as_integer());
                } else if (item.is_floating()) {
                  x = item.as_floating();
                } else {
                  return Expected(item, ipath, "a number");
                }
                if (!std::isfinite(x)) return Expected(item, ipath, "a finite number");
                axis.positions.push_back(x);
              }
            }
            for (const char* key : {"start", "stop"}) {
              if (a.Has(key) && !std::isfinite(number(key))) {
                return Expected(*a.given.at(key), Path(apath, key), "a finite number");
              }
            }
            plan.axes.push_back(std::move(axis));
            return Status::OK();
          }));
    }
    if (const auto* detectors = Find(table, "detectors")) {
      ARROW_RETURN_NOT_OK(ForEachTable(
          *detectors, Path(path, "detectors"),
          [&](const TomlValue& dt, const std::string& dpath) {
            PlanDetectorConfig d;
            ARROW_ASSIGN_OR_RAISE(const TableValues x, ReadTable(dt, dpath, detector_spec, &d));
            for (auto [key, field] : {std::pair{"name", &d.name},
                                      {"stream", &d.stream},
                                      {"column", &d.column},
                                      {"reduce", &d.reduce},
                                      {"instrument", &d.instrument},
                                      {"query", &d.query}}) {
              if (x.Has(key)) *field = x.String(key);
            }
            const bool is_stream = x.Has("stream"), is_polled = x.Has("instrument");
            if (is_stream == is_polled) {
              return Error(dt, dpath,
                           "a detector is either a stream (stream = \"...\") or a polled "
                           "instrument (instrument = \"...\", query = \"...\"), exactly one");
            }
            if (is_polled && d.query.empty()) return Missing(dt, dpath, "query");
            for (const char* key : {"column", "reduce"}) {
              if (is_polled && x.Has(key)) {
                return Error(*x.given.at(key), Path(dpath, key),
                             "only a stream detector has a " + std::string(key));
              }
            }
            if (is_stream && x.Has("query")) {
              return Error(*x.given.at("query"), Path(dpath, "query"),
                           "only a polled detector (instrument = \"...\") has a query");
            }
            if (d.name.empty()) {
              d.name = is_stream ? d.stream + (d.column.empty() ? "" : "_" + d.column)
                                 : d.instrument;
            }
            for (const auto& other : plan.detectors) {
              if (other.name == d.name) {
                return Error(dt, dpath,
                             "duplicate detector name " + Quote(d.name) + " (first at " +
                                 other.where.ToString() + "); give it a name = \"...\"");
              }
            }
            plan.detectors.push_back(std::move(d));
            return Status::OK();
          }));
    }
    out->push_back(std::move(plan));
    return Status::OK();
  });
}

Status Builder::CheckPlan(const TomlValue& table, const std::string& path, const PlanConfig& plan,
                          const RunConfig& config, const std::set<std::string>& known) const {
  auto instrument = [&](const std::string& name) -> const InstrumentConfig* {
    for (const auto& i : config.instruments) {
      if (i.name == name) return &i;
    }
    return nullptr;
  };
  auto names = [&] {
    std::vector<std::string> out;
    for (const auto& i : config.instruments) out.push_back(i.name);
    return Join(out);
  };
  const auto* axes = Find(table, "axes");
  const bool has_axes = !plan.axes.empty();
  if (plan.kind == "count") {
    if (has_axes) {
      return Error(*axes, Path(path, "axes"), "a count plan moves no motor; remove its axes");
    }
  } else {
    if (!has_axes) {
      return Error(table, path,
                   "a " + plan.kind + " plan needs at least one [[plans.axes]] (motor, axis, " +
                       (plan.kind == "list" ? "positions)" : "start, stop, num)"));
    }
    if (plan.kind == "grid" && plan.axes.size() < 2) {
      return Error(*axes, Path(path, "axes"),
                   "a grid plan needs two or more axes (use a line plan for one)");
    }
    if (plan.key_where.count("num") != 0) {
      return ErrorAt(plan.At("num"), Path(path, "num"),
                     "only a count plan has a num; give each axis its own");
    }
  }
  if (plan.kind != "grid" && plan.snake) {
    return ErrorAt(plan.At("snake"), Path(path, "snake"), "only a grid plan snakes");
  }
  for (std::size_t i = 0; i < plan.axes.size(); ++i) {
    const PlanAxisConfig& a = plan.axes[i];
    const std::string apath = Path(path, "axes") + "[" + std::to_string(i) + "]";
    if (instrument(a.motor) == nullptr) {
      return ErrorAt(a.At("motor"), Path(apath, "motor"),
                     "unknown instrument " + Quote(a.motor) + " (instruments: " + names() + ")");
    }
    for (std::size_t j = 0; j < i; ++j) {
      if (plan.axes[j].motor == a.motor && plan.axes[j].axis == a.axis) {
        return ErrorAt(a.At("axis"), apath,
                       "motor " + Quote(a.motor) + " axis " + Quote(a.axis) +
                           " is scanned twice (first at " + plan.axes[j].where.ToString() + ")");
      }
    }
    const bool is_list = plan.kind == "list";
    for (const char* key : {"start", "stop", "num"}) {
      const bool given = a.key_where.count(key) != 0;
      if (is_list && given) {
        return ErrorAt(a.At(key), Path(apath, key),
                       "a list plan takes positions = [...], not start/stop/num");
      }
      if (!is_list && !given) {
        return ErrorAt(a.where, apath, "missing required key \"" + std::string(key) + "\"");
      }
    }
    if (is_list && a.positions.empty()) {
      return ErrorAt(a.where, apath, "missing required key \"positions\"");
    }
    if (!is_list && a.key_where.count("positions") != 0) {
      return ErrorAt(a.At("positions"), Path(apath, "positions"),
                     "only a list plan takes positions; a " + plan.kind +
                         " plan takes start, stop, num");
    }
    if (is_list && a.positions.size() != plan.axes[0].positions.size()) {
      return ErrorAt(a.At("positions"), Path(apath, "positions"),
                     "every axis of a list plan needs as many positions as the first (" +
                         std::to_string(plan.axes[0].positions.size()) + "), got " +
                         std::to_string(a.positions.size()));
    }
    if (plan.kind == "line" && a.num != plan.axes[0].num) {
      return ErrorAt(a.At("num"), Path(apath, "num"),
                     "every axis of a line plan moves together: expected num = " +
                         std::to_string(plan.axes[0].num) + " as the first axis, got " +
                         std::to_string(a.num));
    }
  }
  if (plan.kind == "grid") {
    std::int64_t points = 1;
    for (const auto& a : plan.axes) {
      if (points > kMaxPlanPoints / a.num) {
        return ErrorAt(a.At("num"), path,
                       "the grid has more than " + std::to_string(kMaxPlanPoints) + " points");
      }
      points *= a.num;
    }
  }
  if (plan.detectors.empty()) {
    return Error(table, path, "a plan needs at least one [[plans.detectors]] (stream or instrument)");
  }
  for (std::size_t i = 0; i < plan.detectors.size(); ++i) {
    const PlanDetectorConfig& d = plan.detectors[i];
    const std::string dpath = Path(path, "detectors") + "[" + std::to_string(i) + "]";
    if (!d.stream.empty() && known.count(d.stream) == 0) {
      return ErrorAt(d.At("stream"), Path(dpath, "stream"),
                     "unknown stream " + Quote(d.stream) + " (defined streams: " +
                         Join(std::vector<std::string>(known.begin(), known.end())) + ")");
    }
    if (!d.instrument.empty() && instrument(d.instrument) == nullptr) {
      return ErrorAt(d.At("instrument"), Path(dpath, "instrument"),
                     "unknown instrument " + Quote(d.instrument) + " (instruments: " + names() +
                         ")");
    }
  }
  return Status::OK();
}

Status Builder::FlattenSettings(const TomlValue& v, const std::string& path,
                                const std::string& prefix,
                                std::map<std::string, LocatedOption>* out) const {
  for (const auto& [key, child] : EntriesInFileOrder(v)) {
    const std::string name = prefix.empty() ? key : prefix + "." + key;
    const std::string key_path = Path(path, key);
    if (child->is_table()) {
      ARROW_RETURN_NOT_OK(FlattenSettings(*child, key_path, name, out));
      continue;
    }
    LocatedOption option;
    option.where = Where(*child);
    switch (child->type()) {
      case toml::value_t::boolean:
        option.value = std::string(child->as_boolean() ? "true" : "false");
        break;
      case toml::value_t::integer:
        option.value = std::to_string(child->as_integer());
        break;
      case toml::value_t::floating: {
        std::ostringstream text;
        text << child->as_floating();
        option.value = text.str();
        break;
      }
      case toml::value_t::string:
        option.value = child->as_string().str;
        break;
      default:
        return Expected(*child, key_path, "a boolean, integer, number or string");
    }
    if (!out->emplace(name, std::move(option)).second) {
      return Error(*child, key_path, "setting " + Quote(name) + " is given twice");
    }
  }
  return Status::OK();
}

Status Builder::CheckStreamRefs(const StringList& streams, const std::string& path,
                                const std::set<std::string>& known) const {
  std::size_t index = 0;
  for (const auto& [stream, where] : streams) {
    const std::string item_path = path + "[" + std::to_string(index++) + "]";
    if (stream == "*") {
      if (streams.size() > 1) {
        return Error(*where, item_path, "\"*\" (every stream) must be the only entry");
      }
      continue;
    }
    if (known.count(stream) == 0) {
      return Error(*where, item_path,
                   "unknown stream " + Quote(stream) + " (defined streams: " +
                       Join(std::vector<std::string>(known.begin(), known.end())) +
                       "; or \"*\" for every stream)");
    }
  }
  return Status::OK();
}

Result<RunConfig> Builder::Build(const TomlValue& root) {
  RunConfig config;
  {
    std::vector<std::string> tables;
    for (const auto& table : ConfigTables()) {
      const std::string name = table.name.substr(0, table.name.find('.'));
      if (std::find(tables.begin(), tables.end(), name) == tables.end()) tables.push_back(name);
    }
    ARROW_RETURN_NOT_OK(CheckKeys(root, "", tables));
  }
  config.run.where = SourceLocation{file_, 1, 1};
  config.limits.where = SourceLocation{file_, 1, 1};
  config.plugins.where = SourceLocation{file_, 1, 1};

  if (const auto* x = Find(root, "run")) ARROW_RETURN_NOT_OK(ReadRun(*x, &config.run));
  const auto* instruments = Find(root, "instruments");
  if (instruments != nullptr) {
    ARROW_RETURN_NOT_OK(ReadInstruments(*instruments, &config.instruments));
  }
  if (config.instruments.empty()) {
    return Error(instruments != nullptr ? *instruments : root,
                 instruments != nullptr ? "instruments" : "",
                 "a run needs at least one instrument; none is defined (add a table such as "
                 "[instruments.laser] with driver = \"sim.sine\")");
  }
  if (const auto* x = Find(root, "processors")) {
    ARROW_RETURN_NOT_OK(ReadProcessors(*x, &config.processors));
  }
  if (const auto* x = Find(root, "subscriptions")) {
    ARROW_RETURN_NOT_OK(ReadSubscriptions(*x, &config.subscriptions));
  }
  if (const auto* x = Find(root, "sinks")) ARROW_RETURN_NOT_OK(ReadSinks(*x, &config.sinks));
  if (const auto* x = Find(root, "storage")) {
    config.storage.emplace();
    ARROW_RETURN_NOT_OK(ReadStorage(*x, &*config.storage));
  }
  if (const auto* x = Find(root, "limits")) ARROW_RETURN_NOT_OK(ReadLimits(*x, &config.limits));
  if (const auto* x = Find(root, "server")) {
    config.server.emplace();
    ARROW_RETURN_NOT_OK(ReadServer(*x, &*config.server));
  }
  if (const auto* x = Find(root, "plugins")) {
    ARROW_RETURN_NOT_OK(ReadPlugins(*x, &config.plugins));
  }

  // Stream names: instruments, then processor outputs; all unique.
  std::map<std::string, SourceLocation> defined;
  for (const auto& instrument : config.instruments) defined[instrument.name] = instrument.where;
  const auto* processors = Find(root, "processors");
  for (std::size_t i = 0; i < config.processors.size(); ++i) {
    const auto& processor = config.processors[i];
    const auto& output = *Find(processors->as_array()[i], "output");
    auto [it, inserted] = defined.emplace(processor.output, Where(output));
    if (!inserted) {
      return Error(output, "processors[" + std::to_string(i) + "].output",
                   "duplicate stream name " + Quote(processor.output) + " (already defined at " +
                       it->second.ToString() + ")");
    }
  }
  std::set<std::string> known;
  for (const auto& [name, where] : defined) known.insert(name);

  // Processor inputs must exist and every chain must start at an instrument (no cycles).
  std::map<std::string, std::string> input_of;
  for (const auto& processor : config.processors) input_of[processor.output] = processor.input;
  for (std::size_t i = 0; i < config.processors.size(); ++i) {
    const auto& processor = config.processors[i];
    const auto& input = *Find(processors->as_array()[i], "input");
    const std::string path = "processors[" + std::to_string(i) + "].input";
    if (known.count(processor.input) == 0) {
      return Error(input, path,
                   "unknown stream " + Quote(processor.input) + " (defined streams: " +
                       Join(std::vector<std::string>(known.begin(), known.end())) + ")");
    }
    std::string stream = processor.input;
    for (std::size_t steps = 0; input_of.count(stream) != 0; ++steps) {
      if (steps > config.processors.size()) {
        return Error(input, path,
                     "processors form a cycle through " + Quote(processor.output) +
                         "; every chain must start at an instrument");
      }
      stream = input_of[stream];
    }
  }

  // Subscription and storage stream references.
  if (const auto* subs = Find(root, "subscriptions")) {
    for (std::size_t i = 0; i < subs->as_array().size(); ++i) {
      const std::string path = "subscriptions[" + std::to_string(i) + "].streams";
      ARROW_ASSIGN_OR_RAISE(auto streams,
                            ReadStringList(*Find(subs->as_array()[i], "streams"), path));
      ARROW_RETURN_NOT_OK(CheckStreamRefs(streams, path, known));
    }
  }
  if (const auto* sinks = Find(root, "sinks")) {
    for (std::size_t i = 0; i < sinks->as_array().size(); ++i) {
      const auto* streams = Find(sinks->as_array()[i], "streams");
      if (streams == nullptr) continue;
      const std::string path = "sinks[" + std::to_string(i) + "].streams";
      ARROW_ASSIGN_OR_RAISE(auto list, ReadStringList(*streams, path));
      ARROW_RETURN_NOT_OK(CheckStreamRefs(list, path, known));
    }
  }
  if (const auto* plans = Find(root, "plans")) {
    ARROW_RETURN_NOT_OK(ReadPlans(*plans, &config.plans));
    for (std::size_t i = 0; i < config.plans.size(); ++i) {
      ARROW_RETURN_NOT_OK(CheckPlan(plans->as_array()[i], "plans[" + std::to_string(i) + "]",
                                    config.plans[i], config, known));
    }
  }
  if (config.storage) {
    const auto* storage = Find(root, "storage");
    if (const auto* x = Find(*storage, "streams")) {
      ARROW_ASSIGN_OR_RAISE(auto streams, ReadStringList(*x, "storage.streams"));
      ARROW_RETURN_NOT_OK(CheckStreamRefs(streams, "storage.streams", known));
      config.storage->streams.clear();
      for (auto& [stream, where] : streams) config.storage->streams.push_back(stream);
    }
  }
  return config;
}

// The declaration of every table and key. Defaults are the values the structs in config.h
// start with (config_test holds them together); docs/config.md documents each key (the
// documentation test holds it to this list).
std::vector<TableSpec> MakeConfigTables() {
  const std::vector<std::string> kLogLevels = {"trace", "debug", "info", "warn", "error", "off"};
  auto duration = [](std::string name, std::string default_text, std::string description,
                     bool positive) {
    return OptionSpec{.name = std::move(name),
                      .default_value = std::move(default_text),
                      .description = std::move(description),
                      .min = positive ? std::optional<double>(0.0) : std::nullopt,
                      .min_exclusive = positive,
                      .kind = OptionKind::kDuration};
  };
  std::vector<TableSpec> tables;
  tables.push_back(
      {"run",
       false,
       {duration("duration", "0", "how long to acquire; 0 means until stopped", false),
        {.name = "output",
         .default_value = std::string("runs"),
         .description = "directory that receives <run-id>/",
         .kind = OptionKind::kPath},
        {.name = "log_level",
         .default_value = std::string("info"),
         .description = "log verbosity",
         .choices = kLogLevels},
        {.name = "name",
         .default_value = std::string(""),
         .description = "run name, used in the run id",
         .kind = OptionKind::kName},
        duration("progress_interval", "2s", "how often progress is reported", true),
        {.name = "metadata",
         .default_value = std::string("{}"),
         .description = "facts of the run (sample, operator, proposal, ...) written into every "
                        "file",
         .kind = OptionKind::kTable}}});
  tables.push_back(
      {"instruments.<name>",
       false,
       {{.name = "driver",
         .default_value = std::string(""),
         .description = "driver name",
         .required = true},
        {.name = "resource",
         .default_value = std::string(""),
         .description = "where the instrument is (the driver's default when absent)"},
        {.name = "options",
         .default_value = std::string("{}"),
         .description = "driver options",
         .kind = OptionKind::kTable},
        {.name = "on_failure",
         .default_value = std::string("continue"),
         .description = "what a failed instrument does to the run",
         .choices = {"continue", "stop_run"}},
        {.name = "reconnect_attempts",
         .default_value = std::int64_t{5},
         .description = "reconnect attempts after a read fails while acquiring",
         .min = 0,
         .max = 1000},
        duration("reconnect_backoff", "200ms",
                 "first wait before a reconnect attempt; doubles per attempt, up to 5 s", true)}});
  tables.push_back(
      {"subscriptions",
       true,
       {{.name = "name",
         .default_value = std::string(""),
         .description = "unique among subscriptions",
         .kind = OptionKind::kName,
         .required = true},
        {.name = "streams",
         .default_value = std::string("[]"),
         .description = "stream names, or [\"*\"] for every stream",
         .kind = OptionKind::kStringList,
         .required = true},
        {.name = "kind",
         .default_value = std::string("monitor"),
         .description = "what consumes the data",
         .choices = {"monitor"}},
        {.name = "capacity",
         .default_value = std::int64_t{16},
         .description = "queue length in packets",
         .min = 1,
         .max = static_cast<double>(kMaxCapacity)},
        {.name = "policy",
         .default_value = std::string("drop_oldest"),
         .description = "what a full queue does",
         .choices = {"block", "drop_oldest", "drop_newest"}}}});
  tables.push_back(
      {"storage",
       false,
       {{.name = "formats",
         .default_value = std::string("[\"hdf5\"]"),
         .description = "file formats written",
         .choices = {"hdf5", "arrow", "arrows", "parquet", "csv"},
         .kind = OptionKind::kStringList},
        {.name = "streams",
         .default_value = std::string("[\"*\"]"),
         .description = "streams to store, or [\"*\"]",
         .kind = OptionKind::kStringList},
        duration("flush_interval", "1s", "data older than this is on disk", true),
        {.name = "capacity",
         .default_value = std::int64_t{64},
         .description = "storage queue length in packets",
         .min = 1,
         .max = static_cast<double>(kMaxCapacity)},
        {.name = "compression",
         .default_value = std::string("none"),
         .description = "HDF5 dataset compression",
         .choices = {"none", "gzip"}},
        duration("parquet_segment", "60s", "length of each Parquet file", true),
        {.name = "min_free",
         .default_value = std::string("64MiB"),
         .description = "free space kept on the output's file system; the run refuses to start "
                        "with less and stops cleanly before going below it (0: off)",
         .min = 0,
         .kind = OptionKind::kByteSize},
        duration("disk_warn", "10min",
                 "warn when, at the current rate, min_free would be reached within this (0: off)",
                 false),
        {.name = "hdf5_roll_size",
         .default_value = std::string("0"),
         .description = "roll run.h5 into parts of about this size (0: off)",
         .min = 0,
         .kind = OptionKind::kByteSize},
        duration("hdf5_roll_interval", "0", "roll run.h5 into parts of this age (0: off)",
                 false)}});
  tables.push_back(
      {"processors",
       true,
       {{.name = "kind",
         .default_value = std::string(""),
         .description = "processor kind",
         .required = true},
        {.name = "input",
         .default_value = std::string(""),
         .description = "the stream it reads",
         .kind = OptionKind::kName,
         .required = true},
        {.name = "output",
         .default_value = std::string(""),
         .description = "the stream it makes",
         .kind = OptionKind::kName,
         .required = true},
        {.name = "options",
         .default_value = std::string("{}"),
         .description = "processor options",
         .kind = OptionKind::kTable}}});
  tables.push_back(
      {"sinks",
       true,
       {{.name = "kind",
         .default_value = std::string(""),
         .description = "where the streams go",
         .choices = {"kafka"},
         .required = true},
        {.name = "name",
         .default_value = std::string(""),
         .description = "unique among sinks (default: the kind)",
         .kind = OptionKind::kName},
        {.name = "streams",
         .default_value = std::string("[\"*\"]"),
         .description = "streams to send, or [\"*\"] (derived streams included)",
         .kind = OptionKind::kStringList},
        {.name = "policy",
         .default_value = std::string("block"),
         .description = "what the sink's full queue does (block: back-pressure to the sources)",
         .choices = {"block", "drop_oldest", "drop_newest"}},
        {.name = "capacity",
         .default_value = std::int64_t{64},
         .description = "the sink's queue length in packets",
         .min = 1,
         .max = static_cast<double>(kMaxCapacity)},
        {.name = "brokers",
         .default_value = std::string(""),
         .description = "bootstrap servers, \"host:port,host:port\"",
         .required = true},
        {.name = "topic",
         .default_value = std::string("arrowdaq.<stream>"),
         .description = "topic of each stream; <stream> and <node> are replaced"},
        {.name = "node",
         .default_value = std::string(""),
         .description = "this node's name in the message headers (default: the host name)"},
        {.name = "schema_topic",
         .default_value = std::string("arrowdaq.schemas"),
         .description = "topic receiving each stream's schema (key <node>/<stream>); \"\" for "
                        "none"},
        duration("flush_timeout", "30s",
                 "at the end, how long to wait for the cluster before counting what is left as "
                 "not delivered",
                 false),
        {.name = "producer",
         .default_value = std::string("{}"),
         .description = "librdkafka producer settings, passed through (checked by librdkafka)",
         .kind = OptionKind::kTable}}});
  tables.push_back(
      {"limits",
       false,
       {{.name = "batch_bytes",
         .default_value = std::string("256MiB"),
         .description = "most bytes one batch of one stream may hold",
         .kind = OptionKind::kByteSize},
        {.name = "stream_queue_bytes",
         .default_value = std::string("4GiB"),
         .description = "most bytes of one stream that may wait in queues at once",
         .kind = OptionKind::kByteSize}}});
  tables.push_back(
      {"server",
       false,
       {{.name = "listen",
         .default_value = std::string("grpc://127.0.0.1:8815"),
         .description = "where the Flight server listens (grpc://HOST:PORT, grpc+tls://, "
                        "grpc+unix:///path); beyond loopback only with a token"},
        {.name = "token_file",
         .default_value = std::string(""),
         .description = "file holding the bearer token every call must carry",
         .kind = OptionKind::kPath},
        {.name = "tls_cert",
         .default_value = std::string(""),
         .description = "PEM certificate chain: serve grpc+tls:// (with tls_key)",
         .kind = OptionKind::kPath},
        {.name = "tls_key",
         .default_value = std::string(""),
         .description = "PEM private key (with tls_cert)",
         .kind = OptionKind::kPath},
        duration("replay_seconds", "10s",
                 "sample time each stream's replay ring keeps (0: no replay)", false),
        {.name = "replay_bytes",
         .default_value = std::string("64MiB"),
         .description = "Arrow buffer bytes each stream's replay ring keeps at most",
         .min = 0,
         .kind = OptionKind::kByteSize},
        {.name = "client_queue",
         .default_value = std::int64_t{64},
         .description = "live packets queued per streaming client before its oldest is dropped",
         .min = 1,
         .max = static_cast<double>(kMaxClientQueue)},
        {.name = "client_queue_bytes",
         .default_value = std::string("64MiB"),
         .description = "Arrow buffer bytes queued per streaming client at most",
         .min = 1,
         .kind = OptionKind::kByteSize},
        {.name = "http_listen",
         .default_value = std::string("http://127.0.0.1:8080"),
         .description = "where the dashboard listens (http://HOST:PORT, port 0: any free "
                        "port; \"off\": none); beyond loopback only with a token"}}});
  tables.push_back(
      {"plugins",
       false,
       {{.name = "paths",
         .default_value = std::string("[]"),
         .description = "driver plugins to load: shared libraries, or directories of them "
                        "(relative to the config file's directory)",
         .kind = OptionKind::kStringList}}});
  tables.push_back(
      {"plans",
       true,
       {{.name = "name",
         .default_value = std::string(""),
         .description = "plan name, unique among plans (arrowdaq scan --plan NAME)",
         .kind = OptionKind::kName,
         .required = true},
        {.name = "kind",
         .default_value = std::string(""),
         .description = "what the plan does",
         .choices = {"count", "list", "line", "grid"},
         .required = true},
        {.name = "num",
         .default_value = std::int64_t{1},
         .description = "count plans: number of points",
         .min = 1,
         .max = static_cast<double>(kMaxPlanPoints)},
        {.name = "snake",
         .default_value = false,
         .description = "grid plans: every other pass of a faster axis runs backwards"},
        duration("settle", "0", "wait after the motors stop, before the dwell window", false),
        duration("dwell", "0", "the window over the detector streams at each point", false),
        duration("move_timeout", "0",
                 "0: no limit; else axes still moving that long after a point's moves were sent "
                 "are stopped and the scan fails",
                 false)}});
  tables.push_back(
      {"plans.axes",
       true,
       {{.name = "motor",
         .default_value = std::string(""),
         .description = "instrument whose driver moves (sim.motor, newport.esp300)",
         .kind = OptionKind::kName,
         .required = true},
        {.name = "axis",
         .default_value = std::string(""),
         .description = "the driver's axis name (its first axis when absent)"},
        {.name = "start", .default_value = 0.0, .description = "line, grid: first position"},
        {.name = "stop", .default_value = 0.0, .description = "line, grid: last position"},
        {.name = "num",
         .default_value = std::int64_t{1},
         .description = "line, grid: points along the axis",
         .min = 1,
         .max = static_cast<double>(kMaxPlanPoints)}}});
  tables.push_back(
      {"plans.detectors",
       true,
       {{.name = "name",
         .default_value = std::string(""),
         .description = "data key in the documents and /scan",
         .kind = OptionKind::kName},
        {.name = "stream",
         .default_value = std::string(""),
         .description = "a stream detector: the stream",
         .kind = OptionKind::kName},
        {.name = "column",
         .default_value = std::string(""),
         .description = "the stream's column (its first data column when absent)"},
        {.name = "reduce",
         .default_value = std::string("mean"),
         .description = "how the window's samples become the point's value",
         .choices = {"mean", "std", "min", "max", "count"}},
        {.name = "instrument",
         .default_value = std::string(""),
         .description = "a polled detector: the instrument",
         .kind = OptionKind::kName},
        {.name = "query",
         .default_value = std::string(""),
         .description = "a polled detector: the command sent at each point"}}});
  return tables;
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Public API

std::string KeyPath(const std::string& parent, std::string_view key) { return Path(parent, key); }

std::vector<std::pair<std::string, SourceLocation>> RunConfig::PluginPaths() const {
  std::vector<std::pair<std::string, SourceLocation>> out;
  const std::filesystem::path base = std::filesystem::path(path).parent_path();
  for (std::size_t i = 0; i < plugins.paths.size(); ++i) {
    const std::filesystem::path p(plugins.paths[i]);
    out.emplace_back(p.is_absolute() ? p.string() : (base / p).string(),
                     plugins.At("paths[" + std::to_string(i) + "]"));
  }
  return out;
}

const std::vector<TableSpec>& ConfigTables() {
  static const auto* tables = new std::vector<TableSpec>(MakeConfigTables());
  return *tables;
}

const TableSpec* FindTable(std::string_view name) {
  for (const auto& table : ConfigTables()) {
    if (table.name == name) return &table;
  }
  return nullptr;
}

std::string SourceLocation::ToString() const {
  if (line == 0) return file;
  return file + ":" + std::to_string(line) + ":" + std::to_string(column);
}

SourceLocation Located::At(const std::string& key) const {
  auto it = key_where.find(key);
  return it == key_where.end() ? where : it->second;
}

Status ErrorAt(const SourceLocation& where, const std::string& key, const std::string& message) {
  if (key.empty() || where.line == 0) return Status::Invalid(where.ToString(), ": ", message);
  return Status::Invalid(where.ToString(), ": ", key, ": ", message);
}

OptionMap PlainOptions(const std::map<std::string, LocatedOption>& options) {
  OptionMap out;
  for (const auto& [key, option] : options) out.emplace(key, option.value);
  return out;
}

bool IsValidName(std::string_view name) {
  if (name.empty() || name.size() > kMaxNameLength || name.front() == '.') return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
           c == '_' || c == '.' || c == '-';
  });
}

bool IsReservedStreamName(std::string_view name) {
  // run.h5: /events, /entry (NeXus), /entry/metadata; CSV: <stream>.units.csv and
  // <stream>.metadata.csv are a stream's sidecars.
  return name == "events" || name == "entry" || name == "metadata" || name.ends_with(".units") ||
         name.ends_with(".metadata");
}

bool IsValidStreamName(std::string_view name) {
  return IsValidName(name) && !IsReservedStreamName(name);
}

Status ApplyOverrides(const RunOverrides& overrides, RunConfig* config) {
  RunOptions& run = config->run;
  if (overrides.duration) {
    auto d = ParseDuration(*overrides.duration);
    if (!d.ok()) return Status::Invalid("--duration: ", d.status().message());
    run.duration = *d;
    run.key_where["duration"] = SourceLocation{"--duration", 0, 0};
  }
  if (overrides.output) {
    if (overrides.output->empty()) {
      return Status::Invalid("--output: expected a non-empty directory path, got \"\"");
    }
    run.output_dir = *overrides.output;
    run.key_where["output"] = SourceLocation{"--output", 0, 0};
  }
  if (overrides.log_level) {
    const OptionSpec* spec = FindKey(*FindTable("run"), "log_level");
    if (Status st = CheckRange(*spec, *overrides.log_level); !st.ok()) {
      return Status::Invalid("--log-level: ", st.message());
    }
    run.log_level = *overrides.log_level;
    run.key_where["log_level"] = SourceLocation{"--log-level", 0, 0};
  }
  return Status::OK();
}

Result<RunConfig> ParseConfig(std::string_view text, const std::string& filename) {
  ARROW_RETURN_NOT_OK(PreScan(text, filename));
  try {
    std::istringstream stream{std::string(text)};
    const TomlValue root = toml::parse(stream, filename);
    ARROW_ASSIGN_OR_RAISE(RunConfig config, Builder(filename).Build(root));
    config.path = filename;
    config.text = std::string(text);
    return config;
  } catch (const toml::syntax_error& e) {
    return ConvertSyntaxError(e, filename);
  } catch (const toml::exception& e) {
    return ErrorAt({filename, static_cast<int>(e.location().line()),
                    static_cast<int>(e.location().column())},
                   "", std::string("invalid TOML: ") + e.what());
  } catch (const std::exception& e) {
    return ErrorAt({filename, 1, 1}, "", std::string("cannot parse config: ") + e.what());
  } catch (...) {
    return ErrorAt({filename, 1, 1}, "", "cannot parse config: unknown error");
  }
}

Result<RunConfig> LoadConfigFile(const std::string& path) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) {
    return Status::Invalid(path, ": cannot read config file: it is a directory");
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return Status::Invalid(path, ": cannot read config file: ",
                           std::error_code(errno, std::generic_category()).message());
  }
  std::string text;
  char buffer[1 << 16];
  while (in.read(buffer, sizeof(buffer)) || in.gcount() > 0) {
    text.append(buffer, static_cast<std::size_t>(in.gcount()));
    if (text.size() > kMaxFileBytes) break;  // PreScan reports it
  }
  if (in.bad()) return Status::Invalid(path, ": cannot read config file: read error");
  return ParseConfig(text, path);
}

Status ValidateMetadataKey(std::string_view key) {
  if (key.empty() || key.size() > 64) {
    return Status::Invalid("metadata key '", key.substr(0, 64), "' must be 1 to 64 characters");
  }
  if (key.front() == '.') return Status::Invalid("metadata key '", key, "' must not start with '.'");
  for (char c : key) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '_' || c == '.' || c == '-';
    if (!ok) {
      return Status::Invalid("metadata key '", key,
                             "' may only hold letters, digits, '_', '.' and '-'");
    }
  }
  return Status::OK();
}

Result<std::pair<std::string, std::string>> ParseMetadataArgument(std::string_view text) {
  const auto eq = text.find('=');
  if (eq == std::string_view::npos) {
    return Status::Invalid("expected key=value, got '", text, "'");
  }
  std::string key(text.substr(0, eq));
  ARROW_RETURN_NOT_OK(ValidateMetadataKey(key));
  if (text.size() - eq - 1 > 4096) {
    return Status::Invalid("value of '", key, "' is longer than 4096 bytes");
  }
  return std::make_pair(std::move(key), std::string(text.substr(eq + 1)));
}

void SetMetadata(std::vector<std::pair<std::string, std::string>>* metadata,
                 const std::string& key, const std::string& value) {
  for (auto& [k, v] : *metadata) {
    if (k == key) {
      v = value;
      return;
    }
  }
  metadata->emplace_back(key, value);
}

}  // namespace arrowdaq::config
