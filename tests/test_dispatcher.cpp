// Dispatcher against real servers on 127.0.0.1: routing, retries, reports, shutdown, concurrency.

#include <statusstack/webhooks/dispatcher.hpp>
#include <statusstack/webhooks/signature.hpp>

#include "support/reports.hpp"
#include "support/servers.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <atomic>
#include <map>
#include <mutex>
#include <random>
#include <set>
#include <thread>

using namespace statusstack::webhooks;
using namespace statusstack::webhooks::testing;
using namespace std::chrono_literals;

namespace {

constexpr auto generous = 20s;  // upper bound for waits that normally take milliseconds

std::string header(const RecordedRequest& request, std::string_view name) {
  const std::string* value = find_header(request.headers, name);
  return value != nullptr ? *value : std::string();
}

}  // namespace

TEST_CASE("RetryPolicy: exponential backoff with jitter, fixed schedules, Retry-After within a cap",
          "[unit][retry]") {
  RetryPolicy policy;
  policy.initial_delay = 1s;
  policy.factor = 2.0;
  policy.max_delay = 10s;
  policy.jitter = 0.0;
  CHECK(policy.next_delay(1, std::nullopt, 0.5) == 1s);
  CHECK(policy.next_delay(2, std::nullopt, 0.5) == 2s);
  CHECK(policy.next_delay(4, std::nullopt, 0.5) == 8s);
  CHECK(policy.next_delay(5, std::nullopt, 0.5) == 10s);  // capped
  CHECK(policy.next_delay(60, std::nullopt, 0.5) == 10s);

  policy.jitter = 0.2;
  CHECK(policy.next_delay(1, std::nullopt, 0.0) == 800ms);
  CHECK(policy.next_delay(1, std::nullopt, 0.5) == 1000ms);
  CHECK(policy.next_delay(1, std::nullopt, 0.999) >= 1199ms);

  // Retry-After wins when longer, and is capped by max_retry_after.
  policy.max_retry_after = 30s;
  CHECK(policy.next_delay(1, 20s, 0.5) == 20s);
  CHECK(policy.next_delay(1, 3600s, 0.5) == 30s);
  CHECK(policy.next_delay(4, 0s, 0.5) == 8s);

  RetryPolicy fixed;
  fixed.schedule = {5s, 5min, 30min, 2h, 5h, 10h, 10h};
  CHECK(fixed.next_delay(1, std::nullopt, 0.9) == 5s);
  CHECK(fixed.next_delay(3, std::nullopt, 0.1) == 30min);
  CHECK(fixed.next_delay(7, std::nullopt, 0.1) == 10h);
  CHECK(fixed.next_delay(12, std::nullopt, 0.1) == 10h);  // the last one repeats

  RetryPolicy bad;
  bad.max_attempts = 0;
  REQUIRE_FALSE(bad.validate());
  CHECK(bad.validate().error().message == "retry.max_attempts: must be at least 1 (got 0)");
  bad = RetryPolicy{};
  bad.factor = 0.5;
  CHECK(bad.validate().error().message == "retry.factor: must be at least 1");
}

TEST_CASE("filters route each of the seven event types to exactly the right endpoints",
          "[integration][dispatcher]") {
  HttpTestServer all_server, incidents_server, components_server;
  Recorder recorder;
  DispatcherOptions options;
  options.endpoints = {local_endpoint("everything", all_server.url()),
                       local_endpoint("pager", incidents_server.url(), {"incident.*", "monitor.down"}),
                       local_endpoint("components", components_server.url(), {"component.status_changed"})};
  recorder.install(options);
  Dispatcher dispatcher(std::move(options));

  std::map<EventType, std::set<std::string>> routed;
  for (EventType type : all_event_types) {
    auto accepted = dispatcher.dispatch(example_event(type));
    REQUIRE(accepted);
    for (const auto& delivery : accepted->deliveries) routed[type].insert(delivery.endpoint);
  }
  REQUIRE(dispatcher.flush(generous));

  using Set = std::set<std::string>;
  CHECK(routed[EventType::component_status_changed] == Set{"everything", "components"});
  CHECK(routed[EventType::monitor_down] == Set{"everything", "pager"});
  CHECK(routed[EventType::monitor_recovered] == Set{"everything"});
  CHECK(routed[EventType::incident_created] == Set{"everything", "pager"});
  CHECK(routed[EventType::incident_updated] == Set{"everything", "pager"});
  CHECK(routed[EventType::incident_resolved] == Set{"everything", "pager"});
  CHECK(routed[EventType::maintenance_scheduled] == Set{"everything"});

  auto received_types = [](const HttpTestServer& server) {
    std::multiset<std::string> types;
    for (const auto& request : server.requests()) types.insert(header(request, "X-StatusStack-Event"));
    return types;
  };
  CHECK(received_types(all_server).size() == 7);
  CHECK(received_types(incidents_server) == std::multiset<std::string>{"incident.created",
                                                                       "incident.resolved",
                                                                       "incident.updated", "monitor.down"});
  CHECK(received_types(components_server) == std::multiset<std::string>{"component.status_changed"});
  CHECK(recorder.count() == 12);  // 7 + 4 + 1
  for (const auto& report : recorder.all()) CHECK(report.delivered);
}

