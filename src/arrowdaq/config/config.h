// Run configuration: turns one TOML file into a typed, validated RunConfig. Every error is a
// Status::Invalid whose message starts with `FILE:LINE:COLUMN: ` and names the key by its dotted
// path, what was expected and what was found. Unknown keys are errors. Every table and key the
// file may hold is declared once, in ConfigTables() (name, type, default, range, allowed values,
// meaning); the parser reads the declaration and docs/config.md is tested against it. Values
// that only a later layer can check (driver and processor options, limits that depend on a
// driver's schema) keep their SourceLocation so that layer can report `file:line:column` too
// (see ErrorAt and app/run_plan.h).
// Pure functions over values; any thread. The reference is docs/config.md.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "arrowdaq/core/flow_control.h"
#include "arrowdaq/core/options.h"
#include "arrowdaq/core/status.h"

namespace arrowdaq::config {

/// Point at a place in a config file (1-based line and column). A location with line 0 is not
/// in the file: `file` then names where the value came from instead (a command-line option
/// such as "--output").
struct SourceLocation {
  std::string file;
  int line = 0;
  int column = 0;

  /// Return "file:line:column" ("file" alone when line is 0).
  [[nodiscard]] std::string ToString() const;
};

/// Return Status::Invalid("file:line:column: key: message"); "file:line:column: message" when
/// `key` is empty; "file: message" for a location outside the file (line 0, e.g. "--output").
/// Used by the parser and by later layers that check located values.
[[nodiscard]] Status ErrorAt(const SourceLocation& where, const std::string& key,
                             const std::string& message);

/// Append `key` to a dotted key path as messages print it, quoting a key that is not a bare
/// TOML key: KeyPath("instruments", "daq1.raw") is `instruments."daq1.raw"`.
[[nodiscard]] std::string KeyPath(const std::string& parent, std::string_view key);

/// Say where a table and each of its keys were written.
struct Located {
  SourceLocation where;  ///< the table's header (or the file's start when it has none)
  /// The value of each key given in the file (keys left at their default are absent); list
  /// items as "formats[1]".
  std::map<std::string, SourceLocation> key_where;

  /// Return where `key`'s value was written, or the table's location when it was not.
  [[nodiscard]] SourceLocation At(const std::string& key) const;
};

/// Hold one option value with the place it was written.
struct LocatedOption {
  OptionValue value;
  SourceLocation where;
};

/// Return the options without their locations.
[[nodiscard]] OptionMap PlainOptions(const std::map<std::string, LocatedOption>& options);

/// Describe one `[instruments.<name>]` table.
struct InstrumentConfig : Located {
  std::string name;      ///< the table key; also the name of the instrument's stream
  std::string driver;    ///< required
  std::string resource;  ///< "" when absent (the driver's default applies)
  std::map<std::string, LocatedOption> options;  ///< free-form; checked later by the driver
  bool stop_run_on_failure = false;              ///< on_failure = "stop_run"
  /// Reconnect attempts after the instrument fails while acquiring (0: none).
  int reconnect_attempts = 5;
  /// First wait before reconnecting; doubles per attempt (up to 5 s).
  std::chrono::nanoseconds reconnect_backoff = std::chrono::milliseconds(200);

  /// Return the options without their locations.
  [[nodiscard]] OptionMap PlainOptions() const { return config::PlainOptions(options); }
};

/// Describe one `[[subscriptions]]` entry: a live consumer of some streams.
struct SubscriptionConfig : Located {
  std::string name;
  std::vector<std::string> streams;  ///< stream names, or {"*"} for every stream
  std::string kind = "monitor";      ///< one of the declared choices (today only "monitor")
  std::size_t capacity = 16;
  OverflowPolicy policy = OverflowPolicy::kDropOldest;
};

/// Describe the `[storage]` table. Storage subscriptions always use OverflowPolicy::kBlock.
struct StorageConfig : Located {
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
};

/// Largest `[server] client_queue`.
inline constexpr std::size_t kMaxClientQueue = 4096;

/// Describe the `[server]` table: the Flight server of `arrowdaq serve` and `run --serve`
/// (docs/server.md). Its presence makes `arrowdaq run` serve too.
struct ServerConfig : Located {
  std::string listen = "grpc://127.0.0.1:8815";
  std::string token_file;  ///< "" none (then only loopback or a unix socket is allowed)
  std::string tls_cert;    ///< PEM files; both or neither
  std::string tls_key;
  /// Replay ring per stream: sample time kept, and Arrow buffer bytes kept at most.
  std::chrono::nanoseconds replay_seconds = std::chrono::seconds(10);
  std::int64_t replay_bytes = std::int64_t{64} << 20;
  /// Live packets, and Arrow buffer bytes, queued per DoGet client before the oldest drop.
  std::size_t client_queue = 64;
  std::int64_t client_queue_bytes = std::int64_t{64} << 20;
  /// Where the dashboard listens: "http://HOST:PORT" or "off" (docs/web.md).
  std::string http_listen = "http://127.0.0.1:8080";
};

/// Describe one `[[processors]]` entry: a derived stream computed from `input`.
struct ProcessorConfig : Located {
  std::string kind;
  std::string input;
  std::string output;
  std::map<std::string, LocatedOption> options;  ///< free-form; checked later by the processor

