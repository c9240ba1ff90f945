// No secret shows in any output. Known, distinctive values (an endpoint secret, a whsec_ secret, a
// PagerDuty routing key, a Datadog API key, a URL password, a URL query token, a custom header value)
// go through every path the library and the tool have: configuration errors, exceptions, reports
// and attempt reports, stats and Prometheus, endpoints() printed as a program would print it, the
// store file on disk, and the command line in every mode. None of them may come out, raw, in hex or
// in base64. The receivers get them, of course: that is checked too, so the values did pass through.

#include <statusstack/webhooks/dispatcher.hpp>
#include <statusstack/webhooks/endpoint.hpp>
#include <statusstack/webhooks/events.hpp>
#include <statusstack/webhooks/formats.hpp>
#include <statusstack/webhooks/rules.hpp>
#include <statusstack/webhooks/signature.hpp>
#include <statusstack/webhooks/store.hpp>

#include "support/process.hpp"
#include "support/reports.hpp"
#include "support/servers.hpp"
#include "support/vendor_fakes.hpp"

#include <openssl/evp.h>

#include <catch2/catch.hpp>

#include <chrono>
#include <fstream>
#include <iterator>
#include <sstream>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

using namespace statusstack::webhooks;
using namespace statusstack::webhooks::testing;
using namespace std::chrono_literals;

namespace {

// The known values. Each is distinctive, so that finding it (or its hex or base64) means a leak.
const std::string plain_secret = "plain-SECRET-hidden-4f1c8a2e7d";
const std::string whsec_key = "whsec-decoded-key-HIDDEN-0123456";  // 32 bytes, the decoded key
const std::string whsec_secret = "whsec_d2hzZWMtZGVjb2RlZC1rZXktSElEREVOLTAxMjM0NTY=";  // base64 of it
const std::string short_secret = "SHORTsecret9";                        // under min_secret_bytes
const std::string routing_key = "RoutingKeyHiddenSecret0123456789";     // 32 letters and digits
const std::string bad_routing_key = "RoutingKeyHiddenBadChar0123456!";  // 32 characters, one not allowed
const std::string api_key = "DatadogApiKeyHidden-5e8d2c7b1a9f";
const std::string url_password = "UrlPassw0rdHidden";
const std::string query_token = "QueryTokenHidden42";
const std::string header_token = "HeaderValueHidden-8c1d";
const std::string header_value = "Bearer " + header_token;

std::string hex(std::string_view bytes, const char* digits) {
  std::string out;
  for (const char c : bytes) {
    out += digits[static_cast<unsigned char>(c) >> 4U];
    out += digits[static_cast<unsigned char>(c) & 0xFU];
  }
  return out;
}

std::string base64(std::string_view bytes) {
  std::string out(4 * ((bytes.size() + 2) / 3) + 1, '\0');
  const int n =
      EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                      reinterpret_cast<const unsigned char*>(bytes.data()), static_cast<int>(bytes.size()));
  out.resize(static_cast<std::size_t>(n));
  return out;
}

// Every value and every form of it a library could print: raw, hex in either case, base64.
const std::vector<std::pair<std::string, std::string>>& forbidden_forms() {
  static const std::vector<std::pair<std::string, std::string>> forms = [] {
    const std::vector<std::pair<std::string, std::string>> values{
        {"the endpoint secret", plain_secret},
        {"the whsec_ secret", whsec_secret},
        {"the whsec_ secret's base64", whsec_secret.substr(6)},
        {"the whsec_ secret's key", whsec_key},
        {"the short secret", short_secret},
        {"the routing key", routing_key},
        {"the malformed routing key", bad_routing_key},
        {"the API key", api_key},
        {"the URL password", url_password},
        {"the URL query token", query_token},
        {"the header value", header_token},
    };
    std::vector<std::pair<std::string, std::string>> all;
    for (const auto& [name, value] : values) {
      all.emplace_back(name, value);
      all.emplace_back(name + " in hex", hex(value, "0123456789abcdef"));
      all.emplace_back(name + " in HEX", hex(value, "0123456789ABCDEF"));
      all.emplace_back(name + " in base64", base64(value));
    }
    return all;
  }();
  return forms;
}

// The known values `text` shows, by name ("" when none: what every check expects).
std::string leaks(std::string_view text) {
  std::string found;
  for (const auto& [name, form] : forbidden_forms()) {
    if (text.find(form) != std::string_view::npos) found += (found.empty() ? "" : ", ") + name;
  }
  return found;
}

// Checks that `text` shows no known value; on failure, says which and where.
#define CHECK_HIDDEN(what, text)                             \
  do {                                                       \
    const std::string& shown_ = (text);                      \
    const std::string leaked_ = leaks(shown_);               \
    INFO((what) << " shows " << leaked_ << ":\n" << shown_); \
    CHECK(leaked_.empty());                                  \
  } while (false)

