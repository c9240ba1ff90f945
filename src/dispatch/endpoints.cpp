#include "dispatch/endpoints.hpp"

#include "detail/text.hpp"

#include <algorithm>
#include <functional>

namespace statusstack::webhooks::detail {

namespace {

const Endpoint& validated(const Endpoint& endpoint) {
  if (auto valid = validate_endpoint(endpoint); !valid) throw ConfigError(valid.error());
  return endpoint;
}

RequestOptions transfer_options_of(const Endpoint& endpoint, const formats::Profile& profile) {
  RequestOptions options = endpoint.options;
  options.max_response_body = std::max(options.max_response_body, profile.answer_bytes);
  return options;
}

Ordering ordering_of(const Endpoint& endpoint, const formats::Profile& profile) noexcept {
  if (endpoint.ordered) return Ordering::all;
  // A PagerDuty resolve must not overtake its trigger, nor a Datadog success its error.
  return profile.order_key != nullptr ? Ordering::by_key : Ordering::none;
}

milliseconds max_age_of(const RetryPolicy& retry, const formats::Profile& profile) noexcept {
  if (profile.max_event_age == std::chrono::hours::zero()) return retry.max_age;
  return std::min<milliseconds>(retry.max_age, profile.max_event_age);
}

}  // namespace

EndpointConfig::EndpointConfig(Endpoint settings, const RetryPolicy& dispatcher_retry, std::size_t loops)
    : endpoint(std::move(settings)),
      profile(formats::profile_of(endpoint.format)),
      url(effective_url(validated(endpoint))),
      signer(endpoint),
      retry(endpoint.retry.value_or(dispatcher_retry)),
      max_age(max_age_of(retry, profile)),
      ordering(ordering_of(endpoint, profile)),
      transfer_options(transfer_options_of(endpoint, profile)),
      used_lanes(ordering == Ordering::all ? 1 : std::min(loops, endpoint.max_in_flight)) {
  // An ordered endpoint sends one delivery at a time: the next waits for the previous to be final.
  const std::size_t max = ordering == Ordering::all ? 1 : endpoint.max_in_flight;
  for (std::size_t i = 0; i < loops; ++i) {
    lane_max_in_flight.push_back(i < used_lanes ? max / used_lanes + (i < max % used_lanes ? 1 : 0) : 1);
  }
  lane_per_minute = effective_rate_limit(endpoint) / static_cast<double>(used_lanes);
}

EndpointSlot::EndpointSlot(std::shared_ptr<const EndpointConfig> config, std::size_t loops)
    : name(config->endpoint.name), lanes(loops), config_(std::move(config)) {}

EndpointSlot::EndpointSlot(std::string removed_name, std::size_t loops)
    : name(std::move(removed_name)), lanes(loops) {
  removed.store(true, std::memory_order_relaxed);
}

EndpointHealth EndpointSlot::health(SteadyTime now, WallTime wall) const {
  EndpointHealth health;
  health.endpoint = name;
  breaker.describe(health, now, wall);
  health.gone = gone.load(std::memory_order_relaxed);
  health.queued = queued.load(std::memory_order_relaxed);
  health.delivered = delivered.load(std::memory_order_relaxed);
  health.failed = failed.load(std::memory_order_relaxed);
  return health;
}

EndpointState EndpointSlot::state(SteadyTime now, WallTime wall) const {
  EndpointState saved;
  saved.name = name;
  saved.gone = gone.load(std::memory_order_relaxed);
  breaker.save(saved, now, wall);
  return saved;
}

void keep_response(Outcome& outcome, std::size_t limit) {
  std::string& body = outcome.body;
  if (body.size() <= limit) return;
  body.resize(utf8_prefix(body, limit));
  body.shrink_to_fit();
  outcome.body_truncated = true;
}

std::size_t EndpointSlot::pick_lane(const EndpointConfig& config, const Delivery& delivery) noexcept {
  if (config.used_lanes == 1) return 0;
  if (delivery.order.keyed()) return std::hash<std::string>{}(delivery.order.get()) % config.used_lanes;
  return next_lane_.fetch_add(1, std::memory_order_relaxed) % config.used_lanes;
}

void assign_order_key(const EndpointConfig& config, const Event& event, Delivery& delivery) {
  switch (config.ordering) {
    case Ordering::none: return;
    case Ordering::all: delivery.order.set({}); return;  // one key for everything
    case Ordering::by_key: delivery.order.set(config.profile.order_key(event)); return;
  }
}

Result<std::vector<PlannedDelivery>> plan_deliveries(const Event& event,
                                                     const std::vector<Endpoint>& endpoints,
                                                     std::size_t max_event_bytes, std::string& json) {
  if (auto valid = validate_event(event); !valid) return valid.error();
  const EventType type = type_of(event);
  std::vector<PlannedDelivery> planned;
  for (const Endpoint& endpoint : endpoints) {
    if (auto valid = validate_endpoint(endpoint); !valid) return valid.error();
    if (!endpoint.events.matches(type)) continue;
    const EndpointConfig config(endpoint, RetryPolicy{}, 1);
    Delivery delivery;
    assign_order_key(config, event, delivery);
    PlannedDelivery made{new_delivery_id(), endpoint.name, std::nullopt};
    if (delivery.order.keyed()) made.order_key = delivery.order.get();
    planned.push_back(std::move(made));
  }
  json = planned.empty() ? std::string() : to_json(event);
  if (json.size() > max_event_bytes) {
    return Error{ErrorCode::event_too_large,
                 "event: " + std::to_string(json.size()) + " bytes of JSON, more than max_event_bytes (" +
                     std::to_string(max_event_bytes) + "): the event was not enqueued",
                 "max_event_bytes"};
  }
  return planned;
}

Result<PreparedRequest> prepare_request(const std::shared_ptr<const EndpointConfig>& config,
                                        Delivery& delivery, WallTime now) {
  const EndpointConfig& settings = *config;
  PreparedRequest request;
  request.config = config;
  request.event = delivery.event;
  Headers format_headers;
  if (settings.profile.request == nullptr) {
    request.body = delivery.event->json;  // the event's JSON itself, held once for every endpoint
  } else {
    // Vendor bodies carry the routing key (PagerDuty) or go with the API key (Datadog): made
    // afresh for each attempt, from the settings of this moment.
    auto event = parse_event(delivery.event->json);
    if (!event) return event.error();
    auto formatted = format_event(*event, settings.endpoint.format, delivery.event->json);
    if (!formatted) return formatted.error();
    request.vendor_body = std::move(formatted->body);
    request.body = request.vendor_body;
    format_headers = std::move(formatted->headers);
  }
  // A StatusStack signature covers the body only: its timestamp stays the first attempt's, so every
  // attempt carries the same headers unless the secret changed. Standard Webhooks receivers refuse
  // stale timestamps: those are signed again at every attempt.
  const std::int64_t now_seconds = unix_seconds(now);
  if (delivery.signed_at == 0 || settings.signer.scheme() == SignatureScheme::standard_webhooks) {
    delivery.signed_at = now_seconds;
  }
  request.headers.reserve(8 + settings.endpoint.headers.size());
  settings.signer.append_headers(request.headers, settings.endpoint, format_headers,
                                 to_string(delivery.event->type), delivery.id.view(), delivery.signed_at,
                                 settings.signer.sign(request.body, delivery.id.view(), delivery.signed_at));
  return request;
}

}  // namespace statusstack::webhooks::detail
