// Auth: the rules that decide who may talk to the server and where it may listen.
//  - A bearer token, read from a file, is compared in constant time (the time depends only on
//    the expected token's length, never on where a guess first differs).
//  - Without a token the server listens on loopback only (127.0.0.0/8, ::1, localhost) or a
//    Unix socket; any other address is refused before binding.
//  - TLS uses a PEM certificate and key; giving them turns grpc:// into grpc+tls://.
// docs/reliability.md states the threat model. Pure functions over values and files; any thread.
#pragma once

#include <string>
#include <string_view>

#include "arrowdaq/core/status.h"

namespace arrowdaq::server {

/// Shortest token accepted.
inline constexpr std::size_t kMinTokenBytes = 16;
/// Longest token accepted.
inline constexpr std::size_t kMaxTokenBytes = 4096;

/// Read a token file: its content without surrounding whitespace must be 16..4096 bytes of
/// printable ASCII without spaces. Errors (Invalid) name the file and the rule broken.
[[nodiscard]] Result<std::string> ReadTokenFile(const std::string& path);

/// Compare `given` with `expected` in time that depends only on expected.size().
[[nodiscard]] bool ConstantTimeEquals(std::string_view expected, std::string_view given);

/// Check an "authorization" header value against the token: "Bearer <token>" (the scheme
/// word case-insensitive), compared in constant time.
[[nodiscard]] bool BearerMatches(std::string_view header, std::string_view token);

/// Where to listen, decided from the options.
struct ListenPlan {
  std::string scheme;  ///< "grpc+tcp", "grpc+tls" or "grpc+unix"
  std::string host;    ///< without brackets; empty for unix
  int port = 0;        ///< 0: any free port
  std::string path;    ///< unix socket path
  bool loopback = false;
};

/// Parse a listen URI (grpc://HOST:PORT, grpc+tcp://, grpc+tls://, grpc+unix:///path) and
/// apply the rules: `tls` upgrades grpc/grpc+tcp to grpc+tls and is required by grpc+tls;
/// without `have_token` only loopback hosts and unix sockets are allowed. Errors are Invalid
/// and name the URI ("--listen grpc://0.0.0.0:8815: ...").
[[nodiscard]] Result<ListenPlan> PlanListen(const std::string& uri, bool have_token, bool tls);

/// Return whether `host` is a loopback address or "localhost".
[[nodiscard]] bool IsLoopbackHost(std::string_view host);

}  // namespace arrowdaq::server
