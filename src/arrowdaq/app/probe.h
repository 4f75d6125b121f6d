// Probe: connect to one resource, ask it who it is, disconnect. Behind `arrowdaq probe`.
// Any thread; blocks for at most about twice the timeout.
#pragma once

#include <chrono>
#include <string>

#include "arrowdaq/core/status.h"

namespace arrowdaq::app {

struct ProbeOptions {
  std::string resource;            ///< TCPIP::host::port::SOCKET, ASRL<dev>::INSTR, SIM::<model>
  std::string command = "*IDN?";   ///< the device's identify query
  std::chrono::milliseconds timeout{2'000};
  std::int64_t baud = 9600;        ///< serial only
  std::string terminator = "\n";   ///< write and read terminator
};

/// Return the device's answer to `command`. A malformed resource is Invalid (a usage error);
/// a device that cannot be reached or does not answer is an IOError naming the resource.
Result<std::string> Probe(const ProbeOptions& options);

}  // namespace arrowdaq::app
