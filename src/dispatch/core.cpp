#include "dispatch/core.hpp"

#include "detail/text.hpp"
#include "dispatch/endpoints.hpp"

#include <algorithm>

namespace statusstack::webhooks::detail {

namespace {

// Up to `limit` bytes of a receiver's answer: control characters become spaces, and a multi-byte
// UTF-8 character is never cut in two.
std::string excerpt(std::string_view body, std::size_t limit) {
  const std::size_t size = utf8_prefix(body, limit);
  std::string text(body.substr(0, size));
  for (char& c : text) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = ' ';
  }
  if (size < body.size()) text += "...";
  return text;
}

// Why a delivery that never had an attempt ended.
const char* not_attempted_because(FailureReason reason) noexcept {
  switch (reason) {
    case FailureReason::receiver_gone: return "the endpoint is paused since it answered 410 Gone";
    case FailureReason::too_old: return "max_age passed before the first attempt could start";
    case FailureReason::endpoint_removed: return "the endpoint was removed";
    case FailureReason::shutdown: return "the dispatcher shut down before the first attempt";
    case FailureReason::endpoint_disabled:
      return "the endpoint is disabled: its circuit breaker stayed open for longer than disable_after";
    case FailureReason::none:
    case FailureReason::rejected:
    case FailureReason::attempts_exhausted: break;
  }
  return "it was refused";
}

}  // namespace

const void*& io_loop_owner() noexcept {
  thread_local const void* owner = nullptr;
  return owner;
}

Core::Core(const DispatcherOptions& options, std::shared_ptr<const Clock> clock_,
           std::unique_ptr<DeliveryStore> store_)
    : retry(options.retry),
      max_pending(options.max_pending),
      max_pending_bytes(options.max_pending_bytes),
      max_event_bytes(options.max_event_bytes),
      on_report(options.on_report),
      on_attempt(options.on_attempt),
      breaker(options.breaker),
      on_endpoint_disabled(options.on_endpoint_disabled),
      clock(std::move(clock_)),
      store(std::move(store_)),
      durable(store->durable()),
      shared(store->shared()) {}

Core::Room Core::reserve(std::size_t count, std::size_t bytes) {
  std::size_t current = pending.load(std::memory_order_relaxed);
  for (;;) {
    if (current + count > max_pending) return Room::no_count;
    if (pending.compare_exchange_weak(current, current + count, std::memory_order_acq_rel)) break;
  }
  std::size_t held = pending_bytes.load(std::memory_order_relaxed);
  for (;;) {
    if (held + bytes > max_pending_bytes) {
      release(count, 0);
      return Room::no_bytes;
    }
    if (pending_bytes.compare_exchange_weak(held, held + bytes, std::memory_order_acq_rel))
      return Room::taken;
  }
}

void Core::release(std::size_t count, std::size_t bytes) {
  pending_bytes.fetch_sub(bytes, std::memory_order_acq_rel);
  pending.fetch_sub(count, std::memory_order_acq_rel);
  if (waiters.load(std::memory_order_seq_cst) > 0) {
    { const std::lock_guard<std::mutex> lock(wait_mutex); }
    wait_cv.notify_all();
  }
}

Outcome restored_outcome(int status, std::string_view text) {
  Outcome outcome;
  outcome.status = status;
  if (status != 0 || text.empty()) return outcome;
  const auto colon = text.find(": ");
  const std::string_view kind = text.substr(0, colon);
  outcome.error = TransportError::other;
  outcome.error_message = std::string(colon == std::string_view::npos ? text : text.substr(colon + 2));
  for (int i = 1; i <= static_cast<int>(TransportError::other); ++i) {
    if (kind == to_string(static_cast<TransportError>(i))) outcome.error = static_cast<TransportError>(i);
  }
  return outcome;
}

