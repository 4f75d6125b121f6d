#include "arrowdaq/hardware/stream_transport.h"

#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "arrowdaq/hardware/ieee488.h"

namespace arrowdaq::hardware {

namespace {

using SteadyClock = std::chrono::steady_clock;

int RemainingMs(SteadyClock::time_point deadline) {
  const auto left =
      std::chrono::duration_cast<std::chrono::milliseconds>(deadline - SteadyClock::now()).count();
  if (left <= 0) return 0;
  return left > 1'000'000'000 ? 1'000'000'000 : static_cast<int>(left);
}

std::string Errno(int err) { return std::strerror(err); }

}  // namespace

std::string ReplyTo(std::string_view command) {
  return "reply to '" + EscapeBytes(command) + "'";
}

Status ValidateTransportOptions(const TransportOptions& options) {
  if (options.write_terminator.empty()) {
    return Status::Invalid("transport option 'write_terminator' must not be empty");
  }
  if (options.read_terminator.empty()) {
    return Status::Invalid("transport option 'read_terminator' must not be empty");
  }
  if (options.max_line_bytes == 0 || options.max_block_bytes == 0) {
    return Status::Invalid("transport options 'max_line_bytes' and 'max_block_bytes' must be > 0");
  }
  return Status::OK();
}

// Subclasses are gone by now, so their BeforeClose cannot run; they close in their own
// destructors (SerialTransport does).
StreamTransport::~StreamTransport() {
  if (fd_ >= 0) ::close(fd_);
}

void StreamTransport::Close() {
  if (fd_ >= 0) {
    BeforeClose(fd_);
    ::close(fd_);
  }
  fd_ = -1;
  buffer_.clear();
}

std::string StreamTransport::Where(std::string_view what) const {
  return (resource_.empty() ? std::string("(not connected)") : resource_) + ": " +
         std::string(what);
}

Status StreamTransport::CheckConnected(std::string_view what) const {
  if (fd_ < 0) {
    return Status::IOError(Where(what), ": not connected (Connect first, or reconnect after ",
                           "an error closed the connection)");
  }
  return Status::OK();
}

Status StreamTransport::Fail(Status status) {
  Close();
  return status;
}

Status StreamTransport::Connect(const std::string& resource, Timeout timeout) {
  ARROW_RETURN_NOT_OK(Disconnect());
  ARROW_ASSIGN_OR_RAISE(const Resource parsed, ParseResource(resource));
  if (parsed.kind != kind()) {
    return Status::Invalid("resource '", resource, "' is a ", ToString(parsed.kind),
                           " resource; this transport opens ", ToString(kind()), " resources");
  }
  resource_ = resource;
  auto fd = Open(parsed, timeout);
  if (!fd.ok()) return fd.status();
  fd_ = *fd;
  buffer_.clear();
  return Status::OK();
}

Status StreamTransport::Disconnect() {
  Close();
  return Status::OK();
}

Status StreamTransport::WriteUntil(std::string_view bytes, Deadline deadline,
                                   std::string_view what, Timeout timeout) {
  ARROW_RETURN_NOT_OK(CheckConnected(what));
  std::size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n =
        is_socket() ? ::send(fd_, bytes.data() + done, bytes.size() - done, MSG_NOSIGNAL)
                    : ::write(fd_, bytes.data() + done, bytes.size() - done);
    if (n > 0) {
      done += static_cast<std::size_t>(n);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK) {
      return Fail(Status::IOError(Where(what), ": write failed: ", Errno(errno),
                                  " (connection closed)"));
    }
    pollfd p{fd_, POLLOUT, 0};
    const int ms = RemainingMs(deadline);
    const int r = ::poll(&p, 1, ms);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) return Fail(Status::IOError(Where(what), ": poll failed: ", Errno(errno)));
    if (r == 0) {
      return Status::IOError(Where(what), ": timed out after ", timeout.count(),
                             " ms writing (", done, " of ", bytes.size(), " bytes sent)",
                             TimeoutHint());
    }
  }
  return Status::OK();
}

