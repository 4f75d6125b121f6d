// StreamTransport: the line- and block-oriented byte stream under every message-based
// instrument (SCPI over a raw TCP socket, ASCII protocols over a serial line). It writes
// commands with a write terminator, reads replies up to a read terminator, reads exact byte
// counts and IEEE 488.2 binary blocks, and bounds every operation by a timeout. TcpTransport
// and SerialTransport only differ in how they open the file descriptor.
//
// I/O model: one non-blocking file descriptor driven by poll() with an absolute deadline per
// operation. Chosen over an asio::io_context per transport because the calls run on the
// instrument's own blocking thread anyway; poll() gives the same timeout semantics with no
// cancellation hand-shake (a timed-out asio op must still be run to completion), works the same
// for sockets and ttys/ptys, and keeps errno for the message. A timeout leaves the connection
// open and drops any partial reply; the next Query first discards stale input, so a late reply
// cannot be taken for the answer to a later command. End of stream or an I/O error closes the
// connection: every later call fails until Disconnect + Connect.
//
// Errors are Status::IOError (timeouts: "... timed out ...") or Status::Invalid (malformed
// replies) and name the resource, the command and the bytes received (escaped).
//
// Ownership: the transport owns its descriptor (closed by Disconnect and the destructor).
// Threading: one thread at a time, like every InstrumentHardware.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

#include "arrowdaq/hardware/instrument_hardware.h"
#include "arrowdaq/hardware/resource.h"

namespace arrowdaq::hardware {

/// Framing options shared by every stream transport.
struct TransportOptions {
  std::string write_terminator = "\n";  ///< appended to every command written
  std::string read_terminator = "\n";   ///< ends every reply line (not returned)
  bool strip_cr = true;                 ///< drop a '\r' right before a "\n" read terminator
  std::size_t max_line_bytes = 1 << 20;     ///< a longer reply line is an error
  std::size_t max_block_bytes = 1 << 28;    ///< a larger binary block is an error
};

/// Check `options` (non-empty terminators, positive limits); the message names the field.
Status ValidateTransportOptions(const TransportOptions& options);

class StreamTransport : public InstrumentHardware {
 public:
  ~StreamTransport() override;
  StreamTransport(const StreamTransport&) = delete;
  StreamTransport& operator=(const StreamTransport&) = delete;

  /// Parse `resource`, check it is this transport's kind, close any open connection and open
  /// a new one within `timeout`.
  Status Connect(const std::string& resource, Timeout timeout) override;
  /// Close the connection; idempotent.
  Status Disconnect() override;
  /// Write `command`; when it contains '?' read and return one reply line, else return "".
  Result<std::string> SendCommand(const std::string& command, Timeout timeout) override;
  /// Return the next reply line (without terminator) as a buffer.
  Result<std::shared_ptr<arrow::Buffer>> ReadRawData(Timeout timeout) override;

  /// Write `command` and the write terminator.
  Status WriteLine(std::string_view command, Timeout timeout);
  /// Read one line up to the read terminator (not returned).
  Result<std::string> ReadLine(Timeout timeout);
  /// Discard stale input, write `command`, read one reply line.
  Result<std::string> Query(std::string_view command, Timeout timeout);
  /// Read exactly `n` bytes.
  Result<std::string> ReadExact(std::size_t n, Timeout timeout);
  /// Read one IEEE 488.2 block (definite `#<d><len>...` or indefinite `#0...\n`) and return
  /// its payload. After a definite block the read terminator, which SCPI devices send, is
  /// read and checked when `expect_terminator`.
  Result<std::string> ReadBlock(Timeout timeout, bool expect_terminator = true);
  /// Discard stale input, write `command`, read one block reply (see ReadBlock).
  Result<std::string> QueryBlock(std::string_view command, Timeout timeout,
                                 bool expect_terminator = true);
  /// Drop buffered bytes and whatever the device has already sent (does not wait).
  Status DiscardInput();

  bool connected() const { return fd_ >= 0; }
  /// Return the resource string of the current (or last) connection.
  const std::string& resource() const { return resource_; }
  const TransportOptions& options() const { return options_; }

 protected:
  explicit StreamTransport(TransportOptions options) : options_(std::move(options)) {}

  /// Return the resource kind this transport opens.
  virtual ResourceKind kind() const = 0;
  /// Open a non-blocking descriptor for `resource` within `timeout`.
  virtual Result<int> Open(const Resource& resource, Timeout timeout) = 0;
  /// Return true when writes should use send(MSG_NOSIGNAL) (sockets).
  virtual bool is_socket() const = 0;
  /// Run just before the descriptor is closed (Disconnect, a fatal error, destruction).
  virtual void BeforeClose(int /*fd*/) {}
  /// Return what a timeout message should add about the line ("" for sockets); a serial line
  /// names its settings, since a device at another baud rate or handshake answers nothing.
  virtual std::string TimeoutHint() const { return ""; }

 private:
  using Deadline = std::chrono::steady_clock::time_point;

  Status CheckConnected(std::string_view what) const;
  // Wait until the descriptor is readable (or the deadline passes) and append what arrived.
  Status Fill(Deadline deadline, std::string_view what, Timeout timeout);
  Result<std::string> ReadLineUntil(Deadline deadline, std::string_view what, Timeout timeout);
  Result<std::string> ReadExactUntil(std::size_t n, Deadline deadline, std::string_view what,
                                     Timeout timeout);
  Result<std::string> ReadBlockUntil(Deadline deadline, std::string_view what, Timeout timeout,
                                     bool expect_terminator);
  Status WriteUntil(std::string_view bytes, Deadline deadline, std::string_view what,
                    Timeout timeout);
  // Close after a fatal error and return `status` unchanged.
  Status Fail(Status status);
  void Close();
  std::string Where(std::string_view what) const;

  TransportOptions options_;
  int fd_ = -1;
  std::string resource_;
  std::string buffer_;  // bytes read but not yet returned
};

/// Return "reply to 'CMD'" with CMD escaped: the usual `what` of a query's read.
std::string ReplyTo(std::string_view command);

}  // namespace arrowdaq::hardware
