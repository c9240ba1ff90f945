#pragma once

// Test-only: run a program (the CLI, openssl, python3, node) as a user would and capture what it says.

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <sys/types.h>

namespace statusstack::webhooks::testing {

class TempDir;

/// How a program ended and what it printed.
struct ProcessResult {
  int exit_code = -1;  ///< the exit status, or 128 + signal number
  std::string out;
  std::string err;
};

/// Runs `argv` without a shell (arguments reach it byte for byte) and waits for it to end. Standard
/// input comes from `input_file` (or /dev/null); `extra_env` entries ("NAME=value") replace or add to
/// the environment. Throws std::runtime_error when the program cannot be started.
ProcessResult run_process(const std::vector<std::string>& argv,
                          const std::vector<std::string>& extra_env = {}, const std::string& input_file = "");

/// Runs `argv` as run_process does, but with its standard output on a pseudo-terminal (isatty() is
/// true there: what a program prints for people rather than for other programs), standard input and
/// standard error on /dev/null. Returns the exit code and standard output ("\n" kept as "\n").
/// Bounded: the program is killed after `timeout`. Throws std::runtime_error when no terminal can be
/// made or the program cannot be started.
ProcessResult run_on_terminal(const std::vector<std::string>& argv,
                              std::chrono::milliseconds timeout = std::chrono::seconds(30));

/// `text` split at newlines (the newlines dropped): a program's output line by line.
std::vector<std::string> lines_of(const std::string& text);

/// A program running in the background while a test talks to it (an example receiver, a snippet
/// from the docs). Its standard output is read line by line through a pipe; standard error goes to
/// a file, read at the end. Every wait is bounded. The destructor ends the program (SIGTERM, then
/// SIGKILL after 5 s) and reaps it, so a failing test leaves nothing running. Not thread-safe.
class BackgroundProcess {
 public:
  /// Starts `argv` without a shell, stdin from /dev/null, `extra_env` as in run_process.
  /// Throws std::runtime_error when the program cannot be started.
  explicit BackgroundProcess(const std::vector<std::string>& argv,
                             const std::vector<std::string>& extra_env = {});
  ~BackgroundProcess();
  BackgroundProcess(const BackgroundProcess&) = delete;
  BackgroundProcess& operator=(const BackgroundProcess&) = delete;

  /// The next line of standard output (without its newline), waiting at most `timeout`; nullopt
  /// when the timeout passed or the output ended first.
  std::optional<std::string> read_line(std::chrono::milliseconds timeout);
  /// Waits at most `timeout` for the program to end by itself. Then the result holds its exit code
  /// (128 + signal number when killed), the standard output not read by read_line yet, and its
  /// standard error; nullopt when it is still running.
  std::optional<ProcessResult> wait(std::chrono::milliseconds timeout);
  /// Sends SIGTERM and waits up to 5 s (then SIGKILL); returns what wait() returns.
  ProcessResult terminate();
  /// Sends the signal (SIGINT, SIGTERM...) and returns at once; wait() tells how the program took it.
  void send_signal(int number);

 private:
  bool fill(std::chrono::milliseconds timeout);  // reads what the pipe has; false on EOF or timeout
  std::string read_rest();

  pid_t pid_ = -1;
  int out_fd_ = -1;
  std::unique_ptr<TempDir> dir_;  // holds the standard error file
  std::string buffer_;
  std::optional<ProcessResult> finished_;
};

}  // namespace statusstack::webhooks::testing
