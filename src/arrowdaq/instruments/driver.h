// InstrumentDriver and DriverRegistry: a driver knows one kind of instrument. It owns the
// InstrumentHardware it talks through, says which stream schema it publishes, configures the
// device after connecting, and turns each raw block the hardware returns into a RecordBatch.
// The registry maps driver names ("sim.sine") to their options and factories.
//
// Threading: a driver and its hardware are used only by the owning instrument's own thread
// (see InstrumentActor). The registry is filled at start-up and read-only afterwards; reading
// it from several threads is safe, and so is registering while others read (a shared mutex
// guards the list; returned DriverInfo pointers stay valid for the registry's lifetime).
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <shared_mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <arrow/buffer.h>
#include <arrow/record_batch.h>
#include <arrow/type_fwd.h>

#include "arrowdaq/core/batch_pool.h"
#include "arrowdaq/core/buffer_pool.h"
#include "arrowdaq/core/options.h"
#include "arrowdaq/core/status.h"
#include "arrowdaq/hardware/instrument_hardware.h"
#include "arrowdaq/instruments/movable.h"

namespace arrowdaq::instruments {

/// The batch pool of a simulated source (driver options `pool_batches`, `on_pool_exhausted`).
struct SimPoolOptions {
  std::int64_t batches = 0;  ///< pooled batches at most; 0: about 64 MiB of them, 2 to 128
  PoolExhaustion on_exhausted = PoolExhaustion::kCount;
};
/// Return the option specs of SimPoolOptions (appended to every simulated source's options).
std::vector<OptionSpec> SimPoolOptionSpecs();
/// Read SimPoolOptions from options resolved against specs that include SimPoolOptionSpecs();
/// a bad value is Status::Invalid naming the option.
Result<SimPoolOptions> SimPoolOptionsFrom(const ResolvedOptions& options);
/// Return the pooled batches of a pool of `block_bytes` batches: `options.batches`, or when 0
/// about 64 MiB of them (2 to 128).
std::int64_t SimPoolBatches(const SimPoolOptions& options, std::int64_t block_bytes);

/// Something a driver noticed in the data that the run's event log must show (for example
/// `overload`: readings the instrument flagged as out of range, stored as NaN or infinity).
struct DriverEvent {
  std::string kind;     ///< "overload", "info", ...
  std::string message;  ///< what happened, with counts
};

class InstrumentDriver {
 public:
  virtual ~InstrumentDriver() = default;

  /// Return the schema of the stream this driver publishes (timestamp first; see core/schema.h).
  virtual std::shared_ptr<arrow::Schema> schema() const = 0;
  /// Return the hardware this driver talks through (owned by the driver).
  virtual hardware::InstrumentHardware& hardware() = 0;
  /// Return the timeout for one ReadRawData (a source must deliver a batch within it).
  virtual hardware::Timeout read_timeout() const = 0;

