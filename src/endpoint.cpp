#include <statusstack/webhooks/endpoint.hpp>

#include "detail/text.hpp"
#include "endpoint_signing.hpp"
#include "formats/profile.hpp"
#include "transfer.hpp"

#include <openssl/rand.h>

#ifndef _WIN32
#include <pthread.h>
#endif

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cstring>
#include <memory>
#include <mutex>
#include <stdexcept>

namespace statusstack::webhooks {

namespace {

bool pattern_matches(std::string_view pattern, std::string_view type) noexcept {
  if (pattern == "*") return true;
  if (pattern.size() >= 2 && pattern.substr(pattern.size() - 2) == ".*") {
    const std::string_view prefix = pattern.substr(0, pattern.size() - 1);  // keeps the dot
    return type.substr(0, prefix.size()) == prefix;
  }
  return pattern == type;
}

bool is_name_char(char c) noexcept {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
         c == ':' || c == '-';
}

Error endpoint_error(const Endpoint& endpoint, ErrorCode code, const std::string& what, std::string field) {
  return Error{code, "endpoint \"" + endpoint.name + "\": " + what, std::move(field)};
}

}  // namespace

std::size_t hmac_key_size(std::string_view secret, SignatureScheme scheme) noexcept {
  if (scheme != SignatureScheme::standard_webhooks) return secret.size();
  // Counted from the base64 text, without decoding the secret into another buffer.
  constexpr std::string_view prefix = "whsec_";
  if (secret.substr(0, prefix.size()) == prefix) secret.remove_prefix(prefix.size());
  while (!secret.empty() && secret.back() == '=') secret.remove_suffix(1);
  return secret.size() * 3 / 4;  // 6 bits a character, whole bytes only
}

bool EventFilter::matches(EventType type) const noexcept {
  if (patterns.empty()) return true;
  const std::string_view name = to_string(type);
  for (const std::string& pattern : patterns) {
    if (pattern_matches(pattern, name)) return true;
  }
  return false;
}

Result<void> EventFilter::validate() const {
  for (const std::string& pattern : patterns) {
    bool matches_some = false;
    for (EventType type : all_event_types)
      matches_some = matches_some || pattern_matches(pattern, to_string(type));
    if (!matches_some) {
      return Error{
          ErrorCode::invalid_config,
          "event filter \"" + pattern +
              "\" matches no event type (use \"*\", an exact type such as \"monitor.down\", or a prefix "
              "such as \"incident.*\")",
          "events"};
    }
  }
  return {};
}

namespace detail {

bool is_reserved_header(std::string_view name) noexcept {
  static constexpr std::array<std::string_view, 10> reserved{
      "Content-Type", "Content-Length",    "Transfer-Encoding", "Host", "User-Agent", "Expect", "Connection",
      "webhook-id",   "webhook-timestamp", "webhook-signature"};
  for (std::string_view r : reserved) {
    if (detail::iequals(name, r)) return true;
  }
  for (const Format format : formats::all_formats) {
    const std::string_view own = formats::profile_of(format).own_header;
    if (!own.empty() && detail::iequals(name, own)) return true;
  }
  return istarts_with(name, "X-StatusStack-");
}

std::string effective_url(const Endpoint& endpoint) {
  return endpoint.url.empty() ? default_url(endpoint.format) : endpoint.url;
}

double effective_rate_limit(const Endpoint& endpoint) noexcept {
  return endpoint.rate_limit_per_minute.value_or(formats::profile_of(endpoint.format).events_per_minute);
}

}  // namespace detail

Result<void> validate_endpoint(const Endpoint& endpoint) {
  if (endpoint.name.empty())
    return Error{ErrorCode::invalid_config, "endpoint: name must not be empty", "name"};
  // Names go into reports, logs and these messages: short, and nothing a terminal would act on.
  const std::string& name = endpoint.name;
  if (name.size() > max_endpoint_name_length ||
      !std::all_of(name.begin(), name.end(), [](char c) { return is_name_char(c); })) {
    return Error{ErrorCode::invalid_config,
                 "endpoint: name " + detail::quote_for_message(name, 32) + " must be 1 to " +
                     std::to_string(max_endpoint_name_length) +
                     " letters, digits, '.', '_', ':' or '-' (ASCII)",
                 "name"};
  }
  if (auto valid = validate_format_settings(endpoint.format); !valid) {
    return endpoint_error(endpoint, valid.error().code, valid.error().message, valid.error().field);
  }
  Request probe;
  probe.url = detail::effective_url(endpoint);
  probe.options = endpoint.options;
  if (auto valid = validate_request(probe); !valid) {
    return endpoint_error(endpoint, valid.error().code, valid.error().message, valid.error().field);
  }
  for (const Header& header : endpoint.headers) {
    if (auto valid = validate_header(header.name, header.value); !valid) {
      return endpoint_error(endpoint, ErrorCode::invalid_header, valid.error().message, "headers");
    }
    if (detail::is_reserved_header(header.name)) {
      return endpoint_error(endpoint, ErrorCode::invalid_header,
                            "header \"" + header.name + "\" is set by the library and cannot be overridden",
                            "headers");
    }
  }
  if (endpoint.secret.empty() && formats::profile_of(endpoint.format).needs_url_and_secret) {
    return endpoint_error(endpoint, ErrorCode::invalid_secret, "secret must not be empty", "secret");
  }
  if (endpoint.signature == SignatureScheme::standard_webhooks && !endpoint.secret.empty()) {
    try {
      StandardWebhooksSigner probe_signer(endpoint.secret);
    } catch (const ConfigError& e) {
      return endpoint_error(endpoint, ErrorCode::invalid_secret, e.what(), "secret");
    }
  }
  if (const std::size_t key_bytes = hmac_key_size(endpoint.secret.reveal(), endpoint.signature);
      !endpoint.secret.empty() && key_bytes < min_secret_bytes && !endpoint.allow_short_secret) {
    // The length only: the message may be logged, the secret must not be.
    return endpoint_error(endpoint, ErrorCode::invalid_secret,
                          "secret: " + std::to_string(key_bytes) + (key_bytes == 1 ? " byte" : " bytes") +
                              ", at least " + std::to_string(min_secret_bytes) +
                              " are needed (a legacy receiver's shorter secret needs allow_short_secret)",
                          "secret");
  }
  if (auto valid = endpoint.events.validate(); !valid) {
    return endpoint_error(endpoint, ErrorCode::invalid_config, valid.error().message, "events");
  }
  if (endpoint.retry) {
    if (auto valid = endpoint.retry->validate(); !valid) {
      return endpoint_error(endpoint, valid.error().code, valid.error().message, valid.error().field);
    }
  }
  if (endpoint.max_in_flight == 0) {
    return endpoint_error(endpoint, ErrorCode::invalid_config, "max_in_flight must be at least 1",
                          "max_in_flight");
  }
  if (const double rate = detail::effective_rate_limit(endpoint); !(rate >= 0) || rate > 1e9) {
    return endpoint_error(endpoint, ErrorCode::invalid_config,
                          "rate_limit_per_minute must be 0 (none) or positive", "rate_limit_per_minute");
  }
  if (endpoint.options.timeout <= std::chrono::milliseconds::zero()) {
    return endpoint_error(endpoint, ErrorCode::invalid_config, "timeout must be positive", "timeout_ms");
  }
  return {};
}

namespace {

// Bumped in the child of every fork() (pthread_atfork): a thread's block of random bytes made
// before the fork is then never used in the child, so parent and child never hand out the same ids.
std::atomic<std::uint64_t> fork_generation{0};

// Random bytes from OpenSSL's CSPRNG, fetched a block at a time per thread: one RAND_bytes call
// costs microseconds whatever its size, and OpenSSL 3 serialises the calls of all threads.
class RandomBlock {
 public:
  void take(unsigned char* out, std::size_t count) {
    if (used_ + count > block_bytes || generation_ != fork_generation.load(std::memory_order_relaxed)) {
      refill();
    }
    std::memcpy(out, bytes_.get() + used_, count);
    used_ += count;
  }