// "http://127.0.0.1:PORT/hook" with a user and password before the host and a token in the query.
std::string with_credentials(const std::string& url) {
  const std::string scheme = url.substr(0, url.find("://") + 3);
  return scheme + "hidden-user:" + url_password + "@" + url.substr(scheme.size()) + "?token=" + query_token;
}

// A statusstack endpoint that holds every kind of secret it can: its own, the URL's and a header's.
Endpoint secret_holding(std::string name, const std::string& url) {
  Endpoint endpoint = local_endpoint(std::move(name), with_credentials(url));
  endpoint.secret = plain_secret;
  endpoint.headers.push_back({"Authorization", header_value});
  return endpoint;
}

// Endpoints that validate_endpoint refuses, each with a setting wrong next to the secrets (or the
// secret itself wrong). The URLs are https:// and never connected to.
std::vector<std::pair<std::string, Endpoint>> refused_endpoints() {
  Endpoint base;
  base.name = "ops";
  base.url = "https://hidden-user:" + url_password + "@hooks.example.com/h?token=" + query_token;
  base.secret = plain_secret;
  base.headers.push_back({"Authorization", header_value});
  std::vector<std::pair<std::string, Endpoint>> cases;
  const auto add = [&](std::string what, auto&& change) {
    Endpoint endpoint = base;
    change(endpoint);
    cases.emplace_back(std::move(what), std::move(endpoint));
  };
  add("an invalid name", [](Endpoint& e) { e.name = "o p s"; });
  add("http:// without allow_http", [](Endpoint& e) { e.url.replace(0, 5, "http"); });
  add("an ftp:// URL", [](Endpoint& e) { e.url.replace(0, 5, "ftp"); });
  add("a URL without a scheme", [](Endpoint& e) { e.url.erase(0, 8); });
  add("a URL without a host",
      [](Endpoint& e) { e.url = "https://hidden-user:" + url_password + "@/h?token=" + query_token; });
  add("a file:// proxy", [](Endpoint& e) {
    e.options.proxy = "file://hidden-user:" + url_password + "@proxy.example/?token=" + query_token;
  });
  add("a proxy without a host", [](Endpoint& e) {
    e.options.proxy = "http://hidden-user:" + url_password + "@/?token=" + query_token;
  });
  add("a header value with CR LF", [](Endpoint& e) { e.headers[0].value += "\r\nX-Evil: 1"; });
  add("a header value with a control character", [](Endpoint& e) { e.headers[0].value += "\x01"; });
  add("a header value too long", [](Endpoint& e) { e.headers[0].value += std::string(9000, 'x'); });
  add("a reserved header", [](Endpoint& e) {
    e.headers.push_back({"X-StatusStack-Signature", header_value});
  });
  add("DD-API-KEY as a custom header", [](Endpoint& e) { e.headers.push_back({"DD-API-KEY", api_key}); });
  add("an invalid header name", [](Endpoint& e) { e.headers.push_back({"Bad Name", header_value}); });
  add("a short secret", [](Endpoint& e) { e.secret = short_secret; });
  add("an empty secret", [](Endpoint& e) { e.secret.clear(); });
  add("a plain secret for standard_webhooks",
      [](Endpoint& e) { e.signature = SignatureScheme::standard_webhooks; });
  add("a short whsec_ secret", [](Endpoint& e) {
    e.signature = SignatureScheme::standard_webhooks;
    e.secret = "whsec_" + base64(short_secret);
  });
  add("an event filter matching nothing", [](Endpoint& e) { e.events.patterns = {"incidents.*"}; });
  add("a retry policy without attempts", [](Endpoint& e) {
    e.retry = RetryPolicy{};
    e.retry->max_attempts = 0;
  });
  add("max_in_flight 0", [](Endpoint& e) { e.max_in_flight = 0; });
  add("a negative rate limit", [](Endpoint& e) { e.rate_limit_per_minute = -1.0; });
  add("a zero timeout", [](Endpoint& e) { e.options.timeout = 0ms; });
  add("a routing key too long", [](Endpoint& e) { e.format = PagerDutyFormat{Secret(routing_key + "X")}; });
  add("a routing key with a character not allowed",
      [](Endpoint& e) { e.format = PagerDutyFormat{Secret(bad_routing_key)}; });
  add("an API key with a space", [](Endpoint& e) { e.format = DatadogFormat{Secret(api_key + " x")}; });
  add("a datadog endpoint without an API key, its secret and URL set",
      [](Endpoint& e) { e.format = DatadogFormat{}; });
  return cases;
}

std::string file_bytes(const std::string& path) {
  std::ifstream file(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(file), std::istreambuf_iterator<char>()};
}

template <typename T>
std::string printed(const T& value) {
  std::ostringstream out;
  out << value;
  return out.str();
}

}  // namespace