  /// Identify and configure the device; called once after each successful Connect.
  virtual Status Configure() { return Status::OK(); }
  /// Arm the device for acquisition (for example send INIT); called before the first read.
  virtual Status StartAcquisition() { return Status::OK(); }
  /// Disarm the device (for example send ABOR); called after the last read.
  virtual Status StopAcquisition() { return Status::OK(); }
  /// Return the samples (rows) the device lost since the previous call because it could not
  /// be paused and its buffer overflowed (an overrun); 0 for devices that never lose data.
  virtual std::int64_t TakeOverrunSamples() { return 0; }
  /// Return (and forget) what the driver noticed since the previous call; called after each
  /// read, on the instrument's thread. Drivers coalesce: one event per kind and batch at most.
  virtual std::vector<DriverEvent> TakeEvents() { return {}; }
  /// Turn one raw block from hardware().ReadRawData() into a batch of schema(). Wrap the
  /// buffer without copying where the layout allows. A malformed block is an error, not a crash.
  /// A network source may return nullptr: nothing to publish this time (no message within
  /// read_timeout(), or one it skipped); the acquisition loop goes on without a fault.
  virtual Result<std::shared_ptr<arrow::RecordBatch>> Decode(
      std::shared_ptr<arrow::Buffer> raw) = 0;
  /// Read and decode one batch: what the acquisition loop calls. The default is
  /// Decode(hardware().ReadRawData(read_timeout())); a driver with a BatchPool (simulated
  /// sources) fills a recycled batch in place instead, allocating nothing per batch.
  virtual Result<std::shared_ptr<arrow::RecordBatch>> ReadBatch() {
    ARROW_ASSIGN_OR_RAISE(auto raw, hardware().ReadRawData(read_timeout()));
    return Decode(std::move(raw));
  }
  /// Return what the driver's batch pool did so far, or nullopt when it has none. Any thread
  /// (the instrument's status, the run's summary.json).
  virtual std::optional<BufferPoolStats> pool_stats() const { return std::nullopt; }
  /// Return the pool's exhaustion policy ("count" or "block"); "" without a pool.
  virtual std::string_view pool_policy() const { return ""; }
  /// Return whether reads wait only for time, never for a device: the next ReadRawData returns
  /// without blocking from NextReadDue() on (simulated sources). Such a driver's instrument
  /// shares a small thread pool with the others and holds no thread between batches; a driver
  /// whose calls block on a device (the default) gets a thread of its own.
  virtual bool paced() const { return false; }
  /// Return when the next ReadRawData returns without waiting (paced drivers only, after
  /// StartAcquisition; on the instrument's thread).
  virtual std::chrono::steady_clock::time_point NextReadDue() const {
    return std::chrono::steady_clock::now();
  }
  /// Return the driver's motion capability (movable.h), or nullptr when it moves nothing.
  virtual Movable* movable() { return nullptr; }
};

/// Build a driver from validated options (defaults filled in).
using DriverFactory =
    std::function<Result<std::unique_ptr<InstrumentDriver>>(const ResolvedOptions&)>;

/// Return a DriverFactory over a driver's `Make(const ResolvedOptions&)` (any function that
/// returns Result<std::unique_ptr<D>> for a D derived from InstrumentDriver).
template <typename D>
DriverFactory FactoryOf(Result<std::unique_ptr<D>> (*make)(const ResolvedOptions&)) {
  return [make](const ResolvedOptions& options) -> Result<std::unique_ptr<InstrumentDriver>> {
    return make(options);
  };
}

/// Describe one driver for the registry and for `arrowdaq drivers`.
struct DriverInfo {
  std::string name;              ///< "sim.sine"
  std::string description;       ///< one line
  std::string default_resource;  ///< "SIM::sine"; "" when the user must give one
  std::vector<OptionSpec> options;
  DriverFactory factory;
  /// Where the driver comes from: "" for a built-in driver, "plugin <name> <version> (<path>)"
  /// for one loaded from a plugin (set by the loader, plugins.h).
  std::string origin;
};

class DriverRegistry {
 public:
  /// Return the process-wide registry with every built-in driver registered.
  static DriverRegistry& Default();

  /// Add a driver; fails when the name is taken or the info is incomplete.
  Status Register(DriverInfo info);
  /// Add several drivers, all or none: fails, adding nothing, when any name is taken (the
  /// error says by what) or repeated, or any info is incomplete.
  Status RegisterAll(std::vector<DriverInfo> infos);
  /// Find a driver by name; the error lists the known names.
  Result<const DriverInfo*> Find(const std::string& name) const;
  /// Return every driver, sorted by name.
  std::vector<const DriverInfo*> List() const;
  /// Validate `options` against the driver's specs, fill defaults, and build the driver.
  Result<std::unique_ptr<InstrumentDriver>> Create(const std::string& name,
                                                   const OptionMap& options) const;

 private:
  mutable std::shared_mutex mutex_;
  std::vector<std::unique_ptr<DriverInfo>> drivers_;
};

}  // namespace arrowdaq::instruments
