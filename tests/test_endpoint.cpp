// Endpoints, signed requests and "send test webhook", checked by real receivers on 127.0.0.1.

#include <statusstack/webhooks/dispatcher.hpp>
#include <statusstack/webhooks/endpoint.hpp>
#include <statusstack/webhooks/version.hpp>

#include "endpoint_signing.hpp"

#include "support/docs.hpp"
#include "support/process.hpp"
#include "support/reports.hpp"
#include "support/servers.hpp"

#include <catch2/catch.hpp>

#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdint>
#include <regex>
#include <set>
#include <thread>
#include <vector>

using namespace statusstack::webhooks;
using namespace statusstack::webhooks::testing;

namespace {

// "dlv_" and 26 characters of the lowercase Crockford base32 alphabet.
bool well_formed_delivery_id(const std::string& id) {
  return id.size() == 30 && id.rfind("dlv_", 0) == 0 &&
         id.find_first_not_of("0123456789abcdefghjkmnpqrstvwxyz", 4) == std::string::npos;
}

// The 48-bit millisecond count a delivery id starts with (its first 10 characters hold 50 bits).
std::int64_t delivery_id_millis(const std::string& id) {
  static const std::string alphabet = "0123456789abcdefghjkmnpqrstvwxyz";
  std::uint64_t bits = 0;
  for (std::size_t i = 4; i < 14; ++i) bits = (bits << 5U) | alphabet.find(id[i]);
  return static_cast<std::int64_t>(bits >> 2U);
}

std::int64_t unix_millis_now() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

Endpoint local_endpoint(const std::string& url) { return testing::local_endpoint("receiver", url); }

}  // namespace

TEST_CASE("a signed request carries the body, the wire headers and a signature that verifies",
          "[unit][endpoint]") {
  Endpoint endpoint = local_endpoint("https://hooks.example.com/statusstack");
  endpoint.headers = {{"X-Team", "payments"}};
  const Event event = example_event(EventType::component_status_changed);
  const auto signed_at = std::chrono::system_clock::from_time_t(1737282600);

  const Request request = make_signed_request(event, endpoint, "dlv_test", signed_at);

  CHECK(request.url == endpoint.url);
  CHECK(request.method == HttpMethod::post);
  CHECK(request.body == to_json(event));
  const std::vector<std::string> names = [&] {
    std::vector<std::string> out;
    for (const Header& h : request.headers) out.push_back(h.name);
    return out;
  }();
  CHECK(names == std::vector<std::string>{"Content-Type", "User-Agent", "X-StatusStack-Event",
                                          "X-StatusStack-Delivery", "X-StatusStack-Timestamp",
                                          "X-StatusStack-Signature", "X-Team"});
  CHECK(*find_header(request.headers, "Content-Type") == "application/json");
  CHECK(*find_header(request.headers, "User-Agent") == std::string("statusstack-webhooks/") + version());
  CHECK(*find_header(request.headers, "X-StatusStack-Event") == "component.status_changed");
  CHECK(*find_header(request.headers, "X-StatusStack-Delivery") == "dlv_test");
  CHECK(*find_header(request.headers, "X-StatusStack-Timestamp") == "1737282600");
  CHECK(*find_header(request.headers, "X-StatusStack-Signature") ==
        Signer(endpoint.secret).sign(request.body));
  CHECK(Verifier(endpoint.secret).verify_request(request.headers, request.body));
}

TEST_CASE("the Standard Webhooks scheme signs id.timestamp.body with the decoded whsec_ key",
          "[unit][endpoint]") {
  Endpoint endpoint = local_endpoint("https://hooks.example.com/x");
  endpoint.signature = SignatureScheme::standard_webhooks;
  endpoint.secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
  const auto signed_at = std::chrono::system_clock::now();
  const Request request =
      make_signed_request(example_event(EventType::monitor_down), endpoint, "msg_1", signed_at);
  CHECK(*find_header(request.headers, "webhook-id") == "msg_1");
  CHECK(find_header(request.headers, "X-StatusStack-Signature") == nullptr);
  CHECK(StandardWebhooksVerifier(endpoint.secret).verify_request(request.headers, request.body));
}

