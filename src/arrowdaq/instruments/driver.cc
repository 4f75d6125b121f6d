#include "arrowdaq/instruments/driver.h"

#include <algorithm>
#include <mutex>
#include <set>

#include "arrowdaq/instruments/kafka_source.h"
#include "arrowdaq/instruments/scpi_driver.h"
#include "arrowdaq/instruments/sim_camera_driver.h"
#include "arrowdaq/instruments/sim_driver.h"
#include "arrowdaq/instruments/sim_motor_driver.h"

namespace arrowdaq::instruments {

namespace {

std::string KnownNames(const std::vector<std::unique_ptr<DriverInfo>>& drivers) {
  std::vector<std::string> names;
  names.reserve(drivers.size());
  for (const auto& d : drivers) names.push_back(d->name);
  std::sort(names.begin(), names.end());
  std::string out;
  for (const auto& n : names) out += (out.empty() ? "" : ", ") + n;
  return out.empty() ? "none" : out;
}

Status Prefixed(const std::string& name, const Status& st) {
  return Status(st.code(), name + ": " + st.message());
}

}  // namespace

DriverRegistry& DriverRegistry::Default() {
  // C++ guarantees thread-safe one-time initialisation of function-local statics.
  static DriverRegistry* const registry = [] {
    static DriverRegistry instance;
    Status st = RegisterSimDrivers(instance);
    if (st.ok()) st = RegisterSimCameraDriver(instance);
    if (st.ok()) st = RegisterDeviceDrivers(instance);
    if (st.ok()) st = RegisterKafkaDriver(instance);
    if (st.ok()) st = RegisterSimMotorDriver(instance);
    // Built-in registrations are fixed at compile time; a failure is a programming error that
    // every test run shows at once.
    if (!st.ok()) st.Abort("registering the built-in drivers");
    return &instance;
  }();
  return *registry;
}

std::vector<OptionSpec> SimPoolOptionSpecs() {
  return {
      {"pool_batches", std::int64_t{0},
       "batches kept for reuse (recycled when their last reader lets go), 0..4096; 0: about "
       "64 MiB of batches, 2 to 128",
       "batches"},
      {"on_pool_exhausted", std::string("count"),
       "when readers hold every pooled batch: \"count\" (a fresh batch, freed after use, counted "
       "as an overflow) or \"block\" (wait for one to come back; the read fails after its "
       "timeout)",
       ""},
  };
}

Result<SimPoolOptions> SimPoolOptionsFrom(const ResolvedOptions& options) {
  SimPoolOptions out;
  out.batches = options.GetInt("pool_batches");
  if (out.batches < 0 || out.batches > 4096) {
    return Status::Invalid("option 'pool_batches' must be 0..4096, got ", out.batches);
  }
  auto policy = ParsePoolExhaustion(options.GetString("on_pool_exhausted"));
  if (!policy.ok()) {
    return Status::Invalid("option 'on_pool_exhausted': ", policy.status().message());
  }
  out.on_exhausted = *policy;
  return out;
}

std::int64_t SimPoolBatches(const SimPoolOptions& options, std::int64_t block_bytes) {
  if (options.batches > 0) return options.batches;
  constexpr std::int64_t kPoolBytes = std::int64_t{64} << 20;
  return std::clamp<std::int64_t>(kPoolBytes / std::max<std::int64_t>(block_bytes, 1), 2, 128);
}

Status DriverRegistry::Register(DriverInfo info) {
  std::vector<DriverInfo> one;
  one.push_back(std::move(info));
  return RegisterAll(std::move(one));
}

namespace {

Status CheckComplete(const DriverInfo& info) {
  if (info.name.empty()) return Status::Invalid("cannot register a driver without a name");
  if (!info.factory) {
    return Status::Invalid("cannot register driver '", info.name, "': it has no factory");
  }
  std::set<std::string> seen;
  for (const auto& spec : info.options) {
    if (spec.name.empty() || !seen.insert(spec.name).second) {
      return Status::Invalid("cannot register driver '", info.name, "': option name '", spec.name,
                             "' is empty or declared twice");
    }
  }
  return Status::OK();
}

}  // namespace

Status DriverRegistry::RegisterAll(std::vector<DriverInfo> infos) {
  std::set<std::string> names;
  for (const auto& info : infos) {
    ARROW_RETURN_NOT_OK(CheckComplete(info));
    if (!names.insert(info.name).second) {
      return Status::Invalid("driver '", info.name, "' is declared twice");
    }
  }
  std::unique_lock lock(mutex_);
  for (const auto& d : drivers_) {
    if (names.count(d->name) != 0) {
      return Status::Invalid("driver '", d->name, "' is already registered (",
                             d->origin.empty() ? std::string("built-in") : d->origin, ")");
    }
  }
  for (auto& info : infos) drivers_.push_back(std::make_unique<DriverInfo>(std::move(info)));
  return Status::OK();
}

Result<const DriverInfo*> DriverRegistry::Find(const std::string& name) const {
  std::shared_lock lock(mutex_);
  for (const auto& d : drivers_) {
    if (d->name == name) return d.get();
  }
  return Status::Invalid("unknown driver '", name, "' (known: ", KnownNames(drivers_), ")");
}

std::vector<const DriverInfo*> DriverRegistry::List() const {
  std::shared_lock lock(mutex_);
  std::vector<const DriverInfo*> out;
  out.reserve(drivers_.size());
  for (const auto& d : drivers_) out.push_back(d.get());
  std::sort(out.begin(), out.end(),
            [](const DriverInfo* a, const DriverInfo* b) { return a->name < b->name; });
  return out;
}

Result<std::unique_ptr<InstrumentDriver>> DriverRegistry::Create(const std::string& name,
                                                                 const OptionMap& options) const {
  ARROW_ASSIGN_OR_RAISE(const DriverInfo* info, Find(name));
  auto resolved = ResolvedOptions::Make(info->options, options);
  if (!resolved.ok()) return Prefixed(name, resolved.status());
  auto driver = info->factory(*resolved);
  if (!driver.ok()) return Prefixed(name, driver.status());
  if (*driver == nullptr) return Status::Invalid(name, ": factory returned no driver");
  return driver;
}

}  // namespace arrowdaq::instruments
