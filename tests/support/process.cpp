#include "support/process.hpp"

#include "support/servers.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <iterator>
#include <sstream>
#include <stdexcept>
#include <thread>
#include <utility>

extern char** environ;  // NOLINT(readability-redundant-declaration): POSIX declares it nowhere else

namespace statusstack::webhooks::testing {

namespace {
std::string read_all(const std::string& file) {
  std::ifstream in(file, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

std::vector<char*> c_strings(std::vector<std::string>& strings) {
  std::vector<char*> pointers;
  for (auto& s : strings) pointers.push_back(s.data());
  pointers.push_back(nullptr);
  return pointers;
}

std::vector<std::string> environment_with(const std::vector<std::string>& extra_env) {
  std::vector<std::string> env;
  for (char** entry = environ; *entry != nullptr; ++entry) {
    const std::string text = *entry;
    bool replaced = false;
    for (const auto& extra : extra_env) {
      const auto name_length = extra.find('=') + 1;
      if (text.compare(0, name_length, extra, 0, name_length) == 0) replaced = true;
    }
    if (!replaced) env.push_back(text);
  }
  env.insert(env.end(), extra_env.begin(), extra_env.end());
  return env;
}

int exit_code_of(int status) { return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status); }
}  // namespace

ProcessResult run_on_terminal(const std::vector<std::string>& argv, std::chrono::milliseconds timeout) {
  const auto require = [](bool ok, const char* what) {
    if (!ok) throw std::runtime_error(std::string("run_on_terminal: ") + what + " failed");
  };
  const int master = ::posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
  require(master >= 0, "posix_openpt");
  require(::grantpt(master) == 0 && ::unlockpt(master) == 0, "grantpt/unlockpt");
  char name[128] = "";
  require(::ptsname_r(master, name, sizeof name) == 0, "ptsname_r");
  const int terminal = ::open(name, O_RDWR | O_NOCTTY | O_CLOEXEC);
  require(terminal >= 0, "opening the terminal");
  termios settings{};
  require(::tcgetattr(terminal, &settings) == 0, "tcgetattr");
  settings.c_oflag &= ~static_cast<tcflag_t>(OPOST);  // "\n" stays "\n" (not "\r\n")
  require(::tcsetattr(terminal, TCSANOW, &settings) == 0, "tcsetattr");
  const int null = ::open("/dev/null", O_RDWR | O_CLOEXEC);
  require(null >= 0, "opening /dev/null");

  std::vector<std::string> args = argv;
  std::vector<char*> raw;
  raw.reserve(args.size() + 1);
  for (std::string& arg : args) raw.push_back(arg.data());
  raw.push_back(nullptr);
  const pid_t pid = ::fork();
  require(pid >= 0, "fork");
  if (pid == 0) {
    // Only async-signal-safe calls between fork and exec.
    ::dup2(null, STDIN_FILENO);
    ::dup2(terminal, STDOUT_FILENO);
    ::dup2(null, STDERR_FILENO);
    ::execv(raw[0], raw.data());
    ::_exit(127);
  }
  ::close(terminal);
  ::close(null);
  ProcessResult result;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left <= std::chrono::milliseconds::zero()) {
      ::kill(pid, SIGKILL);
      break;
    }
    pollfd ready{master, POLLIN, 0};
    if (::poll(&ready, 1, static_cast<int>(left.count())) <= 0) continue;
    char buffer[4096];
    const ssize_t n = ::read(master, buffer, sizeof buffer);
    if (n <= 0) break;  // EIO once the program has ended and closed the terminal
    result.out.append(buffer, static_cast<std::size_t>(n));
  }
  ::close(master);
  int status = 0;
  ::waitpid(pid, &status, 0);
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return result;
}

