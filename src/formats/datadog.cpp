// The Datadog Events API v1 format: an event as a Datadog event (title, markdown text, tags, alert
// type, aggregated by the subject's key), the sites and their hosts, the API key header, and reading
// Datadog's answers. The facts come from Datadog's EventCreateRequest schema and the limits it
// states in prose; docs/integrations.md has the mapping table.

#include "detail/json_writer.hpp"
#include "detail/text.hpp"
#include "formats/common.hpp"
#include "formats/profile.hpp"

#include <algorithm>
#include <array>
#include <variant>

namespace statusstack::webhooks {
namespace formats {
namespace {

constexpr std::string_view api_key_header = "DD-API-KEY";
// Datadog takes events up to 18 hours old: an older retry would only be refused.
constexpr std::chrono::hours max_event_age{18};

struct SiteInfo {
  DatadogSite site;
  const char* name;    // Datadog's name for the site
  const char* domain;  // what follows "api." in the API host
};

constexpr std::array<SiteInfo, 6> sites{{
    {DatadogSite::us1, "US1", "datadoghq.com"},
    {DatadogSite::us3, "US3", "us3.datadoghq.com"},
    {DatadogSite::us5, "US5", "us5.datadoghq.com"},
    {DatadogSite::eu, "EU", "datadoghq.eu"},
    {DatadogSite::ap1, "AP1", "ap1.datadoghq.com"},
    {DatadogSite::us1_fed, "US1-FED", "ddog-gov.com"},
}};

const SiteInfo* find_site(DatadogSite site) noexcept {
  for (const SiteInfo& info : sites) {
    if (info.site == site) return &info;
  }
  return nullptr;
}

const char* alert_type_name(Decision d) noexcept {
  if (d.action == Action::resolve) return "success";
  switch (d.severity) {
    case Severity::critical:
    case Severity::error: return "error";
    case Severity::warning: return "warning";
    case Severity::info: return "info";
  }
  return "warning";
}

const char* priority_name(Decision d) noexcept {
  return d.action != Action::resolve && d.severity == Severity::info ? "low" : "normal";
}

std::string datadog_title(const Event& event) {
  Text t(true, datadog_title_max);
  headline(t, event);
  return t.take(datadog_title_max);
}

void check_line(Text& t, const Monitor& m) {
  t << "- Check: ";
  t.status(m.type.to_string());
  if (!m.target.empty()) {
    t << " of ";
    t.user(m.target);
  }
  if (!m.region.empty()) {
    t << " from ";
    t.user(m.region);
  }
  t << "\n- Checked at: ";
  t.time(m.checked_at) << '\n';
  if (m.status_code) {
    t << "- HTTP status: ";
    t.number(*m.status_code) << '\n';
  }
  if (m.response_time) {
    t << "- Response time: ";
    t.number(m.response_time->count()) << " ms\n";
  }
}

void incident_ref_line(Text& t, const std::optional<IncidentRef>& ref) {
  if (!ref) return;
  t << "- Incident: ";
  t.user(ref->id) << ", opened ";
  t.time(ref->created_at) << '\n';
}

void link_line(Text& t, const Link& link) {
  if (link.url == nullptr) return;
  t << "- " << link.text << ": " << *link.url << '\n';
}

struct DatadogBody {
  Text& t;
  Link link;

