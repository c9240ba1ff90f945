// Rules files (parse_rules) and the CLI's `send` and `dispatch`, run as a user would.

#include <statusstack/webhooks/rules.hpp>

#include "endpoint_signing.hpp"

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

TEST_CASE("a rules file sets endpoints, retries and limits", "[unit][rules]") {
  auto parsed = parse_rules(R"({
    "endpoints": [
      {"name": "ops", "url": "https://hooks.example.com/ops", "secret": "first-rules-secret",
       "method": "PUT", "headers": {"X-Team": "ops"}, "events": ["incident.*", "monitor.down"],
       "timeout_ms": 2500, "connect_timeout_ms": 1000, "cacert": "/etc/ssl/ca.pem", "max_in_flight": 4},
      {"name": "dev", "url": "http://127.0.0.1:8080/hook", "secret": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
       "allow_http": true, "allow_private_network": true, "signature": "standard_webhooks"}
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

TEST_CASE("a rules file configures PagerDuty and Datadog endpoints by their keys", "[unit][rules]") {
  auto parsed = parse_rules(R"({"endpoints": [
      {"name": "pager", "format": "pagerduty", "routing_key": "e93facc04764012d7bfb002500d5d1a6",
       "events": ["incident.*", "monitor.*"], "rate_limit_per_minute": 60},
      {"name": "dd", "format": "datadog", "api_key": "abc", "site": "EU"}]})");
  REQUIRE(parsed);
  const Endpoint& pager = parsed->endpoints.at(0);
  CHECK(format_of(pager.format) == Format::pagerduty);
  CHECK(std::get<PagerDutyFormat>(pager.format).routing_key.reveal() == "e93facc04764012d7bfb002500d5d1a6");
  CHECK(detail::effective_url(pager) == "https://events.pagerduty.com/v2/enqueue");
  CHECK(detail::effective_rate_limit(pager) == 60);
  const Endpoint& dd = parsed->endpoints.at(1);
  CHECK(std::get<DatadogFormat>(dd.format).site == DatadogSite::eu);
  CHECK(detail::effective_url(dd) == "https://api.datadoghq.eu/api/v1/events");

  CHECK(error_of(R"({"endpoints": [{"name": "x", "format": "opsgenie"}]})") ==
        "endpoints[0].format: expected \"statusstack\", \"pagerduty\" or \"datadog\" (got \"opsgenie\")");
  CHECK(error_of(R"({"endpoints": [{"name": "x", "format": "datadog", "api_key": "k", "site": "mars"}]})") ==
        "endpoints[0].site: expected US1, US3, US5, EU, AP1 or US1-FED (got \"mars\")");
  CHECK(error_of(R"({"endpoints": [{"name": "x", "format": "pagerduty"}]})")
            .rfind("endpoints[0]: endpoint \"x\": routing_key: ", 0) == 0);
  // A key the format does not take is named, and never shown.
  CHECK(error_of(R"({"endpoints": [{"name": "x", "format": "datadog", "api_key": "k",
                                    "routing_key": "e93facc04764012d7bfb002500d5d1a6"}]})") ==
        "endpoints[0].routing_key: not a setting of the datadog format");
  CHECK(error_of(R"({"endpoints": [{"name": "x", "url": "https://hooks.example.com/h",
                                    "secret": "a-long-random-secret", "site": "EU"}]})") ==
        "endpoints[0].site: not a setting of the statusstack format");
}

TEST_CASE("a StatusStack endpoint in a rules file needs its url and secret, a vendor's neither",
          "[unit][rules]") {
  CHECK(error_of(R"({"endpoints": [{"name": "x", "secret": "a-long-random-secret"}]})") ==
        "endpoints[0].url: is required");
  CHECK(error_of(R"({"endpoints": [{"name": "x", "url": "https://hooks.example.com/h"}]})") ==
        "endpoints[0].secret: is required");
  auto vendors = parse_rules(R"({"endpoints": [
      {"name": "pager", "format": "pagerduty", "routing_key": "e93facc04764012d7bfb002500d5d1a6"},
      {"name": "dd", "format": "datadog", "api_key": "abc"}]})");
  REQUIRE(vendors);
  CHECK(vendors->endpoints.at(0).secret.empty());
  CHECK(vendors->endpoints.at(1).url.empty());
}

