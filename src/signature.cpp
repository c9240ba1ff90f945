#include <statusstack/webhooks/signature.hpp>

#include <statusstack/webhooks/events.hpp>
#include <statusstack/webhooks/receiver.hpp>

#include "detail/text.hpp"

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/opensslv.h>
#if OPENSSL_VERSION_NUMBER >= 0x30000000L
#include <openssl/core_names.h>
#include <openssl/params.h>
#else
#include <openssl/hmac.h>
#endif

#include <algorithm>
#include <atomic>
#include <charconv>
#include <cstring>
#include <limits>
#include <new>
#include <ostream>

namespace statusstack::webhooks {

namespace detail {

inline constexpr std::size_t sha256_size = 32;

// A pre-keyed HMAC-SHA256. Keying (hashing the key into the inner and outer pads) happens once, in
// the constructor. Each MAC then takes an idle context from a small lock-free pool, resets it to the
// keyed state (EVP_MAC_init without a key, which copies the pre-computed pad state), and gives it
// back. Measured on OpenSSL 3.0: one-shot HMAC() ~1.6 µs at 256 B, EVP_MAC_CTX_dup per call
// ~0.77 µs, a reused reset context ~0.41 µs (bench/bench_signature.cpp keeps the comparison).
class HmacSha256Key {
 public:
#if OPENSSL_VERSION_NUMBER >= 0x30000000L
  using Context = EVP_MAC_CTX;
#else
  using Context = HMAC_CTX;
#endif

  explicit HmacSha256Key(std::string_view key);
  ~HmacSha256Key();
  HmacSha256Key(const HmacSha256Key&) = delete;
  HmacSha256Key& operator=(const HmacSha256Key&) = delete;

  // HMAC over the concatenation of `parts` (so "id.timestamp.body" needs no joined copy).
  void mac(const std::string_view* parts, std::size_t count, unsigned char (&out)[sha256_size]) const;
  void mac(std::string_view body, unsigned char (&out)[sha256_size]) const { mac(&body, 1, out); }

 private:
  Context* acquire() const;
  Context* duplicate_keyed() const;
  void release(Context* context) const noexcept;
  static void free_context(Context* context) noexcept;

