// The circuit breaker per endpoint: the state machine alone (src/dispatch/breaker.hpp) on given
// times, then the engine on a manual clock (an endpoint down for a minute, one down past
// disable_after), then a real Dispatcher whose breaker state survives a restart on its store.

#include <statusstack/webhooks/dispatcher.hpp>
#include <statusstack/webhooks/rules.hpp>

#include "dispatch/breaker.hpp"

#include "support/engine_bench.hpp"
#include "support/servers.hpp"

#include <catch2/catch.hpp>

#include <atomic>
#include <map>
#include <thread>

using namespace statusstack::webhooks;
using namespace statusstack::webhooks::detail;
using namespace statusstack::webhooks::testing;
using namespace std::chrono_literals;

namespace {

CircuitBreakerPolicy policy(int threshold = 3) {
  CircuitBreakerPolicy p;
  p.failure_threshold = threshold;
  p.cool_down = 10s;
  p.max_cool_down = 40s;
  p.disable_after = 1h;
  return p;
}

constexpr SteadyTime t0{std::chrono::hours(500)};
constexpr WallTime w0{std::chrono::seconds(1'800'000'000)};

using Verdict = Breaker::Verdict;
using Gate = Breaker::Gate;

Breaker::Change fail(Breaker& breaker, milliseconds at, bool probe = false) {
  return breaker.record(Verdict::failed, probe, "HTTP 503", t0 + at, w0 + at, policy());
}

Outcome with_status(int status) {
  Outcome outcome;
  outcome.status = status;
  return outcome;
}

Outcome with_error(TransportError error) {
  Outcome outcome;
  outcome.error = error;
  return outcome;
}

}  // namespace

TEST_CASE("breaker: what an outcome says of its endpoint", "[unit][breaker]") {
  CHECK(Breaker::judge(with_status(200)) == Verdict::alive);
  CHECK(Breaker::judge(with_status(404)) == Verdict::alive);  // up, it just refuses this one
  CHECK(Breaker::judge(with_status(301)) == Verdict::alive);
  CHECK(Breaker::judge(with_status(503)) == Verdict::failed);
  CHECK(Breaker::judge(with_status(429)) == Verdict::failed);
  CHECK(Breaker::judge(with_status(408)) == Verdict::failed);
  CHECK(Breaker::judge(with_error(TransportError::refused)) == Verdict::failed);
  CHECK(Breaker::judge(with_error(TransportError::timeout)) == Verdict::failed);
  CHECK(Breaker::judge(with_error(TransportError::invalid_request)) == Verdict::neither);
  CHECK(Breaker::judge(with_error(TransportError::tls_verification)) == Verdict::neither);
}

TEST_CASE("breaker: opens after the threshold, lets one probe go after the cool-down, closes on success",
          "[unit][breaker]") {
  Breaker breaker;
  CHECK(breaker.gate(t0) == Gate::pass);
  CHECK_FALSE(fail(breaker, 0s).changed);
  CHECK_FALSE(fail(breaker, 1s).changed);
  CHECK(breaker.state() == BreakerState::closed);
  CHECK(breaker.gate(t0 + 1s) == Gate::pass);
  CHECK(fail(breaker, 2s).changed);  // the third in a row
  CHECK(breaker.state() == BreakerState::open);
  CHECK(breaker.waits_until() == t0 + 12s);
  CHECK(breaker.gate(t0 + 2s) == Gate::wait);
  CHECK(breaker.gate(t0 + 11999ms) == Gate::wait);
  CHECK(breaker.gate(t0 + 12s) == Gate::probe);
  CHECK(breaker.state() == BreakerState::half_open);
  CHECK(breaker.gate(t0 + 12s) == Gate::wait);  // one probe at a time
  CHECK(breaker.waits_until() == SteadyTime::max());

  const auto closed = breaker.record(Verdict::alive, true, "", t0 + 13s, w0 + 13s, policy());
  CHECK(closed.changed);
  CHECK_FALSE(closed.disabled);
  CHECK(breaker.state() == BreakerState::closed);
  CHECK(breaker.gate(t0 + 13s) == Gate::pass);
  EndpointHealth health;
  breaker.describe(health, t0 + 13s, w0 + 13s);
  CHECK(health.consecutive_failures == 0);
  CHECK(health.failing_since == WallTime{});
  CHECK(health.last_error == "HTTP 503");  // the last failure stays visible
}

TEST_CASE("breaker: a failed probe opens it again for twice as long, up to max_cool_down",
          "[unit][breaker]") {
  Breaker breaker;
  for (int i = 0; i < 3; ++i) static_cast<void>(fail(breaker, 0s));
  milliseconds at = 10s;  // open until then
  for (const milliseconds next : {20s, 40s, 40s, 40s}) {
    CHECK(breaker.gate(t0 + at - 1ms) == Gate::wait);
    REQUIRE(breaker.gate(t0 + at) == Gate::probe);
    // Attempts started before the breaker opened end meanwhile: they change nothing.
    CHECK_FALSE(fail(breaker, at).changed);
    CHECK(breaker.state() == BreakerState::half_open);
    CHECK(fail(breaker, at, true).changed);
    CHECK(breaker.state() == BreakerState::open);
    CHECK(breaker.waits_until() == t0 + at + next);
    at += next;
  }
}

TEST_CASE(
    "breaker: an answer that shows the endpoint is up resets the count, a refused request counts "
    "nothing",
    "[unit][breaker]") {
  Breaker breaker;
  static_cast<void>(fail(breaker, 0s));
  static_cast<void>(fail(breaker, 1s));
  static_cast<void>(breaker.record(Verdict::alive, false, "", t0 + 2s, w0 + 2s, policy()));  // a 422
  static_cast<void>(fail(breaker, 3s));
  static_cast<void>(fail(breaker, 4s));
  static_cast<void>(breaker.record(Verdict::neither, false, "", t0 + 5s, w0 + 5s, policy()));
  CHECK(breaker.state() == BreakerState::closed);
  static_cast<void>(fail(breaker, 6s));
  CHECK(breaker.state() == BreakerState::open);

  SECTION("a probe refused before the network hands the probe to the next attempt") {
    REQUIRE(breaker.gate(t0 + 16s) == Gate::probe);
    static_cast<void>(breaker.record(Verdict::neither, true, "", t0 + 16s, w0 + 16s, policy()));
    CHECK(breaker.state() == BreakerState::half_open);
    CHECK(breaker.gate(t0 + 16s) == Gate::probe);
  }
  SECTION("a probe that could not start (a rate limit) is handed back") {
    REQUIRE(breaker.gate(t0 + 16s) == Gate::probe);
    breaker.return_probe();
    CHECK(breaker.gate(t0 + 16s) == Gate::probe);
  }
}

TEST_CASE("breaker: failing_threshold 0 never opens, and disable_after disables once", "[unit][breaker]") {
  SECTION("off") {
    Breaker breaker;
    for (int i = 0; i < 100; ++i) {
      CHECK_FALSE(
          breaker.record(Verdict::failed, false, "HTTP 503", t0 + 1h * i, w0 + 1h * i, policy(0)).changed);
    }
    CHECK(breaker.gate(t0 + 100h) == Gate::pass);
  }
  SECTION("disabled when still failing disable_after past the first failure") {
    Breaker breaker;
    for (int i = 0; i < 3; ++i) static_cast<void>(fail(breaker, 0s));
    milliseconds at = 0s;
    Breaker::Change change;
    while (!change.disabled && at < 2h) {
      at += 40s;
      if (breaker.gate(t0 + at) == Gate::probe) change = fail(breaker, at, true);
    }
    CHECK(change.disabled);
    CHECK(at >= 1h);
    CHECK(at < 1h + 41s);
    CHECK(breaker.state() == BreakerState::disabled);
    CHECK(breaker.gate(t0 + 3h) == Gate::wait);
    CHECK_FALSE(fail(breaker, 3h).changed);  // once
    breaker.reset();
    CHECK(breaker.state() == BreakerState::closed);
    CHECK(breaker.gate(t0 + 3h) == Gate::pass);
  }
}

TEST_CASE("breaker: saved and restored across a restart, on the wall clock", "[unit][breaker]") {
  Breaker breaker;
  for (int i = 0; i < 3; ++i) static_cast<void>(fail(breaker, 1s));
  EndpointState saved;
  breaker.save(saved, t0 + 2s, w0 + 2s);
  CHECK(saved.breaker == BreakerState::open);
  CHECK(saved.failures == 3);
  CHECK(saved.failing_since == w0 + 1s);
  CHECK(saved.open_until == w0 + 11s);

  // A new process: another steady clock, 4 s of wall time later.
  const SteadyTime t1 = SteadyTime(std::chrono::hours(7));
  Breaker restored;
  restored.restore(saved, t1, w0 + 6s);
  CHECK(restored.state() == BreakerState::open);
  CHECK(restored.gate(t1 + 4999ms) == Gate::wait);
  CHECK(restored.gate(t1 + 5s) == Gate::probe);
  EndpointHealth health;
  restored.describe(health, t1 + 5s, w0 + 11s);
  CHECK(health.consecutive_failures == 3);
  CHECK(health.failing_since == w0 + 1s);

  SECTION("a probe out when the process stopped: open, due at once") {
    EndpointState half;
    restored.save(half, t1 + 5s, w0 + 11s);
    CHECK(half.breaker == BreakerState::half_open);
    Breaker again;
    again.restore(half, t1, w0 + 20s);
    CHECK(again.gate(t1) == Gate::probe);
  }
}

TEST_CASE("breaker: the policy's errors name the setting", "[unit][breaker]") {
  CircuitBreakerPolicy p;
  CHECK(p.validate());
  p.failure_threshold = -1;
  CHECK(p.validate().error().message == "breaker.failure_threshold: must not be negative (0 turns it off)");
  p = {};
  p.cool_down = 0ms;
  CHECK(p.validate().error().message == "breaker.cool_down: must be positive");
  p = {};
  p.max_cool_down = 1s;
  CHECK(p.validate().error().message == "breaker.max_cool_down: must be at least cool_down");
  p = {};
  p.disable_after = -1ms;
  CHECK(p.validate().error().message == "breaker.disable_after: must not be negative (0: never disable)");

  auto rules = parse_rules(R"({"endpoints": [], "breaker": {"failure_threshold": 2, "cool_down_ms": 500,
      "max_cool_down_ms": 60000, "disable_after_ms": 86400000}})");
  REQUIRE(rules);
  CHECK(rules->breaker.failure_threshold == 2);
  CHECK(rules->breaker.cool_down == 500ms);
  CHECK(rules->breaker.max_cool_down == 60s);
  CHECK(rules->breaker.disable_after == 24h);
  auto bad = parse_rules(R"({"endpoints": [], "breaker": {"cool_down_ms": 9000, "max_cool_down_ms": 1000}})");
  REQUIRE_FALSE(bad);
  CHECK(bad.error().code == ErrorCode::invalid_config);
  CHECK(bad.error().message == "breaker.max_cool_down: must be at least cool_down");
  auto unknown = parse_rules(R"({"endpoints": [], "breaker": {"threshold": 1}})");
  REQUIRE_FALSE(unknown);
  CHECK(unknown.error().field == "breaker.threshold");
}

