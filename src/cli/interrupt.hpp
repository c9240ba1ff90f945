#pragma once

// Internal to the statusstack-webhook tool: SIGINT and SIGTERM as a request to stop, not as the end of
// the process, and input that such a request cuts short.
//
// How `dispatch` uses them: StopSignalsBlocked blocks both signals before the Dispatcher starts its
// threads (threads inherit the mask, so no thread of the library is ever interrupted by them); a
// SignalWatcher takes them with sigwait on a thread of its own, never in a signal handler, and
// calls back; the callback interrupts the InterruptibleLines the events come from and shuts the
// Dispatcher down; the tool prints every report and the summary, then ends by the same signal.

#include <signal.h>

#include <atomic>
#include <cstddef>
#include <functional>
#include <string>
#include <thread>

namespace statusstack::webhooks::cli {

/// Blocks SIGINT and SIGTERM in the calling thread, and so in every thread started after it, until
/// destroyed (then the previous mask returns and a signal still pending takes its default action).
/// A signal that was ignored when the tool started (SIG_IGN, as `nohup` sets it) stays ignored.
class StopSignalsBlocked {
 public:
  StopSignalsBlocked();
  ~StopSignalsBlocked();
  StopSignalsBlocked(const StopSignalsBlocked&) = delete;
  StopSignalsBlocked& operator=(const StopSignalsBlocked&) = delete;

  /// The signals blocked here: those of SIGINT and SIGTERM that were not ignored.
  const sigset_t& signals() const noexcept { return blocked_; }

 private:
  sigset_t blocked_{};
  sigset_t previous_{};
};

/// A thread that takes the signals `blocked` holds back and calls `on_signal(number)` for the first
/// one, on that thread; later ones are taken and ignored. Declare it after everything the callback
/// uses: the destructor stops and joins the thread. Not copyable or movable.
class SignalWatcher {
 public:
  SignalWatcher(const StopSignalsBlocked& blocked, std::function<void(int)> on_signal);
  ~SignalWatcher();
  SignalWatcher(const SignalWatcher&) = delete;
  SignalWatcher& operator=(const SignalWatcher&) = delete;

  /// Ends the thread and joins it (after a callback in progress returns). Idempotent.
  void stop();
  /// The first signal taken (SIGINT or SIGTERM), or 0. Set before the callback runs.
  int received() const noexcept { return received_.load(std::memory_order_acquire); }

 private:
  void run();

  sigset_t signals_;
  std::function<void(int)> on_signal_;
  std::atomic<int> received_{0};
  std::atomic<bool> stopping_{false};
  std::thread thread_;
};

/// "SIGINT", "SIGTERM", or "signal N".
std::string signal_name(int number);

/// Flushes standard output and error, then ends the process by `number` with the signal's default
/// action, as if it had never been caught: the parent sees how the tool ended (a shell shows
/// 128 + number: 130 for SIGINT, 143 for SIGTERM). Call it with no thread of the tool still working.
[[noreturn]] void end_by_signal(int number);

/// Lines from a file descriptor, waiting in poll() beside a pipe so that interrupt(), from any
/// thread, ends a wait at once (a blocking read of standard input would wait for the next line).
/// Not thread-safe except interrupt().
class InterruptibleLines {
 public:
  /// Reads `fd`; closes it at destruction when `owned`.
  InterruptibleLines(int fd, bool owned);
  ~InterruptibleLines();
  InterruptibleLines(const InterruptibleLines&) = delete;
  InterruptibleLines& operator=(const InterruptibleLines&) = delete;

  /// The next line without its newline (a last line without one too). False at the end of the
  /// input, once interrupted, or on a read error (then error() says what failed).
  bool next(std::string& line);
  /// Makes next() return false from now on, ending a wait in progress. Thread-safe.
  void interrupt() noexcept;
  /// The reason reading failed, or empty.
  const std::string& error() const noexcept { return error_; }

 private:
  int fd_;
  bool owned_;
  int wake_read_ = -1;
  int wake_write_ = -1;
  std::atomic<bool> interrupted_{false};
  std::string buffer_;
  std::size_t start_ = 0;    // where the unread text in buffer_ begins
  std::size_t scanned_ = 0;  // buffer_ before this offset holds no newline after start_
  bool at_end_ = false;
  std::string error_;
};

}  // namespace statusstack::webhooks::cli