TEST_CASE("the leak check finds each known value raw, in hex and in base64", "[unit][secrets]") {
  // The check itself must be able to fail.
  CHECK(leaks("the key is " + routing_key) == "the routing key");
  CHECK(leaks(hex(api_key, "0123456789abcdef")) == "the API key in hex");
  CHECK(leaks("x" + base64(url_password) + "x") == "the URL password in base64");
  CHECK(leaks(whsec_secret) ==
        "the whsec_ secret, the whsec_ secret's base64, the whsec_ secret's key in base64");
  CHECK(leaks(header_value) == "the header value");
  CHECK(leaks("nothing secret here").empty());
}

TEST_CASE("validate_endpoint, make_signed_request and send_test never show a secret in their errors",
          "[unit][secrets]") {
  for (const auto& [what, endpoint] : refused_endpoints()) {
    INFO(what);
    const Result<void> valid = validate_endpoint(endpoint);
    REQUIRE_FALSE(valid);
    CHECK_HIDDEN("validate_endpoint's message", valid.error().message);
    CHECK_HIDDEN("validate_endpoint's field", valid.error().field);
    if (const Result<void> format = validate_format_settings(endpoint.format); !format) {
      CHECK_HIDDEN("validate_format_settings' message", format.error().message);
    }
    try {
      static_cast<void>(make_signed_request(example_event(EventType::monitor_down), endpoint, "dlv_x"));
      FAIL("make_signed_request took an invalid endpoint");
    } catch (const ConfigError& e) {
      CHECK_HIDDEN("make_signed_request's ConfigError", e.what());
    }
    WebhookClient client;
    const Outcome refused = send_test(client, endpoint).outcome;
    CHECK(refused.error == TransportError::invalid_request);
    CHECK_HIDDEN("send_test's outcome", refused.describe());
  }
}

TEST_CASE("the signers and verifiers never show a secret in their errors", "[unit][secrets]") {
  const auto message_of = [](auto&& make) -> std::string {
    try {
      make();
    } catch (const ConfigError& e) {
      return e.what();
    }
    return "no error";
  };
  const std::vector<std::string> messages{
      message_of([] { StandardWebhooksSigner signer(plain_secret); }),
      message_of([] { StandardWebhooksVerifier verifier(Secret("whsec_" + plain_secret)); }),
      message_of([] {
        StandardWebhooksVerifier verifier(std::vector<std::string>{whsec_secret, plain_secret});
      }),
      message_of([] {
        Verifier verifier(std::vector<std::string>{plain_secret, ""});
      }),
  };
  for (const std::string& message : messages) {
    CHECK(message != "no error");
    CHECK_HIDDEN("ConfigError", message);
  }
}

TEST_CASE("the Dispatcher constructor and upsert_endpoint never show a secret in their ConfigError",
          "[unit][secrets][dispatcher]") {
  Endpoint valid = refused_endpoints().front().second;
  valid.name = "ops";
  REQUIRE(validate_endpoint(valid));
  DispatcherOptions options;
  options.endpoints = {valid};
  Dispatcher dispatcher(options);
  for (const auto& [what, endpoint] : refused_endpoints()) {
    INFO(what);
    DispatcherOptions refused;
    refused.endpoints = {valid, endpoint};
    refused.endpoints[1].name = endpoint.name == "ops" ? "second" : endpoint.name;
    try {
      Dispatcher never(std::move(refused));
      FAIL("the Dispatcher took an invalid endpoint");
    } catch (const ConfigError& e) {
      CHECK_HIDDEN("the Dispatcher's ConfigError", e.what());
      CHECK_HIDDEN("its field", e.error().field);
    }
    try {
      dispatcher.upsert_endpoint(endpoint);
      FAIL("upsert_endpoint took an invalid endpoint");
    } catch (const ConfigError& e) {
      CHECK_HIDDEN("upsert_endpoint's ConfigError", e.what());
    }
  }
  DispatcherOptions twice;
  twice.endpoints = {valid, valid};
  try {
    Dispatcher never(std::move(twice));
    FAIL("the Dispatcher took a name twice");
  } catch (const ConfigError& e) {
    CHECK(std::string(e.what()).find("used twice") != std::string::npos);
    CHECK_HIDDEN("the Dispatcher's ConfigError", e.what());
  }
  // The configuration it holds has the secrets (it signs with them); printed, they are "***".
  const std::vector<Endpoint> held = dispatcher.endpoints();
  REQUIRE(held.size() == 1);
  CHECK(held[0].secret.reveal() == plain_secret);
  CHECK(printed(held[0].secret) == "***");
  CHECK_HIDDEN("the endpoint printed as a program would", held[0].name + " " + redact_url(held[0].url) + " " +
                                                              printed(held[0].secret) + " " +
                                                              held[0].headers[0].name);
}

