// Isolated: run a job that reads untrusted input in a child process with a time limit, so that
// a defect of a third-party reader (HDF5 1.10 crashes and spins on some damaged files, see
// fuzz/findings/README.md) cannot crash or hang the caller. The child is a fork of the caller;
// it runs the job, sends its text or its error back through a pipe and exits. A child that
// crashes, is killed, or outlives the time limit (it is then killed with SIGKILL) becomes an
// error naming what happened.
//
// Threading: fork() copies only the calling thread, so call RunIsolated before the process
// starts other threads that hold locks the job needs (the CLI's `inspect` calls it first).
#pragma once

#include <chrono>
#include <functional>
#include <string>

#include "arrowdaq/core/status.h"

namespace arrowdaq::app {

struct IsolatedOptions {
  /// Kill the child after this long; 0 = no limit.
  std::chrono::milliseconds timeout{60'000};
  /// Names the job in error messages ("inspect run.h5").
  std::string what = "job";
};

/// Run `job` in a child process and return its result. The child's Status keeps its code and
/// message. A crash is IOError("<what>: crashed (signal N, SIGSEGV) ..."), a time-out
/// IOError("<what>: gave up after T s ..."). Never throws.
[[nodiscard]] Result<std::string> RunIsolated(const std::function<Result<std::string>()>& job,
                                              const IsolatedOptions& options);

}  // namespace arrowdaq::app
