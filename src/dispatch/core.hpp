#pragma once

// What the Dispatcher's front (dispatch(), flush(), shutdown()) shares with its I/O loops: the
// settings that hold for every delivery, room in the queue, counters, the final reports, the clock
// and the shutdown state.

#include <statusstack/webhooks/dispatcher.hpp>

#include "dispatch/clock.hpp"
#include "dispatch/delivery.hpp"
#include "dispatch/store.hpp"

#include <array>
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

namespace statusstack::webhooks::detail {

/// The Dispatcher whose I/O loop runs on this thread (null on every other thread): flush() and
/// shutdown() called from one of its callbacks would wait for the very thread they run on, and a
/// dispatch() there must not wait for room that only this thread can make.
const void*& io_loop_owner() noexcept;

struct Counters {
  std::atomic<std::uint64_t> accepted{0}, delivered{0}, failed{0}, refused_calls{0}, attempts{0}, retries{0},
      in_flight{0}, callback_errors{0}, latency_sum_us{0}, recovered{0}, redelivered{0}, parked{0},
      claimed{0}, taken_over{0};
  std::array<std::atomic<std::uint64_t>, failure_reason_count> failed_by_reason{};
  std::array<std::atomic<std::uint64_t>, 15> latency_buckets{};
};

struct Core {
  Core(const DispatcherOptions& options, std::shared_ptr<const Clock> clock,
       std::unique_ptr<DeliveryStore> store);

  /// What reserve() found.
  enum class Room { taken, no_count, no_bytes };
  /// Takes room for `count` deliveries holding `bytes`, or says which limit does not allow it
  /// (max_pending, max_pending_bytes).
  Room reserve(std::size_t count, std::size_t bytes);
  /// Gives room back (a delivery became final, or a reservation was not used) and wakes flush()
  /// and blocked dispatch() calls.
  void release(std::size_t count, std::size_t bytes);
  /// The final word on a delivery (with a durable store: once its final state is written): counters,
  /// the report, then its room back.
  void report(std::unique_ptr<Delivery> delivery, bool delivered, FailureReason reason);
  /// A delivery left pending in the store (at shutdown; or, shared, a retry handed back to the
  /// queue: not `counted` as parked): its room back, without a report.
  void park(std::unique_ptr<Delivery> delivery, bool counted = true);
  /// An endpoint its breaker just disabled, for on_endpoint_disabled.
  void notify_disabled(const EndpointHealth& health);
  /// A failed attempt, for on_attempt; `retry_in` when another attempt comes.
  void notify_attempt(const Delivery& delivery, std::optional<milliseconds> retry_in);
  /// A report's detail: the vendor's error; the last outcome with the body of a 4xx; or why there
  /// was no attempt at all.
  STATUSSTACK_WEBHOOKS_EXPORT static std::string explain(const Delivery& delivery, FailureReason reason);
  /// How much of a receiver's 4xx body a report's detail quotes.
  static constexpr std::size_t max_detail_body = 512;

  SteadyTime deadline() const noexcept {
    return SteadyTime(SteadyTime::duration(shutdown_deadline.load(std::memory_order_acquire)));
  }

  const RetryPolicy retry;  ///< for endpoints without their own
  const std::size_t max_pending;
  const std::size_t max_pending_bytes;
  const std::size_t max_event_bytes;
  const std::function<void(const DeliveryReport&)> on_report;
  const std::function<void(const AttemptReport&)> on_attempt;
  const CircuitBreakerPolicy breaker;
  const std::function<void(const EndpointHealth&)> on_endpoint_disabled;
  const std::shared_ptr<const Clock> clock;
  const std::unique_ptr<DeliveryStore> store;
  const bool durable;  ///< store->durable(): final states are written before they are reported
  const bool shared;   ///< store->shared(): several instances share the store's queue

  Counters counters;
  std::atomic<std::size_t> pending{0};        ///< accepted, not yet final
  std::atomic<std::size_t> pending_bytes{0};  ///< what those count against max_pending_bytes
  std::atomic<int> waiters{0};                ///< flush() and blocked dispatch() calls
  std::mutex wait_mutex;
  std::condition_variable wait_cv;

  /// Shared store: the instances alive, which split each endpoint's rate limit between them.
  std::atomic<unsigned> instances{1};
  std::atomic<std::uint64_t> generation{1};  ///< bumped when endpoints change
  std::atomic<bool> shutting_down{false};
  std::atomic<SteadyTime::rep> shutdown_deadline{0};
};

}  // namespace statusstack::webhooks::detail