TEST_CASE("send_test delivers a sample marked as a test, and the receiver can verify it",
          "[integration][endpoint]") {
  HttpTestServer server;
  WebhookClient client;
  const Endpoint endpoint = local_endpoint(server.url());
  const TestDelivery test = send_test(client, endpoint, EventType::incident_created);
  REQUIRE(test.outcome.ok());
  const RecordedRequest got = server.requests().at(0);
  CHECK(*find_header(got.headers, "X-StatusStack-Test") == "true");
  CHECK(*find_header(got.headers, "X-StatusStack-Delivery") == test.delivery_id);
  CHECK(test.delivery_id.rfind("dlv_", 0) == 0);
  CHECK(*find_header(got.headers, "X-StatusStack-Event") == "incident.created");
  CHECK(Verifier(endpoint.secret).verify_request(got.headers, got.body));
  const auto parsed = parse_event(got.body);
  REQUIRE(parsed);
  CHECK(type_of(*parsed) == EventType::incident_created);

  Endpoint broken = endpoint;
  broken.url = "ftp://example.com/";
  const TestDelivery refused_test = send_test(client, broken);
  CHECK(refused_test.delivery_id.empty());  // nothing was sent
  const Outcome& refused = refused_test.outcome;
  CHECK(refused.error == TransportError::invalid_request);
  CHECK(refused.error_message ==
        "endpoint \"receiver\": url \"ftp://example.com/\": scheme must be https or http (got \"ftp\")");
}

TEST_CASE("a StatusStack endpoint needs a secret, a vendor endpoint does not", "[unit][endpoint]") {
  Endpoint plain = local_endpoint("https://hooks.example.com/h");
  plain.secret = "";
  REQUIRE_FALSE(validate_endpoint(plain));
  CHECK(validate_endpoint(plain).error().message == "endpoint \"receiver\": secret must not be empty");
  CHECK(validate_endpoint(plain).error().code == ErrorCode::invalid_secret);

  Endpoint pagerduty = plain;
  pagerduty.format = PagerDutyFormat{Secret("e93facc04764012d7bfb002500d5d1a6")};
  CHECK(validate_endpoint(pagerduty));  // the routing key authenticates
}

TEST_CASE("make_signed_request refuses an invalid endpoint with a ConfigError", "[unit][endpoint]") {
  Endpoint endpoint = local_endpoint("https://hooks.example.com/x");
  endpoint.headers = {{"X-StatusStack-Delivery", "mine"}};
  CHECK_THROWS_WITH(
      make_signed_request(example_event(EventType::monitor_down), endpoint, "dlv"),
      "endpoint \"receiver\": header \"X-StatusStack-Delivery\" is set by the library and cannot be "
      "overridden");
  endpoint.headers.clear();
  endpoint.signature = SignatureScheme::standard_webhooks;
  endpoint.secret = "whsec_***not base64***";
  CHECK_THROWS_AS(make_signed_request(example_event(EventType::monitor_down), endpoint, "dlv"), ConfigError);
}

TEST_CASE("event filters: everything, exact types and prefixes", "[unit][endpoint]") {
  const EventFilter everything;
  const EventFilter star{{"*"}};
  const EventFilter pager{{"incident.*", "monitor.down"}};
  for (EventType type : all_event_types) {
    CHECK(everything.matches(type));
    CHECK(star.matches(type));
  }
  CHECK(pager.matches(EventType::incident_created));
  CHECK(pager.matches(EventType::incident_resolved));
  CHECK(pager.matches(EventType::monitor_down));
  CHECK_FALSE(pager.matches(EventType::monitor_recovered));
  CHECK_FALSE(pager.matches(EventType::component_status_changed));
  CHECK(pager.validate());
  CHECK_FALSE(EventFilter{{"incident"}}.validate());
  CHECK_FALSE(EventFilter{{"monitor.up"}}.validate());
  CHECK(EventFilter{{"monitor.up"}}.validate().error().message.rfind(
            "event filter \"monitor.up\" matches no event type", 0) == 0);
}

TEST_CASE("delivery ids are distinct and shaped for headers", "[unit][endpoint]") {
  std::set<std::string> ids;
  for (int i = 0; i < 10000; ++i) {
    const std::string id = new_delivery_id();
    REQUIRE(well_formed_delivery_id(id));
    ids.insert(id);
  }
  CHECK(ids.size() == 10000);
}

