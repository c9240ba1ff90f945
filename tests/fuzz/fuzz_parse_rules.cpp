// libFuzzer target: parse_rules on arbitrary text. The marker {S} becomes a fixed canary word, so
// that a file can carry a secret the checks recognise.
//
// Checked on every input:
// - never throws; every refusal has a message and a field;
// - what parses is what the header promises: every endpoint passes validate_endpoint, names are
//   unique, the retry policies (the file's and each endpoint's own) and the breaker validate,
//   max_pending is at least 1 and io_threads at most 64 (0: the default, one per hardware
//   thread); parsing the same text again gives the same endpoints;
// - secrets stay out of the messages: when the canary occurs only inside the values of "secret",
//   "api_key" and "routing_key" members and of header values (as an independent JSON reader
//   finds them), no error message shows it.

#include "fuzz_check.hpp"

#include <statusstack/webhooks/endpoint.hpp>
#include <statusstack/webhooks/rules.hpp>

#include <rapidjson/document.h>

#include <cstddef>
#include <cstdint>
#include <set>
#include <string>
#include <string_view>

namespace ssw = statusstack::webhooks;
using ssw_fuzz::check;

namespace {

constexpr std::string_view canary = "ZZSECRETZZ";

std::size_t in_string(const rapidjson::Value& value) {
  return value.IsString()
             ? ssw_fuzz::count_of(std::string_view(value.GetString(), value.GetStringLength()), canary)
             : 0;
}

// The canary in every string of the document, keys included.
std::size_t everywhere(const rapidjson::Value& value) {
  std::size_t n = in_string(value);
  if (value.IsArray()) {
    for (const auto& element : value.GetArray()) n += everywhere(element);
  } else if (value.IsObject()) {
    for (const auto& member : value.GetObject()) n += in_string(member.name) + everywhere(member.value);
  }
  return n;
}

// The canary in the secret places: endpoints[*].secret, .api_key, .routing_key and .headers.*.
std::size_t in_secrets(const rapidjson::Value& document) {
  std::size_t n = 0;
  if (!document.IsObject()) return 0;
  for (const auto& top : document.GetObject()) {
    if (std::string_view(top.name.GetString(), top.name.GetStringLength()) != "endpoints" ||
        !top.value.IsArray())
      continue;
    for (const auto& endpoint : top.value.GetArray()) {
      if (!endpoint.IsObject()) continue;
      for (const auto& member : endpoint.GetObject()) {
        const std::string_view name(member.name.GetString(), member.name.GetStringLength());
        if (name == "secret" || name == "api_key" || name == "routing_key") n += in_string(member.value);
        if (name == "headers" && member.value.IsObject()) {
          for (const auto& header : member.value.GetObject()) n += in_string(header.value);
        }
      }
    }
  }
  return n;
}

// True when the canary occurs, and only in secret places.
bool canary_only_in_secrets(const std::string& text) {
  if (text.find(canary) == std::string::npos) return false;
  rapidjson::Document document;
  document.Parse<rapidjson::kParseIterativeFlag>(text.data(), text.size());
  if (document.HasParseError()) return false;
  const std::size_t total = everywhere(document);
  return total > 0 && total == in_secrets(document);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string text =
      ssw_fuzz::replace_all(std::string_view(reinterpret_cast<const char*>(data), size), "{S}", canary);
  ssw::Result<ssw::DispatcherOptions> rules = ssw::Error{};
  try {
    rules = ssw::parse_rules(text);
  } catch (...) {
    ssw_fuzz::fail("parse_rules threw", text);
  }
  if (!rules) {
    const ssw::Error& error = rules.error();
    check(!error.message.empty(), "an error without a message", text);
    if (canary_only_in_secrets(text)) {
      check(error.message.find(canary) == std::string::npos, "an error message shows a secret",
            error.message + "\n" + text);
    }
    return 0;
  }
  std::set<std::string> names;
  for (const ssw::Endpoint& endpoint : rules->endpoints) {
    const auto valid = ssw::validate_endpoint(endpoint);
    check(valid.has_value(), "a parsed endpoint does not validate", valid ? text : valid.error().message);
    check(names.insert(endpoint.name).second, "two endpoints with one name", endpoint.name);
    if (endpoint.retry)
      check(endpoint.retry->validate().has_value(), "an endpoint's retry does not validate", text);
  }
  check(rules->retry.validate().has_value(), "the retry policy does not validate", text);
  check(rules->max_pending >= 1, "max_pending below 1", text);
  check(rules->io_threads <= 64, "io_threads out of range", text);
  check(rules->breaker.validate().has_value(), "the breaker policy does not validate", text);
  const auto again = ssw::parse_rules(text);
  check(again.has_value() && again->endpoints.size() == rules->endpoints.size(), "not deterministic", text);
  return 0;
}
