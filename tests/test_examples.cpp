// The examples as programs: the receiver answers as StatusStack's guide says, the quickstart
// reports what the receiver did, and the PagerDuty and Datadog examples work against local fakes
// of those vendors. (The happy path, both together, is the ctest
// example_quickstart_delivers_every_event_to_the_receiver, which runs examples/run-demo.sh.)

#include <statusstack/webhooks.hpp>

#include "detail/text.hpp"

#include "support/process.hpp"
#include "support/servers.hpp"
#include "support/vendor_fakes.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <sstream>

#ifdef SSW_EXAMPLE_RECEIVER

using namespace statusstack::webhooks;
using namespace statusstack::webhooks::testing;
using namespace std::chrono_literals;

namespace {

constexpr auto generous = 20s;

// The URL the example receiver prints on its first line.
std::string listening_url(BackgroundProcess& receiver) {
  const std::optional<std::string> line = receiver.read_line(generous);
  REQUIRE(line);
  const std::string prefix = "listening on ";
  REQUIRE(line->rfind(prefix, 0) == 0);
  return line->substr(prefix.size());
}

Request signed_request(const std::string& url, const std::string& secret, const std::string& delivery_id,
                       EventType type = EventType::incident_created) {
  Endpoint endpoint;
  endpoint.name = "test";
  endpoint.url = url;
  endpoint.secret = secret;
  endpoint.options.allow_http = true;
  endpoint.options.allow_private_network = true;
  return make_signed_request(example_event(type), endpoint, delivery_id);
}

}  // namespace

TEST_CASE("the example receiver answers 401, 400 and 200 as the guide says, and handles a delivery once",
          "[integration][examples]") {
  BackgroundProcess receiver({SSW_EXAMPLE_RECEIVER, "--port", "0", "--secret", "old secret, rotated out",
                              "--secret", "new secret, rotated in"});
  const std::string url = listening_url(receiver) + "/hooks";
  WebhookClient client;

  const std::string id = new_delivery_id();
  CHECK(client.send(signed_request(url, "new secret, rotated in", id)).status == 200);
  CHECK(receiver.read_line(generous) ==
        std::optional<std::string>("accepted " + id +
                                   " /hooks incident.created Elevated error rates on the "
                                   "Production API (investigating, impact major)"));
  const Outcome again =
      client.send(signed_request(url, "old secret, rotated out", id));  // rotation: either secret verifies
  CHECK(again.status == 200);
  CHECK(again.body == "ok (duplicate)\n");
  CHECK(receiver.read_line(generous) ==
        std::optional<std::string>("duplicate " + id + " /hooks (already handled)"));

  const Outcome wrong = client.send(signed_request(url, "neither of the two secrets", new_delivery_id()));
  CHECK(wrong.status == 401);
  CHECK(wrong.body ==
        "X-StatusStack-Signature: does not match the body under any of the configured secrets\n");
  CHECK(receiver.read_line(generous) ==
        std::optional<std::string>("rejected 401 /hooks X-StatusStack-Signature: does not match the body "
                                   "under any of the configured secrets"));

  Request not_an_event = signed_request(url, "new secret, rotated in", new_delivery_id());
  not_an_event.body = "{\"event\":\"monitor.down\"}";
  for (Header& header : not_an_event.headers) {
    if (detail::iequals(header.name, "X-StatusStack-Signature"))
      header.value = Signer("new secret, rotated in").sign(not_an_event.body);
  }
  const Outcome bad = client.send(not_an_event);
  CHECK(bad.status == 400);
  CHECK(bad.body == "timestamp: required field is missing\n");

  Request anonymous = signed_request(url, "new secret, rotated in", "");
  CHECK(client.send(anonymous).status == 400);

  const ProcessResult ended = receiver.terminate();
  CHECK(ended.exit_code == 0);  // SIGTERM without --expect is a normal stop
  CHECK(lines_of(ended.out) ==
        std::vector<std::string>{"rejected 400 /hooks timestamp: required field is missing",
                                 "rejected 400 /hooks X-StatusStack-Delivery: header is missing"});
}

TEST_CASE("the example receiver with --expect exits 0 once it has handled that many events",
          "[integration][examples]") {
  BackgroundProcess receiver({SSW_EXAMPLE_RECEIVER, "--expect", "2", "--timeout", "20"},
                             {"STATUSSTACK_WEBHOOK_SECRET=a-long-random-secret"});
  const std::string url = listening_url(receiver);
  WebhookClient client;
  CHECK(client
            .send(signed_request(url + "/a", "a-long-random-secret", new_delivery_id(),
                                 EventType::monitor_down))
            .status == 200);
  CHECK(client
            .send(signed_request(url + "/b", "a-long-random-secret", new_delivery_id(),
                                 EventType::maintenance_scheduled))
            .status == 200);
  client = WebhookClient();  // closes the kept-alive connection, which the receiver would wait for
  const auto ended = receiver.wait(generous);
  REQUIRE(ended);
  CHECK(ended->exit_code == 0);
  const auto lines = lines_of(ended->out);
  REQUIRE(lines.size() == 2);
  CHECK(lines[0].find(" /a monitor.down Production API health is down: ") != std::string::npos);
  CHECK(lines[1].find(" /b maintenance.scheduled Primary database upgrade from 2025-") != std::string::npos);
}

