// SerialTransport: a StreamTransport over a serial line (or a pseudo-terminal), for
// `ASRL<device path>::INSTR` resources such as `ASRL/dev/ttyUSB0::INSTR`. The line is put in raw
// mode (termios: no echo, no canonical processing, no CR/LF translation) with the baud rate,
// data bits, parity, stop bits and flow control of SerialOptions, and opened for exclusive use
// (TIOCEXCL), so a second process cannot interleave bytes. Numeric VISA board numbers (`ASRL3`)
// are refused: give the device path. Ownership and threading: see stream_transport.h.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "arrowdaq/hardware/stream_transport.h"

namespace arrowdaq::hardware {

/// Say how a serial line is configured. Defaults: 9600 baud, 8 data bits, no parity, 1 stop
/// bit, no flow control ("8N1").
struct SerialOptions {
  TransportOptions framing;
  std::int64_t baud = 9600;             ///< 50 .. 4000000, one of the standard termios rates
  std::int64_t data_bits = 8;           ///< 5 .. 8
  std::string parity = "none";          ///< "none", "even" or "odd"
  std::int64_t stop_bits = 1;           ///< 1 or 2
  std::string flow_control = "none";    ///< "none", "xonxoff" or "rtscts"
};

/// Check `options`; the message names the option and the allowed values.
Status ValidateSerialOptions(const SerialOptions& options);

class SerialTransport : public StreamTransport {
  struct PrivateTag {
    explicit PrivateTag() = default;
  };

 public:
  /// Validate `options` and build a disconnected transport.
  static Result<std::unique_ptr<SerialTransport>> Make(SerialOptions options = {});
  /// Use Make.
  SerialTransport(PrivateTag, SerialOptions options)
      : StreamTransport(options.framing), serial_(std::move(options)) {}

  /// Release exclusive access and close.
  ~SerialTransport() override { (void)Disconnect(); }

  const SerialOptions& serial_options() const { return serial_; }

 protected:
  ResourceKind kind() const override { return ResourceKind::kAsrl; }
  Result<int> Open(const Resource& resource, Timeout timeout) override;
  bool is_socket() const override { return false; }
  /// Clear TIOCEXCL: the flag outlives this descriptor while another process (a simulator)
  /// holds the line open, and would refuse our own reconnect.
  void BeforeClose(int fd) override;
  /// Name the line settings: a device set to others answers nothing (or garbage).
  std::string TimeoutHint() const override;

 private:
  SerialOptions serial_;
};

}  // namespace arrowdaq::hardware
