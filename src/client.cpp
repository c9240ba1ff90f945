#include <statusstack/webhooks/client.hpp>

#include "detail/text.hpp"

#include "dispatch/decide.hpp"

#include "network_guard.hpp"
#include "transfer.hpp"

#include <curl/curl.h>

#include <algorithm>
#include <ctime>
#include <iterator>
#include <limits>
#include <memory>

namespace statusstack::webhooks {

const char* to_string(HttpMethod method) noexcept {
  switch (method) {
    case HttpMethod::post: return "POST";
    case HttpMethod::put: return "PUT";
    case HttpMethod::patch: return "PATCH";
  }
  return "POST";
}

std::optional<HttpMethod> parse_http_method(std::string_view name) noexcept {
  for (HttpMethod method : {HttpMethod::post, HttpMethod::put, HttpMethod::patch}) {
    if (detail::iequals(name, to_string(method))) return method;
  }
  return std::nullopt;
}

const char* to_string(TransportError error) noexcept {
  switch (error) {
    case TransportError::none: return "none";
    case TransportError::invalid_request: return "invalid_request";
    case TransportError::dns: return "dns";
    case TransportError::refused: return "refused";
    case TransportError::connect_failed: return "connect_failed";
    case TransportError::timeout: return "timeout";
    case TransportError::tls_handshake: return "tls_handshake";
    case TransportError::tls_verification: return "tls_verification";
    case TransportError::reset: return "reset";
    case TransportError::malformed_response: return "malformed_response";
    case TransportError::too_large: return "too_large";
    case TransportError::blocked: return "blocked";
    case TransportError::other: return "other";
  }
  return "other";
}

// The retry rules live in one place, with the Dispatcher's (src/dispatch/decide.cpp).
bool Outcome::retryable() const noexcept { return detail::worth_retrying(*this); }

std::string Outcome::describe() const {
  if (error != TransportError::none) return std::string(to_string(error)) + ": " + error_message;
  if (status == 0) return "no attempt";  // a report's `last` when the delivery never got one
  std::string text = "HTTP " + std::to_string(status);
  if (status >= 300 && status < 400 && !location.empty())
    text += " (redirect to " + redact_url(location) + " not followed)";
  if (retry_after) text += " (Retry-After " + std::to_string(retry_after->count()) + " s)";
  return text;
}

namespace {

// The longest wait a Retry-After gives: 2^31 - 1 seconds, for both of its forms.
constexpr std::int64_t max_retry_after_seconds = std::numeric_limits<std::int32_t>::max();

// RFC 9110 tchar: the characters a header name may use.
bool is_token_char(char c) noexcept {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
  return std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

// Shows text from configuration in a message: CR, LF and NUL as \r, \n, \0, other control bytes
// as \xNN, and at most `max_bytes` of it (then "...").
std::string printable(std::string_view text, std::size_t max_bytes = 256) {
  static constexpr char hex[] = "0123456789abcdef";
  std::string out;
  for (std::size_t i = 0; i < text.size() && i < max_bytes; ++i) {
    const char c = text[i];
    const auto byte = static_cast<unsigned char>(c);
    if (c == '\r') {
      out += "\\r";
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\0') {
      out += "\\0";
    } else if (byte < 0x20 || byte == 0x7f) {
      out += "\\x";
      out += hex[byte >> 4];
      out += hex[byte & 0x0f];
    } else {
      out += c;
    }
  }
  if (text.size() > max_bytes) out += "...";
  return out;
}

// Messages name the header, never show its value: values carry tokens and passwords.
Error header_error(std::string_view name, const std::string& why) {
  return Error{ErrorCode::invalid_header, "header \"" + printable(name, 64) + "\": " + why, "headers"};
}

Error url_error(const char* what, std::string_view url, const std::string& why) {
  return Error{ErrorCode::invalid_url, std::string(what) + " \"" + redact_url(url) + "\": " + why, what};
}

struct CurlUrlDeleter {
  void operator()(CURLU* url) const noexcept { curl_url_cleanup(url); }
};

// The position of the ':' that ends a URL's scheme, or npos when the text does not start with one.
std::size_t scheme_end(std::string_view url) {
  const std::size_t colon = url.find(':');
  if (colon == std::string_view::npos || colon == 0) return std::string_view::npos;
  for (std::size_t i = 0; i < colon; ++i) {
    const char c = url[i];
    const bool letter = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
    const bool other = (c >= '0' && c <= '9') || c == '+' || c == '-' || c == '.';
    if (!(letter || (i > 0 && other))) return std::string_view::npos;
  }
  return colon;
}

// True when the text reads "scheme://" and a host (or user-info) before the path starts.
bool has_written_authority(std::string_view url) {
  const std::size_t colon = scheme_end(url);
  if (colon == std::string_view::npos || url.substr(colon + 1, 2) != "//") return false;
  const std::size_t begin = colon + 3;
  return begin < url.size() && std::string_view("/?#").find(url[begin]) == std::string_view::npos;
}

// What parse_url found: the scheme (lowercase) and whether a host was written.
struct UrlParts {
  std::string scheme;
  bool has_host = false;
};

// Parses a URL's text with libcurl, or gives the error about it. A host counts only when the text
// itself reads "scheme://host...": libcurl also takes "http:/h" and "http:///h" as the URL of host
// "h", which is not what was written.
Result<UrlParts> parse_url(const char* what, std::string_view url) {
  if (url.empty()) return url_error(what, url, "is empty");
  for (char c : url) {
    if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7f) {
      return url_error(what, url, "contains whitespace or a control character");
    }
  }
  detail::ensure_curl_initialized();
  std::unique_ptr<CURLU, CurlUrlDeleter> parsed(curl_url());
  if (!parsed) return url_error(what, url, "cannot be parsed (out of memory)");
  const std::string text(url);
  if (const CURLUcode rc = curl_url_set(parsed.get(), CURLUPART_URL, text.c_str(), CURLU_NON_SUPPORT_SCHEME);
      rc != CURLUE_OK) {
    return url_error(what, url, std::string("is not a valid absolute URL (") + curl_url_strerror(rc) + ")");
  }
  UrlParts parts;
  char* scheme = nullptr;
  curl_url_get(parsed.get(), CURLUPART_SCHEME, &scheme, 0);
  parts.scheme = scheme != nullptr ? scheme : "";
  curl_free(scheme);
  char* host = nullptr;
  const CURLUcode host_rc = curl_url_get(parsed.get(), CURLUPART_HOST, &host, 0);
  parts.has_host = host_rc == CURLUE_OK && host != nullptr && *host != '\0' && has_written_authority(url);
  curl_free(host);
  return parts;
}

}  // namespace

std::string redact_url(std::string_view url) {
  // Everything from the first '?' or '#' on is hidden; the user-info is what precedes the last '@'
  // before it, after "scheme:/" or "scheme://" when the text starts so. Read from the text as
  // written, so that malformed URLs (the ones errors show) are covered too: a path holding '@' is
  // hidden up to it, which is the safe way to be wrong.
  const std::size_t hidden_tail = std::min(url.size(), url.find_first_of("?#"));
  std::size_t start = 0;
  if (const std::size_t colon = scheme_end(url);
      colon != std::string_view::npos && colon + 1 < url.size() && url[colon + 1] == '/') {
    start = std::min(url.find_first_not_of('/', colon + 1), hidden_tail);
  }
  std::string out = printable(url.substr(0, start));
  std::string_view rest = url.substr(start, hidden_tail - start);
  if (const std::size_t at = rest.rfind('@'); at != std::string_view::npos) {
    out += "***";
    rest.remove_prefix(at);
  }
  out += printable(rest);
  if (hidden_tail < url.size()) {
    if (url[hidden_tail] == '?') out += "?***";
    if (url.find('#', hidden_tail) != std::string_view::npos) out += "#***";
  }
  return out;
}

Result<void> validate_header(std::string_view name, std::string_view value) {
  if (name.empty()) return header_error(name, "name is empty");
  if (name.size() > max_header_name_length) {
    return header_error(name, "name is longer than " + std::to_string(max_header_name_length) + " bytes");
  }
  for (char c : name) {
    if (c == '\r' || c == '\n' || c == '\0') return header_error(name, "name contains CR, LF or NUL");
    if (!is_token_char(c)) {
      return header_error(
          name, "name is not a valid token (character '" + printable(std::string_view(&c, 1)) + "')");
    }
  }
  if (value.find_first_of(std::string_view("\r\n\0", 3)) != std::string_view::npos) {
    return header_error(name, "value contains CR, LF or NUL");
  }
  for (char c : value) {
    const auto byte = static_cast<unsigned char>(c);
    if ((byte < 0x20 && c != '\t') || byte == 0x7f) {
      return header_error(name, "value contains a control character (only tab is allowed)");
    }
  }
  if (value.size() > max_header_value_length) {
    return header_error(name, "value is longer than " + std::to_string(max_header_value_length) + " bytes");
  }
  return {};
}

Result<void> validate_request(const Request& request) {
  const auto url = parse_url("url", request.url);
  if (!url) return url.error();
  if (url->scheme == "http") {
    if (!request.options.allow_http) {
      return url_error("url", request.url,
                       "must be https:// (plain http:// is refused unless allow_http is set)");
    }
  } else if (url->scheme != "https") {
    return url_error("url", request.url,
                     "scheme must be https or http (got \"" + printable(url->scheme, 32) + "\")");
  }
  if (!url->has_host) return url_error("url", request.url, "has no host (expected https://host/...)");
  // A wrong proxy is found with the configuration, rather than by every attempt later.
  if (!request.options.proxy.empty()) {
    const auto proxy = parse_url("proxy", request.options.proxy);
    if (!proxy) return proxy.error();
    static constexpr std::string_view proxy_schemes[] = {"http",    "https",  "socks4",
                                                         "socks4a", "socks5", "socks5h"};
    if (std::find(std::begin(proxy_schemes), std::end(proxy_schemes), proxy->scheme) ==
        std::end(proxy_schemes)) {
      return url_error("proxy", request.options.proxy,
                       "scheme must be http, https, socks4, socks4a, socks5 or socks5h (got \"" +
                           printable(proxy->scheme, 32) + "\")");
    }
    if (!proxy->has_host) {
      return url_error("proxy", request.options.proxy, "has no host (expected scheme://host:port)");
    }
  }
  for (const Header& header : request.headers) {
    if (auto valid = validate_header(header.name, header.value); !valid) return valid;
  }
  return {};
}

namespace detail {

std::optional<std::chrono::seconds> parse_retry_after(std::string_view value,
                                                      std::chrono::system_clock::time_point now) {
  if (value.empty()) return std::nullopt;
  if (value.find_first_not_of("0123456789") == std::string_view::npos) {
    // delta-seconds; absurdly long values saturate rather than overflow.
    constexpr std::int64_t cap = max_retry_after_seconds;
    std::int64_t seconds = 0;
    for (char c : value) {
      seconds = seconds * 10 + (c - '0');
      if (seconds > cap) return std::chrono::seconds(cap);
    }
    return std::chrono::seconds(seconds);
  }
  const std::string text(value);
  const std::time_t date = curl_getdate(text.c_str(), nullptr);
  if (date == -1) return std::nullopt;
  // In whole seconds: a far date (year 9999) as a system_clock duration overflows its nanoseconds.
  // ceil(date - now) is date - floor(now), since date is a whole second.
  const std::int64_t now_seconds = std::chrono::floor<std::chrono::seconds>(now.time_since_epoch()).count();
  const auto date_seconds = static_cast<std::int64_t>(date);
  if (date_seconds <= now_seconds) return std::chrono::seconds(0);
  if (now_seconds < 0 && date_seconds > std::numeric_limits<std::int64_t>::max() + now_seconds) {
    return std::chrono::seconds(max_retry_after_seconds);
  }
  return std::chrono::seconds(std::min<std::int64_t>(date_seconds - now_seconds, max_retry_after_seconds));
}

}  // namespace detail

struct WebhookClient::Impl {
  explicit Impl(detail::NetworkPolicyPtr network_policy)
      : policy(std::move(network_policy)), transfer(policy) {}
  detail::NetworkPolicyPtr policy;
  detail::Transfer transfer;
};

namespace {

detail::NetworkPolicyPtr policy_or_throw(const NetworkGuard& guard) {
  auto policy = detail::make_network_policy(guard);
  if (!policy) throw ConfigError(std::move(policy).error());
  return std::move(policy).value();
}

}  // namespace

WebhookClient::WebhookClient() : impl_(std::make_unique<Impl>(detail::default_network_policy())) {}
WebhookClient::WebhookClient(NetworkGuard guard) : impl_(std::make_unique<Impl>(policy_or_throw(guard))) {}
WebhookClient::~WebhookClient() = default;
WebhookClient::WebhookClient(WebhookClient&&) noexcept = default;
WebhookClient& WebhookClient::operator=(WebhookClient&&) noexcept = default;

Outcome WebhookClient::send(const Request& request) {
  if (auto valid = validate_request(request); !valid) {
    Outcome refused;
    refused.error = TransportError::invalid_request;
    refused.error_message = valid.error().message;
    return refused;
  }
  // A moved-from client is usable again, with the default guard.
  if (!impl_) impl_ = std::make_unique<Impl>(detail::default_network_policy());
  if (auto allowed = detail::check_proxy_allowed(request.options, *impl_->policy); !allowed) {
    Outcome refused;
    refused.error = TransportError::invalid_request;
    refused.error_message = allowed.error().message;
    return refused;
  }
  detail::Transfer& transfer = impl_->transfer;
  transfer.prepare(request);
  const CURLcode code = curl_easy_perform(transfer.handle());
  return transfer.finish(code);
}

}  // namespace statusstack::webhooks