TEST_CASE("the example receiver with --expect gives up after --timeout and exits 1",
          "[integration][examples]") {
  BackgroundProcess receiver({SSW_EXAMPLE_RECEIVER, "--expect", "1", "--timeout", "1"},
                             {"STATUSSTACK_WEBHOOK_SECRET=a-long-random-secret"});
  listening_url(receiver);
  const auto ended = receiver.wait(generous);
  REQUIRE(ended);
  CHECK(ended->exit_code == 1);
  CHECK(ended->err == "receiver: timed out after 1 s with 0 of 1 events\n");
}

TEST_CASE("the example receiver refuses to start without a secret or with an unknown option",
          "[integration][examples]") {
  const ProcessResult no_secret =
      run_process({"env", "-u", "STATUSSTACK_WEBHOOK_SECRET", SSW_EXAMPLE_RECEIVER});
  CHECK(no_secret.exit_code == 2);
  CHECK(no_secret.err.rfind("receiver: no secret: pass --secret or set STATUSSTACK_WEBHOOK_SECRET\n", 0) ==
        0);
  const ProcessResult unknown = run_process({SSW_EXAMPLE_RECEIVER, "--colour", "red"},
                                            {"STATUSSTACK_WEBHOOK_SECRET=a-long-random-secret"});
  CHECK(unknown.exit_code == 2);
  CHECK(unknown.err.rfind("receiver: unknown option --colour\n", 0) == 0);
}

TEST_CASE("the quickstart against a receiver with another secret reports every delivery rejected",
          "[integration][examples]") {
  BackgroundProcess receiver({SSW_EXAMPLE_RECEIVER, "--secret", "the receiver's own secret"});
  const std::string url = listening_url(receiver);
  const ProcessResult run = run_process(
      {SSW_EXAMPLE_QUICKSTART, "--secret", "the sender's own secret", url + "/all", url + "/oncall"});
  CHECK(run.exit_code == 1);
  const auto lines = lines_of(run.out);
  REQUIRE(lines.size() == 12);
  for (std::size_t i = 0; i + 1 < lines.size(); ++i) {
    INFO(lines[i]);
    CHECK(lines[i].rfind("failed dlv_", 0) == 0);
    CHECK(lines[i].find(" HTTP 401, 1 attempt(s), ") != std::string::npos);
    CHECK(lines[i].find(", rejected") != std::string::npos);
  }
  CHECK(lines.back() == "summary: 11 deliveries, 0 delivered, 11 failed");
  const auto rejected = lines_of(receiver.terminate().out);
  CHECK(std::count_if(rejected.begin(), rejected.end(),
                      [](const std::string& line) { return line.rfind("rejected 401 /", 0) == 0; }) == 11);
}

TEST_CASE("the quickstart without its two URLs prints its usage and exits 2", "[integration][examples]") {
  const ProcessResult run =
      run_process({SSW_EXAMPLE_QUICKSTART, "--secret", "a-long-random-secret", "http://127.0.0.1:1/all"});
  CHECK(run.exit_code == 2);
  CHECK(run.err ==
        "usage: quickstart [--secret S] [--store FILE] ALL_URL ONCALL_URL (or set "
        "STATUSSTACK_WEBHOOK_SECRET)\n");
}

TEST_CASE("the pagerduty example opens an alert and resolves it with the same dedup_key",
          "[integration][examples]") {
  FakePagerDuty pagerduty;
  const std::string key = "R0UT1NGKEY0123456789abcdefABCDEF";
  const ProcessResult run =
      run_process({SSW_EXAMPLE_PAGERDUTY, "--url", pagerduty.url(), "--routing-key", key},
                  {"PAGERDUTY_ROUTING_KEY=not the one used"});
  INFO(run.err);
  CHECK(run.exit_code == 0);
  const std::string dedup_key = "statusstack:stack_abc123:monitor:mon_7f3k9q";
  CHECK(lines_of(run.out) == std::vector<std::string>{"sending to " + pagerduty.url(),
                                                      "monitor.down delivered, dedup_key " + dedup_key,
                                                      "monitor.recovered delivered, dedup_key " + dedup_key});
  const std::optional<FakeAlert> alert = pagerduty.alert(dedup_key);
  REQUIRE(alert);
  CHECK(alert->status == "resolved");
  CHECK(alert->routing_key == key);
  CHECK(alert->events == 2);
  CHECK(pagerduty.statuses() == std::vector<int>{202, 202});
}

