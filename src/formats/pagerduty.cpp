// The PagerDuty Events API v2 format: an event as a PagerDuty alert (trigger, acknowledge or
// resolve, deduplicated by the subject's key), the routing key, and reading PagerDuty's answers.
// The facts come from PagerDuty's OpenAPI description of /v2/enqueue and the limits it states in
// prose; docs/integrations.md has the mapping table.

#include "detail/json_writer.hpp"
#include "formats/common.hpp"
#include "formats/profile.hpp"

#include <algorithm>
#include <variant>

namespace statusstack::webhooks {
namespace formats {
namespace {

const char* action_name(Action action) noexcept {
  switch (action) {
    case Action::trigger: return "trigger";
    case Action::acknowledge: return "acknowledge";
    case Action::resolve: return "resolve";
  }
  return "trigger";
}

const char* severity_name(Severity severity) noexcept {
  switch (severity) {
    case Severity::critical: return "critical";
    case Severity::error: return "error";
    case Severity::warning: return "warning";
    case Severity::info: return "info";
  }
  return "warning";
}

std::string pagerduty_summary(const Event& event) {
  Text t(true, pagerduty_summary_max);
  t << '[';
  t.user(stack_label(stack_of(event))) << "] ";
  headline(t, event);
  return t.take(pagerduty_summary_max);
}

// payload.source: where the problem is. A monitor's target when it has one, else the stack.
struct SourceOf {
  const std::string& operator()(const MonitorDown& e) const {
    return first_nonempty(e.monitor.target, stack_slug(e.stack));
  }
  const std::string& operator()(const MonitorRecovered& e) const {
    return first_nonempty(e.monitor.target, stack_slug(e.stack));
  }
  template <class E>
  const std::string& operator()(const E& e) const {
    return stack_slug(e.stack);
  }
};

// payload.component: the component or monitor, or the names of the affected components.
struct ComponentOf {
  Text& t;
  void operator()(const ComponentStatusChanged& e) const {
    t.user(first_nonempty(e.component.name, e.component.id));
  }
  void operator()(const MonitorDown& e) const { t.user(first_nonempty(e.monitor.name, e.monitor.id)); }
  void operator()(const MonitorRecovered& e) const { t.user(first_nonempty(e.monitor.name, e.monitor.id)); }
  void incident(const Incident& i) const {
    for (std::size_t k = 0; k < i.components.size() && t.str().size() <= pagerduty_field_max; ++k) {
      if (k > 0) t << ", ";
      t.user(first_nonempty(i.components[k].name, i.components[k].id));
    }
  }
  void operator()(const IncidentCreated& e) const { incident(e.incident); }
  void operator()(const IncidentUpdated& e) const { incident(e.incident); }
  void operator()(const IncidentResolved& e) const { incident(e.incident); }
  void operator()(const MaintenanceScheduled& e) const {
    const auto& components = e.maintenance.components;
    for (std::size_t k = 0; k < components.size() && t.str().size() <= pagerduty_field_max; ++k) {
      if (k > 0) t << ", ";
      t.user(first_nonempty(components[k].name, components[k].id));
    }
  }
};

std::string one_line_field(std::string_view text) { return one_line(text, pagerduty_field_max); }

// What custom_details may take of the body: the rest (summary, fields, key, links) stays far below
// 64 KiB even with every character escaped, so the body stays under PagerDuty's 512 KB.
constexpr std::size_t custom_details_max = pagerduty_body_max - std::size_t{64} * 1024;

FormattedRequest request(const Event& event, const FormatSettings& settings, std::string_view event_json) {
  const Decision d = decide(event);
  const Stack& stack = stack_of(event);
  const Link link = link_of(event);

  detail::JsonWriter out(std::min(event_json.size(), custom_details_max) + 2048);
  out.begin_object();
  out.field("routing_key", std::get<PagerDutyFormat>(settings).routing_key.reveal());
  out.field("event_action", action_name(d.action));
  out.field("dedup_key", dedup_key(event));
  out.key("payload");
  out.begin_object();
  out.field("summary", pagerduty_summary(event));
  out.field("timestamp", timestamp_of(event));
  out.field("severity", severity_name(d.severity));
  out.field("source", one_line_field(std::visit(SourceOf{}, event)));
  {
    Text component(true, pagerduty_field_max);
    std::visit(ComponentOf{component}, event);
    if (!component.str().empty()) out.field("component", component.take(pagerduty_field_max));
  }
  out.field("group", one_line_field(stack_label(stack)));
  out.field("class", to_string(type_of(event)));
  out.key("custom_details");
  if (event_json.size() <= custom_details_max) {
    out.raw(event_json);
  } else {
    // Too big to carry whole: say what it was and where to find it.
    const Subject subject = subject_of(event);
    out.begin_object();
    out.field("event", to_string(type_of(event)));
    out.field("stack_id", one_line_field(stack.id));
    out.field(std::string(subject.kind) + "_id", one_line_field(*subject.id));
    out.field("omitted", "the event's JSON (" + std::to_string(event_json.size()) +
                             " bytes) does not fit PagerDuty's 512 KB body limit");
    out.end_object();
  }
  out.end_object();
  out.field("client", "StatusStack");
  if (link.url != nullptr) {
    out.field("client_url", *link.url);
    out.key("links");
    out.begin_array();
    out.begin_object();
    out.field("href", *link.url);
    out.field("text", link.text);
    out.end_object();
    out.end_array();
  }
  out.end_object();
  return FormattedRequest{out.take(), {}};
}

Result<void> validate(const FormatSettings& settings) {
  const std::string_view key = std::get<PagerDutyFormat>(settings).routing_key.reveal();
  if (key.empty()) {
    return Error{
        ErrorCode::missing_field,
        "routing_key: the pagerduty format needs the integration key of an Events API v2 integration",
        "routing_key"};
  }
  if (key.size() != pagerduty_routing_key_length) {
    return Error{
        ErrorCode::invalid_config,
        "routing_key: must be 32 characters (a PagerDuty integration key), got " + std::to_string(key.size()),
        "routing_key"};
  }
  const bool alphanumeric = std::all_of(key.begin(), key.end(), [](char c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
  });
  if (!alphanumeric) {
    return Error{ErrorCode::invalid_config,
                 "routing_key: must be letters and digits only (a PagerDuty integration key)", "routing_key"};
  }
  return {};
}

Result<FormatSettings> from_fields(FormatFields&& fields) {
  if (fields.api_key) return unused_field("api_key", Format::pagerduty);
  if (fields.site) return unused_field("site", Format::pagerduty);
  PagerDutyFormat settings;
  if (fields.routing_key) settings.routing_key = std::move(*fields.routing_key);
  return FormatSettings{std::move(settings)};
}

std::string default_url(const FormatSettings&) { return std::string(pagerduty_events_url); }

std::string order_key(const Event& event) { return dedup_key(event); }

// PagerDuty says {"status":"success","message":"Event processed","dedup_key":"..."} to an accepted
// event, and {"status":"invalid event","message":"Event object is invalid","errors":[...]} to a
// refused one.
std::string receipt_of(const JsonAnswer& answer) { return answer.dedup_key; }

std::string error_of(const JsonAnswer& answer) {
  std::string text =
      clean_answer_text(answer.message.empty() ? answer.status : answer.message, answer_error_max);
  const std::string errors = joined_errors(answer);
  if (!errors.empty()) text += text.empty() ? errors : ": " + errors;
  return text;
}

VendorAnswer read(int status, std::string_view content_type, std::string_view body) {
  return read_answer_with(status, content_type, body, receipt_of, error_of);
}

}  // namespace

const Profile pagerduty_profile{
    Format::pagerduty,
    /*needs_url_and_secret=*/false,
    pagerduty_events_per_minute,
    /*max_event_age=*/std::chrono::hours::zero(),
    /*own_header=*/{},
    vendor_answer_bytes,
    default_url,
    validate,
    from_fields,
    request,
    /*uses_json=*/true,
    order_key,
    read,
};

}  // namespace formats

PagerDutyMapping pagerduty_mapping(const Event& event) {
  const formats::Decision d = formats::decide(event);
  return {formats::action_name(d.action), formats::severity_name(d.severity)};
}

std::string dedup_key(const Event& event) { return formats::subject_key(event, pagerduty_dedup_key_max); }

}  // namespace statusstack::webhooks
