// libFuzzer target: the URL checks an endpoint goes through (validate_request, validate_endpoint,
// effective_url) and redact_url, on arbitrary URLs and proxies.
//
// Input: the first line is the URL, the second (optional) the proxy. In both, the markers {U},
// {P}, {Q} and {F} become fixed canary words (capital letters only), so that a URL can carry a
// user, password, query or fragment the checks can recognise.
//
// Checked on every input:
// - redact_url never throws, writes no C0 control byte or DEL, stays short (each of its two parts
//   of the text is cut at 256 bytes), and leaves a URL with nothing to hide (no '@', '?', '#',
//   no control byte, at most 256 bytes) as it is;
// - secrets stay hidden: when libcurl's own parser (the one requests go through) reads a canary
//   that occurs once in the text as part of the user, password, login options, query or fragment,
//   neither redact_url of that text nor any validate_request/validate_endpoint message shows it;
// - validate_request passes only for what libcurl reads as an http(s) URL with a host, https
//   unless allow_http; passing without allow_http implies passing with it;
// - validate_endpoint (an otherwise valid endpoint) agrees with validate_request on its URL and
//   proxy, with the same error code; effective_url is the URL.

#include "fuzz_check.hpp"

#include <statusstack/webhooks/client.hpp>
#include <statusstack/webhooks/endpoint.hpp>

#include "endpoint_signing.hpp"

#include <curl/curl.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace ssw = statusstack::webhooks;
using ssw_fuzz::check;

