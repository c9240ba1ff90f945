// WebhookClient against real servers on 127.0.0.1: what arrives, and the exact outcome of each failure.

#include <statusstack/webhooks/client.hpp>

#include "support/servers.hpp"
#include "transfer.hpp"

#include <catch2/catch.hpp>

#include <atomic>
#include <ctime>
#include <string>

using namespace statusstack::webhooks;
using namespace statusstack::webhooks::testing;
using namespace std::chrono_literals;

namespace {

Request local_post(const std::string& url, std::string body = R"({"hello":"world"})") {
  Request request;
  request.url = url;
  request.body = std::move(body);
  request.headers = {{"Content-Type", "application/json"}};
  request.options.allow_http = true;
  request.options.allow_private_network = true;
  return request;
}

std::string http_date(std::time_t when) {
  char text[64];
  std::tm parts{};
  gmtime_r(&when, &parts);
  std::strftime(text, sizeof text, "%a, %d %b %Y %H:%M:%S GMT", &parts);
  return text;
}

}  // namespace

TEST_CASE("a POST arrives with exactly the body and headers that were sent", "[integration][client]") {
  HttpTestServer server;
  WebhookClient client;
  Request request =
      local_post(server.url("/hooks/statusstack"), std::string("{\"a\":\"\xc3\xa9\\n\"}\r\n", 15));
  request.headers.push_back({"X-Custom", "value with spaces"});

  const Outcome outcome = client.send(request);

  REQUIRE(outcome.ok());
  CHECK(outcome.status == 200);
  CHECK(outcome.error == TransportError::none);
  CHECK(outcome.body == "ok");
  CHECK_FALSE(outcome.retryable());
  CHECK(outcome.remote_address == "127.0.0.1:" + std::to_string(server.port()));
  CHECK(outcome.timings.total > 0us);
  CHECK(outcome.timings.first_byte <= outcome.timings.total);
  REQUIRE(server.request_count() == 1);
  const RecordedRequest got = server.requests().at(0);
  CHECK(got.method == "POST");
  CHECK(got.path == "/hooks/statusstack");
  CHECK(got.body == request.body);
  REQUIRE(find_header(got.headers, "X-Custom") != nullptr);
  CHECK(*find_header(got.headers, "X-Custom") == "value with spaces");
  CHECK(*find_header(got.headers, "Content-Type") == "application/json");
  CHECK(*find_header(got.headers, "Content-Length") == std::to_string(request.body.size()));
  CHECK(find_header(got.headers, "Expect") == nullptr);
  CHECK(find_header(got.headers, "User-Agent")->rfind("statusstack-webhooks/", 0) == 0);
}

TEST_CASE("a body over 1 MiB goes in one request without Expect: 100-continue", "[integration][client]") {
  // curl asks for 100-continue before a body of 1 MiB or more unless told not to: the request
  // would wait for an answer a receiver need not give.
  HttpTestServer server;
  WebhookClient client;
  const std::string body = "{\"pad\":\"" + std::string(std::size_t{2} * 1024 * 1024, 'x') + "\"}";

  const Outcome outcome = client.send(local_post(server.url(), body));

  REQUIRE(outcome.ok());
  REQUIRE(server.request_count() == 1);
  const RecordedRequest got = server.requests().at(0);
  CHECK(got.body.size() == body.size());
  CHECK(find_header(got.headers, "Expect") == nullptr);
}

TEST_CASE("a header with an empty value is sent, not dropped", "[integration][client]") {
  RawTestServer server(RawBehaviour::reply_bytes, "HTTP/1.1 204 No Content\r\n\r\n");
  WebhookClient client;
  Request request = local_post(server.url());
  request.headers.push_back({"X-Empty", ""});
  CHECK(client.send(request).status == 204);
  CHECK(server.received().find("\r\nX-Empty:\r\n") != std::string::npos);
}

TEST_CASE("PUT and PATCH send the body with that method", "[integration][client]") {
  HttpTestServer server;
  WebhookClient client;
  for (HttpMethod method : {HttpMethod::put, HttpMethod::patch, HttpMethod::post}) {
    Request request = local_post(server.url(), "{\"m\":1}");
    request.method = method;
    REQUIRE(client.send(request).ok());
  }
  const auto got = server.requests();
  REQUIRE(got.size() == 3);
  CHECK(got[0].method == "PUT");
  CHECK(got[1].method == "PATCH");
  CHECK(got[2].method == "POST");
  for (const auto& request : got) CHECK(request.body == "{\"m\":1}");
  CHECK(parse_http_method("patch") == HttpMethod::patch);
  CHECK_FALSE(parse_http_method("GET").has_value());
}