  Context* keyed_ = nullptr;  // never used to compute: only duplicated when the pool is empty
  // Spare contexts, already keyed. Enough slots for the threads that sign at the same moment in
  // practice; a thread that finds none duplicates `keyed_`, and a surplus context is freed.
  static constexpr std::size_t pool_slots = 8;
  mutable std::atomic<Context*> spare_contexts_[pool_slots] = {};
};

namespace {

[[noreturn]] void throw_openssl_key_error() {
  const unsigned long code = ERR_get_error();
  char reason[256] = "unknown error";
  if (code != 0) ERR_error_string_n(code, reason, sizeof reason);
  ERR_clear_error();
  throw ConfigError(Error{ErrorCode::invalid_secret,
                          std::string("secret: OpenSSL refused the HMAC key: ") + reason, "secret"});
}

}  // namespace

#if OPENSSL_VERSION_NUMBER >= 0x30000000L

HmacSha256Key::HmacSha256Key(std::string_view key) {
  EVP_MAC* hmac = EVP_MAC_fetch(nullptr, "HMAC", nullptr);
  if (hmac == nullptr) throw_openssl_key_error();
  keyed_ = EVP_MAC_CTX_new(hmac);
  EVP_MAC_free(hmac);  // the context holds its own reference
  if (keyed_ == nullptr) throw std::bad_alloc();
  char digest[] = "SHA256";
  const OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
                               OSSL_PARAM_construct_end()};
  if (EVP_MAC_init(keyed_, reinterpret_cast<const unsigned char*>(key.data()), key.size(), params) != 1) {
    EVP_MAC_CTX_free(keyed_);
    throw_openssl_key_error();
  }
}

void HmacSha256Key::free_context(Context* context) noexcept { EVP_MAC_CTX_free(context); }

// Duplicating only reads `keyed_`, so concurrent callers may do it at once.
HmacSha256Key::Context* HmacSha256Key::duplicate_keyed() const {
  Context* context = EVP_MAC_CTX_dup(keyed_);
  if (context == nullptr) throw std::bad_alloc();
  return context;
}

void HmacSha256Key::mac(const std::string_view* parts, std::size_t count,
                        unsigned char (&out)[sha256_size]) const {
  Context* context = acquire();
  // No key: start over from the keyed state (the pads were hashed once, at construction).
  bool ok = EVP_MAC_init(context, nullptr, 0, nullptr) == 1;
  for (std::size_t i = 0; ok && i < count; ++i) {
    ok = EVP_MAC_update(context, reinterpret_cast<const unsigned char*>(parts[i].data()), parts[i].size()) ==
         1;
  }
  std::size_t length = 0;
  ok = ok && EVP_MAC_final(context, out, &length, sizeof out) == 1 && length == sizeof out;
  if (!ok) {
    free_context(context);
    ERR_clear_error();
    throw std::bad_alloc();  // the only way a keyed SHA-256 MAC fails is running out of memory
  }
  release(context);
}

#else  // OpenSSL 1.1.1: the same pool over HMAC_CTX (not deprecated there).

HmacSha256Key::HmacSha256Key(std::string_view key) {
  keyed_ = HMAC_CTX_new();
  if (keyed_ == nullptr) throw std::bad_alloc();
  if (key.size() > static_cast<std::size_t>(std::numeric_limits<int>::max()) ||
      HMAC_Init_ex(keyed_, key.data(), static_cast<int>(key.size()), EVP_sha256(), nullptr) != 1) {
    HMAC_CTX_free(keyed_);
    throw_openssl_key_error();
  }
}

void HmacSha256Key::free_context(Context* context) noexcept { HMAC_CTX_free(context); }

HmacSha256Key::Context* HmacSha256Key::duplicate_keyed() const {
  Context* context = HMAC_CTX_new();
  if (context == nullptr || HMAC_CTX_copy(context, keyed_) != 1) {
    HMAC_CTX_free(context);
    throw std::bad_alloc();
  }
  return context;
}

void HmacSha256Key::mac(const std::string_view* parts, std::size_t count,
                        unsigned char (&out)[sha256_size]) const {
  Context* context = acquire();
  bool ok = HMAC_Init_ex(context, nullptr, 0, nullptr, nullptr) == 1;
  for (std::size_t i = 0; ok && i < count; ++i) {
    ok = HMAC_Update(context, reinterpret_cast<const unsigned char*>(parts[i].data()), parts[i].size()) == 1;
  }
  unsigned int length = 0;
  ok = ok && HMAC_Final(context, out, &length) == 1 && length == sizeof out;
  if (!ok) {
    free_context(context);
    ERR_clear_error();
    throw std::bad_alloc();
  }
  release(context);
}

#endif

HmacSha256Key::Context* HmacSha256Key::acquire() const {
  for (auto& slot : spare_contexts_) {
    if (slot.load(std::memory_order_relaxed) == nullptr) continue;
    if (Context* context = slot.exchange(nullptr, std::memory_order_acquire)) return context;
  }
  return duplicate_keyed();
}

void HmacSha256Key::release(Context* context) const noexcept {
  for (auto& slot : spare_contexts_) {
    Context* expected = nullptr;
    if (slot.load(std::memory_order_relaxed) == nullptr &&
        slot.compare_exchange_strong(expected, context, std::memory_order_release,
                                     std::memory_order_relaxed)) {
      return;
    }
  }
  free_context(context);
}

HmacSha256Key::~HmacSha256Key() {
  for (auto& slot : spare_contexts_) free_context(slot.load(std::memory_order_acquire));  // NULL-safe
  free_context(keyed_);  // OpenSSL wipes the key material it holds
}

}  // namespace detail

