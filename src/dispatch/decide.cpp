#include "dispatch/decide.hpp"

namespace statusstack::webhooks::detail {

bool worth_retrying(const Outcome& outcome) noexcept {
  switch (outcome.error) {
    case TransportError::none: {
      const int status = outcome.status;
      return status == 408 || status == 425 || status == 429 || (status >= 500 && status <= 599);
    }
    case TransportError::invalid_request:
    case TransportError::tls_verification:
    case TransportError::too_large:
    case TransportError::blocked: return false;
    case TransportError::dns:
    case TransportError::refused:
    case TransportError::connect_failed:
    case TransportError::timeout:
    case TransportError::tls_handshake:
    case TransportError::reset:
    case TransportError::malformed_response:
    case TransportError::other: return true;
  }
  return false;
}

Decision decide(const AttemptFacts& facts, const RetryPolicy& policy, double random01) {
  const Outcome& outcome = facts.outcome;
  auto fail = [](FailureReason reason) {
    Decision decision;
    decision.reason = reason;
    return decision;
  };
  if (outcome.ok()) return Decision{Decision::Next::delivered, FailureReason::none, {}, false};
  if (outcome.error == TransportError::none && outcome.status == 410) {
    // The receiver says it will never take deliveries again.
    Decision gone = fail(FailureReason::receiver_gone);
    gone.pause_endpoint = true;
    return gone;
  }
  if (!worth_retrying(outcome)) return fail(FailureReason::rejected);
  if (facts.attempts >= policy.max_attempts) return fail(FailureReason::attempts_exhausted);

  const std::chrono::milliseconds delay = policy.next_delay(facts.attempts, outcome.retry_after, random01);
  // Compared as "what is left", so that no sum can overflow (max_age may be milliseconds::max()).
  if (delay > facts.max_age - facts.age) return fail(FailureReason::too_old);
  if (facts.shutdown_in && delay > *facts.shutdown_in) {
    Decision after_shutdown = fail(FailureReason::shutdown);
    after_shutdown.delay = delay;  // when it would have come: a durable store keeps it for then
    return after_shutdown;
  }
  return Decision{Decision::Next::retry, FailureReason::none, delay, false};
}

}  // namespace statusstack::webhooks::detail
