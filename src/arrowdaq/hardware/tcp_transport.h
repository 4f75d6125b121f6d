// TcpTransport: a StreamTransport over a raw TCP socket, for `TCPIP[board]::<host>::<port>::SOCKET`
// resources (SCPI instruments listen on port 5025 by convention; Rigol scopes on 5555). The
// host is resolved with getaddrinfo (blocking: the timeout bounds connecting, not DNS; use
// an address or /etc/hosts name in the lab). TCP_NODELAY is set: replies are small and latency
// matters more than throughput. Ownership and threading: see stream_transport.h.
#pragma once

#include <memory>

#include "arrowdaq/hardware/stream_transport.h"

namespace arrowdaq::hardware {

class TcpTransport : public StreamTransport {
  struct PrivateTag {
    explicit PrivateTag() = default;
  };

 public:
  /// Validate `options` and build a disconnected transport.
  static Result<std::unique_ptr<TcpTransport>> Make(TransportOptions options = {});
  /// Use Make.
  TcpTransport(PrivateTag, TransportOptions options) : StreamTransport(std::move(options)) {}

 protected:
  ResourceKind kind() const override { return ResourceKind::kTcpipSocket; }
  Result<int> Open(const Resource& resource, Timeout timeout) override;
  bool is_socket() const override { return true; }
};

}  // namespace arrowdaq::hardware