TEST_CASE("parse_rules never shows a secret in its errors, wherever the mistake is",
          "[unit][secrets][rules]") {
  const std::string url = "https://hidden-user:" + url_password + "@hooks.example.com/h?token=" + query_token;
  // An endpoint with every secret a rules file holds, then `extra` (more members, or a broken end).
  const auto endpoint = [&](const std::string& secret, const std::string& extra) {
    return R"({"name": "ops", "url": ")" + url + R"(", "secret": ")" + secret +
           R"(", "headers": {"Authorization": ")" + header_value + "\"}" + extra;
  };
  const auto file = [&](const std::string& one) { return R"({"endpoints": [)" + one + "]}"; };
  const auto http_instead = [](std::string text) {
    return text.replace(text.find("https://"), 8, "http://");
  };
  const std::vector<std::pair<std::string, std::string>> cases{
      {"a trailing comma after the secrets", file(endpoint(plain_secret, "},"))},
      {"an invalid escape in the secret", file(endpoint(plain_secret + "\\q", "}"))},
      {"a secret that does not end", R"({"endpoints": [{"name": "ops", "secret": ")" + plain_secret},
      {"a raw newline in the secret", file(endpoint(plain_secret + "\n", "}"))},
      {"invalid UTF-8 in the secret", file(endpoint(plain_secret + "\xff", "}"))},
      {"the secret twice", file(endpoint(plain_secret, R"(, "secret": ")" + plain_secret + "\"}"))},
      {"an unknown setting", file(endpoint(plain_secret, R"(, "timeout": 5})"))},
      {"a short secret", file(endpoint(short_secret, "}"))},
      {"a secret that is not a string",
       R"({"endpoints": [{"name": "ops", "url": ")" + url + R"(", "secret": 5}]})"},
      {"http:// without allow_http", http_instead(file(endpoint(plain_secret, "}")))},
      {"a header value with CR LF", file(endpoint(plain_secret, R"(, "headers": {"X-Key": "a\r\nb"}})"))},
      {"a reserved header", file(R"({"name": "ops", "url": ")" + url + R"(", "secret": ")" + plain_secret +
                                 R"(", "headers": {"DD-API-KEY": ")" + api_key + "\"}}")},
      {"a header value that is not a string",
       file(R"({"name": "ops", "url": ")" + url + R"(", "secret": ")" + plain_secret +
            R"(", "headers": {"Authorization": [")" + header_value + "\"]}}")},
      {"a whsec_ secret that is not base64",
       file(endpoint("whsec_" + plain_secret, R"(, "signature": "standard_webhooks"})"))},
      {"a short whsec_ secret",
       file(endpoint("whsec_" + base64(short_secret), R"(, "signature": "standard_webhooks"})"))},
      {"a routing key for the statusstack format",
       file(endpoint(plain_secret, R"(, "routing_key": ")" + routing_key + "\"}"))},
      {"a malformed routing key",
       file(R"({"name": "pd", "format": "pagerduty", "routing_key": ")" + bad_routing_key + "\"}")},
      {"an API key for the pagerduty format",
       file(R"({"name": "pd", "format": "pagerduty", "routing_key": ")" + routing_key + R"(", "api_key": ")" +
            api_key + "\"}")},
      {"an API key with a space",
       file(R"({"name": "dd", "format": "datadog", "api_key": ")" + api_key + " x\"}")},
      {"an event filter matching nothing", file(endpoint(plain_secret, R"(, "events": ["incidents.*"]})"))},
      {"a name used twice", file(endpoint(plain_secret, "},") + endpoint(whsec_secret, "}"))},
      {"a bad retry policy after the endpoints",
       R"({"endpoints": [)" + endpoint(plain_secret, "}") + R"(], "retry": {"max_attempts": 0}})"},
  };
  for (const auto& [what, text] : cases) {
    INFO(what << ": " << text);
    CHECK_FALSE(leaks(text).empty());  // the file holds secrets...
    const Result<DispatcherOptions> parsed = parse_rules(text);
    REQUIRE_FALSE(parsed);
    CHECK_HIDDEN("parse_rules' message", parsed.error().message);  // ...its error does not
    CHECK_HIDDEN("parse_rules' field", parsed.error().field);
  }
}