Status StreamTransport::Fill(Deadline deadline, std::string_view what, Timeout timeout) {
  ARROW_RETURN_NOT_OK(CheckConnected(what));
  while (true) {
    pollfd p{fd_, POLLIN, 0};
    const int r = ::poll(&p, 1, RemainingMs(deadline));
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) return Fail(Status::IOError(Where(what), ": poll failed: ", Errno(errno)));
    if (r == 0) {
      const std::string got = EscapeBytes(buffer_);
      const std::size_t size = buffer_.size();
      buffer_.clear();  // a partial reply is useless once its command has timed out
      return Status::IOError(Where(what), ": timed out after ", timeout.count(),
                             " ms (received ", size, " bytes: '", got, "')", TimeoutHint());
    }
    char chunk[65536];
    const ssize_t n = ::read(fd_, chunk, sizeof(chunk));
    if (n > 0) {
      buffer_.append(chunk, static_cast<std::size_t>(n));
      return Status::OK();
    }
    if (n < 0 && (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK)) continue;
    const std::string got = EscapeBytes(buffer_);
    const std::size_t size = buffer_.size();
    // EIO is how a pty slave reports that the other side closed.
    const std::string why = n == 0 || errno == EIO ? std::string("connection closed by the device")
                                                   : "read failed: " + Errno(errno);
    return Fail(Status::IOError(Where(what), ": ", why, " (received ", size, " bytes: '", got,
                                "')"));
  }
}

Result<std::string> StreamTransport::ReadLineUntil(Deadline deadline, std::string_view what,
                                                   Timeout timeout) {
  const std::string& term = options_.read_terminator;
  std::size_t scanned = 0;
  while (true) {
    const std::size_t pos = buffer_.find(term, scanned);
    if (pos != std::string::npos) {
      std::string line = buffer_.substr(0, pos);
      buffer_.erase(0, pos + term.size());
      if (options_.strip_cr && term == "\n" && !line.empty() && line.back() == '\r') {
        line.pop_back();
      }
      return line;
    }
    if (buffer_.size() > options_.max_line_bytes) {
      const std::string head = EscapeBytes(buffer_);
      buffer_.clear();
      return Status::Invalid(Where(what), ": no terminator '",
                             EscapeBytes(term), "' within ", options_.max_line_bytes,
                             " bytes (received '", head, "')");
    }
    scanned = buffer_.size() >= term.size() ? buffer_.size() - term.size() + 1 : 0;
    ARROW_RETURN_NOT_OK(Fill(deadline, what, timeout));
  }
}

Result<std::string> StreamTransport::ReadExactUntil(std::size_t n, Deadline deadline,
                                                    std::string_view what, Timeout timeout) {
  while (buffer_.size() < n) ARROW_RETURN_NOT_OK(Fill(deadline, what, timeout));
  std::string out = buffer_.substr(0, n);
  buffer_.erase(0, n);
  return out;
}

Result<std::string> StreamTransport::ReadBlockUntil(Deadline deadline, std::string_view what,
                                                    Timeout timeout, bool expect_terminator) {
  // Leading blanks/terminator leftovers are not part of a block header.
  while (true) {
    while (!buffer_.empty() && (buffer_[0] == ' ' || buffer_[0] == '\r' || buffer_[0] == '\n')) {
      buffer_.erase(0, 1);
    }
    if (!buffer_.empty()) break;
    ARROW_RETURN_NOT_OK(Fill(deadline, what, timeout));
  }
  Ieee488Header header;
  while (true) {
    auto parsed = ParseIeee488Header(buffer_);
    if (parsed.ok()) {
      header = *parsed;
      break;
    }
    // Only a truncated header is worth waiting for (at most "#9" + 9 digits).
    if (parsed.status().message().find("truncated") == std::string::npos || buffer_.size() > 11) {
      const std::string got = EscapeBytes(buffer_);
      buffer_.clear();
      return Status::Invalid(Where(what), ": ", parsed.status().message(), " (received '", got,
                             "')");
    }
    ARROW_RETURN_NOT_OK(Fill(deadline, what, timeout));
  }
  if (header.payload_length < 0) {
    buffer_.erase(0, header.header_length);
    return ReadLineUntil(deadline, what, timeout);  // "#0" blocks end at the newline
  }
  const auto length = static_cast<std::size_t>(header.payload_length);
  if (length > options_.max_block_bytes) {
    buffer_.clear();
    return Status::Invalid(Where(what), ": block of ", length, " bytes exceeds the limit of ",
                           options_.max_block_bytes, " bytes");
  }
  buffer_.erase(0, header.header_length);
  ARROW_ASSIGN_OR_RAISE(std::string payload, ReadExactUntil(length, deadline, what, timeout));
  if (expect_terminator) {
    const std::string& term = options_.read_terminator;
    ARROW_ASSIGN_OR_RAISE(std::string tail, ReadExactUntil(term.size(), deadline, what, timeout));
    if (tail != term) {
      return Status::Invalid(Where(what), ": expected the terminator '", EscapeBytes(term),
                             "' after a ", length, "-byte block, got '", EscapeBytes(tail), "'");
    }
  }
  return payload;
}

