#include "arrowdaq/app/isolated.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <exception>
#include <string_view>

namespace arrowdaq::app {

namespace {

using arrow::StatusCode;

using SteadyClock = std::chrono::steady_clock;

// Write all of `data` to `fd`; false on error (the parent reports a truncated answer).
bool WriteAll(int fd, std::string_view data) {
  while (!data.empty()) {
    const ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    data.remove_prefix(static_cast<std::size_t>(n));
  }
  return true;
}

[[noreturn]] void RunChild(int fd, const std::function<Result<std::string>()>& job) {
  // Answer: one byte of arrow::StatusCode, then the text (the job's output or error message).
  std::string answer;
  try {
    Result<std::string> result = job();
    if (result.ok()) {
      answer.push_back(static_cast<char>(StatusCode::OK));
      answer += *result;
    } else {
      answer.push_back(static_cast<char>(result.status().code()));
      answer += result.status().message();
    }
  } catch (const std::exception& e) {
    answer.push_back(static_cast<char>(StatusCode::UnknownError));
    answer += std::string("exception: ") + e.what();
  } catch (...) {
    answer.push_back(static_cast<char>(StatusCode::UnknownError));
    answer += "unknown exception";
  }
  const bool written = WriteAll(fd, answer);
  ::close(fd);
  // _exit: no atexit handlers or static destructors of the copied parent state.
  ::_exit(written ? 0 : 3);
}

std::string SignalText(int sig) {
  const char* name = sigabbrev_np(sig);
  return "signal " + std::to_string(sig) + (name != nullptr ? std::string(", SIG") + name : "");
}

}  // namespace

Result<std::string> RunIsolated(const std::function<Result<std::string>()>& job,
                                const IsolatedOptions& options) {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) {
    return Status::IOError(options.what, ": cannot create a pipe: ", std::strerror(errno));
  }
  const pid_t pid = ::fork();
  if (pid < 0) {
    const int err = errno;
    ::close(fds[0]);
    ::close(fds[1]);
    return Status::IOError(options.what, ": cannot start a child process: ", std::strerror(err));
  }
  if (pid == 0) {
    ::close(fds[0]);
    RunChild(fds[1], job);
  }
  ::close(fds[1]);

  const bool limited = options.timeout.count() > 0;
  const auto deadline = SteadyClock::now() + options.timeout;
  std::string answer;
  bool timed_out = false;
  for (;;) {
    int wait_ms = -1;
    if (limited) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - SteadyClock::now());
      if (left.count() <= 0) {
        timed_out = true;
        break;
      }
      wait_ms = static_cast<int>(std::min<std::int64_t>(left.count(), 1'000));
    }
    pollfd pfd{fds[0], POLLIN, 0};
    const int ready = ::poll(&pfd, 1, wait_ms);
    if (ready < 0 && errno == EINTR) continue;
    if (ready <= 0) continue;
    char buffer[1 << 16];
    const ssize_t n = ::read(fds[0], buffer, sizeof(buffer));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;  // EOF: the child closed its end (finished or died)
    answer.append(buffer, static_cast<std::size_t>(n));
  }
  ::close(fds[0]);
  if (timed_out) ::kill(pid, SIGKILL);
  int wstatus = 0;
  while (::waitpid(pid, &wstatus, 0) < 0 && errno == EINTR) {
  }
  if (timed_out) {
    char seconds[32];
    std::snprintf(seconds, sizeof(seconds), "%g",
                  std::chrono::duration<double>(options.timeout).count());
    return Status::IOError(options.what, ": gave up after ", seconds,
                           " s and stopped the reader (the input is probably damaged; a "
                           "longer limit may help a very large file)");
  }
  if (WIFSIGNALED(wstatus)) {
    return Status::IOError(options.what, ": the reader crashed (", SignalText(WTERMSIG(wstatus)),
                           "); the input is probably damaged");
  }
  if (!WIFEXITED(wstatus) || WEXITSTATUS(wstatus) != 0 || answer.empty()) {
    return Status::IOError(options.what, ": the reader failed (exit code ",
                           WIFEXITED(wstatus) ? WEXITSTATUS(wstatus) : -1,
                           ") without an answer; the input is probably damaged");
  }
  const auto code = static_cast<StatusCode>(static_cast<unsigned char>(answer[0]));
  std::string text = answer.substr(1);
  if (code == StatusCode::OK) return text;
  return Status(code, std::move(text));
}

}  // namespace arrowdaq::app
