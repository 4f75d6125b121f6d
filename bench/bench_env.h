// Benchmark environment helpers: a scratch directory on the disk under test (the directory in
// ARROWDAQ_BENCH_DIR, else the system temp directory) removed when the object goes away, and
// the memory counters (allocations per batch, Arrow pool peak, peak RSS) every pipeline and
// storage benchmark reports. Header-only; one thread.
#pragma once

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <system_error>

#include <benchmark/benchmark.h>
#include <unistd.h>

#include "arrowdaq/telemetry/memory.h"

namespace arrowdaq::bench {

/// Return the directory benchmarks write into.
inline std::filesystem::path BenchBaseDir() {
  if (const char* d = std::getenv("ARROWDAQ_BENCH_DIR"); d != nullptr && *d != '\0') return d;
  return std::filesystem::temp_directory_path();
}

/// A fresh, uniquely named directory under BenchBaseDir(), deleted with its content.
class ScratchDir {
 public:
  explicit ScratchDir(const std::string& tag) {
    static int counter = 0;
    path_ = BenchBaseDir() / ("arrowdaq-bench-" + tag + "-" + std::to_string(::getpid()) + "-" +
                              std::to_string(counter++));
    std::filesystem::remove_all(path_);
    std::filesystem::create_directories(path_);
  }
  ~ScratchDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

/// Report allocations per batch (operator new calls during the timed region / batches; -1
/// when the counter is inactive), the Arrow pool's peak and the process's peak RSS.
inline void SetMemoryCounters(benchmark::State& state, std::int64_t allocations_delta,
                              std::int64_t batches) {
  const auto mem = telemetry::SampleMemory();
  state.counters["allocs_per_batch"] =
      (allocations_delta >= 0 && batches > 0)
          ? static_cast<double>(allocations_delta) / static_cast<double>(batches)
          : -1.0;
  state.counters["arrow_pool_peak_MB"] = static_cast<double>(mem.arrow_pool_peak_bytes) / 1e6;
  state.counters["peak_rss_MB"] = static_cast<double>(mem.peak_rss_bytes) / 1e6;
}

/// Return AllocationCount() now (or -1 when inactive).
inline std::int64_t Allocations() { return telemetry::AllocationCount(); }

}  // namespace arrowdaq::bench