TEST_CASE("delivery ids drawn from 8 threads and 2 processes at once are all distinct",
          "[integration][endpoint]") {
  constexpr std::size_t per_thread = 2000;
  // Drawn before the fork: an id generator with state of its own would hand that state to the child,
  // and both processes would then draw the same ids.
  std::vector<std::string> ids = {new_delivery_id()};

  int pipe_fds[2];
  REQUIRE(pipe(pipe_fds) == 0);
  const pid_t child = fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    // The child: no Catch2 here, only ids written to the pipe, then _exit.
    close(pipe_fds[0]);
    std::string out;
    for (std::size_t i = 0; i < 4 * per_thread; ++i) out += new_delivery_id() + "\n";
    std::size_t written = 0;
    while (written < out.size()) {
      const ssize_t n = write(pipe_fds[1], out.data() + written, out.size() - written);
      if (n <= 0) _exit(1);
      written += static_cast<std::size_t>(n);
    }
    _exit(0);
  }
  close(pipe_fds[1]);

  // Meanwhile, the parent draws from the thread that forked and from 8 more.
  std::vector<std::vector<std::string>> drawn(9);
  {
    auto draw = [](std::vector<std::string>& mine) {
      for (std::size_t i = 0; i < per_thread; ++i) mine.push_back(new_delivery_id());
    };
    std::vector<std::thread> threads;
    for (std::size_t t = 1; t < drawn.size(); ++t) threads.emplace_back(draw, std::ref(drawn[t]));
    draw(drawn[0]);
    for (std::thread& thread : threads) thread.join();
  }
  std::string from_child;
  char buffer[4096];
  for (ssize_t n; (n = read(pipe_fds[0], buffer, sizeof buffer)) > 0;)
    from_child.append(buffer, static_cast<std::size_t>(n));
  close(pipe_fds[0]);
  int status = 0;
  REQUIRE(waitpid(child, &status, 0) == child);
  REQUIRE(WIFEXITED(status));
  REQUIRE(WEXITSTATUS(status) == 0);

  for (const auto& mine : drawn) ids.insert(ids.end(), mine.begin(), mine.end());
  const std::vector<std::string> child_ids = lines_of(from_child);
  CHECK(child_ids.size() == 4 * per_thread);
  ids.insert(ids.end(), child_ids.begin(), child_ids.end());
  for (const std::string& id : ids) REQUIRE(well_formed_delivery_id(id));
  const std::set<std::string> distinct(ids.begin(), ids.end());
  CHECK(distinct.size() == ids.size());
  // The random parts alone are distinct too (the last 16 characters: 80 random bits), so that
  // uniqueness never rests on two processes reading different milliseconds.
  std::set<std::string> random_parts;
  for (const std::string& id : ids) random_parts.insert(id.substr(14));
  CHECK(random_parts.size() == ids.size());
}

TEST_CASE("delivery ids begin with their millisecond and sort by creation time across milliseconds",
          "[integration][endpoint]") {
  struct Drawn {
    std::string id;
    std::int64_t before_ms = 0;  // the clock just before and just after the id was made
    std::int64_t after_ms = 0;
  };
  // 4 threads, each drawing ids over at least 20 different milliseconds (waiting for the clock to
  // move between draws, with a deadline).
  std::vector<std::vector<Drawn>> drawn(4);
  {
    std::vector<std::thread> threads;
    threads.reserve(drawn.size());
    for (auto& mine : drawn) {
      threads.emplace_back([&mine] {
        const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
        while (mine.size() < 200 && std::chrono::steady_clock::now() < deadline) {
          Drawn d;
          d.before_ms = unix_millis_now();
          d.id = new_delivery_id();
          d.after_ms = unix_millis_now();
          mine.push_back(d);
          // Every tenth draw, wait for the next millisecond.
          while (mine.size() % 10 == 0 && unix_millis_now() <= d.after_ms &&
                 std::chrono::steady_clock::now() < deadline) {
          }
        }
      });
    }
    for (std::thread& thread : threads) thread.join();
  }
  std::vector<Drawn> all;
  for (const auto& mine : drawn) all.insert(all.end(), mine.begin(), mine.end());
  REQUIRE(all.size() == 800);
  for (const Drawn& d : all) {
    REQUIRE(well_formed_delivery_id(d.id));
    INFO(d.id);
    CHECK(delivery_id_millis(d.id) >= d.before_ms);
    CHECK(delivery_id_millis(d.id) <= d.after_ms);
  }
  // As text, the ids are in the order of their milliseconds: so an id made in a later millisecond
  // than another (its before_ms past the other's after_ms) always sorts after it.
  std::sort(all.begin(), all.end(), [](const Drawn& a, const Drawn& b) { return a.id < b.id; });
  std::set<std::int64_t> milliseconds;
  for (std::size_t i = 0; i < all.size(); ++i) {
    milliseconds.insert(delivery_id_millis(all[i].id));
    if (i == 0) continue;
    INFO(all[i - 1].id << " then " << all[i].id);
    CHECK(delivery_id_millis(all[i - 1].id) <= delivery_id_millis(all[i].id));
    CHECK_FALSE(all[i].after_ms < all[i - 1].before_ms);
  }
  CHECK(milliseconds.size() >= 20);
}

