// PagerDuty and Datadog formats end to end: Dispatcher -> local fakes of both APIs -> reports.

#include <statusstack/webhooks/dispatcher.hpp>

#include "endpoint_signing.hpp"

#include "support/reports.hpp"
#include "support/vendor_fakes.hpp"

#include <catch2/catch.hpp>

#include <vector>

using namespace statusstack::webhooks;
using namespace statusstack::webhooks::testing;
using namespace std::chrono_literals;

namespace {

constexpr auto generous = 20s;
const std::string routing_key = "e93facc04764012d7bfb002500d5d1a6";

Endpoint vendor_endpoint(const std::string& name, const std::string& url, Format format) {
  Endpoint endpoint;
  endpoint.name = name;
  endpoint.url = url;  // the fakes stand in for the vendors' default URLs
  endpoint.options.allow_http = true;
  endpoint.options.allow_private_network = true;
  if (format == Format::pagerduty) endpoint.format = PagerDutyFormat{Secret(routing_key)};
  if (format == Format::datadog) endpoint.format = DatadogFormat{Secret("dd-api-key-for-tests")};
  return endpoint;
}

RetryPolicy quick() {
  RetryPolicy policy;
  policy.initial_delay = 20ms;
  policy.max_delay = 100ms;
  policy.jitter = 0;
  return policy;
}

}  // namespace

TEST_CASE("PagerDuty: a trigger and the later resolve close the same alert, and receipts are the dedup_key",
          "[integration][integrations]") {
  FakePagerDuty pagerduty;
  Recorder recorder;
  DispatcherOptions options;
  options.endpoints = {vendor_endpoint("pager", pagerduty.url(), Format::pagerduty)};
  options.retry = quick();
  recorder.install(options);
  Dispatcher dispatcher(std::move(options));

  const Event down = example_event(EventType::monitor_down);
  REQUIRE(dispatcher.dispatch(down));
  REQUIRE(dispatcher.flush(generous));
  const std::string key = dedup_key(down);
  REQUIRE(pagerduty.alert(key).has_value());
  CHECK(pagerduty.alert(key)->status == "triggered");

  Event recovered = example_event(EventType::monitor_recovered);
  std::get<MonitorRecovered>(recovered).monitor.id = std::get<MonitorDown>(down).monitor.id;
  std::get<MonitorRecovered>(recovered).stack = std::get<MonitorDown>(down).stack;
  REQUIRE(dispatcher.dispatch(recovered));
  REQUIRE(dispatcher.flush(generous));
  CHECK(pagerduty.alert(key)->status == "resolved");

  const std::vector<DeliveryReport> reports = recorder.all();
  REQUIRE(reports.size() == 2);
  for (const auto& report : reports) {
    CHECK(report.delivered);
    CHECK(report.receipt == key);
    CHECK(report.last.status == 202);
  }
  // No signature without a secret; the wire headers are still there.
  const auto request = pagerduty.exchanges().at(0).request;
  CHECK(find_header(request.headers, "X-StatusStack-Signature") == nullptr);
  CHECK(*find_header(request.headers, "X-StatusStack-Event") == "monitor.down");
}

TEST_CASE("PagerDuty: a 429 is retried, and the documented 120 per minute is the default rate limit",
          "[integration][integrations]") {
  FakePagerDuty pagerduty;
  pagerduty.fail_next(2, 429);
  Recorder recorder;
  DispatcherOptions options;
  options.endpoints = {vendor_endpoint("pager", pagerduty.url(), Format::pagerduty)};
  options.retry = quick();
  recorder.install(options);
  Dispatcher dispatcher(std::move(options));
  CHECK(detail::effective_rate_limit(dispatcher.endpoints().at(0)) == 120);

  // Bursts of 30 (a quarter of a minute), then one every 500 ms.
  for (int i = 0; i < 31; ++i) REQUIRE(dispatcher.dispatch(example_event(EventType::incident_created)));
  REQUIRE(dispatcher.flush(generous));
  const auto exchanges = pagerduty.exchanges();
  REQUIRE(exchanges.size() == 33);  // 31 events, two of them answered 429 once
  CHECK(exchanges[0].status == 429);
  CHECK(exchanges[1].status == 429);
  CHECK(exchanges.back().request.received_at - exchanges.front().request.received_at >= 900ms);
  const std::vector<DeliveryReport> reports = recorder.all();
  REQUIRE(reports.size() == 31);
  for (const auto& report : reports) CHECK(report.delivered);
}

