// Formats: an event as a PagerDuty Events API v2 or Datadog Events API v1 request, and reading what
// those APIs answer. Bodies go straight through a RapidJSON Writer (no DOM): format_event runs once
// per (event, endpoint) in dispatch(). The mapping tables are documented in docs/integrations.md;
// the vendors' facts come from their schemas (PagerDuty's OpenAPI description of /v2/enqueue,
// Datadog's EventCreateRequest) and the limits they state in prose.

#include <statusstack/webhooks/formats.hpp>

#include "detail/text.hpp"

#include <openssl/evp.h>
#include <rapidjson/memorystream.h>
#include <rapidjson/reader.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdint>
#include <variant>
#include <vector>

namespace statusstack::webhooks {
namespace rj = rapidjson;

// ---------------------------------------------------------------------------------------------
// Names

const char* to_string(Format format) noexcept {
  switch (format) {
    case Format::statusstack: return "statusstack";
    case Format::pagerduty: return "pagerduty";
    case Format::datadog: return "datadog";
  }
  return "unknown";
}

std::optional<Format> parse_format(std::string_view name) noexcept {
  for (const Format format : {Format::statusstack, Format::pagerduty, Format::datadog}) {
    if (iequals(name, to_string(format))) return format;
  }
  return std::nullopt;
}

namespace {

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

}  // namespace

const char* to_string(DatadogSite site) noexcept {
  const SiteInfo* info = find_site(site);
  return info != nullptr ? info->name : "unknown";
}

std::optional<DatadogSite> parse_datadog_site(std::string_view name) noexcept {
  for (const SiteInfo& info : sites) {
    const std::string_view site_name = info.name;
    bool same_name = name.size() == site_name.size();
    for (std::size_t i = 0; same_name && i < name.size(); ++i) {
      const char c = name[i] == '_' ? '-' : name[i];
      same_name = iequals(std::string_view(&c, 1), site_name.substr(i, 1));
    }
    if (same_name || iequals(name, info.domain)) return info.site;
  }
  return std::nullopt;
}

std::string datadog_events_url(DatadogSite site) {
  const SiteInfo* info = find_site(site);
  return std::string("https://api.") + (info != nullptr ? info->domain : sites[0].domain) + "/api/v1/events";
}

std::string default_url(const FormatSettings& settings) {
  switch (settings.format) {
    case Format::pagerduty: return std::string(pagerduty_events_url);
    case Format::datadog: return datadog_events_url(settings.site);
    case Format::statusstack: break;
  }
  return {};
}

unsigned default_events_per_minute(Format format) noexcept {
  return format == Format::pagerduty ? pagerduty_events_per_minute : 0;
}

// ---------------------------------------------------------------------------------------------
// Settings

Result<void> validate_format_settings(const FormatSettings& settings) {
  const auto config_error = [](ErrorCode code, const char* field, const std::string& what) {
    return Error{code, std::string(field) + ": " + what, field};
  };
  if (!find_site(settings.site)) {
    return config_error(ErrorCode::invalid_config, "site", "not a DatadogSite value");
  }
  switch (settings.format) {
    case Format::statusstack:
    case Format::pagerduty:
    case Format::datadog: break;
    default: return config_error(ErrorCode::invalid_config, "format", "not a Format value");
  }
  const std::string format_name = std::string("(format is \"") + to_string(settings.format) + "\")";

  if (settings.format == Format::pagerduty) {
    const std::string_view key = settings.routing_key.reveal();
    if (key.empty()) {
      return config_error(ErrorCode::missing_field, "routing_key",
                          "the pagerduty format needs the integration key of an Events API v2 integration");
    }
    if (key.size() != pagerduty_routing_key_length) {
      return config_error(
          ErrorCode::invalid_config, "routing_key",
          "must be 32 characters (a PagerDuty integration key), got " + std::to_string(key.size()));
    }
    const bool alphanumeric = std::all_of(key.begin(), key.end(), [](char c) {
      return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
    });
    if (!alphanumeric) {
      return config_error(ErrorCode::invalid_config, "routing_key",
                          "must be letters and digits only (a PagerDuty integration key)");
    }
  } else if (!settings.routing_key.empty()) {
    return config_error(ErrorCode::invalid_config, "routing_key",
                        "only the pagerduty format uses it " + format_name);
  }

  if (settings.format == Format::datadog) {
    const std::string_view key = settings.api_key.reveal();
    if (key.empty()) {
      return config_error(ErrorCode::missing_field, "api_key",
                          "the datadog format needs an API key (sent as the DD-API-KEY header)");
    }
    const bool visible = std::all_of(key.begin(), key.end(), [](char c) { return c > ' ' && c < 0x7F; });
    if (!visible) {
      return config_error(ErrorCode::invalid_config, "api_key",
                          "must be visible ASCII without spaces (it is sent as the DD-API-KEY header)");
    }
  } else if (!settings.api_key.empty()) {
    return config_error(ErrorCode::invalid_config, "api_key",
                        "only the datadog format uses it " + format_name);
  }
  return {};
}

// ---------------------------------------------------------------------------------------------
// Mapping: event type and status -> what the vendor is told

namespace {

enum class Action { trigger, acknowledge, resolve };
enum class Severity { critical, error, warning, info };

struct Decision {
  Action action;
  Severity severity;
};

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

Severity impact_severity(const IncidentImpact& impact) noexcept {
  switch (impact.value()) {
    case IncidentImpact::critical: return Severity::critical;
    case IncidentImpact::major: return Severity::error;
    case IncidentImpact::minor: return Severity::warning;
    case IncidentImpact::none: return Severity::info;
    case IncidentImpact::unknown: break;
  }
  return Severity::warning;  // an impact this version does not know: worth a look, not a page
}

struct Decide {
  Decision operator()(const ComponentStatusChanged& e) const noexcept {
    switch (e.component.current_status.value()) {
      case ComponentStatus::operational: return {Action::resolve, Severity::info};
      case ComponentStatus::degraded: return {Action::trigger, Severity::warning};
      case ComponentStatus::partial_outage: return {Action::trigger, Severity::error};
      case ComponentStatus::major_outage:
      case ComponentStatus::critical: return {Action::trigger, Severity::critical};
      // Planned work: acknowledges what is open for the component (no page), opens nothing new.
      case ComponentStatus::maintenance: return {Action::acknowledge, Severity::info};
      case ComponentStatus::unknown: break;
    }
    return {Action::trigger, Severity::warning};
  }
  Decision operator()(const MonitorDown& e) const noexcept {
    return {Action::trigger,
            e.monitor.status == MonitorStatus::degraded ? Severity::warning : Severity::critical};
  }
  Decision operator()(const MonitorRecovered&) const noexcept { return {Action::resolve, Severity::info}; }
  Decision operator()(const IncidentCreated& e) const noexcept {
    // A new incident always opens an alert (even one already "monitoring"), unless it is born resolved.
    if (e.incident.status == IncidentStatus::resolved) return {Action::resolve, Severity::info};
    return {Action::trigger, impact_severity(e.incident.impact)};
  }
  Decision operator()(const IncidentUpdated& e) const noexcept {
    switch (e.incident.status.value()) {
      case IncidentStatus::resolved: return {Action::resolve, Severity::info};
      case IncidentStatus::monitoring: return {Action::acknowledge, impact_severity(e.incident.impact)};
      default: return {Action::trigger, impact_severity(e.incident.impact)};
    }
  }
  Decision operator()(const IncidentResolved&) const noexcept { return {Action::resolve, Severity::info}; }
  Decision operator()(const MaintenanceScheduled&) const noexcept {
    return {Action::trigger, Severity::info};
  }
};

Decision decide(const Event& event) noexcept { return std::visit(Decide{}, event); }

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

}  // namespace

PagerDutyMapping pagerduty_mapping(const Event& event) {
  const Decision d = decide(event);
  return {action_name(d.action), severity_name(d.severity)};
}

DatadogMapping datadog_mapping(const Event& event) {
  const Decision d = decide(event);
  return {alert_type_name(d), priority_name(d)};
}

// ---------------------------------------------------------------------------------------------
// Keys

namespace {

constexpr std::string_view key_prefix = "statusstack:";
constexpr std::string_view hashed_prefix = "statusstack:sha256:";

// An id inside a key: valid UTF-8, with ':' and '%' escaped so that different ids never give the
// same key.
void append_key_part(std::string& out, std::string_view id) {
  const std::string repaired = detail::is_valid_utf8(id) ? std::string() : detail::repair_utf8(id);
  const std::string_view text = repaired.empty() ? id : std::string_view(repaired);
  for (const char c : text) {
    if (c == '%') {
      out += "%25";
    } else if (c == ':') {
      out += "%3A";
    } else {
      out += c;
    }
  }
}

struct Subject {
  const char* kind;
  const std::string* id;
};

struct SubjectOf {
  Subject operator()(const ComponentStatusChanged& e) const noexcept {
    return {"component", &e.component.id};
  }
  Subject operator()(const MonitorDown& e) const noexcept { return {"monitor", &e.monitor.id}; }
  Subject operator()(const MonitorRecovered& e) const noexcept { return {"monitor", &e.monitor.id}; }
  Subject operator()(const IncidentCreated& e) const noexcept { return {"incident", &e.incident.id}; }
  Subject operator()(const IncidentUpdated& e) const noexcept { return {"incident", &e.incident.id}; }
  Subject operator()(const IncidentResolved& e) const noexcept { return {"incident", &e.incident.id}; }
  Subject operator()(const MaintenanceScheduled& e) const noexcept {
    return {"maintenance", &e.maintenance.id};
  }
};

// The unbounded key "statusstack:<stack>:<kind>:<id>".
std::string full_key(const Event& event) {
  const Subject subject = std::visit(SubjectOf{}, event);
  const Stack& stack = stack_of(event);
  std::string key;
  key.reserve(key_prefix.size() + stack.id.size() + subject.id->size() + 16);
  key += key_prefix;
  append_key_part(key, stack.id);
  key += ':';
  key += subject.kind;
  key += ':';
  append_key_part(key, *subject.id);
  return key;
}

std::string hashed_key(std::string_view key) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  EVP_Digest(key.data(), key.size(), digest, &length, EVP_sha256(), nullptr);
  static constexpr char hex[] = "0123456789abcdef";
  std::string out(hashed_prefix);
  for (unsigned int i = 0; i < length; ++i) {
    out += hex[(digest[i] >> 4U) & 0xFU];
    out += hex[digest[i] & 0xFU];
  }
  return out;
}

std::string bounded_key(std::string key, std::size_t max) {
  if (key.size() <= max) return key;
  return hashed_key(key);
}

}  // namespace