TEST_CASE("each delivery is signed for its endpoint and the body is the event's JSON",
          "[integration][dispatcher]") {
  HttpTestServer plain_server, standard_server;
  DispatcherOptions options;
  Endpoint plain = local_endpoint("plain", plain_server.url());
  plain.secret = "s3cr3t-plain-for-the-test";
  plain.headers = {{"Authorization", "Bearer abc"}};
  Endpoint standard = local_endpoint("standard", standard_server.url());
  standard.signature = SignatureScheme::standard_webhooks;
  standard.secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
  options.endpoints = {plain, standard};
  Dispatcher dispatcher(std::move(options));

  const Event event = example_event(EventType::incident_created);
  auto accepted = dispatcher.dispatch(event);
  REQUIRE(accepted);
  REQUIRE(dispatcher.flush(generous));

  const RecordedRequest got = plain_server.requests().at(0);
  CHECK(got.body == to_json(event));
  CHECK(Verifier("s3cr3t-plain-for-the-test").verify_request(got.headers, got.body));
  CHECK(header(got, "Authorization") == "Bearer abc");
  CHECK(header(got, "X-StatusStack-Event") == "incident.created");
  CHECK(header(got, "Content-Type") == "application/json");
  const std::string id = header(got, "X-StatusStack-Delivery");
  CHECK(std::any_of(accepted->deliveries.begin(), accepted->deliveries.end(),
                    [&](const auto& d) { return d.delivery_id == id && d.endpoint == "plain"; }));

  const RecordedRequest std_got = standard_server.requests().at(0);
  CHECK(StandardWebhooksVerifier("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
            .verify_request(std_got.headers, std_got.body));
  CHECK(header(std_got, "webhook-id") == header(std_got, "X-StatusStack-Delivery"));
}

TEST_CASE("a failing receiver gets the same delivery id on every attempt, after the configured delays",
          "[integration][dispatcher][retry]") {
  std::atomic<int> calls{0};
  HttpTestServer server([&](const RecordedRequest&) {
    const int call = ++calls;
    if (call == 1) return Reply{500, {}, "boom", 0ms};
    if (call == 2) return Reply{503, {}, "busy", 0ms};
    if (call == 3) return Reply{429, {{"Retry-After", "1"}}, "", 0ms};
    if (call == 4) return Reply{200, {}, "too late", 1500ms};  // beyond the 500 ms timeout
    return Reply{200, {}, "ok", 0ms};
  });
  Recorder recorder;
  DispatcherOptions options;
  Endpoint endpoint = local_endpoint("flaky", server.url());
  endpoint.options.timeout = 500ms;
  options.endpoints = {endpoint};
  options.retry = quick_retries(6, 100ms);
  recorder.install(options);
  Dispatcher dispatcher(std::move(options));

  REQUIRE(dispatcher.dispatch(example_event(EventType::monitor_down)));
  REQUIRE(dispatcher.flush(generous));

  const auto requests = server.requests();
  REQUIRE(requests.size() == 5);
  const std::string id = header(requests[0], "X-StatusStack-Delivery");
  for (const auto& request : requests) {
    CHECK(header(request, "X-StatusStack-Delivery") == id);
    CHECK(request.body == requests[0].body);
  }
  auto gap = [&](std::size_t i) {
    return std::chrono::duration_cast<std::chrono::milliseconds>(requests[i].received_at -
                                                                 requests[i - 1].received_at);
  };
  CHECK(gap(1) >= 100ms);  // 100 ms backoff
  CHECK(gap(1) < 1000ms);
  CHECK(gap(2) >= 200ms);  // 200 ms backoff
  CHECK(gap(2) < 1100ms);
  CHECK(gap(3) >= 1000ms);  // Retry-After: 1 beats the 400 ms backoff
  CHECK(gap(3) < 2500ms);
  CHECK(gap(4) >= 500ms + 800ms);  // the 500 ms timeout, then the 800 ms backoff

  const auto reports = recorder.all();
  REQUIRE(reports.size() == 1);
  CHECK(reports[0].delivered);
  CHECK(reports[0].delivery_id == id);
  CHECK(reports[0].attempts == 5);
  CHECK(reports[0].last.status == 200);
  CHECK(reports[0].first_attempt_at < reports[0].last_attempt_at);
  REQUIRE(recorder.attempts.size() == 4);
  CHECK(recorder.attempts[0].outcome.status == 500);
  CHECK(recorder.attempts[2].outcome.retry_after == 1s);
  CHECK(recorder.attempts[3].outcome.error == TransportError::timeout);
  CHECK(recorder.attempts[3].retry_in == 800ms);
  const DispatcherStats stats = dispatcher.stats();
  CHECK(stats.attempts == 5);
  CHECK(stats.retries == 4);
  CHECK(stats.delivered == 1);
}

TEST_CASE("a 4xx other than 408/425/429 fails at once", "[integration][dispatcher][retry]") {
  HttpTestServer server([](const RecordedRequest&) { return Reply{422, {}, R"({"error":"bad"})", 0ms}; });
  Recorder recorder;
  DispatcherOptions options;
  options.endpoints = {local_endpoint("strict", server.url())};
  options.retry = quick_retries(5);
  recorder.install(options);
  Dispatcher dispatcher(std::move(options));
  REQUIRE(dispatcher.dispatch(example_event(EventType::incident_resolved)));
  REQUIRE(dispatcher.flush(generous));
  const auto reports = recorder.all();
  REQUIRE(reports.size() == 1);
  CHECK_FALSE(reports[0].delivered);
  CHECK(reports[0].reason == FailureReason::rejected);
  CHECK(reports[0].attempts == 1);
  CHECK(reports[0].last.status == 422);
  CHECK(reports[0].last.body == R"({"error":"bad"})");
  CHECK(server.request_count() == 1);
}

TEST_CASE("a 410 Gone pauses the endpoint until it is replaced", "[integration][dispatcher]") {
  std::atomic<int> status{410};
  HttpTestServer server([&](const RecordedRequest&) { return Reply{status.load(), {}, "", 0ms}; });
  Recorder recorder;
  DispatcherOptions options;
  Endpoint endpoint = local_endpoint("retired", server.url());
  endpoint.max_in_flight = 1;
  options.endpoints = {endpoint};
  recorder.install(options);
  Dispatcher dispatcher(std::move(options));
  for (int i = 0; i < 3; ++i) REQUIRE(dispatcher.dispatch(example_event(EventType::monitor_down)));
  REQUIRE(dispatcher.flush(generous));
  CHECK(server.request_count() == 1);  // the other two never went out
  auto reports = recorder.all();
  REQUIRE(reports.size() == 3);
  for (const auto& report : reports) CHECK(report.reason == FailureReason::receiver_gone);
  CHECK(reports[0].last.status == 410);
  CHECK(reports[1].attempts == 0);

  status = 200;
  dispatcher.upsert_endpoint(endpoint);  // replacing it resumes deliveries
  REQUIRE(dispatcher.dispatch(example_event(EventType::monitor_down)));
  REQUIRE(dispatcher.flush(generous));
  CHECK(recorder.all().back().delivered);
  CHECK(dispatcher.stats().failed_by_reason[static_cast<std::size_t>(FailureReason::receiver_gone)] == 3);
}

TEST_CASE("a refused port fails after max attempts, and resets are retried too",
          "[integration][dispatcher][retry]") {
  Recorder recorder;
  const RefusedPort refused;
  RawTestServer resetting(RawBehaviour::reset_after_request);
  DispatcherOptions options;
  options.endpoints = {local_endpoint("nobody-home", refused.url()),
                       local_endpoint("resetting", resetting.url())};
  options.retry = quick_retries(3, 20ms);
  recorder.install(options);
  Dispatcher dispatcher(std::move(options));
  REQUIRE(dispatcher.dispatch(example_event(EventType::monitor_recovered)));
  REQUIRE(dispatcher.flush(generous));
  const auto reports = recorder.all();
  REQUIRE(reports.size() == 2);
  for (const auto& report : reports) {
    CHECK_FALSE(report.delivered);
    CHECK(report.reason == FailureReason::attempts_exhausted);
    CHECK(report.attempts == 3);
    CHECK(report.last.error ==
          (report.endpoint == "nobody-home" ? TransportError::refused : TransportError::reset));
  }
  CHECK(resetting.connections() == 3);
}

TEST_CASE("nothing waits longer than max_age", "[integration][dispatcher][retry]") {
  HttpTestServer server([](const RecordedRequest&) { return Reply{503, {}, "", 0ms}; });
  Recorder recorder;
  DispatcherOptions options;
  options.endpoints = {local_endpoint("down", server.url())};
  options.retry = quick_retries(100, 100ms);
  options.retry.max_age = 700ms;
  recorder.install(options);
  Dispatcher dispatcher(std::move(options));
  const auto start = std::chrono::steady_clock::now();
  REQUIRE(dispatcher.dispatch(example_event(EventType::monitor_down)));
  REQUIRE(dispatcher.flush(generous));
  const auto took = std::chrono::steady_clock::now() - start;
  const auto reports = recorder.all();
  REQUIRE(reports.size() == 1);
  CHECK(reports[0].reason == FailureReason::too_old);
  // Attempts at 0, 100, 300 ms; the next would start at 700 ms or later: given up at 300 ms.
  CHECK(reports[0].attempts == 3);
  CHECK(took < 700ms);
}

TEST_CASE("a slow endpoint does not hold back a fast one", "[integration][dispatcher]") {
  HttpTestServer slow([](const RecordedRequest&) { return Reply{200, {}, "", 1500ms}; });
  HttpTestServer fast;
  std::mutex mutex;
  std::map<std::string, std::vector<std::chrono::steady_clock::time_point>> done;
  DispatcherOptions options;
  Endpoint slow_endpoint = local_endpoint("slow", slow.url());
  slow_endpoint.max_in_flight = 2;
  slow_endpoint.options.timeout = 5s;
  options.endpoints = {slow_endpoint, local_endpoint("fast", fast.url())};
  options.on_report = [&](const DeliveryReport& report) {
    const std::lock_guard<std::mutex> lock(mutex);
    done[report.endpoint].push_back(std::chrono::steady_clock::now());
  };
  Dispatcher dispatcher(std::move(options));
  const auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < 10; ++i) REQUIRE(dispatcher.dispatch(example_event(EventType::incident_updated)));
  REQUIRE(fast.wait_for_requests(10, generous));
  REQUIRE(dispatcher.flush(generous));
  const std::lock_guard<std::mutex> lock(mutex);
  REQUIRE(done["fast"].size() == 10);
  REQUIRE(done["slow"].size() == 10);
  const auto fast_last = *std::max_element(done["fast"].begin(), done["fast"].end());
  const auto slow_first = *std::min_element(done["slow"].begin(), done["slow"].end());
  CHECK(fast_last < slow_first);  // every fast delivery finished before the first slow answer
  CHECK(fast_last - start < 1500ms);
}

