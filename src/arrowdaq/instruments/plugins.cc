#include "arrowdaq/instruments/plugins.h"

#include <dlfcn.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <exception>
#include <filesystem>
#include <mutex>
#include <set>

#include "arrowdaq/instruments/plugin_api.h"

namespace arrowdaq::instruments {

namespace {

namespace fs = std::filesystem;

// ---- Crash note: which plugin's code the current thread is running -------------------------

constexpr int kCrashSignals[] = {SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT};
struct sigaction g_previous[std::size(kCrashSignals)];
thread_local const char* t_crash_note = nullptr;

void WriteAll(const char* text) {
  std::size_t left = std::strlen(text);
  while (left > 0) {
    const ssize_t n = ::write(STDERR_FILENO, text, left);
    if (n <= 0) return;
    text += n;
    left -= static_cast<std::size_t>(n);
  }
}

// Name the plugin, then hand the signal to whoever handled it before (the default action, or
// a sanitizer's report): a fault re-executes the faulting instruction, SIGABRT is raised again.
void OnCrash(int sig) {
  if (const char* note = t_crash_note; note != nullptr) {
    WriteAll("arrowdaq: crashed inside ");
    WriteAll(note);
    WriteAll("; the fault is in the plugin, not in arrowdaq\n");
  }
  for (std::size_t i = 0; i < std::size(kCrashSignals); ++i) {
    if (kCrashSignals[i] == sig) ::sigaction(sig, &g_previous[i], nullptr);
  }
  if (sig == SIGABRT) ::raise(sig);
}

void InstallCrashNote() {
  static std::once_flag once;
  std::call_once(once, [] {
    for (std::size_t i = 0; i < std::size(kCrashSignals); ++i) {
      struct sigaction action {};
      action.sa_handler = OnCrash;
      sigemptyset(&action.sa_mask);
      action.sa_flags = 0;
      ::sigaction(kCrashSignals[i], &action, &g_previous[i]);
    }
  });
}

// Set the thread's crash note for a scope; `note` must outlive it.
class CrashNote {
 public:
  explicit CrashNote(const std::string& note) : previous_(t_crash_note) {
    t_crash_note = note.c_str();
  }
  ~CrashNote() { t_crash_note = previous_; }
  CrashNote(const CrashNote&) = delete;
  CrashNote& operator=(const CrashNote&) = delete;

 private:
  const char* previous_;
};

std::string ExceptionText() {
  try {
    throw;
  } catch (const std::exception& e) {
    return std::string("threw ") + e.what();
  } catch (...) {
    return "threw an exception that is not a std::exception";
  }
}

// A plugin's driver as arrowdaq sees it: every call forwarded, except movable(), which goes
// through the plugin's motion table (compiled with the plugin's view of InstrumentDriver) or
// is nullptr for a plugin without one, whose drivers' vtables may end before movable().
class PluginDriver final : public InstrumentDriver {
 public:
  PluginDriver(std::unique_ptr<InstrumentDriver> inner, const ArrowdaqPluginMotionV1* motion)
      : inner_(std::move(inner)), motion_(motion) {}

  std::shared_ptr<arrow::Schema> schema() const override { return inner_->schema(); }
  hardware::InstrumentHardware& hardware() override { return inner_->hardware(); }
  hardware::Timeout read_timeout() const override { return inner_->read_timeout(); }
  Status Configure() override { return inner_->Configure(); }
  Status StartAcquisition() override { return inner_->StartAcquisition(); }
  Status StopAcquisition() override { return inner_->StopAcquisition(); }
  std::int64_t TakeOverrunSamples() override { return inner_->TakeOverrunSamples(); }
  std::vector<DriverEvent> TakeEvents() override { return inner_->TakeEvents(); }
  Result<std::shared_ptr<arrow::RecordBatch>> Decode(std::shared_ptr<arrow::Buffer> raw) override {
    return inner_->Decode(std::move(raw));
  }
  Movable* movable() override {
    return motion_ == nullptr ? nullptr : motion_->movable(inner_.get());
  }