TEST_CASE("the library's own headers cannot be set by an endpoint", "[unit][endpoint]") {
  for (const char* name :
       {"content-type", "Content-Length", "Host", "User-Agent", "X-StatusStack-Signature",
        "x-statusstack-event", "X-StatusStack-Anything", "webhook-signature", "Webhook-Id"}) {
    CHECK(detail::is_reserved_header(name));
  }
  for (const char* name : {"Authorization", "X-Team", "X-Status", "webhooks"})
    CHECK_FALSE(detail::is_reserved_header(name));
}

namespace {

// The message validate_endpoint gives, or "valid".
std::string config_error_of(const Endpoint& endpoint) {
  const auto valid = validate_endpoint(endpoint);
  return valid ? std::string("valid") : valid.error().message;
}

}  // namespace

TEST_CASE("an endpoint name is 1 to 128 letters, digits, dots, underscores, colons or dashes",
          "[unit][endpoint]") {
  Endpoint endpoint = local_endpoint("https://hooks.example.com/x");
  for (const std::string& name :
       {std::string("ops"), std::string("eu-west-1:ops_team.v2"), std::string(128, 'a')}) {
    endpoint.name = name;
    CHECK(config_error_of(endpoint) == "valid");
  }
  const std::string rule = " must be 1 to 128 letters, digits, '.', '_', ':' or '-' (ASCII)";
  endpoint.name = "ops\r\nX-Evil: 1";
  CHECK(config_error_of(endpoint) == "endpoint: name \"ops\\x0d\\x0aX-Evil: 1\"" + rule);
  endpoint.name = std::string("ops\0b", 5);
  CHECK(config_error_of(endpoint) == "endpoint: name \"ops\\x00b\"" + rule);
  endpoint.name = "on call";
  CHECK(config_error_of(endpoint) == "endpoint: name \"on call\"" + rule);
  endpoint.name = "caf\xc3\xa9";
  CHECK(config_error_of(endpoint) == "endpoint: name \"caf\xc3\xa9\"" + rule);
  endpoint.name = std::string(129, 'a');
  CHECK(config_error_of(endpoint) == "endpoint: name \"" + std::string(32, 'a') + "\"..." + rule);
  endpoint.name = std::string(1 << 20, 'a');  // a megabyte: refused, and not echoed whole
  CHECK(config_error_of(endpoint) == "endpoint: name \"" + std::string(32, 'a') + "\"..." + rule);
  CHECK(validate_endpoint(endpoint).error().code == ErrorCode::invalid_config);
  CHECK(validate_endpoint(endpoint).error().field == "name");
}

