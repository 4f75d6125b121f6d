#include "arrowdaq/app/probe.h"

#include <memory>

#include "arrowdaq/hardware/resource.h"
#include "arrowdaq/hardware/serial_transport.h"
#include "arrowdaq/hardware/simulated_hardware.h"
#include "arrowdaq/hardware/tcp_transport.h"

namespace arrowdaq::app {

Result<std::string> Probe(const ProbeOptions& options) {
  ARROW_ASSIGN_OR_RAISE(auto resource, hardware::ParseResource(options.resource));
  hardware::TransportOptions framing;
  framing.write_terminator = options.terminator;
  framing.read_terminator = options.terminator;
  std::unique_ptr<hardware::InstrumentHardware> hw;
  switch (resource.kind) {
    case hardware::ResourceKind::kTcpipSocket: {
      ARROW_ASSIGN_OR_RAISE(hw, hardware::TcpTransport::Make(framing));
      break;
    }
    case hardware::ResourceKind::kAsrl: {
      hardware::SerialOptions so;
      so.framing = framing;
      so.baud = options.baud;
      ARROW_ASSIGN_OR_RAISE(hw, hardware::SerialTransport::Make(so));
      break;
    }
    case hardware::ResourceKind::kSim: {
      ARROW_ASSIGN_OR_RAISE(hw, hardware::SimulatedHardware::Make({}));
      break;
    }
  }
  Status st = hw->Connect(options.resource, options.timeout);
  if (!st.ok()) return Status::IOError(st.message());
  auto answer = hw->SendCommand(options.command, options.timeout);
  (void)hw->Disconnect();
  if (!answer.ok()) return Status::IOError(answer.status().message());
  if (answer->empty()) {
    return Status::IOError(options.resource, ": empty answer to '", options.command, "'");
  }
  return answer;
}

}  // namespace arrowdaq::app
