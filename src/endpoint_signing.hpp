#pragma once

// Internal: the headers of one signed delivery, shared by make_signed_request and the Dispatcher.

#include <statusstack/webhooks/endpoint.hpp>
#include <statusstack/webhooks/signature.hpp>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace statusstack::webhooks::detail {

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
