// Dispatcher at its limits, against real servers on 127.0.0.1: "wait forever" values, delays too
// long for the clock, blocked producers at shutdown, configuration reloads, calls from callbacks,
// what a report says when there was no attempt, and behaviours that a plausible bug would break.

#include <statusstack/webhooks/dispatcher.hpp>
#include <statusstack/webhooks/signature.hpp>

#include "support/reports.hpp"
#include "support/servers.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <future>
#include <mutex>
#include <optional>
#include <set>
#include <thread>

using namespace statusstack::webhooks;
using namespace statusstack::webhooks::testing;
using namespace std::chrono_literals;

namespace {

constexpr auto generous = 20s;  // upper bound for waits that normally take milliseconds
constexpr auto forever = std::chrono::milliseconds::max();

ComponentStatusChanged sample_event(const std::string& id = "comp_1") {
  auto event = std::get<ComponentStatusChanged>(example_event(EventType::component_status_changed));
  event.component.id = id;
  return event;
}

std::string header(const RecordedRequest& request, std::string_view name) {
  const std::string* value = find_header(request.headers, name);
  return value != nullptr ? *value : std::string();
}

// Answers the first `failures` requests with `status`, then 200.
Handler fail_first(int failures, int status = 503) {
  auto count = std::make_shared<std::atomic<int>>(0);
  return [count, failures, status](const RecordedRequest&) {
    return count->fetch_add(1) < failures ? Reply{status, {}, "try later"} : Reply{};
  };
}

// Sets an environment variable for the lifetime of the guard (before any thread reads it).
class EnvGuard {
 public:
  EnvGuard(const char* name, const std::string& value) : name_(name) {
    if (const char* old = std::getenv(name)) old_ = old;
    ::setenv(name, value.c_str(), 1);
  }
  ~EnvGuard() {
    if (old_) {
      ::setenv(name_, old_->c_str(), 1);
    } else {
      ::unsetenv(name_);
    }
  }
  EnvGuard(const EnvGuard&) = delete;
  EnvGuard& operator=(const EnvGuard&) = delete;

 private:
  const char* name_;
  std::optional<std::string> old_;
};

}  // namespace

TEST_CASE("RetryPolicy::next_delay saturates instead of overflowing", "[unit][retry]") {
  RetryPolicy policy;
  policy.jitter = 0.0;
  policy.initial_delay = 1s;
  policy.max_delay = forever;
  policy.factor = 1e300;  // finite, but grows past anything a clock holds after one step
  const auto huge = policy.next_delay(3, std::nullopt, 0.5);
  CHECK(huge > std::chrono::hours(24 * 365 * 1000));
  CHECK(huge <= forever);

  policy = RetryPolicy{};
  policy.schedule = {std::chrono::milliseconds(10000000000000)};  // 317 years
  CHECK(policy.next_delay(1, std::nullopt, 0.5) == std::chrono::milliseconds(10000000000000));

  // Retry-After is capped by max_retry_after, never overflowing on its way to milliseconds, and a
  // value under the cap is kept exactly even when the cap is not a whole number of seconds.
  policy = RetryPolicy{};
  policy.jitter = 0.0;
  policy.initial_delay = 10ms;
  policy.max_retry_after = 1500ms;
  CHECK(policy.next_delay(1, std::chrono::seconds::max(), 0.5) == 1500ms);
  CHECK(policy.next_delay(1, 2s, 0.5) == 1500ms);
  CHECK(policy.next_delay(1, 1s, 0.5) == 1000ms);
  policy.max_retry_after = forever;
  CHECK(policy.next_delay(1, std::chrono::seconds::max(), 0.5) >= std::chrono::hours(24 * 365 * 1000));

  RetryPolicy infinite;
  infinite.factor = std::numeric_limits<double>::infinity();
  REQUIRE_FALSE(infinite.validate());
  CHECK(infinite.validate().error().message == "retry.factor: must be finite");
}