  /// Return the options without their locations.
  [[nodiscard]] OptionMap PlainOptions() const { return config::PlainOptions(options); }
};

/// Describe one `[[sinks]]` entry: streams sent out of the process (kind "kafka"). Every key
/// is declared in ConfigTables() ("sinks"); what only the sink can check (topic names from
/// the template, the producer settings) is checked by PlanRun.
struct SinkConfig : Located {
  std::string kind;                       ///< "kafka"
  std::string name;                       ///< unique among sinks; default: the kind
  std::vector<std::string> streams{"*"};  ///< stream names, or {"*"} for every stream
  OverflowPolicy policy = OverflowPolicy::kBlock;
  std::size_t capacity = 64;
  std::string brokers;                      ///< required
  std::string topic = "arrowdaq.<stream>";  ///< <stream> and <node> replaced
  std::string node;                         ///< "" when absent: the host name
  std::string schema_topic = "arrowdaq.schemas";
  std::chrono::nanoseconds flush_timeout = std::chrono::seconds(30);
  /// Client library settings passed through (`producer.linger.ms = 5` or a table with
  /// quoted dotted keys): nested tables are flattened with '.', values kept as text.
  std::map<std::string, LocatedOption> producer;
};

/// Describe the `[run]` table.
struct RunOptions : Located {
  std::chrono::nanoseconds duration{0};  ///< 0: run until stopped
  std::string output_dir = "runs";
  std::string log_level = "info";  ///< trace, debug, info, warn, error or off
  std::string name;                ///< "" when absent
  std::chrono::nanoseconds progress_interval = std::chrono::seconds(2);
  /// `[run.metadata]`: free key/value facts of the run (sample, operator, proposal, ...), in
  /// file order; values as text (numbers in their shortest form, booleans true/false).
  std::vector<std::pair<std::string, std::string>> metadata;
};

/// Describe the `[limits]` table: memory bounds a run's plan must fit (checked by validate).
struct LimitsConfig : Located {
  /// Most bytes one batch of one stream may hold (rows per batch x bytes per row).
  std::int64_t batch_bytes = std::int64_t{256} << 20;
  /// Most bytes of one stream that may wait in queues at once: its batch size times the
  /// batches its queues can hold (storage, live subscriptions, processor inputs, the source's
  /// FIFO).
  std::int64_t stream_queue_bytes = std::int64_t{4} << 30;
};

/// Describe the `[plugins]` table: driver plugins to load before the run is planned.
struct PluginsConfig : Located {
  /// Shared libraries, or directories of them (their `*.so` files), as written; a relative
  /// path is relative to the config file's directory (see PluginPaths).
  std::vector<std::string> paths;
};

/// Most points one plan may have.
inline constexpr std::int64_t kMaxPlanPoints = 10'000'000;

/// Describe one motor axis of a `[[plans]]` entry (`[[plans.axes]]`): which instrument and axis
/// moves, and where to (by the plan's kind: start/stop/num for line and grid, positions for
/// list). Limits are checked by app::PlanRun against the driver's axes.
struct PlanAxisConfig : Located {
  std::string motor;  ///< instrument name (its driver must be movable)
  std::string axis;   ///< the driver's axis name; "" for its first axis
  double start = 0;
  double stop = 0;
  std::int64_t num = 1;  ///< points along this axis (line, grid)
  std::vector<double> positions;  ///< list plans
};

/// Describe one detector of a `[[plans]]` entry (`[[plans.detectors]]`): a stream whose samples
/// inside each point's dwell window are reduced, or an instrument queried at each point.
struct PlanDetectorConfig : Located {
  std::string name;    ///< data key in the documents; default "<stream>_<column>" / instrument
  std::string stream;  ///< stream detector: the stream ("" for a polled detector)
  std::string column;  ///< its column; "" for the stream's first data column
  std::string reduce = "mean";  ///< mean, std, min, max or count
  std::string instrument;       ///< polled detector: the instrument ("" for a stream detector)
  std::string query;            ///< the command sent at each point ("D?"); reply parsed as number
};

/// Describe one `[[plans]]` entry: a scan `arrowdaq scan` runs (docs/scans.md).
struct PlanConfig : Located {
  std::string name;
  std::string kind;      ///< count, list, line or grid
  std::int64_t num = 1;  ///< count plans: points
  bool snake = false;    ///< grid plans: reverse every other row of the faster axes
  std::chrono::nanoseconds settle{0};  ///< wait after the motors stop, before the window
  std::chrono::nanoseconds dwell{0};   ///< the window over the detector streams
  /// 0: a move may take as long as it takes; else axes still moving that long after a point's
  /// moves were sent are stopped and the scan fails
  std::chrono::nanoseconds move_timeout{0};
  std::vector<PlanAxisConfig> axes;
  std::vector<PlanDetectorConfig> detectors;
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
  LimitsConfig limits;                      ///< [limits] or its defaults
  std::optional<ServerConfig> server;       ///< nullopt when there is no [server] table
  PluginsConfig plugins;                    ///< [plugins] or none

