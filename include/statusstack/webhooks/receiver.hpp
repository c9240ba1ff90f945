#pragma once

// The receiving side in one call: verify_and_parse checks a delivery's signature over the exact body
// bytes, and only then parses the body into a typed Event. One overload per signature scheme; the
// verifier holds the secrets (several for rotation) and, for Standard Webhooks, the tolerance.
//
//   const Verifier verifier(secret);  // once, at start-up
//   Result<Event> event = verify_and_parse(verifier, headers, body);
//   if (!event) answer(is_signature_error(event.error()) ? 401 : 400, event.error().message);
//
// docs/receivers.md shows a whole receiver.

#include <statusstack/webhooks/error.hpp>
#include <statusstack/webhooks/events.hpp>
#include <statusstack/webhooks/export.hpp>
#include <statusstack/webhooks/headers.hpp>
#include <statusstack/webhooks/signature.hpp>

#include <cstdint>
#include <string_view>

namespace statusstack::webhooks {

/// A StatusStack-signed delivery (X-StatusStack-Signature): verifier.verify_request(headers, body),
/// then parse_event(body). The error is exactly the first step's that failed: the Verifier's
/// (missing_signature, malformed_signature, signature_mismatch) or parse_event's. Thread-safe, as
/// the Verifier is.
STATUSSTACK_WEBHOOKS_EXPORT Result<Event> verify_and_parse(const Verifier& verifier, const Headers& headers,
                                                           std::string_view body);

/// A Standard Webhooks delivery (webhook-id, webhook-timestamp, webhook-signature), its timestamp
/// checked against the system clock: verifier.verify_request(headers, body), then
/// parse_event(body). The error is the Verifier's (including timestamp_out_of_tolerance, and
/// invalid_value for a webhook-timestamp that is not unix seconds) or parse_event's.
STATUSSTACK_WEBHOOKS_EXPORT Result<Event> verify_and_parse(const StandardWebhooksVerifier& verifier,
                                                           const Headers& headers, std::string_view body);

/// The same against the given clock (`now_unix`, unix seconds), for tests and for callers with
/// their own time source.
STATUSSTACK_WEBHOOKS_EXPORT Result<Event> verify_and_parse(const StandardWebhooksVerifier& verifier,
                                                           const Headers& headers, std::string_view body,
                                                           std::int64_t now_unix);

/// True when `error` is a refused signature (answer 401), false when it is anything else, such as a
/// body that is not an event (answer 400). Signature errors are missing_signature,
/// malformed_signature, signature_mismatch, timestamp_out_of_tolerance, and invalid_value on the
/// webhook-timestamp header.
STATUSSTACK_WEBHOOKS_EXPORT bool is_signature_error(const Error& error) noexcept;

}  // namespace statusstack::webhooks
