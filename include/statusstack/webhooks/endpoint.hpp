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

/// The longest endpoint name validate_endpoint accepts.
inline constexpr std::size_t max_endpoint_name_length = 128;

/// The shortest HMAC key validate_endpoint accepts, in bytes: a plain secret's bytes, or a
/// "whsec_" secret's decoded key. Shorter keys need Endpoint::allow_short_secret.
inline constexpr std::size_t min_secret_bytes = 16;

/// The length in bytes of the HMAC key a secret gives under a scheme: the secret's own bytes, or for
/// standard_webhooks the base64-decoded key after the optional "whsec_" prefix (meaningful for a
/// secret StandardWebhooksSigner accepts). What validate_endpoint compares with min_secret_bytes.
STATUSSTACK_WEBHOOKS_EXPORT std::size_t hmac_key_size(std::string_view secret,
                                                      SignatureScheme scheme) noexcept;

/// One delivery target, as StatusStack's notification rules describe it. A plain value.
struct Endpoint {
  /// Unique within a Dispatcher; shown in reports and messages. 1 to max_endpoint_name_length
  /// ASCII letters, digits, '.', '_', ':' or '-'.
  std::string name;
  /// https:// (http:// only with options.allow_http). May be empty for the pagerduty and datadog
  /// formats: their default_url() is used.
  std::string url;
  /// HMAC key: raw bytes for statusstack, "whsec_..." for standard_webhooks. Required for the
  /// statusstack format; optional for pagerduty and datadog (which authenticate with their keys).
  /// At least min_secret_bytes of key (for "whsec_...", after decoding) unless allow_short_secret.
  /// A Secret: set it with `endpoint.secret = "..."` (or a std::string / string_view); it is wiped
  /// when the endpoint (or any copy of it) goes, and prints as "***".
  Secret secret;
  /// Accept a secret shorter than min_secret_bytes: only for a legacy receiver whose shorter secret
  /// cannot be changed yet. Off by default; a short key is easier to guess from signed requests.
  bool allow_short_secret = false;
  /// The body: StatusStack's JSON (default), or a PagerDuty / Datadog request with their keys.
  FormatSettings format;
  HttpMethod method = HttpMethod::post;
  /// Custom headers, sent after the library's own, which they cannot replace (Content-Type,
  /// Content-Length, Transfer-Encoding, Host, User-Agent, Expect, Connection, X-StatusStack-*,
  /// webhook-id, webhook-timestamp, webhook-signature, DD-API-KEY: ASCII case-insensitive).
  /// Values: no control characters but tab, at most max_header_value_length bytes (validate_header).
  Headers headers;
  EventFilter events;  ///< which events go here (all by default)
  SignatureScheme signature = SignatureScheme::statusstack;
  /// Timeout (5 s), connect timeout, CA file, allow_http, http2, proxy (checked with the endpoint).
  RequestOptions options;
  std::size_t max_in_flight = 8;  ///< concurrent requests to this endpoint at most
  /// Requests per minute at most (token bucket; 0: no limit; unset: the format's documented limit,
  /// pagerduty_events_per_minute for pagerduty, none for the others). Deliveries wait for a token, they do
  /// not fail. Bursts up to a quarter of a minute's worth (at least one request).
  std::optional<double> rate_limit_per_minute;
  /// Deliveries to this endpoint go one at a time, first in, first out, for receivers that need
  /// events in order: a delivery waiting for its retry holds back every later one. Off by default
  /// (deliveries run concurrently); PagerDuty and Datadog endpoints always keep the order of
  /// deliveries about the same thing (same dedup or aggregation key).
  bool ordered = false;
  /// This endpoint's own retry policy; unset: the Dispatcher's (DispatcherOptions::retry).
  std::optional<RetryPolicy> retry;
};

/// Checks an endpoint's configuration: the name, the format's settings, the URL and proxy
/// (validate_request), the custom headers (validate_header, and not reserved), the secret, the
/// event filter and the limits. The message names the endpoint and the setting, e.g.
/// `endpoint "ops": url "http://x/": must be https:// ...`; URLs are shown through redact_url and
/// header values never.
STATUSSTACK_WEBHOOKS_EXPORT Result<void> validate_endpoint(const Endpoint& endpoint);

/// A new delivery id: "dlv_" and 26 lowercase Crockford base32 characters (130 bits): a 48-bit
/// count of milliseconds since 1970 (system clock), then 82 bits from OpenSSL's CSPRNG (RAND_bytes,
/// fetched in blocks per thread; a forked child never reuses its parent's). Ids made in different
/// milliseconds sort as text in the order they were made (while the clock does not go back); ids
/// of the same millisecond are in no particular order. Unique per (event, endpoint) and reused on
/// every retry: the receiver's idempotency key. Thread-safe. Throws std::runtime_error if the
/// CSPRNG fails.
STATUSSTACK_WEBHOOKS_EXPORT std::string new_delivery_id();

/// The request for one delivery: the event's body in the endpoint's format, `Content-Type`, `User-Agent`,
/// `X-StatusStack-Event`, `-Delivery`, `-Timestamp` and `-Signature` (or the Standard Webhooks
/// headers), then the endpoint's custom headers. Throws ConfigError if the endpoint is invalid.
STATUSSTACK_WEBHOOKS_EXPORT Request
make_signed_request(const Event& event, const Endpoint& endpoint, std::string_view delivery_id,
                    std::chrono::system_clock::time_point signed_at = std::chrono::system_clock::now());

/// What send_test sent and what came of it.
struct TestDelivery {
  std::string delivery_id;  ///< the X-StatusStack-Delivery it carried; empty when nothing was sent
  Outcome outcome;
};

/// "Send test webhook": a realistic sample event of `type`, signed for the endpoint, marked with
/// `X-StatusStack-Test: true`, sent once (no retries). An invalid endpoint gives an invalid_request
/// outcome and no delivery id.
STATUSSTACK_WEBHOOKS_EXPORT TestDelivery send_test(WebhookClient& client, const Endpoint& endpoint,
                                                   EventType type = EventType::component_status_changed);

}  // namespace statusstack::webhooks
