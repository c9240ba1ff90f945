#pragma once

// Signing and verifying webhook bodies: HMAC-SHA256 as StatusStack documents it
// (X-StatusStack-Signature: 64 lowercase hex characters over the exact body bytes), and the optional
// Standard Webhooks scheme (webhook-signature: v1,<base64> over "id.timestamp.body").
// The rules a signature must follow are written down in docs/signatures.md.

#include <statusstack/webhooks/error.hpp>
#include <statusstack/webhooks/export.hpp>
#include <statusstack/webhooks/headers.hpp>

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <iosfwd>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace statusstack::webhooks {

namespace detail {
class HmacSha256Key;  // a pre-keyed OpenSSL MAC (src/signature.cpp)
}  // namespace detail

/// The header that carries the StatusStack signature.
inline constexpr std::string_view signature_header = "X-StatusStack-Signature";
/// Length of a StatusStack signature: HMAC-SHA256 as lowercase hex.
inline constexpr std::size_t signature_hex_length = 64;

/// Standard Webhooks headers (https://www.standardwebhooks.com), sent instead of
/// X-StatusStack-Signature by endpoints that choose SignatureScheme::standard_webhooks.
inline constexpr std::string_view standard_webhooks_id_header = "webhook-id";
inline constexpr std::string_view standard_webhooks_timestamp_header = "webhook-timestamp";
inline constexpr std::string_view standard_webhooks_signature_header = "webhook-signature";
/// How far a Standard Webhooks timestamp may be from the verifier's clock, by default.
inline constexpr std::chrono::seconds standard_webhooks_default_tolerance{300};

/// Which signature an endpoint's requests carry; chosen per endpoint (the Dispatcher reads it).
enum class SignatureScheme {
  statusstack,        ///< X-StatusStack-Signature: lowercase hex HMAC-SHA256 of the body (the default)
  standard_webhooks,  ///< webhook-id / webhook-timestamp / webhook-signature: v1,<base64>
};

/// "statusstack" or "standard_webhooks".
STATUSSTACK_WEBHOOKS_EXPORT const char* to_string(SignatureScheme scheme) noexcept;

/// Secret bytes that do not leak by accident: wiped (OPENSSL_cleanse) when destroyed, replaced or
/// moved from, printed as "***", never converted to a string implicitly. reveal() is the one
/// explicit way to the bytes. A value type (Endpoint::secret and the vendor keys of FormatSettings
/// are Secrets): every copy holds its own buffer and wipes it. Distinct objects may be used from
/// different threads.
///
/// Text becomes a Secret by the explicit constructor or by assignment (`endpoint.secret = "..."`,
/// from a literal, a std::string or a string_view). There is deliberately no implicit conversion:
/// it would make `Signer("...")` ambiguous between its string_view and Secret constructors, and
/// let any string turn into a Secret unnoticed in a function call; assignment is where a
/// configuration sets a secret, so that is the spelling kept short.
class STATUSSTACK_WEBHOOKS_EXPORT Secret {
 public:
  Secret() noexcept = default;
  explicit Secret(std::string_view bytes);
  /// Replaces the bytes with a copy of `bytes` (the old ones are wiped first).
  Secret& operator=(std::string_view bytes);
  Secret(const Secret& other);
  Secret& operator=(const Secret& other);
  Secret(Secret&& other) noexcept;
  Secret& operator=(Secret&& other) noexcept;
  ~Secret();

  /// The secret bytes, valid while this object lives and is not modified. Handle with care.
  std::string_view reveal() const noexcept { return {data_.get(), size_}; }
  std::size_t size() const noexcept { return size_; }
  bool empty() const noexcept { return size_ == 0; }
  /// Wipes the bytes; the secret is then empty.
  void clear() noexcept { wipe(); }

  /// Constant-time comparison of the bytes (the lengths may leak).
  friend STATUSSTACK_WEBHOOKS_EXPORT bool operator==(const Secret& a, const Secret& b) noexcept;
  friend bool operator!=(const Secret& a, const Secret& b) noexcept { return !(a == b); }

 private:
  void wipe() noexcept;
  std::unique_ptr<char[]> data_;
  std::size_t size_ = 0;
};

/// Writes "***", whatever the secret: a secret never reaches a log through operator<<.
STATUSSTACK_WEBHOOKS_EXPORT std::ostream& operator<<(std::ostream& out, const Secret& secret);

/// A signature as fixed-size lowercase hex, for callers that sign without allocating.
using SignatureHex = std::array<char, signature_hex_length>;

/// Signs bodies with one secret: sign(body) = lowercase hex HMAC-SHA256(secret, body bytes), exactly
/// what the receiver code in StatusStack's documentation computes and compares.
/// The MAC is keyed once at construction; each signature reuses a pre-keyed context.
/// Thread-safety: sign() and sign_into() are const and safe to call from many threads at once.
/// Copies share the keyed state (cheap); a moved-from Signer may only be assigned or destroyed.
class STATUSSTACK_WEBHOOKS_EXPORT Signer {
 public:
  /// Throws ConfigError (invalid_secret, field "secret") when the secret is empty.
  explicit Signer(std::string_view secret);
  explicit Signer(const Secret& secret);
  Signer(const Signer&) noexcept;
  Signer& operator=(const Signer&) noexcept;
  Signer(Signer&&) noexcept;
  Signer& operator=(Signer&&) noexcept;
  ~Signer();

  /// 64 lowercase hex characters.
  std::string sign(std::string_view body) const;
  /// The same signature written into `out`, without allocating.
  void sign_into(std::string_view body, char (&out)[signature_hex_length]) const;
  /// The same signature as a fixed-size array, without allocating.
  SignatureHex sign_hex(std::string_view body) const;

 private:
  std::shared_ptr<const detail::HmacSha256Key> key_;
};

/// Checks X-StatusStack-Signature values against one secret or several (rotation: any one matching
/// passes). A signature is accepted only in the form the documented receiver code accepts:
/// exactly 64 lowercase hex characters, no prefix, no surrounding spaces (docs/signatures.md).
/// Comparison is constant-time (CRYPTO_memcmp) and checks every secret, whatever matched.
/// Thread-safety: verify() and verify_request() are const and safe to call from many threads.
class STATUSSTACK_WEBHOOKS_EXPORT Verifier {
 public:
  /// Throws ConfigError (invalid_secret) when the secret is empty.
  explicit Verifier(std::string_view secret);
  explicit Verifier(const Secret& secret);
  /// Throws ConfigError (invalid_secret) when the list is empty or any secret in it is empty
  /// (the message names it, e.g. "secrets[1]: must not be empty").
  explicit Verifier(std::vector<std::string> secrets);
  explicit Verifier(const std::vector<Secret>& secrets);

  /// Success, or ErrorCode::malformed_signature (the value is not 64 lowercase hex characters; the
  /// message says what is wrong) or ErrorCode::signature_mismatch (well-formed, no secret yields it).
  /// Error field: "signature".
  Result<void> verify(std::string_view body, std::string_view signature) const;

  /// verify() on the X-StatusStack-Signature header (name matched case-insensitively; spaces and
  /// tabs around the value, which HTTP does not count as part of it, are ignored).
  /// ErrorCode::missing_signature when the header is absent. Error field: "X-StatusStack-Signature".
  Result<void> verify_request(const Headers& headers, std::string_view body) const;

  /// How many secrets are configured.
  std::size_t secret_count() const noexcept { return keys_.size(); }

 private:
  Result<void> check(std::string_view body, std::string_view signature, std::string_view field) const;
  std::vector<std::shared_ptr<const detail::HmacSha256Key>> keys_;
};

/// Signs for the Standard Webhooks scheme: "v1," + base64(HMAC-SHA256(key, id "." timestamp "." body)),
/// where key is the base64-decoded secret ("whsec_" prefix optional).
/// Thread-safety: sign() is const and safe to call from many threads. Copies share the keyed state.
class STATUSSTACK_WEBHOOKS_EXPORT StandardWebhooksSigner {
 public:
  /// Throws ConfigError (invalid_secret, field "secret") when the secret is not base64 or decodes to
  /// no bytes.
  explicit StandardWebhooksSigner(std::string_view whsec_secret);
  explicit StandardWebhooksSigner(const Secret& whsec_secret);

  /// The webhook-signature header value, "v1,<base64>".
  std::string sign(std::string_view msg_id, std::int64_t timestamp, std::string_view body) const;

 private:
  std::shared_ptr<const detail::HmacSha256Key> key_;  // keyed with the decoded bytes
};

/// Verifies Standard Webhooks requests: any "v1," entry of the (space-separated) signature header
/// that matches any configured secret passes, other versions are ignored; the timestamp must be
/// within the tolerance of `now` (300 s by default, either direction).
/// Thread-safety: const members are safe to call from many threads.
class STATUSSTACK_WEBHOOKS_EXPORT StandardWebhooksVerifier {
 public:
  /// Throws ConfigError (invalid_secret) for a secret that is not base64 or empty, and
  /// (invalid_config, field "tolerance") for a negative tolerance.
  explicit StandardWebhooksVerifier(std::string_view whsec_secret,
                                    std::chrono::seconds tolerance = standard_webhooks_default_tolerance);
  explicit StandardWebhooksVerifier(const Secret& whsec_secret,
                                    std::chrono::seconds tolerance = standard_webhooks_default_tolerance);
  explicit StandardWebhooksVerifier(const std::vector<std::string>& whsec_secrets,
                                    std::chrono::seconds tolerance = standard_webhooks_default_tolerance);

  /// Success, or: invalid_value (timestamp is not unix seconds in decimal; field "webhook-timestamp"),
  /// timestamp_out_of_tolerance, malformed_signature (no well-formed "v1," entry; field
  /// "webhook-signature"), signature_mismatch. `now_unix` is the verifier's clock in unix seconds.
  Result<void> verify(std::string_view msg_id, std::string_view timestamp, std::string_view signature,
                      std::string_view body, std::int64_t now_unix) const;

  /// verify() on the webhook-id, webhook-timestamp and webhook-signature headers (names matched
  /// case-insensitively), against the system clock or the given time. ErrorCode::missing_signature
  /// names the header that is absent.
  Result<void> verify_request(const Headers& headers, std::string_view body) const;
  Result<void> verify_request(const Headers& headers, std::string_view body, std::int64_t now_unix) const;

  std::chrono::seconds tolerance() const noexcept { return tolerance_; }

 private:
  std::vector<std::shared_ptr<const detail::HmacSha256Key>> keys_;
  std::chrono::seconds tolerance_;
};

}  // namespace statusstack::webhooks