std::string dedup_key(const Event& event) { return bounded_key(full_key(event), pagerduty_dedup_key_max); }

std::string aggregation_key(const Event& event) {
  return bounded_key(full_key(event), datadog_aggregation_key_max);
}

// ---------------------------------------------------------------------------------------------
// Texts

namespace {

constexpr std::string_view ellipsis = "\xE2\x80\xA6";  // U+2026, 3 bytes

// `text` (valid UTF-8) cut to at most `max` bytes on a character boundary, with an ellipsis when it
// was cut. Bytes are the safe measure: no character takes fewer UTF-16 units or code points than
// UTF-8 bytes, so the result is within `max` however a vendor counts.
void cut_to(std::string& text, std::size_t max) {
  if (text.size() <= max) return;
  std::size_t end = detail::utf8_prefix(text, max >= ellipsis.size() ? max - ellipsis.size() : 0);
  while (end > 0 && (text[end - 1] == ' ' || text[end - 1] == '\n')) --end;  // no dangling space
  text.resize(end);
  if (max >= ellipsis.size()) text += ellipsis;
}

// Builds a text from trusted pieces (ours, valid UTF-8) and untrusted ones (the event's strings),
// which are repaired when ill-formed and, for one-line texts, have control characters turned into
// spaces. Appends stop a little past `budget` bytes: take(budget) cuts there anyway, so a huge
// field costs no more than a short one.
class Text {
 public:
  explicit Text(bool one_line = false, std::size_t budget = std::string::npos)
      : one_line_(one_line), budget_(budget) {}

