// Sinks setup: turns the config's `[[sinks]]` entries (their keys are declared and
// type-checked by the config parser) into running sinks (sinks/), and checks what only the
// sink can check, as far as that is possible without the network: its own rules for the
// keys (required brokers, node name, topic templates), every producer setting against
// librdkafka's configuration alone and all together (a client created that connects nowhere),
// and each sent stream's topic name. PlanRun calls CheckSinks, so `validate` refuses what
// `run` would. Errors are `file:line:column: sinks[i].key: message`.
//
// Pure functions over the config; any thread.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "arrowdaq/config/config.h"
#include "arrowdaq/core/run_event.h"
#include "arrowdaq/core/status.h"
#include "arrowdaq/sinks/sink.h"

namespace arrowdaq::app {

/// Check every sink of `config`; `streams` are the run's stream names.
[[nodiscard]] Status CheckSinks(const config::RunConfig& config,
                                const std::vector<std::string>& streams);

/// Build the sinks of `config` (not started); `on_event` receives their failures.
[[nodiscard]] Result<std::vector<std::unique_ptr<sinks::Sink>>> MakeSinks(
    const config::RunConfig& config, std::function<void(RunEvent)> on_event);

}  // namespace arrowdaq::app
