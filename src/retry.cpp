#include <statusstack/webhooks/dispatcher.hpp>

#include <algorithm>
#include <cmath>
#include <sstream>

namespace statusstack::webhooks {

using std::chrono::milliseconds;

milliseconds RetryPolicy::next_delay(int attempt, std::optional<std::chrono::seconds> retry_after,
                                     double random01) const {
  const int index = std::max(attempt, 1) - 1;  // delay after attempt 1 is the first one
  double delay_ms = 0;
  if (!schedule.empty()) {
    delay_ms = static_cast<double>(
        schedule[std::min<std::size_t>(static_cast<std::size_t>(index), schedule.size() - 1)].count());
  } else {
    const double grown = static_cast<double>(initial_delay.count()) * std::pow(factor, index);
    delay_ms = std::min(grown, static_cast<double>(max_delay.count()));
    // Jitter spreads the retries of many deliveries that failed together.
    const double spread = std::clamp(jitter, 0.0, 1.0);
    delay_ms *= 1.0 - spread + 2.0 * spread * std::clamp(random01, 0.0, 1.0);
  }
  // Saturate rather than overflow: a delay this long (2^62 ms, 146 million years) means "never".
  constexpr double longest = 4.6e18;
  auto delay = milliseconds(static_cast<milliseconds::rep>(std::llround(std::clamp(delay_ms, 0.0, longest))));
  if (retry_after && *retry_after > std::chrono::seconds::zero()) {
    // Compared in seconds first: a huge Retry-After must not overflow on its way to milliseconds.
    const milliseconds asked = *retry_after >= std::chrono::ceil<std::chrono::seconds>(max_retry_after)
                                   ? max_retry_after
                                   : milliseconds(*retry_after);
    delay = std::max(delay, asked);
  }
  return std::max(delay, milliseconds::zero());
}

Result<void> RetryPolicy::validate() const {
  auto invalid = [](const char* field, const std::string& what) {
    return Error{ErrorCode::invalid_config, std::string("retry.") + field + ": " + what,
                 std::string("retry.") + field};
  };
  if (max_attempts < 1)
    return invalid("max_attempts", "must be at least 1 (got " + std::to_string(max_attempts) + ")");
  if (initial_delay < milliseconds::zero()) return invalid("initial_delay", "must not be negative");
  if (!(factor >= 1.0)) return invalid("factor", "must be at least 1");
  if (!std::isfinite(factor)) return invalid("factor", "must be finite");
  if (max_delay < initial_delay) return invalid("max_delay", "must not be less than initial_delay");
  if (!(jitter >= 0.0 && jitter <= 1.0)) return invalid("jitter", "must be between 0 and 1");
  for (const milliseconds& delay : schedule) {
    if (delay < milliseconds::zero()) return invalid("schedule", "delays must not be negative");
  }
  if (max_age <= milliseconds::zero()) return invalid("max_age", "must be positive");
  if (max_retry_after < milliseconds::zero()) return invalid("max_retry_after", "must not be negative");
  return {};
}

const char* to_string(FailureReason reason) noexcept {
  switch (reason) {
    case FailureReason::none: return "none";
    case FailureReason::rejected: return "rejected";
    case FailureReason::attempts_exhausted: return "attempts_exhausted";
    case FailureReason::too_old: return "too_old";
    case FailureReason::endpoint_removed: return "endpoint_removed";
    case FailureReason::shutdown: return "shutdown";
    case FailureReason::receiver_gone: return "receiver_gone";
    case FailureReason::endpoint_disabled: return "endpoint_disabled";
  }
  return "none";
}

std::optional<FailureReason> failure_reason_from_string(std::string_view name) noexcept {
  for (int i = 0; i <= static_cast<int>(FailureReason::endpoint_disabled); ++i) {
    const auto reason = static_cast<FailureReason>(i);
    if (name == to_string(reason)) return reason;
  }
  if (name == "endpoint_gone") return FailureReason::receiver_gone;  // what earlier builds wrote in stores
  return std::nullopt;
}

const char* to_string(DeliveryState state) noexcept {
  switch (state) {
    case DeliveryState::pending: return "pending";
    case DeliveryState::delivered: return "delivered";
    case DeliveryState::failed: return "failed";
  }
  return "pending";
}

namespace {

// Per endpoint, labelled with its name (names are letters, digits and ".:_-": nothing to escape).
// Endpoints are configured, not made from traffic: the number of series stays bounded.
void write_endpoint_metrics(std::ostringstream& out, const std::vector<EndpointHealth>& endpoints) {
  if (endpoints.empty()) return;
  auto family = [&](const char* name, const char* type, const char* help, auto value) {
    out << "# HELP statusstack_webhooks_endpoint_" << name << ' ' << help
        << "\n# TYPE statusstack_webhooks_endpoint_" << name << ' ' << type << '\n';
    for (const EndpointHealth& endpoint : endpoints) {
      out << "statusstack_webhooks_endpoint_" << name << "{endpoint=\"" << endpoint.endpoint << "\"} "
          << value(endpoint) << '\n';
    }
  };
  out << "# HELP statusstack_webhooks_endpoint_breaker_state The endpoint's circuit breaker: 1 for its "
         "current state.\n# TYPE statusstack_webhooks_endpoint_breaker_state gauge\n";
  for (const EndpointHealth& endpoint : endpoints) {
    for (const BreakerState state :
         {BreakerState::closed, BreakerState::open, BreakerState::half_open, BreakerState::disabled}) {
      out << "statusstack_webhooks_endpoint_breaker_state{endpoint=\"" << endpoint.endpoint << "\",state=\""
          << to_string(state) << "\"} " << (endpoint.breaker == state ? 1 : 0) << '\n';
    }
  }
  family("gone", "gauge", "1 while the endpoint is paused since it answered 410 Gone.",
         [](const EndpointHealth& e) { return e.gone ? 1 : 0; });
  family("consecutive_failures", "gauge", "Failed attempts in a row.",
         [](const EndpointHealth& e) { return e.consecutive_failures; });
  family("queued", "gauge", "Deliveries accepted for the endpoint and not final.",
         [](const EndpointHealth& e) { return e.queued; });
  family("delivered_total", "counter", "The endpoint's deliveries that ended with a 2xx.",
         [](const EndpointHealth& e) { return e.delivered; });
  family("failed_total", "counter", "The endpoint's deliveries that ended without a 2xx.",
         [](const EndpointHealth& e) { return e.failed; });
}

}  // namespace

std::string to_prometheus(const DispatcherStats& stats) {
  std::ostringstream out;
  out.precision(15);
  auto metric = [&out](const char* name, const char* type, const char* help, std::uint64_t value) {
    out << "# HELP statusstack_webhooks_" << name << ' ' << help << "\n# TYPE statusstack_webhooks_" << name
        << ' ' << type << "\nstatusstack_webhooks_" << name << ' ' << value << '\n';
  };
  metric("accepted_total", "counter", "Deliveries accepted by dispatch().", stats.accepted);
  metric("delivered_total", "counter", "Deliveries that ended with a 2xx.", stats.delivered);
  out << "# HELP statusstack_webhooks_failed_total Deliveries that ended without a 2xx, by reason.\n"
         "# TYPE statusstack_webhooks_failed_total counter\n";
  for (std::size_t i = 1; i < stats.failed_by_reason.size(); ++i) {
    out << "statusstack_webhooks_failed_total{reason=\"" << to_string(static_cast<FailureReason>(i)) << "\"} "
        << stats.failed_by_reason[i] << '\n';
  }
  metric("refused_calls_total", "counter",
         "dispatch() calls that queued nothing (invalid event, queue full or shut down).",
         stats.refused_calls);
  metric("attempts_total", "counter", "HTTP attempts finished.", stats.attempts);
  metric("retries_total", "counter", "Attempts scheduled again after a retryable failure.", stats.retries);
  metric("callback_errors_total", "counter", "Exceptions thrown by report callbacks.", stats.callback_errors);
  metric("recovered_total", "counter", "Pending deliveries resumed from the store at start.",
         stats.recovered);
  metric("redelivered_total", "counter", "Failed deliveries sent again by redeliver().", stats.redelivered);
  metric("parked_total", "counter", "Deliveries left pending in the store at shutdown.", stats.parked);
  metric("store_errors_total", "counter", "Writes the store could not make.", stats.store_errors);
  metric("in_flight", "gauge", "Requests on the wire.", stats.in_flight);
  metric("queued", "gauge", "Deliveries waiting for their next attempt.", stats.queued);

  out << "# HELP statusstack_webhooks_delivery_latency_seconds From dispatch() to a 2xx.\n"
         "# TYPE statusstack_webhooks_delivery_latency_seconds histogram\n";
  std::uint64_t cumulative = 0;
  for (std::size_t i = 0; i < DispatcherStats::latency_bounds_ms.size(); ++i) {
    cumulative += stats.latency_buckets[i];
    out << "statusstack_webhooks_delivery_latency_seconds_bucket{le=\""
        << DispatcherStats::latency_bounds_ms[i] / 1000.0 << "\"} " << cumulative << '\n';
  }
  cumulative += stats.latency_buckets.back();
  out << "statusstack_webhooks_delivery_latency_seconds_bucket{le=\"+Inf\"} " << cumulative << '\n'
      << "statusstack_webhooks_delivery_latency_seconds_sum " << stats.latency_sum_ms / 1000.0 << '\n'
      << "statusstack_webhooks_delivery_latency_seconds_count " << cumulative << '\n';
  write_endpoint_metrics(out, stats.endpoints);
  return out.str();
}

}  // namespace statusstack::webhooks