TEST_CASE("a malformed rules file names the line or the field", "[unit][rules]") {
  CHECK(error_of("{\n  \"endpoints\": [\n    {\"name\": \"ops\",,}\n  ]\n}") ==
        "line 3, column 20: Missing a name for object member.");
  CHECK(error_of("[]") == "(top level): expected an object with \"endpoints\"");
  CHECK(error_of("{}") == "endpoints: is required");
  CHECK(error_of(R"({"endpoints": [{"url": "https://x.example/", "secret": "a-long-random-secret"}]})") ==
        "endpoints[0].name: is required");
  CHECK(error_of(R"({"endpoints": [{"name": "a", "url": 5, "secret": "a-long-random-secret"}]})") ==
        "endpoints[0].url: expected a string");
  CHECK(
      error_of(
          R"({"endpoints": [{"name": "a", "url": "https://x.example/", "secret": "a-long-random-secret", "timeout_ms": -1}]})") ==
      "endpoints[0].timeout_ms: expected an integer from 1 to 2147483647000");
  CHECK(
      error_of(
          R"({"endpoints": [{"name": "a", "url": "https://x.example/", "secret": "a-long-random-secret", "retries": 3}]})") ==
      "endpoints[0].retries: unknown setting");
  CHECK(
      error_of(
          R"({"endpoints": [{"name": "a", "url": "https://x.example/", "secret": "a-long-random-secret", "method": "GET"}]})") ==
      "endpoints[0].method: expected POST, PUT or PATCH (got \"GET\")");
  CHECK(
      error_of(
          R"({"endpoints": [{"name": "a", "url": "http://x.example/", "secret": "a-long-random-secret"}]})") ==
      "endpoints[0]: endpoint \"a\": url \"http://x.example/\": must be https:// (plain http:// is refused "
      "unless "
      "allow_http is set)");
  CHECK(
      error_of(R"({"endpoints": [{"name": "a", "url": "https://x.example/", "secret": "a-long-random-secret"},
                                   {"name": "a", "url": "https://y.example/", "secret": "another-long-secret"}]})") ==
      "endpoints[1].name: \"a\" is used by an earlier endpoint");
  CHECK(error_of(R"({"endpoints": [], "retry": {"max_attempts": 0}})") ==
        "retry.max_attempts: expected an integer from 1 to 1000");
  CHECK(error_of(R"({"endpoints": [], "retry": {"factor": 0.5}})") == "retry.factor: must be at least 1");
  CHECK(error_of(R"({"endpoints": [], "io_threads": 0})") == "io_threads: expected an integer from 1 to 64");
}

TEST_CASE("a rules file nested 10,000 deep is refused with the line and column, not a crash",
          "[unit][rules]") {
  const std::string deep = "{\"endpoints\": " + std::string(10000, '[') + std::string(10000, ']') + "}";
  const auto parsed = parse_rules(deep);
  REQUIRE_FALSE(parsed);
  CHECK(parsed.error().code == ErrorCode::invalid_json);
  std::string path = "endpoints";
  for (int i = 0; i < 31; ++i) path += "[0]";  // with the top object: 33 levels
  CHECK(parsed.error().message == "line 1, column 46: " + path + ": nested deeper than 32 levels");

  // 32 levels are fine as JSON (then refused as a setting).
  const std::string nested = "{\"endpoints\": [], \"retry\": {\"schedule_ms\": " + std::string(30, '[') +
                             std::string(30, ']') + "}}";
  CHECK(error_of(nested) == "retry.schedule_ms[0]: expected an integer from 0 to 2147483647000");
}

TEST_CASE("a rules file with a duplicate key, trailing data or a second document is refused",
          "[unit][rules]") {
  CHECK(error_of(R"({"endpoints": [], "endpoints": []})") == "line 1, column 30: endpoints: duplicate key");
  CHECK(
      error_of(
          R"({"endpoints":[{"name":"ops","url":"https://x.example/h","secret":"a-long-random-secret"}],"endpoints":[]})") ==
      "line 1, column 102: endpoints: duplicate key");
  CHECK(error_of("{\"endpoints\": [\n  {\"name\": \"ops\", \"url\": \"https://x.example/h\", \"secret\": "
                 "\"a-long-random-secret\",\n"
                 "   \"name\": \"dev\"}]}") == "line 3, column 10: endpoints[0].name: duplicate key");
  CHECK(error_of(R"({"endpoints": [], "retry": {"max_attempts": 3, "max_attempts": 1}})") ==
        "line 1, column 62: retry.max_attempts: duplicate key");
  CHECK(error_of("{\"endpoints\": []} {\"endpoints\": []}") ==
        "line 1, column 19: The document root must not be followed by other values.");
  CHECK(error_of("{\"endpoints\": []}\n,") ==
        "line 2, column 1: The document root must not be followed by other values.");
  CHECK(error_of("{\"endpoints\": []}\n\n  \n") == "no error");  // trailing whitespace is fine
  CHECK(parse_rules("{\"endpoints\": []} x").error().code == ErrorCode::invalid_json);
}

TEST_CASE("an empty events list in a rules file is refused, as a star says every event", "[unit][rules]") {
  CHECK(
      error_of(
          R"({"endpoints": [{"name": "ops", "url": "https://x.example/h", "secret": "a-long-random-secret", "events": []}]})") ==
      "endpoints[0].events: must not be empty (use [\"*\"] for every event)");
  auto every = parse_rules(
      R"({"endpoints": [{"name": "ops", "url": "https://x.example/h", "secret": "a-long-random-secret",
                                             "events": ["*"]}]})");
  REQUIRE(every);
  for (EventType type : all_event_types) CHECK(every->endpoints.at(0).events.matches(type));
}

TEST_CASE("a rules file refuses a short secret unless the endpoint says allow_short_secret",
          "[unit][rules][secrets]") {
  CHECK(error_of(R"({"endpoints": [{"name": "ops", "url": "https://x.example/h", "secret": "sh0rt"}]})") ==
        "endpoints[0]: endpoint \"ops\": secret: 5 bytes, at least 16 are needed (a legacy receiver's "
        "shorter secret needs allow_short_secret)");
  auto parsed =
      parse_rules(R"({"endpoints": [{"name": "ops", "url": "https://x.example/h", "secret": "sh0rt"}]})");
  REQUIRE_FALSE(parsed);
  CHECK(parsed.error().code == ErrorCode::invalid_secret);  // validate_endpoint's code, kept
  CHECK(parsed.error().field == "endpoints[0].secret");
  CHECK(error_of(R"({"endpoints": [{"name": "ops", "url": "https://x.example/h", "secret": "whsec_c2hvcnQ=",
                                    "signature": "standard_webhooks"}]})") ==
        "endpoints[0]: endpoint \"ops\": secret: 5 bytes, at least 16 are needed (a legacy receiver's "
        "shorter secret needs allow_short_secret)");
  CHECK(error_of(R"({"endpoints": [{"name": "ops", "url": "https://x.example/h", "secret": "sh0rt",
                                    "allow_short_secret": "yes"}]})") ==
        "endpoints[0].allow_short_secret: expected true or false");
  auto legacy = parse_rules(R"({"endpoints": [{"name": "ops", "url": "https://x.example/h", "secret": "sh0rt",
                                               "allow_short_secret": true}]})");
  REQUIRE(legacy);
  CHECK(legacy->endpoints.at(0).allow_short_secret);
  CHECK(legacy->endpoints.at(0).secret.reveal() == "sh0rt");
}

