// Register-only FMA throughput loop for the benchmarks (see fma_peak_kernel.cc). Any thread.
#pragma once

#include <cstddef>

namespace arrowdaq::bench {

/// Run `iters` iterations of 16 independent vector FMA chains (float64 if `f64`, else float32)
/// with the best SIMD target of this CPU; sets *flops_per_iter (2 per FMA lane). Returns a value
/// derived from the chains so the work cannot be optimised away.
double FmaPeakLoop(bool f64, size_t iters, size_t* flops_per_iter);

/// Name of the SIMD target FmaPeakLoop runs with.
const char* FmaPeakTargetName();

}  // namespace arrowdaq::bench
