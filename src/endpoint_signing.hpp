#pragma once

// Internal: what an endpoint's settings come to (its URL, rate limit, reserved headers) and the
// headers of one signed delivery, shared by make_signed_request, the Dispatcher and the CLI.

#include <statusstack/webhooks/endpoint.hpp>
#include <statusstack/webhooks/export.hpp>
#include <statusstack/webhooks/signature.hpp>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace statusstack::webhooks::detail {

/// The headers the library sets itself, which an endpoint's custom headers may not replace (ASCII
/// case-insensitive): Content-Type, Content-Length, Transfer-Encoding, Host, User-Agent, Expect,
/// Connection, X-StatusStack-* (any name starting so), the Standard Webhooks headers and every
/// format's own header (DD-API-KEY).
STATUSSTACK_WEBHOOKS_EXPORT bool is_reserved_header(std::string_view name) noexcept;

/// The URL requests go to: `url`, or the format's default_url() when it is empty.
STATUSSTACK_WEBHOOKS_EXPORT std::string effective_url(const Endpoint& endpoint);

/// The rate limit in force: `rate_limit_per_minute`, or the format's default (0: none).
STATUSSTACK_WEBHOOKS_EXPORT double effective_rate_limit(const Endpoint& endpoint) noexcept;

/// Unix seconds of a time point (the X-StatusStack-Timestamp value).
std::int64_t unix_seconds(std::chrono::system_clock::time_point at);

/// An endpoint's signer, keyed once for its scheme. const members are thread-safe.
class EndpointSigner {
 public:
  /// Throws ConfigError when the secret does not suit the scheme.
  explicit EndpointSigner(const Endpoint& endpoint);

  /// The signature header value for the scheme: 64 hex characters, or "v1,<base64>"; empty when the
  /// endpoint has no secret (allowed for the vendor formats).
  std::string sign(std::string_view body, std::string_view delivery_id, std::int64_t unix_seconds) const;

  /// Appends the library's headers (content type, user agent, event, delivery, timestamp, the
  /// signature from sign() unless empty), the format's own headers, then the endpoint's custom headers.
  void append_headers(Headers& headers, const Endpoint& endpoint, const Headers& format_headers,
                      std::string_view event_type, std::string_view delivery_id, std::int64_t unix_seconds,
                      std::string signature) const;

  SignatureScheme scheme() const noexcept { return scheme_; }

 private:
  SignatureScheme scheme_;
  std::optional<Signer> hmac_;
  std::optional<StandardWebhooksSigner> standard_;
};

}  // namespace statusstack::webhooks::detail
