#pragma once

// A token bucket: requests per minute for one lane of an endpoint.

#include "dispatch/clock.hpp"

#include <algorithm>
#include <optional>

namespace statusstack::webhooks::detail {

/// Refills continuously and holds at most a quarter of a minute's worth (at least one). The rate is
/// given at each take(), so an endpoint whose settings were replaced keeps the tokens it had and
/// goes on at its new rate. Owned by one thread.
class TokenBucket {
 public:
  /// Takes a token if one is there; otherwise says how long until one will be. 0 per minute: no limit.
  std::optional<SteadyTime::duration> take(SteadyTime now, double per_minute) {
    if (!(per_minute > 0)) return std::nullopt;
    const double per_second = per_minute / 60.0;
    const double capacity = std::max(1.0, per_minute / 4.0);
    if (!started_) {
      started_ = true;
      tokens_ = capacity;
    } else {
      const double seconds = std::chrono::duration<double>(now - last_).count();
      tokens_ = std::min(capacity, tokens_ + seconds * per_second);
    }
    last_ = now;
    if (tokens_ >= 1.0) {
      tokens_ -= 1.0;
      return std::nullopt;
    }
    return std::chrono::duration_cast<SteadyTime::duration>(
        std::chrono::duration<double>((1.0 - tokens_) / per_second));
  }

 private:
  bool started_ = false;
  double tokens_ = 0;
  SteadyTime last_{};
};

}  // namespace statusstack::webhooks::detail
