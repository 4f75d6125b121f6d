#include "arrowdaq/app/run_plan.h"

#include <algorithm>
#include <climits>
#include <cstdlib>
#include <limits>
#include <optional>
#include <filesystem>
#include <map>
#include <set>

#include <arrow/extension_type.h>
#include <arrow/type.h>
#include <arrow/type_traits.h>

#include "arrowdaq/app/sinks_setup.h"
#include "arrowdaq/hardware/resource.h"
#include "arrowdaq/instruments/driver.h"
#include "arrowdaq/instruments/plugins.h"
#include "arrowdaq/pipeline/processor.h"

namespace arrowdaq::app {

namespace {

using config::ErrorAt;
using config::KeyPath;

// File names are limited to 255 bytes (NAME_MAX on Linux), whole paths to 4096 (PATH_MAX).
constexpr std::size_t kMaxFileNameBytes = 255;
constexpr std::size_t kMaxPathBytes = PATH_MAX;
// The longest name arrowdaq puts below the output directory: a run id
// (`<name>-YYYYMMDDTHHMMSSZ-<k>`) and a file in it (`<stream>.00000.parquet.partial`).
constexpr std::size_t kMaxRunIdBytes = config::kMaxNameLength + 1 + 16 + 1 + 10;
constexpr std::size_t kMaxRunFileBytes = config::kMaxNameLength + 22;

std::string Shorten(const std::string& text) {
  constexpr std::size_t kShown = 60;
  return text.size() <= kShown ? text : text.substr(0, kShown) + "...";
}

// The run directory `<output>/<run-id>/` and the files in it must fit the file system's
// limits; otherwise creating them fails half-way through a run's start.
Status CheckOutputPath(const config::RunOptions& run) {
  const std::string& output = run.output_dir;
  const config::SourceLocation where = run.At("output");
  for (const auto& part : std::filesystem::path(output)) {
    const std::string name = part.string();
    if (name.size() > kMaxFileNameBytes) {
      return ErrorAt(where, "run.output",
                     "the directory name \"" + Shorten(name) + "\" is " +
                         std::to_string(name.size()) + " bytes long; file and directory names " +
                         "are limited to " + std::to_string(kMaxFileNameBytes) + " bytes");
    }
  }
  const std::size_t longest = output.size() + 1 + kMaxRunIdBytes + 1 + kMaxRunFileBytes;
  if (longest >= kMaxPathBytes) {
    return ErrorAt(where, "run.output",
                   "the path \"" + Shorten(output) + "\" is " + std::to_string(output.size()) +
                       " bytes long; with a run id and file names below it, paths would exceed " +
                       "the system's limit of " + std::to_string(kMaxPathBytes) + " bytes");
  }
  return Status::OK();
}

// Point a factory's error at the option it names when the config gives that option, else at
// `fallback` (the table); `key` is the dotted path of the options table.
Status FactoryError(const Status& st, const std::map<std::string, config::LocatedOption>& given,
                    const config::SourceLocation& fallback, const std::string& key) {
  const std::string option = OptionNamedIn(st.message());
  if (auto it = given.find(option); !option.empty() && it != given.end()) {
    return ErrorAt(it->second.where, KeyPath(key, option), st.message());
  }
  return ErrorAt(fallback, key, st.message());
}

// Simulated drivers (their default resource is SIM::<model>) take SIM:: resources only; the
// drivers of real devices (no default) take TCPIP sockets and serial lines, never SIM::.
Status CheckResource(const config::InstrumentConfig& inst, const instruments::DriverInfo& info,
                     const std::string& path, std::string* resolved) {
  if (inst.resource.empty()) {
    if (info.default_resource.empty()) {
      return ErrorAt(inst.where, path,
                     "missing required key \"resource\": driver '" + info.name +
                         "' talks to a real device; give its address, for example resource = "
                         "\"TCPIP::192.168.1.5::5025::SOCKET\" or \"ASRL/dev/ttyUSB0::INSTR\"");
    }
    *resolved = info.default_resource;
    return Status::OK();
  }
  const std::string key = path + ".resource";
  const config::SourceLocation where = inst.At("resource");
  auto parsed = hardware::ParseResource(inst.resource);
  if (!parsed.ok()) return ErrorAt(where, key, parsed.status().message());
  const bool simulated = !info.default_resource.empty() &&
                         hardware::ParseResource(info.default_resource).ok() &&
                         hardware::ParseResource(info.default_resource)->kind ==
                             hardware::ResourceKind::kSim;
  if (simulated && parsed->kind != hardware::ResourceKind::kSim) {
    return ErrorAt(where, key,
                   "driver '" + info.name + "' is simulated and takes a SIM::<model> resource "
                   "(or none: its default is " + info.default_resource + "), not " +
                       std::string(hardware::ToString(parsed->kind)) +
                       "; to read a real device, choose its driver (arrowdaq drivers)");
  }
  if (!simulated && parsed->kind == hardware::ResourceKind::kSim) {
    return ErrorAt(where, key,
                   "driver '" + info.name + "' talks to a real device over "
                   "TCPIP::<host>::<port>::SOCKET or ASRL<device>::INSTR, not SIM; for a "
                   "simulated source choose a sim.* driver (arrowdaq drivers)");
  }
  *resolved = inst.resource;
  return Status::OK();
}

// Bytes of one value of `type` when it has a fixed width (frames and waveforms included);
// nullopt otherwise.
std::optional<std::int64_t> FixedWidthBytes(const arrow::DataType& type) {
  if (type.id() == arrow::Type::EXTENSION) {
    return FixedWidthBytes(*static_cast<const arrow::ExtensionType&>(type).storage_type());
  }
  if (type.id() == arrow::Type::FIXED_SIZE_LIST) {
    const auto& list = static_cast<const arrow::FixedSizeListType&>(type);
    const auto value = FixedWidthBytes(*list.value_type());
    if (!value) return std::nullopt;
    return *value * list.list_size();
  }
  const auto* fixed = dynamic_cast<const arrow::FixedWidthType*>(&type);
  if (fixed == nullptr || fixed->bit_width() % 8 != 0) return std::nullopt;
  return fixed->bit_width() / 8;
}

std::int64_t RowBytes(const arrow::Schema& schema) {
  std::int64_t total = 0;
  for (const auto& field : schema.fields()) {
    const auto bytes = FixedWidthBytes(*field->type());
    if (!bytes) return 0;
    total += *bytes;
  }
  return total;
}

// rows * bytes, saturating instead of overflowing.
std::int64_t Times(std::int64_t a, std::int64_t b) {
  if (a == 0 || b == 0) return 0;
  if (a > std::numeric_limits<std::int64_t>::max() / b) return std::numeric_limits<std::int64_t>::max();
  return a * b;
}

StreamMemory MemoryOf(std::int64_t rows, const arrow::Schema& schema) {
  StreamMemory m;
  m.batch_rows = rows;
  m.row_bytes = RowBytes(schema);
  m.batch_bytes = Times(m.batch_rows, m.row_bytes);
  return m;
}

Result<PlannedInstrument> PlanInstrument(const config::InstrumentConfig& inst) {
  const std::string path = KeyPath("instruments", inst.name);
  const auto& registry = instruments::DriverRegistry::Default();
  auto info = registry.Find(inst.driver);
  if (!info.ok()) return ErrorAt(inst.At("driver"), path + ".driver", info.status().message());
  for (const auto& [key, opt] : inst.options) {
    if (Status st = CheckOption((*info)->options, key, opt.value); !st.ok()) {
      return ErrorAt(opt.where, KeyPath(path + ".options", key), st.message());
    }
  }
  PlannedInstrument out;
  out.name = inst.name;
  out.driver = inst.driver;
  ARROW_RETURN_NOT_OK(CheckResource(inst, **info, path, &out.resource));
  // Range checks live in the driver's factory: build one now and throw it away.
  auto driver = registry.Create(inst.driver, inst.PlainOptions());
  if (!driver.ok()) {
    return FactoryError(driver.status(), inst.options, inst.At("options"), path + ".options");
  }
  out.stream = std::make_shared<StreamInfo>(StreamInfo{inst.name, (*driver)->schema()});
  ARROW_ASSIGN_OR_RAISE(const auto resolved,
                        ResolvedOptions::Make((*info)->options, inst.PlainOptions()));
  for (const char* name : kBatchRowsOptions) {
    if (resolved.values().count(name) != 0) {
      out.memory = MemoryOf(resolved.GetInt(name), *out.stream->schema);
      break;
    }
  }
  return out;
}

// Rows per output batch of a processor, at most: stats reduces a batch to one row, decimate
// keeps every factor-th row, the filters keep every row.
Result<std::int64_t> ProcessorRows(const config::ProcessorConfig& proc, std::int64_t input_rows,
                                   const std::vector<OptionSpec>& specs) {
  if (proc.kind == "stats") return input_rows == 0 ? 0 : 1;
  if (proc.kind == "decimate") {
    ARROW_ASSIGN_OR_RAISE(const auto options, ResolvedOptions::Make(specs, proc.PlainOptions()));
    const std::int64_t factor = std::max<std::int64_t>(1, options.GetInt("factor"));
    return (input_rows + factor - 1) / factor;
  }
  return input_rows;
}

// Where a memory error about an instrument points: the option that sets its batch rows when
// the file gives it, else its options (or its table).
config::SourceLocation BatchLocation(const config::InstrumentConfig& inst, std::string* key) {
  const std::string options = KeyPath("instruments", inst.name) + ".options";
  for (const char* name : kBatchRowsOptions) {
    if (auto it = inst.options.find(name); it != inst.options.end()) {
      *key = KeyPath(options, name);
      return it->second.where;
    }
  }
  *key = inst.options.empty() ? KeyPath("instruments", inst.name) : options;
  return inst.options.empty() ? inst.where : inst.At("options");
}

std::string ShapeText(const StreamMemory& m) {
  return std::to_string(m.batch_rows) + " rows x " + std::to_string(m.row_bytes) + " bytes = " +
         config::FormatByteSize(static_cast<double>(m.batch_bytes));
}

// Bound each stream's batch and queued bytes by [limits] (docs/config.md, "[limits]").
Status CheckMemory(const config::RunConfig& config, RunPlan* plan) {
  const config::LimitsConfig& limits = config.limits;
  const std::string batch_limit = "limits.batch_bytes (" +
                                  config::FormatByteSize(static_cast<double>(limits.batch_bytes)) +
                                  ")";
  const std::string queue_limit =
      "limits.stream_queue_bytes (" +
      config::FormatByteSize(static_cast<double>(limits.stream_queue_bytes)) + ")";
  const auto stored = [plan](const std::string& name) {
    const auto& s = plan->stored_streams;
    return std::find(s.begin(), s.end(), name) != s.end();
  };
  // Every queue a stream's packets wait in, with the key that sets its length.
  const auto queues = [&](const std::string& name, std::int64_t fifo) {
    std::vector<std::pair<std::string, std::int64_t>> out;
    if (stored(name)) out.emplace_back("storage.capacity", plan->storage.capacity);
    for (std::size_t i = 0; i < config.subscriptions.size(); ++i) {
      const auto& sub = config.subscriptions[i];
      const bool all = sub.streams.size() == 1 && sub.streams[0] == "*";
      if (all || std::find(sub.streams.begin(), sub.streams.end(), name) != sub.streams.end()) {
        out.emplace_back("subscriptions[" + std::to_string(i) + "].capacity", sub.capacity);
      }
    }
    for (std::size_t i = 0; i < config.sinks.size(); ++i) {
      const auto& sink = config.sinks[i];
      const bool all = sink.streams.size() == 1 && sink.streams[0] == "*";
      if (all || std::find(sink.streams.begin(), sink.streams.end(), name) != sink.streams.end()) {
        out.emplace_back("sinks[" + std::to_string(i) + "].capacity",
                         static_cast<std::int64_t>(sink.capacity));
      }
    }
    for (const auto& proc : config.processors) {
      if (proc.input == name) {
        out.emplace_back("the input of processor '" + proc.output + "'",
                         static_cast<std::int64_t>(kProcessorInputCapacity));
      }
    }
    if (fifo > 0) out.emplace_back("options.fifo_batches", fifo);
    return out;
  };
  const auto check_queue = [&](const std::string& name, StreamMemory* m, std::int64_t fifo,
                               const config::SourceLocation& fallback,
                               const std::string& fallback_key) -> Status {
    const auto parts = queues(name, fifo);
    std::string sum;
    m->queued_batches = 0;
    for (const auto& [what, batches] : parts) {
      m->queued_batches += batches;
      sum += (sum.empty() ? "" : " + ") + std::to_string(batches) + " (" + what + ")";
    }
    m->queue_bytes = Times(m->queued_batches, m->batch_bytes);
    if (m->queue_bytes <= limits.stream_queue_bytes) return Status::OK();
    // Point at the longest queue the file sets, else at what sets the batch size.
    config::SourceLocation where = fallback;
    std::string key = fallback_key;
    if (stored(name) && config.storage && config.storage->key_where.count("capacity") != 0) {
      where = config.storage->At("capacity");
      key = "storage.capacity";
    }
    return ErrorAt(where, key,
                   "stream '" + name + "' may hold " + sum + " = " +
                       std::to_string(m->queued_batches) + " batches of " + ShapeText(*m) +
                       " in queues: " +
                       config::FormatByteSize(static_cast<double>(m->queue_bytes)) +
                       ", more than " + queue_limit +
                       "; lower the capacities or the batch size, or raise "
                       "limits.stream_queue_bytes");
  };

  for (std::size_t i = 0; i < plan->instruments.size(); ++i) {
    auto& planned = plan->instruments[i];
    const auto& inst = config.instruments[i];
    std::string key;
    const config::SourceLocation where = BatchLocation(inst, &key);
    StreamMemory& m = planned.memory;
    if (m.batch_bytes > limits.batch_bytes) {
      return ErrorAt(where, key,
                     "one batch of '" + inst.name + "' would hold " + ShapeText(m) +
                         ", more than " + batch_limit +
                         "; lower the rows per batch or the channels, or raise "
                         "limits.batch_bytes");
    }
    std::int64_t fifo = 0;
    if (auto it = inst.options.find("fifo_batches"); it != inst.options.end()) {
      if (const auto* n = std::get_if<std::int64_t>(&it->second.value)) fifo = *n;
    }
    ARROW_RETURN_NOT_OK(check_queue(inst.name, &m, fifo, where, key));
  }
  std::map<std::string, StreamMemory> by_name;
  for (const auto& inst : plan->instruments) by_name[inst.name] = inst.memory;
  for (std::size_t i = 0; i < plan->processors.size(); ++i) {
    auto& proc = plan->processors[i];
    const auto& input = by_name[proc.config.input];
    ARROW_ASSIGN_OR_RAISE(const auto specs, pipeline::ProcessorOptionSpecs(proc.config.kind));
    ARROW_ASSIGN_OR_RAISE(const auto rows, ProcessorRows(proc.config, input.batch_rows, specs));
    proc.memory = MemoryOf(rows, *proc.stream->schema);
    ARROW_RETURN_NOT_OK(
        check_queue(proc.config.output, &proc.memory, 0, proc.config.where, "processors"));
    by_name[proc.config.output] = proc.memory;
  }
  return Status::OK();
}

// Why `stream` cannot be written as CSV ("" when it can). The CSV writer stores one number per
// cell; a frame or waveform per row does not fit.
std::string CsvRefusal(const StreamInfo& stream) {
  for (int i = 1; i < stream.schema->num_fields(); ++i) {
    const auto& field = stream.schema->field(i);
    const auto id = field->type()->id();
    if (id == arrow::Type::EXTENSION || id == arrow::Type::FIXED_SIZE_LIST) {
      return "column '" + field->name() + "' holds " + field->type()->ToString() +
             " (a frame or waveform per row), which CSV cannot store";
    }
    if (!arrow::is_integer(id) && id != arrow::Type::FLOAT && id != arrow::Type::DOUBLE) {
      return "column '" + field->name() + "' has type " + field->type()->ToString() +
             " (CSV stores only numbers)";
    }
  }
  return "";
}

Status CheckStorage(const config::RunConfig& config, const RunPlan& plan) {
  const config::StorageConfig& storage = plan.storage;
  std::map<std::string, std::shared_ptr<const StreamInfo>> by_name;
  for (const auto& stream : plan.streams()) by_name[stream->name] = stream;
  for (std::size_t f = 0; f < storage.formats.size(); ++f) {
    if (storage.formats[f] != "csv") continue;
    for (const auto& name : plan.stored_streams) {
      const std::string why = CsvRefusal(*by_name.at(name));
      if (why.empty()) continue;
      const std::string item = "formats[" + std::to_string(f) + "]";
      const config::SourceLocation where =
          config.storage ? storage.At(item) : config::SourceLocation{config.path, 1, 1};
      return ErrorAt(where, "storage." + item,
                     "stream '" + name + "' cannot be written as CSV: " + why +
                         "; write it as hdf5, arrows or parquet, or leave it out of "
                         "storage.streams");
    }
  }
  return Status::OK();
}

}  // namespace

std::vector<std::shared_ptr<const StreamInfo>> RunPlan::streams() const {
  std::vector<std::shared_ptr<const StreamInfo>> out;
  for (const auto& inst : instruments) out.push_back(inst.stream);
  for (const auto& proc : processors) out.push_back(proc.stream);
  return out;
}

std::vector<config::ProcessorConfig> RunPlan::ProcessorConfigs() const {
  std::vector<config::ProcessorConfig> out;
  out.reserve(processors.size());
  for (const auto& proc : processors) out.push_back(proc.config);
  return out;
}

Status LoadPlugins(const config::RunConfig* config) {
  auto& registry = instruments::DriverRegistry::Default();
  const auto load_all = [&registry](const std::string& path) -> Status {
    ARROW_ASSIGN_OR_RAISE(const auto files, instruments::ExpandPluginPath(path));
    for (const auto& file : files) {
      ARROW_RETURN_NOT_OK(instruments::LoadPlugin(file, registry).status());
    }
    return Status::OK();
  };
  if (const char* env = std::getenv(kPluginPathVariable); env != nullptr) {
    for (const auto& path : instruments::SplitPluginPathList(env)) {
      if (Status st = load_all(path); !st.ok()) {
        return Status::Invalid(kPluginPathVariable, ": ", st.message());
      }
    }
  }
  if (config == nullptr) return Status::OK();
  const auto paths = config->PluginPaths();
  for (std::size_t i = 0; i < paths.size(); ++i) {
    const auto& [path, where] = paths[i];
    if (Status st = load_all(path); !st.ok()) {
      return ErrorAt(where, "plugins.paths[" + std::to_string(i) + "]", st.message());
    }
  }
  return Status::OK();
}

Result<int> PlanAxisIndex(const std::vector<instruments::AxisInfo>& axes,
                          const config::PlanAxisConfig& axis, const std::string& path) {
  if (axes.empty()) return ErrorAt(axis.At("motor"), path + ".motor", "the motor has no axes");
  if (axis.axis.empty()) return 0;
  std::string names;
  for (std::size_t i = 0; i < axes.size(); ++i) {
    if (axes[i].name == axis.axis) return static_cast<int>(i);
    names += (i ? ", " : "") + axes[i].name;
  }
  return ErrorAt(axis.At("axis"), path + ".axis",
                 "instrument '" + axis.motor + "' has no axis '" + axis.axis + "' (axes: " +
                     names + ")");
}

Result<std::string> DetectorColumn(const arrow::Schema& schema,
                                   const config::PlanDetectorConfig& detector,
                                   const std::string& path) {
  std::string column = detector.column;
  if (column.empty()) {
    if (schema.num_fields() < 2) {
      return ErrorAt(detector.At("stream"), path + ".stream", "the stream has no data column");
    }
    column = schema.field(1)->name();
  }
  const auto field = schema.GetFieldByName(column);
  std::string names;
  for (int i = 1; i < schema.num_fields(); ++i) names += (i > 1 ? ", " : "") + schema.field(i)->name();
  if (field == nullptr || column == "timestamp") {
    return ErrorAt(detector.At("column"), path + ".column",
                   "stream '" + detector.stream + "' has no column '" + column +
                       "' (columns: " + names + ")");
  }
  const auto id = field->type()->id();
  const bool numeric = arrow::is_floating(id) || arrow::is_integer(id);
  if (!numeric) {
    return ErrorAt(detector.At(detector.column.empty() ? "stream" : "column"), path + ".column",
                   "column '" + column + "' of stream '" + detector.stream + "' is " +
                       field->type()->ToString() + "; a detector reduces a numeric column");
  }
  return column;
}

namespace {

// Every plan: its motors move, its axes exist, every target lies within the soft limits (at
// the value at fault), its detector columns are numeric.
Status CheckPlans(const config::RunConfig& config,
                  const std::map<std::string, std::shared_ptr<const StreamInfo>>& streams,
                  RunPlan* plan) {
  const auto& registry = instruments::DriverRegistry::Default();
  for (std::size_t p = 0; p < config.plans.size(); ++p) {
    const config::PlanConfig& scan = config.plans[p];
    const std::string ppath = "plans[" + std::to_string(p) + "]";
    for (std::size_t a = 0; a < scan.axes.size(); ++a) {
      const config::PlanAxisConfig& axis = scan.axes[a];
      const std::string apath = ppath + ".axes[" + std::to_string(a) + "]";
      if (plan->motor_axes.count(axis.motor) == 0) {
        const config::InstrumentConfig* inst = nullptr;
        for (const auto& i : config.instruments) {
          if (i.name == axis.motor) inst = &i;
        }
        if (inst == nullptr) {
          return ErrorAt(axis.At("motor"), apath + ".motor",
                         "unknown instrument '" + axis.motor + "'");
        }
        ARROW_ASSIGN_OR_RAISE(auto driver, registry.Create(inst->driver, inst->PlainOptions()));
        if (driver->movable() == nullptr) {
          return ErrorAt(axis.At("motor"), apath + ".motor",
                         "instrument '" + axis.motor + "' (driver " + inst->driver +
                             ") moves nothing; a plan's axes need a movable driver such as "
                             "sim.motor or newport.esp300");
        }
        plan->motor_axes[axis.motor] = driver->movable()->Axes();
      }
      const auto& axes = plan->motor_axes[axis.motor];
      ARROW_ASSIGN_OR_RAISE(const int index, PlanAxisIndex(axes, axis, apath));
      const instruments::AxisInfo& info = axes[static_cast<std::size_t>(index)];
      auto check = [&](double target, const std::string& key) -> Status {
        if (target >= info.min && target <= info.max) return Status::OK();
        return ErrorAt(axis.At(key), apath + "." + key,
                       "target " + FormatNumber(target) + " is outside the soft limits [" +
                           FormatNumber(info.min) + ", " + FormatNumber(info.max) + "] " +
                           info.unit + " of " + axis.motor + "." + info.name +
                           " (nothing has moved)");
      };
      if (scan.kind == "list") {
        for (std::size_t i = 0; i < axis.positions.size(); ++i) {
          ARROW_RETURN_NOT_OK(check(axis.positions[i], "positions[" + std::to_string(i) + "]"));
        }
      } else {
        ARROW_RETURN_NOT_OK(check(axis.start, "start"));
        ARROW_RETURN_NOT_OK(check(axis.stop, "stop"));
      }
    }
    for (std::size_t d = 0; d < scan.detectors.size(); ++d) {
      const config::PlanDetectorConfig& det = scan.detectors[d];
      if (det.stream.empty()) continue;
      const std::string dpath = ppath + ".detectors[" + std::to_string(d) + "]";
      const auto it = streams.find(det.stream);
      if (it == streams.end()) {
        return ErrorAt(det.At("stream"), dpath + ".stream", "unknown stream '" + det.stream + "'");
      }
      ARROW_RETURN_NOT_OK(DetectorColumn(*it->second->schema, det, dpath).status());
    }
  }
  return Status::OK();
}

}  // namespace

Result<RunPlan> PlanRun(const config::RunConfig& config) {
  RunPlan plan;
  ARROW_RETURN_NOT_OK(LoadPlugins(&config));
  ARROW_RETURN_NOT_OK(CheckOutputPath(config.run));

  std::map<std::string, std::shared_ptr<const StreamInfo>> streams;
  for (const auto& inst : config.instruments) {
    ARROW_ASSIGN_OR_RAISE(auto planned, PlanInstrument(inst));
    streams[inst.name] = planned.stream;
    plan.instruments.push_back(std::move(planned));
  }

  // Processors in dependency order (an input must exist before its processor); the config
  // parser has already refused unknown inputs and cycles.
  std::vector<bool> placed(config.processors.size(), false);
  for (bool progress = true; progress;) {
    progress = false;
    for (std::size_t i = 0; i < config.processors.size(); ++i) {
      const auto& proc = config.processors[i];
      if (placed[i] || streams.count(proc.input) == 0) continue;
      const std::string key = "processors[" + std::to_string(i) + "]";
      auto specs = pipeline::ProcessorOptionSpecs(proc.kind);
      if (!specs.ok()) {
        return ErrorAt(proc.At("kind"), key + ".kind", specs.status().message());
      }
      for (const auto& [name, opt] : proc.options) {
        if (Status st = CheckOption(*specs, name, opt.value); !st.ok()) {
          return ErrorAt(opt.where, KeyPath(key + ".options", name), st.message());
        }
      }
      auto made = pipeline::MakeProcessor(
          {proc.kind, proc.output, streams[proc.input], proc.PlainOptions()});
      if (!made.ok()) {
        return FactoryError(made.status(), proc.options, proc.At("options"), key + ".options");
      }
      auto output = std::make_shared<StreamInfo>(StreamInfo{proc.output, (*made)->output_schema()});
      streams[proc.output] = output;
      plan.processors.push_back({proc, std::move(output)});
      placed[i] = progress = true;
    }
  }
  for (std::size_t i = 0; i < config.processors.size(); ++i) {
    if (!placed[i]) {
      return ErrorAt(config.processors[i].At("input"),
                     "processors[" + std::to_string(i) + "].input",
                     "input '" + config.processors[i].input +
                         "' is not an instrument or an earlier processor's output");
    }
  }

  // Sinks: the kind's rules (names, topic per stream, producer settings) as run applies them.
  {
    std::vector<std::string> names;
    for (const auto& [name, info] : streams) names.push_back(name);
    ARROW_RETURN_NOT_OK(CheckSinks(config, names));
  }

  if (config.storage) plan.storage = *config.storage;  // else the defaults: run.h5 of every stream
  const bool all = plan.storage.streams.size() == 1 && plan.storage.streams[0] == "*";
  for (const auto& stream : plan.streams()) {
    const auto& wanted = plan.storage.streams;
    if (all || std::find(wanted.begin(), wanted.end(), stream->name) != wanted.end()) {
      plan.stored_streams.push_back(stream->name);
    }
  }
  ARROW_RETURN_NOT_OK(CheckStorage(config, plan));
  ARROW_RETURN_NOT_OK(CheckMemory(config, &plan));
  ARROW_RETURN_NOT_OK(CheckPlans(config, streams, &plan));
  return plan;
}

}  // namespace arrowdaq::app