ProcessResult run_process(const std::vector<std::string>& argv, const std::vector<std::string>& extra_env,
                          const std::string& input_file) {
  if (argv.empty()) throw std::runtime_error("run_process: no program given");
  const TempDir capture;
  const std::string out_file = capture.file("stdout");
  const std::string err_file = capture.file("stderr");

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, input_file.empty() ? "/dev/null" : input_file.c_str(),
                                   O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, 1, out_file.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  posix_spawn_file_actions_addopen(&actions, 2, err_file.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);

  std::vector<std::string> arg_storage = argv;
  const std::vector<char*> args = c_strings(arg_storage);
  std::vector<std::string> env_storage = environment_with(extra_env);
  const std::vector<char*> env = c_strings(env_storage);

  pid_t pid = 0;
  const int spawned = posix_spawnp(&pid, args[0], &actions, nullptr, args.data(), env.data());
  posix_spawn_file_actions_destroy(&actions);
  if (spawned != 0) throw std::runtime_error("run_process: cannot start " + argv[0]);
  int status = 0;
  if (::waitpid(pid, &status, 0) != pid)
    throw std::runtime_error("run_process: waitpid failed for " + argv[0]);
  ProcessResult result;
  result.exit_code = exit_code_of(status);
  result.out = read_all(out_file);
  result.err = read_all(err_file);
  return result;
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

BackgroundProcess::BackgroundProcess(const std::vector<std::string>& argv,
                                     const std::vector<std::string>& extra_env)
    : dir_(std::make_unique<TempDir>()) {
  if (argv.empty()) throw std::runtime_error("BackgroundProcess: no program given");
  int pipe_fds[2];
  if (::pipe2(pipe_fds, O_CLOEXEC) != 0) throw std::runtime_error("BackgroundProcess: pipe failed");
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&actions, pipe_fds[1], 1);
  posix_spawn_file_actions_addopen(&actions, 2, dir_->file("stderr").c_str(), O_WRONLY | O_CREAT | O_TRUNC,
                                   0600);

  std::vector<std::string> arg_storage = argv;
  std::vector<std::string> env_storage = environment_with(extra_env);
  std::vector<char*> args = c_strings(arg_storage);
  std::vector<char*> env = c_strings(env_storage);
  const int spawned = posix_spawnp(&pid_, args[0], &actions, nullptr, args.data(), env.data());
  posix_spawn_file_actions_destroy(&actions);
  ::close(pipe_fds[1]);
  if (spawned != 0) {
    ::close(pipe_fds[0]);
    throw std::runtime_error("BackgroundProcess: cannot start " + argv[0]);
  }
  out_fd_ = pipe_fds[0];
}

BackgroundProcess::~BackgroundProcess() {
  if (!finished_) terminate();
  if (out_fd_ >= 0) ::close(out_fd_);
}

bool BackgroundProcess::fill(std::chrono::milliseconds timeout) {
  if (out_fd_ < 0) return false;
  pollfd p{out_fd_, POLLIN, 0};
  if (::poll(&p, 1, static_cast<int>(timeout.count())) != 1) return false;
  char chunk[4096];
  const ssize_t n = ::read(out_fd_, chunk, sizeof chunk);
  if (n <= 0) {
    ::close(out_fd_);
    out_fd_ = -1;
    return false;
  }
  buffer_.append(chunk, static_cast<std::size_t>(n));
  return true;
}

std::optional<std::string> BackgroundProcess::read_line(std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    if (const auto newline = buffer_.find('\n'); newline != std::string::npos) {
      std::string line = buffer_.substr(0, newline);
      buffer_.erase(0, newline + 1);
      return line;
    }
    const auto left =
        std::chrono::ceil<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left <= std::chrono::milliseconds::zero() || !fill(left)) return std::nullopt;
  }
}

std::string BackgroundProcess::read_rest() {
  // The program has ended: the pipe holds at most what it wrote last, then EOF.
  while (fill(std::chrono::milliseconds(1000))) {
  }
  return std::exchange(buffer_, std::string());
}

std::optional<ProcessResult> BackgroundProcess::wait(std::chrono::milliseconds timeout) {
  if (finished_) return finished_;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    int status = 0;
    const pid_t done = ::waitpid(pid_, &status, WNOHANG);
    if (done == pid_) {
      ProcessResult result;
      result.exit_code = exit_code_of(status);
      result.out = read_rest();
      result.err = read_all(dir_->file("stderr"));
      finished_ = result;
      return finished_;
    }
    if (done < 0) throw std::runtime_error("BackgroundProcess: waitpid failed");
    if (std::chrono::steady_clock::now() >= deadline) return std::nullopt;
    // Keep the pipe drained meanwhile, so a chatty program never blocks on a full pipe.
    if (!fill(std::chrono::milliseconds(10)) && out_fd_ < 0)
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

void BackgroundProcess::send_signal(int number) {
  if (!finished_) ::kill(pid_, number);
}

ProcessResult BackgroundProcess::terminate() {
  if (finished_) return *finished_;
  ::kill(pid_, SIGTERM);
  if (auto result = wait(std::chrono::seconds(5))) return *result;
  ::kill(pid_, SIGKILL);
  if (auto result = wait(std::chrono::seconds(5))) return *result;
  throw std::runtime_error("BackgroundProcess: the program survived SIGKILL");
}

}  // namespace statusstack::webhooks::testing
