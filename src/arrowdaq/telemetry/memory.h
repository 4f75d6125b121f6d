// Memory accounting for run summaries and progress lines: the process's resident set (current
// and peak, from /proc/self/status), Arrow's default memory pool (bytes held, peak, backend) and
// the number of global operator new calls. Any thread.
//
// Allocation counting is opt-in: an executable links the `arrowdaq::alloc_counter` library, which
// replaces the global operator new/delete with versions that bump a relaxed atomic counter and
// call malloc/free. Without it, or in a build with AddressSanitizer or ThreadSanitizer (which
// provide their own operator new, so the counter does not replace it), AllocationCount() is -1.
#pragma once

#include <cstdint>
#include <string>

namespace arrowdaq::telemetry {

/// One sample of the process's memory use. A value that could not be read is -1.
struct MemoryReport {
  std::int64_t peak_rss_bytes = -1;     ///< VmHWM
  std::int64_t current_rss_bytes = -1;  ///< VmRSS
  std::int64_t arrow_pool_bytes = -1;   ///< arrow::default_memory_pool()->bytes_allocated()
  std::int64_t arrow_pool_peak_bytes = -1;  ///< ...->max_memory()
  std::int64_t allocations = -1;        ///< AllocationCount()
  std::string arrow_pool_backend;       ///< ...->backend_name() ("jemalloc", "mimalloc", "system")
};

/// Return the current memory use. Any thread.
[[nodiscard]] MemoryReport SampleMemory();

/// Return the number of calls to the global operator new (all variants) since the process started,
/// or -1 when the allocation counter is not linked into this executable or is disabled by a
/// sanitizer. Any thread.
[[nodiscard]] std::int64_t AllocationCount();

/// Return whether the allocation counter is active in this executable.
[[nodiscard]] inline bool AllocationCounterActive() { return AllocationCount() >= 0; }

}  // namespace arrowdaq::telemetry