namespace {

Endpoint engine_endpoint(std::string name) {
  Endpoint endpoint;
  endpoint.name = std::move(name);
  endpoint.url = "https://hooks.example.com/" + endpoint.name;
  endpoint.secret = "breaker tests, a long secret";
  return endpoint;
}

// "down" is unreachable for its first minute, then answers 200; "up" always answers 200. Twenty
// events at the start, then one a second for two minutes, each to both endpoints; turned until
// every delivery is final.
struct Outage {
  std::size_t failed_attempts = 0;  // attempts "down" refused
  std::size_t attempts_up = 0;
  std::vector<milliseconds> up_latencies;  // of each delivery to "up", in report order
  std::vector<DeliveryReport> reports;
};

Outage one_minute_outage(int failure_threshold) {
  DispatcherOptions options;
  options.endpoints = {engine_endpoint("down"), engine_endpoint("up")};
  options.retry = exact_retries(12);  // 1 s, doubling: about 68 minutes in all
  options.breaker.failure_threshold = failure_threshold;
  options.breaker.cool_down = 5s;
  options.breaker.max_cool_down = 5min;
  Bench bench(options);
  Outage result;
  milliseconds now = 0ms;
  auto answer = [&](const std::string& endpoint) {
    Outcome outcome;
    if (endpoint == "up") ++result.attempts_up;
    if (endpoint == "down" && now < 60s) {
      ++result.failed_attempts;
      outcome.error = TransportError::refused;
    } else {
      outcome.status = 200;
    }
    return outcome;
  };
  std::size_t events = 20;
  for (std::size_t i = 0; i < events; ++i) {
    REQUIRE(bench.engine->dispatch(example_event(EventType::monitor_down)));
  }
  for (int tick = 0; tick < 4 * 3600 && (tick < 120 || bench.reports().size() < 2 * events); ++tick) {
    if (tick < 120) {
      REQUIRE(bench.engine->dispatch(example_event(EventType::monitor_down)));
      ++events;
    }
    // Answered at once, so each turn's attempts end within the tick: up to max_in_flight at a time.
    for (int round = 0; round < 10; ++round) {
      bench.settle();
      bench.wire->answer_each(answer);
    }
    bench.settle();
    bench.advance(1s);
    now += 1s;
  }
  result.reports = bench.reports();
  for (const DeliveryReport& report : result.reports) {
    if (report.endpoint == "up") result.up_latencies.push_back(report.latency);
  }
  return result;
}

}  // namespace