  Text& operator<<(std::string_view ours) {
    out_ += room_for(ours);
    return *this;
  }
  Text& operator<<(char ours) { return *this << std::string_view(&ours, 1); }
  /// The event's text.
  Text& user(std::string_view text) {
    text = room_for(text);  // may split a character at the end: repaired, and beyond the cut
    const std::size_t start = out_.size();
    if (detail::is_valid_utf8(text)) {
      out_ += text;
    } else {
      out_ += detail::repair_utf8(text);
    }
    if (one_line_) {
      for (std::size_t i = start; i < out_.size(); ++i) {
        const auto c = static_cast<unsigned char>(out_[i]);
        if (c < 0x20 || c == 0x7F) out_[i] = ' ';
      }
    }
    return *this;
  }
  /// A status's wire name, as words: "partial_outage" -> "partial outage".
  Text& status(std::string_view wire) {
    const std::size_t start = out_.size();
    user(wire);
    std::replace(out_.begin() + static_cast<std::ptrdiff_t>(start), out_.end(), '_', ' ');
    return *this;
  }
  Text& time(Timestamp t) {
    out_ += format_rfc3339(t);
    return *this;
  }
  Text& number(std::int64_t n) {
    out_ += std::to_string(n);
    return *this;
  }

  std::string& str() { return out_; }
  std::string take(std::size_t max) {
    cut_to(out_, max);
    return std::move(out_);
  }

