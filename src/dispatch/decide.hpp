#pragma once

// What follows an attempt: every retry rule of the Dispatcher in one pure function. The transport
// reports facts (an Outcome); decide() turns them into delivered, retry after a delay, or failed
// with a reason. No clock, no randomness of its own, no state: tested exactly, without a network.

#include <statusstack/webhooks/client.hpp>
#include <statusstack/webhooks/dispatcher.hpp>
#include <statusstack/webhooks/export.hpp>

#include <chrono>
#include <optional>

namespace statusstack::webhooks::detail {

/// The facts of one finished attempt and where its delivery stands.
struct AttemptFacts {
  const Outcome& outcome;                ///< what the transport saw
  int attempts = 0;                      ///< attempts made, this one included
  std::chrono::milliseconds age{0};      ///< since dispatch() accepted the delivery
  std::chrono::milliseconds max_age{0};  ///< the endpoint's limit (the policy's, or less for Datadog)
  /// While shutting down: the time left before the deadline. A retry due later does not happen.
  std::optional<std::chrono::milliseconds> shutdown_in;
};

/// What becomes of the delivery.
struct Decision {
  enum class Next { delivered, retry, fail };
  Next next = Next::fail;
  FailureReason reason = FailureReason::none;  ///< why it failed (Next::fail)
  std::chrono::milliseconds delay{0};          ///< until the next attempt (Next::retry)
  bool pause_endpoint = false;                 ///< the receiver answered 410 Gone
};

/// Whether an outcome is worth another attempt by its kind alone: connection failures, timeouts,
/// resets and malformed answers; 408, 425, 429 and 5xx. Not: a refused request, an untrusted
/// certificate, a response too large, other 4xx and 3xx (a signed request never follows a
/// redirect). Outcome::retryable() is this function.
STATUSSTACK_WEBHOOKS_EXPORT bool worth_retrying(const Outcome& outcome) noexcept;

/// The rules, in order: a 2xx is delivered; 410 Gone fails the delivery and pauses the endpoint;
/// an outcome not worth retrying fails it as rejected; after max_attempts it fails as
/// attempts_exhausted; otherwise the next attempt comes after policy.next_delay() (backoff, or the
/// receiver's Retry-After within max_retry_after) unless that is past max_age (too_old) or past the
/// shutdown deadline (shutdown). `random01` in [0, 1) drives the jitter.
STATUSSTACK_WEBHOOKS_EXPORT Decision decide(const AttemptFacts& facts, const RetryPolicy& policy,
                                            double random01);

}  // namespace statusstack::webhooks::detail