TEST_CASE("one client reuses its keep-alive connection across requests", "[integration][client]") {
  HttpTestServer server;
  WebhookClient client;
  for (int i = 0; i < 5; ++i) REQUIRE(client.send(local_post(server.url())).ok());
  CHECK(server.request_count() == 5);
  CHECK(server.connection_count() == 1);
}

TEST_CASE("HTTPS with the test CA works, and without it or for the wrong host it is a TLS verification error",
          "[integration][client][tls]") {
  const TestCertificates certs;
  WebhookClient client;

  SECTION("trusted CA given") {
    HttpTestServer server(certs);
    Request request = local_post(server.url());
    request.options.allow_http = false;
    request.options.ca_file = certs.ca_file();
    const Outcome outcome = client.send(request);
    REQUIRE(outcome.ok());
    CHECK(outcome.timings.tls > 0us);
    CHECK(server.request_count() == 1);
  }
  SECTION("a body larger than libcurl's TLS upload buffer (16 KiB here) arrives whole, twice") {
    HttpTestServer server(certs);
    std::string body(100 * 1024 + 7, 'x');
    for (std::size_t i = 0; i < body.size(); i += 97) body[i] = static_cast<char>('a' + i % 26);
    Request request = local_post(server.url(), body);
    request.options.ca_file = certs.ca_file();
    REQUIRE(client.send(request).ok());
    REQUIRE(client.send(request).ok());
    REQUIRE(server.request_count() == 2);
    CHECK(server.requests().at(0).body == body);
    CHECK(server.requests().at(1).body == body);
  }
  SECTION("no CA given: the system store does not know the test CA") {
    HttpTestServer server(certs);
    const Outcome outcome = client.send(local_post(server.url()));
    CHECK(outcome.error == TransportError::tls_verification);
    CHECK(outcome.status == 0);
    CHECK_FALSE(outcome.retryable());
    CHECK(outcome.error_message.find("certificate") != std::string::npos);
    CHECK(server.request_count() == 0);
  }
  SECTION("certificate for another host name") {
    HttpTestServer server(certs, {}, /*wrong_host=*/true);
    Request request = local_post(server.url());
    request.options.ca_file = certs.ca_file();
    const Outcome outcome = client.send(request);
    CHECK(outcome.error == TransportError::tls_verification);
    CHECK(outcome.describe().rfind("tls_verification: ", 0) == 0);
    CHECK(server.request_count() == 0);
  }
}

TEST_CASE("a receiver slower than the timeout gives a retryable timeout", "[integration][client]") {
  HttpTestServer server([](const RecordedRequest&) { return Reply{200, {}, "late", 3000ms}; });
  WebhookClient client;
  Request request = local_post(server.url());
  request.options.timeout = 300ms;
  const Outcome outcome = client.send(request);
  CHECK(outcome.error == TransportError::timeout);
  CHECK(outcome.retryable());
  CHECK(outcome.timings.total >= 290ms);
  CHECK(outcome.timings.total < 2900ms);
}

TEST_CASE("a slow receiver that answers in time is a success", "[integration][client]") {
  HttpTestServer server([](const RecordedRequest&) { return Reply{202, {}, "accepted", 200ms}; });
  WebhookClient client;
  Request request = local_post(server.url());
  request.options.timeout = 3000ms;
  const Outcome outcome = client.send(request);
  CHECK(outcome.ok());
  CHECK(outcome.status == 202);
  CHECK(outcome.timings.first_byte >= 190ms);
}

TEST_CASE("a closed port is refused, retryably", "[integration][client]") {
  const RefusedPort refused;
  WebhookClient client;
  const Outcome outcome = client.send(local_post(refused.url()));
  CHECK(outcome.error == TransportError::refused);
  CHECK(outcome.status == 0);
  CHECK(outcome.retryable());
}

