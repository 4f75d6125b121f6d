// The plugin's entry point: arrowdaq loads this shared library ([plugins] paths = [...]),
// calls arrowdaq_plugin_v1, checks the ABI version and registers acme.tm2.
#include <arrowdaq/instruments/plugin_api.h>

#include "acme_tm2.h"

ARROWDAQ_PLUGIN("acme-tm2", "1.0.0", acme::Tm2Drivers)