TEST_CASE("milliseconds::max() waits without limit in shutdown(), flush() and block_timeout",
          "[integration][dispatcher][limits]") {
  HttpTestServer server([](const RecordedRequest&) { return Reply{200, {}, "ok", 300ms}; });
  Recorder recorder;
  DispatcherOptions options;
  options.endpoints = {local_endpoint("slow", server.url())};
  options.endpoints[0].max_in_flight = 1;
  recorder.install(options);

  SECTION("shutdown(max) lets every delivery finish") {
    Dispatcher dispatcher(options);
    for (int i = 0; i < 3; ++i) REQUIRE(dispatcher.dispatch(sample_event()));
    dispatcher.shutdown(forever);
    const auto reports = recorder.all();
    REQUIRE(reports.size() == 3);
    for (const auto& report : reports) CHECK(report.delivered);
    CHECK(dispatcher.stats().failed == 0);
  }
  SECTION("flush(max) returns true once everything is final") {
    Dispatcher dispatcher(options);
    for (int i = 0; i < 3; ++i) REQUIRE(dispatcher.dispatch(sample_event()));
    CHECK(dispatcher.flush(forever));
    CHECK(recorder.count() == 3);
  }
  SECTION("block_timeout = max waits for room") {
    options.max_pending = 1;
    options.overflow = OverflowPolicy::block;
    options.block_timeout = forever;
    Dispatcher dispatcher(options);
    REQUIRE(dispatcher.dispatch(sample_event()));
    const auto second = dispatcher.dispatch(sample_event());  // waits for the first to be final
    REQUIRE(second);
    CHECK(second->deliveries.size() == 1);
    CHECK(dispatcher.flush(generous));
    CHECK(dispatcher.stats().delivered == 2);
  }
  SECTION("a negative block_timeout is refused") {
    options.block_timeout = -1ms;
    CHECK_THROWS_WITH(Dispatcher(options),
                      "block_timeout: must not be negative (milliseconds::max() waits without limit)");
  }
}

TEST_CASE("max_age = max never makes a delivery too old", "[integration][dispatcher][limits]") {
  HttpTestServer server(fail_first(2));
  Recorder recorder;
  DispatcherOptions options;
  options.endpoints = {local_endpoint("ops", server.url())};
  options.retry = quick_retries(5, 10ms);
  options.retry.max_age = forever;
  recorder.install(options);
  Dispatcher dispatcher(options);
  REQUIRE(dispatcher.dispatch(sample_event()));
  REQUIRE(dispatcher.flush(generous));
  const auto reports = recorder.all();
  REQUIRE(reports.size() == 1);
  CHECK(reports[0].delivered);
  CHECK(reports[0].attempts == 3);
}

TEST_CASE("a retry delay longer than the clock can hold ends the delivery as too_old at once",
          "[integration][dispatcher][limits]") {
  HttpTestServer server([](const RecordedRequest&) { return Reply{503, {}, "down"}; });
  Recorder recorder;
  DispatcherOptions options;
  options.endpoints = {local_endpoint("ops", server.url())};
  options.retry.max_attempts = 50;
  options.retry.schedule = {std::chrono::milliseconds(10000000000000)};
  recorder.install(options);
  Dispatcher dispatcher(options);
  REQUIRE(dispatcher.dispatch(sample_event()));
  REQUIRE(dispatcher.flush(generous));
  const auto reports = recorder.all();
  REQUIRE(reports.size() == 1);
  CHECK(reports[0].reason == FailureReason::too_old);
  CHECK(reports[0].attempts == 1);
  CHECK(server.request_count() == 1);
}

