// The Dispatcher's machinery (src/dispatch/engine.hpp) turned by hand, on a manual clock, with a
// transport that records each request and answers when the test says: retry gaps, max age,
// Retry-After, 410, rate limits, ordering, key rotation and the shutdown deadline, exactly and
// without sleeping.

#include <statusstack/webhooks/signature.hpp>

#include "support/engine_bench.hpp"

#include <catch2/catch.hpp>

#include <deque>
#include <mutex>

using namespace statusstack::webhooks;
using namespace statusstack::webhooks::detail;
using namespace statusstack::webhooks::testing;
using namespace std::chrono_literals;

namespace {

Endpoint plain(std::string name = "ops") {
  Endpoint endpoint;
  endpoint.name = std::move(name);
  endpoint.url = "https://hooks.example.com/statusstack";
  endpoint.secret = "first secret, engine tests";
  return endpoint;
}

Event monitor_event(EventType type, const std::string& monitor_id) {
  Event event = example_event(type);
  std::visit(
      [&](auto& typed) {
        if constexpr (std::is_same_v<std::decay_t<decltype(typed)>, MonitorDown> ||
                      std::is_same_v<std::decay_t<decltype(typed)>, MonitorRecovered>) {
          typed.monitor.id = monitor_id;
        }
      },
      event);
  return event;
}

}  // namespace

TEST_CASE("engine: the retry schedule, exactly, on the manual clock", "[unit][dispatcher]") {
  DispatcherOptions options;
  options.endpoints = {plain()};
  options.retry = exact_retries(4);
  Bench bench(options);
  REQUIRE(bench.engine->dispatch(example_event(EventType::monitor_down)));
  bench.settle();
  REQUIRE(bench.wire->sent.size() == 1);

  const std::vector<milliseconds> gaps{1s, 2s, 4s};
  for (std::size_t i = 0; i < gaps.size(); ++i) {
    bench.wire->answer_next(503);
    bench.settle();
    bench.advance(gaps[i] - 1ms);
    CHECK(bench.wire->sent.size() == i + 1);  // not a millisecond early
    bench.advance(1ms);
    CHECK(bench.wire->sent.size() == i + 2);
  }
  bench.wire->answer_next(503);
  bench.settle();
  const auto reports = bench.reports();
  REQUIRE(reports.size() == 1);
  CHECK(reports[0].reason == FailureReason::attempts_exhausted);
  CHECK(reports[0].attempts == 4);
  CHECK(reports[0].last_attempt_at - reports[0].first_attempt_at == 7s);
  const auto attempts = bench.recorder.all_attempts();
  REQUIRE(attempts.size() == 4);
  CHECK(attempts[0].retry_in == std::optional<milliseconds>(1s));
  CHECK(attempts[2].retry_in == std::optional<milliseconds>(4s));
  CHECK_FALSE(attempts[3].retry_in);
  // Every attempt carried the same delivery id.
  for (const Sent& sent : bench.wire->sent)
    CHECK(sent.header("X-StatusStack-Delivery") == reports[0].delivery_id);
}

TEST_CASE("engine: Retry-After within its cap, and no attempt after max_age", "[unit][dispatcher]") {
  DispatcherOptions options;
  options.endpoints = {plain()};
  options.retry = exact_retries(10);
  options.retry.max_retry_after = 30s;
  options.retry.max_age = 1min;
  Bench bench(options);
  REQUIRE(bench.engine->dispatch(example_event(EventType::monitor_down)));
  bench.settle();
  bench.wire->answer_next(429, 3600s);  // capped at 30 s
  bench.settle();
  bench.advance(29999ms);
  CHECK(bench.wire->sent.size() == 1);
  bench.advance(1ms);
  REQUIRE(bench.wire->sent.size() == 2);
  // 30 s have passed; another 30 s (the cap) would start the next attempt at exactly 60 s: allowed.
  bench.wire->answer_next(429, 30s);
  bench.settle();
  bench.advance(30s);
  REQUIRE(bench.wire->sent.size() == 3);
  // Now at 60 s: any further wait passes max_age, so the delivery ends at once.
  bench.wire->answer_next(503);
  bench.settle();
  const auto reports = bench.reports();
  REQUIRE(reports.size() == 1);
  CHECK(reports[0].reason == FailureReason::too_old);
  CHECK(reports[0].attempts == 3);
}