TEST_CASE(
    "a custom header value is refused at configuration time for control bytes or size, naming the header",
    "[integration][endpoint]") {
  Endpoint endpoint = local_endpoint("https://hooks.example.com/x");
  const std::string secret_value = "TOPSECRET";
  auto message_for = [&](const std::string& value) {
    endpoint.headers = {{"Authorization", value}};
    const auto valid = validate_endpoint(endpoint);
    if (valid) return std::string("valid");
    CHECK(valid.error().code == ErrorCode::invalid_header);
    CHECK(valid.error().field == "headers");
    CHECK(valid.error().message.find(secret_value) == std::string::npos);  // never the value
    return valid.error().message;
  };
  const std::string control =
      "endpoint \"receiver\": header \"Authorization\": value contains a control character (only tab is "
      "allowed)";
  CHECK(message_for("Bearer " + secret_value + "\x01") == control);
  CHECK(message_for("Bearer " + secret_value + "\x7f") == control);
  CHECK(message_for("Bearer " + secret_value + "\x1b[2J") == control);
  CHECK(message_for(secret_value + "\nX-Evil: 1") ==
        "endpoint \"receiver\": header \"Authorization\": value contains CR, LF or NUL");  // a bare LF
  CHECK(message_for(secret_value + std::string(2 << 20, 'x')) ==
        "endpoint \"receiver\": header \"Authorization\": value is longer than 8192 bytes");
  CHECK(message_for(std::string(max_header_value_length + 1, 'x')) ==
        "endpoint \"receiver\": header \"Authorization\": value is longer than 8192 bytes");
  CHECK(message_for(std::string(max_header_value_length, 'x')) == "valid");
  CHECK(message_for("Bearer\t" + secret_value + " caf\xc3\xa9") == "valid");  // tab and obs-text are legal

  // What the configuration refuses is never sent either.
  HttpTestServer server;
  WebhookClient client;
  endpoint = local_endpoint(server.url());
  endpoint.headers = {{"X-Team", "ops\x01"}};
  const Outcome refused = send_test(client, endpoint).outcome;
  CHECK(refused.error == TransportError::invalid_request);
  CHECK(server.request_count() == 0);
}

TEST_CASE("every reserved header docs/configuration.md lists is refused, in any case", "[unit][endpoint]") {
  // "Headers the library sets itself cannot be given: `Content-Type`, ..., `webhook-signature`."
  const std::string page = source_file("docs/configuration.md");
  const std::size_t begin = page.find("Headers the library sets itself cannot be given:");
  REQUIRE(begin != std::string::npos);
  const std::string sentence = page.substr(begin, page.find("\n\n", begin) - begin);
  std::vector<std::string> names;
  static const std::regex quoted("`([^`]+)`");
  for (auto it = std::sregex_iterator(sentence.begin(), sentence.end(), quoted); it != std::sregex_iterator();
       ++it) {
    names.push_back((*it)[1].str());
  }
  REQUIRE(names.size() >= 11);
  names.push_back("DD-API-KEY");  // the datadog format's own, listed in endpoint.hpp

  auto with_case = [](std::string name, int (*change)(int)) {
    for (char& c : name) c = static_cast<char>(change(static_cast<unsigned char>(c)));
    return name;
  };
  Endpoint endpoint = local_endpoint("https://hooks.example.com/x");
  for (const std::string& documented : names) {
    // "X-StatusStack-" stands for every name starting so.
    const std::string name = documented == "X-StatusStack-" ? "X-StatusStack-Anything" : documented;
    for (const std::string& spelling : {name, with_case(name, ::tolower), with_case(name, ::toupper)}) {
      INFO(spelling);
      CHECK(detail::is_reserved_header(spelling));
      endpoint.headers = {{spelling, "mine"}};
      CHECK(config_error_of(endpoint) == "endpoint \"receiver\": header \"" + spelling +
                                             "\" is set by the library and cannot be overridden");
    }
  }
}

TEST_CASE("a URL without a host is refused, however many slashes it has", "[unit][endpoint]") {
  Endpoint endpoint = local_endpoint("https://hooks.example.com/x");
  for (const std::string url : {"http:///hook", "https:///hook", "http:/hook", "https:/hooks.example.com/x",
                                "http://?x", "http://#x"}) {
    endpoint.url = url;
    INFO(url);
    const auto valid = validate_endpoint(endpoint);
    REQUIRE_FALSE(valid);
    CHECK(valid.error().code == ErrorCode::invalid_url);
    CHECK(valid.error().field == "url");
    if (url.find_first_of("?#") == std::string::npos) {
      CHECK(valid.error().message ==
            "endpoint \"receiver\": url \"" + url + "\": has no host (expected https://host/...)");
    }
  }
  endpoint.url = "http://127.0.0.1:1/hook";
  CHECK(config_error_of(endpoint) == "valid");
  endpoint.url = "http://[::1]:8080";
  CHECK(config_error_of(endpoint) == "valid");
}

