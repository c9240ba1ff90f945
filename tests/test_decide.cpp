// The retry rules (src/dispatch/decide.hpp) as a pure function: every rule, exactly, without a
// network or a clock.

#include "dispatch/decide.hpp"

#include "support/reports.hpp"

#include <catch2/catch.hpp>

using namespace statusstack::webhooks;
using namespace statusstack::webhooks::detail;
using namespace statusstack::webhooks::testing;
using namespace std::chrono_literals;
using Next = Decision::Next;

namespace {

Outcome http(int status, std::optional<std::chrono::seconds> retry_after = std::nullopt) {
  Outcome outcome;
  outcome.status = status;
  outcome.retry_after = retry_after;
  return outcome;
}

Outcome failed(TransportError error) {
  Outcome outcome;
  outcome.error = error;
  outcome.error_message = "what curl said";
  return outcome;
}

Decision after(const Outcome& outcome, int attempts, const RetryPolicy& policy = exact_retries(5),
               std::chrono::milliseconds age = 0ms, std::chrono::milliseconds max_age = 24h,
               std::optional<std::chrono::milliseconds> shutdown_in = std::nullopt) {
  return decide(AttemptFacts{outcome, attempts, age, max_age, shutdown_in}, policy, 0.5);
}

}  // namespace

TEST_CASE("decide: a 2xx is delivered, whatever the attempt", "[unit][retry]") {
  for (int status : {200, 201, 202, 204, 299}) {
    CHECK(after(http(status), 1).next == Next::delivered);
    CHECK(after(http(status), 99).next == Next::delivered);
  }
}

TEST_CASE("decide: which outcomes are retried", "[unit][retry]") {
  for (int status : {408, 425, 429, 500, 502, 503, 504, 599}) {
    INFO("HTTP " << status);
    const Decision decision = after(http(status), 1);
    CHECK(decision.next == Next::retry);
    CHECK(decision.delay == 1s);
  }
  for (int status : {100, 301, 302, 304, 307, 400, 401, 403, 404, 409, 413, 422, 426, 451, 600}) {
    INFO("HTTP " << status);
    const Decision decision = after(http(status), 1);
    CHECK(decision.next == Next::fail);
    CHECK(decision.reason == FailureReason::rejected);
    CHECK_FALSE(decision.pause_endpoint);
  }
  for (auto error : {TransportError::dns, TransportError::refused, TransportError::connect_failed,
                     TransportError::timeout, TransportError::tls_handshake, TransportError::reset,
                     TransportError::malformed_response, TransportError::other}) {
    INFO(to_string(error));
    CHECK(after(failed(error), 1).next == Next::retry);
    CHECK(worth_retrying(failed(error)));
  }
  for (auto error :
       {TransportError::invalid_request, TransportError::tls_verification, TransportError::too_large}) {
    INFO(to_string(error));
    CHECK(after(failed(error), 1).reason == FailureReason::rejected);
    CHECK_FALSE(worth_retrying(failed(error)));
  }
  // The transport's own answer agrees: Outcome::retryable() is the same rule.
  CHECK(http(429).retryable());
  CHECK_FALSE(http(404).retryable());
}

TEST_CASE("decide: 410 Gone fails and pauses the endpoint", "[unit][retry]") {
  const Decision decision = after(http(410), 1);
  CHECK(decision.next == Next::fail);
  CHECK(decision.reason == FailureReason::receiver_gone);
  CHECK(decision.pause_endpoint);
}

TEST_CASE("decide: the backoff schedule, exactly, up to max_attempts", "[unit][retry]") {
  const RetryPolicy policy = exact_retries(5);
  CHECK(after(http(503), 1, policy).delay == 1s);
  CHECK(after(http(503), 2, policy).delay == 2s);
  CHECK(after(http(503), 3, policy).delay == 4s);
  CHECK(after(http(503), 4, policy).delay == 8s);
  const Decision last = after(http(503), 5, policy);
  CHECK(last.next == Next::fail);
  CHECK(last.reason == FailureReason::attempts_exhausted);

  RetryPolicy fixed = exact_retries(8);
  fixed.schedule = {5s, 5min, 30min, 2h};
  CHECK(after(http(500), 1, fixed).delay == 5s);
  CHECK(after(http(500), 3, fixed).delay == 30min);
  CHECK(after(http(500), 6, fixed).delay == 2h);  // the last delay repeats
}

TEST_CASE("decide: Retry-After wins when longer, within max_retry_after", "[unit][retry]") {
  CHECK(after(http(429, 30s), 1).delay == 30s);
  CHECK(after(http(429, 0s), 3).delay == 4s);        // the backoff is longer
  CHECK(after(http(503, 7200s), 1).delay == 10min);  // capped
  CHECK(after(http(503, std::chrono::seconds::max()), 1).delay == 10min);
}

TEST_CASE("decide: no attempt starts after max_age", "[unit][retry]") {
  // 1 s of backoff left to wait, 1 s of age left: the retry may still come.
  CHECK(after(http(503), 1, exact_retries(5), 23h + 59min + 59s, 24h).next == Next::retry);
  const Decision late = after(http(503), 1, exact_retries(5), 23h + 59min + 59s + 1ms, 24h);
  CHECK(late.next == Next::fail);
  CHECK(late.reason == FailureReason::too_old);
  // Retry-After counts too, and max_age = max() never overflows.
  CHECK(after(http(429, 600s), 1, exact_retries(5), 0ms, 5min).reason == FailureReason::too_old);
  CHECK(after(http(503), 1, exact_retries(5), 1000h, std::chrono::milliseconds::max()).next == Next::retry);
}

TEST_CASE("decide: a retry due after the shutdown deadline does not happen", "[unit][retry]") {
  CHECK(after(http(503), 1, exact_retries(5), 0ms, 24h, 1s).next == Next::retry);
  const Decision past = after(http(503), 1, exact_retries(5), 0ms, 24h, 999ms);
  CHECK(past.next == Next::fail);
  CHECK(past.reason == FailureReason::shutdown);
  CHECK(after(http(503), 1, exact_retries(5), 0ms, 24h, -5ms).reason == FailureReason::shutdown);
  // A final answer is final whether or not shutdown is under way.
  CHECK(after(http(404), 1, exact_retries(5), 0ms, 24h, 1h).reason == FailureReason::rejected);
}
