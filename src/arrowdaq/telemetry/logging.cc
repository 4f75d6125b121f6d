#include "arrowdaq/telemetry/logging.h"

#include <array>
#include <cstdlib>
#include <mutex>
#include <string>
#include <utility>

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

namespace arrowdaq::telemetry {

namespace {

constexpr char kPattern[] = "%H:%M:%S.%e %^%-7l%$ [%n] %v";
constexpr char kDefaultLoggerName[] = "arrowdaq";

constexpr std::array<std::pair<std::string_view, spdlog::level::level_enum>, 6> kLevels = {{
    {"trace", spdlog::level::trace},
    {"debug", spdlog::level::debug},
    {"info", spdlog::level::info},
    {"warn", spdlog::level::warn},
    {"error", spdlog::level::err},
    {"off", spdlog::level::off},
}};

std::mutex& LoggersMutex() {
  static std::mutex mutex;
  return mutex;
}

const spdlog::sink_ptr& SharedSink() {
  static const spdlog::sink_ptr sink = std::make_shared<spdlog::sinks::stderr_color_sink_mt>();
  return sink;
}

std::string AllowedLevels() {
  std::string out;
  for (const auto& [name, level] : kLevels) out += (out.empty() ? "" : ", ") + std::string(name);
  return out;
}

}  // namespace

Status SetupLogging(std::string_view level) {
  std::string source = "log level";
  std::string text(level);
  if (text.empty()) {
    const char* env = std::getenv(kLogLevelEnv);
    if (env != nullptr && *env != '\0') {
      text = env;
      source = std::string(kLogLevelEnv);
    } else {
      text = "info";
    }
  }
  const spdlog::level::level_enum* parsed = nullptr;
  for (const auto& [name, value] : kLevels) {
    if (name == text) parsed = &value;
  }
  if (parsed == nullptr) {
    return Status::Invalid("invalid ", source, " \"", text, "\" (allowed: ", AllowedLevels(), ")");
  }
  try {
    std::lock_guard<std::mutex> lock(LoggersMutex());
    auto logger = spdlog::get(kDefaultLoggerName);
    if (!logger) {
      logger = std::make_shared<spdlog::logger>(kDefaultLoggerName, SharedSink());
      spdlog::register_logger(logger);
    }
    spdlog::set_default_logger(logger);
    // Registry-wide: applies to every registered logger and to those initialized later.
    spdlog::set_pattern(kPattern);
    spdlog::set_level(*parsed);
    spdlog::flush_on(spdlog::level::warn);
  } catch (const std::exception& e) {
    return Status::IOError("cannot set up logging: ", e.what());
  }
  return Status::OK();
}

std::shared_ptr<spdlog::logger> GetLogger(std::string_view name) {
  const std::string key(name);
  std::lock_guard<std::mutex> lock(LoggersMutex());
  if (auto existing = spdlog::get(key)) return existing;
  auto logger = std::make_shared<spdlog::logger>(key, SharedSink());
  try {
    // Applies the registry's current level, pattern and flush level, then registers.
    spdlog::initialize_logger(logger);
  } catch (const std::exception&) {
    // Registered concurrently by code that bypasses GetLogger: use that one.
    if (auto existing = spdlog::get(key)) return existing;
  }
  return logger;
}

}  // namespace arrowdaq::telemetry