TEST_CASE("engine: a rate limit, exactly, and max_age while waiting for a token", "[unit][dispatcher]") {
  DispatcherOptions options;
  Endpoint limited = plain();
  limited.rate_limit_per_minute = 60;  // a burst of 15, then one a second
  limited.max_in_flight = 100;
  options.endpoints = {limited};
  options.retry.max_age = 1500ms;
  Bench bench(options);
  for (int i = 0; i < 17; ++i) REQUIRE(bench.engine->dispatch(example_event(EventType::monitor_down)));
  bench.settle();
  CHECK(bench.wire->sent.size() == 15);
  bench.wire->answer_all(200);
  bench.advance(999ms);
  CHECK(bench.wire->sent.size() == 15);
  bench.advance(1ms);
  CHECK(bench.wire->sent.size() == 16);
  bench.wire->answer_all(200);
  bench.advance(1s);  // the 17th gets its token 2 s after dispatch: past max_age
  CHECK(bench.wire->sent.size() == 16);
  const auto reports = bench.reports();
  REQUIRE(reports.size() == 17);
  CHECK(bench.engine->stats().delivered == 16);
  const auto old =
      std::find_if(reports.begin(), reports.end(), [](const DeliveryReport& r) { return !r.delivered; });
  REQUIRE(old != reports.end());
  CHECK(old->reason == FailureReason::too_old);
  CHECK(old->attempts == 0);
  CHECK(old->detail == "not attempted: max_age passed before the first attempt could start");
}

TEST_CASE("engine: 410 pauses the endpoint until it is replaced", "[unit][dispatcher]") {
  DispatcherOptions options;
  options.endpoints = {plain()};
  Bench bench(options);
  REQUIRE(bench.engine->dispatch(example_event(EventType::monitor_down)));
  bench.settle();
  bench.wire->answer_next(410);
  bench.settle();
  REQUIRE(bench.engine->dispatch(example_event(EventType::monitor_down)));
  bench.settle();
  CHECK(bench.wire->sent.size() == 1);  // paused: not sent
  bench.engine->upsert_endpoint(plain());
  REQUIRE(bench.engine->dispatch(example_event(EventType::monitor_recovered)));
  bench.settle();
  CHECK(bench.wire->sent.size() == 2);  // resumed
  const auto reports = bench.reports();
  REQUIRE(reports.size() == 2);
  CHECK(reports[0].reason == FailureReason::receiver_gone);
  CHECK(reports[1].reason == FailureReason::receiver_gone);
  CHECK(reports[1].attempts == 0);
}

