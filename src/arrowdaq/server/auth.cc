#include "arrowdaq/server/auth.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <cctype>
#include <fstream>
#include <sstream>

#include <arrow/util/uri.h>

namespace arrowdaq::server {

Result<std::string> ReadTokenFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::Invalid("token file '", path, "': cannot be read");
  std::string text;
  char buf[4096];
  while (in.read(buf, sizeof buf) || in.gcount() > 0) {
    text.append(buf, static_cast<std::size_t>(in.gcount()));
    if (text.size() > 2 * kMaxTokenBytes) {
      return Status::Invalid("token file '", path, "': longer than ", kMaxTokenBytes, " bytes");
    }
  }
  const auto first = text.find_first_not_of(" \t\r\n");
  const auto last = text.find_last_not_of(" \t\r\n");
  const std::string token = first == std::string::npos ? "" : text.substr(first, last - first + 1);
  if (token.size() < kMinTokenBytes) {
    return Status::Invalid("token file '", path, "': the token must be at least ",
                           kMinTokenBytes, " characters, got ", token.size());
  }
  if (token.size() > kMaxTokenBytes) {
    return Status::Invalid("token file '", path, "': longer than ", kMaxTokenBytes, " bytes");
  }
  for (std::size_t i = 0; i < token.size(); ++i) {
    const auto c = static_cast<unsigned char>(token[i]);
    if (c <= 0x20 || c >= 0x7f) {
      return Status::Invalid("token file '", path,
                             "': the token must be printable ASCII without spaces (one line); "
                             "byte ", static_cast<int>(c), " at ", i + 1);
    }
  }
  return token;
}

bool ConstantTimeEquals(std::string_view expected, std::string_view given) {
  // Every byte of `expected` is compared, whatever `given` holds; the length difference is
  // folded in, so a shorter or longer guess fails without an early exit.
  unsigned diff = static_cast<unsigned>(expected.size() != given.size());
  for (std::size_t i = 0; i < expected.size(); ++i) {
    const unsigned char g = i < given.size() ? static_cast<unsigned char>(given[i]) : 0;
    diff |= static_cast<unsigned>(static_cast<unsigned char>(expected[i]) ^ g);
  }
  return diff == 0;
}

bool BearerMatches(std::string_view header, std::string_view token) {
  constexpr std::string_view kScheme = "bearer ";
  if (header.size() < kScheme.size()) return false;
  for (std::size_t i = 0; i < kScheme.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(header[i])) != kScheme[i]) return false;
  }
  return ConstantTimeEquals(token, header.substr(kScheme.size()));
}

bool IsLoopbackHost(std::string_view host) {
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  if (host == "localhost") return true;
  const std::string h(host);
  in_addr v4{};
  if (inet_pton(AF_INET, h.c_str(), &v4) == 1) {
    return (ntohl(v4.s_addr) >> 24) == 127;
  }
  in6_addr v6{};
  if (inet_pton(AF_INET6, h.c_str(), &v6) == 1) {
    if (IN6_IS_ADDR_LOOPBACK(&v6)) return true;
    if (IN6_IS_ADDR_V4MAPPED(&v6)) return v6.s6_addr[12] == 127;
  }
  return false;
}

Result<ListenPlan> PlanListen(const std::string& uri, bool have_token, bool tls) {
  auto fail = [&](const std::string& why) {
    return Status::Invalid("--listen ", uri, ": ", why);
  };
  arrow::util::Uri parsed;
  if (!parsed.Parse(uri).ok()) {
    return fail("not a URI (expected grpc://HOST:PORT, grpc+tls://HOST:PORT or "
                "grpc+unix:///PATH)");
  }
  ListenPlan plan;
  const std::string scheme = parsed.scheme();
  if (scheme == "grpc" || scheme == "grpc+tcp") {
    plan.scheme = tls ? "grpc+tls" : "grpc+tcp";
  } else if (scheme == "grpc+tls") {
    if (!tls) return fail("grpc+tls needs --tls-cert and --tls-key");
    plan.scheme = "grpc+tls";
  } else if (scheme == "grpc+unix") {
    if (tls) return fail("TLS over a unix socket is not supported; use grpc+tls://HOST:PORT");
    plan.scheme = "grpc+unix";
    plan.path = parsed.path();
    if (plan.path.empty()) return fail("a unix socket needs a path (grpc+unix:///run/x.sock)");
    plan.loopback = true;  // local only; the socket file's permissions decide who may connect
    return plan;
  } else {
    return fail("unknown scheme '" + scheme + "' (grpc, grpc+tcp, grpc+tls or grpc+unix)");
  }
  plan.host = parsed.host();
  if (plan.host.empty()) return fail("no host");
  if (parsed.port_text().empty()) return fail("no port (use :0 for any free port)");
  const std::int32_t port = parsed.port();
  if (port < 0 || port > 65535) return fail("port must be 0..65535");
  plan.port = port;
  plan.loopback = IsLoopbackHost(plan.host);
  if (!plan.loopback && !have_token) {
    return fail("listening beyond loopback needs a token (--token-file or [server] "
                "token_file); without one the server binds 127.0.0.1, ::1 or a unix socket only");
  }
  return plan;
}

}  // namespace arrowdaq::server