TEST_CASE("a proxy URL is checked with the endpoint", "[unit][endpoint]") {
  Endpoint endpoint = local_endpoint("https://hooks.example.com/x");
  for (const std::string proxy : {"http://proxy.internal:3128", "https://proxy.internal",
                                  "socks4://10.0.0.1:1080", "socks4a://proxy:1080", "socks5://proxy:1080",
                                  "SOCKS5H://proxy:1080", "http://user:pass@proxy.internal:3128"}) {
    endpoint.options.proxy = proxy;
    INFO(proxy);
    CHECK(config_error_of(endpoint) == "valid");
  }
  auto message_for = [&](const std::string& proxy) {
    endpoint.options.proxy = proxy;
    const auto valid = validate_endpoint(endpoint);
    if (valid) return std::string("valid");
    CHECK(valid.error().code == ErrorCode::invalid_url);
    CHECK(valid.error().field == "proxy");
    return valid.error().message;
  };
  CHECK(message_for("file:///etc/passwd") ==
        "endpoint \"receiver\": proxy \"file:///etc/passwd\": scheme must be http, https, socks4, socks4a, "
        "socks5 or socks5h (got \"file\")");
  CHECK(
      message_for("ftp://proxy:21") ==
      "endpoint \"receiver\": proxy \"ftp://proxy:21\": scheme must be http, https, socks4, socks4a, socks5 "
      "or socks5h (got \"ftp\")");
  CHECK(message_for("http:///proxy:3128") ==
        "endpoint \"receiver\": proxy \"http:///proxy:3128\": has no host (expected scheme://host:port)");
  CHECK(message_for("proxy.internal:3128") ==
        "endpoint \"receiver\": proxy \"proxy.internal:3128\": is not a valid absolute URL (Unsupported "
        "number of "
        "slashes following scheme)");
  CHECK(message_for("http://proxy internal") ==
        "endpoint \"receiver\": proxy \"http://proxy internal\": contains whitespace or a control character");
  CHECK(
      message_for("socks5://alice:TOPSECRET@:1080") ==
      "endpoint \"receiver\": proxy \"socks5://***@:1080\": is not a valid absolute URL (No host part in the "
      "URL)");
}

TEST_CASE("configuration errors show a URL without its user-info, query or fragment", "[unit][endpoint]") {
  Endpoint endpoint = local_endpoint("https://hooks.example.com/x");
  endpoint.options.allow_http = false;
  endpoint.url = "http://alice:TOPSECRET@hooks.example.com/in?token=TOPSECRET#TOPSECRET";
  CHECK(config_error_of(endpoint) ==
        "endpoint \"receiver\": url \"http://***@hooks.example.com/in?***#***\": must be https:// (plain "
        "http:// "
        "is refused unless allow_http is set)");
  endpoint.url = "ftp://alice:TOPSECRET@hooks.example.com/in?key=TOPSECRET";
  CHECK(
      config_error_of(endpoint) ==
      "endpoint \"receiver\": url \"ftp://***@hooks.example.com/in?***\": scheme must be https or http (got "
      "\"ftp\")");
  endpoint.url = "alice:TOPSECRET@hooks.example.com/in";  // no scheme: still no password shown
  CHECK(config_error_of(endpoint).find("TOPSECRET") == std::string::npos);
  endpoint.url = "https://alice:TOP SECRET@hooks.example.com/";
  CHECK(config_error_of(endpoint) ==
        "endpoint \"receiver\": url \"https://***@hooks.example.com/\": contains whitespace or a control "
        "character");
}