TEST_CASE("broken peers: reset, garbage and a truncated body each have their own outcome",
          "[integration][client]") {
  WebhookClient client;
  SECTION("reset after the request") {
    RawTestServer server(RawBehaviour::reset_after_request);
    const Outcome outcome = client.send(local_post(server.url()));
    CHECK(outcome.error == TransportError::reset);
    CHECK(outcome.retryable());
  }
  SECTION("reset in the middle of the response body") {
    RawTestServer server(RawBehaviour::reset_mid_response);
    const Outcome outcome = client.send(local_post(server.url()));
    CHECK(outcome.error == TransportError::reset);
    CHECK(outcome.status == 200);  // the status line had arrived
    CHECK_FALSE(outcome.ok());
    CHECK(outcome.retryable());
  }
  SECTION("an answer that is not HTTP") {
    RawTestServer server(RawBehaviour::reply_bytes, "SSH-2.0-OpenSSH_9.2\r\n\r\n");
    const Outcome outcome = client.send(local_post(server.url()));
    CHECK(outcome.error == TransportError::malformed_response);
    CHECK(outcome.retryable());
  }
  SECTION("a malformed status line") {
    RawTestServer server(RawBehaviour::reply_bytes, "HTTP/1.1 abc Broken\r\nContent-Length: 0\r\n\r\n");
    const Outcome outcome = client.send(local_post(server.url()));
    CHECK(outcome.error == TransportError::malformed_response);
  }
  SECTION("the connection closes before any answer") {
    RawTestServer server(RawBehaviour::close_immediately);
    const Outcome outcome = client.send(local_post(server.url()));
    CHECK(outcome.error == TransportError::reset);
  }
}

TEST_CASE("a 3xx is not followed: non-retryable, with its Location", "[integration][client]") {
  HttpTestServer target;
  HttpTestServer server([&](const RecordedRequest&) {
    return Reply{302, {{"Location", target.url("/elsewhere")}}, "", 0ms};
  });
  WebhookClient client;
  const Outcome outcome = client.send(local_post(server.url()));
  CHECK(outcome.status == 302);
  CHECK(outcome.location == target.url("/elsewhere"));
  CHECK_FALSE(outcome.ok());
  CHECK_FALSE(outcome.retryable());
  CHECK(outcome.describe() == "HTTP 302 (redirect to " + target.url("/elsewhere") + " not followed)");
  CHECK(target.request_count() == 0);
}

TEST_CASE("a 429 carries Retry-After as seconds or as an HTTP-date", "[integration][client]") {
  WebhookClient client;
  SECTION("seconds") {
    HttpTestServer server([](const RecordedRequest&) {
      return Reply{429, {{"Retry-After", "7"}}, "slow down", 0ms};
    });
    const Outcome outcome = client.send(local_post(server.url()));
    CHECK(outcome.status == 429);
    CHECK(outcome.retryable());
    REQUIRE(outcome.retry_after.has_value());
    CHECK(*outcome.retry_after == 7s);
    CHECK(outcome.body == "slow down");
  }
  SECTION("HTTP-date, through a raw peer so the header is exactly as written") {
    const std::string date = http_date(std::time(nullptr) + 120);
    RawTestServer server(RawBehaviour::reply_bytes, "HTTP/1.1 429 Too Many Requests\r\nRetry-After: " + date +
                                                        "\r\nContent-Length: 0\r\n\r\n");
    const Outcome outcome = client.send(local_post(server.url()));
    CHECK(outcome.status == 429);
    REQUIRE(outcome.retry_after.has_value());
    CHECK(*outcome.retry_after >= 115s);
    CHECK(*outcome.retry_after <= 121s);
  }
}

TEST_CASE("Retry-After parsing", "[unit][client]") {
  const auto now = std::chrono::system_clock::from_time_t(1737282600);  // 2025-01-19T10:30:00Z
  CHECK(detail::parse_retry_after("0", now) == 0s);
  CHECK(detail::parse_retry_after("120", now) == 120s);
  CHECK(detail::parse_retry_after("Sun, 19 Jan 2025 10:31:00 GMT", now) == 60s);
  CHECK(detail::parse_retry_after("Sunday, 19-Jan-25 10:31:00 GMT", now) == 60s);  // obsolete RFC 850 form
  CHECK(detail::parse_retry_after("Sun, 19 Jan 2025 10:00:00 GMT", now) == 0s);    // in the past
  CHECK(detail::parse_retry_after("99999999999999999999", now) == std::chrono::seconds(2147483647));
  CHECK_FALSE(detail::parse_retry_after("", now).has_value());
  CHECK_FALSE(detail::parse_retry_after("soon", now).has_value());
  CHECK_FALSE(detail::parse_retry_after("-5", now).has_value());
}

