#include "arrowdaq/hardware/ieee488.h"

#include <charconv>
#include <cstdio>

namespace arrowdaq::hardware {

namespace {

bool IsDigit(char ch) { return ch >= '0' && ch <= '9'; }
bool IsBlank(char ch) { return ch == ' ' || ch == '\t'; }

std::string_view Trim(std::string_view s) {
  while (!s.empty() && IsBlank(s.front())) s.remove_prefix(1);
  while (!s.empty() && IsBlank(s.back())) s.remove_suffix(1);
  return s;
}

std::string_view Around(std::string_view bytes, std::size_t offset) {
  return bytes.substr(offset < bytes.size() ? offset : bytes.size(), 16);
}

}  // namespace

std::string EscapeBytes(std::string_view bytes, std::size_t max_bytes) {
  std::string out;
  const std::size_t n = bytes.size() < max_bytes ? bytes.size() : max_bytes;
  out.reserve(n + 8);
  for (std::size_t i = 0; i < n; ++i) {
    const auto ch = static_cast<unsigned char>(bytes[i]);
    switch (ch) {
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      case '\\': out += "\\\\"; break;
      case '\'': out += "\\'"; break;
      default:
        if (ch >= 0x20 && ch < 0x7f) {
          out += static_cast<char>(ch);
        } else {
          char hex[5];
          std::snprintf(hex, sizeof(hex), "\\x%02X", ch);
          out += hex;
        }
    }
  }
  if (bytes.size() > n) out += "...(+" + std::to_string(bytes.size() - n) + " bytes)";
  return out;
}

Result<Ieee488Header> ParseIeee488Header(std::string_view bytes) {
  if (bytes.empty()) return Status::Invalid("IEEE 488.2 block truncated: no bytes");
  if (bytes[0] != '#') {
    return Status::Invalid("IEEE 488.2 block: expected '#' at offset 0, got '",
                           EscapeBytes(Around(bytes, 0)), "'");
  }
  if (bytes.size() < 2) return Status::Invalid("IEEE 488.2 block truncated after '#'");
  if (!IsDigit(bytes[1])) {
    return Status::Invalid("IEEE 488.2 block: expected a digit (length of the length) at offset "
                           "1, got '", EscapeBytes(Around(bytes, 1)), "'");
  }
  const int digits = bytes[1] - '0';
  Ieee488Header header;
  if (digits == 0) {
    header.header_length = 2;
    header.payload_length = -1;
    return header;
  }
  const std::size_t end = 2 + static_cast<std::size_t>(digits);
  if (bytes.size() < end) {
    return Status::Invalid("IEEE 488.2 block truncated: header '#", digits, "' needs ", digits,
                           " length digits, got '", EscapeBytes(bytes.substr(2)), "'");
  }
  std::int64_t length = 0;
  for (std::size_t i = 2; i < end; ++i) {
    if (!IsDigit(bytes[i])) {
      return Status::Invalid("IEEE 488.2 block: expected a length digit at offset ", i, ", got '",
                             EscapeBytes(Around(bytes, i)), "'");
    }
    length = length * 10 + (bytes[i] - '0');  // at most 9 digits: no overflow
  }
  header.header_length = end;
  header.payload_length = length;
  return header;
}

Result<Ieee488Block> ParseIeee488Block(std::string_view bytes) {
  ARROW_ASSIGN_OR_RAISE(const Ieee488Header header, ParseIeee488Header(bytes));
  const std::string_view rest = bytes.substr(header.header_length);
  Ieee488Block block;
  if (header.payload_length < 0) {
    const std::size_t nl = rest.find('\n');
    if (nl == std::string_view::npos) {
      return Status::Invalid("IEEE 488.2 indefinite-length block truncated: no closing '\\n' in ",
                             rest.size(), " bytes after '#0'");
    }
    block.payload = rest.substr(0, nl);
    block.consumed = header.header_length + nl + 1;
    return block;
  }
  const auto length = static_cast<std::size_t>(header.payload_length);
  if (rest.size() < length) {
    return Status::Invalid("IEEE 488.2 block truncated: header at offset 0 announces ", length,
                           " payload bytes, only ", rest.size(), " follow");
  }
  block.payload = rest.substr(0, length);
  block.consumed = header.header_length + length;
  return block;
}

Result<double> ParseNumber(std::string_view text) {
  std::string_view s = Trim(text);
  if (s.empty()) return Status::Invalid("expected a number, got an empty string");
  std::string_view body = s;
  const bool had_plus = body.front() == '+';
  if (had_plus) body.remove_prefix(1);
  // from_chars accepts a leading '-' only; a second sign ("+-1", "++1") is not a number.
  if (had_plus && !body.empty() && (body.front() == '+' || body.front() == '-')) {
    return Status::Invalid("expected a number, got '", EscapeBytes(s), "'");
  }
  double value = 0;
  const char* first = body.data();
  const char* last = body.data() + body.size();
  const auto [ptr, ec] = std::from_chars(first, last, value, std::chars_format::general);
  if (ec == std::errc::result_out_of_range) {
    return Status::Invalid("number out of the float64 range: '", EscapeBytes(s), "'");
  }
  if (ec != std::errc() || ptr != last) {
    return Status::Invalid("expected a number, got '", EscapeBytes(s), "'");
  }
  return value;
}

Result<std::vector<double>> ParseNumberList(std::string_view text) {
  std::string_view s = text;
  if (!s.empty() && s.back() == '\n') s.remove_suffix(1);
  if (!s.empty() && s.back() == '\r') s.remove_suffix(1);
  if (Trim(s).empty()) {
    return Status::Invalid("expected a comma-separated number list, got '", EscapeBytes(text),
                           "'");
  }
  std::vector<double> out;
  std::size_t offset = 0;
  std::size_t index = 0;
  while (true) {
    const std::size_t comma = s.find(',', offset);
    const std::size_t end = comma == std::string_view::npos ? s.size() : comma;
    const std::string_view item = s.substr(offset, end - offset);
    auto value = ParseNumber(item);
    if (!value.ok()) {
      return Status::Invalid("number list item ", index, " at offset ", offset, ": ",
                             value.status().message());
    }
    out.push_back(*value);
    if (comma == std::string_view::npos) break;
    offset = comma + 1;
    ++index;
  }
  return out;
}

}  // namespace arrowdaq::hardware