TEST_CASE("a fault mix of 5000 events over three endpoints: every delivery reported, none lost",
          "[integration][dispatcher][soak]") {
  std::atomic<std::uint64_t> counter{0};
  auto flaky = [&](int percent_failing, int status) {
    return [&counter, percent_failing, status](const RecordedRequest&) {
      const std::uint64_t n = counter.fetch_add(1) * 2654435761U;
      if (static_cast<int>(n % 100) < percent_failing) {
        return Reply{status, status == 429 ? Headers{{"Retry-After", "0"}} : Headers{}, "", 0ms};
      }
      return Reply{200, {}, "", 0ms};
    };
  };
  HttpTestServer steady_server;
  HttpTestServer flaky_server(flaky(30, 503));
  HttpTestServer limited_server(flaky(20, 429));
  std::mutex mutex;
  std::set<std::string> delivered_ids;
  std::uint64_t delivered = 0, failed = 0;
  DispatcherOptions options;
  options.endpoints = {local_endpoint("steady", steady_server.url()),
                       local_endpoint("flaky", flaky_server.url()),
                       local_endpoint("limited", limited_server.url(), {"incident.*", "monitor.*"})};
  options.retry = quick_retries(4, 5ms);
  options.retry.max_delay = 20ms;
  options.on_report = [&](const DeliveryReport& report) {
    const std::lock_guard<std::mutex> lock(mutex);
    if (report.delivered) {
      ++delivered;
      delivered_ids.insert(report.delivery_id);
    } else {
      ++failed;
    }
  };
  Dispatcher dispatcher(std::move(options));

  std::uint64_t accepted = 0;
  std::set<std::string> accepted_ids;
  for (int i = 0; i < 5000; ++i) {
    auto result = dispatcher.dispatch(example_event(all_event_types[static_cast<std::size_t>(i) % 7]));
    REQUIRE(result);
    accepted += result->deliveries.size();
    for (const auto& d : result->deliveries) accepted_ids.insert(d.delivery_id);
  }
  REQUIRE(dispatcher.flush(120s));

  std::set<std::string> seen;
  for (const HttpTestServer* server : {&steady_server, &flaky_server, &limited_server}) {
    for (const auto& request : server->requests()) seen.insert(header(request, "X-StatusStack-Delivery"));
  }
  const std::lock_guard<std::mutex> lock(mutex);
  // "limited" takes monitor.* and incident.*: types 1 to 5 of the 7 in all_event_types order.
  CHECK(accepted == 5000 + 5000 + (5000 / 7) * 5 + 1);
  CHECK(accepted_ids.size() == accepted);
  CHECK(delivered + failed == accepted);
  CHECK(delivered > accepted * 9 / 10);
  for (const std::string& id : delivered_ids) {
    if (seen.count(id) == 0) FAIL("delivered id never reached a server: " << id);
  }
  for (const std::string& id : seen) CHECK(accepted_ids.count(id) == 1);
  const DispatcherStats stats = dispatcher.stats();
  CHECK(stats.accepted == accepted);
  CHECK(stats.delivered + stats.failed == accepted);
  CHECK(stats.in_flight == 0);
  CHECK(stats.queued == 0);
}

