#include "arrowdaq/hardware/tcp_transport.h"

#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace arrowdaq::hardware {

Result<std::unique_ptr<TcpTransport>> TcpTransport::Make(TransportOptions options) {
  ARROW_RETURN_NOT_OK(ValidateTransportOptions(options));
  return std::make_unique<TcpTransport>(PrivateTag{}, std::move(options));
}

Result<int> TcpTransport::Open(const Resource& resource, Timeout timeout) {
  const std::string where = resource.ToString();
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  const std::string port = std::to_string(resource.port);
  const int gai = ::getaddrinfo(resource.host.c_str(), port.c_str(), &hints, &found);
  if (gai != 0) {
    return Status::IOError(where, ": cannot resolve host '", resource.host,
                           "': ", ::gai_strerror(gai));
  }
  std::string last_error = "no address";
  int result = -1;
  for (addrinfo* ai = found; ai != nullptr && result < 0; ai = ai->ai_next) {
    const int fd = ::socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC,
                            ai->ai_protocol);
    if (fd < 0) {
      last_error = std::strerror(errno);
      continue;
    }
    int rc = ::connect(fd, ai->ai_addr, ai->ai_addrlen);
    if (rc < 0 && errno == EINPROGRESS) {
      pollfd p{fd, POLLOUT, 0};
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                            deadline - std::chrono::steady_clock::now())
                            .count();
      rc = ::poll(&p, 1, left > 0 ? static_cast<int>(left) : 0);
      if (rc == 0) {
        ::close(fd);
        last_error = "timed out after " + std::to_string(timeout.count()) + " ms";
        break;
      }
      int err = 0;
      socklen_t len = sizeof(err);
      if (rc > 0 && ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) == 0 && err == 0) {
        rc = 0;
      } else {
        last_error = std::strerror(rc < 0 ? errno : err);
        rc = -1;
      }
    } else if (rc < 0) {
      last_error = std::strerror(errno);
    }
    if (rc == 0) {
      const int one = 1;
      ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
      ::setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof(one));
      result = fd;
    } else {
      ::close(fd);
    }
  }
  ::freeaddrinfo(found);
  if (result < 0) return Status::IOError(where, ": cannot connect: ", last_error);
  return result;
}

}  // namespace arrowdaq::hardware
