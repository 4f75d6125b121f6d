#include "arrowdaq/telemetry/memory.h"

#include <cstdio>
#include <cstring>

#include <arrow/memory_pool.h>

// Defined by alloc_counter.cc when the executable links arrowdaq::alloc_counter and the counter
// is active; a weak reference stays null otherwise.
extern "C" std::int64_t arrowdaq_internal_allocation_count() __attribute__((weak));

namespace arrowdaq::telemetry {

namespace {

// Read "VmHWM:    1234 kB"-style fields from /proc/self/status.
void ReadProcStatus(MemoryReport* report) {
  std::FILE* file = std::fopen("/proc/self/status", "r");
  if (file == nullptr) return;
  char line[256];
  while (std::fgets(line, sizeof(line), file) != nullptr) {
    long long kib = 0;
    if (std::sscanf(line, "VmHWM: %lld kB", &kib) == 1) {
      report->peak_rss_bytes = static_cast<std::int64_t>(kib) * 1024;
    } else if (std::sscanf(line, "VmRSS: %lld kB", &kib) == 1) {
      report->current_rss_bytes = static_cast<std::int64_t>(kib) * 1024;
    }
  }
  std::fclose(file);
}

}  // namespace

std::int64_t AllocationCount() {
  if (arrowdaq_internal_allocation_count == nullptr) return -1;
  return arrowdaq_internal_allocation_count();
}

MemoryReport SampleMemory() {
  MemoryReport report;
  ReadProcStatus(&report);
  arrow::MemoryPool* pool = arrow::default_memory_pool();
  report.arrow_pool_bytes = pool->bytes_allocated();
  report.arrow_pool_peak_bytes = pool->max_memory();
  report.arrow_pool_backend = pool->backend_name();
  report.allocations = AllocationCount();
  return report;
}

}  // namespace arrowdaq::telemetry