TEST_CASE("dispatch() from 8 threads while endpoints change: every delivery is accepted and reported once",
          "[integration][dispatcher][concurrency]") {
  HttpTestServer server;
  std::mutex mutex;
  std::map<std::string, DeliveryReport> reports;  // by delivery id
  std::vector<std::string> reported_twice;
  std::uint64_t retries_announced = 0;
  DispatcherOptions options;
  options.endpoints = {local_endpoint("stable", server.url()),
                       local_endpoint("extra-0", server.url())};  // so some deliveries meet removals
  options.retry = quick_retries(6, 5ms);  // a loaded machine may time out an attempt or two
  options.io_threads = 2;                 // endpoints spread over both loops while they change
  options.on_report = [&](const DeliveryReport& report) {
    const std::lock_guard<std::mutex> lock(mutex);
    if (!reports.emplace(report.delivery_id, report).second) reported_twice.push_back(report.delivery_id);
  };
  options.on_attempt = [&](const AttemptReport& attempt) {
    const std::lock_guard<std::mutex> lock(mutex);
    if (attempt.retry_in) ++retries_announced;
  };
  Dispatcher dispatcher(std::move(options));

  constexpr std::size_t producers_count = 8;
  constexpr std::size_t events_each = 250;
  std::atomic<bool> go{false};
  std::vector<std::vector<Accepted::Delivery>> accepted_by(producers_count);
  std::vector<std::vector<std::string>> refused_by(producers_count);
  std::vector<std::thread> producers;
  producers.reserve(producers_count);
  for (std::size_t t = 0; t < producers_count; ++t) {
    producers.emplace_back([&, t] {
      while (!go.load()) std::this_thread::yield();
      for (std::size_t i = 0; i < events_each; ++i) {
        auto result = dispatcher.dispatch(example_event(all_event_types[(i + t) % 7]));
        if (!result) {
          refused_by[t].push_back(result.error().message);
          continue;
        }
        auto& mine = accepted_by[t];
        mine.insert(mine.end(), result->deliveries.begin(), result->deliveries.end());
      }
    });
  }
  std::thread changer([&] {
    while (!go.load()) std::this_thread::yield();
    for (int i = 0; i < 100; ++i) {
      Endpoint extra =
          local_endpoint("extra-" + std::to_string(i % 3), server.url(), {i % 2 ? "incident.*" : "*"});
      dispatcher.upsert_endpoint(extra);
      if (i % 4 == 3) (void)dispatcher.remove_endpoint("extra-" + std::to_string((i + 1) % 3));
      std::this_thread::sleep_for(1ms);
    }
  });
  go = true;
  for (auto& producer : producers) producer.join();
  changer.join();
  REQUIRE(dispatcher.flush(generous));

  // Every dispatch() was accepted, and "stable" (never changed) took every event.
  std::map<std::string, std::string> accepted;  // delivery id -> endpoint
  std::size_t to_stable = 0;
  for (std::size_t t = 0; t < producers_count; ++t) {
    for (const std::string& message : refused_by[t]) UNSCOPED_INFO(message);
    CHECK(refused_by[t].empty());
    for (const auto& delivery : accepted_by[t]) {
      CHECK(accepted.emplace(delivery.delivery_id, delivery.endpoint).second);  // ids are unique
      if (delivery.endpoint == "stable") ++to_stable;
    }
  }
  CHECK(to_stable == producers_count * events_each);
  CHECK(accepted.size() > to_stable);  // extra-0 was there from the start

  // The receiver got each delivery id it was sent; once, unless an attempt failed and was retried.
  std::map<std::string, int> received;
  for (const RecordedRequest& request : server.requests())
    ++received[header(request, "X-StatusStack-Delivery")];

  const std::lock_guard<std::mutex> lock(mutex);
  CHECK(reported_twice.empty());
  CHECK(reports.size() == accepted.size());
  std::uint64_t delivered = 0, removed = 0, attempts = 0;
  std::map<std::string, int> other_failures;  // failures not caused by a removal, by what happened
  for (const auto& [id, endpoint] : accepted) {
    const auto report = reports.find(id);
    if (report == reports.end()) {
      FAIL_CHECK("no report for delivery " << id << " to " << endpoint);
      continue;
    }
    const DeliveryReport& r = report->second;
    CHECK(r.endpoint == endpoint);
    attempts += static_cast<std::uint64_t>(r.attempts);
    const int got = received.count(id) != 0 ? received[id] : 0;
    CHECK(got <= r.attempts);
    if (r.delivered) {
      ++delivered;
      CHECK(got >= 1);
      if (r.attempts == 1) CHECK(got == 1);
    } else if (r.reason == FailureReason::endpoint_removed && endpoint != "stable") {
      ++removed;
    } else {
      ++other_failures[endpoint + ": " + to_string(r.reason) + ": " + r.detail];
    }
  }
  for (const auto& [what, count] : other_failures) UNSCOPED_INFO(count << " x " << what);
  CHECK(other_failures.empty());
  CHECK(delivered + removed == accepted.size());
  for (const auto& [id, count] : received) {
    if (accepted.count(id) == 0) FAIL_CHECK("the receiver got " << count << " x an unknown delivery " << id);
  }

  // The counters say the same.
  const DispatcherStats stats = dispatcher.stats();
  CHECK(stats.accepted == accepted.size());
  CHECK(stats.refused_calls == 0);
  CHECK(stats.delivered == delivered);
  CHECK(stats.failed == removed);
  CHECK(stats.failed_by_reason[static_cast<std::size_t>(FailureReason::endpoint_removed)] == removed);
  CHECK(stats.attempts == attempts);
  CHECK(stats.retries == retries_announced);
  CHECK(stats.in_flight == 0);
  CHECK(stats.queued == 0);
  CHECK(stats.callback_errors == 0);
}

