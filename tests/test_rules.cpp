// Rules files (parse_rules) and the CLI's `send` and `dispatch`, run as a user would.

#include <statusstack/webhooks/rules.hpp>

#include "support/process.hpp"
#include "support/servers.hpp"

#include <catch2/catch.hpp>

#include <sstream>

using namespace statusstack::webhooks;
using namespace statusstack::webhooks::testing;
using namespace std::chrono_literals;

namespace {

std::string error_of(const std::string& json) {
  auto parsed = parse_rules(json);
  return parsed ? std::string("no error") : parsed.error().message;
}

}  // namespace

TEST_CASE("a rules file sets endpoints, retries and limits", "[rules]") {
  auto parsed = parse_rules(R"({
    "endpoints": [
      {"name": "ops", "url": "https://hooks.example.com/ops", "secret": "s1",
       "method": "PUT", "headers": {"X-Team": "ops"}, "events": ["incident.*", "monitor.down"],
       "timeout_ms": 2500, "connect_timeout_ms": 1000, "cacert": "/etc/ssl/ca.pem", "max_in_flight": 4},
      {"name": "dev", "url": "http://127.0.0.1:8080/hook", "secret": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
       "allow_http": true, "signature": "standard_webhooks"}
    ],
    "retry": {"max_attempts": 5, "initial_delay_ms": 500, "factor": 3, "max_delay_ms": 60000, "jitter": 0,
              "max_age_ms": 3600000, "max_retry_after_ms": 120000},
    "max_pending": 5000, "io_threads": 2
  })");
  REQUIRE(parsed);
  const DispatcherOptions& options = *parsed;
  REQUIRE(options.endpoints.size() == 2);
  const Endpoint& ops = options.endpoints[0];
  CHECK(ops.name == "ops");
  CHECK(ops.method == HttpMethod::put);
  CHECK(ops.headers.at(0).name == "X-Team");
  CHECK(ops.events.patterns == std::vector<std::string>{"incident.*", "monitor.down"});
  CHECK(ops.options.timeout == 2500ms);
  CHECK(ops.options.connect_timeout == 1000ms);
  CHECK(ops.options.ca_file == "/etc/ssl/ca.pem");
  CHECK(ops.max_in_flight == 4);
  CHECK(options.endpoints[1].signature == SignatureScheme::standard_webhooks);
  CHECK(options.endpoints[1].options.allow_http);
  CHECK(options.retry.max_attempts == 5);
  CHECK(options.retry.initial_delay == 500ms);
  CHECK(options.retry.factor == 3.0);
  CHECK(options.retry.max_age == 1h);
  CHECK(options.max_pending == 5000);
  CHECK(options.io_threads == 2);

  auto fixed = parse_rules(R"({"endpoints": [], "retry": {"schedule_ms": [5000, 300000, 1800000]}})");
  REQUIRE(fixed);
  CHECK(fixed->retry.schedule == std::vector<std::chrono::milliseconds>{5s, 5min, 30min});
}

TEST_CASE("a rules file configures PagerDuty and Datadog endpoints by their keys", "[rules]") {
  auto parsed = parse_rules(R"({"endpoints": [
      {"name": "pager", "format": "pagerduty", "routing_key": "e93facc04764012d7bfb002500d5d1a6",
       "events": ["incident.*", "monitor.*"], "rate_limit_per_minute": 60},
      {"name": "dd", "format": "datadog", "api_key": "abc", "site": "EU"}]})");
  REQUIRE(parsed);
  const Endpoint& pager = parsed->endpoints.at(0);
  CHECK(pager.format.format == Format::pagerduty);
  CHECK(pager.format.routing_key == "e93facc04764012d7bfb002500d5d1a6");
  CHECK(effective_url(pager) == "https://events.pagerduty.com/v2/enqueue");
  CHECK(effective_rate_limit(pager) == 60);
  const Endpoint& dd = parsed->endpoints.at(1);
  CHECK(dd.format.site == DatadogSite::eu);
  CHECK(effective_url(dd) == "https://api.datadoghq.eu/api/v1/events");

  CHECK(error_of(R"({"endpoints": [{"name": "x", "format": "opsgenie"}]})") ==
        "endpoints[0].format: expected \"statusstack\", \"pagerduty\" or \"datadog\" (got \"opsgenie\")");
  CHECK(error_of(R"({"endpoints": [{"name": "x", "format": "datadog", "api_key": "k", "site": "mars"}]})") ==
        "endpoints[0].site: expected US1, US3, US5, EU, AP1 or US1-FED (got \"mars\")");
  CHECK(error_of(R"({"endpoints": [{"name": "x", "format": "pagerduty"}]})")
            .rfind("endpoints[0]: endpoint \"x\": routing_key: ", 0) == 0);
}