TEST_CASE("reports, attempt reports, stats, Prometheus, endpoints() and the store file never show a secret",
          "[integration][secrets][dispatcher]") {
  TempDir dir;
  // Receivers whose answers say nothing secret; between them every kind of report.
  HttpTestServer ok;
  HttpTestServer unprocessable([](const RecordedRequest&) { return Reply{422, {}, "missing field id", {}}; });
  HttpTestServer unavailable([](const RecordedRequest&) {
    return Reply{503, {{"Retry-After", "0"}}, "busy, come back later", {}};
  });
  HttpTestServer redirecting([](const RecordedRequest&) {
    return Reply{302, {{"Location", "https://elsewhere.example/moved"}}, "", {}};
  });
  HttpTestServer gone([](const RecordedRequest&) { return Reply{410, {}, "no such hook", {}}; });
  HttpTestServer vendor_refusal([](const RecordedRequest&) {
    return Reply{
        400,
        {{"Content-Type", "application/json"}},
        R"({"status":"invalid event","message":"Event object is invalid","errors":["payload is wrong"]})",
        {}};
  });
  RawTestServer silent(RawBehaviour::never_answer);
  const RefusedPort refused;
  FakePagerDuty pagerduty;
  FakeDatadog datadog;
  FakeDatadog datadog_other_key;
  datadog_other_key.set_expected_api_key("another key entirely");

  DispatcherOptions options;
  options.endpoints = {secret_holding("ok", ok.url()),
                       secret_holding("unprocessable", unprocessable.url()),
                       secret_holding("unavailable", unavailable.url()),
                       secret_holding("redirecting", redirecting.url()),
                       secret_holding("gone", gone.url()),
                       secret_holding("silent", silent.url()),
                       secret_holding("refused", refused.url())};
  options.endpoints[5].options.timeout = 300ms;
  options.endpoints[5].options.connect_timeout = 300ms;
  Endpoint standard = secret_holding("standard", ok.url());
  standard.signature = SignatureScheme::standard_webhooks;
  standard.secret = whsec_secret;
  options.endpoints.push_back(standard);
  for (const auto& [name, url, format] : std::vector<std::tuple<std::string, std::string, Format>>{
           {"pagerduty", pagerduty.url(), Format::pagerduty},
           {"pagerduty-refusal", vendor_refusal.url(), Format::pagerduty},
           {"datadog", datadog.url(), Format::datadog},
           {"datadog-forbidden", datadog_other_key.url(), Format::datadog}}) {
    Endpoint vendor = secret_holding(name, url);
    if (format == Format::pagerduty) vendor.format = PagerDutyFormat{Secret(routing_key)};
    if (format == Format::datadog) vendor.format = DatadogFormat{Secret(api_key)};
    options.endpoints.push_back(vendor);
  }
  options.retry = quick_retries(2, 20ms);
  options.store.path = dir.file("deliveries.db");
  options.store.durability = Durability::process_crash;
  Recorder recorder;
  recorder.install(options);
  const std::size_t endpoint_count = options.endpoints.size();

  Dispatcher dispatcher(options);
  for (const EventType type : {EventType::monitor_down, EventType::incident_created}) {
    const Result<Accepted> accepted = dispatcher.dispatch(example_event(type));
    REQUIRE(accepted);
    CHECK(accepted->deliveries.size() == endpoint_count);
  }
  REQUIRE(dispatcher.flush(30s));

  // The values did reach the receivers: the checks below look at outputs that had them at hand.
  REQUIRE(ok.request_count() >= 2);
  const RecordedRequest got = ok.requests().at(0);
  CHECK(find_header(got.headers, "Authorization") != nullptr);
  CHECK(*find_header(got.headers, "Authorization") == header_value);
  REQUIRE(pagerduty.wait_for_answers(2, 5s));
  CHECK(pagerduty.exchanges().at(0).request.body.find(routing_key) != std::string::npos);

  const std::vector<DeliveryReport> reports = recorder.all();
  REQUIRE(reports.size() == 2 * endpoint_count);
  std::size_t delivered = 0;
  for (const DeliveryReport& report : reports) {
    INFO(report.endpoint);
    delivered += report.delivered ? 1 : 0;
    CHECK_HIDDEN("a report", report.delivery_id + "\n" + report.endpoint + "\n" + report.receipt + "\n" +
                                 report.detail + "\n" + report.last.describe() + "\n" +
                                 report.last.error_message + "\n" + report.last.body + "\n" +
                                 report.last.location + "\n" + report.last.content_type + "\n" +
                                 report.last.remote_address);
  }
  CHECK(delivered == std::size_t{8});  // ok, standard, pagerduty, datadog
  const std::vector<AttemptReport> attempts = recorder.all_attempts();
  CHECK(attempts.size() >= std::size_t{12});  // six failing endpoints, two events
  for (const AttemptReport& attempt : attempts) {
    CHECK_HIDDEN("an attempt report", attempt.delivery_id + "\n" + attempt.endpoint + "\n" + attempt.detail +
                                          "\n" + attempt.outcome.describe() + "\n" +
                                          attempt.outcome.error_message + "\n" + attempt.outcome.body);
  }
  CHECK_HIDDEN("to_prometheus", to_prometheus(dispatcher.stats()));

  // endpoints() is the configuration, secrets included; printed as a program prints it, none shows.
  const std::vector<Endpoint> held = dispatcher.endpoints();
  REQUIRE(held.size() == endpoint_count);
  for (const Endpoint& endpoint : held) {
    INFO(endpoint.name);
    CHECK_FALSE(endpoint.secret.empty());
    std::string text = endpoint.name + " " + redact_url(endpoint.url) + " " +
                       redact_url(endpoint.options.proxy) + " " + printed(endpoint.secret);
    if (const auto* pagerduty_format = std::get_if<PagerDutyFormat>(&endpoint.format))
      text += " " + printed(pagerduty_format->routing_key);
    if (const auto* datadog_format = std::get_if<DatadogFormat>(&endpoint.format))
      text += " " + printed(datadog_format->api_key);
    for (const Header& header : endpoint.headers) text += " " + header.name;
    CHECK_HIDDEN("an endpoint printed", text);
  }

  const auto stored = dispatcher.deliveries(DeliveryQuery{});
  REQUIRE(stored);
  CHECK(stored->size() == 2 * endpoint_count - delivered);  // delivered ones are not kept by default
  dispatcher.shutdown();

  // The store: neither its rows nor its bytes on disk (the file, its WAL) hold a secret.
  Result<StoreFile> file = StoreFile::open(options.store.path);
  REQUIRE(file);
  const auto rows = file->list(DeliveryQuery{});
  REQUIRE(rows);
  CHECK(rows->size() == 2 * endpoint_count - delivered);
  for (const StoredDelivery& row : *rows) {
    CHECK_HIDDEN("a stored delivery", row.id + "\n" + row.endpoint + "\n" + row.last_error + "\n" +
                                          row.detail + "\n" + row.event_json);
  }
  for (const char* suffix : {"", "-wal", "-shm", "-journal"}) {
    CHECK_HIDDEN(std::string("the store file") + suffix, file_bytes(options.store.path + suffix));
  }
  CHECK_FALSE(file_bytes(options.store.path).empty());
}