TEST_CASE("producers blocked at shutdown() are refused and give back no room they did not take",
          "[integration][dispatcher][limits]") {
  HttpTestServer server([](const RecordedRequest&) { return Reply{200, {}, "ok", 200ms}; });
  Recorder recorder;
  DispatcherOptions options;
  options.endpoints = {local_endpoint("ops", server.url())};
  options.endpoints[0].max_in_flight = 1;
  options.max_pending = 1;
  options.overflow = OverflowPolicy::block;
  options.block_timeout = 30s;
  recorder.install(options);
  Dispatcher dispatcher(options);
  REQUIRE(dispatcher.dispatch(sample_event()));

  constexpr int producers = 4;
  std::atomic<int> started{0};
  std::vector<std::future<Result<Accepted>>> calls;
  for (int i = 0; i < producers; ++i) {
    calls.push_back(std::async(std::launch::async, [&] {
      started.fetch_add(1);
      return dispatcher.dispatch(sample_event());
    }));
  }
  while (started.load() < producers) std::this_thread::yield();
  dispatcher.shutdown(generous);

  int accepted = 0;
  for (auto& call : calls) {
    const Result<Accepted> result = call.get();
    if (result) {
      ++accepted;  // got room before shutdown began
    } else {
      CHECK(result.error().code == ErrorCode::shut_down);
    }
  }
  const DispatcherStats stats = dispatcher.stats();
  CHECK(stats.queued == 0);
  CHECK(stats.in_flight == 0);
  CHECK(stats.accepted == static_cast<std::uint64_t>(1 + accepted));
  CHECK(stats.delivered + stats.failed == stats.accepted);
  CHECK(recorder.count() == stats.accepted);
  CHECK(dispatcher.flush(0ms));
}

TEST_CASE("reloading an endpoint with the same settings keeps its rate limit",
          "[integration][dispatcher][limits]") {
  HttpTestServer server;
  DispatcherOptions options;
  Endpoint limited = local_endpoint("ops", server.url());
  limited.rate_limit_per_minute = 60;  // a burst of 15, then one a second
  options.endpoints = {limited};
  Dispatcher dispatcher(options);
  for (int i = 0; i < 40; ++i) REQUIRE(dispatcher.dispatch(sample_event()));
  REQUIRE(server.wait_for_requests(15, generous));
  for (int i = 0; i < 3; ++i) dispatcher.upsert_endpoint(limited);  // a configuration reload
  // A fresh bucket would let another burst of 15 through at once; the kept one gives about one a
  // second.
  CHECK_FALSE(server.wait_for_requests(22, 1500ms));
  CHECK(server.request_count() <= 18);
}

TEST_CASE("reloading an endpoint keeps its requests on the wire within max_in_flight",
          "[integration][dispatcher][limits]") {
  std::atomic<int> now{0};
  std::atomic<int> peak{0};
  HttpTestServer server([&](const RecordedRequest&) {
    const int current = now.fetch_add(1) + 1;
    int seen = peak.load();
    while (current > seen && !peak.compare_exchange_weak(seen, current)) {
    }
    std::this_thread::sleep_for(150ms);  // the handler holds the request: it is "on the wire"
    now.fetch_sub(1);
    return Reply{};
  });
  DispatcherOptions options;
  Endpoint endpoint = local_endpoint("ops", server.url());
  endpoint.max_in_flight = 2;
  options.endpoints = {endpoint};
  Dispatcher dispatcher(options);
  for (int i = 0; i < 12; ++i) REQUIRE(dispatcher.dispatch(sample_event()));
  REQUIRE(server.wait_for_requests(2, generous));
  dispatcher.upsert_endpoint(endpoint);
  dispatcher.upsert_endpoint(endpoint);
  REQUIRE(dispatcher.flush(generous));
  CHECK(peak.load() == 2);
  CHECK(dispatcher.stats().delivered == 12);
}