  /// Return plugins.paths with relative paths resolved against the config file's directory,
  /// each with its location ("paths[1]").
  [[nodiscard]] std::vector<std::pair<std::string, SourceLocation>> PluginPaths() const;
  std::vector<SinkConfig> sinks;            ///< in file order
  std::vector<PlanConfig> plans;            ///< `[[plans]]`, in file order
};

/// Describe one table a config file may hold, for the parser, the CLI and the documentation
/// test. `name` is as documented: "run", "instruments.<name>", "subscriptions" (an array of
/// tables, [[subscriptions]]), "storage", "processors", "sinks", "limits", "server", "plugins".
struct TableSpec {
  std::string name;
  bool array_of_tables = false;
  std::vector<OptionSpec> keys;  ///< in documentation order
};

/// Return every table a config file may hold, with every key: the one declaration the parser
/// reads. The defaults declared here equal the default member values of the structs above (a
/// unit test holds them together).
[[nodiscard]] const std::vector<TableSpec>& ConfigTables();

/// Return the declaration of one table (by TableSpec::name); nullptr when there is none.
[[nodiscard]] const TableSpec* FindTable(std::string_view name);

/// Parse and validate a config from `text`; `filename` is used in error messages and locations.
/// Never throws. Errors are Status::Invalid starting with "filename:line:column: ".
[[nodiscard]] Result<RunConfig> ParseConfig(std::string_view text, const std::string& filename);

/// Read `path` and ParseConfig it. An unreadable file is Status::Invalid naming the path.
[[nodiscard]] Result<RunConfig> LoadConfigFile(const std::string& path);

/// Values given on the command line that replace keys of the file's [run] table.
struct RunOverrides {
  std::optional<std::string> duration;   ///< --duration
  std::optional<std::string> output;     ///< --output
  std::optional<std::string> log_level;  ///< --log-level
};

/// Check each override as strictly as the key it replaces and apply it to `config`; the
/// replaced key's location becomes the option ("--output"), so a later error about the value
/// names the option. Errors are Status::Invalid starting with the option's name
/// ("--output: expected a non-empty directory path, got \"\"").
[[nodiscard]] Status ApplyOverrides(const RunOverrides& overrides, RunConfig* config);

/// Parse a duration: a non-negative decimal number followed by a unit, one of ns, us, ms, s, min,
/// h ("10s", "250ms", "1.5min", "2 h"); "0" needs no unit. A duration that is not 0 but rounds to
/// 0 ns ("0.1ns") is an error, never "until stopped". Errors are Status::Invalid naming the text
/// and the allowed units.
[[nodiscard]] Result<std::chrono::nanoseconds> ParseDuration(std::string_view text);

/// Parse a byte size: a positive decimal number with an optional unit, one of B, kB, MB, GB,
/// TB (powers of 1000) or KiB, MiB, GiB, TiB (powers of 1024): "256MiB", "1.5 GB", "4096".
/// The result is rounded down to whole bytes and must be at least 1. Errors are
/// Status::Invalid naming the text and the allowed units.
[[nodiscard]] Result<std::int64_t> ParseByteSize(std::string_view text);

/// Return whether `text` is a zero byte size ("0", "0 MiB"), which ParseByteSize refuses.
[[nodiscard]] bool IsZeroByteSize(std::string_view text);

/// Format a byte count for people with a binary unit: "512 B", "1.5 KiB", "76.4 GiB".
[[nodiscard]] std::string FormatByteSize(double bytes);

/// Convert a non-negative number of seconds to nanoseconds; Invalid when negative, not finite,
/// out of range, or not 0 but shorter than 1 ns.
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

/// Longest name (instrument, stream, subscription, run) in bytes: a name becomes a file name
/// (`<stream>.arrows`, `<name>-<time>/`), and file names are limited to 255 bytes.
inline constexpr std::size_t kMaxNameLength = 200;

/// Stream names that are reserved: "events", "entry" and "metadata" (groups of run.h5) and
/// names ending in ".units" or ".metadata" (a CSV stream's sidecar files).
[[nodiscard]] bool IsReservedStreamName(std::string_view name);

/// Return whether `name` is a valid name: non-empty, at most kMaxNameLength bytes, only
/// [A-Za-z0-9_.-], not starting with '.' (so never ".", ".." or a hidden file).
[[nodiscard]] bool IsValidName(std::string_view name);

/// Return whether `name` is a valid stream/instrument name: IsValidName and not reserved.
[[nodiscard]] bool IsValidStreamName(std::string_view name);

}  // namespace arrowdaq::config
