// RunPlan: what `arrowdaq run` will build from a RunConfig, with every run-level rule checked
// before anything is created. PlanRun is the one place those rules live: each driver exists and
// accepts its options and its resource; each processor accepts its input and options (and the
// processors come out in dependency order); each stored stream can be written in each format
// asked for; the run directory and file names fit the file system's limits; each stream's
// batch and the batches its queues may hold fit `[limits]`. `arrowdaq
// validate` and `arrowdaq run` (through Acquisition::Make) both call it, so validate is exactly
// as strict as run. Errors are Status::Invalid `file:line:column: key: message`, pointing at the
// value at fault (a driver's range error at the option's value, not at the table).
//
// PlanRun first loads the driver plugins the run names (LoadPlugins: ARROWDAQ_PLUGIN_PATH and
// `[plugins] paths`) into the process's driver registry; a plugin that cannot be loaded is an
// error at its `plugins.paths[i]` (or naming ARROWDAQ_PLUGIN_PATH). Then it builds each driver
// and processor to ask it its schema and throws it away; it touches neither the disk (beyond
// opening plugins) nor the network nor any hardware. Any thread.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "arrowdaq/config/config.h"
#include "arrowdaq/core/data_packet.h"
#include "arrowdaq/core/status.h"
#include "arrowdaq/instruments/movable.h"

namespace arrowdaq::app {

/// Queue length (packets) of each processor's input subscription.
inline constexpr std::size_t kProcessorInputCapacity = 16;

/// Option names under which drivers declare their rows per batch (the first one a driver
/// declares is used to bound its batch size).
inline constexpr const char* kBatchRowsOptions[] = {"batch_size", "frames_per_batch"};

/// Describe the memory one stream may take: its largest batch and what its queues may hold.
struct StreamMemory {
  std::int64_t batch_rows = 0;   ///< most rows per batch; 0 when the driver does not say
  std::int64_t row_bytes = 0;    ///< bytes per row; 0 when a column has no fixed width
  std::int64_t batch_bytes = 0;  ///< batch_rows * row_bytes (0: unknown)
  /// Batches that may wait in queues at once: storage capacity, live subscriptions, processor
  /// inputs and the source's FIFO, summed (a packet is shared, so this bounds their union).
  std::int64_t queued_batches = 0;
  std::int64_t queue_bytes = 0;  ///< queued_batches * batch_bytes
};

/// Describe one instrument as it will run.
struct PlannedInstrument {
  std::string name;
  std::string driver;
  /// The config's resource, or the driver's default; never empty.
  std::string resource;
  std::shared_ptr<const StreamInfo> stream;
  StreamMemory memory;
};

/// Describe one processor as it will run.
struct PlannedProcessor {
  config::ProcessorConfig config;
  std::shared_ptr<const StreamInfo> stream;  ///< its output
  StreamMemory memory;
};

/// Hold everything a run will build, checked.
struct RunPlan {
  std::vector<PlannedInstrument> instruments;  ///< in file order
  std::vector<PlannedProcessor> processors;    ///< in dependency order: inputs first
  /// The [storage] table, or its defaults (run.h5 of every stream) when the file has none.
  config::StorageConfig storage;
  /// The streams storage records, resolved from storage.streams ("*": all), in plan order.
  std::vector<std::string> stored_streams;
  /// The axes of every instrument a `[[plans]]` entry moves (from its driver's options).
  std::map<std::string, std::vector<instruments::AxisInfo>> motor_axes;

  /// Return every stream: instruments in file order, then processor outputs in dependency order.
  [[nodiscard]] std::vector<std::shared_ptr<const StreamInfo>> streams() const;
  /// Return the processors' configs in dependency order.
  [[nodiscard]] std::vector<config::ProcessorConfig> ProcessorConfigs() const;
};

/// The environment variable naming plugins to load in every run (':'-separated files or
/// directories of `*.so` files).
inline constexpr const char* kPluginPathVariable = "ARROWDAQ_PLUGIN_PATH";

/// Load the plugins ARROWDAQ_PLUGIN_PATH names and, when `config` is given, those its
/// `[plugins] paths` name, into DriverRegistry::Default(). Errors are Status::Invalid naming
/// the file, prefixed with where it was named (`file:line:column: plugins.paths[0]: ` or
/// `ARROWDAQ_PLUGIN_PATH: `). Loading a plugin twice is harmless.
[[nodiscard]] Status LoadPlugins(const config::RunConfig* config);

/// Return the index of a plan axis among its motor's axes (`axis.axis`, or the first axis when
/// it is ""); Invalid at `axis.axis`'s location (key `path.axis`) listing the axis names.
[[nodiscard]] Result<int> PlanAxisIndex(const std::vector<instruments::AxisInfo>& axes,
                                        const config::PlanAxisConfig& axis,
                                        const std::string& path);

/// Return the column a stream detector reads: `detector.column`, or the stream's first data
/// column; Invalid at the column's location when it is absent or not numeric.
[[nodiscard]] Result<std::string> DetectorColumn(const arrow::Schema& schema,
                                                 const config::PlanDetectorConfig& detector,
                                                 const std::string& path);

/// Check `config` as strictly as a run would and return what the run will build (plans
/// included: motors movable, axes known, every target within the soft limits, detector
/// columns numeric), so `validate` refuses what `scan` would.
[[nodiscard]] Result<RunPlan> PlanRun(const config::RunConfig& config);

}  // namespace arrowdaq::app