namespace {

using detail::HmacSha256Key;
using detail::sha256_size;

void to_hex(const unsigned char (&mac)[sha256_size], char (&out)[signature_hex_length]) noexcept {
  static_assert(signature_hex_length == 2 * sha256_size);
  detail::write_hex(mac, sha256_size, out);
}

std::shared_ptr<const HmacSha256Key> make_key(std::string_view secret, std::string_view field) {
  if (secret.empty()) {
    throw ConfigError(
        Error{ErrorCode::invalid_secret, std::string(field) + ": must not be empty", std::string(field)});
  }
  return std::make_shared<const HmacSha256Key>(secret);
}

// --- base64 (standard alphabet, padded), for the Standard Webhooks scheme ---

int base64_value(char c) noexcept {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+') return 62;
  if (c == '/') return 63;
  return -1;
}

// Encoding is OpenSSL's. Decoding is our own, because it must be strict (EVP_DecodeBlock skips
// whitespace and keeps the padding's zero bytes): the standard alphabet, padding either complete
// or absent, nothing else.
// Appends to `out`, which the caller has reserved, so secret bytes are never reallocated.
bool base64_decode(std::string_view text, std::string& out) {
  std::size_t padding = 0;
  while (padding < 2 && !text.empty() && text.back() == '=') {
    text.remove_suffix(1);
    ++padding;
  }
  const std::size_t tail = text.size() % 4;
  if (tail == 1 || (padding != 0 && padding != (4 - tail) % 4) || (padding != 0 && tail == 0)) return false;
  unsigned buffer = 0;
  int bits = 0;
  for (const char c : text) {
    const int value = base64_value(c);
    if (value < 0) return false;
    buffer = (buffer << 6) | static_cast<unsigned>(value);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>((buffer >> bits) & 0xff);
    }
  }
  return true;
}

std::shared_ptr<const HmacSha256Key> make_standard_webhooks_key(std::string_view secret,
                                                                std::string_view field) {
  constexpr std::string_view prefix = "whsec_";
  if (secret.substr(0, prefix.size()) == prefix) secret.remove_prefix(prefix.size());
  std::string key;
  key.reserve(secret.size() / 4 * 3 + 3);
  const bool decoded = base64_decode(secret, key);
  struct Wipe {
    std::string& bytes;
    ~Wipe() { OPENSSL_cleanse(bytes.data(), bytes.capacity()); }
  } wipe{key};
  if (!decoded) {
    throw ConfigError(Error{ErrorCode::invalid_secret,
                            std::string(field) + ": must be base64 after the optional \"whsec_\" prefix",
                            std::string(field)});
  }
  if (key.empty()) {
    throw ConfigError(Error{ErrorCode::invalid_secret, std::string(field) + ": decodes to an empty key",
                            std::string(field)});
  }
  return std::make_shared<const HmacSha256Key>(key);
}

Error signature_error(ErrorCode code, std::string_view field, std::string_view what) {
  std::string message(field);
  message += ": ";
  message += what;
  return Error{code, std::move(message), std::string(field)};
}

}  // namespace

// ---------------------------------------------------------------------------------------------------
// SignatureScheme, Secret

const char* to_string(SignatureScheme scheme) noexcept {
  switch (scheme) {
    case SignatureScheme::statusstack: return "statusstack";
    case SignatureScheme::standard_webhooks: return "standard_webhooks";
  }
  return "unknown";
}

Secret::Secret(std::string_view bytes) : size_(bytes.size()) {
  if (size_ != 0) {
    data_.reset(new char[size_]);
    std::memcpy(data_.get(), bytes.data(), size_);
  }
}

Secret::Secret(const Secret& other) : Secret(other.reveal()) {}

Secret& Secret::operator=(std::string_view bytes) {
  // Copied before the old bytes are wiped: `bytes` may point into them.
  *this = Secret(bytes);
  return *this;
}

