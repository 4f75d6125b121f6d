// Logging: one spdlog sink on stderr shared by the default logger and every named logger
// (`GetLogger("storage")`), with a compact pattern: time, level, logger name, message.
// SetupLogging is meant to be called once by main before other threads start logging; GetLogger
// and the returned loggers may be used from any thread.
#pragma once

#include <memory>
#include <string_view>

#include <spdlog/logger.h>

#include "arrowdaq/core/status.h"

namespace arrowdaq::telemetry {

/// Name of the environment variable that gives the level when SetupLogging gets an empty one.
inline constexpr char kLogLevelEnv[] = "ARROWDAQ_LOG_LEVEL";

/// Make the default spdlog logger (name "arrowdaq") write to stderr with the compact pattern and
/// set `level` (trace, debug, info, warn, error or off) on it and every logger from GetLogger.
/// An empty `level` means: $ARROWDAQ_LOG_LEVEL if set and non-empty, else "info".
/// An unknown level is Status::Invalid naming the allowed ones; nothing changes then.
[[nodiscard]] Status SetupLogging(std::string_view level);

/// Return the logger called `name`, creating it on first use on the shared stderr sink with the
/// current level and pattern. Any thread.
[[nodiscard]] std::shared_ptr<spdlog::logger> GetLogger(std::string_view name);

}  // namespace arrowdaq::telemetry
