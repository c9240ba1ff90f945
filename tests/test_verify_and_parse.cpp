// verify_and_parse: the receiver's one call, for both signature schemes. The signature is checked
// first, over the exact bytes; its error, or else parse_event's, comes back unchanged.

#include <statusstack/webhooks/endpoint.hpp>
#include <statusstack/webhooks/events.hpp>
#include <statusstack/webhooks/receiver.hpp>
#include <statusstack/webhooks/signature.hpp>

#include <catch2/catch.hpp>

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

using namespace statusstack::webhooks;

namespace {

constexpr std::string_view secret = "the receiver's shared secret";
// "whsec_" and the base64 of 24 key bytes (the Standard Webhooks test vector's secret).
constexpr std::string_view whsec_secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
constexpr std::string_view msg_id = "msg_p5jXN8AQM9LWM0D4loKWxJek";
const std::int64_t now = 1737282600;  // 2025-01-19T10:30:00Z

// A valid event body.
std::string event_body() { return to_json(example_event(EventType::monitor_down)); }

Headers statusstack_headers(const std::string& body, std::string_view key = secret) {
  return {{"Content-Type", "application/json"}, {std::string(signature_header), Signer(key).sign(body)}};
}

Headers standard_headers(const std::string& body, std::int64_t signed_at = now,
                         std::string_view key = whsec_secret) {
  return {{"webhook-id", std::string(msg_id)},
          {"webhook-timestamp", std::to_string(signed_at)},
          {"webhook-signature", StandardWebhooksSigner(key).sign(msg_id, signed_at, body)}};
}

template <class T>
Error error_of(const Result<T>& result) {
  REQUIRE_FALSE(result.has_value());
  return result.error();
}

// The same error, field for field.
void check_same(const Error& got, const Error& expected) {
  CHECK(got.code == expected.code);
  CHECK(got.message == expected.message);
  CHECK(got.field == expected.field);
}

}  // namespace

TEST_CASE("a StatusStack-signed event comes back verified and typed", "[unit][receiver]") {
  const Verifier verifier(secret);
  const std::string body = event_body();

  const Result<Event> event = verify_and_parse(verifier, statusstack_headers(body), body);
  REQUIRE(event.has_value());
  CHECK(*event == Event(example_event(EventType::monitor_down)));
  CHECK(std::get<MonitorDown>(*event).monitor.status == MonitorStatus::down);

  // Rotation: a verifier with several secrets accepts a body signed by any one of them.
  const Verifier rotating(std::vector<std::string>{"the next secret, after rotation", std::string(secret)});
  CHECK(verify_and_parse(rotating, statusstack_headers(body), body).has_value());
}

TEST_CASE("a wrong StatusStack signature gives the Verifier's error, whatever the body", "[unit][receiver]") {
  const Verifier verifier(secret);
  const std::string body = event_body();

  SECTION("signed with another secret") {
    const Headers headers = statusstack_headers(body, "another receiver's secret");
    const Error error = error_of(verify_and_parse(verifier, headers, body));
    check_same(error, verifier.verify_request(headers, body).error());
    CHECK(error.code == ErrorCode::signature_mismatch);
    CHECK(error.message == "X-StatusStack-Signature: does not match the body");
    CHECK(is_signature_error(error));
  }
  SECTION("the body changed after signing") {
    const Headers headers = statusstack_headers(body);
    const std::string changed = body + " ";
    const Error error = error_of(verify_and_parse(verifier, headers, changed));
    check_same(error, verifier.verify_request(headers, changed).error());
    CHECK(error.code == ErrorCode::signature_mismatch);
  }
  SECTION("no signature header") {
    const Headers headers = {{"Content-Type", "application/json"}};
    const Error error = error_of(verify_and_parse(verifier, headers, body));
    check_same(error, verifier.verify_request(headers, body).error());
    CHECK(error.code == ErrorCode::missing_signature);
    CHECK(is_signature_error(error));
  }
  SECTION("a malformed signature") {
    const Headers headers = {{"X-StatusStack-Signature", "sha256=" + Signer(secret).sign(body)}};
    const Error error = error_of(verify_and_parse(verifier, headers, body));
    check_same(error, verifier.verify_request(headers, body).error());
    CHECK(error.code == ErrorCode::malformed_signature);
    CHECK(is_signature_error(error));
  }
  SECTION("a body that is not JSON is not parsed when the signature is wrong") {
    const std::string not_json = "{\"event\":";
    const Headers headers = statusstack_headers(not_json, "another receiver's secret");
    const Error error = error_of(verify_and_parse(verifier, headers, not_json));
    CHECK(error.code == ErrorCode::signature_mismatch);
    CHECK(error.field == "X-StatusStack-Signature");
  }
}