Secret& Secret::operator=(const Secret& other) {
  if (this != &other) *this = Secret(other);  // copy first: strong guarantee, then move in
  return *this;
}

Secret::Secret(Secret&& other) noexcept : data_(std::move(other.data_)), size_(other.size_) {
  other.size_ = 0;
}

Secret& Secret::operator=(Secret&& other) noexcept {
  if (this != &other) {
    wipe();
    data_ = std::move(other.data_);
    size_ = other.size_;
    other.size_ = 0;
  }
  return *this;
}

Secret::~Secret() { wipe(); }

void Secret::wipe() noexcept {
  if (data_) OPENSSL_cleanse(data_.get(), size_);
  data_.reset();
  size_ = 0;
}

bool operator==(const Secret& a, const Secret& b) noexcept {
  if (a.size_ != b.size_) return false;
  return a.size_ == 0 || CRYPTO_memcmp(a.data_.get(), b.data_.get(), a.size_) == 0;
}

std::ostream& operator<<(std::ostream& out, const Secret&) { return out << "***"; }

// ---------------------------------------------------------------------------------------------------
// Signer

Signer::Signer(std::string_view secret) : key_(make_key(secret, "secret")) {}
Signer::Signer(const Secret& secret) : Signer(secret.reveal()) {}
Signer::Signer(const Signer&) noexcept = default;
Signer& Signer::operator=(const Signer&) noexcept = default;
Signer::Signer(Signer&&) noexcept = default;
Signer& Signer::operator=(Signer&&) noexcept = default;
Signer::~Signer() = default;

void Signer::sign_into(std::string_view body, char (&out)[signature_hex_length]) const {
  if (!key_) throw ConfigError(Error{ErrorCode::invalid_config, "Signer: used after being moved from", ""});
  unsigned char mac[sha256_size];
  key_->mac(body, mac);
  to_hex(mac, out);
  OPENSSL_cleanse(mac, sizeof mac);
}

SignatureHex Signer::sign_hex(std::string_view body) const {
  char hex[signature_hex_length];
  sign_into(body, hex);
  SignatureHex out;
  std::memcpy(out.data(), hex, sizeof hex);
  return out;
}

std::string Signer::sign(std::string_view body) const {
  char hex[signature_hex_length];
  sign_into(body, hex);
  return std::string(hex, sizeof hex);
}

// ---------------------------------------------------------------------------------------------------
// Verifier

Verifier::Verifier(std::string_view secret) { keys_.push_back(make_key(secret, "secret")); }
Verifier::Verifier(const Secret& secret) : Verifier(secret.reveal()) {}

Verifier::Verifier(std::vector<std::string> secrets) {
  if (secrets.empty()) {
    throw ConfigError(
        Error{ErrorCode::invalid_secret, "secrets: at least one secret is required", "secrets"});
  }
  keys_.reserve(secrets.size());
  for (std::size_t i = 0; i < secrets.size(); ++i) {
    keys_.push_back(make_key(secrets[i], "secrets[" + std::to_string(i) + "]"));
    OPENSSL_cleanse(secrets[i].data(), secrets[i].size());  // our copy: no need to keep it around
  }
}

Verifier::Verifier(const std::vector<Secret>& secrets) {
  if (secrets.empty()) {
    throw ConfigError(
        Error{ErrorCode::invalid_secret, "secrets: at least one secret is required", "secrets"});
  }
  keys_.reserve(secrets.size());
  for (std::size_t i = 0; i < secrets.size(); ++i) {
    keys_.push_back(make_key(secrets[i].reveal(), "secrets[" + std::to_string(i) + "]"));
  }
}

Result<void> Verifier::verify(std::string_view body, std::string_view signature) const {
  return check(body, signature, "signature");
}