TEST_CASE("flush() and shutdown() from a callback fail at once with a ConfigError",
          "[integration][dispatcher][limits]") {
  HttpTestServer server;
  std::mutex mutex;
  std::vector<std::string> errors;
  std::atomic<Dispatcher*> self{nullptr};
  std::atomic<bool> ready{false};
  DispatcherOptions options;
  options.endpoints = {local_endpoint("ops", server.url())};
  options.on_report = [&](const DeliveryReport&) {
    while (!ready.load()) std::this_thread::yield();
    for (int call = 0; call < 2; ++call) {
      const auto started = std::chrono::steady_clock::now();
      try {
        if (call == 0) {
          (void)self.load()->flush(10s);
        } else {
          self.load()->shutdown(10s);
        }
        const std::lock_guard<std::mutex> lock(mutex);
        errors.emplace_back("no error");
      } catch (const ConfigError& e) {
        // "At once": nowhere near the 10 s the call was given (checked on the test's thread).
        const bool quick = std::chrono::steady_clock::now() - started < 5s;
        const std::lock_guard<std::mutex> lock(mutex);
        errors.emplace_back(std::string(e.what()) + (quick ? "" : " (after waiting)"));
      }
    }
  };
  Dispatcher dispatcher(options);
  self = &dispatcher;
  ready = true;
  REQUIRE(dispatcher.dispatch(sample_event()));
  REQUIRE(dispatcher.flush(generous));
  const std::lock_guard<std::mutex> lock(mutex);
  REQUIRE(errors.size() == 2);
  CHECK(errors[0] ==
        "flush() called from an on_report or on_attempt callback: it would wait for the I/O thread that "
        "runs the callback");
  CHECK(errors[1] ==
        "shutdown() called from an on_report or on_attempt callback: it would wait for the I/O thread that "
        "runs the callback");
  CHECK(dispatcher.stats().callback_errors == 0);  // the callback caught them
}

TEST_CASE("a delivery that was never attempted says why instead of HTTP 0",
          "[integration][dispatcher][limits]") {
  Recorder recorder;
  DispatcherOptions options;
  recorder.install(options);

  SECTION("the endpoint is paused by a 410") {
    HttpTestServer server([](const RecordedRequest&) { return Reply{410, {}, "gone"}; });
    options.endpoints = {local_endpoint("ops", server.url())};
    Dispatcher dispatcher(options);
    REQUIRE(dispatcher.dispatch(sample_event()));
    REQUIRE(dispatcher.flush(generous));
    REQUIRE(dispatcher.dispatch(sample_event()));
    REQUIRE(dispatcher.flush(generous));
    const auto reports = recorder.all();
    REQUIRE(reports.size() == 2);
    CHECK(reports[0].reason == FailureReason::receiver_gone);
    CHECK(reports[0].attempts == 1);
    CHECK(reports[0].detail == "HTTP 410: gone");
    CHECK(reports[1].reason == FailureReason::receiver_gone);
    CHECK(reports[1].attempts == 0);
    CHECK(reports[1].detail == "not attempted: the endpoint is paused since it answered 410 Gone");
  }
  SECTION("shutdown(0) before the first attempt") {
    HttpTestServer server([](const RecordedRequest&) { return Reply{200, {}, "ok", 500ms}; });
    options.endpoints = {local_endpoint("ops", server.url())};
    options.endpoints[0].max_in_flight = 1;
    Dispatcher dispatcher(options);
    for (int i = 0; i < 3; ++i) REQUIRE(dispatcher.dispatch(sample_event()));
    REQUIRE(server.wait_for_requests(1, generous));
    dispatcher.shutdown(0ms);
    const auto reports = recorder.all();
    REQUIRE(reports.size() == 3);
    int never = 0;
    for (const auto& report : reports) {
      CHECK(report.reason == FailureReason::shutdown);
      if (report.attempts == 0) {
        ++never;
        CHECK(report.detail == "not attempted: the dispatcher shut down before the first attempt");
      }
    }
    CHECK(never == 2);
  }
}

TEST_CASE("a receiver's explanation of a 4xx is in the report's detail, capped",
          "[integration][dispatcher]") {
  // The one report of one event sent to a receiver that always answers `status` with `body`.
  auto report_for = [](int status, const std::string& body) {
    HttpTestServer server([status, body](const RecordedRequest&) { return Reply{status, {}, body}; });
    Recorder recorder;
    DispatcherOptions options;
    options.endpoints = {local_endpoint("ops", server.url())};
    recorder.install(options);
    Dispatcher dispatcher(options);
    REQUIRE(dispatcher.dispatch(sample_event()));
    REQUIRE(dispatcher.flush(generous));
    const auto reports = recorder.all();
    REQUIRE(reports.size() == 1);
    return reports[0];
  };
  SECTION("short, with a newline") {
    const DeliveryReport report = report_for(422, "missing field: id\n");
    CHECK(report.reason == FailureReason::rejected);
    CHECK(report.detail == "HTTP 422: missing field: id ");
    CHECK(report.last.body == "missing field: id\n");
  }
  SECTION("long: 512 bytes, never half a character") {
    // 511 ASCII bytes then a two-byte character that straddles the cap.
    const DeliveryReport report = report_for(400, std::string(511, 'x') + "\xc3\xa9" + std::string(100, 'y'));
    CHECK(report.detail == "HTTP 400: " + std::string(511, 'x') + "...");
  }
}