TEST_CASE("a secret shorter than 16 bytes is refused, saying its length and never its bytes",
          "[unit][endpoint][secrets]") {
  Endpoint endpoint = local_endpoint("https://hooks.example.com/x");
  endpoint.name = "ops";
  const auto refusal = [&endpoint](const std::string& secret) {
    endpoint.secret = secret;
    const auto valid = validate_endpoint(endpoint);
    if (valid) return std::string("valid");
    CHECK(valid.error().code == ErrorCode::invalid_secret);
    CHECK(valid.error().field == "secret");
    CHECK(valid.error().message.find(secret) == std::string::npos);
    return valid.error().message;
  };
  CHECK(refusal("sh0rt") ==
        "endpoint \"ops\": secret: 5 bytes, at least 16 are needed (a legacy receiver's shorter secret needs "
        "allow_short_secret)");
  CHECK(refusal("Z") ==
        "endpoint \"ops\": secret: 1 byte, at least 16 are needed (a legacy receiver's shorter secret needs "
        "allow_short_secret)");
  CHECK(refusal("fifteen-bytes!!") ==
        "endpoint \"ops\": secret: 15 bytes, at least 16 are needed (a legacy receiver's shorter secret "
        "needs allow_short_secret)");
  CHECK(refusal("sixteen-bytes!!!") == "valid");
  CHECK(min_secret_bytes == 16);

  SECTION("a whsec_ secret counts its decoded key, not its text") {
    endpoint.signature = SignatureScheme::standard_webhooks;
    // 20 characters of text, 15 bytes of key: refused although the text is long enough.
    CHECK(refusal("whsec_ZmlmdGVlbi1ieXRlcyEh") ==
          "endpoint \"ops\": secret: 15 bytes, at least 16 are needed (a legacy receiver's shorter secret "
          "needs allow_short_secret)");
    CHECK(refusal("whsec_c2hvcnQ=") ==
          "endpoint \"ops\": secret: 5 bytes, at least 16 are needed (a legacy receiver's shorter secret "
          "needs allow_short_secret)");
    CHECK(refusal("c2hvcnQ=").find("5 bytes") != std::string::npos);  // the prefix is optional
    CHECK(refusal("whsec_c2l4dGVlbi1ieXRlcyEhIQ==") == "valid");      // 16 bytes
    CHECK(hmac_key_size("whsec_c2l4dGVlbi1ieXRlcyEhIQ==", SignatureScheme::standard_webhooks) == 16);
    CHECK(hmac_key_size("whsec_c2l4dGVlbi1ieXRlcyEhIQ==", SignatureScheme::statusstack) == 30);
  }
  SECTION("allow_short_secret accepts it, and the requests are signed with it") {
    endpoint.allow_short_secret = true;
    CHECK(refusal("sh0rt") == "valid");
    endpoint.signature = SignatureScheme::standard_webhooks;
    CHECK(refusal("whsec_c2hvcnQ=") == "valid");
    endpoint.signature = SignatureScheme::statusstack;
    endpoint.secret = "sh0rt";
    const Request request = make_signed_request(example_event(EventType::monitor_down), endpoint, "dlv_1");
    CHECK(Verifier("sh0rt").verify_request(request.headers, request.body));
  }
  SECTION("make_signed_request, the Dispatcher and upsert_endpoint refuse it as ConfigError") {
    endpoint.secret = "sh0rt";
    const std::string message =
        "endpoint \"ops\": secret: 5 bytes, at least 16 are needed (a legacy receiver's shorter secret needs "
        "allow_short_secret)";
    CHECK_THROWS_WITH(make_signed_request(example_event(EventType::monitor_down), endpoint, "dlv_1"),
                      message);
    DispatcherOptions options;
    options.endpoints = {endpoint};
    CHECK_THROWS_WITH(Dispatcher(options), message);
    Dispatcher dispatcher{DispatcherOptions{}};
    CHECK_THROWS_WITH(dispatcher.upsert_endpoint(endpoint), message);
    endpoint.allow_short_secret = true;
    dispatcher.upsert_endpoint(endpoint);
    CHECK(dispatcher.endpoints().size() == 1);
  }
  SECTION("Signer and Verifier, which receivers use, still take a short secret") {
    const std::string body = "{}";
    CHECK(Verifier("sh0rt").verify(body, Signer("sh0rt").sign(body)));
    CHECK(StandardWebhooksVerifier("whsec_c2hvcnQ=")
              .verify("msg_1", "1700000000",
                      StandardWebhooksSigner("whsec_c2hvcnQ=").sign("msg_1", 1700000000, body), body,
                      1700000000));
  }
}