TEST_CASE("with two I/O threads one endpoint uses both, within its max_in_flight",
          "[integration][dispatcher]") {
  std::mutex mutex;
  int concurrent = 0;
  int most = 0;
  HttpTestServer server([&](const RecordedRequest&) {
    {
      const std::lock_guard<std::mutex> lock(mutex);
      most = std::max(most, ++concurrent);
    }
    std::this_thread::sleep_for(50ms);
    const std::lock_guard<std::mutex> lock(mutex);
    --concurrent;
    return Reply{};
  });
  DispatcherOptions options;
  Endpoint endpoint = local_endpoint("busy", server.url());
  endpoint.max_in_flight = 5;  // split 3 + 2 between the two loops
  options.endpoints = {endpoint};
  options.io_threads = 2;
  Dispatcher dispatcher(std::move(options));
  for (int i = 0; i < 40; ++i) REQUIRE(dispatcher.dispatch(example_event(EventType::monitor_down)));
  REQUIRE(dispatcher.flush(generous));
  CHECK(server.request_count() == 40);
  CHECK(dispatcher.stats().delivered == 40);
  CHECK(dispatcher.stats().io_threads == 2);
  const std::lock_guard<std::mutex> lock(mutex);
  CHECK(most == 5);
}

TEST_CASE("a replaced endpoint with fewer lanes still delivers what waited on the others",
          "[integration][dispatcher]") {
  RawTestServer resetting(RawBehaviour::reset_after_request);
  HttpTestServer server;
  DispatcherOptions options;
  Endpoint wide = local_endpoint("narrowing", resetting.url());
  wide.max_in_flight = 8;  // lanes on both I/O threads
  options.endpoints = {wide};
  options.io_threads = 2;
  options.retry = quick_retries(50, 100ms);
  options.retry.max_delay = 100ms;
  Dispatcher dispatcher(std::move(options));
  for (int i = 0; i < 6; ++i) REQUIRE(dispatcher.dispatch(example_event(EventType::monitor_down)));
  REQUIRE(resetting.wait_for_connections(6, generous));
  Endpoint narrow = local_endpoint("narrowing", server.url());
  narrow.max_in_flight = 1;  // one lane in use from now on
  dispatcher.upsert_endpoint(narrow);
  REQUIRE(dispatcher.flush(generous));
  CHECK(dispatcher.stats().delivered == 6);
  CHECK(server.request_count() == 6);
}