 private:
  // What of `piece` fits: everything until the text is one byte past its budget (so that the cut
  // still sees that it has to cut).
  std::string_view room_for(std::string_view piece) const {
    if (budget_ == std::string::npos) return piece;
    const std::size_t limit = budget_ + 1;
    return out_.size() >= limit ? std::string_view() : piece.substr(0, limit - out_.size());
  }

  std::string out_;
  bool one_line_;
  std::size_t budget_;
};

const std::string& first_nonempty(const std::string& a, const std::string& b) { return a.empty() ? b : a; }
const std::string& first_nonempty(const std::string& a, const std::string& b, const std::string& c) {
  return !a.empty() ? a : first_nonempty(b, c);
}

const std::string& stack_label(const Stack& s) { return first_nonempty(s.name, s.slug, s.id); }
const std::string& stack_slug(const Stack& s) { return first_nonempty(s.slug, s.id); }

void impact_phrase(Text& t, const IncidentImpact& impact) {
  if (impact == IncidentImpact::none) {
    t << "no impact";
  } else {
    t.status(impact.to_string()) << " impact";
  }
}

void duration_phrase(Text& t, std::chrono::seconds duration) {
  std::int64_t s = std::max<std::int64_t>(0, duration.count());
  const std::int64_t days = s / 86400;
  const std::int64_t hours = (s / 3600) % 24;
  const std::int64_t minutes = (s / 60) % 60;
  s %= 60;
  bool any = false;
  const auto part = [&](std::int64_t n, const char* unit) {
    if (n == 0) return;
    if (any) t << ' ';
    t.number(n) << unit;
    any = true;
  };
  part(days, "d");
  part(hours, "h");
  part(minutes, "m");
  if (s != 0 || !any) {
    if (any) t << ' ';
    t.number(s) << "s";
  }
}

// The one-line headline of an event: PagerDuty's summary (after "[stack] ") and Datadog's title.
struct Headline {
  Text& t;

