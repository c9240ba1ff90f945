#include <statusstack/webhooks/rules.hpp>

#include "detail/strict_json.hpp"
#include "formats/profile.hpp"

#include <rapidjson/document.h>

#include <cmath>
#include <limits>
#include <set>
#include <string>

namespace statusstack::webhooks {

namespace {

using Value = rapidjson::Value;
using std::chrono::milliseconds;

// The longest duration a *_ms key takes: 2^31 - 1 seconds (about 68 years), longer than any useful
// setting and short enough to add to a clock's nanoseconds without overflow.
constexpr std::int64_t max_millis = std::numeric_limits<std::int32_t>::max() * std::int64_t{1000};

Error field_error(const std::string& field, const std::string& what) {
  return Error{ErrorCode::invalid_config, field + ": " + what, field};
}

// Reads one JSON object's members by name, remembering which were used so leftovers are reported.
class ObjectReader {
 public:
  ObjectReader(const Value& object, std::string path) : object_(object), path_(std::move(path)) {}

  std::string field(std::string_view name) const {
    return path_.empty() ? std::string(name) : path_ + "." + std::string(name);
  }
  const Value* find(std::string_view name) {
    used_.emplace(name);
    const auto member = object_.FindMember(Value(name.data(), static_cast<rapidjson::SizeType>(name.size())));
    return member == object_.MemberEnd() ? nullptr : &member->value;
  }
  // Each read_* leaves `out` unchanged when the member is absent and fills `error` when it is wrong.
  bool read_string(std::string_view name, std::string& out, std::optional<Error>& error) {
    const Value* value = find(name);
    if (value == nullptr) return false;
    if (!value->IsString()) {
      error = field_error(field(name), "expected a string");
      return false;
    }
    out.assign(value->GetString(), value->GetStringLength());
    return true;
  }
  // A secret goes from the document straight into the Secret, through no other string.
  bool read_secret(std::string_view name, Secret& out, std::optional<Error>& error) {
    const Value* value = find(name);
    if (value == nullptr) return false;
    if (!value->IsString()) {
      error = field_error(field(name), "expected a string");
      return false;
    }
    out = std::string_view(value->GetString(), value->GetStringLength());
    return true;
  }
  void read_bool(std::string_view name, bool& out, std::optional<Error>& error) {
    const Value* value = find(name);
    if (value == nullptr) return;
    if (!value->IsBool()) {
      error = field_error(field(name), "expected true or false");
      return;
    }
    out = value->GetBool();
  }
  void read_count(std::string_view name, std::int64_t min, std::int64_t max, std::int64_t& out,
                  std::optional<Error>& error) {
    const Value* value = find(name);
    if (value == nullptr) return;
    if (!value->IsInt64() || value->GetInt64() < min || value->GetInt64() > max) {
      error = field_error(field(name),
                          "expected an integer from " + std::to_string(min) + " to " + std::to_string(max));
      return;
    }
    out = value->GetInt64();
  }
  void read_millis(std::string_view name, milliseconds& out, std::optional<Error>& error,
                   std::int64_t min = 0) {
    std::int64_t count = out.count();
    read_count(name, min, max_millis, count, error);
    out = milliseconds(count);
  }
  void read_number(std::string_view name, double& out, std::optional<Error>& error) {
    const Value* value = find(name);
    if (value == nullptr) return;
    if (!value->IsNumber() || !std::isfinite(value->GetDouble())) {
      error = field_error(field(name), "expected a number");
      return;
    }
    out = value->GetDouble();
  }
  std::optional<Error> unknown_members() const {
    for (auto member = object_.MemberBegin(); member != object_.MemberEnd(); ++member) {
      const std::string name(member->name.GetString(), member->name.GetStringLength());
      if (used_.count(name) == 0) return field_error(field(name), "unknown setting");
    }
    return std::nullopt;
  }