TEST_CASE("removing an endpoint ends its pending deliveries as endpoint_removed",
          "[integration][dispatcher]") {
  RawTestServer silent(RawBehaviour::never_answer);
  Recorder recorder;
  DispatcherOptions options;
  Endpoint endpoint = local_endpoint("going", silent.url());
  endpoint.max_in_flight = 1;
  endpoint.options.timeout = 300ms;
  options.endpoints = {endpoint};
  options.retry = quick_retries(5, 50ms);
  recorder.install(options);
  Dispatcher dispatcher(std::move(options));
  for (int i = 0; i < 3; ++i) REQUIRE(dispatcher.dispatch(example_event(EventType::monitor_down)));
  REQUIRE(silent.wait_for_connections(1, generous));
  CHECK(dispatcher.remove_endpoint("going"));
  CHECK_FALSE(dispatcher.remove_endpoint("going"));
  REQUIRE(dispatcher.flush(generous));
  const auto reports = recorder.all();
  REQUIRE(reports.size() == 3);
  for (const auto& report : reports) CHECK(report.reason == FailureReason::endpoint_removed);
  CHECK(dispatcher.endpoints().empty());
  auto after = dispatcher.dispatch(example_event(EventType::monitor_down));
  REQUIRE(after);
  CHECK(after->deliveries.empty());
}

TEST_CASE("replacing an endpoint moves its pending deliveries to the new settings",
          "[integration][dispatcher]") {
  RawTestServer old_target(RawBehaviour::reset_after_request);
  HttpTestServer new_target;
  Recorder recorder;
  DispatcherOptions options;
  options.endpoints = {local_endpoint("moving", old_target.url())};
  options.retry = quick_retries(50, 100ms);
  options.retry.max_delay = 100ms;
  recorder.install(options);
  Dispatcher dispatcher(std::move(options));
  REQUIRE(dispatcher.dispatch(example_event(EventType::incident_created)));
  REQUIRE(old_target.wait_for_connections(1, generous));
  Endpoint moved = local_endpoint("moving", new_target.url());
  moved.secret = "rotated-secret-for-the-test";
  dispatcher.upsert_endpoint(moved);
  REQUIRE(dispatcher.flush(generous));
  const auto reports = recorder.all();
  REQUIRE(reports.size() == 1);
  CHECK(reports[0].delivered);
  const RecordedRequest got = new_target.requests().at(0);
  CHECK(Verifier("rotated-secret-for-the-test")
            .verify_request(got.headers, got.body));  // signed again with the new secret
  CHECK(header(got, "X-StatusStack-Delivery") == reports[0].delivery_id);
}

