// SimProcess: a simulator from tools/sim/ run as a real subprocess for integration tests:
// started with the project's Python, its first stdout line (a port or a pty path) read, killed
// with SIGKILL and reaped in the destructor, so a failing test never leaves it running. Later
// stdout lines (a scripted session's verdict) are read with NextLine.
// Tests only; needs the compile definitions ARROWDAQ_PYTHON and ARROWDAQ_SIM_DIR.
#pragma once

#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <string>
#include <vector>

namespace arrowdaq::testing {

class SimProcess {
 public:
  SimProcess(const std::string& script, const std::vector<std::string>& args) {
    int out[2];
    if (::pipe(out) != 0) return;
    pid_ = ::fork();
    if (pid_ == 0) {
      ::dup2(out[1], STDOUT_FILENO);
      ::close(out[0]);
      ::close(out[1]);
      std::vector<std::string> argv_s = {ARROWDAQ_PYTHON, std::string(ARROWDAQ_SIM_DIR) + "/" + script};
      argv_s.insert(argv_s.end(), args.begin(), args.end());
      std::vector<char*> argv;
      for (auto& a : argv_s) argv.push_back(a.data());
      argv.push_back(nullptr);
      ::execv(argv[0], argv.data());
      ::_exit(127);
    }
    ::close(out[1]);
    stdout_ = out[0];
    // Read the first line (port or pty path) within 10 s.
    char ch;
    while (true) {
      pollfd p{stdout_, POLLIN, 0};
      if (::poll(&p, 1, 10000) <= 0 || ::read(stdout_, &ch, 1) != 1) break;
      if (ch == '\n') {
        ready_ = true;
        break;
      }
      first_line_ += ch;
    }
  }
  ~SimProcess() { Kill(); }
  void Kill() {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
      pid_ = -1;
    }
    if (stdout_ >= 0) ::close(stdout_);
    stdout_ = -1;
  }
  /// Read the next stdout line (without its newline) within `timeout_ms`; "" on timeout or
  /// end of output.
  std::string NextLine(int timeout_ms = 10000) {
    std::string line;
    char ch;
    while (stdout_ >= 0) {
      pollfd p{stdout_, POLLIN, 0};
      if (::poll(&p, 1, timeout_ms) <= 0 || ::read(stdout_, &ch, 1) != 1) return "";
      if (ch == '\n') return line;
      line += ch;
    }
    return line;
  }
  bool ready() const { return ready_; }
  const std::string& first_line() const { return first_line_; }

 private:
  pid_t pid_ = -1;
  int stdout_ = -1;
  bool ready_ = false;
  std::string first_line_;
};

}  // namespace arrowdaq::testing