TEST_CASE(
    "engine: an endpoint down for a minute spends far fewer attempts with its breaker, delivers "
    "everything after, and the other endpoint is not slowed",
    "[unit][breaker][dispatcher]") {
  const Outage without = one_minute_outage(0);
  const Outage with = one_minute_outage(5);
  INFO("failed attempts while down: " << without.failed_attempts << " without the breaker, "
                                      << with.failed_attempts << " with it");
  for (const Outage* run : {&without, &with}) {
    REQUIRE(run->reports.size() == std::size_t{280});
    for (const DeliveryReport& report : run->reports) CHECK(report.delivered);
    CHECK(run->attempts_up == 140);  // each at its first attempt
  }
  // "up" saw the same: every delivery as fast, whether "down" had a breaker or not.
  CHECK(with.up_latencies == without.up_latencies);
  // Without: every delivery retries on its own schedule (1, 2, 4, ... s), some seven times within
  // the minute. With: five failures open the breaker, then one probe per cool-down (5, 10, 20,
  // 40 s): a handful.
  CHECK(without.failed_attempts >= 300);
  CHECK(with.failed_attempts <= 15);
}

TEST_CASE(
    "engine: an endpoint down past disable_after is disabled, its deliveries end as "
    "endpoint_disabled, and upsert_endpoint enables it again",
    "[unit][breaker][dispatcher]") {
  DispatcherOptions options;
  options.endpoints = {engine_endpoint("dead"), engine_endpoint("fine")};
  options.retry = exact_retries(1000);
  options.retry.max_age = std::chrono::hours(48);
  options.breaker.failure_threshold = 2;
  options.breaker.cool_down = 1min;
  options.breaker.max_cool_down = 10min;
  options.breaker.disable_after = 1h;
  std::vector<EndpointHealth> disabled;
  options.on_endpoint_disabled = [&](const EndpointHealth& health) { disabled.push_back(health); };
  Bench bench(options);
  auto answer = [](const std::string& endpoint) {
    Outcome outcome;
    if (endpoint == "dead") {
      outcome.status = 503;
    } else {
      outcome.status = 204;
    }
    return outcome;
  };
  for (int i = 0; i < 5; ++i) REQUIRE(bench.engine->dispatch(example_event(EventType::incident_created)));
  for (int minute = 0; minute < 90 && disabled.empty(); ++minute) {
    bench.settle();
    bench.wire->answer_each(answer);
    bench.settle();
    bench.advance(1min);
  }
  bench.settle();
  REQUIRE(disabled.size() == 1);
  CHECK(disabled[0].endpoint == "dead");
  CHECK(disabled[0].breaker == BreakerState::disabled);
  CHECK(disabled[0].last_error == "HTTP 503");
  CHECK(disabled[0].consecutive_failures >= 2);

  std::size_t ended = 0;
  for (const DeliveryReport& report : bench.reports()) {
    if (report.endpoint == "fine") {
      CHECK(report.delivered);
      continue;
    }
    CHECK_FALSE(report.delivered);
    CHECK(report.reason == FailureReason::endpoint_disabled);
    ++ended;
  }
  CHECK(ended == 5);
  const DispatcherStats stats = bench.engine->stats();
  CHECK(stats.failed_by_reason[static_cast<std::size_t>(FailureReason::endpoint_disabled)] == 5);
  REQUIRE(stats.endpoints.size() == 2);
  CHECK(stats.endpoints[0].endpoint == "dead");
  CHECK(stats.endpoints[0].breaker == BreakerState::disabled);
  CHECK(stats.endpoints[0].failed == 5);
  CHECK(stats.endpoints[0].queued == 0);
  CHECK(stats.endpoints[1].breaker == BreakerState::closed);
  CHECK(stats.endpoints[1].delivered == 5);
  const std::string text = to_prometheus(stats);
  CHECK(text.find("statusstack_webhooks_endpoint_breaker_state{endpoint=\"dead\",state=\"disabled\"} 1\n") !=
        std::string::npos);
  CHECK(text.find("statusstack_webhooks_endpoint_breaker_state{endpoint=\"dead\",state=\"closed\"} 0\n") !=
        std::string::npos);
  CHECK(text.find("statusstack_webhooks_endpoint_failed_total{endpoint=\"dead\"} 5\n") != std::string::npos);
  CHECK(text.find("statusstack_webhooks_endpoint_delivered_total{endpoint=\"fine\"} 5\n") !=
        std::string::npos);
  CHECK(text.find("statusstack_webhooks_failed_total{reason=\"endpoint_disabled\"} 5\n") !=
        std::string::npos);

  // A new delivery for the disabled endpoint: never attempted, and said why.
  const std::size_t sent = bench.wire->sent.size();
  REQUIRE(bench.engine->dispatch(example_event(EventType::incident_updated)));
  bench.settle();
  CHECK(bench.wire->sent.size() == sent + 1);  // only "fine"
  const DeliveryReport last =
      bench.reports().back().endpoint == "dead" ? bench.reports().back() : bench.reports().rbegin()[1];
  CHECK(last.reason == FailureReason::endpoint_disabled);
  CHECK(last.attempts == 0);
  CHECK(last.detail ==
        "not attempted: the endpoint is disabled: its circuit breaker stayed open for longer than "
        "disable_after");

  // Replaced: enabled, its breaker closed, and it delivers again.
  bench.engine->upsert_endpoint(engine_endpoint("dead"));
  CHECK(bench.engine->health("dead")->breaker == BreakerState::closed);
  CHECK(bench.engine->health("dead")->consecutive_failures == 0);
  REQUIRE(bench.engine->dispatch(example_event(EventType::incident_resolved)));
  bench.settle();
  bench.wire->answer_each([](const std::string&) { return with_status(200); });
  bench.settle();
  CHECK(bench.reports().back().delivered);
  CHECK_FALSE(bench.engine->health("nobody"));
}

