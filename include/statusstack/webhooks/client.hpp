#pragma once

// WebhookClient: one HTTP(S) request at a time, blocking, with an Outcome that says exactly what happened.

#include <statusstack/webhooks/error.hpp>
#include <statusstack/webhooks/export.hpp>
#include <statusstack/webhooks/headers.hpp>
#include <statusstack/webhooks/network.hpp>

#include <chrono>
#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace statusstack::webhooks {

/// The HTTP methods a webhook may use. POST is what StatusStack documents; PUT and PATCH are for
/// receivers that insist on them.
enum class HttpMethod { post, put, patch };

/// "POST", "PUT" or "PATCH".
STATUSSTACK_WEBHOOKS_EXPORT const char* to_string(HttpMethod method) noexcept;
/// Parses a method name, case-insensitively; only POST, PUT and PATCH are accepted.
STATUSSTACK_WEBHOOKS_EXPORT std::optional<HttpMethod> parse_http_method(std::string_view name) noexcept;

/// How one request is sent. The defaults are the documented contract: 5 s to answer, TLS verified.
struct RequestOptions {
  /// Whole attempt, from connecting to the last byte of the answer (receivers must answer within 5 s).
  std::chrono::milliseconds timeout{5000};
  /// Connecting alone (TCP + TLS handshake); capped by `timeout`.
  std::chrono::milliseconds connect_timeout{3000};
  /// PEM file with the CA certificates to trust instead of the system store (empty: system store).
  std::string ca_file;
  /// Directory of hashed CA certificates to trust instead of the system store (empty: none).
  std::string ca_path;
  /// Allow plain `http://` URLs (tests, demos, loopback). Off: only `https://` is sent.
  bool allow_http = false;
  /// Keep at most this many bytes of the response body in the Outcome (and so in reports); the
  /// rest is read and dropped (body_truncated). A receiver's answer is rarely worth more; a
  /// Dispatcher still reads a PagerDuty or Datadog answer whole to find its receipt or errors.
  std::size_t max_response_body = std::size_t{4} * 1024;
  /// Proxy URL to use. Empty: no proxy, whatever `http_proxy`/`https_proxy` say in the environment.
  std::string proxy;
  /// Offer HTTP/2 over TLS (ALPN); HTTP/1.1 otherwise and always for plain http://.
  bool http2 = false;
  /// Let this request connect to loopback, private network, link-local and shared (carrier-grade
  /// NAT) addresses: a receiver inside the sender's own network. Off: only global addresses and the
  /// NetworkGuard's allowed_networks are reached. Unspecified, multicast, broadcast and reserved
  /// addresses stay blocked either way (only allowed_networks lets them through).
  bool allow_private_network = false;
};

/// One request: where, how, and the exact bytes. A plain value; build it, then send it.
struct Request {
  std::string url;
  HttpMethod method = HttpMethod::post;
  Headers headers;
  std::string body;
  RequestOptions options;
};

/// Why a request got no usable HTTP response (or none at all). `none` when an HTTP status arrived.
enum class TransportError {
  none,
  invalid_request,     ///< refused before sending: bad URL, http:// not allowed, bad header
  dns,                 ///< the host name did not resolve
  refused,             ///< nothing listens there (connection refused)
  connect_failed,      ///< could not connect for another reason (unreachable network, ...)
  timeout,             ///< the connect or total timeout passed
  tls_handshake,       ///< TLS could not be negotiated
  tls_verification,    ///< the peer's certificate is not trusted or not for this host
  reset,               ///< the connection was reset or closed before a complete response
  malformed_response,  ///< the peer answered something that is not HTTP
  too_large,           ///< the response exceeded a hard limit (e.g. an endless header block)
  blocked,             ///< the address connected to is not allowed (NetworkGuard): nothing was sent
  other,               ///< anything else libcurl reports; see the message
};

/// The error's stable snake_case name, e.g. "tls_verification".
STATUSSTACK_WEBHOOKS_EXPORT const char* to_string(TransportError error) noexcept;

/// Moments of one attempt, each counted from its start (as libcurl reports them); zero when that
/// phase did not happen (no TLS over http://, no first byte after a refused connection).
struct Timings {
  std::chrono::microseconds dns{0};         ///< name resolved
  std::chrono::microseconds connect{0};     ///< TCP connected
  std::chrono::microseconds tls{0};         ///< TLS handshake done
  std::chrono::microseconds first_byte{0};  ///< first response byte received
  std::chrono::microseconds total{0};       ///< everything done
};

