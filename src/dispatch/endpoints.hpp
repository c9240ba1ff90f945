#pragma once

// Endpoints as the Dispatcher holds them: one slot per name, which deliveries are bound to and
// which outlives replacements of the endpoint's settings; the settings themselves, prepared once
// per upsert; and the request of one attempt, made from the settings of that moment.

#include <statusstack/webhooks/dispatcher.hpp>
#include <statusstack/webhooks/endpoint.hpp>

#include "dispatch/breaker.hpp"
#include "dispatch/delivery.hpp"
#include "dispatch/rate_limit.hpp"
#include "endpoint_signing.hpp"
#include "formats/profile.hpp"

#include <atomic>
#include <cstddef>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace statusstack::webhooks::detail {

/// Which deliveries of an endpoint must go one at a time, in dispatch order.
enum class Ordering {
  none,    ///< any order (statusstack endpoints unless `ordered`)
  by_key,  ///< those with the same order key: PagerDuty's dedup_key, Datadog's aggregation_key
  all,     ///< every delivery: first in, first out (an `ordered` endpoint)
};

/// An endpoint's settings, validated and prepared for the I/O loops. Immutable: replacing an
/// endpoint makes a new one, and an attempt uses the one current when it starts.
struct EndpointConfig {
  /// Throws ConfigError when the endpoint is invalid. `loops`: the Dispatcher's I/O loops.
  EndpointConfig(Endpoint endpoint, const RetryPolicy& dispatcher_retry, std::size_t loops);

  const Endpoint endpoint;
  const formats::Profile& profile;  ///< what the endpoint's format means to delivery
  const std::string url;
  const EndpointSigner signer;
  const RetryPolicy retry;
  const milliseconds max_age;  ///< the policy's, within the format's max_event_age (Datadog: 18 h)
  const Ordering ordering;
  /// The endpoint's request options as the transfer uses them: a vendor's answer is read whole (up
  /// to its profile's answer_bytes) to find its receipt or errors; what an outcome keeps of it is
  /// still cut to the endpoint's max_response_body (keep_response()).
  const RequestOptions transfer_options;
  /// max_in_flight and the rate limit are split between the lanes that get deliveries; a lane
  /// beyond those still takes one at a time (deliveries moved there by a replacement).
  const std::size_t used_lanes;
  std::vector<std::size_t> lane_max_in_flight;
  double lane_per_minute = 0;
};

/// Cuts an outcome's body to `limit` bytes (at a UTF-8 character's start), flagged as truncated.
void keep_response(Outcome& outcome, std::size_t limit);

/// One I/O loop's share of an endpoint, owned by that loop.
struct Lane {
  std::deque<std::unique_ptr<Delivery>> ready;  ///< waiting for room, a rate token, or their turn
  std::size_t in_flight = 0;
  TokenBucket bucket;
  SteadyTime next_token_at{};   ///< while out of tokens: when the next one comes
  bool listed = false;          ///< in the loop's list of lanes with ready deliveries
  bool holding_listed = false;  ///< in the loop's list of lanes that have held order keys
  /// Order keys with a delivery under way (ready, in flight or waiting for its retry), each with the
  /// later deliveries of that key, held back until that one is final.
  std::unordered_map<std::string, std::deque<std::unique_ptr<Delivery>>> held;
  /// The loop's view of the settings, refreshed when the Dispatcher's generation changes.
  std::shared_ptr<const EndpointConfig> config;
  std::uint64_t config_generation = 0;
};

/// One endpoint name's place in the Dispatcher. Deliveries hold their slot; the slot's settings can
/// be replaced, and a removed slot ends what still refers to it.
struct EndpointSlot {
  EndpointSlot(std::shared_ptr<const EndpointConfig> config, std::size_t loops);
  /// A name the store still has deliveries for but no endpoint has any more: removed from the start.
  EndpointSlot(std::string removed_name, std::size_t loops);

  std::shared_ptr<const EndpointConfig> current() const {
    const std::lock_guard<std::mutex> lock(mutex_);
    return config_;
  }
  void replace(std::shared_ptr<const EndpointConfig> config) {
    const std::lock_guard<std::mutex> lock(mutex_);
    config_ = std::move(config);
  }
  /// The loop that takes a delivery: by its order key (so that a key stays on one loop), else
  /// round-robin over the lanes in use.
  std::size_t pick_lane(const EndpointConfig& config, const Delivery& delivery) noexcept;

  const std::string name;
  std::atomic<bool> removed{false};
  std::atomic<bool> gone{false};      ///< answered 410 Gone: paused until replaced
  std::atomic<bool> disabled{false};  ///< disabled by its breaker: until replaced
  Breaker breaker;
  std::deque<Lane> lanes;  ///< lanes[i] belongs to loop i (a deque: lanes never move)
  // Its deliveries: accepted and not final (parked ones leave too), and the final ones.
  std::atomic<std::uint64_t> queued{0}, delivered{0}, failed{0};

  /// The slot's health for stats(): its breaker, 410 pause and counts.
  EndpointHealth health(SteadyTime now, WallTime wall) const;
  /// What a store keeps of it.
  EndpointState state(SteadyTime now, WallTime wall) const;

 private:
  mutable std::mutex mutex_;
  std::shared_ptr<const EndpointConfig> config_;
  std::atomic<std::size_t> next_lane_{0};
};

/// What one attempt sends: made from the endpoint's settings when it starts, so that a rotated
/// secret, API key or routing key applies to every later attempt. Keeps alive what it points to.
struct PreparedRequest {
  std::shared_ptr<const EndpointConfig> config;  ///< url, method and options
  std::shared_ptr<const EventRecord> event;      ///< the shared body of a statusstack endpoint
  std::string vendor_body;                       ///< the body of a PagerDuty or Datadog endpoint
  std::string_view body;
  Headers headers;
};

/// Sets the delivery's order key for the endpoint's ordering (from the event, by format).
void assign_order_key(const EndpointConfig& config, const Event& event, Delivery& delivery);

/// A delivery as dispatch() would make it, for enqueueing outside a Dispatcher (the PostgreSQL
/// outbox).
struct PlannedDelivery {
  std::string id;
  std::string endpoint;
  std::optional<std::string> order_key;  ///< none: any order
};

/// The deliveries of `event` for the endpoints whose filters match, with new ids and their order
/// keys; `json` gets the event's JSON. Errors: the event or an endpoint is invalid, or the JSON is
/// larger than `max_event_bytes`; nothing is planned then.
STATUSSTACK_WEBHOOKS_EXPORT Result<std::vector<PlannedDelivery>> plan_deliveries(
    const Event& event, const std::vector<Endpoint>& endpoints, std::size_t max_event_bytes,
    std::string& json);

/// The request of the delivery's next attempt (signed at `now`), or the error that makes one
/// impossible (the event cannot be formatted for the endpoint: final).
Result<PreparedRequest> prepare_request(const std::shared_ptr<const EndpointConfig>& config,
                                        Delivery& delivery, WallTime now);

}  // namespace statusstack::webhooks::detail
