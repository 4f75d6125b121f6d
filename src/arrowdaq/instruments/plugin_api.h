// The plugin ABI: what a shared library must export so arrowdaq loads its drivers at run time
// (`[plugins] paths = [...]` in a run's config, or ARROWDAQ_PLUGIN_PATH). A plugin exports one
// C function, `arrowdaq_plugin_v1`, returning a pointer to a static ArrowdaqPluginV1 that names
// the plugin and lists its drivers. Write it with ARROWDAQ_PLUGIN (below); docs/drivers.md shows
// a whole plugin, step by step.
//
// Versioning: `abi_version` is checked before anything else is read. It changes whenever a
// type a driver shares with arrowdaq changes its layout or meaning (InstrumentDriver,
// InstrumentHardware, DriverInfo, OptionSpec, the transports); while arrowdaq is 0.x that may
// happen in any minor release. A plugin of another ABI version is refused with a message naming
// the plugin, its ABI version and ours: rebuild it against the installed SDK. The first four
// fields keep their place and type in every version, so that message can always be given.
// The drivers are C++ objects: a plugin must be built with the same compiler family and C++
// standard library as arrowdaq (the SDK's CMake package passes the flags).
//
// Motion (optional, versioned on its own): a driver may offer the Movable capability
// (movable.h) through InstrumentDriver::movable(). That virtual came after plugin ABI 1 was
// first published, so a plugin built before it has drivers whose vtables lack it, and arrowdaq
// must never call it on them. A plugin built with this SDK also exports
// `arrowdaq_plugin_motion_v1` (ARROWDAQ_PLUGIN defines it), returning an
// ArrowdaqPluginMotionV1: its version, its size, and `movable`, a function compiled in the
// plugin that returns driver->movable() for a driver the plugin made. The loader tells old from
// new by that symbol alone: absent, the plugin's drivers move nothing (arrowdaq never asks
// them); present, arrowdaq reaches their Movable through the table. The table only grows: a
// later version appends fields, raises `version` and `size`; the loader reads the fields its
// own version knows and refuses a table smaller than ArrowdaqPluginMotionV1. Plugins of ABI 1
// without the symbol keep loading and running as before.
//
// Ownership: the struct and its strings are the plugin's, static for the life of the process
// (arrowdaq never unloads a plugin). Threading: arrowdaq calls `drivers` once, at load, on the
// loading thread; each factory may be called from any thread, one call at a time per driver.
#pragma once

#include <cstdint>
#include <vector>

#include "arrowdaq/instruments/driver.h"
#include "arrowdaq/instruments/movable.h"
#include "arrowdaq/version.h"

/// The version of ArrowdaqPluginMotionV1 this SDK writes (see "Motion" above).
#define ARROWDAQ_PLUGIN_MOTION_VERSION 1

extern "C" {

/// Describe one plugin (ABI version 1).
struct ArrowdaqPluginV1 {
  /// ARROWDAQ_PLUGIN_ABI_VERSION of the SDK the plugin was built with.
  std::uint32_t abi_version;
  /// The plugin's name ("acme-drivers") and version ("1.2.0"), shown by `arrowdaq drivers`.
  const char* name;
  const char* version;
  /// ARROWDAQ_VERSION_STRING of the SDK the plugin was built with.
  const char* arrowdaq_version;
  /// Append the plugin's drivers to `out`. A factory that fails returns a Status; one that
  /// throws is turned into a Status naming the plugin (so is an exception from here).
  void (*drivers)(std::vector<arrowdaq::instruments::DriverInfo>* out);
};

/// The entry point every plugin exports (ARROWDAQ_PLUGIN defines it).
using ArrowdaqPluginEntryV1 = const ArrowdaqPluginV1* (*)();

/// The motion table of a plugin built with a Movable-aware SDK (optional; see "Motion").
struct ArrowdaqPluginMotionV1 {
  /// ARROWDAQ_PLUGIN_MOTION_VERSION of the SDK the plugin was built with (>= 1).
  std::uint32_t version;
  /// sizeof(ArrowdaqPluginMotionV1) as the plugin was built: later versions only append.
  std::uint32_t size;
  /// Return driver->movable() (nullptr: the driver moves nothing) for a driver made by one of
  /// this plugin's factories; called on the instrument's thread.
  arrowdaq::instruments::Movable* (*movable)(arrowdaq::instruments::InstrumentDriver* driver);
};

/// The optional motion entry point (ARROWDAQ_PLUGIN defines it).
using ArrowdaqPluginMotionEntryV1 = const ArrowdaqPluginMotionV1* (*)();

}  // extern "C"

/// The name of the entry point arrowdaq looks up.
#define ARROWDAQ_PLUGIN_ENTRY_V1 "arrowdaq_plugin_v1"
/// The name of the optional motion entry point; a plugin without it moves nothing.
#define ARROWDAQ_PLUGIN_MOTION_ENTRY_V1 "arrowdaq_plugin_motion_v1"

/// Define the entry points of a plugin named `name` at `version` whose drivers `drivers_fn`
/// (a `void(std::vector<arrowdaq::instruments::DriverInfo>*)`) appends: arrowdaq_plugin_v1 and
/// the motion table arrowdaq_plugin_motion_v1. Use once per plugin.
#define ARROWDAQ_PLUGIN(name, version, drivers_fn)                                           \
  extern "C" __attribute__((visibility("default"))) const ArrowdaqPluginV1*                  \
  arrowdaq_plugin_v1() {                                                                     \
    static const ArrowdaqPluginV1 plugin{ARROWDAQ_PLUGIN_ABI_VERSION, name, version,         \
                                         ARROWDAQ_VERSION_STRING, drivers_fn};               \
    return &plugin;                                                                          \
  }                                                                                          \
  extern "C" __attribute__((visibility("default"))) const ArrowdaqPluginMotionV1*            \
  arrowdaq_plugin_motion_v1() {                                                              \
    static const ArrowdaqPluginMotionV1 motion{                                              \
        ARROWDAQ_PLUGIN_MOTION_VERSION, sizeof(ArrowdaqPluginMotionV1),                      \
        [](arrowdaq::instruments::InstrumentDriver* driver)                                  \
            -> arrowdaq::instruments::Movable* { return driver->movable(); }};               \
    return &motion;                                                                          \
  }
