#pragma once

// Helpers for Dispatcher tests: a thread-safe recorder of the reports and attempt reports the I/O
// threads hand over, and a plain-http endpoint for the local test servers.

#include <statusstack/webhooks/dispatcher.hpp>

#include <chrono>
#include <cstddef>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

namespace statusstack::webhooks::testing {

/// Collects on_report and on_attempt calls (they run on the I/O threads).
struct Recorder {
  mutable std::mutex mutex;
  std::vector<DeliveryReport> reports;
  std::vector<AttemptReport> attempts;

  /// Points options.on_report and options.on_attempt at this recorder, which must outlive the
  /// Dispatcher made from the options.
  void install(DispatcherOptions& options) {
    options.on_report = [this](const DeliveryReport& r) {
      const std::lock_guard<std::mutex> lock(mutex);
      reports.push_back(r);
    };
    options.on_attempt = [this](const AttemptReport& a) {
      const std::lock_guard<std::mutex> lock(mutex);
      attempts.push_back(a);
    };
  }
  std::vector<DeliveryReport> all() const {
    const std::lock_guard<std::mutex> lock(mutex);
    return reports;
  }
  std::vector<AttemptReport> all_attempts() const {
    const std::lock_guard<std::mutex> lock(mutex);
    return attempts;
  }
  std::size_t count() const {
    const std::lock_guard<std::mutex> lock(mutex);
    return reports.size();
  }
};

/// An endpoint for a test server on 127.0.0.1: http and private networks (loopback) allowed, a
/// plain secret, a 2 s timeout.
inline Endpoint local_endpoint(std::string name, const std::string& url,
                               std::vector<std::string> events = {}) {
  Endpoint endpoint;
  endpoint.name = std::move(name);
  endpoint.url = url;
  endpoint.secret = "whsec-not-needed-plain-secret";
  endpoint.events.patterns = std::move(events);
  endpoint.options.allow_http = true;
  endpoint.options.allow_private_network = true;
  endpoint.options.timeout = std::chrono::seconds(2);
  return endpoint;
}

/// Exponential backoff without jitter: `initial`, doubling, at most 2 s between attempts.
inline RetryPolicy quick_retries(int attempts,
                                 std::chrono::milliseconds initial = std::chrono::milliseconds(50)) {
  RetryPolicy policy;
  policy.max_attempts = attempts;
  policy.initial_delay = initial;
  policy.factor = 2.0;
  policy.jitter = 0.0;
  policy.max_delay = std::chrono::seconds(2);
  return policy;
}

/// Exponential backoff without jitter for exact expectations: 1 s, doubling, at most 1 h between
/// attempts, `attempts` in all; a Retry-After is honoured up to 10 min.
inline RetryPolicy exact_retries(int attempts) {
  RetryPolicy policy;
  policy.max_attempts = attempts;
  policy.initial_delay = std::chrono::seconds(1);
  policy.factor = 2.0;
  policy.jitter = 0.0;
  policy.max_delay = std::chrono::hours(1);
  policy.max_retry_after = std::chrono::minutes(10);
  return policy;
}

}  // namespace statusstack::webhooks::testing
