#pragma once

// The Dispatcher's sense of time: a replaceable clock (tests move a manual one), and time
// arithmetic that saturates, so that milliseconds::max() means "forever" and no sum overflows.

#include <statusstack/webhooks/export.hpp>

#include <chrono>
#include <condition_variable>
#include <mutex>

namespace statusstack::webhooks::detail {

using SteadyTime = std::chrono::steady_clock::time_point;
using WallTime = std::chrono::system_clock::time_point;
using std::chrono::milliseconds;

/// Where the Dispatcher reads the time: steady time for every delay and age, wall time for what a
/// report or a store shows. The default reads the system's clocks.
class STATUSSTACK_WEBHOOKS_EXPORT Clock {
 public:
  virtual ~Clock();
  virtual SteadyTime now() const;
  virtual WallTime wall() const;
};

/// `from + delay`, or SteadyTime::max() when that does not fit; a negative delay counts as none.
inline SteadyTime later(SteadyTime from, milliseconds delay) noexcept {
  if (delay <= milliseconds::zero()) return from;
  if (delay >= std::chrono::duration_cast<milliseconds>(SteadyTime::max() - from)) return SteadyTime::max();
  return from + delay;
}

/// Whole milliseconds from `since` to `now`.
inline milliseconds elapsed(SteadyTime since, SteadyTime now) noexcept {
  return std::chrono::duration_cast<milliseconds>(now - since);
}

/// cv.wait_for(lock, timeout, ready) on the steady clock that takes milliseconds::max() (or any
/// timeout too long for the clock) as no timeout at all, instead of one that has already passed.
template <class Ready>
bool wait_for(std::condition_variable& cv, std::unique_lock<std::mutex>& lock, milliseconds timeout,
              Ready ready) {
  const SteadyTime until = later(std::chrono::steady_clock::now(), timeout);
  if (until == SteadyTime::max()) {
    cv.wait(lock, ready);
    return true;
  }
  return cv.wait_until(lock, until, ready);
}

}  // namespace statusstack::webhooks::detail