TEST_CASE("on_attempt reports the final failed attempt too, without a retry time",
          "[integration][dispatcher][retry]") {
  HttpTestServer server([](const RecordedRequest&) { return Reply{503, {}, "down"}; });
  Recorder recorder;
  DispatcherOptions options;
  options.endpoints = {local_endpoint("ops", server.url())};
  options.retry = quick_retries(3, 10ms);
  recorder.install(options);
  Dispatcher dispatcher(options);
  REQUIRE(dispatcher.dispatch(sample_event()));
  REQUIRE(dispatcher.flush(generous));
  const auto attempts = recorder.all_attempts();
  REQUIRE(attempts.size() == 3);
  CHECK(attempts[0].attempt == 1);
  CHECK(attempts[0].retry_in == std::optional<std::chrono::milliseconds>(10ms));
  CHECK(attempts[1].retry_in == std::optional<std::chrono::milliseconds>(20ms));
  CHECK(attempts[2].attempt == 3);
  CHECK_FALSE(attempts[2].retry_in.has_value());
  CHECK(attempts[2].detail == "HTTP 503");
  REQUIRE(recorder.count() == 1);
  CHECK(recorder.all()[0].reason == FailureReason::attempts_exhausted);
}

TEST_CASE("a Standard Webhooks retry is signed again with a fresh timestamp, a StatusStack one is not",
          "[integration][dispatcher][retry]") {
  const bool standard = GENERATE(false, true);
  HttpTestServer server(fail_first(1));
  DispatcherOptions options;
  Endpoint endpoint = local_endpoint("ops", server.url());
  if (standard) {
    endpoint.signature = SignatureScheme::standard_webhooks;
    endpoint.secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
  }
  options.endpoints = {endpoint};
  options.retry = quick_retries(2, 1100ms);  // the timestamp has one-second resolution
  Dispatcher dispatcher(options);
  REQUIRE(dispatcher.dispatch(sample_event()));
  REQUIRE(dispatcher.flush(generous));
  const auto requests = server.requests();
  REQUIRE(requests.size() == 2);
  if (standard) {
    const StandardWebhooksVerifier verifier(endpoint.secret);
    CHECK(header(requests[0], "webhook-id") == header(requests[1], "webhook-id"));
    CHECK(std::stoll(header(requests[1], "webhook-timestamp")) >
          std::stoll(header(requests[0], "webhook-timestamp")));
    CHECK(header(requests[0], "webhook-signature") != header(requests[1], "webhook-signature"));
    for (const auto& request : requests) CHECK(verifier.verify_request(request.headers, request.body));
  } else {
    CHECK(header(requests[0], "X-StatusStack-Timestamp") == header(requests[1], "X-StatusStack-Timestamp"));
    CHECK(header(requests[0], "X-StatusStack-Signature") == header(requests[1], "X-StatusStack-Signature"));
    CHECK(requests[0].body == requests[1].body);
  }
}

TEST_CASE("a retry due before the shutdown deadline still runs", "[integration][dispatcher][retry]") {
  HttpTestServer server(fail_first(1));
  Recorder recorder;
  DispatcherOptions options;
  options.endpoints = {local_endpoint("ops", server.url())};
  options.retry = quick_retries(3, 300ms);
  recorder.install(options);
  std::promise<void> backing_off;
  options.on_attempt = [&](const AttemptReport&) { backing_off.set_value(); };  // once: then 200
  Dispatcher dispatcher(options);
  REQUIRE(dispatcher.dispatch(sample_event()));
  // Shut down while the retry waits on its timer, due long before the deadline.
  REQUIRE(backing_off.get_future().wait_for(generous) == std::future_status::ready);
  dispatcher.shutdown(generous);
  const auto reports = recorder.all();
  REQUIRE(reports.size() == 1);
  CHECK(reports[0].delivered);
  CHECK(reports[0].attempts == 2);
}