TEST_CASE("engine: rotated secrets and vendor keys reach deliveries waiting for a retry",
          "[unit][dispatcher]") {
  Endpoint signed_endpoint = plain("signed");
  Endpoint pagerduty;
  pagerduty.name = "pagerduty";
  pagerduty.format = PagerDutyFormat{};
  std::get<PagerDutyFormat>(pagerduty.format).routing_key = std::string(32, 'a');
  pagerduty.rate_limit_per_minute = 0;
  Endpoint datadog;
  datadog.name = "datadog";
  datadog.format = DatadogFormat{};
  std::get<DatadogFormat>(datadog.format).api_key = "old-api-key";
  DispatcherOptions options;
  options.endpoints = {signed_endpoint, pagerduty, datadog};
  options.retry = exact_retries(3);
  Bench bench(options);
  REQUIRE(bench.engine->dispatch(example_event(EventType::monitor_down)));
  bench.settle();
  REQUIRE(bench.wire->sent.size() == 3);
  bench.wire->answer_all(503);
  bench.settle();

  signed_endpoint.secret = "second secret, engine tests";
  std::get<PagerDutyFormat>(pagerduty.format).routing_key = std::string(32, 'b');
  std::get<DatadogFormat>(datadog.format).api_key = "new-api-key";
  for (const Endpoint& endpoint : {signed_endpoint, pagerduty, datadog})
    bench.engine->upsert_endpoint(endpoint);
  bench.advance(1s);
  REQUIRE(bench.wire->sent.size() == 6);
  for (std::size_t i = 0; i < 3; ++i) {
    const Sent& before = bench.wire->sent[i];
    auto after = std::find_if(bench.wire->sent.begin() + 3, bench.wire->sent.end(),
                              [&](const Sent& s) { return s.endpoint == before.endpoint; });
    REQUIRE(after != bench.wire->sent.end());
    CHECK(after->header("X-StatusStack-Delivery") == before.header("X-StatusStack-Delivery"));
    if (before.endpoint == "signed") {
      CHECK(Verifier("first secret, engine tests")
                .verify(before.body, before.header("X-StatusStack-Signature")));
      CHECK(Verifier("second secret, engine tests")
                .verify(after->body, after->header("X-StatusStack-Signature")));
      CHECK_FALSE(Verifier("first secret, engine tests")
                      .verify(after->body, after->header("X-StatusStack-Signature")));
      CHECK(after->header("X-StatusStack-Timestamp") == before.header("X-StatusStack-Timestamp"));
    } else if (before.endpoint == "pagerduty") {
      CHECK(before.body.find(std::string(32, 'a')) != std::string::npos);
      CHECK(after->body.find(std::string(32, 'b')) != std::string::npos);
      CHECK(after->body.find(std::string(32, 'a')) == std::string::npos);
    } else {
      CHECK(before.header("DD-API-KEY") == "old-api-key");
      CHECK(after->header("DD-API-KEY") == "new-api-key");
    }
  }
}

TEST_CASE("engine: PagerDuty deliveries about one thing go one at a time, in order", "[unit][dispatcher]") {
  Endpoint pagerduty;
  pagerduty.name = "pagerduty";
  pagerduty.format = PagerDutyFormat{};
  std::get<PagerDutyFormat>(pagerduty.format).routing_key = std::string(32, 'a');
  pagerduty.rate_limit_per_minute = 0;
  DispatcherOptions options;
  options.endpoints = {pagerduty};
  options.retry = exact_retries(5);
  options.io_threads = 2;  // keys spread over both loops; one key stays on one
  Bench bench(options);
  REQUIRE(bench.engine->dispatch(monitor_event(EventType::monitor_down, "mon_1")));
  REQUIRE(bench.engine->dispatch(monitor_event(EventType::monitor_down, "mon_2")));
  REQUIRE(bench.engine->dispatch(monitor_event(EventType::monitor_recovered, "mon_1")));
  bench.settle();
  // The two triggers go at once; the resolve of mon_1 waits for its trigger.
  REQUIRE(bench.wire->sent.size() == 2);
  CHECK(bench.wire->sent[0].body.find("\"trigger\"") != std::string::npos);
  CHECK(bench.wire->sent[1].body.find("\"trigger\"") != std::string::npos);
  const bool mon1_first = bench.wire->sent[0].body.find("mon_1") != std::string::npos;
  // mon_1's trigger is answered 429: its resolve still waits, through the retry.
  std::vector<Finished>& answered = bench.wire->answered;
  std::deque<void*>& waiting = bench.wire->waiting;
  if (!mon1_first) std::swap(waiting[0], waiting[1]);
  bench.wire->answer_next(429);  // mon_1's trigger
  bench.wire->answer_next(202);  // mon_2's trigger
  (void)answered;
  bench.settle();
  CHECK(bench.wire->sent.size() == 2);
  bench.advance(1s);
  REQUIRE(bench.wire->sent.size() == 3);  // the retried trigger, not the resolve
  CHECK(bench.wire->sent[2].body.find("\"trigger\"") != std::string::npos);
  bench.wire->answer_next(202);
  bench.settle();
  REQUIRE(bench.wire->sent.size() == 4);  // now the resolve
  CHECK(bench.wire->sent[3].body.find("\"resolve\"") != std::string::npos);
  CHECK(bench.wire->sent[3].body.find("mon_1") != std::string::npos);
}

