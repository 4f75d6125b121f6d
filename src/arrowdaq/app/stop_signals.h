// Stop signals: how a long-running arrowdaq command (`run`, later `serve`) treats the signals
// that would otherwise kill it and leave its files open. No catchable signal ends a run with
// files a plain reader refuses:
//
// - SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGPWR and SIGXCPU stop it cleanly, as Ctrl-C does
//   (sources stop, queues drain, files are closed, summary.json is written). SIGHUP is what a
//   closing terminal or SSH session sends; SIGPWR what a UPS daemon sends; SIGXCPU comes before
//   the kernel's SIGKILL at a CPU-time limit. A second SIGINT (Ctrl-C pressed again) exits at
//   once with code 130; repeats of the others only repeat the stop request.
// - SIGPIPE and SIGXFSZ are ignored: the write that caused them fails with EPIPE / EFBIG, which
//   the writer reports (progress on a closed pipe is simply not shown; a file over the size
//   limit is a storage error that stops the run cleanly).
// - SIGUSR1, SIGUSR2, SIGALRM, SIGVTALRM, SIGPROF, SIGIO, SIGSTKFLT and the real-time signals
//   mean nothing to arrowdaq: they are ignored, each with a note on stderr.
// - Fault signals (SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT, SIGTRAP, SIGSYS) keep their default
//   action: the process state is not trusted after them. Like SIGKILL, they leave run.h5
//   readable in SWMR mode up to the last flush (docs/reliability.md).
//
// Handlers are process-wide and installed with SA_RESTART. They only store to atomics, call the
// installed stop function (which must be async-signal-safe, like Acquisition::RequestStop) and
// write(2) a prepared note. Install from main before starting the work; any thread may receive.
#pragma once

#include <vector>

namespace arrowdaq::app {

/// A function a signal handler may call: async-signal-safe, non-blocking.
using StopFunction = void (*)(void* context);

/// Install the handlers described above (idempotent). SIGPIPE and SIGXFSZ are ignored from here
/// on; stop signals call the function set by SetStopTarget, or are remembered until one is set.
void InstallStopSignals();

/// Make stop signals call `stop(context)`; nullptr detaches. When a stop signal arrived before
/// a target was set, `stop` is called at once.
void SetStopTarget(StopFunction stop, void* context);

/// For `arrowdaq scan`: make SIGINT call `interrupt(context)` every time instead of stopping
/// (the scan pauses on the first and aborts cleanly on the second; no immediate exit), with a
/// note saying so; nullptr restores the behaviour above. The other stop signals still call the
/// stop target.
void SetInterruptTarget(StopFunction interrupt, void* context);

/// Return the signals that stop a run cleanly, and those that are ignored (for tests and docs).
std::vector<int> CleanStopSignals();
std::vector<int> IgnoredSignals();

}  // namespace arrowdaq::app