 private:
  void refill() {
#ifndef _WIN32
    static std::once_flag registered;
    std::call_once(registered, [] {
      if (pthread_atfork(nullptr, nullptr, [] { fork_generation.fetch_add(1, std::memory_order_relaxed); }) !=
          0) {
        throw std::runtime_error("new_delivery_id: pthread_atfork failed");
      }
    });
#endif
    generation_ = fork_generation.load(std::memory_order_relaxed);
    if (!bytes_) bytes_ = std::make_unique<unsigned char[]>(block_bytes);
    if (RAND_bytes(bytes_.get(), static_cast<int>(block_bytes)) != 1) {
      throw std::runtime_error("new_delivery_id: OpenSSL's random generator failed");
    }
    used_ = 0;
  }

  // A call costs about 2 us plus 0.15 ns a byte: 16 KiB (about 1,500 ids) makes it rare enough to stay
  // out of dispatch()'s 99th percentile. On the heap, so that threads which never make an id do not
  // carry it in their thread-local storage.
  static constexpr std::size_t block_bytes = std::size_t{16} * 1024;
  std::unique_ptr<unsigned char[]> bytes_;
  std::size_t used_ = block_bytes;
  std::uint64_t generation_ = 0;
};

}  // namespace

std::string new_delivery_id() {
  // ULID-like: 130 bits written as 26 Crockford base32 characters, most significant first. The
  // first 48 bits are the milliseconds since 1970, so the text sorts by creation time across
  // milliseconds; the other 82 come from OpenSSL's CSPRNG.
  static constexpr char alphabet[] = "0123456789abcdefghjkmnpqrstvwxyz";  // in ASCII order
  constexpr int random_bits = 130 - 48;
  std::array<unsigned char, (random_bits + 7) / 8> random{};
  thread_local RandomBlock block;
  block.take(random.data(), random.size());
  const auto millis = std::chrono::duration_cast<std::chrono::milliseconds>(
                          std::chrono::system_clock::now().time_since_epoch())
                          .count();
  std::string id = "dlv_";
  id.reserve(4 + 26);
  // `pending` holds the `held` bits not written yet, oldest highest: the time, then random bytes.
  std::uint64_t pending = static_cast<std::uint64_t>(millis) & ((std::uint64_t{1} << 48) - 1);
  int held = 48;
  std::size_t next_byte = 0;
  while (id.size() < 4 + 26) {
    if (held < 5) {
      pending = (pending << 8) | random[next_byte++];
      held += 8;
    }
    held -= 5;
    id += alphabet[(pending >> static_cast<unsigned>(held)) & 31U];
  }
  return id;
}

namespace detail {

EndpointSigner::EndpointSigner(const Endpoint& endpoint) : scheme_(endpoint.signature) {
  if (endpoint.secret.empty()) return;  // a vendor format without a secret: nothing to sign with
  if (scheme_ == SignatureScheme::standard_webhooks) {
    standard_.emplace(endpoint.secret);
  } else {
    hmac_.emplace(endpoint.secret);
  }
}

std::string EndpointSigner::sign(std::string_view body, std::string_view delivery_id,
                                 std::int64_t unix_seconds) const {
  if (hmac_) return hmac_->sign(body);
  if (standard_) return standard_->sign(delivery_id, unix_seconds, body);
  return {};
}

void EndpointSigner::append_headers(Headers& headers, const Endpoint& endpoint, const Headers& format_headers,
                                    std::string_view event_type, std::string_view delivery_id,
                                    std::int64_t unix_seconds, std::string signature) const {
  std::string timestamp = std::to_string(unix_seconds);
  headers.push_back({"Content-Type", "application/json"});
  headers.push_back({"User-Agent", user_agent()});
  headers.push_back({"X-StatusStack-Event", std::string(event_type)});
  headers.push_back({"X-StatusStack-Delivery", std::string(delivery_id)});
  headers.push_back({"X-StatusStack-Timestamp", timestamp});
  // No signature without a secret (allowed for the vendor formats).
  if (!signature.empty() && scheme_ == SignatureScheme::statusstack) {
    headers.push_back({std::string(signature_header), std::move(signature)});
  } else if (!signature.empty()) {
    headers.push_back({std::string(standard_webhooks_id_header), std::string(delivery_id)});
    headers.push_back({std::string(standard_webhooks_timestamp_header), std::move(timestamp)});
    headers.push_back({std::string(standard_webhooks_signature_header), std::move(signature)});
  }
  headers.insert(headers.end(), format_headers.begin(), format_headers.end());
  headers.insert(headers.end(), endpoint.headers.begin(), endpoint.headers.end());
}

std::int64_t unix_seconds(std::chrono::system_clock::time_point at) {
  return std::chrono::duration_cast<std::chrono::seconds>(at.time_since_epoch()).count();
}

}  // namespace detail

Request make_signed_request(const Event& event, const Endpoint& endpoint, std::string_view delivery_id,
                            std::chrono::system_clock::time_point signed_at) {
  if (auto valid = validate_endpoint(endpoint); !valid) throw ConfigError(valid.error());
  auto formatted = format_event(event, endpoint.format);
  if (!formatted) throw ConfigError(formatted.error());
  Request request;
  request.url = detail::effective_url(endpoint);
  request.method = endpoint.method;
  request.options = endpoint.options;
  request.body = std::move(formatted->body);
  const detail::EndpointSigner signer(endpoint);
  const std::int64_t timestamp = detail::unix_seconds(signed_at);
  signer.append_headers(request.headers, endpoint, formatted->headers, to_string(type_of(event)), delivery_id,
                        timestamp, signer.sign(request.body, delivery_id, timestamp));
  return request;
}

TestDelivery send_test(WebhookClient& client, const Endpoint& endpoint, EventType type) {
  TestDelivery test;
  if (auto valid = validate_endpoint(endpoint); !valid) {
    test.outcome.error = TransportError::invalid_request;
    test.outcome.error_message = valid.error().message;
    return test;
  }
  test.delivery_id = new_delivery_id();
  Request request = make_signed_request(example_event(type), endpoint, test.delivery_id);
  request.headers.push_back({"X-StatusStack-Test", "true"});
  test.outcome = client.send(request);
  return test;
}

}  // namespace statusstack::webhooks