TEST_CASE("engine: an ordered endpoint sends one delivery at a time, first in first out",
          "[unit][dispatcher]") {
  Endpoint ordered = plain();
  ordered.ordered = true;
  ordered.max_in_flight = 8;
  DispatcherOptions options;
  options.endpoints = {ordered};
  options.retry = exact_retries(5);
  options.io_threads = 2;
  Bench bench(options);
  std::vector<std::string> ids;
  for (int i = 0; i < 5; ++i) {
    auto accepted = bench.engine->dispatch(example_event(EventType::incident_updated));
    REQUIRE(accepted);
    ids.push_back(accepted->deliveries[0].delivery_id);
  }
  bench.settle();
  REQUIRE(bench.wire->sent.size() == 1);
  bench.wire->answer_next(503);  // the first waits for its retry, and everything waits behind it
  bench.settle();
  bench.advance(999ms);
  CHECK(bench.wire->sent.size() == 1);
  bench.advance(1ms);
  for (std::size_t i = 1; i < 6; ++i) {
    REQUIRE(bench.wire->sent.size() == i + 1);
    CHECK(bench.wire->waiting.size() == 1);
    bench.wire->answer_next(200);
    bench.settle();
  }
  std::vector<std::string> order;
  for (const Sent& sent : bench.wire->sent) order.push_back(sent.header("X-StatusStack-Delivery"));
  CHECK(order == std::vector<std::string>{ids[0], ids[0], ids[1], ids[2], ids[3], ids[4]});
}

TEST_CASE("engine: an endpoint's own retry policy wins over the dispatcher's", "[unit][dispatcher]") {
  Endpoint own = plain("own");
  own.retry = exact_retries(2);
  own.retry->initial_delay = 10s;
  DispatcherOptions options;
  options.endpoints = {plain("default"), own};
  options.retry = exact_retries(5);
  Bench bench(options);
  REQUIRE(bench.engine->dispatch(example_event(EventType::monitor_down)));
  bench.settle();
  auto sent_to = [&bench](const std::string& name) {
    return std::count_if(bench.wire->sent.begin(), bench.wire->sent.end(),
                         [&](const Sent& sent) { return sent.endpoint == name; });
  };
  bench.wire->answer_all(503);
  bench.settle();
  bench.advance(1s);  // the dispatcher's policy: 1 s
  CHECK(sent_to("default") == 2);
  CHECK(sent_to("own") == 1);
  bench.wire->answer_all(200);
  bench.advance(8999ms);
  CHECK(sent_to("own") == 1);
  bench.advance(1ms);  // the endpoint's own: 10 s
  CHECK(sent_to("own") == 2);
  bench.wire->answer_all(503);
  bench.settle();
  const auto reports = bench.reports();
  REQUIRE(reports.size() == 2);
  CHECK(reports[0].endpoint == "default");
  CHECK(reports[0].delivered);
  CHECK(reports[1].endpoint == "own");
  CHECK(reports[1].reason == FailureReason::attempts_exhausted);  // its own max_attempts: 2
  CHECK(reports[1].attempts == 2);

  Endpoint broken = plain("broken");
  broken.retry = RetryPolicy{};
  broken.retry->max_attempts = 0;
  CHECK_THROWS_WITH(bench.engine->upsert_endpoint(broken),
                    "endpoint \"broken\": retry.max_attempts: must be at least 1 (got 0)");
}