  void operator()(const ComponentStatusChanged& e) const {
    t << "Component **";
    t.user(first_nonempty(e.component.name, e.component.id)) << "** on ";
    t.user(stack_label(e.stack)) << " is now **";
    t.status(e.component.current_status.to_string()) << "** (was ";
    t.status(e.component.previous_status.to_string()) << ").\n\n";
    t << "- Component ID: ";
    t.user(e.component.id) << '\n';
    incident_ref_line(t, e.incident);
    t << "- Changed at: ";
    t.time(e.timestamp) << '\n';
  }
  void monitor(const Monitor& m, const Stack& stack) const {
    t << "Monitor **";
    t.user(first_nonempty(m.name, m.id)) << "** on ";
    t.user(stack_label(stack)) << " is **";
    t.status(m.status.to_string()) << "**";
  }
  void operator()(const MonitorDown& e) const {
    monitor(e.monitor, e.stack);
    if (e.monitor.error && !e.monitor.error->empty()) {
      t << ": ";
      t.user(*e.monitor.error);
    }
    t << "\n\n";
    check_line(t, e.monitor);
    incident_ref_line(t, e.incident);
    link_line(t, link);
  }
  void operator()(const MonitorRecovered& e) const {
    monitor(e.monitor, e.stack);
    t << " again after ";
    duration_phrase(t, e.downtime.duration);
    t << " of downtime (since ";
    t.time(e.downtime.started_at) << ").\n\n";
    check_line(t, e.monitor);
    incident_ref_line(t, e.incident);
    link_line(t, link);
  }
  void incident(const Incident& i, const Stack& stack, const std::optional<IncidentStatus>& previous) const {
    t << "**";
    t.user(first_nonempty(i.title, i.id)) << "** on ";
    t.user(stack_label(stack)) << "\n\nStatus: **";
    t.status(i.status.to_string()) << "**";
    if (previous) {
      t << " (was ";
      t.status(previous->to_string()) << ')';
    }
    t << ", impact: **";
    t.status(i.impact.to_string()) << "**\n\n";
    if (i.latest_update && !i.latest_update->message.empty()) {
      t << "Latest update (";
      t.time(i.latest_update->created_at) << "): ";
      t.user(i.latest_update->message) << "\n\n";
    }
    if (!i.components.empty()) {
      t << "Affected components:\n";
      for (const AffectedComponent& c : i.components) {
        t << "- ";
        t.user(first_nonempty(c.name, c.id)) << ": ";
        t.status(c.status.to_string()) << '\n';
      }
      t << '\n';
    }
    t << "- Incident ID: ";
    t.user(i.id) << "\n- Opened: ";
    t.time(i.created_at) << '\n';
    if (i.resolved_at) {
      t << "- Resolved: ";
      t.time(*i.resolved_at) << '\n';
    }
    link_line(t, link);
  }
  void operator()(const IncidentCreated& e) const { incident(e.incident, e.stack, std::nullopt); }
  void operator()(const IncidentUpdated& e) const { incident(e.incident, e.stack, e.previous_status); }
  void operator()(const IncidentResolved& e) const { incident(e.incident, e.stack, std::nullopt); }
  void operator()(const MaintenanceScheduled& e) const {
    const Maintenance& m = e.maintenance;
    t << "**";
    t.user(first_nonempty(m.title, m.id)) << "** on ";
    t.user(stack_label(e.stack)) << ", from ";
    t.time(m.scheduled_start) << " to ";
    t.time(m.scheduled_end) << ".\n\n";
    if (!m.description.empty()) t.user(m.description) << "\n\n";
    if (!m.components.empty()) {
      t << "Affected components:\n";
      for (const ComponentRef& c : m.components) {
        t << "- ";
        t.user(first_nonempty(c.name, c.id)) << '\n';
      }
      t << '\n';
    }
    t << "- Maintenance ID: ";
    t.user(m.id) << '\n';
    link_line(t, link);
  }
};

constexpr std::string_view markdown_open = "%%% \n";
constexpr std::string_view markdown_close = "\n %%%";

std::string datadog_text(const Event& event, const Link& link) {
  const std::size_t inner_max = datadog_text_max - markdown_open.size() - markdown_close.size();
  Text t(false, inner_max);
  std::visit(DatadogBody{t, link}, event);
  std::string& inner = t.str();
  // A "%%%" in the event's text would end the markdown block early: break it up.
  for (std::size_t at = inner.find("%%%"); at != std::string::npos; at = inner.find("%%%", at + 3)) {
    inner.replace(at, 3, "% %");
  }
  if (inner.size() > inner_max) {
    cut_to(inner, inner_max);
  } else {
    while (!inner.empty() && inner.back() == '\n') inner.pop_back();
  }
  std::string text;
  text.reserve(markdown_open.size() + inner.size() + markdown_close.size());
  text += markdown_open;
  text += inner;
  text += markdown_close;
  return text;
}

// Datadog tags: "name:value", lowercase, with characters Datadog would not keep (spaces, commas,
// quotes...) as '_'; non-ASCII letters stay. At most datadog_tag_max bytes.
class Tags {
 public:
  void add(std::string_view name, std::string_view value) {
    if (value.empty()) return;
    std::string tag(name);
    tag += ':';
    const std::string repaired = detail::is_valid_utf8(value) ? std::string() : detail::repair_utf8(value);
    for (const char c : repaired.empty() ? value : std::string_view(repaired)) {
      const auto u = static_cast<unsigned char>(c);
      if (u >= 0x80 || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-' || c == '.' ||
          c == '/' || c == ':') {
        tag += c;
      } else if (c >= 'A' && c <= 'Z') {
        tag += static_cast<char>(c - 'A' + 'a');
      } else {
        tag += '_';
      }
    }
    tag.resize(detail::utf8_prefix(tag, datadog_tag_max));
    tags_.push_back(std::move(tag));
  }
  const std::vector<std::string>& list() const { return tags_; }