TEST_CASE("shutdown with work in flight returns by its deadline and reports everything",
          "[integration][dispatcher]") {
  RawTestServer silent(RawBehaviour::never_answer);
  HttpTestServer failing([](const RecordedRequest&) { return Reply{503, {}, "", 0ms}; });
  Recorder recorder;
  DispatcherOptions options;
  Endpoint hanging = local_endpoint("hanging", silent.url());
  hanging.options.timeout = 30s;
  hanging.max_in_flight = 2;
  options.endpoints = {hanging, local_endpoint("backing-off", failing.url())};
  options.retry = quick_retries(5, 10s);
  options.retry.max_delay = 10s;
  recorder.install(options);
  Dispatcher dispatcher(std::move(options));
  for (int i = 0; i < 5; ++i)
    REQUIRE(dispatcher.dispatch(example_event(EventType::component_status_changed)));
  REQUIRE(silent.wait_for_connections(2, generous));
  REQUIRE(failing.wait_for_requests(5, generous));

  const auto start = std::chrono::steady_clock::now();
  dispatcher.shutdown(300ms);
  const auto took = std::chrono::steady_clock::now() - start;
  CHECK(took < 2s);
  const auto reports = recorder.all();
  REQUIRE(reports.size() == 10);
  for (const auto& report : reports) {
    CHECK_FALSE(report.delivered);
    CHECK(report.reason == FailureReason::shutdown);
  }
  auto refused = dispatcher.dispatch(example_event(EventType::monitor_down));
  REQUIRE_FALSE(refused);
  CHECK(refused.error().code == ErrorCode::shut_down);
  CHECK(refused.error().message == "dispatcher is shut down: the event was not accepted");
}

TEST_CASE("a full queue rejects at once, or blocks up to the timeout", "[integration][dispatcher]") {
  RawTestServer silent(RawBehaviour::never_answer);
  DispatcherOptions options;
  Endpoint endpoint = local_endpoint("stuck", silent.url());
  endpoint.options.timeout = 30s;
  options.endpoints = {endpoint};
  options.max_pending = 2;

  SECTION("reject") {
    Dispatcher dispatcher(options);
    REQUIRE(dispatcher.dispatch(example_event(EventType::monitor_down)));
    REQUIRE(dispatcher.dispatch(example_event(EventType::monitor_down)));
    auto third = dispatcher.dispatch(example_event(EventType::monitor_down));
    REQUIRE_FALSE(third);
    CHECK(third.error().code == ErrorCode::queue_full);
    CHECK(third.error().message == "queue is full (max_pending 2): the event was not accepted");
    CHECK(dispatcher.stats().refused_calls == 1);
    dispatcher.shutdown(100ms);
    CHECK(dispatcher.stats().failed == 2);
  }
  SECTION("block, then give up") {
    options.overflow = OverflowPolicy::block;
    options.block_timeout = 200ms;
    Dispatcher dispatcher(options);
    REQUIRE(dispatcher.dispatch(example_event(EventType::monitor_down)));
    REQUIRE(dispatcher.dispatch(example_event(EventType::monitor_down)));
    const auto start = std::chrono::steady_clock::now();
    auto third = dispatcher.dispatch(example_event(EventType::monitor_down));
    CHECK(std::chrono::steady_clock::now() - start >= 190ms);
    REQUIRE_FALSE(third);
    CHECK(third.error().code == ErrorCode::queue_full);
    dispatcher.shutdown(100ms);
  }
}

TEST_CASE("a blocked dispatch() goes through once room is made", "[integration][dispatcher]") {
  HttpTestServer server([](const RecordedRequest&) { return Reply{200, {}, "", 100ms}; });
  DispatcherOptions options;
  options.endpoints = {local_endpoint("paced", server.url())};
  options.max_pending = 1;
  options.overflow = OverflowPolicy::block;
  options.block_timeout = 5s;
  Dispatcher dispatcher(std::move(options));
  for (int i = 0; i < 5; ++i) REQUIRE(dispatcher.dispatch(example_event(EventType::monitor_down)));
  REQUIRE(dispatcher.flush(generous));
  CHECK(server.request_count() == 5);
}

TEST_CASE("a rate-limited endpoint makes deliveries wait for a token instead of failing",
          "[integration][dispatcher]") {
  HttpTestServer server;
  Recorder recorder;
  DispatcherOptions options;
  Endpoint limited = local_endpoint("limited", server.url());
  limited.rate_limit_per_minute = 60;  // one a second, bursts of 15
  options.endpoints = {limited};
  options.io_threads = 1;  // one bucket: with more, the rate and the burst are split (rounded down)
  recorder.install(options);
  Dispatcher dispatcher(std::move(options));
  // The limiter starts each request at least its token's time after the first take, which is after
  // `before`; a request arrives after it starts. (Arrivals alone can bunch up on a loaded machine.)
  const auto before = std::chrono::steady_clock::now();
  for (int i = 0; i < 17; ++i) REQUIRE(dispatcher.dispatch(example_event(EventType::monitor_down)));
  REQUIRE(dispatcher.flush(generous));
  const auto requests = server.requests();
  REQUIRE(requests.size() == 17);
  const auto burst_end = requests[14].received_at - requests[0].received_at;
  CHECK(burst_end < 900ms);
  CHECK(requests[15].received_at - before >= 990ms);
  CHECK(requests[16].received_at - before >= 1990ms);
  for (const auto& report : recorder.all()) CHECK(report.delivered);
}

