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

/// Lanes of one float64 vector of that target (8 on AVX-512, 4 on AVX2).
size_t FmaPeakLanesF64();

/// This core's clock while running, in Hz, measured as the rate of a chain of dependent integer
/// adds (1 cycle each on every x86 core since the P6) per second of thread CPU time; 0 where
/// not measurable (non-x86).
double MeasureCoreClockHz();

/// Documented float64 FLOP per cycle of this core's FMA units (2 FMA pipes x their width x 2),
/// capped by the vector width of the target FmaPeakLoop uses; 0 when the core is not in the
/// table (see fma_peak_kernel.cc). *source names the reference.
double DocumentedF64FlopsPerCycle(const char** source);

}  // namespace arrowdaq::bench
