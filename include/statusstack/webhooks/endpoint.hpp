#pragma once

// Endpoint: one notification rule (where to deliver, which events, how to sign), and the signed
// request the library builds from an event for it.

#include <statusstack/webhooks/client.hpp>
#include <statusstack/webhooks/error.hpp>
#include <statusstack/webhooks/events.hpp>
#include <statusstack/webhooks/export.hpp>
#include <statusstack/webhooks/formats.hpp>
#include <statusstack/webhooks/headers.hpp>
#include <statusstack/webhooks/retry.hpp>
#include <statusstack/webhooks/signature.hpp>

#include <chrono>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace statusstack::webhooks {

/// Which event types an endpoint receives. Patterns: "*" (everything), an exact type
/// ("monitor.down"), or a prefix ending in ".*" ("incident.*"). No patterns means everything.
struct EventFilter {
  std::vector<std::string> patterns;

  /// True when the type matches at least one pattern (or there are none).
  STATUSSTACK_WEBHOOKS_EXPORT bool matches(EventType type) const noexcept;
  /// Every pattern names a known type or a prefix that matches one; the error names the pattern.
  STATUSSTACK_WEBHOOKS_EXPORT Result<void> validate() const;
};

/// One delivery target, as StatusStack's notification rules describe it. A plain value.
struct Endpoint {
  std::string name;  ///< unique within a Dispatcher; shown in reports
  /// https:// (http:// only with options.allow_http). May be empty for the pagerduty and datadog
  /// formats: their default_url() is used.
  std::string url;
  /// HMAC key: raw bytes for statusstack, "whsec_..." for standard_webhooks. Required for the
  /// statusstack format; optional for pagerduty and datadog (which authenticate with their keys).
  std::string secret;
  /// The body: StatusStack's JSON (default), or a PagerDuty / Datadog request with their keys.
  FormatSettings format;
  HttpMethod method = HttpMethod::post;
  Headers headers;     ///< custom headers, sent after the library's own (which they cannot replace)
  EventFilter events;  ///< which events go here (all by default)
  SignatureScheme signature = SignatureScheme::statusstack;
  RequestOptions options;         ///< timeout (5 s), connect timeout, CA file, allow_http, http2, proxy
  std::size_t max_in_flight = 8;  ///< concurrent requests to this endpoint at most
  /// Requests per minute at most (token bucket; 0: no limit; unset: the format's documented limit,
  /// 120 for pagerduty). Deliveries wait for a token, they do not fail. Bursts up to a quarter of a
  /// minute's worth (at least one request).
  std::optional<double> rate_limit_per_minute;
  /// Deliveries to this endpoint go one at a time, first in, first out, for receivers that need
  /// events in order: a delivery waiting for its retry holds back every later one. Off by default
  /// (deliveries run concurrently); PagerDuty and Datadog endpoints always keep the order of
  /// deliveries about the same thing (same dedup or aggregation key).
  bool ordered = false;
  /// This endpoint's own retry policy; unset: the Dispatcher's (DispatcherOptions::retry).
  std::optional<RetryPolicy> retry;
};

/// Checks an endpoint's configuration; the message names the endpoint and the setting, e.g.
/// `endpoint "ops": url "http://x/": must be https:// ...`. Custom headers may not replace the
/// library's own (Content-Type, User-Agent, X-StatusStack-*, webhook-*, Host, Content-Length, ...).
STATUSSTACK_WEBHOOKS_EXPORT Result<void> validate_endpoint(const Endpoint& endpoint);

/// The headers the library sets itself, which an endpoint's custom headers may not replace.
STATUSSTACK_WEBHOOKS_EXPORT bool is_reserved_header(std::string_view name) noexcept;

/// A new delivery id: "dlv_" followed by 26 random base32 characters (130 bits). Unique per
/// (event, endpoint) and reused on every retry: the receiver's idempotency key.
STATUSSTACK_WEBHOOKS_EXPORT std::string new_delivery_id();

/// The URL requests go to: `url`, or the format's default_url() when it is empty.
STATUSSTACK_WEBHOOKS_EXPORT std::string effective_url(const Endpoint& endpoint);

/// The rate limit in force: `rate_limit_per_minute`, or the format's default (0: none).
STATUSSTACK_WEBHOOKS_EXPORT double effective_rate_limit(const Endpoint& endpoint) noexcept;

/// The request for one delivery: the event's body in the endpoint's format, `Content-Type`, `User-Agent`,
/// `X-StatusStack-Event`, `-Delivery`, `-Timestamp` and `-Signature` (or the Standard Webhooks
/// headers), then the endpoint's custom headers. Throws ConfigError if the endpoint is invalid.
STATUSSTACK_WEBHOOKS_EXPORT Request
make_signed_request(const Event& event, const Endpoint& endpoint, std::string_view delivery_id,
                    std::chrono::system_clock::time_point signed_at = std::chrono::system_clock::now());

/// "Send test webhook": a realistic sample event of `type`, signed for the endpoint, marked with
/// `X-StatusStack-Test: true`, sent once (no retries). Invalid endpoints give an invalid_request outcome.
STATUSSTACK_WEBHOOKS_EXPORT Outcome send_test(WebhookClient& client, const Endpoint& endpoint,
                                              EventType type = EventType::component_status_changed);

}  // namespace statusstack::webhooks
