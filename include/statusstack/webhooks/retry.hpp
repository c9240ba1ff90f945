#pragma once

// RetryPolicy: when a failed delivery is tried again, and when it is given up. The Dispatcher has
// one for every endpoint, and an endpoint may have its own.

#include <statusstack/webhooks/error.hpp>
#include <statusstack/webhooks/export.hpp>

#include <chrono>
#include <optional>
#include <vector>

namespace statusstack::webhooks {

/// When to try again after a retryable failure, and when to give up. Exponential backoff with
/// jitter by default; a non-empty `schedule` replaces it with fixed delays.
struct RetryPolicy {
  int max_attempts = 8;                           ///< attempts in all, the first included (>= 1)
  std::chrono::milliseconds initial_delay{1000};  ///< delay before the second attempt
  double factor = 2.0;                            ///< growth per attempt (>= 1)
  std::chrono::milliseconds max_delay{std::chrono::minutes(10)};  ///< cap of the exponential delay
  double jitter = 0.2;  ///< each delay is scaled by a random factor in [1 - jitter, 1 + jitter]
  /// Fixed delays before attempts 2, 3, ...; the last one repeats (e.g. 5 s, 5 min, 30 min, 2 h ...).
  std::vector<std::chrono::milliseconds> schedule;
  /// Give up once this long has passed since dispatch(): no attempt starts later than that.
  /// milliseconds::max() means no limit (all time arithmetic saturates).
  std::chrono::milliseconds max_age{std::chrono::hours(24)};
  /// A receiver's `Retry-After` is honoured up to this long (longer values are cut to it).
  std::chrono::milliseconds max_retry_after{std::chrono::hours(1)};

  /// Delay before attempt `attempt + 1`, after attempt `attempt` (1-based) failed. `retry_after`
  /// (from the response) wins over the backoff when it is longer, capped by max_retry_after.
  /// `random01` in [0, 1) drives the jitter, so the function itself is deterministic.
  STATUSSTACK_WEBHOOKS_EXPORT std::chrono::milliseconds next_delay(
      int attempt, std::optional<std::chrono::seconds> retry_after, double random01) const;
  /// The error names the field that cannot work (max_attempts < 1, factor < 1, negative delays...).
  STATUSSTACK_WEBHOOKS_EXPORT Result<void> validate() const;
};

}  // namespace statusstack::webhooks