 private:
  std::unique_ptr<InstrumentDriver> inner_;
  const ArrowdaqPluginMotionV1* motion_;  // the plugin's, static; nullptr: no motion
};

// Wrap a plugin driver's factory: an exception becomes a Status, a crash names the plugin, and
// the driver is handed out as a PluginDriver.
DriverFactory ContainedFactory(DriverFactory inner, std::string label,
                               const ArrowdaqPluginMotionV1* motion) {
  auto note = std::make_shared<const std::string>(std::move(label));
  return [inner = std::move(inner), note, motion](const ResolvedOptions& options)
             -> Result<std::unique_ptr<InstrumentDriver>> {
    CrashNote scope(*note);
    try {
      ARROW_ASSIGN_OR_RAISE(std::unique_ptr<InstrumentDriver> driver, inner(options));
      if (driver == nullptr) return Status::Invalid(*note, ": returned no driver");
      return std::unique_ptr<InstrumentDriver>(new PluginDriver(std::move(driver), motion));
    } catch (...) {
      return Status::Invalid(*note, ": ", ExceptionText());
    }
  };
}

// Return the plugin's motion table, nullptr when it has none (built before Movable).
Result<const ArrowdaqPluginMotionV1*> MotionTable(void* handle, const std::string& path,
                                                  const std::string& label) {
  ::dlerror();
  void* symbol = ::dlsym(handle, ARROWDAQ_PLUGIN_MOTION_ENTRY_V1);
  if (symbol == nullptr) return nullptr;
  const ArrowdaqPluginMotionV1* motion = nullptr;
  {
    const std::string note = label + " (its " ARROWDAQ_PLUGIN_MOTION_ENTRY_V1 ")";
    CrashNote scope(note);
    motion = reinterpret_cast<ArrowdaqPluginMotionEntryV1>(symbol)();
  }
  if (motion == nullptr || motion->version < 1 || motion->size < sizeof(ArrowdaqPluginMotionV1) ||
      motion->movable == nullptr) {
    return Status::Invalid(path, ": ", label, ": its ", ARROWDAQ_PLUGIN_MOTION_ENTRY_V1,
                           " gives no usable motion table (",
                           motion == nullptr ? std::string("none")
                                             : "version " + std::to_string(motion->version) +
                                                   ", " + std::to_string(motion->size) + " bytes",
                           "; this arrowdaq reads version ", ARROWDAQ_PLUGIN_MOTION_VERSION,
                           " of ", sizeof(ArrowdaqPluginMotionV1),
                           " bytes): rebuild the plugin against this arrowdaq's SDK");
  }
  return motion;
}

// ---- Loaded plugins ---------------------------------------------------------------------

std::mutex g_mutex;
std::vector<PluginInfo>* g_loaded = new std::vector<PluginInfo>();  // never freed: see header

std::string Text(const char* s) { return s == nullptr ? std::string("(null)") : std::string(s); }

// `path` as the user named it (for messages); `canonical` identifies the file.
Result<PluginInfo> Load(const std::string& path, const std::string& canonical,
                        DriverRegistry& registry) {
  PluginInfo info;
  info.path = canonical;
  // RTLD_NOW: a library missing a symbol is refused here, at validate, not mid-run.
  std::string note = "plugin " + path + " (loading it)";
  void* handle = nullptr;
  {
    CrashNote scope(note);
    handle = ::dlopen(canonical.c_str(), RTLD_NOW | RTLD_LOCAL);
  }
  if (handle == nullptr) {
    return Status::Invalid(path, ": not a loadable shared library (", Text(::dlerror()), ")");
  }
  ::dlerror();
  void* symbol = ::dlsym(handle, ARROWDAQ_PLUGIN_ENTRY_V1);
  if (symbol == nullptr) {
    // Nothing of it was used: unloading is safe.
    ::dlclose(handle);
    return Status::Invalid(path, ": not an arrowdaq plugin: it does not export ",
                           ARROWDAQ_PLUGIN_ENTRY_V1, " (see docs/drivers.md)");
  }
  auto entry = reinterpret_cast<ArrowdaqPluginEntryV1>(symbol);
  const ArrowdaqPluginV1* plugin = nullptr;
  {
    note = "plugin " + path + " (its " ARROWDAQ_PLUGIN_ENTRY_V1 ")";
    CrashNote scope(note);
    plugin = entry();
  }
  if (plugin == nullptr) {
    return Status::Invalid(path, ": ", ARROWDAQ_PLUGIN_ENTRY_V1, " returned no plugin");
  }
  info.name = Text(plugin->name);
  info.version = Text(plugin->version);
  info.arrowdaq_version = Text(plugin->arrowdaq_version);
  const std::string label = "plugin '" + info.name + "' " + info.version + " (" + path + ")";
  if (plugin->abi_version != ARROWDAQ_PLUGIN_ABI_VERSION) {
    return Status::Invalid(path, ": ", label, " has plugin ABI version ", plugin->abi_version,
                           " (built against arrowdaq ", info.arrowdaq_version,
                           "); this arrowdaq (", ARROWDAQ_VERSION_STRING,
                           ") loads plugin ABI version ", ARROWDAQ_PLUGIN_ABI_VERSION,
                           ": rebuild the plugin against this arrowdaq's SDK");
  }
  if (plugin->drivers == nullptr) {
    return Status::Invalid(path, ": ", label, " lists no drivers (its drivers function is null)");
  }
  std::vector<DriverInfo> drivers;
  {
    note = label + " (listing its drivers)";
    CrashNote scope(note);
    try {
      plugin->drivers(&drivers);
    } catch (...) {
      return Status::Invalid(path, ": ", label, ": listing its drivers ", ExceptionText());
    }
  }
  if (drivers.empty()) return Status::Invalid(path, ": ", label, " lists no drivers");
  ARROW_ASSIGN_OR_RAISE(const ArrowdaqPluginMotionV1* motion, MotionTable(handle, path, label));
  info.motion_version = motion == nullptr ? 0 : motion->version;
  for (auto& d : drivers) {
    d.origin = "plugin " + info.name + " " + info.version + " (" + canonical + ")";
    d.factory = ContainedFactory(std::move(d.factory),
                                 label + ", the factory of driver '" + d.name + "'", motion);
    info.drivers.push_back(d.name);
  }
  if (Status st = registry.RegisterAll(std::move(drivers)); !st.ok()) {
    return Status::Invalid(path, ": ", label, ": ", st.message());
  }
  return info;
}

}  // namespace

Result<std::vector<std::string>> ExpandPluginPath(const std::string& path) {
  std::error_code ec;
  const auto status = fs::status(path, ec);
  if (ec || !fs::exists(status)) {
    return Status::Invalid(path, ": no such file or directory");
  }
  if (!fs::is_directory(status)) return std::vector<std::string>{path};
  std::vector<std::string> out;
  for (fs::directory_iterator it(path, ec), end; !ec && it != end; it.increment(ec)) {
    if (it->path().extension() == ".so" && !it->is_directory()) out.push_back(it->path().string());
  }
  if (ec) return Status::Invalid(path, ": cannot list the directory (", ec.message(), ")");
  std::sort(out.begin(), out.end());
  return out;
}

std::vector<std::string> SplitPluginPathList(const std::string& value) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (start <= value.size()) {
    const std::size_t end = std::min(value.find(':', start), value.size());
    if (end > start) out.push_back(value.substr(start, end - start));
    start = end + 1;
  }
  return out;
}

Result<PluginInfo> LoadPlugin(const std::string& path, DriverRegistry& registry) {
  std::error_code ec;
  const fs::path canonical = fs::canonical(path, ec);
  if (ec) return Status::Invalid(path, ": no such file (", ec.message(), ")");
  // A FIFO or a device would make the loader block or read forever.
  if (!fs::is_regular_file(canonical, ec)) {
    return Status::Invalid(path, ": not a regular file, so not a shared library");
  }
  std::lock_guard lock(g_mutex);
  for (const auto& loaded : *g_loaded) {
    if (loaded.path == canonical.string()) return loaded;
  }
  InstallCrashNote();
  ARROW_ASSIGN_OR_RAISE(PluginInfo info, Load(path, canonical.string(), registry));
  g_loaded->push_back(info);
  return info;
}

std::vector<PluginInfo> LoadedPlugins() {
  std::lock_guard lock(g_mutex);
  return *g_loaded;
}

}  // namespace arrowdaq::instruments