TEST_CASE(
    "engine: deliveries on the wire when their endpoint is disabled end with the others, not at "
    "their retry",
    "[unit][breaker][dispatcher]") {
  DispatcherOptions options;
  options.endpoints = {engine_endpoint("dead")};
  options.retry = exact_retries(10);
  options.breaker.failure_threshold = 2;
  options.breaker.disable_after = 1ms;
  Bench bench(options);
  for (int i = 0; i < 3; ++i) REQUIRE(bench.engine->dispatch(example_event(EventType::monitor_down)));
  bench.settle();
  REQUIRE(bench.wire->waiting.size() == 3);  // all three on the wire
  bench.wire->answer_next(503);              // the first failure: retried in 1 s
  bench.settle();
  bench.advance(2ms);
  bench.wire->answer_next(503);  // the second opens the breaker, 2 ms into the streak: disabled
  bench.settle();
  bench.wire->answer_next(503);  // the third was still on the wire
  bench.settle();
  const auto reports = bench.reports();
  INFO("breaker " << to_string(bench.engine->health("dead")->breaker) << ", failures "
                  << bench.engine->health("dead")->consecutive_failures);
  REQUIRE(reports.size() == 3);  // none waits for a retry
  for (const DeliveryReport& report : reports) CHECK(report.reason == FailureReason::endpoint_disabled);
  CHECK(bench.wire->sent.size() == 3);
}