Result<void> Verifier::verify_request(const Headers& headers, std::string_view body) const {
  const std::string* value = find_header(headers, signature_header);
  if (value == nullptr)
    return signature_error(ErrorCode::missing_signature, signature_header, "header is missing");
  return check(body, detail::trim(*value), signature_header);
}

Result<void> Verifier::check(std::string_view body, std::string_view signature,
                             std::string_view field) const {
  if (signature.size() != signature_hex_length) {
    // Only the form is inspected here; the content of a wrong-length value is never compared.
    if (signature.empty()) return signature_error(ErrorCode::malformed_signature, field, "is empty");
    if (detail::istarts_with(signature, "sha256=")) {
      return signature_error(ErrorCode::malformed_signature, field,
                             "must be the 64 hex characters alone, without a \"sha256=\" prefix");
    }
    return signature_error(
        ErrorCode::malformed_signature, field,
        "must be 64 lowercase hex characters (got " + std::to_string(signature.size()) + " characters)");
  }
  // Classify every character without stopping early, so timing does not depend on where a bad one is.
  unsigned not_hex = 0;
  unsigned upper = 0;
  for (const char c : signature) {
    const auto u = static_cast<unsigned char>(c);
    const unsigned is_digit = static_cast<unsigned>(static_cast<unsigned char>(u - '0') < 10);
    const unsigned is_lower = static_cast<unsigned>(static_cast<unsigned char>(u - 'a') < 6);
    const unsigned is_upper = static_cast<unsigned>(static_cast<unsigned char>(u - 'A') < 6);
    not_hex |= (is_digit | is_lower | is_upper) ^ 1U;
    upper |= is_upper;
  }
  if (not_hex != 0) {
    return signature_error(ErrorCode::malformed_signature, field,
                           "must be 64 lowercase hex characters (got a character that is not hex)");
  }
  if (upper != 0) {
    return signature_error(ErrorCode::malformed_signature, field,
                           "must be lowercase hex, as the documented receiver code compares it (got "
                           "uppercase hex digits)");
  }
  // Compare against every secret, whichever matched, so timing does not tell which one did.
  int matched = 0;
  for (const auto& key : keys_) {
    unsigned char mac[sha256_size];
    char expected[signature_hex_length];
    key->mac(body, mac);
    to_hex(mac, expected);
    matched |= static_cast<int>(CRYPTO_memcmp(expected, signature.data(), signature_hex_length) == 0);
    OPENSSL_cleanse(mac, sizeof mac);
    OPENSSL_cleanse(expected, sizeof expected);
  }
  if (matched == 0) {
    return signature_error(ErrorCode::signature_mismatch, field,
                           keys_.size() == 1 ? "does not match the body"
                                             : "does not match the body under any of the configured secrets");
  }
  return {};
}

// ---------------------------------------------------------------------------------------------------
// Standard Webhooks

StandardWebhooksSigner::StandardWebhooksSigner(std::string_view whsec_secret)
    : key_(make_standard_webhooks_key(whsec_secret, "secret")) {}
StandardWebhooksSigner::StandardWebhooksSigner(const Secret& whsec_secret)
    : StandardWebhooksSigner(whsec_secret.reveal()) {}

std::string StandardWebhooksSigner::sign(std::string_view msg_id, std::int64_t timestamp,
                                         std::string_view body) const {
  char digits[24];
  const auto converted = std::to_chars(digits, digits + sizeof digits, timestamp);
  const std::string_view parts[] = {msg_id, ".", std::string_view(digits, converted.ptr - digits), ".", body};
  unsigned char mac[sha256_size];
  key_->mac(parts, std::size(parts), mac);
  // "v1," and the base64 of the MAC: 44 characters, and the NUL that EVP_EncodeBlock adds.
  unsigned char encoded[(sizeof mac + 2) / 3 * 4 + 1];
  const int length = EVP_EncodeBlock(encoded, mac, sizeof mac);
  OPENSSL_cleanse(mac, sizeof mac);
  std::string out = "v1,";
  out.append(reinterpret_cast<const char*>(encoded), static_cast<std::size_t>(length));
  return out;
}