TEST_CASE("WebhookClient outcomes never show a URL's password or token", "[integration][secrets]") {
  const RefusedPort refused;
  HttpTestServer ok([](const RecordedRequest&) { return Reply{503, {}, "unavailable", {}}; });
  // The proxy below is on 127.0.0.1 too: allowed, so that its connection is refused for real.
  NetworkGuard guard;
  guard.allow_proxy = true;
  guard.allowed_networks = {"127.0.0.0/8"};
  WebhookClient client(guard);
  for (const std::string& url : {with_credentials(refused.url()), with_credentials(ok.url())}) {
    Request request;
    request.url = url;
    request.options.allow_http = true;
    request.headers.push_back({"Authorization", header_value});
    request.body = "{}";
    const Outcome outcome = client.send(request);
    CHECK_FALSE(outcome.ok());
    CHECK_HIDDEN("an outcome", outcome.describe() + "\n" + outcome.error_message + "\n" + outcome.body);
  }
  // Through a proxy with a password that refuses the connection: curl's message names the proxy's
  // host and port only.
  Request proxied;
  proxied.url = "https://hooks.example.com/h?token=" + query_token;
  proxied.options.proxy =
      "http://hidden-user:" + url_password + "@127.0.0.1:" + std::to_string(refused.port());
  proxied.body = "{}";
  const Outcome outcome = client.send(proxied);
  CHECK_FALSE(outcome.ok());
  CHECK(outcome.error == TransportError::refused);
  CHECK_HIDDEN("an outcome through a proxy", outcome.describe() + "\n" + outcome.error_message);
}

#ifdef SSW_CLI_PATH

namespace {

// The tool with `args`, STATUSSTACK_WEBHOOK_SECRET unset unless `env` sets it.
ProcessResult run_cli(std::vector<std::string> args, const std::vector<std::string>& env = {},
                      const std::string& input_file = "") {
  args.insert(args.begin(), {"env", "-u", "STATUSSTACK_WEBHOOK_SECRET"});
  args.insert(args.begin() + 3, env.begin(), env.end());
  args.insert(args.begin() + 3 + static_cast<std::ptrdiff_t>(env.size()), SSW_CLI_PATH);
  return run_process(args, {}, input_file);
}

// One endpoint of a rules file for a local receiver, with every secret a rules file holds.
std::string rules_endpoint(const std::string& name, const std::string& url, const std::string& extra = "") {
  return R"({"name": ")" + name + R"(", "url": ")" + with_credentials(url) + R"(", "secret": ")" +
         plain_secret +
         R"(", "allow_http": true, "allow_private_network": true, "timeout_ms": 2000, "headers": {"Authorization": ")" +
         header_value + "\"}" + extra + "}";
}

}  // namespace

