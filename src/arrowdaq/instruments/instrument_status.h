// InstrumentStatus: a snapshot of one instrument, as the actor reports it and as status
// displays (progress lines, the summary, the server's status answer) show it. Its own header so
// that code which only shows status does not include the actor machinery. Plain value; any
// thread.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace arrowdaq::instruments {

/// What an instrument's batch pool did (core/batch_pool.h; simulated sources have one).
struct PoolStatus {
  std::string policy;            ///< on exhaustion: "count" or "block"
  std::int64_t block_bytes = 0;  ///< bytes of one pooled batch
  std::int64_t max_batches = 0;  ///< the pool's bound
  std::int64_t batches = 0;      ///< batches pooled now (<= max_batches)
  std::int64_t hits = 0;         ///< takes served by a recycled batch
  std::int64_t misses = 0;       ///< takes that built a batch (pooled while below the bound)
  std::int64_t overflows = 0;    ///< of the misses, fresh batches beyond the bound (policy count)
  std::int64_t waits = 0;        ///< takes that waited for a batch to come back (policy block)
};

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
  std::optional<PoolStatus> pool;  ///< the driver's batch pool; nullopt when it has none
};

}  // namespace arrowdaq::instruments
