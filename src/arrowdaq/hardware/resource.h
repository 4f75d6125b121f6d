// Resource strings: parse the VISA-style names that say where an instrument is
// (`TCPIP::192.168.1.5::5025::SOCKET`, `ASRL/dev/ttyUSB0::INSTR`, `SIM::sine`) into a plain
// struct. Only parsing lives here; transports come later. Pure values and functions; any thread.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "arrowdaq/core/status.h"

namespace arrowdaq::hardware {

/// Say which transport a resource string names.
enum class ResourceKind {
  kTcpipSocket,  ///< `TCPIP[board]::<host>::<port>::SOCKET` (raw socket, for example SCPI on 5025)
  kAsrl,         ///< `ASRL<device>::INSTR` (serial line; baud rate etc. are driver options)
  kSim,          ///< `SIM::<model>` (simulated instrument, no hardware)
};

/// Return "TCPIP_SOCKET", "ASRL" or "SIM".
std::string_view ToString(ResourceKind kind);

/// Hold a parsed resource string. Fields that do not apply to `kind` are empty / 0.
struct Resource {
  ResourceKind kind = ResourceKind::kSim;
  std::string host;        ///< TCPIP: host name or address, as written
  std::uint16_t port = 0;  ///< TCPIP: 1..65535
  std::string device;      ///< ASRL: device path or number as written ("/dev/ttyUSB0", "3")
  std::string model;       ///< SIM: everything after "SIM::" ("sine", "camera::fast")

  /// Format back to the canonical resource string (keywords upper case).
  std::string ToString() const;
};

/// Parse a VISA-style resource string. Keywords (TCPIP, SOCKET, ASRL, INSTR, SIM) are
/// case-insensitive, as in VISA; host, device and model keep their case. Leading and trailing
/// blanks are refused rather than trimmed. Errors are Status::Invalid and quote the string and
/// the expected form, for example
/// `invalid resource 'TCPIP::lab-scope::SOCKET': expected TCPIP::<host>::<port>::SOCKET`.
Result<Resource> ParseResource(std::string_view text);

}  // namespace arrowdaq::hardware