  void operator()(const ComponentStatusChanged& e) const {
    t.user(first_nonempty(e.component.name, e.component.id)) << " is ";
    t.status(e.component.current_status.to_string()) << " (was ";
    t.status(e.component.previous_status.to_string()) << ')';
  }
  void operator()(const MonitorDown& e) const {
    t.user(first_nonempty(e.monitor.name, e.monitor.id)) << " is ";
    t.status(e.monitor.status.to_string());
    if (e.monitor.error && !e.monitor.error->empty()) {
      t << ": ";
      t.user(*e.monitor.error);
    }
  }
  void operator()(const MonitorRecovered& e) const {
    t.user(first_nonempty(e.monitor.name, e.monitor.id)) << " recovered after ";
    duration_phrase(t, e.downtime.duration);
    if (e.monitor.status != MonitorStatus::up) {
      t << " (now ";
      t.status(e.monitor.status.to_string()) << ')';
    }
  }
  void incident(const char* what, const Incident& i, bool with_status) const {
    t << what;
    t.user(first_nonempty(i.title, i.id)) << " (";
    if (with_status) t.status(i.status.to_string()) << ", ";
    impact_phrase(t, i.impact);
    t << ')';
  }
  void operator()(const IncidentCreated& e) const { incident("Incident opened: ", e.incident, true); }
  void operator()(const IncidentUpdated& e) const { incident("Incident updated: ", e.incident, true); }
  void operator()(const IncidentResolved& e) const { incident("Incident resolved: ", e.incident, false); }
  void operator()(const MaintenanceScheduled& e) const {
    t << "Maintenance scheduled: ";
    t.user(first_nonempty(e.maintenance.title, e.maintenance.id)) << " (";
    t.time(e.maintenance.scheduled_start) << " to ";
    t.time(e.maintenance.scheduled_end) << ')';
  }
};

std::string pagerduty_summary(const Event& event) {
  Text t(true, pagerduty_summary_max);
  t << '[';
  t.user(stack_label(stack_of(event))) << "] ";
  std::visit(Headline{t}, event);
  return t.take(pagerduty_summary_max);
}

std::string datadog_title(const Event& event) {
  Text t(true, datadog_title_max);
  std::visit(Headline{t}, event);
  return t.take(datadog_title_max);
}

// A URL worth linking: http(s), printable ASCII, not absurdly long. Anything else is left out
// rather than risking the vendor refusing the whole event over a link.
bool linkable(std::string_view url) {
  if (url.size() > 2048) return false;
  if (url.substr(0, 8) != "https://" && url.substr(0, 7) != "http://") return false;
  return std::all_of(url.begin(), url.end(), [](char c) { return c > ' ' && c < 0x7F; });
}

struct Link {
  const std::string* url = nullptr;
  const char* text = nullptr;
};

struct LinkOf {
  Link operator()(const ComponentStatusChanged&) const noexcept { return {}; }
  Link operator()(const MonitorDown& e) const noexcept { return monitor(e.monitor); }
  Link operator()(const MonitorRecovered& e) const noexcept { return monitor(e.monitor); }
  Link operator()(const IncidentCreated& e) const noexcept { return incident(e.incident); }
  Link operator()(const IncidentUpdated& e) const noexcept { return incident(e.incident); }
  Link operator()(const IncidentResolved& e) const noexcept { return incident(e.incident); }
  Link operator()(const MaintenanceScheduled& e) const noexcept {
    return {&e.maintenance.url, "Maintenance on the status page"};
  }
  static Link monitor(const Monitor& m) noexcept {
    return m.url ? Link{&*m.url, "Monitor in StatusStack"} : Link{};
  }
  static Link incident(const Incident& i) noexcept { return {&i.url, "Incident on the status page"}; }
};

Link link_of(const Event& event) {
  Link link = std::visit(LinkOf{}, event);
  if (link.url != nullptr && !linkable(*link.url)) link = {};
  return link;
}

// ---------------------------------------------------------------------------------------------
// Datadog's markdown text

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

// ---------------------------------------------------------------------------------------------
// PagerDuty's payload fields

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

std::string one_line_field(std::string_view text) {
  Text t(true, pagerduty_field_max);
  t.user(text);
  return t.take(pagerduty_field_max);
}

// What custom_details may take of the body: the rest (summary, fields, key, links) stays far below
// 64 KiB even with every character escaped, so the body stays under PagerDuty's 512 KB.
constexpr std::size_t custom_details_max = pagerduty_body_max - std::size_t{64} * 1024;

// ---------------------------------------------------------------------------------------------
// Writing

class JsonBody {
 public:
  explicit JsonBody(std::size_t capacity) : buffer_(nullptr, capacity), writer_(buffer_) {}

  void begin() { writer_.StartObject(); }
  void end() { writer_.EndObject(); }
  void begin_array() { writer_.StartArray(); }
  void end_array() { writer_.EndArray(); }
  void key(std::string_view name) { writer_.Key(name.data(), static_cast<rj::SizeType>(name.size())); }
  /// A string that is valid UTF-8 already (ours, or built by Text).
  void string(std::string_view value) {
    writer_.String(value.data(), static_cast<rj::SizeType>(value.size()));
  }
  void field(std::string_view name, std::string_view value) {
    key(name);
    string(value);
  }
  void field(std::string_view name, std::int64_t value) {
    key(name);
    writer_.Int64(value);
  }
  /// JSON text written as it is (valid JSON, from to_json).
  void raw_object(std::string_view json) { writer_.RawValue(json.data(), json.size(), rj::kObjectType); }
  std::string take() const { return std::string(buffer_.GetString(), buffer_.GetSize()); }

