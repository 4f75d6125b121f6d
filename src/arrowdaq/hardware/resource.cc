#include "arrowdaq/hardware/resource.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <vector>

namespace arrowdaq::hardware {

namespace {

constexpr char kTcpipForm[] = "TCPIP[board]::<host>::<port>::SOCKET";
constexpr char kAsrlForm[] = "ASRL<device>::INSTR";
constexpr char kSimForm[] = "SIM::<model>";

bool IEquals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::toupper(static_cast<unsigned char>(x)) ==
                  std::toupper(static_cast<unsigned char>(y));
         });
}

bool IStartsWith(std::string_view text, std::string_view prefix) {
  return text.size() >= prefix.size() && IEquals(text.substr(0, prefix.size()), prefix);
}

bool AllDigits(std::string_view s) {
  return std::all_of(s.begin(), s.end(),
                     [](char ch) { return std::isdigit(static_cast<unsigned char>(ch)) != 0; });
}

/// Split on "::" (the VISA separator).
std::vector<std::string_view> SplitParts(std::string_view text) {
  std::vector<std::string_view> parts;
  std::size_t start = 0;
  while (true) {
    const std::size_t pos = text.find("::", start);
    if (pos == std::string_view::npos) {
      parts.push_back(text.substr(start));
      return parts;
    }
    parts.push_back(text.substr(start, pos - start));
    start = pos + 2;
  }
}

Status Bad(std::string_view text, std::string_view why) {
  return Status::Invalid("invalid resource '", text, "': ", why);
}

Result<Resource> ParseTcpip(std::string_view text, const std::vector<std::string_view>& parts) {
  const std::string expected = std::string("expected ") + kTcpipForm;
  // parts[0] is "TCPIP" or "TCPIP<board>".
  if (!AllDigits(parts[0].substr(5))) return Bad(text, expected);
  if (parts.size() == 3 && IEquals(parts[2], "INSTR")) {
    return Bad(text, "VXI-11/HiSLIP (TCPIP::<host>::INSTR) is not supported; " + expected);
  }
  if (parts.size() != 4 || !IEquals(parts[3], "SOCKET")) return Bad(text, expected);
  if (parts[1].empty()) return Bad(text, "empty host; " + expected);
  const std::string_view port_text = parts[2];
  unsigned long port = 0;
  const auto [end, ec] =
      std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
  if (port_text.empty() || ec != std::errc() || end != port_text.data() + port_text.size() ||
      port < 1 || port > 65535) {
    return Bad(text, "port '" + std::string(port_text) + "' is not an integer in 1..65535");
  }
  Resource r;
  r.kind = ResourceKind::kTcpipSocket;
  r.host = std::string(parts[1]);
  r.port = static_cast<std::uint16_t>(port);
  return r;
}

}  // namespace

std::string_view ToString(ResourceKind kind) {
  switch (kind) {
    case ResourceKind::kTcpipSocket: return "TCPIP_SOCKET";
    case ResourceKind::kAsrl: return "ASRL";
    case ResourceKind::kSim: return "SIM";
  }
  return "?";
}

std::string Resource::ToString() const {
  switch (kind) {
    case ResourceKind::kTcpipSocket:
      return "TCPIP::" + host + "::" + std::to_string(port) + "::SOCKET";
    case ResourceKind::kAsrl: return "ASRL" + device + "::INSTR";
    case ResourceKind::kSim: return "SIM::" + model;
  }
  return "";
}

Result<Resource> ParseResource(std::string_view text) {
  if (text.empty()) {
    return Status::Invalid("invalid resource '': empty (expected ", kTcpipForm, ", ", kAsrlForm,
                           " or ", kSimForm, ")");
  }
  if (std::isspace(static_cast<unsigned char>(text.front())) ||
      std::isspace(static_cast<unsigned char>(text.back()))) {
    return Bad(text, "leading or trailing blanks");
  }
  if (IStartsWith(text, "SIM::")) {
    Resource r;
    r.kind = ResourceKind::kSim;
    r.model = std::string(text.substr(5));
    if (r.model.empty()) return Bad(text, std::string("empty model; expected ") + kSimForm);
    return r;
  }
  const std::vector<std::string_view> parts = SplitParts(text);
  if (IStartsWith(parts[0], "TCPIP")) return ParseTcpip(text, parts);
  if (IStartsWith(parts[0], "ASRL")) {
    if (parts.size() != 2 || !IEquals(parts[1], "INSTR")) {
      return Bad(text, std::string("expected ") + kAsrlForm);
    }
    Resource r;
    r.kind = ResourceKind::kAsrl;
    r.device = std::string(parts[0].substr(4));
    if (r.device.empty()) return Bad(text, std::string("empty device; expected ") + kAsrlForm);
    return r;
  }
  return Bad(text, std::string("unknown interface '") + std::string(parts[0]) + "' (expected " +
                       kTcpipForm + ", " + kAsrlForm + " or " + kSimForm + ")");
}

}  // namespace arrowdaq::hardware