TEST_CASE("an event receivers would reject is refused by dispatch() with the field named",
          "[integration][dispatcher]") {
  HttpTestServer server;
  DispatcherOptions options;
  options.endpoints = {local_endpoint("a", server.url())};
  Dispatcher dispatcher(std::move(options));
  Event event = example_event(EventType::component_status_changed);
  std::get<ComponentStatusChanged>(event).component.id.clear();
  auto refused = dispatcher.dispatch(event);
  REQUIRE_FALSE(refused);
  CHECK(refused.error().field == "component.id");
  CHECK(dispatcher.stats().refused_calls == 1);
  CHECK(dispatcher.stats().accepted == 0);
}

TEST_CASE("a throwing callback is counted and cannot wedge the dispatcher", "[integration][dispatcher]") {
  HttpTestServer server;
  DispatcherOptions options;
  options.endpoints = {local_endpoint("a", server.url())};
  std::atomic<int> calls{0};
  options.on_report = [&](const DeliveryReport&) {
    ++calls;
    throw std::runtime_error("host bug");
  };
  Dispatcher dispatcher(std::move(options));
  for (int i = 0; i < 3; ++i) REQUIRE(dispatcher.dispatch(example_event(EventType::monitor_down)));
  REQUIRE(dispatcher.flush(generous));
  CHECK(calls == 3);
  CHECK(dispatcher.stats().callback_errors == 3);
  CHECK(dispatcher.stats().delivered == 3);
}

TEST_CASE("invalid configuration is a ConfigError naming the endpoint and setting",
          "[integration][dispatcher][validation]") {
  auto message_for = [](Endpoint endpoint) -> std::string {
    DispatcherOptions options;
    options.endpoints = {std::move(endpoint)};
    try {
      Dispatcher dispatcher(std::move(options));
    } catch (const ConfigError& e) {
      return e.what();
    }
    return "no error";
  };
  Endpoint base = local_endpoint("ops", "https://hooks.example.com/x");
  base.options.allow_http = false;

  Endpoint http = base;
  http.url = "http://10.0.0.1/x";
  CHECK(message_for(http) ==
        "endpoint \"ops\": url \"http://10.0.0.1/x\": must be https:// (plain http:// is refused unless "
        "allow_http is set)");
  Endpoint injected = base;
  injected.headers = {{"X-Team", "a\r\nX-Evil: 1"}};
  CHECK(message_for(injected) == "endpoint \"ops\": header \"X-Team\": value contains CR, LF or NUL");
  Endpoint override_signature = base;
  override_signature.headers = {{"x-statusstack-signature", "forged"}};
  CHECK(
      message_for(override_signature) ==
      "endpoint \"ops\": header \"x-statusstack-signature\" is set by the library and cannot be overridden");
  Endpoint content_type = base;
  content_type.headers = {{"Content-Type", "text/plain"}};
  CHECK(message_for(content_type) ==
        "endpoint \"ops\": header \"Content-Type\" is set by the library and cannot be overridden");
  Endpoint no_secret = base;
  no_secret.secret.clear();
  CHECK(message_for(no_secret) == "endpoint \"ops\": secret must not be empty");
  Endpoint bad_filter = base;
  bad_filter.events.patterns = {"incidents.*"};
  CHECK(message_for(bad_filter) ==
        "endpoint \"ops\": event filter \"incidents.*\" matches no event type (use \"*\", an exact type such "
        "as "
        "\"monitor.down\", or a prefix such as \"incident.*\")");
  CHECK(message_for(base) == "no error");

  DispatcherOptions twice;
  twice.endpoints = {base, base};
  CHECK_THROWS_WITH(Dispatcher(twice), "endpoint \"ops\": name is used twice");
}

TEST_CASE("stats render as Prometheus text", "[unit][dispatcher][stats]") {
  DispatcherStats stats;
  stats.accepted = 10;
  stats.delivered = 7;
  stats.failed = 3;
  stats.failed_by_reason[static_cast<std::size_t>(FailureReason::rejected)] = 2;
  stats.failed_by_reason[static_cast<std::size_t>(FailureReason::shutdown)] = 1;
  stats.latency_buckets[0] = 4;  // <= 1 ms
  stats.latency_buckets[5] = 3;  // <= 50 ms
  stats.latency_sum_ms = 100;
  const std::string text = to_prometheus(stats);
  CHECK(text.find(
            "# TYPE statusstack_webhooks_accepted_total counter\nstatusstack_webhooks_accepted_total 10\n") !=
        std::string::npos);
  CHECK(text.find("statusstack_webhooks_failed_total{reason=\"rejected\"} 2\n") != std::string::npos);
  CHECK(text.find("statusstack_webhooks_failed_total{reason=\"shutdown\"} 1\n") != std::string::npos);
  CHECK(text.find("statusstack_webhooks_delivery_latency_seconds_bucket{le=\"0.001\"} 4\n") !=
        std::string::npos);
  CHECK(text.find("statusstack_webhooks_delivery_latency_seconds_bucket{le=\"0.05\"} 7\n") !=
        std::string::npos);
  CHECK(text.find("statusstack_webhooks_delivery_latency_seconds_bucket{le=\"+Inf\"} 7\n") !=
        std::string::npos);
  CHECK(text.find("statusstack_webhooks_delivery_latency_seconds_sum 0.1\n") != std::string::npos);
  CHECK(text.find("statusstack_webhooks_delivery_latency_seconds_count 7\n") != std::string::npos);
}