TEST_CASE(
    "Datadog: the event id is the receipt, and a 400's errors (sent as text/plain) are the failure detail",
    "[integration][integrations]") {
  FakeDatadog datadog;
  datadog.set_expected_api_key("dd-api-key-for-tests");
  Recorder recorder;
  DispatcherOptions options;
  options.endpoints = {vendor_endpoint("datadog", datadog.url(), Format::datadog)};
  options.retry = quick();
  recorder.install(options);
  Dispatcher dispatcher(std::move(options));

  REQUIRE(dispatcher.dispatch(example_event(EventType::incident_created)));
  REQUIRE(dispatcher.flush(generous));
  datadog.fail_next(1, 400);
  REQUIRE(dispatcher.dispatch(example_event(EventType::incident_updated)));
  REQUIRE(dispatcher.flush(generous));

  const auto sent = datadog.exchanges().at(0).request;
  CHECK(*find_header(sent.headers, "DD-API-KEY") == "dd-api-key-for-tests");
  const std::vector<DeliveryReport> reports = recorder.all();
  REQUIRE(reports.size() == 2);
  CHECK(reports[0].delivered);
  CHECK(reports[0].receipt == datadog.event_ids().at(0));
  CHECK_FALSE(reports[1].delivered);
  CHECK(reports[1].reason == FailureReason::rejected);
  CHECK(reports[1].attempts == 1);
  CHECK(reports[1].detail == "Bad Request");
}

TEST_CASE("Datadog: a wrong API key is refused at once with the vendor's words",
          "[integration][integrations]") {
  FakeDatadog datadog;
  datadog.set_expected_api_key("the-right-key");
  Recorder recorder;
  DispatcherOptions options;
  options.endpoints = {vendor_endpoint("datadog", datadog.url(), Format::datadog)};
  recorder.install(options);
  Dispatcher dispatcher(std::move(options));
  REQUIRE(dispatcher.dispatch(example_event(EventType::monitor_down)));
  REQUIRE(dispatcher.flush(generous));
  const std::vector<DeliveryReport> reports = recorder.all();
  REQUIRE(reports.size() == 1);
  CHECK(reports[0].last.status == 403);
  CHECK(reports[0].reason == FailureReason::rejected);
  CHECK(reports[0].detail == "Forbidden");
}

TEST_CASE("vendor endpoints are validated with their keys, and need no URL of their own",
          "[unit][integrations]") {
  Endpoint pagerduty;
  pagerduty.name = "pd";
  pagerduty.format = PagerDutyFormat{Secret("short")};
  REQUIRE_FALSE(validate_endpoint(pagerduty));
  CHECK(validate_endpoint(pagerduty).error().message ==
        "endpoint \"pd\": routing_key: must be 32 characters (a PagerDuty integration key), got 5");
  std::get<PagerDutyFormat>(pagerduty.format).routing_key = routing_key;
  CHECK(validate_endpoint(pagerduty));
  CHECK(detail::effective_url(pagerduty) == "https://events.pagerduty.com/v2/enqueue");

  Endpoint datadog;
  datadog.name = "dd";
  datadog.format = DatadogFormat{Secret("k"), DatadogSite::eu};
  CHECK(validate_endpoint(datadog));
  CHECK(detail::effective_url(datadog) == "https://api.datadoghq.eu/api/v1/events");
  datadog.headers = {{"dd-api-key", "override"}};
  CHECK(validate_endpoint(datadog).error().message ==
        "endpoint \"dd\": header \"dd-api-key\" is set by the library and cannot be overridden");
}
