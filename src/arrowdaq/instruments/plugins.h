// Plugin loading: open a driver plugin (a shared library exporting `arrowdaq_plugin_v1`, see
// plugin_api.h), check its ABI version, and register its drivers in a DriverRegistry with their
// origin, so `arrowdaq drivers` shows where each came from and a run uses them like built-ins.
//
// Refused, before any of its drivers is registered: a path that does not exist; a file that is
// not a shared library (or lacks symbols it needs); a library without the entry point; a plugin
// of another ABI version; a plugin whose drivers clash with registered ones or are incomplete.
// Each error is Status::Invalid starting with the file's path. The loader contains what a
// plugin does wrong where it can: an exception thrown by the plugin's driver list or by a
// driver's factory becomes a Status naming the plugin; a crash (SIGSEGV, SIGBUS, SIGILL, SIGFPE,
// SIGABRT) while arrowdaq runs the plugin's code at load or in a factory prints a line naming
// the plugin to stderr first, then takes its usual course. Every driver a plugin makes is
// handed out inside a forwarding InstrumentDriver whose movable() goes through the plugin's
// motion table, or is nullptr for a plugin without one (see plugin_api.h, "Motion").
//
// Ownership: a loaded plugin stays loaded for the life of the process (its drivers' code lives
// in it); loading the same file again (by canonical path) returns the first load's result.
// Threading: LoadPlugin and LoadedPlugins may be called from any thread (one mutex).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "arrowdaq/core/status.h"
#include "arrowdaq/instruments/driver.h"

namespace arrowdaq::instruments {

/// Describe one loaded plugin.
struct PluginInfo {
  std::string path;              ///< canonical path of the shared library
  std::string name;              ///< as the plugin says
  std::string version;           ///< as the plugin says
  std::string arrowdaq_version;  ///< the SDK version it was built with
  std::vector<std::string> drivers;  ///< the driver names it registered
  /// The version of its motion table (plugin_api.h, "Motion"); 0 for a plugin built before
  /// the Movable capability: its drivers move nothing and arrowdaq never asks them.
  std::uint32_t motion_version = 0;
};

/// Load the plugin at `path` into `registry` (once per file); return what it is.
[[nodiscard]] Result<PluginInfo> LoadPlugin(const std::string& path, DriverRegistry& registry);

/// Expand one plugin path as `[plugins] paths` and ARROWDAQ_PLUGIN_PATH take it: a file is
/// itself, a directory gives its `*.so` files in name order. A path that does not exist is
/// Status::Invalid naming it.
[[nodiscard]] Result<std::vector<std::string>> ExpandPluginPath(const std::string& path);

/// Split ARROWDAQ_PLUGIN_PATH's value at ':' (empty items dropped).
[[nodiscard]] std::vector<std::string> SplitPluginPathList(const std::string& value);

/// Return every plugin loaded so far, in load order.
[[nodiscard]] std::vector<PluginInfo> LoadedPlugins();

}  // namespace arrowdaq::instruments