TEST_CASE("an endpoint without a proxy ignores the proxy variables of the environment",
          "[integration][dispatcher]") {
  HttpTestServer proxy;
  HttpTestServer receiver;
  const std::string proxy_url = "http://127.0.0.1:" + std::to_string(proxy.port());
  const EnvGuard http_proxy("http_proxy", proxy_url);
  const EnvGuard https_proxy("https_proxy", proxy_url);
  const EnvGuard all_proxy("ALL_PROXY", proxy_url);
  const EnvGuard no_proxy("no_proxy", "");
  Recorder recorder;
  DispatcherOptions options;
  options.endpoints = {local_endpoint("ops", receiver.url())};
  recorder.install(options);
  Dispatcher dispatcher(options);
  REQUIRE(dispatcher.dispatch(sample_event()));
  REQUIRE(dispatcher.flush(generous));
  REQUIRE(recorder.count() == 1);
  CHECK(recorder.all()[0].delivered);
  CHECK(receiver.request_count() == 1);
  CHECK(proxy.request_count() == 0);
}

TEST_CASE("the documented Dispatcher configuration errors, word for word", "[unit][dispatcher][validation]") {
  auto message_for = [](DispatcherOptions options) -> std::string {
    try {
      Dispatcher dispatcher(std::move(options));
    } catch (const ConfigError& e) {
      return e.what();
    }
    return "no error";
  };
  DispatcherOptions options;
  options.max_pending = 0;
  CHECK(message_for(options) == "max_pending: must be at least 1");
  options = DispatcherOptions{};
  options.io_threads = 0;  // one per hardware thread
  CHECK(message_for(options) == "no error");
  {
    const unsigned hardware = std::max(1U, std::thread::hardware_concurrency());
    Dispatcher chosen{DispatcherOptions{}};
    CHECK(chosen.stats().io_threads == std::min(hardware, max_default_io_threads));
  }
  options.io_threads = 65;
  CHECK(message_for(options) == "io_threads: must be between 1 and 64 (0: one per hardware thread)");
  options.io_threads = 64;
  CHECK(message_for(options) == "no error");
  options = DispatcherOptions{};
  options.retry.max_age = 0ms;
  CHECK(message_for(options) == "retry.max_age: must be positive");
}

TEST_CASE("dispatch() from a callback never blocks for room, whatever the overflow policy",
          "[integration][dispatcher][limits]") {
  HttpTestServer server;
  std::atomic<Dispatcher*> self{nullptr};
  std::atomic<bool> ready{false};
  std::promise<std::pair<ErrorCode, std::chrono::steady_clock::duration>> inner;
  std::atomic<bool> once{false};
  DispatcherOptions options;
  options.endpoints = {local_endpoint("ops", server.url())};
  options.max_pending = 1;
  options.overflow = OverflowPolicy::block;
  options.block_timeout = 10s;
  options.on_attempt = [](const AttemptReport&) {};
  options.on_report = [&](const DeliveryReport&) {
    while (!ready.load()) std::this_thread::yield();
    if (once.exchange(true)) return;
    // The report's own delivery still holds the only room until the callback returns.
    const auto started = std::chrono::steady_clock::now();
    const auto result = self.load()->dispatch(sample_event());
    inner.set_value({result ? ErrorCode::invalid_value : result.error().code,
                     std::chrono::steady_clock::now() - started});
  };
  Dispatcher dispatcher(options);
  self = &dispatcher;
  ready = true;
  REQUIRE(dispatcher.dispatch(sample_event()));
  auto future = inner.get_future();
  REQUIRE(future.wait_for(generous) == std::future_status::ready);
  const auto [code, took] = future.get();
  CHECK(code == ErrorCode::queue_full);
  CHECK(took < 5s);
  REQUIRE(dispatcher.flush(generous));
}
