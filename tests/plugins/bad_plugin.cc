// Plugins that go wrong, one per TEST_PLUGIN_MODE (tests/python/test_plugins.py): each is
// refused or contained by the loader (instruments/plugins.h) with a message naming it.
//   1 wrong ABI version, 2 no entry point, 3 driver list throws, 4 factory throws,
//   5 factory crashes (SIGSEGV), 6 a driver named like a built-in one, 7 no drivers.
#include <csignal>
#include <stdexcept>

#include "arrowdaq/instruments/plugin_api.h"

namespace {

using arrowdaq::instruments::DriverInfo;
using arrowdaq::instruments::InstrumentDriver;

DriverInfo Driver(const char* name) {
  DriverInfo info;
  info.name = name;
  info.description = "a test plugin's driver";
  info.default_resource = "SIM::test";
  info.factory = [](const arrowdaq::ResolvedOptions&)
      -> arrowdaq::Result<std::unique_ptr<InstrumentDriver>> {
#if TEST_PLUGIN_MODE == 4
    throw std::runtime_error("the factory gave up");
#elif TEST_PLUGIN_MODE == 5
    std::raise(SIGSEGV);
#endif
    return arrowdaq::Status::NotImplemented("test plugin");
  };
  return info;
}

void Drivers(std::vector<DriverInfo>* out) {
#if TEST_PLUGIN_MODE == 3
  throw std::runtime_error("cannot list drivers today");
#elif TEST_PLUGIN_MODE == 6
  out->push_back(Driver("test.fine"));
  out->push_back(Driver("sim.sine"));
#elif TEST_PLUGIN_MODE == 7
  (void)out;
#else
  out->push_back(Driver("test.bad"));
#endif
}

}  // namespace

#if TEST_PLUGIN_MODE == 1
extern "C" __attribute__((visibility("default"))) const ArrowdaqPluginV1* arrowdaq_plugin_v1() {
  static const ArrowdaqPluginV1 plugin{ARROWDAQ_PLUGIN_ABI_VERSION + 98, "future", "9.0",
                                       "9.9.0", Drivers};
  return &plugin;
}
#elif TEST_PLUGIN_MODE == 2
extern "C" __attribute__((visibility("default"))) int not_the_entry_point() { return 0; }
#else
ARROWDAQ_PLUGIN("bad-" TEST_PLUGIN_NAME, "0.0.1", Drivers)
#endif