 private:
  const Value& object_;
  std::string path_;
  std::set<std::string, std::less<>> used_;
};

std::optional<Error> read_retry(const Value& json, const std::string& path, RetryPolicy& retry);

// `retry`: the file's top-level policy, which an endpoint's own "retry" starts from.
std::optional<Error> read_endpoint(const Value& json, const std::string& path, const RetryPolicy& retry,
                                   Endpoint& endpoint) {
  if (!json.IsObject()) return field_error(path, "expected an object");
  ObjectReader reader(json, path);
  std::optional<Error> error;
  if (!reader.read_string("name", endpoint.name, error) && !error)
    return field_error(reader.field("name"), "is required");
  Format format = Format::statusstack;
  if (std::string name; reader.read_string("format", name, error)) {
    const auto parsed = parse_format(name);
    if (!parsed) {
      return field_error(reader.field("format"),
                         "expected \"statusstack\", \"pagerduty\" or \"datadog\" (got \"" + name + "\")");
    }
    format = *parsed;
  }
  formats::FormatFields fields;
  if (Secret key; reader.read_secret("routing_key", key, error)) fields.routing_key = std::move(key);
  if (Secret key; reader.read_secret("api_key", key, error)) fields.api_key = std::move(key);
  if (std::string site; reader.read_string("site", site, error)) fields.site = std::move(site);
  if (error) return error;
  const formats::Profile& profile = formats::profile_of(format);
  auto settings = profile.from_fields(std::move(fields));
  if (!settings) {
    // "site: expected ..." from the profile: said of the file's field.
    const Error& wrong = settings.error();
    const std::string prefix = wrong.field + ": ";
    const bool prefixed = wrong.message.rfind(prefix, 0) == 0;
    return field_error(reader.field(wrong.field),
                       prefixed ? wrong.message.substr(prefix.size()) : wrong.message);
  }
  endpoint.format = std::move(*settings);
  // The vendor formats know their URL and authenticate with their own keys.
  const bool vendor = !profile.needs_url_and_secret;
  if (!reader.read_string("url", endpoint.url, error) && !error && !vendor) {
    return field_error(reader.field("url"), "is required");
  }
  if (!reader.read_secret("secret", endpoint.secret, error) && !error && !vendor) {
    return field_error(reader.field("secret"), "is required");
  }
  if (error) return error;
  std::string method;
  if (reader.read_string("method", method, error)) {
    const auto parsed = parse_http_method(method);
    if (!parsed)
      return field_error(reader.field("method"), "expected POST, PUT or PATCH (got \"" + method + "\")");
    endpoint.method = *parsed;
  }
  std::string scheme;
  if (reader.read_string("signature", scheme, error)) {
    if (scheme == "statusstack") {
      endpoint.signature = SignatureScheme::statusstack;
    } else if (scheme == "standard_webhooks") {
      endpoint.signature = SignatureScheme::standard_webhooks;
    } else {
      return field_error(reader.field("signature"),
                         "expected \"statusstack\" or \"standard_webhooks\" (got \"" + scheme + "\")");
    }
  }
  if (const Value* headers = reader.find("headers")) {
    if (!headers->IsObject())
      return field_error(reader.field("headers"), "expected an object of header names to values");
    for (auto header = headers->MemberBegin(); header != headers->MemberEnd(); ++header) {
      const std::string name(header->name.GetString(), header->name.GetStringLength());
      if (!header->value.IsString())
        return field_error(reader.field("headers") + "." + name, "expected a string");
      endpoint.headers.push_back(
          {name, std::string(header->value.GetString(), header->value.GetStringLength())});
    }
  }
  if (const Value* events = reader.find("events")) {
    if (!events->IsArray())
      return field_error(reader.field("events"), "expected an array of event types or patterns");
    // In C++ no patterns means every event; in a file, [] reads as "none": make the writer say which.
    if (events->Empty())
      return field_error(reader.field("events"), "must not be empty (use [\"*\"] for every event)");
    for (rapidjson::SizeType i = 0; i < events->Size(); ++i) {
      if (!(*events)[i].IsString()) {
        return field_error(reader.field("events") + "[" + std::to_string(i) + "]", "expected a string");
      }
      endpoint.events.patterns.emplace_back((*events)[i].GetString(), (*events)[i].GetStringLength());
    }
  }
  reader.read_bool("allow_http", endpoint.options.allow_http, error);
  reader.read_bool("allow_private_network", endpoint.options.allow_private_network, error);
  reader.read_bool("http2", endpoint.options.http2, error);
  reader.read_string("cacert", endpoint.options.ca_file, error);
  reader.read_string("proxy", endpoint.options.proxy, error);
  reader.read_millis("timeout_ms", endpoint.options.timeout, error, 1);
  reader.read_millis("connect_timeout_ms", endpoint.options.connect_timeout, error, 1);
  std::int64_t in_flight = static_cast<std::int64_t>(endpoint.max_in_flight);
  reader.read_count("max_in_flight", 1, 10000, in_flight, error);
  endpoint.max_in_flight = static_cast<std::size_t>(in_flight);
  if (reader.find("rate_limit_per_minute") != nullptr) {
    double rate = 0;
    reader.read_number("rate_limit_per_minute", rate, error);
    endpoint.rate_limit_per_minute = rate;
  }
  reader.read_bool("ordered", endpoint.ordered, error);
  reader.read_bool("allow_short_secret", endpoint.allow_short_secret, error);
  if (error) return error;
  if (const Value* own = reader.find("retry")) {
    RetryPolicy policy = retry;  // what the endpoint does not say, the file's "retry" does
    if (auto bad = read_retry(*own, reader.field("retry"), policy)) return bad;
    endpoint.retry = std::move(policy);
  }
  if (auto unknown = reader.unknown_members()) return unknown;
  if (auto valid = validate_endpoint(endpoint); !valid) {
    Error wrapped = valid.error();
    wrapped.message = path + ": " + wrapped.message;
    wrapped.field = path + "." + wrapped.field;
    return wrapped;
  }
  return std::nullopt;
}

std::optional<Error> read_retry(const Value& json, const std::string& path, RetryPolicy& retry) {
  if (!json.IsObject()) return field_error(path, "expected an object");
  ObjectReader reader(json, path);
  std::optional<Error> error;
  std::int64_t attempts = retry.max_attempts;
  reader.read_count("max_attempts", 1, 1000, attempts, error);
  retry.max_attempts = static_cast<int>(attempts);
  reader.read_millis("initial_delay_ms", retry.initial_delay, error);
  reader.read_number("factor", retry.factor, error);
  reader.read_millis("max_delay_ms", retry.max_delay, error);
  reader.read_number("jitter", retry.jitter, error);
  reader.read_millis("max_age_ms", retry.max_age, error, 1);
  reader.read_millis("max_retry_after_ms", retry.max_retry_after, error);
  if (const Value* schedule = reader.find("schedule_ms")) {
    if (!schedule->IsArray())
      return field_error(reader.field("schedule_ms"), "expected an array of delays in milliseconds");
    for (rapidjson::SizeType i = 0; i < schedule->Size(); ++i) {
      const Value& delay = (*schedule)[i];
      if (!delay.IsInt64() || delay.GetInt64() < 0 || delay.GetInt64() > max_millis) {
        return field_error(reader.field("schedule_ms") + "[" + std::to_string(i) + "]",
                           "expected an integer from 0 to " + std::to_string(max_millis));
      }
      retry.schedule.emplace_back(delay.GetInt64());
    }
  }
  if (error) return error;
  if (auto unknown = reader.unknown_members()) return unknown;
  if (auto valid = retry.validate(); !valid) {
    Error error_ = valid.error();  // "retry.max_attempts: ..." names the field from the policy down
    if (path != "retry") {
      const std::string prefix = path.substr(0, path.size() - std::string_view("retry").size());
      error_.message.insert(0, prefix);
      error_.field.insert(0, prefix);
    }
    return error_;
  }
  return std::nullopt;
}

std::optional<Error> read_breaker(const Value& json, CircuitBreakerPolicy& breaker) {
  if (!json.IsObject()) return field_error("breaker", "expected an object");
  ObjectReader reader(json, "breaker");
  std::optional<Error> error;
  std::int64_t threshold = breaker.failure_threshold;
  reader.read_count("failure_threshold", 0, 1'000'000, threshold, error);
  breaker.failure_threshold = static_cast<int>(threshold);
  reader.read_millis("cool_down_ms", breaker.cool_down, error, 1);
  reader.read_millis("max_cool_down_ms", breaker.max_cool_down, error, 1);
  reader.read_millis("disable_after_ms", breaker.disable_after, error);
  if (error) return error;
  if (auto unknown = reader.unknown_members()) return unknown;
  if (auto valid = breaker.validate(); !valid) return valid.error();
  return std::nullopt;
}

// The top-level "allowed_networks" and "allow_proxy" (DispatcherOptions::network), checked against
// the endpoints already read: a proxy needs "allow_proxy".
std::optional<Error> read_network(ObjectReader& reader, DispatcherOptions& options) {
  std::optional<Error> error;
  reader.read_bool("allow_proxy", options.network.allow_proxy, error);
  if (error) return error;
  if (const Value* networks = reader.find("allowed_networks")) {
    if (!networks->IsArray())
      return field_error("allowed_networks", "expected an array of networks (\"10.0.0.0/8\")");
    for (rapidjson::SizeType i = 0; i < networks->Size(); ++i) {
      const std::string field = "allowed_networks[" + std::to_string(i) + "]";
      const Value& entry = (*networks)[i];
      if (!entry.IsString()) return field_error(field, "expected a string (\"10.0.0.0/8\")");
      const std::string_view text(entry.GetString(), entry.GetStringLength());
      if (auto network = parse_network(text); !network) return field_error(field, network.error().message);
      options.network.allowed_networks.emplace_back(text);
    }
  }
  if (!options.network.allow_proxy) {
    for (std::size_t i = 0; i < options.endpoints.size(); ++i) {
      if (options.endpoints[i].options.proxy.empty()) continue;
      return field_error("endpoints[" + std::to_string(i) + "].proxy",
                         "a proxy is used only with \"allow_proxy\": true at the top level");
    }
  }
  return std::nullopt;
}

}  // namespace

Result<DispatcherOptions> parse_rules(std::string_view json) {
  rapidjson::Document document;
  // The same strict reader as parse_event: one document, no recursion, no duplicate keys.
  if (auto failure = detail::parse_strict_json(json, document, max_json_depth)) {
    return Error{ErrorCode::invalid_json,
                 detail::line_and_column(json, failure->offset) + ": " + failure->message, failure->path};
  }
  if (!document.IsObject()) return field_error("(top level)", "expected an object with \"endpoints\"");

  DispatcherOptions options;
  ObjectReader reader(document, "");
  const Value* endpoints = reader.find("endpoints");
  if (endpoints == nullptr) return field_error("endpoints", "is required");
  if (!endpoints->IsArray()) return field_error("endpoints", "expected an array");
  // The top-level policy first: an endpoint's own "retry" starts from it.
  if (const Value* retry = reader.find("retry")) {
    if (auto error = read_retry(*retry, "retry", options.retry)) return *error;
  }
  std::set<std::string> names;
  for (rapidjson::SizeType i = 0; i < endpoints->Size(); ++i) {
    const std::string path = "endpoints[" + std::to_string(i) + "]";
    Endpoint endpoint;
    if (auto error = read_endpoint((*endpoints)[i], path, options.retry, endpoint)) return *error;
    if (!names.insert(endpoint.name).second) {
      return field_error(path + ".name", "\"" + endpoint.name + "\" is used by an earlier endpoint");
    }
    options.endpoints.push_back(std::move(endpoint));
  }
  if (const Value* breaker = reader.find("breaker")) {
    if (auto error = read_breaker(*breaker, options.breaker)) return *error;
  }
  std::optional<Error> error;
  std::int64_t max_pending = static_cast<std::int64_t>(options.max_pending);
  reader.read_count("max_pending", 1, std::int64_t{1} << 40, max_pending, error);
  options.max_pending = static_cast<std::size_t>(max_pending);
  std::int64_t max_event_bytes = static_cast<std::int64_t>(options.max_event_bytes);
  reader.read_count("max_event_bytes", 1, std::int64_t{1} << 40, max_event_bytes, error);
  options.max_event_bytes = static_cast<std::size_t>(max_event_bytes);
  std::int64_t max_pending_bytes = static_cast<std::int64_t>(options.max_pending_bytes);
  reader.read_count("max_pending_bytes", 1, std::int64_t{1} << 50, max_pending_bytes, error);
  options.max_pending_bytes = static_cast<std::size_t>(max_pending_bytes);
  std::int64_t io_threads = options.io_threads;
  reader.read_count("io_threads", 1, 64, io_threads, error);
  options.io_threads = static_cast<unsigned>(io_threads);
  if (error) return *error;
  if (auto bad = read_network(reader, options)) return *bad;
  if (auto unknown = reader.unknown_members()) return *unknown;
  return options;
}

}  // namespace statusstack::webhooks