TEST_CASE("engine: shutdown lets work go on until its deadline, then ends the rest", "[unit][dispatcher]") {
  DispatcherOptions options;
  options.endpoints = {plain()};
  options.retry = exact_retries(5);
  Bench bench(options);
  for (int i = 0; i < 3; ++i) REQUIRE(bench.engine->dispatch(example_event(EventType::monitor_down)));
  bench.settle();
  REQUIRE(bench.wire->sent.size() == 3);
  bench.wire->answer_next(503);  // retry due in 1 s: before the deadline
  bench.wire->answer_next(200);
  bench.settle();
  bench.engine->shutdown(1500ms);
  CHECK_FALSE(bench.engine->dispatch(example_event(EventType::monitor_down)));
  bench.advance(1s);
  REQUIRE(bench.wire->sent.size() == 4);  // the retry ran
  bench.wire->answer_last(503);           // its next retry (2 s) would be after the deadline
  bench.settle();
  CHECK(bench.recorder.count() == 2);
  bench.clock->advance(500ms);  // the deadline: the one still on the wire is abandoned
  CHECK_FALSE(bench.engine->turn());
  const auto reports = bench.reports();
  REQUIRE(reports.size() == 3);
  CHECK(reports[0].delivered);
  CHECK(reports[1].reason == FailureReason::shutdown);
  CHECK(reports[1].attempts == 2);
  CHECK(reports[2].reason == FailureReason::shutdown);
  CHECK(reports[2].last.describe() == "timeout: attempt abandoned at the shutdown deadline");
  CHECK(bench.engine->stats().accepted == 3);
}

namespace {

// A store that writes down what it is told, and can refuse admissions.
struct StoreLog {
  std::vector<std::string> events;  // "admit <n>", "reschedule <id> +<ms>", "finish <id> <reason>"
  bool refuse = false;
};

class LoggingStore final : public DeliveryStore {
 public:
  LoggingStore(std::shared_ptr<StoreLog> log, std::shared_ptr<ManualClock> clock)
      : log_(std::move(log)), clock_(std::move(clock)) {}
  Result<void> admit(const std::vector<std::unique_ptr<Delivery>>& deliveries) override {
    if (log_->refuse) return Error{ErrorCode::invalid_config, "store: disk full", ""};
    log_->events.push_back("admit " + std::to_string(deliveries.size()));
    return {};
  }
  void reschedule(const Delivery& delivery, WallTime due) override {
    const auto in = std::chrono::duration_cast<milliseconds>(due - clock_->wall());
    log_->events.push_back("reschedule " + std::to_string(delivery.attempts) + " +" +
                           std::to_string(in.count()));
  }
  // Durable: the final state comes back (at once) after it is written down, for the report.
  bool durable() const noexcept override { return true; }
  void finish(Final final) override {
    log_->events.push_back(std::string("finish ") +
                           (final.delivered ? "delivered" : to_string(final.reason)));
    std::vector<Final> written;
    written.push_back(std::move(final));
    on_committed(written);
  }
  void save_endpoint(const EndpointState& state) override {
    log_->events.push_back("endpoint " + state.name + (state.gone ? " gone " : " ") +
                           to_string(state.breaker));
  }
  Result<std::vector<StoredDelivery>> query(const DeliveryQuery&) override {
    return std::vector<StoredDelivery>{};
  }
  Result<std::vector<Resumed>> redeliver(const std::vector<std::string>&) override {
    return std::vector<Resumed>{};
  }
  Result<std::vector<std::string>> failed_ids(const DeliveryQuery&) override {
    return std::vector<std::string>{};
  }

 private:
  std::shared_ptr<StoreLog> log_;
  std::shared_ptr<ManualClock> clock_;
};

}  // namespace

