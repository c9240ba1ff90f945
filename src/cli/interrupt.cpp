#include "interrupt.hpp"

#include "cli.hpp"

#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <iostream>
#include <utility>

namespace statusstack::webhooks::cli {

namespace {

constexpr std::size_t read_chunk = std::size_t{64} * 1024;

bool ignored_at_start(int number) {
  struct sigaction current {};
  return ::sigaction(number, nullptr, &current) == 0 && current.sa_handler == SIG_IGN;
}

}  // namespace

StopSignalsBlocked::StopSignalsBlocked() {
  sigemptyset(&blocked_);
  for (const int number : {SIGINT, SIGTERM}) {
    if (!ignored_at_start(number)) sigaddset(&blocked_, number);
  }
  if (const int failed = ::pthread_sigmask(SIG_BLOCK, &blocked_, &previous_); failed != 0) {
    fail(exit_failed, std::string("cannot block SIGINT and SIGTERM: ") + error_text(failed));
  }
}

StopSignalsBlocked::~StopSignalsBlocked() { ::pthread_sigmask(SIG_SETMASK, &previous_, nullptr); }

SignalWatcher::SignalWatcher(const StopSignalsBlocked& blocked, std::function<void(int)> on_signal)
    : signals_(blocked.signals()), on_signal_(std::move(on_signal)) {
  // Both signals ignored since the tool started: there is nothing to wait for.
  if (sigismember(&signals_, SIGINT) == 1 || sigismember(&signals_, SIGTERM) == 1) {
    thread_ = std::thread([this] { run(); });
  }
}

SignalWatcher::~SignalWatcher() { stop(); }

void SignalWatcher::run() {
  for (;;) {
    int number = 0;
    if (::sigwait(&signals_, &number) != 0) continue;
    // stop() wakes this thread with one of the signals. One from elsewhere in that instant is taken
    // as the wake-up too: the run is over by then, and nothing is left for it to stop.
    if (stopping_.load(std::memory_order_acquire)) return;
    int none = 0;
    if (received_.compare_exchange_strong(none, number, std::memory_order_acq_rel)) on_signal_(number);
  }
}

void SignalWatcher::stop() {
  if (!thread_.joinable()) return;
  stopping_.store(true, std::memory_order_release);
  // Any signal of the set will do: this thread is the only one that takes them.
  const int wake = sigismember(&signals_, SIGTERM) == 1 ? SIGTERM : SIGINT;
  ::pthread_kill(thread_.native_handle(), wake);
  thread_.join();
}

std::string signal_name(int number) {
  if (number == SIGINT) return "SIGINT";
  if (number == SIGTERM) return "SIGTERM";
  return "signal " + std::to_string(number);
}

void end_by_signal(int number) {
  std::cout.flush();
  std::cerr.flush();
  struct sigaction default_action {};
  default_action.sa_handler = SIG_DFL;
  sigemptyset(&default_action.sa_mask);
  ::sigaction(number, &default_action, nullptr);
  sigset_t only;
  sigemptyset(&only);
  sigaddset(&only, number);
  ::pthread_sigmask(SIG_UNBLOCK, &only, nullptr);
  ::raise(number);
  std::_Exit(128 + number);  // not reached: the default action of SIGINT and SIGTERM ends the process
}

InterruptibleLines::InterruptibleLines(int fd, bool owned) : fd_(fd), owned_(owned) {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC | O_NONBLOCK) != 0) {
    const int error = errno;
    if (owned_) ::close(fd_);
    fail(exit_failed, std::string("cannot create a pipe: ") + error_text(error));
  }
  wake_read_ = fds[0];
  wake_write_ = fds[1];
}

InterruptibleLines::~InterruptibleLines() {
  ::close(wake_read_);
  ::close(wake_write_);
  if (owned_) ::close(fd_);
}

void InterruptibleLines::interrupt() noexcept {
  interrupted_.store(true, std::memory_order_release);
  const char byte = 1;
  // The pipe is non-blocking: when it is full, a byte is already waiting to wake the reader.
  [[maybe_unused]] const ssize_t written = ::write(wake_write_, &byte, 1);
}

bool InterruptibleLines::next(std::string& line) {
  for (;;) {
    if (interrupted_.load(std::memory_order_acquire)) return false;
    if (const auto newline = buffer_.find('\n', scanned_); newline != std::string::npos) {
      line.assign(buffer_, start_, newline - start_);
      start_ = scanned_ = newline + 1;
      return true;
    }
    if (at_end_) {
      if (start_ == buffer_.size()) return false;
      line.assign(buffer_, start_, std::string::npos);
      start_ = scanned_ = buffer_.size();
      return true;
    }
    // Drop what was read already, so the buffer holds one chunk and the start of a line at most.
    buffer_.erase(0, start_);
    scanned_ = buffer_.size();
    start_ = 0;

    pollfd waits[2] = {{fd_, POLLIN, 0}, {wake_read_, POLLIN, 0}};
    if (::poll(waits, 2, -1) < 0) {
      if (errno == EINTR) continue;
      error_ = error_text(errno);
      return false;
    }
    if (waits[1].revents != 0) return false;  // interrupt()
    if (waits[0].revents == 0) continue;
    const std::size_t old_size = buffer_.size();
    buffer_.resize(old_size + read_chunk);
    const ssize_t got = ::read(fd_, &buffer_[old_size], read_chunk);
    const int error = errno;
    buffer_.resize(old_size + (got > 0 ? static_cast<std::size_t>(got) : 0));
    if (got == 0) {
      at_end_ = true;
    } else if (got < 0 && error != EINTR && error != EAGAIN && error != EWOULDBLOCK) {
      error_ = error_text(error);
      return false;
    }
  }
}

}  // namespace statusstack::webhooks::cli