TEST_CASE("a correctly signed body that is not an event gives parse_event's error", "[unit][receiver]") {
  const Verifier verifier(secret);
  const std::string body = GENERATE(std::string("{\"event\":"), std::string("[]"),
                                    std::string(R"({"event":"component.exploded"})"),
                                    std::string("{\"event\":\"monitor.down\",\"timestamp\":\"yesterday\"}"));

  const Error error = error_of(verify_and_parse(verifier, statusstack_headers(body), body));
  check_same(error, parse_event(body).error());
  CHECK_FALSE(is_signature_error(error));
}

TEST_CASE("a Standard Webhooks event comes back verified and typed", "[unit][receiver]") {
  const StandardWebhooksVerifier verifier(whsec_secret);
  const std::string body = event_body();

  const Result<Event> event = verify_and_parse(verifier, standard_headers(body), body, now + 10);
  REQUIRE(event.has_value());
  CHECK(*event == Event(example_event(EventType::monitor_down)));

  // Without a clock argument, the system clock: a request signed just now passes.
  const std::int64_t system_now = Timestamp::now().unix_seconds();
  CHECK(verify_and_parse(verifier, standard_headers(body, system_now), body).has_value());
}

TEST_CASE("a refused Standard Webhooks request gives the Verifier's error", "[unit][receiver]") {
  const StandardWebhooksVerifier verifier(whsec_secret);
  const std::string body = event_body();

  SECTION("signed with another secret") {
    const Headers headers = standard_headers(body, now, "whsec_c2Vjb25kIHNlY3JldCBieXRlcyBmb3Igcm90YXRpb24=");
    const Error error = error_of(verify_and_parse(verifier, headers, body, now));
    check_same(error, verifier.verify_request(headers, body, now).error());
    CHECK(error.code == ErrorCode::signature_mismatch);
    CHECK(error.message == "webhook-signature: no v1 signature matches the body");
    CHECK(is_signature_error(error));
  }
  SECTION("signed too long ago") {
    const Headers headers = standard_headers(body, now - 301);
    const Error error = error_of(verify_and_parse(verifier, headers, body, now));
    check_same(error, verifier.verify_request(headers, body, now).error());
    CHECK(error.code == ErrorCode::timestamp_out_of_tolerance);
    CHECK(is_signature_error(error));
  }
  SECTION("a timestamp that is not unix seconds") {
    Headers headers = standard_headers(body);
    headers[1].value = "2025-01-19T10:30:00Z";
    const Error error = error_of(verify_and_parse(verifier, headers, body, now));
    check_same(error, verifier.verify_request(headers, body, now).error());
    CHECK(error.code == ErrorCode::invalid_value);
    CHECK(error.field == "webhook-timestamp");
    CHECK(is_signature_error(error));  // invalid_value, but of the signature's header
  }
  SECTION("a missing header") {
    Headers headers = standard_headers(body);
    headers.erase(headers.begin());
    const Error error = error_of(verify_and_parse(verifier, headers, body, now));
    check_same(error, verifier.verify_request(headers, body, now).error());
    CHECK(error.message == "webhook-id: header is missing");
  }
}

TEST_CASE("a correctly signed Standard Webhooks body that is not an event gives parse_event's error",
          "[unit][receiver]") {
  const StandardWebhooksVerifier verifier(whsec_secret);
  const std::string body = GENERATE(std::string("not json"), std::string(R"({"event":"monitor.down"})"),
                                    std::string("{\"event\":\"monitor.down\",\"timestamp\":\"yesterday\"}"));

  const Error error = error_of(verify_and_parse(verifier, standard_headers(body), body, now));
  check_same(error, parse_event(body).error());
  CHECK_FALSE(is_signature_error(error));
}

TEST_CASE("what make_signed_request sends, verify_and_parse accepts, in either scheme", "[unit][receiver]") {
  const Event sent = example_event(EventType::incident_updated);
  Endpoint endpoint;
  endpoint.name = "receiver";
  endpoint.url = "https://receiver.example.com/webhooks";

  SECTION("StatusStack") {
    endpoint.secret = secret;
    const Request request = make_signed_request(sent, endpoint, "dlv_1");
    const Result<Event> received = verify_and_parse(Verifier(secret), request.headers, request.body);
    REQUIRE(received.has_value());
    CHECK(*received == sent);
  }
  SECTION("Standard Webhooks") {
    endpoint.secret = whsec_secret;
    endpoint.signature = SignatureScheme::standard_webhooks;
    const auto signed_at = std::chrono::system_clock::time_point(std::chrono::seconds(now));
    const Request request = make_signed_request(sent, endpoint, "msg_1", signed_at);
    const Result<Event> received =
        verify_and_parse(StandardWebhooksVerifier(whsec_secret), request.headers, request.body, now);
    REQUIRE(received.has_value());
    CHECK(*received == sent);
  }
}