namespace {

std::vector<std::shared_ptr<const HmacSha256Key>> make_standard_webhooks_keys(
    const std::vector<std::string>& secrets) {
  if (secrets.empty()) {
    throw ConfigError(
        Error{ErrorCode::invalid_secret, "secrets: at least one secret is required", "secrets"});
  }
  std::vector<std::shared_ptr<const HmacSha256Key>> keys;
  keys.reserve(secrets.size());
  for (std::size_t i = 0; i < secrets.size(); ++i) {
    keys.push_back(make_standard_webhooks_key(secrets[i], "secrets[" + std::to_string(i) + "]"));
  }
  return keys;
}

std::chrono::seconds checked_tolerance(std::chrono::seconds tolerance) {
  if (tolerance.count() < 0) {
    throw ConfigError(Error{
        ErrorCode::invalid_config,
        "tolerance: must not be negative (got " + std::to_string(tolerance.count()) + " s)", "tolerance"});
  }
  return tolerance;
}

}  // namespace

StandardWebhooksVerifier::StandardWebhooksVerifier(std::string_view whsec_secret,
                                                   std::chrono::seconds tolerance)
    : tolerance_(checked_tolerance(tolerance)) {
  keys_.push_back(make_standard_webhooks_key(whsec_secret, "secret"));
}

StandardWebhooksVerifier::StandardWebhooksVerifier(const Secret& whsec_secret, std::chrono::seconds tolerance)
    : StandardWebhooksVerifier(whsec_secret.reveal(), tolerance) {}

StandardWebhooksVerifier::StandardWebhooksVerifier(const std::vector<std::string>& whsec_secrets,
                                                   std::chrono::seconds tolerance)
    : keys_(make_standard_webhooks_keys(whsec_secrets)), tolerance_(checked_tolerance(tolerance)) {}

Result<void> StandardWebhooksVerifier::verify(std::string_view msg_id, std::string_view timestamp,
                                              std::string_view signature, std::string_view body,
                                              std::int64_t now_unix) const {
  // The timestamp first: a stale request is refused before any MAC is computed.
  std::int64_t signed_at = 0;
  const bool digits_only = !timestamp.empty() && timestamp.size() <= 18 &&
                           timestamp.find_first_not_of("0123456789") == std::string_view::npos;
  if (!digits_only ||
      std::from_chars(timestamp.data(), timestamp.data() + timestamp.size(), signed_at).ec != std::errc{}) {
    return signature_error(ErrorCode::invalid_value, standard_webhooks_timestamp_header,
                           "must be unix seconds in decimal digits");
  }
  // Clamped so that the arithmetic below cannot overflow, whatever the caller passes.
  constexpr std::int64_t limit = std::int64_t{1} << 62;
  const std::int64_t tolerance = std::min<std::int64_t>(tolerance_.count(), limit);
  now_unix = std::clamp(now_unix, -limit, limit);
  if (signed_at < now_unix - tolerance) {
    return signature_error(ErrorCode::timestamp_out_of_tolerance, standard_webhooks_timestamp_header,
                           std::to_string(now_unix - signed_at) + " s in the past, more than the " +
                               std::to_string(tolerance) + " s tolerance");
  }
  if (signed_at > now_unix + tolerance) {
    return signature_error(ErrorCode::timestamp_out_of_tolerance, standard_webhooks_timestamp_header,
                           std::to_string(signed_at - now_unix) + " s in the future, more than the " +
                               std::to_string(tolerance) + " s tolerance");
  }

  // Expected MACs, one per secret, over "id.timestamp.body" (the timestamp exactly as received).
  std::vector<std::array<unsigned char, sha256_size>> expected(keys_.size());
  const std::string_view parts[] = {msg_id, ".", timestamp, ".", body};
  for (std::size_t k = 0; k < keys_.size(); ++k) {
    unsigned char mac[sha256_size];
    keys_[k]->mac(parts, std::size(parts), mac);
    std::memcpy(expected[k].data(), mac, sizeof mac);
    OPENSSL_cleanse(mac, sizeof mac);
  }

  // Every space-separated "version,signature" entry; versions other than v1 are ignored.
  bool any_well_formed = false;
  int matched = 0;
  std::string decoded;
  decoded.reserve(sha256_size + 3);
  std::string_view rest = signature;
  while (!rest.empty()) {
    const std::size_t space = rest.find(' ');
    const std::string_view entry = rest.substr(0, space);
    rest = space == std::string_view::npos ? std::string_view{} : rest.substr(space + 1);
    const std::size_t comma = entry.find(',');
    if (comma == std::string_view::npos || entry.substr(0, comma) != "v1") continue;
    decoded.clear();
    if (!base64_decode(entry.substr(comma + 1), decoded) || decoded.size() != sha256_size) continue;
    any_well_formed = true;
    for (const auto& mac : expected) {
      matched |= static_cast<int>(CRYPTO_memcmp(mac.data(), decoded.data(), sha256_size) == 0);
    }
  }
  OPENSSL_cleanse(expected.data(), expected.size() * sha256_size);
  if (!any_well_formed) {
    return signature_error(ErrorCode::malformed_signature, standard_webhooks_signature_header,
                           "no well-formed \"v1,<base64 of 32 bytes>\" entry");
  }
  if (matched == 0) {
    return signature_error(ErrorCode::signature_mismatch, standard_webhooks_signature_header,
                           keys_.size() == 1
                               ? "no v1 signature matches the body"
                               : "no v1 signature matches the body under any of the configured secrets");
  }
  return {};
}