TEST_CASE("engine: the store hears of every change of state, and before the report", "[unit][dispatcher]") {
  auto clock = std::make_shared<ManualClock>();
  auto wire = std::make_shared<FakeWire>();
  auto log = std::make_shared<StoreLog>();
  DispatcherOptions options;
  options.endpoints = {plain("a"), plain("b")};
  options.retry = exact_retries(3);
  std::vector<std::string> seen_at_report;  // the store's log as each report was given
  options.on_report = [&](const DeliveryReport&) { seen_at_report.push_back(log->events.back()); };
  EngineParts parts;
  parts.clock = clock;
  parts.transport = [wire] { return std::make_unique<FakeTransport>(wire); };
  parts.store = std::make_unique<LoggingStore>(log, clock);
  parts.threads = false;
  Engine engine(std::move(options), std::move(parts));

  REQUIRE(engine.dispatch(example_event(EventType::monitor_down)));
  for (int i = 0; i < 3; ++i) engine.turn();
  wire->answer_next(503);
  wire->answer_next(200);
  for (int i = 0; i < 3; ++i) engine.turn();
  CHECK(log->events == std::vector<std::string>{"admit 2", "reschedule 1 +1000", "finish delivered"});
  CHECK(seen_at_report == std::vector<std::string>{"finish delivered"});

  // A store that cannot keep them refuses the whole call, and the room is given back.
  log->refuse = true;
  const auto refused = engine.dispatch(example_event(EventType::monitor_down));
  REQUIRE_FALSE(refused);
  CHECK(refused.error().message == "store: disk full");
  CHECK(engine.stats().accepted == 2);
  CHECK(engine.stats().refused_calls == 1);
  CHECK(engine.stats().queued == 1);  // the delivery waiting for its retry; the refused took no room
}

TEST_CASE("engine: a Datadog endpoint gives up at 18 hours, which Datadog refuses beyond",
          "[unit][dispatcher]") {
  Endpoint datadog;
  datadog.name = "datadog";
  datadog.format = DatadogFormat{};
  std::get<DatadogFormat>(datadog.format).api_key = "key";
  Endpoint plain_endpoint = plain();
  DispatcherOptions options;
  options.endpoints = {datadog, plain_endpoint};
  options.retry = exact_retries(5);
  options.retry.schedule = {std::chrono::hours(19)};  // within the policy's 24 h, past Datadog's 18 h
  Bench bench(options);
  REQUIRE(bench.engine->dispatch(example_event(EventType::monitor_down)));
  bench.settle();
  bench.wire->answer_all(503);
  bench.settle();
  const auto reports = bench.reports();
  REQUIRE(reports.size() == 1);  // the plain endpoint waits for its retry at 19 h
  CHECK(reports[0].endpoint == "datadog");
  CHECK(reports[0].reason == FailureReason::too_old);
  bench.advance(std::chrono::hours(19));
  CHECK(bench.wire->sent.size() == 3);
}

TEST_CASE("engine: removing an endpoint ends its deliveries at once, retries and held ones included",
          "[unit][dispatcher]") {
  Endpoint pagerduty;
  pagerduty.name = "pagerduty";
  pagerduty.format = PagerDutyFormat{};
  std::get<PagerDutyFormat>(pagerduty.format).routing_key = std::string(32, 'a');
  pagerduty.rate_limit_per_minute = 0;
  DispatcherOptions options;
  options.endpoints = {pagerduty};
  options.retry = exact_retries(5);
  options.retry.schedule = {std::chrono::hours(1)};
  Bench bench(options);
  REQUIRE(bench.engine->dispatch(monitor_event(EventType::monitor_down, "mon_1")));
  REQUIRE(bench.engine->dispatch(monitor_event(EventType::monitor_recovered, "mon_1")));  // held back
  bench.settle();
  bench.wire->answer_all(503);  // the trigger waits an hour for its retry
  bench.settle();
  CHECK(bench.recorder.count() == 0);
  REQUIRE(bench.engine->remove_endpoint("pagerduty"));
  bench.settle();  // no time passes
  const auto reports = bench.reports();
  REQUIRE(reports.size() == 2);
  for (const auto& report : reports) CHECK(report.reason == FailureReason::endpoint_removed);
  CHECK(reports[0].attempts == 1);
  CHECK(reports[1].attempts == 0);
  CHECK(bench.engine->stats().queued == 0);
}

