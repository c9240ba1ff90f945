#include "dispatch/breaker.hpp"

#include "dispatch/decide.hpp"

#include <algorithm>

namespace statusstack::webhooks {

const char* to_string(BreakerState state) noexcept {
  switch (state) {
    case BreakerState::closed: return "closed";
    case BreakerState::open: return "open";
    case BreakerState::half_open: return "half_open";
    case BreakerState::disabled: return "disabled";
  }
  return "closed";
}

std::optional<BreakerState> breaker_state_from_string(std::string_view name) noexcept {
  for (const BreakerState state :
       {BreakerState::closed, BreakerState::open, BreakerState::half_open, BreakerState::disabled}) {
    if (name == to_string(state)) return state;
  }
  return std::nullopt;
}

Result<void> CircuitBreakerPolicy::validate() const {
  auto invalid = [](const char* field, const char* what) {
    return Error{ErrorCode::invalid_config, std::string("breaker.") + field + ": " + what,
                 std::string("breaker.") + field};
  };
  if (failure_threshold < 0) return invalid("failure_threshold", "must not be negative (0 turns it off)");
  if (cool_down <= std::chrono::milliseconds::zero()) return invalid("cool_down", "must be positive");
  if (max_cool_down < cool_down) return invalid("max_cool_down", "must be at least cool_down");
  if (disable_after < std::chrono::milliseconds::zero()) {
    return invalid("disable_after", "must not be negative (0: never disable)");
  }
  return {};
}

namespace detail {

namespace {

// cool_down doubled for each time the breaker opened again in this streak, at most max_cool_down.
milliseconds cool_down_after(int opened, const CircuitBreakerPolicy& policy) noexcept {
  milliseconds wait = policy.cool_down;
  for (int i = 1; i < opened && wait < policy.max_cool_down; ++i) {
    wait = wait > policy.max_cool_down / 2 ? policy.max_cool_down : wait * 2;
  }
  return std::min(wait, policy.max_cool_down);
}

}  // namespace

Breaker::Verdict Breaker::judge(const Outcome& outcome) noexcept {
  if (worth_retrying(outcome)) return Verdict::failed;
  if (outcome.error == TransportError::none && outcome.status > 0) return Verdict::alive;
  return Verdict::neither;
}

Breaker::Gate Breaker::gate(SteadyTime now) noexcept {
  if (gate_until_.load(std::memory_order_acquire) == closed_gate) return Gate::pass;
  const std::lock_guard<std::mutex> lock(mutex_);
  switch (state_) {
    case BreakerState::closed: return Gate::pass;
    case BreakerState::disabled: return Gate::wait;
    case BreakerState::open:
      if (now < open_until_) return Gate::wait;
      state_ = BreakerState::half_open;
      break;
    case BreakerState::half_open:
      if (probe_out_) return Gate::wait;
      break;
  }
  probe_out_ = true;
  set_gate(shut_gate);
  return Gate::probe;
}

void Breaker::return_probe() noexcept {
  const std::lock_guard<std::mutex> lock(mutex_);
  if (state_ != BreakerState::half_open || !probe_out_) return;
  probe_out_ = false;
  set_gate(SteadyTime::rep{0});  // not closed: the next gate() takes the lock and hands out the probe
}

void Breaker::open(SteadyTime now, const CircuitBreakerPolicy& policy) {
  ++opened_;
  state_ = BreakerState::open;
  open_until_ = later(now, cool_down_after(opened_, policy));
  set_gate(open_until_.time_since_epoch().count());
}

Breaker::Change Breaker::record(Verdict verdict, bool probe, const std::string& error, SteadyTime now,
                                WallTime wall, const CircuitBreakerPolicy& policy) {
  // The common case, a healthy endpoint's success, takes no lock.
  if (verdict == Verdict::alive && !probe && gate_until_.load(std::memory_order_acquire) == closed_gate &&
      !failing_.load(std::memory_order_relaxed)) {
    return {};
  }
  const std::lock_guard<std::mutex> lock(mutex_);
  if (state_ == BreakerState::disabled) return {};
  if (probe) probe_out_ = false;
  switch (verdict) {
    case Verdict::neither:
      if (probe && state_ == BreakerState::half_open) set_gate(SteadyTime::rep{0});  // another probe
      return {};
    case Verdict::alive: {
      const bool was_open = state_ != BreakerState::closed;
      state_ = BreakerState::closed;
      failures_ = 0;
      opened_ = 0;
      failing_.store(false, std::memory_order_relaxed);
      set_gate(closed_gate);
      return Change{was_open, false};
    }
    case Verdict::failed: break;
  }
  ++failures_;
  last_error_ = error;
  if (!failing_.load(std::memory_order_relaxed)) {
    failing_.store(true, std::memory_order_relaxed);
    failing_since_ = now;
    failing_since_wall_ = wall;
  }
  if (policy.failure_threshold == 0) return {};
  Change change;
  if ((state_ == BreakerState::closed && failures_ >= policy.failure_threshold) ||
      (state_ == BreakerState::half_open && probe)) {
    open(now, policy);
    change.changed = true;
  }
  if (state_ == BreakerState::open && policy.disable_after > milliseconds::zero() &&
      elapsed(failing_since_, now) >= policy.disable_after) {
    state_ = BreakerState::disabled;
    set_gate(shut_gate);
    change.changed = true;
    change.disabled = true;
  }
  return change;
}

BreakerState Breaker::state() const {
  const std::lock_guard<std::mutex> lock(mutex_);
  return state_;
}

void Breaker::reset() {
  const std::lock_guard<std::mutex> lock(mutex_);
  state_ = BreakerState::closed;
  failures_ = 0;
  opened_ = 0;
  probe_out_ = false;
  failing_.store(false, std::memory_order_relaxed);
  last_error_.clear();
  set_gate(closed_gate);
}

void Breaker::restore(const EndpointState& saved, SteadyTime now, WallTime wall) {
  const std::lock_guard<std::mutex> lock(mutex_);
  failures_ = saved.failures;
  opened_ = saved.opened;
  last_error_ = saved.last_error;
  probe_out_ = false;
  failing_.store(saved.failing_since != WallTime{}, std::memory_order_relaxed);
  failing_since_wall_ = saved.failing_since;
  failing_since_ = now - std::chrono::duration_cast<SteadyTime::duration>(
                             std::max(wall - saved.failing_since, WallTime::duration{}));
  // A probe that was out when the previous Dispatcher stopped never came back: open, due now.
  state_ = saved.breaker == BreakerState::half_open ? BreakerState::open : saved.breaker;
  switch (state_) {
    case BreakerState::closed: set_gate(closed_gate); break;
    case BreakerState::disabled: set_gate(shut_gate); break;
    case BreakerState::open:
    case BreakerState::half_open:
      open_until_ = now + std::chrono::duration_cast<SteadyTime::duration>(
                              std::max(saved.open_until - wall, WallTime::duration{}));
      set_gate(open_until_.time_since_epoch().count());
      break;
  }
}

// What save() and describe() both show, on the wall clock; the caller holds the lock.
template <class Target>
void Breaker::show(Target& target, SteadyTime now, WallTime wall) const {
  target.breaker = state_;
  target.failing_since = failing_.load(std::memory_order_relaxed) ? failing_since_wall_ : WallTime{};
  target.open_until = state_ == BreakerState::open
                          ? wall + std::chrono::duration_cast<WallTime::duration>(open_until_ - now)
                          : WallTime{};
  target.last_error = last_error_;
}

void Breaker::save(EndpointState& saved, SteadyTime now, WallTime wall) const {
  const std::lock_guard<std::mutex> lock(mutex_);
  show(saved, now, wall);
  saved.failures = failures_;
  saved.opened = opened_;
}

void Breaker::describe(EndpointHealth& health, SteadyTime now, WallTime wall) const {
  const std::lock_guard<std::mutex> lock(mutex_);
  show(health, now, wall);
  health.consecutive_failures = failures_;
}

}  // namespace detail
}  // namespace statusstack::webhooks