 private:
  rj::StringBuffer buffer_;
  rj::Writer<rj::StringBuffer> writer_;
};

FormattedRequest pagerduty_request(const Event& event, const FormatSettings& settings,
                                   std::string_view event_json) {
  const Decision d = decide(event);
  const Stack& stack = stack_of(event);
  const Link link = link_of(event);

  JsonBody out(std::min(event_json.size(), custom_details_max) + 2048);
  out.begin();
  out.field("routing_key", settings.routing_key.reveal());
  out.field("event_action", action_name(d.action));
  out.field("dedup_key", dedup_key(event));
  out.key("payload");
  out.begin();
  out.field("summary", pagerduty_summary(event));
  out.field("timestamp", format_rfc3339(timestamp_of(event)));
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
    out.raw_object(event_json);
  } else {
    // Too big to carry whole: say what it was and where to find it.
    const Subject subject = std::visit(SubjectOf{}, event);
    out.begin();
    out.field("event", to_string(type_of(event)));
    out.field("stack_id", one_line_field(stack.id));
    out.field(std::string(subject.kind) + "_id", one_line_field(*subject.id));
    out.field("omitted", "the event's JSON (" + std::to_string(event_json.size()) +
                             " bytes) does not fit PagerDuty's 512 KB body limit");
    out.end();
  }
  out.end();
  out.field("client", "StatusStack");
  if (link.url != nullptr) {
    out.field("client_url", *link.url);
    out.key("links");
    out.begin_array();
    out.begin();
    out.field("href", *link.url);
    out.field("text", link.text);
    out.end();
    out.end_array();
  }
  out.end();
  return FormattedRequest{out.take(), {}};
}

FormattedRequest datadog_request(const Event& event, const FormatSettings& settings) {
  const Decision d = decide(event);
  Tags tags;
  tags.add("source", "statusstack");
  tags.add("event", to_string(type_of(event)));
  tags.add("stack", stack_slug(stack_of(event)));
  std::visit(TagsOf{tags}, event);

  JsonBody out(4096 + 1024);
  out.begin();
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
  out.end();
  return FormattedRequest{out.take(), Headers{Header{"DD-API-KEY", std::string(settings.api_key.reveal())}}};
}

}  // namespace

Result<FormattedRequest> format_event(const Event& event, const FormatSettings& settings,
                                      std::string_view event_json) {
  switch (settings.format) {
    case Format::statusstack: return FormattedRequest{std::string(event_json), {}};
    case Format::pagerduty: return pagerduty_request(event, settings, event_json);
    case Format::datadog: return datadog_request(event, settings);
  }
  return Error{ErrorCode::invalid_config, "format: not a Format value", "format"};
}

Result<FormattedRequest> format_event(const Event& event, const FormatSettings& settings) {
  switch (settings.format) {
    case Format::statusstack: return FormattedRequest{to_json(event), {}};
    case Format::datadog: return format_event(event, settings, std::string_view());  // needs no JSON
    case Format::pagerduty: break;
  }
  return format_event(event, settings, to_json(event));
}

// ---------------------------------------------------------------------------------------------
// Answers

namespace {

constexpr std::size_t answer_body_max = std::size_t{64} * 1024;  // vendors' answers are tiny; read no more
constexpr std::size_t receipt_max = 255;
constexpr std::size_t error_max = 1024;
constexpr std::size_t errors_kept = 16;

// Pulls the few fields we read out of a vendor's JSON answer, without building a DOM: "status",
// "message", "dedup_key" and "errors" (strings) at the top, and "id_str" / "id" inside "event".
class AnswerHandler : public rj::BaseReaderHandler<rj::UTF8<>, AnswerHandler> {
 public:
  std::string status, message, dedup_key, id_str, id_number;
  std::vector<std::string> errors;
  bool root_is_object = false;