 private:
  std::vector<std::string> tags_;
};

constexpr std::size_t max_component_tags = 20;

struct TagsOf {
  Tags& tags;

  void operator()(const ComponentStatusChanged& e) const {
    tags.add("component", e.component.id);
    tags.add("status", e.component.current_status.to_string());
    if (e.incident) tags.add("incident", e.incident->id);
  }
  void monitor(const Monitor& m, const std::optional<IncidentRef>& incident) const {
    tags.add("monitor", m.id);
    tags.add("status", m.status.to_string());
    tags.add("check", m.type.to_string());
    tags.add("region", m.region);
    if (incident) tags.add("incident", incident->id);
  }
  void operator()(const MonitorDown& e) const { monitor(e.monitor, e.incident); }
  void operator()(const MonitorRecovered& e) const { monitor(e.monitor, e.incident); }
  void incident(const Incident& i) const {
    tags.add("incident", i.id);
    tags.add("status", i.status.to_string());
    tags.add("impact", i.impact.to_string());
    for (std::size_t k = 0; k < i.components.size() && k < max_component_tags; ++k) {
      tags.add("component", i.components[k].id);
    }
  }
  void operator()(const IncidentCreated& e) const { incident(e.incident); }
  void operator()(const IncidentUpdated& e) const { incident(e.incident); }
  void operator()(const IncidentResolved& e) const { incident(e.incident); }
  void operator()(const MaintenanceScheduled& e) const {
    tags.add("maintenance", e.maintenance.id);
    for (std::size_t k = 0; k < e.maintenance.components.size() && k < max_component_tags; ++k) {
      tags.add("component", e.maintenance.components[k].id);
    }
  }
};

FormattedRequest request(const Event& event, const FormatSettings& settings, std::string_view) {
  const Decision d = decide(event);
  Tags tags;
  tags.add("source", "statusstack");
  tags.add("event", to_string(type_of(event)));
  tags.add("stack", stack_slug(stack_of(event)));
  std::visit(TagsOf{tags}, event);

  detail::JsonWriter out(4096 + 1024);
  out.begin_object();
  out.field("title", datadog_title(event));
  out.field("text", datadog_text(event, link_of(event)));
  out.field("date_happened", timestamp_of(event).unix_seconds());
  out.field("priority", priority_name(d));
  out.key("tags");
  out.begin_array();
  for (const std::string& tag : tags.list()) out.string(tag);
  out.end_array();
  out.field("alert_type", alert_type_name(d));
  out.field("aggregation_key", aggregation_key(event));
  out.field("source_type_name", "statusstack");
  out.end_object();
  return FormattedRequest{out.take(),
                          Headers{Header{std::string(api_key_header),
                                         std::string(std::get<DatadogFormat>(settings).api_key.reveal())}}};
}

Result<void> validate(const FormatSettings& settings) {
  const DatadogFormat& datadog = std::get<DatadogFormat>(settings);
  if (!find_site(datadog.site))
    return Error{ErrorCode::invalid_config, "site: not a DatadogSite value", "site"};
  const std::string_view key = datadog.api_key.reveal();
  if (key.empty()) {
    return Error{ErrorCode::missing_field,
                 "api_key: the datadog format needs an API key (sent as the DD-API-KEY header)", "api_key"};
  }
  const bool visible = std::all_of(key.begin(), key.end(), [](char c) { return c > ' ' && c < 0x7F; });
  if (!visible) {
    return Error{ErrorCode::invalid_config,
                 "api_key: must be visible ASCII without spaces (it is sent as the DD-API-KEY header)",
                 "api_key"};
  }
  return {};
}

Result<FormatSettings> from_fields(FormatFields&& fields) {
  if (fields.routing_key) return unused_field("routing_key", Format::datadog);
  DatadogFormat settings;
  if (fields.api_key) settings.api_key = std::move(*fields.api_key);
  if (fields.site) {
    const auto site = parse_datadog_site(*fields.site);
    if (!site) {
      return Error{ErrorCode::invalid_config,
                   "site: expected US1, US3, US5, EU, AP1 or US1-FED (got \"" + *fields.site + "\")", "site"};
    }
    settings.site = *site;
  }
  return FormatSettings{std::move(settings)};
}

std::string default_url(const FormatSettings& settings) {
  return datadog_events_url(std::get<DatadogFormat>(settings).site);
}

std::string order_key(const Event& event) { return aggregation_key(event); }

// Datadog says {"status":"ok","event":{"id":...,"id_str":"..."}} to an accepted event and
// {"errors":["..."]} to a refused one.
std::string receipt_of(const JsonAnswer& answer) {
  return answer.id_str.empty() ? answer.id_number : answer.id_str;
}

std::string error_of(const JsonAnswer& answer) { return joined_errors(answer); }

VendorAnswer read(int status, std::string_view content_type, std::string_view body) {
  return read_answer_with(status, content_type, body, receipt_of, error_of);
}

}  // namespace

const Profile datadog_profile{
    Format::datadog,
    /*needs_url_and_secret=*/false,
    /*events_per_minute=*/0,
    max_event_age,
    api_key_header,
    vendor_answer_bytes,
    default_url,
    validate,
    from_fields,
    request,
    /*uses_json=*/false,
    order_key,
    read,
};

}  // namespace formats

const char* to_string(DatadogSite site) noexcept {
  const formats::SiteInfo* info = formats::find_site(site);
  return info != nullptr ? info->name : "unknown";
}

std::optional<DatadogSite> parse_datadog_site(std::string_view name) noexcept {
  for (const formats::SiteInfo& info : formats::sites) {
    const std::string_view site_name = info.name;
    bool same_name = name.size() == site_name.size();
    for (std::size_t i = 0; same_name && i < name.size(); ++i) {
      const char c = name[i] == '_' ? '-' : name[i];
      same_name = detail::iequals(std::string_view(&c, 1), site_name.substr(i, 1));
    }
    if (same_name || detail::iequals(name, info.domain)) return info.site;
  }
  return std::nullopt;
}

std::string datadog_events_url(DatadogSite site) {
  const formats::SiteInfo* info = formats::find_site(site);
  return std::string("https://api.") + (info != nullptr ? info->domain : formats::sites[0].domain) +
         "/api/v1/events";
}

DatadogMapping datadog_mapping(const Event& event) {
  const formats::Decision d = formats::decide(event);
  return {formats::alert_type_name(d), formats::priority_name(d)};
}

std::string aggregation_key(const Event& event) {
  return formats::subject_key(event, datadog_aggregation_key_max);
}

}  // namespace statusstack::webhooks
