#pragma once

// An endpoint's circuit breaker: after failure_threshold failed attempts in a row it opens, and the
// endpoint's deliveries wait without spending attempts; after the cool-down one probe goes
// (half-open); a sign of life closes it, a failed probe opens it again for twice as long. Still
// open disable_after past the first failure of the streak, it disables the endpoint.
//
//   closed ──threshold failures──▶ open ──cool-down over──▶ half_open ──probe alive──▶ closed
//                                   ▲                           │
//                                   └──────probe failed─────────┘   (open past disable_after: disabled)
//
// Shared by the I/O loops of every lane of the endpoint: a mutex guards the state, and the closed
// breaker, the common case, is one atomic load per attempt. Times come from the caller (the
// Dispatcher's replaceable clock), so tests drive it exactly.

#include <statusstack/webhooks/client.hpp>
#include <statusstack/webhooks/dispatcher.hpp>
#include <statusstack/webhooks/export.hpp>

#include "dispatch/clock.hpp"

#include <atomic>
#include <limits>
#include <mutex>
#include <string>

namespace statusstack::webhooks::detail {

/// What a store keeps of an endpoint between runs: its 410 pause and its breaker.
struct EndpointState {
  std::string name;
  bool gone = false;
  BreakerState breaker = BreakerState::closed;
  int failures = 0;  ///< failed attempts in a row
  int opened = 0;    ///< times the breaker opened in this streak (the cool-down doubles each time)
  WallTime failing_since{};
  WallTime open_until{};
  std::string last_error;
};

class STATUSSTACK_WEBHOOKS_EXPORT Breaker {
 public:
  /// What an attempt's outcome says of its endpoint: up (any answer that is not worth retrying, a
  /// 2xx or a 4xx), down (an outcome worth retrying), or nothing (refused before the network: an
  /// invalid or blocked request, an untrusted certificate).
  enum class Verdict { alive, failed, neither };
  static Verdict judge(const Outcome& outcome) noexcept;

  /// Whether an attempt may start now: yes; not yet; or yes as the probe of a half-open breaker
  /// (record() must then be told so, or return_probe() called if it does not start after all).
  enum class Gate { pass, wait, probe };
  Gate gate(SteadyTime now) noexcept;
  void return_probe() noexcept;
  /// Until when deliveries wait: the past when they need not, SteadyTime::max() while a probe is out
  /// (or disabled).
  SteadyTime waits_until() const noexcept {
    return SteadyTime(SteadyTime::duration(gate_until_.load(std::memory_order_acquire)));
  }

  /// What record() changed: worth saving in a store; the endpoint just became disabled.
  struct Change {
    bool changed = false;
    bool disabled = false;
  };
  /// A finished attempt and what it says (`error`: the outcome described, kept for a failure).
  Change record(Verdict verdict, bool probe, const std::string& error, SteadyTime now, WallTime wall,
                const CircuitBreakerPolicy& policy);

  BreakerState state() const;
  /// Closed, nothing remembered: an endpoint enabled again.
  void reset();
  /// The state a store kept, with its times moved onto the steady clock.
  void restore(const EndpointState& saved, SteadyTime now, WallTime wall);
  /// The state for a store (`saved.name` and `gone` are the caller's).
  void save(EndpointState& saved, SteadyTime now, WallTime wall) const;
  /// The breaker's part of an endpoint's health.
  void describe(EndpointHealth& health, SteadyTime now, WallTime wall) const;

 private:
  static constexpr SteadyTime::rep closed_gate = std::numeric_limits<SteadyTime::rep>::min();
  static constexpr SteadyTime::rep shut_gate = std::numeric_limits<SteadyTime::rep>::max();
  void set_gate(SteadyTime::rep until) noexcept { gate_until_.store(until, std::memory_order_release); }
  void open(SteadyTime now, const CircuitBreakerPolicy& policy);
  template <class Target>
  void show(Target& target, SteadyTime now, WallTime wall) const;

  std::atomic<SteadyTime::rep> gate_until_{closed_gate};
  mutable std::mutex mutex_;
  BreakerState state_ = BreakerState::closed;
  int failures_ = 0;
  int opened_ = 0;
  bool probe_out_ = false;
  std::atomic<bool> failing_{false};  // written under the mutex; read without it by record()'s fast path
  SteadyTime failing_since_{};
  WallTime failing_since_wall_{};
  SteadyTime open_until_{};
  std::string last_error_;
};

}  // namespace statusstack::webhooks::detail