  bool Default() { return true; }
  bool String(const char* text, rj::SizeType length, bool) {
    const std::string_view value(text, length);
    if (depth_ == 1) {
      if (key_ == "status") status = value;
      if (key_ == "message") message = value;
      if (key_ == "dedup_key") dedup_key = value;
    } else if (depth_ == 2 && container_ == "errors" && in_array_ && errors.size() < errors_kept) {
      errors.emplace_back(value.substr(0, error_max));
    } else if (depth_ == 2 && container_ == "event" && !in_array_ && key_ == "id_str") {
      id_str = value;
    }
    return true;
  }
  bool Int64(std::int64_t value) { return number(std::to_string(value)); }
  bool Uint64(std::uint64_t value) { return number(std::to_string(value)); }
  bool Int(int value) { return number(std::to_string(value)); }
  bool Uint(unsigned value) { return number(std::to_string(value)); }
  bool Key(const char* text, rj::SizeType length, bool) {
    if (depth_ <= 2) key_.assign(text, length);
    return true;
  }
  bool StartObject() { return start(false); }
  bool EndObject(rj::SizeType) { return end(); }
  bool StartArray() { return start(true); }
  bool EndArray(rj::SizeType) { return end(); }

 private:
  bool number(std::string value) {
    if (depth_ == 2 && container_ == "event" && !in_array_ && key_ == "id") id_number = std::move(value);
    return true;
  }
  bool start(bool array) {
    if (depth_ == 0) root_is_object = !array;
    if (depth_ == 1) {
      container_ = key_;
      in_array_ = array;
    }
    ++depth_;
    return true;
  }
  bool end() {
    --depth_;
    if (depth_ == 1) container_.clear();
    return true;
  }

  int depth_ = 0;
  std::string key_;
  std::string container_;
  bool in_array_ = false;
};

// Valid UTF-8, control characters as spaces, surrounding spaces trimmed, cut to `max` bytes.
std::string clean(std::string_view text, std::size_t max, bool mark_cut = true) {
  Text t(true);
  t.user(text.substr(0, max * 2));
  std::string out = std::move(t.str());
  const auto first = out.find_first_not_of(' ');
  if (first == std::string::npos) return {};
  out.erase(0, first);
  out.erase(out.find_last_not_of(' ') + 1);
  if (mark_cut) {
    cut_to(out, max);
  } else if (out.size() > max) {
    out.clear();  // an identifier cut short would name something else
  }
  return out;
}

bool plain_text(std::string_view content_type) {
  if (content_type.empty()) return true;
  constexpr std::string_view text_plain = "text/plain";
  return content_type.size() >= text_plain.size() &&
         iequals(content_type.substr(0, text_plain.size()), text_plain);
}

}  // namespace

VendorAnswer read_vendor_answer(Format format, int status, std::string_view content_type,
                                std::string_view body) {
  VendorAnswer answer;
  if (format != Format::pagerduty && format != Format::datadog) return answer;
  const bool success = status >= 200 && status < 300;
  const bool failure = status >= 400;
  if (!success && !failure) return answer;

  AnswerHandler handler;
  bool parsed = false;
  if (body.size() <= answer_body_max) {
    rj::Reader reader;
    rj::MemoryStream stream(body.data(), body.size());
    parsed = !reader.Parse<rj::kParseIterativeFlag>(stream, handler).IsError() && handler.root_is_object;
  }

  if (success) {
    if (!parsed) return answer;
    answer.receipt =
        clean(format == Format::pagerduty ? handler.dedup_key
                                          : (handler.id_str.empty() ? handler.id_number : handler.id_str),
              receipt_max, false);
    return answer;
  }

  if (parsed) {
    std::string errors;
    for (const std::string& e : handler.errors) {
      const std::string cleaned = clean(e, error_max);
      if (cleaned.empty()) continue;
      if (!errors.empty()) errors += "; ";
      errors += cleaned;
      if (errors.size() > error_max) break;
    }
    std::string text;
    if (format == Format::pagerduty) {
      text = clean(handler.message.empty() ? handler.status : handler.message, error_max);
      if (!errors.empty()) text += text.empty() ? errors : ": " + errors;
    } else {
      text = errors;
    }
    cut_to(text, error_max);
    answer.error = std::move(text);
  } else if (plain_text(content_type)) {
    const std::string_view first_line = body.substr(0, body.find_first_of("\r\n"));
    answer.error = clean(first_line.substr(0, 256), 200);
  }
  return answer;
}

}  // namespace statusstack::webhooks