Status StreamTransport::DiscardInput() {
  ARROW_RETURN_NOT_OK(CheckConnected("discarding input"));
  buffer_.clear();
  while (true) {
    pollfd p{fd_, POLLIN, 0};
    const int r = ::poll(&p, 1, 0);
    if (r <= 0) return Status::OK();  // nothing pending (or EINTR: next op will see it)
    char chunk[4096];
    const ssize_t n = ::read(fd_, chunk, sizeof(chunk));
    if (n > 0) continue;
    if (n < 0 && (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK)) return Status::OK();
    const std::string why = n == 0 || errno == EIO ? std::string("connection closed by the device")
                                                   : "read failed: " + Errno(errno);
    return Fail(Status::IOError(Where("discarding stale input"), ": ", why));
  }
}

Status StreamTransport::WriteLine(std::string_view command, Timeout timeout) {
  const auto deadline = SteadyClock::now() + timeout;
  std::string line(command);
  line += options_.write_terminator;
  return WriteUntil(line, deadline, "command '" + EscapeBytes(command) + "'", timeout);
}

Result<std::string> StreamTransport::ReadLine(Timeout timeout) {
  return ReadLineUntil(SteadyClock::now() + timeout, "reading a line", timeout);
}

Result<std::string> StreamTransport::Query(std::string_view command, Timeout timeout) {
  const auto deadline = SteadyClock::now() + timeout;
  const std::string what = ReplyTo(command);
  ARROW_RETURN_NOT_OK(DiscardInput());
  std::string line(command);
  line += options_.write_terminator;
  ARROW_RETURN_NOT_OK(WriteUntil(line, deadline, what, timeout));
  return ReadLineUntil(deadline, what, timeout);
}

Result<std::string> StreamTransport::ReadExact(std::size_t n, Timeout timeout) {
  return ReadExactUntil(n, SteadyClock::now() + timeout, "reading " + std::to_string(n) + " bytes",
                        timeout);
}

Result<std::string> StreamTransport::ReadBlock(Timeout timeout, bool expect_terminator) {
  return ReadBlockUntil(SteadyClock::now() + timeout, "reading a binary block", timeout,
                        expect_terminator);
}

Result<std::string> StreamTransport::QueryBlock(std::string_view command, Timeout timeout,
                                                bool expect_terminator) {
  const auto deadline = SteadyClock::now() + timeout;
  const std::string what = ReplyTo(command);
  ARROW_RETURN_NOT_OK(DiscardInput());
  std::string line(command);
  line += options_.write_terminator;
  ARROW_RETURN_NOT_OK(WriteUntil(line, deadline, what, timeout));
  return ReadBlockUntil(deadline, what, timeout, expect_terminator);
}

Result<std::string> StreamTransport::SendCommand(const std::string& command, Timeout timeout) {
  if (command.find('?') != std::string::npos) return Query(command, timeout);
  ARROW_RETURN_NOT_OK(WriteLine(command, timeout));
  return std::string();
}

Result<std::shared_ptr<arrow::Buffer>> StreamTransport::ReadRawData(Timeout timeout) {
  ARROW_ASSIGN_OR_RAISE(std::string line, ReadLine(timeout));
  return std::shared_ptr<arrow::Buffer>(arrow::Buffer::FromString(std::move(line)));
}

}  // namespace arrowdaq::hardware