namespace {

struct Canary {
  std::string_view marker;
  std::string_view word;
};
constexpr Canary canaries[] = {
    {"{U}", "ZZUSERZZ"}, {"{P}", "ZZPASSWORDZZ"}, {"{Q}", "ZZQUERYZZ"}, {"{F}", "ZZFRAGMENTZZ"}};

std::string expand(std::string_view line) {
  std::string text(line);
  for (const Canary& canary : canaries) text = ssw_fuzz::replace_all(text, canary.marker, canary.word);
  return text;
}

struct CurlUrlDeleter {
  void operator()(CURLU* url) const noexcept { curl_url_cleanup(url); }
};

// What libcurl reads in a URL: nullopt when it refuses it.
struct CurlParts {
  std::string scheme, host, hidden;  // hidden: user, password, options, query and fragment together
};

std::string get_part(CURLU* url, CURLUPart part) {
  char* value = nullptr;
  std::string out;
  if (curl_url_get(url, part, &value, 0) == CURLUE_OK && value != nullptr) out = value;
  curl_free(value);
  return out;
}

std::optional<CurlParts> curl_parse(const std::string& text) {
  std::unique_ptr<CURLU, CurlUrlDeleter> url(curl_url());
  if (!url || curl_url_set(url.get(), CURLUPART_URL, text.c_str(), CURLU_NON_SUPPORT_SCHEME) != CURLUE_OK) {
    return std::nullopt;
  }
  CurlParts parts;
  parts.scheme = get_part(url.get(), CURLUPART_SCHEME);
  parts.host = get_part(url.get(), CURLUPART_HOST);
  for (CURLUPart part :
       {CURLUPART_USER, CURLUPART_PASSWORD, CURLUPART_OPTIONS, CURLUPART_QUERY, CURLUPART_FRAGMENT}) {
    parts.hidden += get_part(url.get(), part);
    parts.hidden += '\n';  // so that two parts cannot join into a canary
  }
  return parts;
}

// The canary words that `text` must never show: those libcurl reads in the hidden parts of `url`
// and that occur once in it (a word written twice may be in the host too, which is shown).
std::vector<std::string_view> secrets_of(const std::string& url, const std::optional<CurlParts>& parts) {
  std::vector<std::string_view> words;
  if (!parts) return words;
  for (const Canary& canary : canaries) {
    if (ssw_fuzz::count_of(url, canary.word) == 1 && parts->hidden.find(canary.word) != std::string::npos) {
      words.push_back(canary.word);
    }
  }
  return words;
}

void check_hidden(std::string_view text, const std::vector<std::string_view>& secrets, const char* what,
                  const std::string& url) {
  for (std::string_view word : secrets) {
    check(text.find(word) == std::string_view::npos, what,
          "URL \"" + url + "\" shown as \"" + std::string(text) + "\"");
  }
}

bool has_control(std::string_view text) {
  for (char c : text) {
    const auto byte = static_cast<unsigned char>(c);
    if (byte < 0x20 || byte == 0x7f) return true;
  }
  return false;
}

void check_redact(const std::string& url, const std::vector<std::string_view>& secrets) {
  std::string redacted;
  try {
    redacted = ssw::redact_url(url);
  } catch (...) {
    ssw_fuzz::fail("redact_url threw", url);
  }
  const std::string shown = "\"" + url + "\" -> \"" + redacted + "\"";
  check(!has_control(redacted), "redact_url wrote a control byte", shown);
  check(redacted.size() <= 2 * (256 * 4 + 3) + 8, "redact_url is not short", shown);
  if (url.find_first_of("@?#") == std::string::npos && !has_control(url) && url.size() <= 256) {
    check(redacted == url, "redact_url changed a URL with nothing to hide", shown);
  }
  check_hidden(redacted, secrets, "redact_url shows a secret part", url);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  std::string_view rest;
  const std::vector<std::string_view> lines = ssw_fuzz::take_lines(input, 2, rest);
  const std::string url = expand(lines[0]);
  const std::string proxy = lines.size() > 1 ? expand(lines[1]) : std::string();

  const std::optional<CurlParts> url_parts = curl_parse(url);
  const std::optional<CurlParts> proxy_parts = curl_parse(proxy);
  const std::vector<std::string_view> url_secrets = secrets_of(url, url_parts);
  const std::vector<std::string_view> proxy_secrets = secrets_of(proxy, proxy_parts);
  check_redact(url, url_secrets);
  if (!proxy.empty()) check_redact(proxy, proxy_secrets);
  // Messages show both texts: a word hidden in one must not be written in the other.
  std::vector<std::string_view> secrets;
  for (std::string_view word : url_secrets) {
    if (ssw_fuzz::count_of(proxy, word) == 0) secrets.push_back(word);
  }
  for (std::string_view word : proxy_secrets) {
    if (ssw_fuzz::count_of(url, word) == 0) secrets.push_back(word);
  }

  ssw::Request request;
  request.url = url;
  request.options.proxy = proxy;
  const ssw::Result<void> strict = ssw::validate_request(request);
  request.options.allow_http = true;
  const ssw::Result<void> lenient = ssw::validate_request(request);
  for (const ssw::Result<void>* result : {&strict, &lenient}) {
    if (!*result) {
      check(!result->error().message.empty(), "an error without a message", url);
      check_hidden(result->error().message, secrets, "a validate_request message shows a secret part", url);
    }
  }
  if (strict) check(static_cast<bool>(lenient), "valid without allow_http but not with it", url);
  if (lenient) {
    check(url_parts.has_value(), "validate_request passed a URL libcurl refuses", url);
    check(url_parts->scheme == "https" || url_parts->scheme == "http",
          "validate_request passed a non-http(s) URL", url);
    check(!url_parts->host.empty(), "validate_request passed a URL without a host", url);
    if (strict)
      check(url_parts->scheme == "https", "validate_request passed http:// without allow_http", url);
    if (!proxy.empty())
      check(proxy_parts.has_value(), "validate_request passed a proxy libcurl refuses", proxy);
  }

  ssw::Endpoint endpoint;
  endpoint.name = "fuzz";
  endpoint.url = url;
  endpoint.secret = "a secret long enough for any rule";
  endpoint.options.proxy = proxy;
  endpoint.options.allow_http = true;
  if (!url.empty()) check(ssw::detail::effective_url(endpoint) == url, "effective_url is not the URL", url);
  const ssw::Result<void> valid = ssw::validate_endpoint(endpoint);
  check(valid.has_value() == lenient.has_value(), "validate_endpoint disagrees with validate_request", url);
  if (!valid) {
    check(valid.error().code == lenient.error().code, "validate_endpoint gives another error code", url);
    check_hidden(valid.error().message, secrets, "a validate_endpoint message shows a secret part", url);
  }
  return 0;
}