TEST_CASE("parse_rules errors carry invalid_json, invalid_config or the endpoint check's own code",
          "[unit][rules]") {
  const auto code_of = [](const std::string& json) {
    const auto parsed = parse_rules(json);
    REQUIRE_FALSE(parsed);
    return parsed.error().code;
  };
  const std::string ops = R"({"name": "ops", "url": "https://x.example/h", "secret": "a-long-random-secret")";
  CHECK(code_of(R"({"endpoints": [)" + ops + "},]}") == ErrorCode::invalid_json);
  CHECK(code_of(R"({"endpoints": [)" + ops + R"(, "timeout_ms": "5s"}]})") == ErrorCode::invalid_config);
  CHECK(code_of(R"({"endpoints": [)" + ops + R"(, "events": ["incidents.*"]}]})") ==
        ErrorCode::invalid_config);
  // What validate_endpoint (and so the Dispatcher's ConfigError) says, the rules file says too.
  CHECK(code_of(R"({"endpoints": [{"name": "ops", "url": "https://x.example/h", "secret": "sh0rt"}]})") ==
        ErrorCode::invalid_secret);
  CHECK(
      code_of(
          R"({"endpoints": [{"name": "ops", "url": "http://x.example/h", "secret": "a-long-random-secret"}]})") ==
      ErrorCode::invalid_url);
  CHECK(code_of(R"({"endpoints": [)" + ops + R"(, "headers": {"User-Agent": "me"}}]})") ==
        ErrorCode::invalid_header);
  CHECK(code_of(R"({"endpoints": [{"name": "pd", "format": "pagerduty"}]})") == ErrorCode::missing_field);
}

TEST_CASE("retry.schedule_ms entries are capped like the other _ms keys", "[unit][rules]") {
  CHECK(error_of(R"({"endpoints": [], "retry": {"schedule_ms": [5000, 10000000000000]}})") ==
        "retry.schedule_ms[1]: expected an integer from 0 to 2147483647000");
  CHECK(error_of(R"({"endpoints": [], "retry": {"schedule_ms": [-1]}})") ==
        "retry.schedule_ms[0]: expected an integer from 0 to 2147483647000");
  CHECK(error_of(R"({"endpoints": [], "retry": {"schedule_ms": [1e3]}})") ==
        "retry.schedule_ms[0]: expected an integer from 0 to 2147483647000");
  auto longest = parse_rules(R"({"endpoints": [], "retry": {"schedule_ms": [0, 2147483647000]}})");
  REQUIRE(longest);
  CHECK(longest->retry.schedule == std::vector<std::chrono::milliseconds>{0ms, 2147483647000ms});
}

TEST_CASE("every rules-file key is read into its own setting", "[integration][rules]") {
  // Each key set to a value unlike its default and unlike every other key's, so a key read into the
  // wrong field shows.
  auto parsed = parse_rules(R"({
    "endpoints": [
      {"name": "ops", "url": "https://hooks.example.com/ops", "method": "PATCH",
       "secret": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
       "signature": "standard_webhooks", "headers": {"X-Team": "ops", "X-Tier": "1"},
       "events": ["monitor.down"], "allow_http": true, "allow_private_network": true, "http2": true, "cacert": "/etc/ca.pem",
       "proxy": "socks5h://proxy.internal:1080", "timeout_ms": 4001, "connect_timeout_ms": 2002,
       "max_in_flight": 3, "rate_limit_per_minute": 42.5, "ordered": true, "allow_short_secret": true,
       "retry": {"max_attempts": 4, "max_age_ms": 3600000}},
      {"name": "pager", "format": "pagerduty", "routing_key": "e93facc04764012d7bfb002500d5d1a6"},
      {"name": "dd", "format": "datadog", "api_key": "dd-key", "site": "AP1"}
    ],
    "retry": {"max_attempts": 7, "initial_delay_ms": 1111, "factor": 2.5, "max_delay_ms": 222222,
              "jitter": 0.125, "schedule_ms": [3333, 4444], "max_age_ms": 5555555,
              "max_retry_after_ms": 666666},
    "max_pending": 7777, "io_threads": 9,
    "allowed_networks": ["10.20.0.0/16", "fd00::/8"], "allow_proxy": true
  })");
  INFO((parsed ? std::string() : parsed.error().message));
  REQUIRE(parsed);
  const DispatcherOptions& options = *parsed;
  CHECK(options.network.allowed_networks == std::vector<std::string>{"10.20.0.0/16", "fd00::/8"});
  CHECK(options.network.allow_proxy);
  REQUIRE(options.endpoints.size() == 3);
  const Endpoint& ops = options.endpoints[0];
  CHECK(ops.name == "ops");
  CHECK(ops.url == "https://hooks.example.com/ops");
  CHECK(ops.secret.reveal() == "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw");
  CHECK(ops.method == HttpMethod::patch);
  CHECK(ops.allow_short_secret);
  CHECK_FALSE(options.endpoints[1].allow_short_secret);
  CHECK(ops.signature == SignatureScheme::standard_webhooks);
  REQUIRE(ops.headers.size() == 2);
  CHECK(ops.headers[0].name == "X-Team");
  CHECK(ops.headers[0].value == "ops");
  CHECK(ops.headers[1].name == "X-Tier");
  CHECK(ops.headers[1].value == "1");
  CHECK(ops.events.patterns == std::vector<std::string>{"monitor.down"});
  CHECK(ops.options.allow_http);
  CHECK(ops.options.allow_private_network);
  CHECK_FALSE(options.endpoints[1].options.allow_private_network);
  CHECK(ops.options.http2);
  CHECK(ops.options.ca_file == "/etc/ca.pem");
  CHECK(ops.options.ca_path.empty());
  CHECK(ops.options.proxy == "socks5h://proxy.internal:1080");
  CHECK(ops.options.timeout == 4001ms);
  CHECK(ops.options.connect_timeout == 2002ms);
  CHECK(ops.max_in_flight == 3);
  CHECK(ops.rate_limit_per_minute == 42.5);
  CHECK(format_of(ops.format) == Format::statusstack);
  CHECK(ops.ordered);
  // The endpoint's own policy: what it says, and the top-level policy for the rest.
  REQUIRE(ops.retry.has_value());
  CHECK(ops.retry->max_attempts == 4);
  CHECK(ops.retry->max_age == 3600000ms);
  CHECK(ops.retry->initial_delay == 1111ms);
  CHECK(ops.retry->schedule == std::vector<std::chrono::milliseconds>{3333ms, 4444ms});
  CHECK(ops.retry->max_retry_after == 666666ms);
  const Endpoint& pager = options.endpoints[1];
  CHECK_FALSE(pager.ordered);
  CHECK_FALSE(pager.retry.has_value());
  CHECK(format_of(pager.format) == Format::pagerduty);
  CHECK(std::get<PagerDutyFormat>(pager.format).routing_key.reveal() == "e93facc04764012d7bfb002500d5d1a6");
  CHECK(pager.url.empty());
  CHECK(pager.secret.empty());
  const Endpoint& dd = options.endpoints[2];
  CHECK(format_of(dd.format) == Format::datadog);
  CHECK(std::get<DatadogFormat>(dd.format).api_key.reveal() == "dd-key");
  CHECK(std::get<DatadogFormat>(dd.format).site == DatadogSite::ap1);
  const RetryPolicy& retry = options.retry;
  CHECK(retry.max_attempts == 7);
  CHECK(retry.initial_delay == 1111ms);
  CHECK(retry.factor == 2.5);
  CHECK(retry.max_delay == 222222ms);
  CHECK(retry.jitter == 0.125);
  CHECK(retry.schedule == std::vector<std::chrono::milliseconds>{3333ms, 4444ms});
  CHECK(retry.max_age == 5555555ms);
  CHECK(retry.max_retry_after == 666666ms);
  CHECK(options.max_pending == 7777);
  CHECK(options.io_threads == 9);
}

#ifdef SSW_CLI_PATH
TEST_CASE("the CLI dispatches events from a file and prints one JSON line per report",
          "[integration][rules][cli]") {
  HttpTestServer all_server, incidents_server;
  const TempDir dir;
  const std::string rules =
      dir.write("rules.json",
                R"({"endpoints": [
      {"name": "all", "url": ")" +
                    all_server.url() +
                    R"(", "secret": "first-rules-secret", "allow_http": true, "allow_private_network": true},
      {"name": "incidents", "url": ")" +
                    incidents_server.url() +
                    R"(", "secret": "second-rules-secret", "allow_http": true, "allow_private_network": true,
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

TEST_CASE("the CLI refuses a rules file nested 10,000 deep with exit 2, not a crash",
          "[integration][rules][cli]") {
  const TempDir dir;
  const std::string rules =
      dir.write("deep.json", "{\"endpoints\": " + std::string(10000, '[') + std::string(10000, ']') + "}");
  const ProcessResult run =
      run_process({SSW_CLI_PATH, "dispatch", "--config", rules, "--events", dir.write("events.jsonl", "")});
  CHECK(run.exit_code == 2);
  CHECK(run.err.rfind("statusstack-webhook: " + rules + ": line 1, column 46: endpoints[0][0]", 0) == 0);
  CHECK(run.err.find(": nested deeper than 32 levels\n") != std::string::npos);
}

TEST_CASE("the CLI sends one test webhook and says what happened", "[integration][rules][cli]") {
  HttpTestServer server;
  const ProcessResult ok =
      run_process({SSW_CLI_PATH, "send", "--url", server.url(), "--allow-http", "--allow-private-network",
                   "--test", "--type", "monitor.down", "--header", "X-Team: ops"},
                  {"STATUSSTACK_WEBHOOK_SECRET=secret-from-the-environment"});
  INFO(ok.err);
  CHECK(ok.exit_code == 0);
  CHECK(ok.out.rfind("{\"status\":200,\"error\":null,\"latency_ms\":", 0) == 0);
  CHECK(ok.out.find("\"response\":\"ok\"}") != std::string::npos);
  const RecordedRequest got = server.requests().at(0);
  CHECK(*find_header(got.headers, "X-Team") == "ops");
  CHECK(*find_header(got.headers, "X-StatusStack-Test") == "true");
  CHECK(Verifier("secret-from-the-environment").verify_request(got.headers, got.body));

  const ProcessResult refused =
      run_process({SSW_CLI_PATH, "send", "--url", RefusedPort().url("/"), "--secret", "a-long-random-secret",
                   "--allow-http", "--allow-private-network", "--test"});
  CHECK(refused.exit_code == 1);
  CHECK(refused.out.rfind("{\"status\":null,\"error\":\"refused: ", 0) == 0);

  const ProcessResult http = run_process(
      {SSW_CLI_PATH, "send", "--url", server.url(), "--secret", "a-long-random-secret", "--test"});
  CHECK(http.exit_code == 2);
  CHECK(http.err.find("must be https://") != std::string::npos);
}
#endif

TEST_CASE("an endpoint's own retry policy in a rules file is checked, naming the endpoint's field",
          "[unit][rules]") {
  auto message_for = [](const std::string& retry) {
    auto parsed = parse_rules(R"({"endpoints": [{"name": "ops", "url": "https://hooks.example.com/x",
      "secret": "a-long-random-secret", "retry": )" +
                              retry + "}]}");
    return parsed ? std::string("no error") : parsed.error().message;
  };
  CHECK(message_for(R"({"max_attempts": 0})") ==
        "endpoints[0].retry.max_attempts: expected an integer from 1 to 1000");
  CHECK(message_for(R"({"factor": 0.5})") == "endpoints[0].retry.factor: must be at least 1");
  CHECK(message_for(R"({"schedule_ms": [-1]})") ==
        "endpoints[0].retry.schedule_ms[0]: expected an integer from 0 to 2147483647000");
  CHECK(message_for(R"({"tries": 3})") == "endpoints[0].retry.tries: unknown setting");
  CHECK(message_for(R"([])") == "endpoints[0].retry: expected an object");
  CHECK(message_for(R"({"max_attempts": 2})") == "no error");
  auto ordered = parse_rules(R"({"endpoints": [{"name": "ops", "url": "https://hooks.example.com/x",
    "secret": "a-long-random-secret", "ordered": "yes"}]})");
  REQUIRE_FALSE(ordered);
  CHECK(ordered.error().message == "endpoints[0].ordered: expected true or false");
}
