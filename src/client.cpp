#include <statusstack/webhooks/client.hpp>

#include "transfer.hpp"

#include <curl/curl.h>

#include <ctime>
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
    if (iequals(name, to_string(method))) return method;
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
    case TransportError::other: return "other";
  }
  return "other";
}

bool Outcome::retryable() const noexcept {
  switch (error) {
    case TransportError::none:
      return status == 408 || status == 425 || status == 429 || (status >= 500 && status <= 599);
    case TransportError::invalid_request:
    case TransportError::tls_verification:
    case TransportError::too_large: return false;
    case TransportError::dns:
    case TransportError::refused:
    case TransportError::connect_failed:
    case TransportError::timeout:
    case TransportError::tls_handshake:
    case TransportError::reset:
    case TransportError::malformed_response:
    case TransportError::other: return true;
  }
  return false;
}

std::string Outcome::describe() const {
  if (error != TransportError::none) return std::string(to_string(error)) + ": " + error_message;
  std::string text = "HTTP " + std::to_string(status);
  if (status >= 300 && status < 400 && !location.empty())
    text += " (redirect to " + location + " not followed)";
  if (retry_after) text += " (Retry-After " + std::to_string(retry_after->count()) + " s)";
  return text;
}

namespace {

// RFC 9110 tchar: the characters a header name may use.
bool is_token_char(char c) noexcept {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
  return std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

Error header_error(std::string_view name, const std::string& why) {
  return Error{ErrorCode::invalid_header, "header \"" + std::string(name) + "\": " + why, "headers"};
}

// Shows a value in a message without letting control characters through.
std::string printable(std::string_view text) {
  std::string out;
  for (char c : text) {
    if (c == '\r') {
      out += "\\r";
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\0') {
      out += "\\0";
    } else {
      out += c;
    }
  }
  return out;
}

Error url_error(const std::string& url, const std::string& why) {
  return Error{ErrorCode::invalid_url, "url \"" + printable(url) + "\": " + why, "url"};
}

struct CurlUrlDeleter {
  void operator()(CURLU* url) const noexcept { curl_url_cleanup(url); }
};

}  // namespace

Result<void> validate_header(std::string_view name, std::string_view value) {
  if (name.empty()) return header_error(name, "name is empty");
  for (char c : name) {
    if (c == '\r' || c == '\n' || c == '\0')
      return header_error(printable(name), "name contains CR, LF or NUL");
    if (!is_token_char(c))
      return header_error(name, "name is not a valid token (character '" + std::string(1, c) + "')");
  }
  if (value.find_first_of(std::string_view("\r\n\0", 3)) != std::string_view::npos) {
    return header_error(name, "value contains CR, LF or NUL");
  }
  return {};
}

Result<void> validate_request(const Request& request) {
  const std::string& url = request.url;
  if (url.empty()) return url_error(url, "is empty");
  for (char c : url) {
    if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7f) {
      return url_error(url, "contains whitespace or a control character");
    }
  }
  detail::ensure_curl_initialized();
  std::unique_ptr<CURLU, CurlUrlDeleter> parsed(curl_url());
  if (!parsed) return url_error(url, "cannot be parsed (out of memory)");
  if (const CURLUcode rc = curl_url_set(parsed.get(), CURLUPART_URL, url.c_str(), CURLU_NON_SUPPORT_SCHEME);
      rc != CURLUE_OK) {
    return url_error(url, std::string("is not a valid absolute URL (") + curl_url_strerror(rc) + ")");
  }
  char* scheme = nullptr;
  curl_url_get(parsed.get(), CURLUPART_SCHEME, &scheme, 0);
  const std::string scheme_text = scheme != nullptr ? scheme : "";
  curl_free(scheme);
  if (scheme_text == "http") {
    if (!request.options.allow_http) {
      return url_error(url, "must be https:// (plain http:// is refused unless allow_http is set)");
    }
  } else if (scheme_text != "https") {
    return url_error(url, "scheme must be https or http (got \"" + scheme_text + "\")");
  }
  char* host = nullptr;
  const CURLUcode host_rc = curl_url_get(parsed.get(), CURLUPART_HOST, &host, 0);
  const bool has_host = host_rc == CURLUE_OK && host != nullptr && *host != '\0';
  curl_free(host);
  if (!has_host) return url_error(url, "has no host");

  for (const Header& header : request.headers) {
    if (auto valid = validate_header(header.name, header.value); !valid) return valid;
  }
  return {};
}

std::optional<std::chrono::seconds> parse_retry_after(std::string_view value,
                                                      std::chrono::system_clock::time_point now) {
  if (value.empty()) return std::nullopt;
  if (value.find_first_not_of("0123456789") == std::string_view::npos) {
    // delta-seconds; absurdly long values saturate rather than overflow.
    constexpr std::int64_t cap = std::numeric_limits<std::int32_t>::max();
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
  const auto wait = std::chrono::system_clock::from_time_t(date) - now;
  if (wait <= std::chrono::system_clock::duration::zero()) return std::chrono::seconds(0);
  return std::chrono::ceil<std::chrono::seconds>(wait);
}

struct WebhookClient::Impl {
  detail::Transfer transfer;
};

WebhookClient::WebhookClient() : impl_(std::make_unique<Impl>()) {}
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
  if (!impl_) impl_ = std::make_unique<Impl>();  // a moved-from client is usable again
  detail::Transfer& transfer = impl_->transfer;
  transfer.prepare(request);
  const CURLcode code = curl_easy_perform(transfer.handle());
  return transfer.finish(code);
}

}  // namespace statusstack::webhooks
