// Run configuration: turns one TOML file into a typed, validated RunConfig. Every error is a
// Status::Invalid whose message starts with `FILE:LINE:COLUMN: ` and names the key by its dotted
// path, what was expected and what was found. Unknown keys are errors. Values that only a later
// layer can check (driver and processor options) keep their SourceLocation so that layer can
// report `file:line:column` too (see ErrorAt).
// Pure functions over values; any thread. The reference is docs/config.md.
#pragma once

#include <chrono>
#include <cstddef>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "arrowdaq/core/flow_control.h"
#include "arrowdaq/core/options.h"
#include "arrowdaq/core/status.h"

namespace arrowdaq::config {

/// Point at a place in a config file (1-based line and column).
struct SourceLocation {
  std::string file;
  int line = 0;
  int column = 0;

  /// Return "file:line:column".
  [[nodiscard]] std::string ToString() const;
};

/// Return Status::Invalid("file:line:column: key: message"); "file:line:column: message" when
/// `key` is empty. Used by the parser and by later layers that check located values.
[[nodiscard]] Status ErrorAt(const SourceLocation& where, const std::string& key,
                             const std::string& message);

/// Hold one option value with the place it was written.
struct LocatedOption {
  OptionValue value;
  SourceLocation where;
};

/// Return the options without their locations.
[[nodiscard]] OptionMap PlainOptions(const std::map<std::string, LocatedOption>& options);

/// Describe one `[instruments.<name>]` table.
struct InstrumentConfig {
  std::string name;      ///< the table key; also the name of the instrument's stream
  std::string driver;    ///< required
  std::string resource;  ///< "" when absent (the driver's default applies)
  std::map<std::string, LocatedOption> options;  ///< free-form; checked later by the driver
  bool stop_run_on_failure = false;              ///< on_failure = "stop_run"
  /// Reconnect attempts after the instrument fails while acquiring (0: none).
  int reconnect_attempts = 5;
  /// First wait before reconnecting; doubles per attempt (up to 5 s).
  std::chrono::nanoseconds reconnect_backoff = std::chrono::milliseconds(200);
  SourceLocation where;                          ///< the table's location

  /// Return the options without their locations.
  [[nodiscard]] OptionMap PlainOptions() const { return config::PlainOptions(options); }
};

/// Describe one `[[subscriptions]]` entry: a live consumer of some streams.
struct SubscriptionConfig {
  std::string name;
  std::vector<std::string> streams;  ///< stream names, or {"*"} for every stream
  std::string kind = "monitor";
  std::size_t capacity = 16;
  OverflowPolicy policy = OverflowPolicy::kDropOldest;
  SourceLocation where;  ///< the entry's location
};

/// Describe the `[storage]` table. Storage subscriptions always use OverflowPolicy::kBlock.
struct StorageConfig {
  std::vector<std::string> formats{"hdf5"};  ///< subset of hdf5, arrow (or arrows), parquet, csv
  std::vector<std::string> streams{"*"};     ///< stream names, or {"*"} for every stream
  std::chrono::nanoseconds flush_interval = std::chrono::seconds(1);
  std::size_t capacity = 64;
  std::string compression = "none";  ///< "none" or "gzip" (HDF5)
  std::chrono::nanoseconds parquet_segment = std::chrono::seconds(60);
  /// Disk budget: the run refuses to start with less free space on the output's file system,
  /// and stops cleanly before the free space would fall below it (0: off).
  std::int64_t min_free_bytes = std::int64_t{64} << 20;
  /// Warn (event) when, at the current rate, min_free would be reached within this.
  std::chrono::nanoseconds disk_warn = std::chrono::minutes(10);
  /// Roll run.h5 into parts of about this size / age (0: off); see docs/file-format.md.
  std::int64_t hdf5_roll_bytes = 0;
  std::chrono::nanoseconds hdf5_roll_interval{0};
  SourceLocation where;  ///< the table's location
};

/// Describe one `[[processors]]` entry: a derived stream computed from `input`.
struct ProcessorConfig {
  std::string kind;
  std::string input;
  std::string output;
  std::map<std::string, LocatedOption> options;  ///< free-form; checked later by the processor
  SourceLocation where;                          ///< the entry's location

  /// Return the options without their locations.
  [[nodiscard]] OptionMap PlainOptions() const { return config::PlainOptions(options); }
};

/// Describe the `[run]` table.
struct RunOptions {
  std::chrono::nanoseconds duration{0};  ///< 0: run until stopped
  std::string output_dir = "runs";
  std::string log_level = "info";  ///< trace, debug, info, warn, error or off
  std::string name;                ///< "" when absent
  std::chrono::nanoseconds progress_interval = std::chrono::seconds(2);
  /// `[run.metadata]`: free key/value facts of the run (sample, operator, proposal, ...), in
  /// file order; values as text (numbers in their shortest form, booleans true/false).
  std::vector<std::pair<std::string, std::string>> metadata;
};

/// Hold a whole parsed and validated config file.
struct RunConfig {
  std::string path;  ///< the file name given to the parser (used in every location)
  std::string text;  ///< the file's full text, to be copied into the run's output
  RunOptions run;
  std::vector<InstrumentConfig> instruments;  ///< in file order; never empty
  std::vector<SubscriptionConfig> subscriptions;
  std::optional<StorageConfig> storage;  ///< nullopt when there is no [storage] table
  std::vector<ProcessorConfig> processors;  ///< in file order
};

/// Parse and validate a config from `text`; `filename` is used in error messages and locations.
/// Never throws. Errors are Status::Invalid starting with "filename:line:column: ".
[[nodiscard]] Result<RunConfig> ParseConfig(std::string_view text, const std::string& filename);

/// Read `path` and ParseConfig it. An unreadable file is Status::Invalid naming the path.
[[nodiscard]] Result<RunConfig> LoadConfigFile(const std::string& path);

/// Parse a duration: a non-negative decimal number followed by a unit, one of ns, us, ms, s, min,
/// h ("10s", "250ms", "1.5min", "2 h"); "0" needs no unit. Errors are Status::Invalid naming
/// the text and the allowed units.
[[nodiscard]] Result<std::chrono::nanoseconds> ParseDuration(std::string_view text);

/// Parse a size: a non-negative number and a unit, one of B, kB/KB, MB, GB, TB (powers of
/// 1000) or KiB, MiB, GiB, TiB (powers of 1024); no unit means bytes ("512MiB", "2 GB").
[[nodiscard]] Result<std::int64_t> ParseSize(std::string_view text);

/// Convert a non-negative number of seconds to nanoseconds; Invalid when negative, not finite or
/// out of range.
[[nodiscard]] Result<std::chrono::nanoseconds> SecondsToDuration(double seconds);

/// Check a run metadata key (`[run.metadata]`, `--meta`): 1..64 characters of
/// [A-Za-z0-9_.-], not starting with '.'. Invalid naming the key otherwise.
[[nodiscard]] Status ValidateMetadataKey(std::string_view key);

/// Parse a `--meta key=value` argument (the value may be empty and may hold '='); Invalid
/// naming the text when there is no '=' or the key is not valid.
[[nodiscard]] Result<std::pair<std::string, std::string>> ParseMetadataArgument(
    std::string_view text);

/// Set `key` to `value` in `metadata`, replacing an existing entry in place or appending.
void SetMetadata(std::vector<std::pair<std::string, std::string>>* metadata,
                 const std::string& key, const std::string& value);

/// Return whether `name` is a valid stream/instrument name: non-empty, only [A-Za-z0-9_.-].
[[nodiscard]] bool IsValidStreamName(std::string_view name);

}  // namespace arrowdaq::config