TEST_CASE("the command line never shows a secret on standard output or standard error, in any mode",
          "[integration][secrets][cli]") {
  TempDir dir;
  HttpTestServer ok;
  HttpTestServer failing([](const RecordedRequest&) { return Reply{500, {}, "internal trouble", {}}; });
  const RefusedPort refused;
  // Moved for good, as an http:// to https:// redirect does: the Location keeps the query, token included.
  HttpTestServer moved([](const RecordedRequest&) {
    return Reply{308, {{"Location", "https://hooks.example.com/hook?token=" + query_token}}, "", {}};
  });
  FakePagerDuty pagerduty;
  FakeDatadog datadog;
  datadog.set_expected_api_key("another key entirely");  // 403
  const std::string body_file = dir.write("body.json", to_json(example_event(EventType::monitor_down)));
  const std::string secret_file = dir.write("secret", plain_secret + "\n");
  const std::string whsec_file = dir.write("whsec", whsec_secret + "\n");
  const std::vector<std::string> header = {"--header", "Authorization: " + header_value};

  std::vector<std::pair<std::string, ProcessResult>> runs;
  const auto run = [&](std::string what, std::vector<std::string> args,
                       const std::vector<std::string>& env = {}, const std::string& input = "") {
    runs.emplace_back(std::move(what), run_cli(std::move(args), env, input));
    return runs.back().second;
  };
  const auto send = [&](const std::string& url, std::vector<std::string> more) {
    std::vector<std::string> args{
        "send", "--url", with_credentials(url), "--allow-http", "--allow-private-network", "--test"};
    args.insert(args.end(), header.begin(), header.end());
    args.insert(args.end(), more.begin(), more.end());
    return args;
  };

  CHECK(run("send, delivered", send(ok.url(), {"--secret", plain_secret})).exit_code == 0);
  CHECK(run("send, HTTP 500", send(failing.url(), {"--secret", plain_secret})).exit_code == 1);
  CHECK(run("send, refused", send(refused.url(), {"--secret", plain_secret})).exit_code == 1);
  CHECK(run("send, --secret-file", send(ok.url(), {"--secret-file", secret_file})).exit_code == 0);
  CHECK(run("send, the secret from the environment", send(ok.url(), {}),
            {"STATUSSTACK_WEBHOOK_SECRET=" + plain_secret})
            .exit_code == 0);
  CHECK(run("send, standard webhooks", send(ok.url(), {"--standard-webhooks", "--secret-file", whsec_file}))
            .exit_code == 0);
  CHECK(run("send, pagerduty", send(pagerduty.url(), {"--format", "pagerduty", "--routing-key", routing_key}))
            .exit_code == 0);
  CHECK(run("send, datadog forbidden", send(datadog.url(), {"--format", "datadog", "--api-key", api_key}))
            .exit_code == 1);
  CHECK(run("send, redirected", send(moved.url(), {"--secret", plain_secret})).exit_code == 1);
  CHECK(run("send, an event file",
            {"send", "--url", with_credentials(ok.url()), "--allow-http", "--allow-private-network",
             "--secret", plain_secret, "--event-file", body_file})
            .exit_code == 0);
  // Errors in the arguments, each next to secrets.
  CHECK(run("send, http:// without --allow-http",
            {"send", "--url", with_credentials(ok.url()), "--test", "--secret", plain_secret})
            .exit_code == 2);
  CHECK(run("send, a short secret", send(ok.url(), {"--secret", short_secret})).exit_code == 2);
  CHECK(run("send, a plain secret for standard webhooks",
            send(ok.url(), {"--standard-webhooks", "--secret", plain_secret}))
            .exit_code == 2);
  CHECK(run("send, a reserved header", send(ok.url(), {"--secret", plain_secret, "--header",
                                                       "X-StatusStack-Signature: " + header_value}))
            .exit_code == 2);
  CHECK(run("send, a malformed routing key",
            send(pagerduty.url(), {"--format", "pagerduty", "--routing-key", bad_routing_key}))
            .exit_code == 2);
  CHECK(run("send, an API key for statusstack",
            send(ok.url(), {"--secret", plain_secret, "--api-key", api_key}))
            .exit_code == 2);
  CHECK(run("send, two secrets", send(ok.url(), {"--secret", plain_secret, "--secret", whsec_secret}))
            .exit_code == 2);
  CHECK(run("render, a malformed routing key",
            {"render", "--format", "pagerduty", "--routing-key", bad_routing_key, body_file})
            .exit_code == 2);
  CHECK(run("render, a routing key for datadog",
            {"render", "--format", "datadog", "--routing-key", routing_key, body_file})
            .exit_code == 2);
  // sign prints a signature (a MAC, not the key); verify says valid or why not.
  // Options a command does not take, with a secret for a value: the tool names the option, not the value.
  CHECK(run("render with --api-key", {"render", "--format", "datadog", body_file, "--api-key", api_key})
            .exit_code == 2);
  const ProcessResult misplaced =
      run("dispatch with --secret", {"dispatch", "--config", body_file, "--secret", plain_secret});
  CHECK(misplaced.exit_code == 2);
  CHECK(misplaced.err ==
        "statusstack-webhook: unexpected arguments: --secret and 1 value (not shown: one may be a secret)\n"
        "Run with --help for more information.\n");
  CHECK(run("sign with --header", {"sign", "--secret", plain_secret, body_file, "--header", header_value})
            .exit_code == 2);
  CHECK(run("sign", {"sign", "--secret", plain_secret, body_file}).exit_code == 0);
  CHECK(run("sign, standard webhooks",
            {"sign", "--standard-webhooks", "--secret", whsec_secret, "--id", "msg_1", body_file})
            .exit_code == 0);
  CHECK(run("verify, a wrong signature",
            {"verify", "--secret", plain_secret, "--signature", std::string(64, 'a'), body_file})
            .exit_code == 1);

  // dispatch: a rules file with every secret, its reports, its summary, and a store listed after.
  const std::string rules = dir.write(
      "rules.json", R"({"endpoints": [)" + rules_endpoint("ok", ok.url()) + ", " +
                        rules_endpoint("failing", failing.url()) + ", " +
                        rules_endpoint("refused", refused.url()) + ", " +
                        rules_endpoint("moved", moved.url()) + ", " +
                        rules_endpoint("pagerduty", pagerduty.url(),
                                       R"(, "format": "pagerduty", "routing_key": ")" + routing_key + "\"") +
                        ", " +
                        rules_endpoint("datadog", datadog.url(),
                                       R"(, "format": "datadog", "api_key": ")" + api_key + "\"") +
                        R"(], "retry": {"max_attempts": 2, "initial_delay_ms": 10, "jitter": 0}})");
  const std::string events =
      dir.write("events.jsonl", to_json(example_event(EventType::monitor_down)) + "\n" +
                                    to_json(example_event(EventType::incident_created)) + "\n");
  const std::string store = dir.file("store.db");
  CHECK(run("dispatch", {"dispatch", "--config", rules, "--events", events}).exit_code == 1);  // some fail
  CHECK(run("dispatch --store", {"dispatch", "--config", rules, "--events", events, "--store", store})
            .exit_code == 1);
  CHECK(run("deliveries list", {"deliveries", "--store", store, "list"}).exit_code == 0);
  CHECK(run("deliveries list --failed --json", {"deliveries", "--store", store, "list", "--failed", "--json"})
            .exit_code == 0);
  CHECK(run("deliveries stats", {"deliveries", "--store", store, "stats"}).exit_code == 0);
  std::vector<std::string> ids;
  for (const std::string& line :
       lines_of(run("deliveries list --json", {"deliveries", "--store", store, "list", "--json"}).out)) {
    const auto at = line.find("\"id\":\"");
    if (at != std::string::npos) ids.push_back(line.substr(at + 6, line.find('"', at + 6) - at - 6));
  }
  REQUIRE(ids.size() == 8);  // the failed deliveries: failing, refused, moved, datadog
  CHECK(run("deliveries show", {"deliveries", "--store", store, "show", ids.front()}).exit_code == 0);
  // The tables people read on a terminal.
  for (const std::vector<std::string>& args :
       {std::vector<std::string>{"list"}, {"show", ids.front()}, {"stats"}}) {
    std::vector<std::string> argv{SSW_CLI_PATH, "deliveries", "--store", store};
    argv.insert(argv.end(), args.begin(), args.end());
    runs.emplace_back("deliveries " + args.front() + " on a terminal", run_on_terminal(argv));
    CHECK(runs.back().second.exit_code == 0);
    CHECK(runs.back().second.out.find(args.front() == "stats" ? "failed" : "dlv_") != std::string::npos);
  }
  // A rules file with a mistake next to the secrets.
  for (const std::string& broken :
       {R"({"endpoints": [)" + rules_endpoint("ok", ok.url(), R"(, "timeout": 5)") + "]}",
        R"({"endpoints": [)" + rules_endpoint("ok", ok.url()) + ",]}",
        R"({"endpoints": [{"name": "ok", "url": ")" + ok.url() + R"(", "secret": ")" + short_secret + "\"}]}",
        R"({"endpoints": [{"name": "pd", "format": "pagerduty", "routing_key": ")" + bad_routing_key +
            "\"}]}"}) {
    CHECK(run("dispatch, a broken rules file",
              {"dispatch", "--config", dir.write("broken.json", broken), "--events", events})
              .exit_code == 2);
  }

  CHECK(ok.request_count() > 0);
  for (const auto& [what, result] : runs) {
    INFO(what << ", exit " << result.exit_code);
    CHECK_HIDDEN("standard output", result.out);
    CHECK_HIDDEN("standard error", result.err);
  }
  CHECK_HIDDEN("the store file", file_bytes(store) + file_bytes(store + "-wal"));
}

#endif