TEST_CASE("status codes decide what is retryable", "[integration][client]") {
  std::atomic<int> status{413};
  HttpTestServer server([&](const RecordedRequest&) { return Reply{status.load(), {}, "", 0ms}; });
  WebhookClient client;
  auto send_with = [&](int code) {
    status = code;
    return client.send(local_post(server.url()));
  };
  CHECK_FALSE(send_with(413).retryable());
  CHECK_FALSE(send_with(400).retryable());
  CHECK_FALSE(send_with(401).retryable());
  CHECK_FALSE(send_with(410).retryable());
  CHECK(send_with(408).retryable());
  CHECK(send_with(425).retryable());
  CHECK(send_with(500).retryable());
  CHECK(send_with(503).retryable());
  const Outcome ok = send_with(204);
  CHECK(ok.ok());
  CHECK(ok.describe() == "HTTP 204");
}

TEST_CASE("the response body is kept up to the cap and flagged when cut", "[integration][client]") {
  HttpTestServer server([](const RecordedRequest&) { return Reply{500, {}, std::string(100000, 'x'), 0ms}; });
  WebhookClient client;
  Request request = local_post(server.url());
  request.options.max_response_body = 1024;
  Outcome outcome = client.send(request);
  CHECK(outcome.status == 500);
  CHECK(outcome.body.size() == 1024);
  CHECK(outcome.body_truncated);
  request.options.max_response_body = 200000;
  outcome = client.send(request);
  CHECK(outcome.body.size() == 100000);
  CHECK_FALSE(outcome.body_truncated);
  CHECK(server.connection_count() == 1);  // the dropped bytes were read: the connection stayed usable
}

TEST_CASE("plain http:// is refused unless allowed", "[integration][client][validation]") {
  HttpTestServer server;
  WebhookClient client;
  Request request = local_post(server.url());
  request.options.allow_http = false;
  const Outcome outcome = client.send(request);
  CHECK(outcome.error == TransportError::invalid_request);
  CHECK(outcome.error_message ==
        "url \"" + server.url() + "\": must be https:// (plain http:// is refused unless allow_http is set)");
  CHECK_FALSE(outcome.retryable());
  CHECK(server.request_count() == 0);
}

TEST_CASE("header injection is refused before anything is sent", "[integration][client][validation]") {
  HttpTestServer server;
  WebhookClient client;
  auto refused = [&](Header header) {
    Request request = local_post(server.url());
    request.headers.push_back(std::move(header));
    const Outcome outcome = client.send(request);
    CHECK(outcome.error == TransportError::invalid_request);
    return outcome.error_message;
  };
  CHECK(refused({"X-Evil", "a\r\nX-Injected: 1"}) == "header \"X-Evil\": value contains CR, LF or NUL");
  CHECK(refused({"X-Evil", std::string("a\0b", 3)}) == "header \"X-Evil\": value contains CR, LF or NUL");
  CHECK(refused({"X-Evil\r\nX-Injected", "1"}) ==
        "header \"X-Evil\\r\\nX-Injected\": name contains CR, LF or NUL");
  CHECK(refused({"Bad Name", "1"}) == "header \"Bad Name\": name is not a valid token (character ' ')");
  CHECK(refused({"", "1"}) == "header \"\": name is empty");
  CHECK(refused({"X:Colon", "1"}) == "header \"X:Colon\": name is not a valid token (character ':')");
  CHECK(server.request_count() == 0);
}

TEST_CASE("invalid URLs are refused with a message that says why", "[integration][client][validation]") {
  WebhookClient client;
  auto message_for = [&](const std::string& url) {
    Request request = local_post(url);
    const Outcome outcome = client.send(request);
    CHECK(outcome.error == TransportError::invalid_request);
    return outcome.error_message;
  };
  CHECK(message_for("") == "url \"\": is empty");
  CHECK(message_for("ftp://example.com/x") ==
        "url \"ftp://example.com/x\": scheme must be https or http (got \"ftp\")");
  CHECK(message_for("https://exa mple.com/") ==
        "url \"https://exa mple.com/\": contains whitespace or a control character");
  CHECK(message_for("https://hooks.example.com/\r\nX: y") ==
        "url \"https://hooks.example.com/\\r\\nX: y\": contains whitespace or a control character");
  CHECK(message_for("/relative/path").rfind("url \"/relative/path\": is not a valid absolute URL", 0) == 0);
  CHECK(message_for("https://").rfind("url \"https://\": ", 0) == 0);
  CHECK(message_for("file:///etc/passwd") ==
        "url \"file:///etc/passwd\": scheme must be https or http (got \"file\")");
}

TEST_CASE("a moved-from client can send again", "[integration][client]") {
  HttpTestServer server;
  WebhookClient first;
  WebhookClient second = std::move(first);
  CHECK(second.send(local_post(server.url())).ok());
  CHECK(first.send(local_post(server.url())).ok());  // NOLINT(bugprone-use-after-move): documented to work
}
