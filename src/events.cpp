// Event types, timestamps, equality, validation and the sample events. The status values (open enums)
// are all in the header; the JSON side lives in event_json.cpp.

#include <statusstack/webhooks/events.hpp>

#include "detail/events_internal.hpp"

#include <cstdint>
#include <tuple>

namespace statusstack::webhooks {

// ---------------------------------------------------------------------------------------------
// Event types

namespace {
constexpr const char* event_type_names[] = {
    "component.status_changed", "monitor.down",      "monitor.recovered",     "incident.created",
    "incident.updated",         "incident.resolved", "maintenance.scheduled",
};
static_assert(std::size(event_type_names) == all_event_types.size());
static_assert(std::variant_size_v<Event> == all_event_types.size());
}  // namespace

const char* to_string(EventType type) noexcept {
  const auto index = static_cast<std::size_t>(type);
  return index < std::size(event_type_names) ? event_type_names[index] : "unknown";
}

std::optional<EventType> parse_event_type(std::string_view name) noexcept {
  for (const EventType type : all_event_types) {
    if (name == to_string(type)) return type;
  }
  return std::nullopt;
}

EventType type_of(const Event& event) noexcept {
  // A variant left valueless by a throwing assignment has no type; do not index past the array.
  const std::size_t index = event.index();
  return index < all_event_types.size() ? all_event_types[index] : EventType::component_status_changed;
}

Timestamp timestamp_of(const Event& event) noexcept {
  return std::visit([](const auto& e) { return e.timestamp; }, event);
}

const Stack& stack_of(const Event& event) noexcept {
  return std::visit([](const auto& e) -> const Stack& { return e.stack; }, event);
}

// ---------------------------------------------------------------------------------------------
// Timestamps

namespace detail {

// Days since 1970-01-01 of a proleptic Gregorian date. Works in 400-year eras (146097 days),
// counting years from March so that the leap day falls at the end of the year.
std::int64_t days_from_civil(std::int64_t year, unsigned month, unsigned day) noexcept {
  year -= month <= 2 ? 1 : 0;
  const std::int64_t era = (year >= 0 ? year : year - 399) / 400;
  const auto year_of_era = static_cast<std::uint64_t>(year - era * 400);  // [0, 399]
  const std::uint64_t day_of_year =
      (153 * (month > 2 ? month - 3 : month + 9) + 2) / 5 + day - 1;  // [0, 365]
  const std::uint64_t day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
  return era * 146097 + static_cast<std::int64_t>(day_of_era) - 719468;
}

CivilDate civil_from_days(std::int64_t days) noexcept {
  days += 719468;
  const std::int64_t era = (days >= 0 ? days : days - 146096) / 146097;
  const auto day_of_era = static_cast<std::uint64_t>(days - era * 146097);  // [0, 146096]
  const std::uint64_t year_of_era =
      (day_of_era - day_of_era / 1460 + day_of_era / 36524 - day_of_era / 146096) / 365;  // [0, 399]
  const std::uint64_t day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
  const std::uint64_t shifted_month = (5 * day_of_year + 2) / 153;  // March = 0
  CivilDate date;
  date.day = static_cast<unsigned>(day_of_year - (153 * shifted_month + 2) / 5 + 1);
  date.month = static_cast<unsigned>(shifted_month < 10 ? shifted_month + 3 : shifted_month - 9);
  date.year = static_cast<std::int64_t>(year_of_era) + era * 400 + (date.month <= 2 ? 1 : 0);
  return date;
}

bool is_leap_year(std::int64_t year) noexcept {
  return year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
}

unsigned days_in_month(std::int64_t year, unsigned month) noexcept {
  static constexpr unsigned days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (month == 2 && is_leap_year(year)) return 29;
  return days[month - 1];
}

namespace {
constexpr std::int64_t micros_per_second = 1'000'000;
constexpr std::int64_t micros_per_day = 86'400 * micros_per_second;
}  // namespace

std::int64_t min_timestamp_micros() noexcept { return days_from_civil(1, 1, 1) * micros_per_day; }
std::int64_t max_timestamp_micros() noexcept {
  return days_from_civil(9999, 12, 31) * micros_per_day + micros_per_day - 1;
}

std::size_t format_rfc3339(Timestamp timestamp, char* out) noexcept {
  std::int64_t micros = timestamp.unix_microseconds();
  if (micros < min_timestamp_micros()) micros = min_timestamp_micros();
  if (micros > max_timestamp_micros()) micros = max_timestamp_micros();
  // Floor division, so times before 1970 land on the right day.
  std::int64_t days = micros / micros_per_day;
  std::int64_t in_day = micros % micros_per_day;
  if (in_day < 0) {
    in_day += micros_per_day;
    --days;
  }
  const CivilDate date = civil_from_days(days);
  const auto seconds_of_day = static_cast<unsigned>(in_day / micros_per_second);
  const auto fraction = static_cast<unsigned>(in_day % micros_per_second);

  auto put2 = [&out](unsigned value) {
    out[0] = static_cast<char>('0' + value / 10);
    out[1] = static_cast<char>('0' + value % 10);
    out += 2;
  };
  const auto year = static_cast<unsigned>(date.year);
  put2(year / 100);
  put2(year % 100);
  *out++ = '-';
  put2(date.month);
  *out++ = '-';
  put2(date.day);
  *out++ = 'T';
  put2(seconds_of_day / 3600);
  *out++ = ':';
  put2(seconds_of_day / 60 % 60);
  *out++ = ':';
  put2(seconds_of_day % 60);
  std::size_t length = 19;
  if (fraction != 0) {
    // Whole milliseconds get 3 digits, anything finer 6.
    const bool millis = fraction % 1000 == 0;
    unsigned value = millis ? fraction / 1000 : fraction;
    const int digits = millis ? 3 : 6;
    *out++ = '.';
    for (int i = digits - 1; i >= 0; --i) {
      out[i] = static_cast<char>('0' + value % 10);
      value /= 10;
    }
    out += digits;
    length += 1 + static_cast<std::size_t>(digits);
  }
  *out = 'Z';
  return length + 1;
}

}  // namespace detail

std::string format_rfc3339(Timestamp timestamp) {
  char buffer[detail::max_rfc3339_length];
  return std::string(buffer, detail::format_rfc3339(timestamp, buffer));
}

Result<Timestamp> parse_rfc3339(std::string_view text) {
  auto bad = [](std::string message) { return Error{ErrorCode::invalid_value, std::move(message), ""}; };
  const char* const shape = "expected YYYY-MM-DDTHH:MM:SS[.fraction]Z";
  auto digit = [&text](std::size_t i) { return i < text.size() && text[i] >= '0' && text[i] <= '9'; };
  auto number = [&text](std::size_t from, std::size_t count) {
    unsigned value = 0;
    for (std::size_t i = from; i < from + count; ++i)
      value = value * 10 + static_cast<unsigned>(text[i] - '0');
    return value;
  };
  // The fixed part: every position is either a digit or one exact separator.
  static constexpr char pattern[] = "dddd-dd-ddTdd:dd:dd";
  for (std::size_t i = 0; i + 1 < sizeof(pattern); ++i) {
    if (pattern[i] == 'd' ? !digit(i) : (i >= text.size() || text[i] != pattern[i])) {
      if (i == 10 && i < text.size() && (text[i] == 't' || text[i] == ' ')) {
        return bad("date and time must be separated by an uppercase T");
      }
      return bad(shape);
    }
  }
  std::size_t pos = 19;
  std::int64_t fraction_micros = 0;
  if (pos < text.size() && text[pos] == '.') {
    ++pos;
    const std::size_t first = pos;
    while (digit(pos)) ++pos;
    const std::size_t digits = pos - first;
    if (digits == 0) return bad("a '.' must be followed by 1 to 9 fractional digits");
    if (digits > 9) return bad("more than 9 fractional digits");
    // Keep microseconds; finer digits are dropped (rounding down).
    for (std::size_t i = 0; i < 6; ++i) {
      fraction_micros = fraction_micros * 10 + (i < digits ? text[first + i] - '0' : 0);
    }
  }
  if (pos < text.size() && (text[pos] == '+' || text[pos] == '-')) {
    return bad("must be in UTC with a Z suffix, not an offset like \"+01:00\"");
  }
  if (pos < text.size() && text[pos] == 'z') return bad("the UTC suffix must be an uppercase Z");
  if (pos >= text.size() || text[pos] != 'Z') return bad(shape);
  if (pos + 1 != text.size()) return bad("unexpected characters after the Z");

  const unsigned year = number(0, 4);
  const unsigned month = number(5, 2);
  const unsigned day = number(8, 2);
  const unsigned hour = number(11, 2);
  const unsigned minute = number(14, 2);
  const unsigned second = number(17, 2);
  auto two = [](unsigned v) {
    return std::string(1, static_cast<char>('0' + v / 10)) + static_cast<char>('0' + v % 10);
  };
  if (year == 0) return bad("year 0000 is out of range (0001 to 9999)");
  if (month < 1 || month > 12) return bad("month " + two(month) + " is out of range (01 to 12)");
  if (day < 1 || day > detail::days_in_month(year, month)) {
    return bad("day " + two(day) + " does not exist in " + std::string(text.substr(0, 7)));
  }
  if (hour > 23) return bad("hour " + two(hour) + " is out of range (00 to 23)");
  if (minute > 59) return bad("minute " + two(minute) + " is out of range (00 to 59)");
  if (second == 60) return bad("leap second 60 is not supported");
  if (second > 59) return bad("second " + two(second) + " is out of range (00 to 59)");

  const std::int64_t days = detail::days_from_civil(year, month, day);
  const std::int64_t seconds_of_day = std::int64_t{hour} * 3600 + std::int64_t{minute} * 60 + second;
  const std::int64_t micros = (days * 86'400 + seconds_of_day) * 1'000'000 + fraction_micros;
  return Timestamp(Timestamp::time_point(Timestamp::duration(micros)));
}

// ---------------------------------------------------------------------------------------------
// Equality, member by member.

namespace {
auto fields(const Stack& x) { return std::tie(x.id, x.name, x.slug); }
auto fields(const ComponentChange& x) { return std::tie(x.id, x.name, x.previous_status, x.current_status); }
auto fields(const IncidentRef& x) { return std::tie(x.id, x.created_at); }
auto fields(const Monitor& x) {
  return std::tie(x.id, x.name, x.type, x.target, x.status, x.region, x.checked_at, x.response_time,
                  x.status_code, x.error, x.url);
}
auto fields(const Downtime& x) { return std::tie(x.started_at, x.duration); }
auto fields(const AffectedComponent& x) { return std::tie(x.id, x.name, x.status); }
auto fields(const IncidentUpdate& x) { return std::tie(x.message, x.created_at); }
auto fields(const Incident& x) {
  return std::tie(x.id, x.title, x.status, x.impact, x.components, x.latest_update, x.created_at,
                  x.updated_at, x.resolved_at, x.url);
}
auto fields(const ComponentRef& x) { return std::tie(x.id, x.name); }
auto fields(const Maintenance& x) {
  return std::tie(x.id, x.title, x.description, x.scheduled_start, x.scheduled_end, x.components, x.url);
}
auto fields(const ComponentStatusChanged& x) {
  return std::tie(x.timestamp, x.stack, x.component, x.incident);
}
auto fields(const MonitorDown& x) { return std::tie(x.timestamp, x.stack, x.monitor, x.incident); }
auto fields(const MonitorRecovered& x) {
  return std::tie(x.timestamp, x.stack, x.monitor, x.downtime, x.incident);
}
auto fields(const IncidentCreated& x) { return std::tie(x.timestamp, x.stack, x.incident); }
auto fields(const IncidentUpdated& x) {
  return std::tie(x.timestamp, x.stack, x.incident, x.previous_status);
}
auto fields(const IncidentResolved& x) { return std::tie(x.timestamp, x.stack, x.incident); }
auto fields(const MaintenanceScheduled& x) { return std::tie(x.timestamp, x.stack, x.maintenance); }
}  // namespace

bool operator==(const Stack& a, const Stack& b) { return fields(a) == fields(b); }
bool operator==(const ComponentChange& a, const ComponentChange& b) { return fields(a) == fields(b); }
bool operator==(const IncidentRef& a, const IncidentRef& b) { return fields(a) == fields(b); }
bool operator==(const Monitor& a, const Monitor& b) { return fields(a) == fields(b); }
bool operator==(const Downtime& a, const Downtime& b) { return fields(a) == fields(b); }
bool operator==(const AffectedComponent& a, const AffectedComponent& b) { return fields(a) == fields(b); }
bool operator==(const IncidentUpdate& a, const IncidentUpdate& b) { return fields(a) == fields(b); }
bool operator==(const Incident& a, const Incident& b) { return fields(a) == fields(b); }
bool operator==(const ComponentRef& a, const ComponentRef& b) { return fields(a) == fields(b); }
bool operator==(const Maintenance& a, const Maintenance& b) { return fields(a) == fields(b); }
bool operator==(const ComponentStatusChanged& a, const ComponentStatusChanged& b) {
  return fields(a) == fields(b);
}
bool operator==(const MonitorDown& a, const MonitorDown& b) { return fields(a) == fields(b); }
bool operator==(const MonitorRecovered& a, const MonitorRecovered& b) { return fields(a) == fields(b); }
bool operator==(const IncidentCreated& a, const IncidentCreated& b) { return fields(a) == fields(b); }
bool operator==(const IncidentUpdated& a, const IncidentUpdated& b) { return fields(a) == fields(b); }
bool operator==(const IncidentResolved& a, const IncidentResolved& b) { return fields(a) == fields(b); }
bool operator==(const MaintenanceScheduled& a, const MaintenanceScheduled& b) {
  return fields(a) == fields(b);
}

// ---------------------------------------------------------------------------------------------
// Validation of events built in code: the same rules, and the same messages, as parse_event.

namespace detail {

// The field names are views: a valid event (the common case) makes no string.
std::optional<Error> check_id(std::string_view field, std::string_view id) {
  if (id.empty())
    return Error{ErrorCode::invalid_value, std::string(field) + ": must not be empty", std::string(field)};
  return std::nullopt;
}

std::optional<Error> check_range(std::string_view field, std::int64_t value, std::int64_t min,
                                 std::int64_t max) {
  if (value < min || value > max) {
    return Error{ErrorCode::invalid_value,
                 std::string(field) + ": must be an integer from " + std::to_string(min) + " to " +
                     std::to_string(max) + " (got " + std::to_string(value) + ")",
                 std::string(field)};
  }
  return std::nullopt;
}

std::optional<Error> check_timestamp(std::string_view field, Timestamp timestamp) {
  const std::int64_t micros = timestamp.unix_microseconds();
  if (micros < min_timestamp_micros() || micros > max_timestamp_micros()) {
    return Error{ErrorCode::invalid_value,
                 std::string(field) + ": is outside 0001-01-01T00:00:00Z to 9999-12-31T23:59:59Z",
                 std::string(field)};
  }
  return std::nullopt;
}

Error missing(const std::string& field) {
  return Error{ErrorCode::missing_field, field + ": required field is missing", field};
}

}  // namespace detail

namespace {

using detail::check_id;
using detail::check_range;
using detail::check_timestamp;

// Runs checks in order and keeps the first failure.
class Checker {
 public:
  void add(std::optional<Error> error) {
    if (!first_ && error) first_ = std::move(error);
  }
  std::optional<Error> first_;
};

void check_envelope(Checker& c, Timestamp timestamp, const Stack& stack) {
  c.add(check_timestamp("timestamp", timestamp));
  c.add(check_id("stack.id", stack.id));
}

void check_incident_ref(Checker& c, const std::optional<IncidentRef>& ref) {
  if (!ref) return;
  c.add(check_id("incident.id", ref->id));
  c.add(check_timestamp("incident.created_at", ref->created_at));
}

void check_monitor(Checker& c, const Monitor& m) {
  c.add(check_id("monitor.id", m.id));
  c.add(check_timestamp("monitor.checked_at", m.checked_at));
  if (m.response_time) {
    c.add(check_range("monitor.response_time_ms", m.response_time->count(), 0, detail::max_json_integer));
  }
  if (m.status_code) c.add(check_range("monitor.status_code", *m.status_code, 100, 599));
}

// Each component's id; the field name ("incident.components[1].id") is made only for an empty one.
template <class Component>
void check_component_ids(Checker& c, std::string_view list, const std::vector<Component>& components) {
  for (std::size_t i = 0; i < components.size(); ++i) {
    if (components[i].id.empty()) {
      c.add(check_id(std::string(list) + "[" + std::to_string(i) + "].id", components[i].id));
    }
  }
}

void check_incident(Checker& c, const Incident& incident) {
  c.add(check_id("incident.id", incident.id));
  check_component_ids(c, "incident.components", incident.components);
  if (incident.latest_update) {
    c.add(check_timestamp("incident.latest_update.created_at", incident.latest_update->created_at));
  }
  c.add(check_timestamp("incident.created_at", incident.created_at));
  c.add(check_timestamp("incident.updated_at", incident.updated_at));
  if (incident.resolved_at) c.add(check_timestamp("incident.resolved_at", *incident.resolved_at));
}

struct Validate {
  Checker& c;
  void operator()(const ComponentStatusChanged& e) const {
    check_envelope(c, e.timestamp, e.stack);
    c.add(check_id("component.id", e.component.id));
    check_incident_ref(c, e.incident);
  }
  void operator()(const MonitorDown& e) const {
    check_envelope(c, e.timestamp, e.stack);
    check_monitor(c, e.monitor);
    if (!e.monitor.error) c.add(detail::missing("monitor.error"));
    check_incident_ref(c, e.incident);
  }
  void operator()(const MonitorRecovered& e) const {
    check_envelope(c, e.timestamp, e.stack);
    check_monitor(c, e.monitor);
    c.add(check_timestamp("downtime.started_at", e.downtime.started_at));
    c.add(check_range("downtime.duration_seconds", e.downtime.duration.count(), 0, detail::max_json_integer));
    check_incident_ref(c, e.incident);
  }
  void operator()(const IncidentCreated& e) const {
    check_envelope(c, e.timestamp, e.stack);
    check_incident(c, e.incident);
  }
  void operator()(const IncidentUpdated& e) const {
    check_envelope(c, e.timestamp, e.stack);
    check_incident(c, e.incident);
  }
  void operator()(const IncidentResolved& e) const {
    check_envelope(c, e.timestamp, e.stack);
    check_incident(c, e.incident);
    if (!e.incident.resolved_at) c.add(detail::missing("incident.resolved_at"));
  }
  void operator()(const MaintenanceScheduled& e) const {
    check_envelope(c, e.timestamp, e.stack);
    const Maintenance& m = e.maintenance;
    c.add(check_id("maintenance.id", m.id));
    c.add(check_timestamp("maintenance.scheduled_start", m.scheduled_start));
    c.add(check_timestamp("maintenance.scheduled_end", m.scheduled_end));
    c.add(detail::check_maintenance_window(m.scheduled_start, m.scheduled_end));
    check_component_ids(c, "maintenance.components", m.components);
  }
};

}  // namespace

namespace detail {
std::optional<Error> check_maintenance_window(Timestamp start, Timestamp end) {
  if (end < start) {
    return Error{ErrorCode::invalid_value,
                 "maintenance.scheduled_end: must not be before maintenance.scheduled_start",
                 "maintenance.scheduled_end"};
  }
  return std::nullopt;
}
}  // namespace detail

Result<void> validate_event(const Event& event) {
  Checker checker;
  std::visit(Validate{checker}, event);
  if (checker.first_) return std::move(*checker.first_);
  return {};
}

// ---------------------------------------------------------------------------------------------
// Samples: one incident story on the documented example's stack and component.

namespace {

Timestamp at(const char* rfc3339) { return parse_rfc3339(rfc3339).value(); }

Stack sample_stack() { return Stack{"stack_abc123", "Production Infrastructure", "production"}; }

Monitor sample_monitor() {
  Monitor m;
  m.id = "mon_7f3k9q";
  m.name = "Production API health";
  m.type = CheckType::http;
  m.target = "https://api.example.com/health";
  m.region = "eu-west-1";
  m.url = "https://status.example.com/monitors/mon_7f3k9q";
  return m;
}

Incident sample_incident() {
  Incident i;
  i.id = "inc_123";
  i.title = "Elevated error rates on the Production API";
  i.status = IncidentStatus::investigating;
  i.impact = IncidentImpact::major;
  i.components = {AffectedComponent{"comp_xyz789", "Production API", ComponentStatus::critical}};
  i.latest_update = IncidentUpdate{
      "We are investigating elevated 5xx error rates on the Production API. Some requests are failing.",
      at("2025-01-19T10:30:00Z")};
  i.created_at = at("2025-01-19T10:30:00Z");
  i.updated_at = at("2025-01-19T10:30:00Z");
  i.url = "https://status.example.com/incidents/inc_123";
  return i;
}

}  // namespace

Event example_event(EventType type) {
  switch (type) {
    case EventType::component_status_changed: {
      ComponentStatusChanged e;
      e.timestamp = at("2025-01-19T10:30:00Z");
      e.stack = sample_stack();
      e.component = ComponentChange{"comp_xyz789", "Production API", ComponentStatus::operational,
                                    ComponentStatus::critical};
      e.incident = IncidentRef{"inc_123", at("2025-01-19T10:30:00Z")};
      return e;
    }
    case EventType::monitor_down: {
      MonitorDown e;
      e.timestamp = at("2025-01-19T10:29:42Z");
      e.stack = sample_stack();
      e.monitor = sample_monitor();
      e.monitor.status = MonitorStatus::down;
      e.monitor.checked_at = at("2025-01-19T10:29:41.250Z");
      e.monitor.response_time = std::chrono::milliseconds(1840);
      e.monitor.status_code = 503;
      e.monitor.error = "expected HTTP 200, got 503 Service Unavailable";
      e.incident = IncidentRef{"inc_123", at("2025-01-19T10:30:00Z")};
      return e;
    }
    case EventType::monitor_recovered: {
      MonitorRecovered e;
      e.timestamp = at("2025-01-19T11:12:05Z");
      e.stack = sample_stack();
      e.monitor = sample_monitor();
      e.monitor.status = MonitorStatus::up;
      e.monitor.checked_at = at("2025-01-19T11:12:04.500Z");
      e.monitor.response_time = std::chrono::milliseconds(142);
      e.monitor.status_code = 200;
      e.downtime = Downtime{at("2025-01-19T10:29:41.250Z"), std::chrono::seconds(2543)};
      e.incident = IncidentRef{"inc_123", at("2025-01-19T10:30:00Z")};
      return e;
    }
    case EventType::incident_created: {
      IncidentCreated e;
      e.timestamp = at("2025-01-19T10:30:00Z");
      e.stack = sample_stack();
      e.incident = sample_incident();
      return e;
    }
    case EventType::incident_updated: {
      IncidentUpdated e;
      e.timestamp = at("2025-01-19T10:52:00Z");
      e.stack = sample_stack();
      e.incident = sample_incident();
      e.incident.status = IncidentStatus::identified;
      e.incident.latest_update = IncidentUpdate{
          "The cause is a failed database failover. We are moving traffic back to the primary.",
          at("2025-01-19T10:52:00Z")};
      e.incident.updated_at = at("2025-01-19T10:52:00Z");
      e.previous_status = IncidentStatus(IncidentStatus::investigating);
      return e;
    }
    case EventType::incident_resolved: {
      IncidentResolved e;
      e.timestamp = at("2025-01-19T11:15:00Z");
      e.stack = sample_stack();
      e.incident = sample_incident();
      e.incident.status = IncidentStatus::resolved;
      e.incident.components[0].status = ComponentStatus::operational;
      e.incident.latest_update =
          IncidentUpdate{"Error rates are back to normal. We will publish a post-mortem within 48 hours.",
                         at("2025-01-19T11:15:00Z")};
      e.incident.updated_at = at("2025-01-19T11:15:00Z");
      e.incident.resolved_at = at("2025-01-19T11:15:00Z");
      return e;
    }
    case EventType::maintenance_scheduled: {
      MaintenanceScheduled e;
      e.timestamp = at("2025-01-20T09:00:00Z");
      e.stack = sample_stack();
      e.maintenance.id = "maint_456";
      e.maintenance.title = "Primary database upgrade";
      e.maintenance.description =
          "We are upgrading the primary database to a new major version. The API will be read-only "
          "for up to 30 minutes during the window.";
      e.maintenance.scheduled_start = at("2025-01-26T02:00:00Z");
      e.maintenance.scheduled_end = at("2025-01-26T04:00:00Z");
      e.maintenance.components = {ComponentRef{"comp_db001", "Primary Database"},
                                  ComponentRef{"comp_xyz789", "Production API"}};
      e.maintenance.url = "https://status.example.com/maintenance/maint_456";
      return e;
    }
  }
  throw ConfigError(Error{ErrorCode::invalid_config, "example_event: not an EventType value", "type"});
}

}  // namespace statusstack::webhooks