TEST_CASE("dispatcher: an open breaker and a disabled endpoint survive a restart on the store",
          "[integration][breaker][store]") {
  HttpTestServer down([](const RecordedRequest&) { return Reply{503, {}, "busy", {}}; });
  const TempDir dir;
  const std::string path = dir.file("breaker.db");
  std::atomic<int> disabled_calls{0};
  auto options_for = [&](milliseconds disable_after) {
    DispatcherOptions options;
    options.endpoints = {local_endpoint("down", down.url())};
    options.store.path = path;
    options.retry = quick_retries(50, 20ms);
    options.breaker.failure_threshold = 2;
    options.breaker.cool_down = 1h;
    options.breaker.max_cool_down = 1h;
    options.breaker.disable_after = disable_after;
    options.on_endpoint_disabled = [&](const EndpointHealth&) { ++disabled_calls; };
    return options;
  };
  // Bounded polling on a real Dispatcher: the breaker changes on its I/O thread.
  auto wait_for_state = [](const Dispatcher& dispatcher, BreakerState state) {
    const auto deadline = std::chrono::steady_clock::now() + 10s;
    while (dispatcher.health("down")->breaker != state && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(5ms);
    }
    return dispatcher.health("down")->breaker == state;
  };

  SECTION("open: its deliveries stay waiting after the restart, no attempt spent") {
    {
      Dispatcher dispatcher(options_for(std::chrono::hours(72)));
      for (int i = 0; i < 3; ++i) REQUIRE(dispatcher.dispatch(example_event(EventType::monitor_down)));
      REQUIRE(wait_for_state(dispatcher, BreakerState::open));
      dispatcher.shutdown(0ms);
    }
    const std::size_t requests = down.request_count();
    Dispatcher dispatcher(options_for(std::chrono::hours(72)));
    const auto health = dispatcher.health("down");
    REQUIRE(health);
    CHECK(health->breaker == BreakerState::open);
    CHECK(health->consecutive_failures >= 2);
    CHECK(health->last_error == "HTTP 503");
    CHECK(health->queued == 3);
    CHECK(health->open_until > std::chrono::system_clock::now() + 50min);
    CHECK_FALSE(dispatcher.flush(300ms));  // the three wait behind the open breaker
    CHECK(down.request_count() == requests);
    dispatcher.shutdown(0ms);
  }
  SECTION("disabled: still disabled after the restart, until upsert_endpoint") {
    {
      Dispatcher dispatcher(options_for(1ms));
      REQUIRE(dispatcher.dispatch(example_event(EventType::monitor_down)));
      REQUIRE(dispatcher.flush(10s));
      CHECK(dispatcher.health("down")->breaker == BreakerState::disabled);
      CHECK(disabled_calls == 1);
    }
    Dispatcher dispatcher(options_for(1ms));
    CHECK(dispatcher.health("down")->breaker == BreakerState::disabled);
    CHECK(disabled_calls == 1);  // not again for a state read back
    const std::size_t requests = down.request_count();
    REQUIRE(dispatcher.dispatch(example_event(EventType::monitor_down)));
    REQUIRE(dispatcher.flush(10s));
    CHECK(down.request_count() == requests);
    CHECK(dispatcher.stats().failed_by_reason[static_cast<std::size_t>(FailureReason::endpoint_disabled)] ==
          1);
    dispatcher.upsert_endpoint(local_endpoint("down", down.url()));
    CHECK(dispatcher.health("down")->breaker == BreakerState::closed);
    REQUIRE(dispatcher.dispatch(example_event(EventType::monitor_down)));
    CHECK(down.wait_for_requests(requests + 1, 10s));
    dispatcher.shutdown(0ms);
  }
}