TEST_CASE("the pagerduty example takes its key from PAGERDUTY_ROUTING_KEY and prints PagerDuty's errors",
          "[integration][examples]") {
  FakePagerDuty pagerduty;
  pagerduty.fail_next(2, 400);
  const ProcessResult run = run_process({SSW_EXAMPLE_PAGERDUTY, "--url", pagerduty.url()},
                                        {"PAGERDUTY_ROUTING_KEY=R0UT1NGKEY0123456789abcdefABCDEF"});
  CHECK(run.exit_code == 1);
  CHECK(lines_of(run.out) ==
        std::vector<std::string>{
            "sending to " + pagerduty.url(),
            "monitor.down failed (rejected): No such endpoint: POST events to /v2/enqueue",
            "monitor.recovered failed (rejected): No such endpoint: POST events to /v2/enqueue"});
  REQUIRE(pagerduty.exchanges().size() == 2);
  CHECK(pagerduty.exchanges()[0].request.body.find("\"routing_key\":\"R0UT1NGKEY0123456789abcdefABCDEF\"") !=
        std::string::npos);
}

TEST_CASE("the pagerduty example without a valid routing key says so and exits 2",
          "[integration][examples]") {
  const ProcessResult none = run_process({"env", "-u", "PAGERDUTY_ROUTING_KEY", SSW_EXAMPLE_PAGERDUTY});
  CHECK(none.exit_code == 2);
  CHECK(none.err == "usage: pagerduty [--routing-key KEY] [--url URL] (or set PAGERDUTY_ROUTING_KEY)\n");
  const ProcessResult unknown = run_process({SSW_EXAMPLE_PAGERDUTY, "--routing-key"});
  CHECK(unknown.exit_code == 2);
  CHECK(unknown.err.rfind("usage: pagerduty ", 0) == 0);
  const ProcessResult short_key = run_process({SSW_EXAMPLE_PAGERDUTY, "--routing-key", "abc"});
  CHECK(short_key.exit_code == 2);
  CHECK(short_key.err ==
        "pagerduty: endpoint \"pagerduty\": routing_key: must be 32 characters (a "
        "PagerDuty integration key), got 3\n");
  const ProcessResult remote_http =
      run_process({SSW_EXAMPLE_PAGERDUTY, "--routing-key", "R0UT1NGKEY0123456789abcdefABCDEF", "--url",
                   "http://events.example.com/v2/enqueue"});
  CHECK(remote_http.exit_code == 2);  // plain http is for this machine only
  CHECK(remote_http.err ==
        "pagerduty: endpoint \"pagerduty\": url \"http://events.example.com/v2/enqueue\": "
        "must be https:// (plain http:// is refused unless allow_http is set)\n");
}

TEST_CASE("the datadog example posts an incident and its resolution under one aggregation_key",
          "[integration][examples]") {
  FakeDatadog datadog;
  datadog.set_expected_api_key("dd-api-key");
  const ProcessResult run =
      run_process({SSW_EXAMPLE_DATADOG, "--site", "EU", "--api-key", "dd-api-key", "--url", datadog.url()});
  INFO(run.err);
  CHECK(run.exit_code == 0);
  const std::vector<std::string> ids = datadog.event_ids();
  REQUIRE(ids.size() == 2);
  CHECK(lines_of(run.out) == std::vector<std::string>{"sending to " + datadog.url(),
                                                      "incident.created delivered, event id " + ids[0],
                                                      "incident.resolved delivered, event id " + ids[1]});
  const std::vector<VendorExchange> exchanges = datadog.exchanges();
  REQUIRE(exchanges.size() == 2);
  for (const VendorExchange& exchange : exchanges) {
    CHECK(exchange.request.body.find("\"aggregation_key\":\"statusstack:stack_abc123:incident:inc_123\"") !=
          std::string::npos);
  }
  CHECK(exchanges[0].request.body.find("\"alert_type\":\"error\"") != std::string::npos);
  CHECK(exchanges[1].request.body.find("\"alert_type\":\"success\"") != std::string::npos);
}

TEST_CASE("the datadog example with a key Datadog refuses prints Forbidden and exits 1",
          "[integration][examples]") {
  FakeDatadog datadog;
  datadog.set_expected_api_key("the right key");
  const ProcessResult run =
      run_process({SSW_EXAMPLE_DATADOG, "--url", datadog.url()}, {"DD_API_KEY=wrong-key"});
  CHECK(run.exit_code == 1);
  CHECK(lines_of(run.out) == std::vector<std::string>{"sending to " + datadog.url(),
                                                      "incident.created failed (rejected): Forbidden",
                                                      "incident.resolved failed (rejected): Forbidden"});
}

TEST_CASE("the datadog example without a key or with an unknown site prints its usage and exits 2",
          "[integration][examples]") {
  const std::string usage =
      "usage: datadog [--api-key KEY] [--site US1|US3|US5|EU|AP1|US1-FED] [--url URL] (or set DD_API_KEY)\n";
  const ProcessResult none = run_process({"env", "-u", "DD_API_KEY", SSW_EXAMPLE_DATADOG});
  CHECK(none.exit_code == 2);
  CHECK(none.err == usage);
  const ProcessResult site = run_process({SSW_EXAMPLE_DATADOG, "--api-key", "k", "--site", "Mars"});
  CHECK(site.exit_code == 2);
  CHECK(site.err == usage);
}

#endif
