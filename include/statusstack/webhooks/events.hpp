#pragma once

// The seven StatusStack webhook events as plain value types, and their JSON wire form.
// The sender builds them and calls to_json(); a receiver calls parse_event() on the body it got.
// Every field is documented in docs/events.md; schemas/<event>.schema.json describes the JSON.

#include <statusstack/webhooks/error.hpp>
#include <statusstack/webhooks/export.hpp>

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace statusstack::webhooks {

// ---------------------------------------------------------------------------------------------
// Event types

/// Which of the seven events a payload is; its wire name is the JSON "event" field and the
/// X-StatusStack-Event header.
enum class EventType {
  component_status_changed,  ///< "component.status_changed"
  monitor_down,              ///< "monitor.down"
  monitor_recovered,         ///< "monitor.recovered"
  incident_created,          ///< "incident.created"
  incident_updated,          ///< "incident.updated"
  incident_resolved,         ///< "incident.resolved"
  maintenance_scheduled,     ///< "maintenance.scheduled"
};

/// Every event type, in declaration order (for iteration: filters, tests, the CLI).
inline constexpr std::array<EventType, 7> all_event_types{
    EventType::component_status_changed, EventType::monitor_down,     EventType::monitor_recovered,
    EventType::incident_created,         EventType::incident_updated, EventType::incident_resolved,
    EventType::maintenance_scheduled};

/// The wire name, e.g. "monitor.down".
STATUSSTACK_WEBHOOKS_EXPORT const char* to_string(EventType type) noexcept;

/// The type with that exact wire name (case-sensitive), or nullopt.
STATUSSTACK_WEBHOOKS_EXPORT std::optional<EventType> parse_event_type(std::string_view name) noexcept;

// ---------------------------------------------------------------------------------------------
// Timestamps

/// A point in time in UTC with microsecond precision, from 0001-01-01T00:00:00Z to
/// 9999-12-31T23:59:59.999999Z (what RFC 3339's four-digit years can say). A plain value type.
/// On the wire it is RFC 3339 in UTC: see format_rfc3339 / parse_rfc3339 for the exact rules.
class Timestamp {
 public:
  using duration = std::chrono::microseconds;
  using time_point = std::chrono::time_point<std::chrono::system_clock, duration>;

  /// 1970-01-01T00:00:00Z.
  constexpr Timestamp() noexcept = default;
  constexpr explicit Timestamp(time_point time) noexcept : time_(time) {}

  /// From a system_clock time point (nanoseconds on most platforms), rounded down to microseconds.
  static Timestamp from(std::chrono::system_clock::time_point time) noexcept {
    return Timestamp(std::chrono::floor<duration>(time));
  }
  /// The current time, rounded down to microseconds.
  static Timestamp now() noexcept { return from(std::chrono::system_clock::now()); }
  static constexpr Timestamp from_unix_seconds(std::int64_t seconds) noexcept {
    return Timestamp(time_point(std::chrono::seconds(seconds)));
  }

  constexpr time_point time() const noexcept { return time_; }
  /// Whole seconds since 1970-01-01T00:00:00Z, rounded down (what PagerDuty and Datadog want).
  constexpr std::int64_t unix_seconds() const noexcept {
    return std::chrono::floor<std::chrono::seconds>(time_.time_since_epoch()).count();
  }
  constexpr std::int64_t unix_microseconds() const noexcept { return time_.time_since_epoch().count(); }

  friend constexpr bool operator==(Timestamp a, Timestamp b) noexcept { return a.time_ == b.time_; }
  friend constexpr bool operator!=(Timestamp a, Timestamp b) noexcept { return a.time_ != b.time_; }
  friend constexpr bool operator<(Timestamp a, Timestamp b) noexcept { return a.time_ < b.time_; }
  friend constexpr bool operator<=(Timestamp a, Timestamp b) noexcept { return a.time_ <= b.time_; }
  friend constexpr bool operator>(Timestamp a, Timestamp b) noexcept { return a.time_ > b.time_; }
  friend constexpr bool operator>=(Timestamp a, Timestamp b) noexcept { return a.time_ >= b.time_; }

 private:
  time_point time_{};
};

/// RFC 3339 in UTC: "2025-01-19T10:30:00Z". The fraction is omitted when the time is a whole
/// second, written with 3 digits when it is a whole millisecond, else with 6 ("...00.000250Z").
/// A time outside the representable range is clamped to it, so the result always parses.
STATUSSTACK_WEBHOOKS_EXPORT std::string format_rfc3339(Timestamp timestamp);

/// Parses exactly "YYYY-MM-DDTHH:MM:SS[.F]Z": uppercase T and Z, UTC only (no "+00:00"), 1 to 9
/// fractional digits (rounded down to microseconds), real calendar dates, no leap second (:60).
/// The error's message says what was wrong; its field is empty (parse_event fills it in).
STATUSSTACK_WEBHOOKS_EXPORT Result<Timestamp> parse_rfc3339(std::string_view text);

// ---------------------------------------------------------------------------------------------
// Status values. Each is an "open enum": a name this version knows becomes its enumerator; any
// other string becomes `unknown` and keeps its text, so an older receiver accepts what a newer
// sender writes and writes it back unchanged. One template, OpenEnum, holds the behaviour; each
// status type only lists its enumerators and their wire names, in OpenEnumValues<Type>.

/// The values of the open enum `Type`, specialised for each: `enum Value` (the known values, then
/// `unknown` last) and `names`, the wire name of each known value in the same order.
template <class Type>
struct OpenEnumValues;

/// What the five status types share. A plain value type: a Value, plus the original text when the
/// value is `unknown`. `status == ComponentStatus::critical` compares the value only (every unknown
/// status equals `unknown`); two statuses compare their texts too (`on_fire` != `melting`); only
/// statuses of one type compare. Switch on value().
template <class Type>
class OpenEnum : public OpenEnumValues<Type> {
  using Values = OpenEnumValues<Type>;

 public:
  using Value = typename Values::Value;

  /// The first known value by default (operational, up, http, investigating, none).
  // NOLINTNEXTLINE(google-explicit-constructor): `status = ComponentStatus::critical` should just work
  OpenEnum(Value value = Value{}) noexcept : value_(value) {}

  /// Never fails: a name this version does not know (names are case-sensitive) gives `unknown`
  /// holding `name`.
  static Type from_string(std::string_view name) {
    Type status;
    for (std::size_t i = 0; i < std::size(Values::names); ++i) {
      if (name == Values::names[i]) {
        status.value_ = static_cast<Value>(i);
        return status;
      }
    }
    status.value_ = Values::unknown;
    status.text_.assign(name.data(), name.size());
    return status;
  }

  Value value() const noexcept { return value_; }
  bool is_known() const noexcept { return value_ != Values::unknown; }
  /// The wire name ("critical"), or the kept text of an unknown value.
  std::string_view to_string() const noexcept {
    const auto index = static_cast<std::size_t>(value_);
    return index < std::size(Values::names) ? Values::names[index] : std::string_view(text_);
  }

  friend bool operator==(const Type& a, const Type& b) noexcept {
    return a.value_ == b.value_ && a.text_ == b.text_;
  }
  friend bool operator!=(const Type& a, const Type& b) noexcept { return !(a == b); }
  friend bool operator==(const Type& a, Value b) noexcept { return a.value_ == b; }
  friend bool operator==(Value a, const Type& b) noexcept { return a == b.value_; }
  friend bool operator!=(const Type& a, Value b) noexcept { return a.value_ != b; }
  friend bool operator!=(Value a, const Type& b) noexcept { return a != b.value_; }

 private:
  static_assert(std::size(Values::names) == Values::unknown, "one wire name per known value, unknown last");

  Value value_;
  std::string text_;  // only for unknown
};

class ComponentStatus;
template <>
struct OpenEnumValues<ComponentStatus> {
  enum Value { operational, degraded, partial_outage, major_outage, critical, maintenance, unknown };
  static constexpr std::string_view names[] = {"operational",  "degraded", "partial_outage",
                                               "major_outage", "critical", "maintenance"};
};
/// A status page component's state.
class ComponentStatus : public OpenEnum<ComponentStatus> {
 public:
  using OpenEnum::OpenEnum;
};

class MonitorStatus;
template <>
struct OpenEnumValues<MonitorStatus> {
  enum Value { up, down, degraded, unknown };
  static constexpr std::string_view names[] = {"up", "down", "degraded"};
};
/// What a monitor's last check concluded.
class MonitorStatus : public OpenEnum<MonitorStatus> {
 public:
  using OpenEnum::OpenEnum;
};

class CheckType;
template <>
struct OpenEnumValues<CheckType> {
  enum Value { http, keyword, tcp, ping, dns, ssl, heartbeat, unknown };
  static constexpr std::string_view names[] = {"http", "keyword", "tcp", "ping", "dns", "ssl", "heartbeat"};
};
/// How a monitor checks its target.
class CheckType : public OpenEnum<CheckType> {
 public:
  using OpenEnum::OpenEnum;
};

class IncidentStatus;
template <>
struct OpenEnumValues<IncidentStatus> {
  enum Value { investigating, identified, monitoring, resolved, unknown };
  static constexpr std::string_view names[] = {"investigating", "identified", "monitoring", "resolved"};
};
/// Where an incident stands.
class IncidentStatus : public OpenEnum<IncidentStatus> {
 public:
  using OpenEnum::OpenEnum;
};

class IncidentImpact;
template <>
struct OpenEnumValues<IncidentImpact> {
  enum Value { none, minor, major, critical, unknown };
  static constexpr std::string_view names[] = {"none", "minor", "major", "critical"};
};
/// How badly an incident hurts users.
class IncidentImpact : public OpenEnum<IncidentImpact> {
 public:
  using OpenEnum::OpenEnum;
};

// ---------------------------------------------------------------------------------------------
// The parts events are made of. Plain aggregates; JSON key order follows member order.

/// The status page ("stack") an event belongs to: the envelope's "stack" object.
struct Stack {
  std::string id;    ///< "stack_abc123"; never empty
  std::string name;  ///< "Production Infrastructure"
  std::string slug;  ///< "production"
};

/// The component whose status changed ("component" of component.status_changed).
struct ComponentChange {
  std::string id;  ///< never empty
  std::string name;
  ComponentStatus previous_status;
  ComponentStatus current_status;
};

/// The incident an event belongs to, by reference ("incident" of the component and monitor events).
struct IncidentRef {
  std::string id;  ///< never empty
  Timestamp created_at;
};

/// A monitor and the check that produced the event ("monitor" of monitor.down / monitor.recovered).
struct Monitor {
  std::string id;  ///< never empty
  std::string name;
  CheckType type;
  std::string target;  ///< what is checked: a URL, "host:port", a hostname
  MonitorStatus status;
  std::string region;  ///< where the check ran from, e.g. "eu-west-1"
  Timestamp checked_at;
  std::optional<std::chrono::milliseconds> response_time;  ///< "response_time_ms"; absent when none
  std::optional<int> status_code;    ///< HTTP status the check got (100-599), when it got one
  std::optional<std::string> error;  ///< why the check failed; always present in monitor.down
  std::optional<std::string> url;    ///< the monitor's page in StatusStack
};

/// How long a recovered monitor was down ("downtime" of monitor.recovered).
struct Downtime {
  Timestamp started_at;
  std::chrono::seconds duration{0};  ///< "duration_seconds", >= 0
};

/// A component an incident affects, with its status in that incident.
struct AffectedComponent {
  std::string id;  ///< never empty
  std::string name;
  ComponentStatus status;
};

/// The newest message posted on an incident ("latest_update").
struct IncidentUpdate {
  std::string message;
  Timestamp created_at;
};

/// An incident as the three incident events carry it ("incident").
struct Incident {
  std::string id;  ///< never empty
  std::string title;
  IncidentStatus status;
  IncidentImpact impact;
  std::vector<AffectedComponent> components;    ///< may be empty
  std::optional<IncidentUpdate> latest_update;  ///< absent when nothing was posted yet
  Timestamp created_at;
  Timestamp updated_at;
  std::optional<Timestamp> resolved_at;  ///< always present in incident.resolved
  std::string url;                       ///< the incident's public page
};

/// A component that scheduled maintenance affects.
struct ComponentRef {
  std::string id;  ///< never empty
  std::string name;
};

/// A maintenance window ("maintenance" of maintenance.scheduled).
struct Maintenance {
  std::string id;  ///< never empty
  std::string title;
  std::string description;
  Timestamp scheduled_start;
  Timestamp scheduled_end;  ///< not before scheduled_start
  std::vector<ComponentRef> components;
  std::string url;
};

// ---------------------------------------------------------------------------------------------
// The seven events. Each carries the envelope's timestamp (when the event happened) and stack.

/// "component.status_changed": a component moved from one status to another.
struct ComponentStatusChanged {
  Timestamp timestamp;
  Stack stack;
  ComponentChange component;
  std::optional<IncidentRef> incident;  ///< present when the change belongs to an incident
};

/// "monitor.down": a monitor's check failed.
struct MonitorDown {
  Timestamp timestamp;
  Stack stack;
  Monitor monitor;                      ///< monitor.error is required here
  std::optional<IncidentRef> incident;  ///< present when the failure opened or joined an incident
};

/// "monitor.recovered": a monitor that was down passes again.
struct MonitorRecovered {
  Timestamp timestamp;
  Stack stack;
  Monitor monitor;
  Downtime downtime;
  std::optional<IncidentRef> incident;  ///< the incident the outage belonged to, if any
};

/// "incident.created": an incident was opened.
struct IncidentCreated {
  Timestamp timestamp;
  Stack stack;
  Incident incident;
};

/// "incident.updated": an incident changed (status, impact, components) or got a new update.
struct IncidentUpdated {
  Timestamp timestamp;
  Stack stack;
  Incident incident;
  std::optional<IncidentStatus> previous_status;  ///< present when the status changed
};

/// "incident.resolved": an incident was resolved.
struct IncidentResolved {
  Timestamp timestamp;
  Stack stack;
  Incident incident;  ///< incident.resolved_at is required here
};

/// "maintenance.scheduled": a maintenance window was planned.
struct MaintenanceScheduled {
  Timestamp timestamp;
  Stack stack;
  Maintenance maintenance;
};

/// Any event; the alternative's index follows EventType's order. A plain value type.
using Event = std::variant<ComponentStatusChanged, MonitorDown, MonitorRecovered, IncidentCreated,
                           IncidentUpdated, IncidentResolved, MaintenanceScheduled>;

/// Field-by-field equality (unknown status texts included).
STATUSSTACK_WEBHOOKS_EXPORT bool operator==(const Stack& a, const Stack& b);
STATUSSTACK_WEBHOOKS_EXPORT bool operator==(const ComponentChange& a, const ComponentChange& b);
STATUSSTACK_WEBHOOKS_EXPORT bool operator==(const IncidentRef& a, const IncidentRef& b);
STATUSSTACK_WEBHOOKS_EXPORT bool operator==(const Monitor& a, const Monitor& b);
STATUSSTACK_WEBHOOKS_EXPORT bool operator==(const Downtime& a, const Downtime& b);
STATUSSTACK_WEBHOOKS_EXPORT bool operator==(const AffectedComponent& a, const AffectedComponent& b);
STATUSSTACK_WEBHOOKS_EXPORT bool operator==(const IncidentUpdate& a, const IncidentUpdate& b);
STATUSSTACK_WEBHOOKS_EXPORT bool operator==(const Incident& a, const Incident& b);
STATUSSTACK_WEBHOOKS_EXPORT bool operator==(const ComponentRef& a, const ComponentRef& b);
STATUSSTACK_WEBHOOKS_EXPORT bool operator==(const Maintenance& a, const Maintenance& b);
STATUSSTACK_WEBHOOKS_EXPORT bool operator==(const ComponentStatusChanged& a, const ComponentStatusChanged& b);
STATUSSTACK_WEBHOOKS_EXPORT bool operator==(const MonitorDown& a, const MonitorDown& b);
STATUSSTACK_WEBHOOKS_EXPORT bool operator==(const MonitorRecovered& a, const MonitorRecovered& b);
STATUSSTACK_WEBHOOKS_EXPORT bool operator==(const IncidentCreated& a, const IncidentCreated& b);
STATUSSTACK_WEBHOOKS_EXPORT bool operator==(const IncidentUpdated& a, const IncidentUpdated& b);
STATUSSTACK_WEBHOOKS_EXPORT bool operator==(const IncidentResolved& a, const IncidentResolved& b);
STATUSSTACK_WEBHOOKS_EXPORT bool operator==(const MaintenanceScheduled& a, const MaintenanceScheduled& b);

/// The event's type (from the variant's alternative).
STATUSSTACK_WEBHOOKS_EXPORT EventType type_of(const Event& event) noexcept;
/// The envelope's timestamp: when the event happened.
STATUSSTACK_WEBHOOKS_EXPORT Timestamp timestamp_of(const Event& event) noexcept;
/// The envelope's stack.
STATUSSTACK_WEBHOOKS_EXPORT const Stack& stack_of(const Event& event) noexcept;

// ---------------------------------------------------------------------------------------------
// JSON

/// The deepest nesting of arrays and objects parse_event accepts (the events themselves need 4).
inline constexpr int max_json_depth = 32;

/// The event's canonical JSON: compact, keys in documented order, absent optionals omitted (never
/// null), non-ASCII written as UTF-8. Invalid UTF-8 in a string is replaced by U+FFFD so the
/// output is always valid JSON. Does not validate (see validate_event). Thread-safe.
STATUSSTACK_WEBHOOKS_EXPORT std::string to_json(const Event& event);

/// Parses one event from untrusted bytes. Never throws and never crashes: anything malformed gives
/// an Error whose field is the dotted path ("incident.components[1].status") and whose message
/// names it and what was wrong. Unknown fields are ignored; unknown status strings are kept;
/// null in an optional field means absent. Rejected: invalid JSON or UTF-8, duplicate keys,
/// nesting deeper than max_json_depth, numbers beyond a double's range. Thread-safe.
STATUSSTACK_WEBHOOKS_EXPORT Result<Event> parse_event(std::string_view json);

/// Checks what parse_event would reject in an event built in code: empty ids, numbers out of
/// range, a missing monitor.error (monitor.down) or incident.resolved_at (incident.resolved),
/// a maintenance window ending before it starts. The Error names the field as parse_event would.
STATUSSTACK_WEBHOOKS_EXPORT Result<void> validate_event(const Event& event);

/// A realistic sample of each type (the one docs/events.md shows); the component.status_changed
/// sample is the documented example, field for field.
STATUSSTACK_WEBHOOKS_EXPORT Event example_event(EventType type);

}  // namespace statusstack::webhooks