TEST_CASE("a malformed rules file names the line or the field", "[rules]") {
  CHECK(error_of("{\n  \"endpoints\": [\n    {\"name\": \"ops\",,}\n  ]\n}") ==
        "line 3, column 20: Missing a name for object member.");
  CHECK(error_of("[]") == "(top level): expected an object with \"endpoints\"");
  CHECK(error_of("{}") == "endpoints: is required");
  CHECK(error_of(R"({"endpoints": [{"url": "https://x.example/", "secret": "s"}]})") ==
        "endpoints[0].name: is required");
  CHECK(error_of(R"({"endpoints": [{"name": "a", "url": 5, "secret": "s"}]})") ==
        "endpoints[0].url: expected a string");
  CHECK(
      error_of(
          R"({"endpoints": [{"name": "a", "url": "https://x.example/", "secret": "s", "timeout_ms": -1}]})") ==
      "endpoints[0].timeout_ms: expected an integer from 1 to 2147483647000");
  CHECK(error_of(
            R"({"endpoints": [{"name": "a", "url": "https://x.example/", "secret": "s", "retries": 3}]})") ==
        "endpoints[0].retries: unknown setting");
  CHECK(
      error_of(
          R"({"endpoints": [{"name": "a", "url": "https://x.example/", "secret": "s", "method": "GET"}]})") ==
      "endpoints[0].method: expected POST, PUT or PATCH (got \"GET\")");
  CHECK(error_of(R"({"endpoints": [{"name": "a", "url": "http://x.example/", "secret": "s"}]})") ==
        "endpoints[0]: endpoint \"a\": url \"http://x.example/\": must be https:// (plain http:// is refused "
        "unless "
        "allow_http is set)");
  CHECK(error_of(R"({"endpoints": [{"name": "a", "url": "https://x.example/", "secret": "s"},
                                   {"name": "a", "url": "https://y.example/", "secret": "t"}]})") ==
        "endpoints[1].name: \"a\" is used by an earlier endpoint");
  CHECK(error_of(R"({"endpoints": [], "retry": {"max_attempts": 0}})") ==
        "retry.max_attempts: expected an integer from 1 to 1000");
  CHECK(error_of(R"({"endpoints": [], "retry": {"factor": 0.5}})") == "retry.factor: must be at least 1");
  CHECK(error_of(R"({"endpoints": [], "io_threads": 0})") == "io_threads: expected an integer from 1 to 64");
}

#ifdef SSW_CLI_PATH
TEST_CASE("the CLI dispatches events from a file and prints one JSON line per report", "[rules][cli]") {
  HttpTestServer all_server, incidents_server;
  const TempDir dir;
  const std::string rules = dir.write("rules.json", R"({"endpoints": [
      {"name": "all", "url": ")" + all_server.url() + R"(", "secret": "s1", "allow_http": true},
      {"name": "incidents", "url": ")" + incidents_server.url() +
                                                        R"(", "secret": "s2", "allow_http": true,
       "events": ["incident.*"]}],
    "retry": {"max_attempts": 2, "initial_delay_ms": 10}})");

  std::string events;
  for (EventType type :
       {EventType::monitor_down, EventType::incident_created, EventType::incident_resolved}) {
    events += to_json(example_event(type)) + "\n";
  }
  SECTION("all delivered: exit 0") {
    const ProcessResult run = run_process(
        {SSW_CLI_PATH, "dispatch", "--config", rules, "--events", dir.write("events.jsonl", events)});
    INFO(run.err);
    CHECK(run.exit_code == 0);
    const auto lines = lines_of(run.out);
    REQUIRE(lines.size() == 6);
    for (std::size_t i = 0; i < 5; ++i) {
      CHECK(lines[i].find("\"outcome\":\"delivered\"") != std::string::npos);
      CHECK(lines[i].rfind("{\"delivery_id\":\"dlv_", 0) == 0);
    }
    CHECK(lines[5] == "{\"summary\":true,\"accepted\":5,\"delivered\":5,\"failed\":0,\"skipped\":0}");
    CHECK(all_server.request_count() == 3);
    CHECK(incidents_server.request_count() == 2);
  }
  SECTION("a bad line is reported with its number and skipped; exit 1") {
    const std::string input = dir.write("mixed.jsonl", events + "{\"event\":\"monitor.down\"}\nnot json\n");
    const ProcessResult run = run_process({SSW_CLI_PATH, "dispatch", "--config", rules}, {}, input);
    CHECK(run.exit_code == 1);
    CHECK(run.err.find("-:4: ") != std::string::npos);
    CHECK(run.err.find("-:5: ") != std::string::npos);
    CHECK(lines_of(run.out).back() ==
          "{\"summary\":true,\"accepted\":5,\"delivered\":5,\"failed\":0,\"skipped\":2}");
  }
  SECTION("a malformed rules file stops before anything is sent") {
    const ProcessResult run =
        run_process({SSW_CLI_PATH, "dispatch", "--config", dir.write("bad.json", "{\"endpoints\": 3}"),
                     "--events", dir.write("events.jsonl", events)});
    CHECK(run.exit_code == 2);
    CHECK(run.err == "statusstack-webhook: " + dir.file("bad.json") + ": endpoints: expected an array\n");
    CHECK(all_server.request_count() == 0);
  }
}

TEST_CASE("the CLI sends one test webhook and says what happened", "[rules][cli]") {
  HttpTestServer server;
  const ProcessResult ok = run_process({SSW_CLI_PATH, "send", "--url", server.url(), "--allow-http", "--test",
                                        "--type", "monitor.down", "--header", "X-Team: ops"},
                                       {"STATUSSTACK_WEBHOOK_SECRET=from-env"});
  INFO(ok.err);
  CHECK(ok.exit_code == 0);
  CHECK(ok.out.rfind("{\"status\":200,\"error\":null,\"latency_ms\":", 0) == 0);
  CHECK(ok.out.find("\"response\":\"ok\"}") != std::string::npos);
  const RecordedRequest got = server.requests().at(0);
  CHECK(*find_header(got.headers, "X-Team") == "ops");
  CHECK(*find_header(got.headers, "X-StatusStack-Test") == "true");
  CHECK(Verifier("from-env").verify_request(got.headers, got.body));

  const ProcessResult refused = run_process(
      {SSW_CLI_PATH, "send", "--url", RefusedPort().url("/"), "--secret", "s", "--allow-http", "--test"});
  CHECK(refused.exit_code == 1);
  CHECK(refused.out.rfind("{\"status\":null,\"error\":\"refused: ", 0) == 0);

  const ProcessResult http =
      run_process({SSW_CLI_PATH, "send", "--url", server.url(), "--secret", "s", "--test"});
  CHECK(http.exit_code == 2);
  CHECK(http.err.find("must be https://") != std::string::npos);
}
#endif