Result<void> StandardWebhooksVerifier::verify_request(const Headers& headers, std::string_view body) const {
  return verify_request(headers, body, Timestamp::now().unix_seconds());
}

Result<void> StandardWebhooksVerifier::verify_request(const Headers& headers, std::string_view body,
                                                      std::int64_t now_unix) const {
  const std::string_view names[] = {standard_webhooks_id_header, standard_webhooks_timestamp_header,
                                    standard_webhooks_signature_header};
  const std::string* values[3] = {};
  for (std::size_t i = 0; i < 3; ++i) {
    values[i] = find_header(headers, names[i]);
    if (values[i] == nullptr)
      return signature_error(ErrorCode::missing_signature, names[i], "header is missing");
  }
  return verify(detail::trim(*values[0]), detail::trim(*values[1]), detail::trim(*values[2]), body, now_unix);
}

// ---------------------------------------------------------------------------------------------------
// Receiving: the signature first, over the raw bytes; the body is parsed only once it is trusted.

Result<Event> verify_and_parse(const Verifier& verifier, const Headers& headers, std::string_view body) {
  if (Result<void> verified = verifier.verify_request(headers, body); !verified) return verified.error();
  return parse_event(body);
}

Result<Event> verify_and_parse(const StandardWebhooksVerifier& verifier, const Headers& headers,
                               std::string_view body) {
  return verify_and_parse(verifier, headers, body, Timestamp::now().unix_seconds());
}

Result<Event> verify_and_parse(const StandardWebhooksVerifier& verifier, const Headers& headers,
                               std::string_view body, std::int64_t now_unix) {
  if (Result<void> verified = verifier.verify_request(headers, body, now_unix); !verified) {
    return verified.error();
  }
  return parse_event(body);
}

bool is_signature_error(const Error& error) noexcept {
  switch (error.code) {
    case ErrorCode::missing_signature:
    case ErrorCode::malformed_signature:
    case ErrorCode::signature_mismatch:
    case ErrorCode::timestamp_out_of_tolerance: return true;
    case ErrorCode::invalid_value: return error.field == standard_webhooks_timestamp_header;
    default: return false;
  }
}

}  // namespace statusstack::webhooks
