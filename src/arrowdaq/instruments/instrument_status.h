// InstrumentStatus: a snapshot of one instrument, as the actor reports it and as status
// displays (progress lines, the summary, the server's status answer) show it. Its own header so
// that code which only shows status does not include the actor machinery. Plain value; any
// thread.
#pragma once

#include <cstdint>
#include <string>

namespace arrowdaq::instruments {

/// Snapshot of one instrument, for `GetStatus` and the manager's instrument list.
struct InstrumentStatus {
  std::string name;
  std::string driver;
  std::string resource;
  bool connected = false;
  bool acquiring = false;
  std::uint64_t batches = 0;  ///< batches read and published
  std::uint64_t rows = 0;
  std::uint64_t read_errors = 0;
  std::uint64_t overrun_samples = 0;  ///< samples the device lost (could not be paused)
  std::uint64_t reconnects = 0;       ///< successful reconnects after a fault
  bool failed = false;                ///< gave up after the configured reconnect attempts
  std::string last_error;
};

}  // namespace arrowdaq::instruments
