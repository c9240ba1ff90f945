// Endpoints, signed requests and "send test webhook", checked by real receivers on 127.0.0.1.

#include <statusstack/webhooks/endpoint.hpp>
#include <statusstack/webhooks/version.hpp>

#include "support/servers.hpp"

#include <catch2/catch.hpp>

#include <set>

using namespace statusstack::webhooks;
using namespace statusstack::webhooks::testing;

namespace {

Endpoint local_endpoint(const std::string& url) {
  Endpoint endpoint;
  endpoint.name = "receiver";
  endpoint.url = url;
  endpoint.secret = "it's a secret to everybody";
  endpoint.options.allow_http = true;
  return endpoint;
}

}  // namespace

TEST_CASE("a signed request carries the body, the wire headers and a signature that verifies", "[endpoint]") {
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

TEST_CASE("the Standard Webhooks scheme signs id.timestamp.body with the decoded whsec_ key", "[endpoint]") {
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

TEST_CASE("send_test delivers a sample marked as a test, and the receiver can verify it", "[endpoint]") {
  HttpTestServer server;
  WebhookClient client;
  const Endpoint endpoint = local_endpoint(server.url());
  const Outcome outcome = send_test(client, endpoint, EventType::incident_created);
  REQUIRE(outcome.ok());
  const RecordedRequest got = server.requests().at(0);
  CHECK(*find_header(got.headers, "X-StatusStack-Test") == "true");
  CHECK(*find_header(got.headers, "X-StatusStack-Event") == "incident.created");
  CHECK(Verifier(endpoint.secret).verify_request(got.headers, got.body));
  const auto parsed = parse_event(got.body);
  REQUIRE(parsed);
  CHECK(type_of(*parsed) == EventType::incident_created);

  Endpoint broken = endpoint;
  broken.url = "ftp://example.com/";
  const Outcome refused = send_test(client, broken);
  CHECK(refused.error == TransportError::invalid_request);
  CHECK(refused.error_message ==
        "endpoint \"receiver\": url \"ftp://example.com/\": scheme must be https or http (got \"ftp\")");
}

TEST_CASE("make_signed_request refuses an invalid endpoint with a ConfigError", "[endpoint]") {
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

TEST_CASE("event filters: everything, exact types and prefixes", "[endpoint]") {
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

TEST_CASE("delivery ids are distinct and shaped for headers", "[endpoint]") {
  std::set<std::string> ids;
  for (int i = 0; i < 10000; ++i) {
    const std::string id = new_delivery_id();
    REQUIRE(id.size() == 30);
    REQUIRE(id.rfind("dlv_", 0) == 0);
    REQUIRE(id.find_first_not_of("dlv_0123456789abcdefghjkmnpqrstvwxyz") == std::string::npos);
    ids.insert(id);
  }
  CHECK(ids.size() == 10000);
}

TEST_CASE("the library's own headers cannot be set by an endpoint", "[endpoint]") {
  for (const char* name :
       {"content-type", "Content-Length", "Host", "User-Agent", "X-StatusStack-Signature",
        "x-statusstack-event", "X-StatusStack-Anything", "webhook-signature", "Webhook-Id"}) {
    CHECK(is_reserved_header(name));
  }
  for (const char* name : {"Authorization", "X-Team", "X-Status", "webhooks"})
    CHECK_FALSE(is_reserved_header(name));
}