std::string Core::explain(const Delivery& delivery, FailureReason reason) {
  if (delivery.result && !delivery.result->answer.error.empty()) return delivery.result->answer.error;
  if (delivery.attempts == 0) return std::string("not attempted: ") + not_attempted_because(reason);
  const Outcome& last = delivery.last();
  std::string text = last.describe();
  if (last.error == TransportError::none && last.status >= 400 && last.status < 500 && !last.body.empty()) {
    text += ": " + excerpt(last.body, max_detail_body);
  }
  return text;
}

void Core::notify_attempt(const Delivery& delivery, std::optional<milliseconds> retry_in) {
  if (!on_attempt) return;
  AttemptReport report{delivery.id.str(), delivery.endpoint->name, delivery.event->type,
                       delivery.attempts, delivery.last(),         explain(delivery, FailureReason::none),
                       retry_in};
  try {
    on_attempt(report);
  } catch (...) {
    counters.callback_errors.fetch_add(1, std::memory_order_relaxed);
  }
}

void Core::notify_disabled(const EndpointHealth& health) {
  if (!on_endpoint_disabled) return;
  try {
    on_endpoint_disabled(health);
  } catch (...) {
    counters.callback_errors.fetch_add(1, std::memory_order_relaxed);
  }
}

void Core::park(std::unique_ptr<Delivery> delivery, bool counted) {
  if (counted) counters.parked.fetch_add(1, std::memory_order_relaxed);
  store->release(*delivery);
  delivery->endpoint->queued.fetch_sub(1, std::memory_order_relaxed);
  const std::size_t bytes = delivery->charged_bytes;
  delivery.reset();
  release(1, bytes);
}

void Core::report(std::unique_ptr<Delivery> delivery, bool delivered, FailureReason reason) {
  const auto latency =
      std::chrono::duration_cast<std::chrono::microseconds>(clock->now() - delivery->accepted_steady);
  EndpointSlot& slot = *delivery->endpoint;
  slot.queued.fetch_sub(1, std::memory_order_relaxed);
  (delivered ? slot.delivered : slot.failed).fetch_add(1, std::memory_order_relaxed);
  if (delivered) {
    counters.delivered.fetch_add(1, std::memory_order_relaxed);
    const double latency_ms = static_cast<double>(latency.count()) / 1000.0;
    const auto& bounds = DispatcherStats::latency_bounds_ms;
    const auto bucket =
        static_cast<std::size_t>(std::lower_bound(bounds.begin(), bounds.end(), latency_ms) - bounds.begin());
    counters.latency_buckets[bucket].fetch_add(1, std::memory_order_relaxed);
    counters.latency_sum_us.fetch_add(static_cast<std::uint64_t>(std::max<std::int64_t>(latency.count(), 0)),
                                      std::memory_order_relaxed);
  } else {
    counters.failed.fetch_add(1, std::memory_order_relaxed);
    counters.failed_by_reason[static_cast<std::size_t>(reason)].fetch_add(1, std::memory_order_relaxed);
  }
  if (on_report) {
    DeliveryReport report;
    report.delivery_id = delivery->id.str();
    report.endpoint = delivery->endpoint->name;
    report.event = delivery->event->type;
    report.delivered = delivered;
    report.reason = reason;
    report.attempts = delivery->attempts;
    if (!delivered) report.detail = explain(*delivery, reason);
    if (delivery->result) {
      report.last = std::move(delivery->result->outcome);
      report.receipt = std::move(delivery->result->answer.receipt);
    }
    report.accepted_at = delivery->accepted_at;
    report.first_attempt_at = delivery->first_attempt_at;
    report.last_attempt_at = delivery->last_attempt_at;
    report.latency = std::chrono::duration_cast<milliseconds>(latency);
    try {
      on_report(report);
    } catch (...) {
      counters.callback_errors.fetch_add(1, std::memory_order_relaxed);
    }
  }
  const std::size_t bytes = delivery->charged_bytes;
  delivery.reset();
  release(1, bytes);
}

}  // namespace statusstack::webhooks::detail