/// What happened to one request. Either `status` holds the HTTP status the receiver answered, or
/// `error` says why there is none. A plain value, safe to copy and keep.
struct Outcome {
  int status = 0;  ///< HTTP status; 0 when no status line arrived (kept when the body then failed)
  TransportError error = TransportError::none;
  std::string error_message;  ///< libcurl's detailed message, or the library's for invalid requests

  std::optional<std::chrono::seconds> retry_after;  ///< from `Retry-After` (seconds or HTTP-date)
  std::string location;                             ///< `Location` of a 3xx (not followed)
  std::string content_type;                         ///< `Content-Type` of the response
  std::string body;                                 ///< at most RequestOptions::max_response_body bytes
  bool body_truncated = false;                      ///< the body was longer than what was kept

  Timings timings;
  std::string remote_address;  ///< "127.0.0.1:8443" or "[::1]:443"; empty when never connected

  /// A 2xx arrived.
  bool ok() const noexcept { return error == TransportError::none && status >= 200 && status < 300; }
  /// Worth another attempt: connection trouble, timeouts, 408, 425, 429 and 5xx. Not: other 4xx, 3xx
  /// (redirects are never followed), invalid requests, untrusted certificates, too-large responses,
  /// blocked addresses.
  STATUSSTACK_WEBHOOKS_EXPORT bool retryable() const noexcept;
  /// One line for people and logs: "HTTP 503", "timeout: Operation timed out after 5001 ms ...";
  /// "no attempt" for an Outcome that holds none (a report of a delivery never attempted).
  STATUSSTACK_WEBHOOKS_EXPORT std::string describe() const;
};

/// The longest header value validate_header accepts (8 KiB): far above any token or signature,
/// far below what makes receivers and proxies refuse a request.
inline constexpr std::size_t max_header_value_length = 8192;
/// The longest header name validate_header accepts.
inline constexpr std::size_t max_header_name_length = 256;

/// Checks a request without sending it: an absolute http(s) URL written as `scheme://host/...`
/// (https unless allow_http), a proxy (when set) with an http, https, socks4, socks4a, socks5 or
/// socks5h scheme and a host, and every header (validate_header). The error names what is wrong and
/// shows URLs through redact_url.
STATUSSTACK_WEBHOOKS_EXPORT Result<void> validate_request(const Request& request);

/// Checks one header: the name is a non-empty RFC 9110 token of at most max_header_name_length
/// bytes; the value holds no control character but tab (no CR, LF, NUL, 0x01-0x1f, 0x7f) and is at
/// most max_header_value_length bytes. ErrorCode::invalid_header; the message names the header and
/// never shows its value.
STATUSSTACK_WEBHOOKS_EXPORT Result<void> validate_header(std::string_view name, std::string_view value);

/// A URL as messages and logs may show it: the user-info and everything from the first '?' or '#'
/// on replaced by "***" ("https://***@hooks.example.com/in?***"), control bytes escaped, long parts
/// cut. Works on the text as written, malformed URLs included (hiding too much rather than too
/// little). Never throws but for std::bad_alloc.
STATUSSTACK_WEBHOOKS_EXPORT std::string redact_url(std::string_view url);

/// Sends one request at a time over libcurl and keeps its connections alive between calls.
/// Every connection is checked against a NetworkGuard (default: global addresses only).
/// Move-only; not thread-safe: use one WebhookClient per thread (they are cheap).
class STATUSSTACK_WEBHOOKS_EXPORT WebhookClient {
 public:
  /// With the default NetworkGuard: global addresses only (and allow_private_network's), no proxy.
  WebhookClient();
  /// With this guard for every request. Throws ConfigError when one of its networks is invalid
  /// (NetworkGuard::validate). A moved-from client that is used again has the default guard.
  explicit WebhookClient(NetworkGuard guard);
  ~WebhookClient();
  WebhookClient(WebhookClient&&) noexcept;
  WebhookClient& operator=(WebhookClient&&) noexcept;
  WebhookClient(const WebhookClient&) = delete;
  WebhookClient& operator=(const WebhookClient&) = delete;

  /// Sends the request and waits for the answer or the timeout. Never throws for network outcomes
  /// or invalid requests: those are in the Outcome (TransportError::invalid_request, also for a
  /// proxy without NetworkGuard::allow_proxy; TransportError::blocked for an address the guard refuses).
  Outcome send(const Request& request);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace statusstack::webhooks
