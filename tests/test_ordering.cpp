// Order where it matters, against real servers on 127.0.0.1: a PagerDuty resolve never overtakes
// its trigger, even when the trigger is answered 429 and retried; an `ordered` endpoint receives
// every delivery in dispatch order under a fault mix.

#include <statusstack/webhooks/dispatcher.hpp>
#include <statusstack/webhooks/formats.hpp>

#include "support/reports.hpp"
#include "support/servers.hpp"
#include "support/vendor_fakes.hpp"

#include <catch2/catch.hpp>

#include <atomic>
#include <mutex>
#include <random>
#include <set>

using namespace statusstack::webhooks;
using namespace statusstack::webhooks::testing;
using namespace std::chrono_literals;

namespace {

constexpr auto generous = 30s;

}  // namespace

TEST_CASE("PagerDuty: with its trigger answered 429, a resolve still closes the alert, 100 times out of 100",
          "[integration][ordering]") {
  FakePagerDuty pagerduty;
  Recorder recorder;
  DispatcherOptions options;
  Endpoint endpoint;
  endpoint.name = "pager";
  endpoint.url = pagerduty.url();
  endpoint.options.allow_http = true;
  endpoint.options.allow_private_network = true;
  endpoint.format = PagerDutyFormat{};
  std::get<PagerDutyFormat>(endpoint.format).routing_key = std::string(32, 'r');
  endpoint.rate_limit_per_minute = 0;  // the stand-in has no limit; the runs should not wait
  options.endpoints = {endpoint};
  options.retry = quick_retries(5, 5ms);
  options.io_threads = 2;
  recorder.install(options);
  Dispatcher dispatcher(std::move(options));

  constexpr int runs = 100;
  std::vector<std::string> keys;
  for (int run = 0; run < runs; ++run) {
    auto down = std::get<MonitorDown>(example_event(EventType::monitor_down));
    down.monitor.id = "mon_" + std::to_string(run);
    auto recovered = std::get<MonitorRecovered>(example_event(EventType::monitor_recovered));
    recovered.monitor.id = down.monitor.id;
    recovered.stack = down.stack;
    keys.push_back(dedup_key(down));
    pagerduty.fail_next(1, 429);  // the trigger's first attempt
    REQUIRE(dispatcher.dispatch(down));
    REQUIRE(dispatcher.dispatch(recovered));  // at once: it must wait for the trigger
    REQUIRE(dispatcher.flush(generous));
  }
  int resolved = 0;
  for (const std::string& key : keys) {
    const auto alert = pagerduty.alert(key);
    if (alert && alert->status == "resolved") ++resolved;
  }
  CHECK(resolved == runs);
  const auto reports = recorder.all();
  REQUIRE(reports.size() == 2 * runs);
  for (const auto& report : reports) CHECK(report.delivered);
}

TEST_CASE("an ordered endpoint receives 1000 events in dispatch order under a fault mix",
          "[integration][ordering]") {
  std::mutex mutex;
  std::mt19937 random(12345);
  std::vector<std::string> accepted_order;  // delivery ids in the order the receiver accepted them
  HttpTestServer server([&](const RecordedRequest& request) {
    const std::lock_guard<std::mutex> lock(mutex);
    const int roll = static_cast<int>(random() % 100);
    if (roll < 10) return Reply{503, {}, "busy"};
    if (roll < 15) return Reply{429, {{"Retry-After", "0"}}, "slow down"};
    if (roll < 18) return Reply{500, {}, "oops"};
    accepted_order.push_back(*find_header(request.headers, "X-StatusStack-Delivery"));
    return Reply{200, {}, "ok"};
  });
  Recorder recorder;
  DispatcherOptions options;
  Endpoint endpoint = local_endpoint("ordered", server.url());
  endpoint.ordered = true;
  endpoint.max_in_flight = 8;  // ordered: one at a time all the same
  options.endpoints = {endpoint};
  options.retry = quick_retries(20, 1ms);
  options.io_threads = 2;
  recorder.install(options);
  Dispatcher dispatcher(std::move(options));

  std::vector<std::string> dispatched;
  for (int i = 0; i < 1000; ++i) {
    auto accepted = dispatcher.dispatch(example_event(EventType::incident_updated));
    REQUIRE(accepted);
    dispatched.push_back(accepted->deliveries.at(0).delivery_id);
  }
  REQUIRE(dispatcher.flush(generous));
  CHECK(dispatcher.stats().delivered == 1000);
  const std::lock_guard<std::mutex> lock(mutex);
  CHECK(accepted_order == dispatched);
  CHECK(server.request_count() > 1000);  // the faults happened, and were retried in place
}