namespace {

// A transport whose sleep() lasts until wake() (or 10 s, so that a broken test still ends): with it,
// a loop that is not woken never sees new work. Thread-safe; it answers every request 200 at once.
class SleepUntilWoken final : public Transport {
 public:
  void start(void* token, PreparedRequest) override {
    const std::lock_guard<std::mutex> lock(mutex_);
    done_.push_back(token);
    ++started_;
    changed_.notify_all();
  }
  void drive(std::vector<Finished>& finished) override {
    const std::lock_guard<std::mutex> lock(mutex_);
    for (void* token : done_) {
      Outcome ok;
      ok.status = 200;
      finished.push_back(Finished{token, ok});
    }
    done_.clear();
  }
  milliseconds next_timeout() override { return milliseconds::max(); }
  void sleep(milliseconds) override {
    std::unique_lock<std::mutex> lock(mutex_);
    ++sleeps_;
    changed_.notify_all();
    changed_.wait_for(lock, std::chrono::seconds(10), [&] { return woken_; });
    woken_ = false;
  }
  void wake() override {
    const std::lock_guard<std::mutex> lock(mutex_);
    woken_ = true;
    ++wakes_;
    changed_.notify_all();
  }
  void abandon(std::vector<void*>&) override {}

  // Waits (5 s at most) until `ready` holds, under the lock; false on timeout.
  template <class Ready>
  bool wait(Ready ready) {
    std::unique_lock<std::mutex> lock(mutex_);
    return changed_.wait_for(lock, std::chrono::seconds(5), [&] { return ready(*this); });
  }
  int started_ = 0, sleeps_ = 0, wakes_ = 0;

 private:
  std::mutex mutex_;
  std::condition_variable changed_;
  std::vector<void*> done_;
  bool woken_ = false;
};

}  // namespace

TEST_CASE("engine: dispatch() wakes a sleeping I/O loop, which would otherwise not look",
          "[integration][dispatcher]") {
  SleepUntilWoken* transport = nullptr;
  EngineParts parts;
  parts.transport = [&transport] {
    auto made = std::make_unique<SleepUntilWoken>();
    transport = made.get();
    return made;
  };
  DispatcherOptions options;
  options.endpoints = {plain()};
  options.io_threads = 1;                               // the one transport the test watches
  Engine engine(std::move(options), std::move(parts));  // with its thread
  REQUIRE(transport != nullptr);
  REQUIRE(transport->wait([](const SleepUntilWoken& t) { return t.sleeps_ >= 1; }));  // asleep, idle
  REQUIRE(engine.dispatch(example_event(EventType::monitor_down)));
  CHECK(transport->wait([](const SleepUntilWoken& t) { return t.started_ == 1; }));
  CHECK(engine.flush(std::chrono::seconds(5)));
  engine.shutdown(std::chrono::seconds(5));
}

TEST_CASE("engine: a delivery keeps its id inline, and a longer one (from a damaged store) whole",
          "[unit][dispatcher]") {
  DeliveryId id;
  const std::string made = new_delivery_id();
  id = made;
  CHECK(id.view() == made);
  const std::string longer(200, 'x');
  id = longer;
  CHECK(id.view() == longer);
  id = "dlv_short";
  CHECK(id.str() == "dlv_short");
  OrderKey key;
  CHECK_FALSE(key.keyed());
  CHECK(key.get().empty());
  key.set("mon_1");
  CHECK(key.keyed());
  CHECK(key.get() == "mon_1");
}
