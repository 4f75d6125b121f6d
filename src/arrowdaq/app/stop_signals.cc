#include "arrowdaq/app/stop_signals.h"

#include <signal.h>
#include <string.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <string>

namespace arrowdaq::app {

namespace {

constexpr int kMaxSignal = 65;  // _NSIG on Linux
constexpr std::size_t kNoteBytes = 160;

std::atomic<StopFunction> g_stop{nullptr};
std::atomic<void*> g_context{nullptr};
std::atomic<bool> g_stop_pending{false};  // a stop signal arrived (ever)
std::atomic<int> g_interrupts{0};
std::atomic<bool> g_installed{false};
std::atomic<StopFunction> g_interrupt{nullptr};
std::atomic<void*> g_interrupt_context{nullptr};
// Notes are formatted at install time: a handler may not allocate or format.
char g_notes[kMaxSignal][kNoteBytes];

void Write(const char* text) {
  const std::size_t n = strlen(text);
  // A failed write (stderr closed, EPIPE) is ignored: the note is a courtesy.
  (void)!write(STDERR_FILENO, text, n);
}

// The pending flag is set first, so a target set concurrently sees it (a stop requested twice
// is harmless; one lost is not).
void CallStop() {
  g_stop_pending.store(true);
  const StopFunction stop = g_stop.load();
  if (stop != nullptr) stop(g_context.load());
}

extern "C" void OnStopSignal(int sig) {
  const int saved_errno = errno;
  if (sig == SIGINT) {
    if (const StopFunction interrupt = g_interrupt.load(); interrupt != nullptr) {
      Write("\narrowdaq: SIGINT received: the scan pauses at the next point (a second Ctrl-C "
            "aborts it cleanly)\n");
      interrupt(g_interrupt_context.load());
      errno = saved_errno;
      return;
    }
  }
  if (sig == SIGINT && g_interrupts.fetch_add(1) >= 1) {
    // Ctrl-C pressed again: stop at once. Files stay openable (HDF5 SWMR, IPC, closed segments).
    Write("\narrowdaq: second signal, stopping immediately\n");
    _exit(130);
  }
  Write(g_notes[sig]);
  CallStop();
  errno = saved_errno;
}

extern "C" void OnIgnoredSignal(int sig) {
  const int saved_errno = errno;
  Write(g_notes[sig]);
  errno = saved_errno;
}

std::string Name(int sig) {
  const char* abbrev = sigabbrev_np(sig);
  if (abbrev != nullptr) return std::string("SIG") + abbrev;
  if (sig == SIGRTMIN) return "SIGRTMIN";
  if (sig > SIGRTMIN && sig <= SIGRTMAX) return "SIGRTMIN+" + std::to_string(sig - SIGRTMIN);
  return "signal " + std::to_string(sig);
}

void Install(int sig, void (*handler)(int)) {
  struct sigaction sa {};
  sa.sa_handler = handler;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = SA_RESTART;
  sigaction(sig, &sa, nullptr);
}

}  // namespace

std::vector<int> CleanStopSignals() { return {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGPWR, SIGXCPU}; }

std::vector<int> IgnoredSignals() {
  std::vector<int> out = {SIGUSR1, SIGUSR2, SIGALRM, SIGVTALRM, SIGPROF, SIGIO, SIGSTKFLT};
  for (int sig = SIGRTMIN; sig <= SIGRTMAX; ++sig) out.push_back(sig);
  return out;
}

void InstallStopSignals() {
  if (g_installed.exchange(true)) return;
  signal(SIGPIPE, SIG_IGN);
  signal(SIGXFSZ, SIG_IGN);
  for (const int sig : CleanStopSignals()) {
    std::snprintf(g_notes[sig], kNoteBytes,
                  "\narrowdaq: %s received: stopping the run cleanly (a second Ctrl-C stops at "
                  "once)\n",
                  Name(sig).c_str());
    Install(sig, OnStopSignal);
  }
  for (const int sig : IgnoredSignals()) {
    if (sig <= 0 || sig >= kMaxSignal) continue;
    std::snprintf(g_notes[sig], kNoteBytes,
                  "\narrowdaq: %s ignored (a run stops on SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGPWR "
                  "or SIGXCPU)\n",
                  Name(sig).c_str());
    Install(sig, OnIgnoredSignal);
  }
}

void SetInterruptTarget(StopFunction interrupt, void* context) {
  if (interrupt == nullptr) {
    g_interrupt.store(nullptr);
    g_interrupt_context.store(nullptr);
    return;
  }
  g_interrupt_context.store(context);
  g_interrupt.store(interrupt);
}

void SetStopTarget(StopFunction stop, void* context) {
  if (stop == nullptr) {  // detach: the function first, so no handler pairs it with a null context
    g_stop.store(nullptr);
    g_context.store(nullptr);
    return;
  }
  g_context.store(context);
  g_stop.store(stop);
  if (g_stop_pending.load()) stop(context);
}

}  // namespace arrowdaq::app
