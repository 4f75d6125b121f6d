// InstrumentHardware: the seam between an instrument driver and the bytes on the wire (a TCP
// socket, a serial line, a simulator). Every call blocks for at most its timeout and reports
// failure as a Status; none throws. An instance is used by one thread at a time: the owning
// instrument's own thread (vendor and VISA-style I/O is blocking, so it never runs on the shared
// executor). GoogleMock mocks this interface in tests.
#pragma once

#include <chrono>
#include <memory>
#include <string>

#include <arrow/buffer.h>

#include "arrowdaq/core/status.h"

namespace arrowdaq::hardware {

using Timeout = std::chrono::milliseconds;

class InstrumentHardware {
 public:
  virtual ~InstrumentHardware() = default;

  /// Open the connection named by a VISA-style resource string
  /// (`TCPIP::host::port::SOCKET`, `ASRL/dev/ttyUSB0::INSTR`, `SIM::sine`).
  virtual Status Connect(const std::string& resource, Timeout timeout) = 0;
  /// Close the connection; closing a closed connection is OK.
  virtual Status Disconnect() = 0;
  /// Send one command and return its reply without the terminator ("" for a command that
  /// does not answer).
  virtual Result<std::string> SendCommand(const std::string& command, Timeout timeout) = 0;
  /// Read the next block of raw data (for a source: the next batch of samples, waiting until
  /// it is due). The buffer is handed over, so a driver may wrap it into arrays without a copy.
  virtual Result<std::shared_ptr<arrow::Buffer>> ReadRawData(Timeout timeout) = 0;
};

}  // namespace arrowdaq::hardware
