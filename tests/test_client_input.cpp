// What the client reads from configuration and from receivers and then shows or acts on: URLs in
// messages (redact_url) and far-off Retry-After dates.

#include <statusstack/webhooks/client.hpp>

#include "support/servers.hpp"
#include "transfer.hpp"

#include <catch2/catch.hpp>

#include <ctime>
#include <limits>

using namespace statusstack::webhooks;
using namespace statusstack::webhooks::testing;
using namespace std::chrono_literals;

TEST_CASE("redact_url hides the user-info, the query and the fragment", "[unit][client][redaction]") {
  CHECK(redact_url("https://hooks.example.com/statusstack") == "https://hooks.example.com/statusstack");
  CHECK(redact_url("https://alice:TOPSECRET@hooks.example.com/in") == "https://***@hooks.example.com/in");
  CHECK(redact_url("https://alice@hooks.example.com:8443/in") == "https://***@hooks.example.com:8443/in");
  CHECK(redact_url("https://hooks.example.com/in?token=TOPSECRET&a=b") == "https://hooks.example.com/in?***");
  CHECK(redact_url("https://hooks.example.com/in#access_token=TOPSECRET") ==
        "https://hooks.example.com/in#***");
  CHECK(redact_url("https://a:b@hooks.example.com/in?x=1#y") == "https://***@hooks.example.com/in?***#***");
  CHECK(redact_url("https://hooks.example.com?x=1") == "https://hooks.example.com?***");
  CHECK(redact_url("socks5h://alice:pw@proxy.internal:1080") == "socks5h://***@proxy.internal:1080");
  CHECK(redact_url("http://[::1]:8080/x") == "http://[::1]:8080/x");
  CHECK(redact_url("").empty());

  // Malformed: still no secret, even where that hides more than the user-info.
  CHECK(redact_url("http:/alice:TOPSECRET@hooks.example.com/x") == "http:/***@hooks.example.com/x");
  CHECK(redact_url("http:///alice:TOPSECRET@hooks.example.com/x") == "http:///***@hooks.example.com/x");
  CHECK(redact_url("alice:TOPSECRET@hooks.example.com/x") == "***@hooks.example.com/x");
  CHECK(redact_url("https://alice:TOP/SECRET@hooks.example.com/x") == "https://***@hooks.example.com/x");
  CHECK(redact_url("https://hooks.example.com/@me") == "https://***@me");
  CHECK(redact_url("https://hooks.example.com/\r\nX-Evil: 1") == "https://hooks.example.com/\\r\\nX-Evil: 1");
  CHECK(redact_url("https://hooks.example.com/\x01\x7f") == "https://hooks.example.com/\\x01\\x7f");
  // A long URL is cut: 256 bytes after the scheme.
  CHECK(redact_url("https://hooks.example.com/" + std::string(1000, 'a')) ==
        "https://hooks.example.com/" + std::string(256 - 18, 'a') + "...");
}

TEST_CASE("errors about a request's URL show it redacted", "[integration][client][redaction]") {
  WebhookClient client;
  Request request;
  request.url = "ftp://alice:TOPSECRET@hooks.example.com/x?key=TOPSECRET";
  const Outcome outcome = client.send(request);
  CHECK(outcome.error == TransportError::invalid_request);
  CHECK(outcome.error_message ==
        "url \"ftp://***@hooks.example.com/x?***\": scheme must be https or http (got \"ftp\")");
  const auto valid = validate_request(request);
  REQUIRE_FALSE(valid);
  CHECK(valid.error().code == ErrorCode::invalid_url);
  CHECK(valid.error().field == "url");
}

TEST_CASE("a Retry-After date in the year 9999 saturates instead of overflowing", "[integration][client]") {
  const auto now = std::chrono::system_clock::from_time_t(1737282600);  // 2025-01-19T10:30:00Z
  constexpr std::chrono::seconds longest(std::numeric_limits<std::int32_t>::max());
  CHECK(detail::parse_retry_after("Fri, 31 Dec 9999 23:59:59 GMT", now) == longest);
  CHECK(detail::parse_retry_after("Thu, 01 Jan 2099 00:00:00 GMT", now) ==
        longest);  // 74 years: over the cap too
  CHECK(detail::parse_retry_after("Sun, 19 Jan 2025 10:31:00 GMT", now) == 60s);
  // A fraction of a second before the date still waits the whole second.
  CHECK(detail::parse_retry_after("Sun, 19 Jan 2025 10:31:00 GMT", now + 300ms) == 60s);
  CHECK(detail::parse_retry_after("Sun, 19 Jan 2025 10:30:00 GMT", now + 300ms) == 0s);
  // Both forms stop at the same cap.
  CHECK(detail::parse_retry_after("99999999999", now) == longest);

  SECTION("from a real response") {
    RawTestServer server(RawBehaviour::reply_bytes,
                         "HTTP/1.1 503 Service Unavailable\r\nRetry-After: Fri, 31 Dec 9999 23:59:59 GMT\r\n"
                         "Content-Length: 0\r\n\r\n");
    WebhookClient client;
    Request request;
    request.url = server.url();
    request.options.allow_http = true;
    request.options.allow_private_network = true;
    const Outcome outcome = client.send(request);
    CHECK(outcome.status == 503);
    REQUIRE(outcome.retry_after.has_value());
    CHECK(*outcome.retry_after == longest);
  }
}
