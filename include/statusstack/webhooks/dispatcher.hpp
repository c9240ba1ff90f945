#pragma once

// Dispatcher: dispatch(event) from application code returns at once; owned I/O threads deliver to
// every matching endpoint with retries, and every (event, endpoint) pair ends in one final report.

#include <statusstack/webhooks/client.hpp>
#include <statusstack/webhooks/endpoint.hpp>
#include <statusstack/webhooks/error.hpp>
#include <statusstack/webhooks/events.hpp>
#include <statusstack/webhooks/export.hpp>
#include <statusstack/webhooks/retry.hpp>
#include <statusstack/webhooks/store.hpp>

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace statusstack::webhooks {

/// What becomes of a dispatch() call when the queue is full.
enum class OverflowPolicy {
  reject,  ///< return ErrorCode::queue_full at once (default)
  /// wait up to DispatcherOptions::block_timeout for room, then queue_full (from a report callback:
  /// queue_full at once, since the callback's thread is the one that makes room)
  block,
};

/// The one final word on one (event, endpoint) pair.
struct DeliveryReport {
  std::string delivery_id;  ///< the X-StatusStack-Delivery value, the same on every attempt
  std::string endpoint;     ///< the endpoint's name
  EventType event{};
  bool delivered = false;
  FailureReason reason = FailureReason::none;
  int attempts = 0;  ///< attempts made (0 when it never got to one)
  Outcome last;      ///< the last attempt's outcome (status, error, response body...)
  /// What the vendor handed back for a delivered event: PagerDuty's dedup_key, Datadog's id_str.
  std::string receipt;
  /// Why it failed, in words: the vendor's error messages for a rejected PagerDuty/Datadog request;
  /// otherwise the last outcome described ("HTTP 503", "timeout: ..."), followed for a 4xx by the
  /// receiver's explanation (its body, at most 512 bytes, control characters as spaces:
  /// "HTTP 422: missing field id"); for a delivery that never had an attempt, why not
  /// ("not attempted: the endpoint is paused since it answered 410 Gone"). Empty when delivered.
  std::string detail;
  std::chrono::system_clock::time_point accepted_at;
  std::chrono::system_clock::time_point first_attempt_at;  ///< epoch when there was no attempt
  std::chrono::system_clock::time_point last_attempt_at;
  std::chrono::milliseconds latency{0};  ///< from dispatch() to this report
};

/// Where an endpoint's circuit breaker stands.
enum class BreakerState {
  closed,     ///< attempts go as usual
  open,       ///< too many attempts failed in a row: deliveries wait, without spending attempts
  half_open,  ///< the cool-down is over: one probe attempt is on its way; the others still wait
  disabled,   ///< failing for longer than disable_after: deliveries end as endpoint_disabled
};

/// The state's stable snake_case name, e.g. "half_open".
STATUSSTACK_WEBHOOKS_EXPORT const char* to_string(BreakerState state) noexcept;
/// The state of a name to_string() gives; nullopt for any other text.
STATUSSTACK_WEBHOOKS_EXPORT std::optional<BreakerState> breaker_state_from_string(
    std::string_view name) noexcept;

/// When an endpoint gets a rest: every endpoint has a circuit breaker with these settings. A failed
/// attempt here is one worth retrying (connection trouble, timeouts, 408, 425, 429, 5xx); any other
/// answer shows the endpoint is up and closes the breaker.
struct CircuitBreakerPolicy {
  /// Failed attempts in a row that open the breaker; 0 turns the breaker (and disabling) off.
  int failure_threshold = 5;
  /// How long an open breaker holds the endpoint's deliveries before one probe attempt. Each failed
  /// probe doubles it, up to max_cool_down; a successful one closes the breaker.
  std::chrono::milliseconds cool_down{5000};
  std::chrono::milliseconds max_cool_down{std::chrono::minutes(5)};
  /// An endpoint whose breaker is still open this long after the first failure of the streak is
  /// disabled: its pending deliveries end as failed(endpoint_disabled), on_endpoint_disabled is
  /// called, and upsert_endpoint() enables it again. Zero: never disabled.
  std::chrono::milliseconds disable_after{std::chrono::hours(72)};

  /// Errors name the setting: a negative threshold, a cool-down not positive or above its maximum,
  /// a negative disable_after.
  STATUSSTACK_WEBHOOKS_EXPORT Result<void> validate() const;
};

/// How one endpoint is doing: its breaker, its last failure and its deliveries (DispatcherStats).
struct EndpointHealth {
  std::string endpoint;  ///< the endpoint's name
  BreakerState breaker = BreakerState::closed;
  bool gone = false;             ///< answered 410 Gone: paused until it is replaced
  int consecutive_failures = 0;  ///< failed attempts since the last sign of life
  std::string last_error;        ///< the last failed attempt described ("HTTP 503"); empty: none yet
  /// The first failure of the current streak; epoch when the endpoint is not failing.
  std::chrono::system_clock::time_point failing_since;
  /// When an open breaker lets its next probe go; epoch unless open.
  std::chrono::system_clock::time_point open_until;
  std::uint64_t queued = 0;     ///< accepted for it, not final yet (on the wire included)
  std::uint64_t delivered = 0;  ///< final: 2xx, since the Dispatcher started
  std::uint64_t failed = 0;     ///< final: failed, since the Dispatcher started
};

/// One failed attempt that will (or will not) be tried again: what a host logs.
struct AttemptReport {
  std::string delivery_id;
  std::string endpoint;
  EventType event{};
  int attempt = 0;  ///< 1 for the first
  Outcome outcome;
  std::string detail;  ///< the vendor's error messages, or the outcome described
  std::optional<std::chrono::milliseconds> retry_in;  ///< when the next attempt comes; nullopt: none
};

/// What dispatch() accepted: one delivery per matching endpoint.
struct Accepted {
  struct Delivery {
    std::string endpoint;
    std::string delivery_id;
  };
  std::vector<Delivery> deliveries;  ///< empty when no endpoint's filter matched
};

/// Counters since the Dispatcher started; a consistent-enough snapshot (each counter is exact).
struct DispatcherStats {
  std::uint64_t accepted = 0;                                          ///< deliveries accepted by dispatch()
  std::uint64_t delivered = 0;                                         ///< final: 2xx
  std::uint64_t failed = 0;                                            ///< final: failed, all reasons
  std::array<std::uint64_t, failure_reason_count> failed_by_reason{};  ///< indexed by FailureReason
  std::uint64_t refused_calls =
      0;  ///< dispatch() calls that queued nothing (invalid event, queue full or shut down)
  std::uint64_t attempts = 0;         ///< HTTP attempts finished
  std::uint64_t retries = 0;          ///< attempts scheduled again after a failure
  std::uint64_t in_flight = 0;        ///< requests on the wire now
  std::uint64_t queued = 0;           ///< accepted, not final, not on the wire (waiting or backing off)
  std::uint64_t pending_bytes = 0;    ///< what the deliveries not final count against max_pending_bytes
  std::uint64_t callback_errors = 0;  ///< exceptions thrown by on_report / on_attempt (caught)
  std::uint64_t recovered = 0;        ///< pending deliveries the store gave back at start (resumed)
  std::uint64_t redelivered = 0;      ///< failed deliveries made pending again by redeliver()
  std::uint64_t parked = 0;        ///< not final at shutdown(): left pending in the store for the next start
  std::uint64_t store_errors = 0;  ///< writes the store could not make (the reason is in the store's log)
  /// Shared store (PostgreSQL): deliveries claimed from the queue by this instance (recovered counts
  /// none of them), and attempts whose outcome was not written because the lease had ended and
  /// another instance had taken the delivery over (that instance reports it).
  std::uint64_t claimed = 0;
  std::uint64_t taken_over = 0;
  /// Shared store: the instances alive on the queue (this one included), seen every second. Each
  /// endpoint's rate limit is split between them.
  unsigned instances = 1;
  /// Delivery latency (dispatch() to final report) of delivered events: counts per bucket, the
  /// bucket bounds in milliseconds are latency_bounds_ms (the last bucket is +Inf).
  static constexpr std::array<double, 14> latency_bounds_ms{1,   2,   5,    10,   25,   50,    100,
                                                            250, 500, 1000, 2500, 5000, 10000, 60000};
  std::array<std::uint64_t, 15> latency_buckets{};
  double latency_sum_ms = 0;
  /// Every configured endpoint's health, in configuration order.
  std::vector<EndpointHealth> endpoints;
  unsigned io_threads = 0;  ///< I/O loops this Dispatcher runs (what io_threads = 0 chose)
};

/// Renders the stats in the Prometheus text exposition format (metric prefix `statusstack_webhooks_`).
STATUSSTACK_WEBHOOKS_EXPORT std::string to_prometheus(const DispatcherStats& stats);

/// The most I/O threads DispatcherOptions::io_threads = 0 gives (one per hardware thread up to it):
/// beyond four, threads add connections more than throughput.
inline constexpr unsigned max_default_io_threads = 4;

/// How a Dispatcher is set up.
struct DispatcherOptions {
  std::vector<Endpoint> endpoints;
  RetryPolicy retry;
  std::size_t max_pending = 100000;  ///< deliveries accepted but not final, at most
  /// The largest event dispatch() takes, in bytes of its JSON; a larger one is refused with
  /// event_too_large. PagerDuty takes at most 512 KB per request, Datadog's texts are short.
  std::size_t max_event_bytes = std::size_t{256} * 1024;
  /// What the deliveries accepted but not final may hold in memory, at most: each counts its event's
  /// JSON and a fixed share for itself (Dispatcher::delivery_overhead_bytes). dispatch() returns
  /// queue_full beyond it, like max_pending.
  std::size_t max_pending_bytes = std::size_t{256} * 1024 * 1024;
  OverflowPolicy overflow = OverflowPolicy::reject;
  /// With OverflowPolicy::block; milliseconds::max() waits without limit. Must not be negative.
  std::chrono::milliseconds block_timeout{1000};
  /// I/O threads, each running its own curl multi loop with its own connections. Every endpoint is
  /// spread over all of them (its max_in_flight and rate limit split between them), so that one busy
  /// endpoint can use several cores. 0 (the default): one per hardware thread, at most
  /// max_default_io_threads.
  unsigned io_threads = 0;
  /// Called once per (event, endpoint) when final, on an I/O thread: keep it quick. Exceptions are
  /// caught and counted (DispatcherStats::callback_errors). A callback may call dispatch(), stats(),
  /// endpoints(), upsert_endpoint() and remove_endpoint(); flush() and shutdown() would wait for the
  /// thread the callback runs on, so they throw ConfigError there. Reports also arrive during
  /// shutdown() and so during the destructor: whatever a callback uses must outlive the Dispatcher.
  std::function<void(const DeliveryReport&)> on_report;
  /// Called for each failed attempt, on an I/O thread. Same rules as on_report.
  std::function<void(const AttemptReport&)> on_attempt;
  /// Every endpoint's circuit breaker.
  CircuitBreakerPolicy breaker;
  /// Called once when an endpoint is disabled by its breaker, with its health at that moment, on an
  /// I/O thread. Same rules as on_report.
  std::function<void(const EndpointHealth&)> on_endpoint_disabled;
  /// With a path: every accepted delivery is kept in a SQLite file until it is final, and the next
  /// Dispatcher on that file resumes what was left (docs/durability.md). Without: in memory.
  StoreOptions store;
  /// Which addresses deliveries may connect to (checked after DNS, the proxy's too): by default
  /// global addresses only, and what an endpoint's options.allow_private_network lets through. A
  /// delivery to any other fails at once as rejected, its last error TransportError::blocked.
  /// Invalid networks, and an endpoint with a proxy without allow_proxy, throw ConfigError.
  NetworkGuard network;
};

/// Delivers events to endpoints in the background. dispatch() is thread-safe and never touches the
/// network; the Dispatcher owns its I/O threads and stops them in shutdown() or the destructor.
/// Endpoints can be added, replaced and removed while it runs. Not copyable or movable.
class STATUSSTACK_WEBHOOKS_EXPORT Dispatcher {
 public:
  /// What each delivery counts against max_pending_bytes besides its event's JSON.
  static constexpr std::size_t delivery_overhead_bytes = 512;

  /// Throws ConfigError naming the endpoint and setting when the options cannot work.
  explicit Dispatcher(DispatcherOptions options);
  /// shutdown(5 s) if it was not shut down already.
  ~Dispatcher();
  Dispatcher(const Dispatcher&) = delete;
  Dispatcher& operator=(const Dispatcher&) = delete;

  /// Serializes the event once and queues one delivery per matching endpoint. Never blocks on the
  /// network. Errors: the validate_event() error of an event receivers would reject (an empty id, a
  /// window that ends before it starts...), event_too_large (max_event_bytes), queue_full (no room
  /// for all matching deliveries within max_pending and max_pending_bytes; nothing is queued),
  /// shut_down.
  /// With a store, the deliveries are committed to it when dispatch() returns (store_error when they
  /// could not be: nothing is accepted then). Commits of concurrent callers are shared.
  Result<Accepted> dispatch(const Event& event);
  /// dispatch() for a batch: every event or none (the first invalid event's error names its index),
  /// and with a store one commit for all. One Accepted per event, in order.
  Result<std::vector<Accepted>> dispatch_many(const std::vector<Event>& events);

  /// Adds an endpoint, or replaces the one with the same name (deliveries already accepted for it
  /// continue with the new settings; an endpoint paused by a 410 Gone resumes; one disabled by its
  /// circuit breaker is enabled again, its breaker closed; otherwise the breaker keeps its state). A replaced
  /// endpoint keeps its rate-limit tokens and counts its requests still on the wire against max_in_flight, so
  /// a configuration reload changes nothing it does not need to. Throws ConfigError when the
  /// endpoint is invalid.
  void upsert_endpoint(Endpoint endpoint);
  /// Removes the endpoint: its pending deliveries end as failed(endpoint_removed); requests on the
  /// wire finish first. Returns false when there was none of that name.
  bool remove_endpoint(std::string_view name);
  /// The endpoints' current configuration.
  std::vector<Endpoint> endpoints() const;

  /// Waits until everything accepted so far is final. False when the timeout passed first;
  /// milliseconds::max() waits without limit. Throws ConfigError when called from a callback.
  bool flush(std::chrono::milliseconds timeout);
  /// Stops accepting, lets deliveries continue until the deadline (milliseconds::max(): until they
  /// are final), then ends what is left as failed(shutdown) and joins the I/O threads. With a store,
  /// what is left is parked instead: it stays pending in the file, without a report, and the next
  /// Dispatcher on the file resumes it. Every other accepted delivery has its report on return; dispatch()
  /// calls blocked for room return shut_down. Throws ConfigError when called from a callback.
  void shutdown(std::chrono::milliseconds deadline = std::chrono::seconds(5));

  /// Counters, and every endpoint's health (breaker, last error, deliveries queued and final).
  DispatcherStats stats() const;
  /// One endpoint's health; nullopt when there is no endpoint of that name.
  std::optional<EndpointHealth> health(std::string_view endpoint) const;

  /// The store's deliveries that match (store_error without a store). Dead letters: a query whose
  /// state is DeliveryState::failed.
  Result<std::vector<StoredDelivery>> deliveries(const DeliveryQuery& query) const;
  /// Sends failed deliveries again: same delivery id, a fresh attempt budget, each with one more
  /// final report. Returns how many were taken (ids that are not failed deliveries are skipped).
  /// Errors: store_error (no store), shut_down.
  Result<std::size_t> redeliver(const std::vector<std::string>& ids);
  Result<std::size_t> redeliver(const DeliveryQuery& query);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace statusstack::webhooks
