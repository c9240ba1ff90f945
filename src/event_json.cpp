// Events to and from JSON. Writing goes through detail::JsonWriter, which appends straight to a
// string (no DOM, no generic writer): it is on the hot path of dispatch(). Parsing builds a DOM
// through a guard that rejects what we do not want to hold (deep nesting, duplicate keys,
// ill-formed UTF-8 behind escapes), then reads typed fields out of it, naming the path of the first
// field that is wrong.

#include <statusstack/webhooks/events.hpp>

#include "detail/events_internal.hpp"
#include "detail/json_writer.hpp"
#include "detail/strict_json.hpp"
#include "detail/text.hpp"

#include <rapidjson/document.h>

#include <cmath>
#include <cstdio>
#include <new>

namespace statusstack::webhooks {
namespace rj = rapidjson;

// ---------------------------------------------------------------------------------------------
// Writing

namespace {

using detail::JsonWriter;

void write(JsonWriter& out, const Stack& stack) {
  out.begin_object();
  out.field("id", stack.id);
  out.field("name", stack.name);
  out.field("slug", stack.slug);
  out.end_object();
}

void write(JsonWriter& out, const IncidentRef& ref) {
  out.begin_object();
  out.field("id", ref.id);
  out.field("created_at", ref.created_at);
  out.end_object();
}

void write(JsonWriter& out, const Monitor& m) {
  out.begin_object();
  out.field("id", m.id);
  out.field("name", m.name);
  out.field("type", m.type.to_string());
  out.field("target", m.target);
  out.field("status", m.status.to_string());
  out.field("region", m.region);
  out.field("checked_at", m.checked_at);
  if (m.response_time) out.field("response_time_ms", static_cast<std::int64_t>(m.response_time->count()));
  if (m.status_code) out.field("status_code", static_cast<std::int64_t>(*m.status_code));
  if (m.error) out.field("error", *m.error);
  if (m.url) out.field("url", *m.url);
  out.end_object();
}

void write(JsonWriter& out, const Incident& incident) {
  out.begin_object();
  out.field("id", incident.id);
  out.field("title", incident.title);
  out.field("status", incident.status.to_string());
  out.field("impact", incident.impact.to_string());
  out.key("components");
  out.begin_array();
  for (const AffectedComponent& c : incident.components) {
    out.begin_object();
    out.field("id", c.id);
    out.field("name", c.name);
    out.field("status", c.status.to_string());
    out.end_object();
  }
  out.end_array();
  if (incident.latest_update) {
    out.key("latest_update");
    out.begin_object();
    out.field("message", incident.latest_update->message);
    out.field("created_at", incident.latest_update->created_at);
    out.end_object();
  }
  out.field("created_at", incident.created_at);
  out.field("updated_at", incident.updated_at);
  if (incident.resolved_at) out.field("resolved_at", *incident.resolved_at);
  out.field("url", incident.url);
  out.end_object();
}

void write(JsonWriter& out, const Maintenance& m) {
  out.begin_object();
  out.field("id", m.id);
  out.field("title", m.title);
  out.field("description", m.description);
  out.field("scheduled_start", m.scheduled_start);
  out.field("scheduled_end", m.scheduled_end);
  out.key("components");
  out.begin_array();
  for (const ComponentRef& c : m.components) {
    out.begin_object();
    out.field("id", c.id);
    out.field("name", c.name);
    out.end_object();
  }
  out.end_array();
  out.field("url", m.url);
  out.end_object();
}

// Opens the envelope: {"event":...,"timestamp":...,"stack":{...} -- the caller adds the rest.
template <class E>
void write_envelope(JsonWriter& out, EventType type, const E& event) {
  out.begin_object();
  out.field("event", to_string(type));
  out.field("timestamp", event.timestamp);
  out.key("stack");
  write(out, event.stack);
}

struct WriteEvent {
  JsonWriter& out;

  void operator()(const ComponentStatusChanged& e) const {
    write_envelope(out, EventType::component_status_changed, e);
    out.key("component");
    out.begin_object();
    out.field("id", e.component.id);
    out.field("name", e.component.name);
    out.field("previous_status", e.component.previous_status.to_string());
    out.field("current_status", e.component.current_status.to_string());
    out.end_object();
    if (e.incident) {
      out.key("incident");
      write(out, *e.incident);
    }
    out.end_object();
  }
  void operator()(const MonitorDown& e) const {
    write_envelope(out, EventType::monitor_down, e);
    out.key("monitor");
    write(out, e.monitor);
    if (e.incident) {
      out.key("incident");
      write(out, *e.incident);
    }
    out.end_object();
  }
  void operator()(const MonitorRecovered& e) const {
    write_envelope(out, EventType::monitor_recovered, e);
    out.key("monitor");
    write(out, e.monitor);
    out.key("downtime");
    out.begin_object();
    out.field("started_at", e.downtime.started_at);
    out.field("duration_seconds", static_cast<std::int64_t>(e.downtime.duration.count()));
    out.end_object();
    if (e.incident) {
      out.key("incident");
      write(out, *e.incident);
    }
    out.end_object();
  }
  void operator()(const IncidentCreated& e) const {
    write_envelope(out, EventType::incident_created, e);
    out.key("incident");
    write(out, e.incident);
    out.end_object();
  }
  void operator()(const IncidentUpdated& e) const {
    write_envelope(out, EventType::incident_updated, e);
    out.key("incident");
    write(out, e.incident);
    if (e.previous_status) out.field("previous_status", e.previous_status->to_string());
    out.end_object();
  }
  void operator()(const IncidentResolved& e) const {
    write_envelope(out, EventType::incident_resolved, e);
    out.key("incident");
    write(out, e.incident);
    out.end_object();
  }
  void operator()(const MaintenanceScheduled& e) const {
    write_envelope(out, EventType::maintenance_scheduled, e);
    out.key("maintenance");
    write(out, e.maintenance);
    out.end_object();
  }
};

}  // namespace

std::string to_json(const Event& event) {
  JsonWriter out(1024);
  std::visit(WriteEvent{out}, event);
  return out.take();
}

// ---------------------------------------------------------------------------------------------
// Parsing, step 1 (text to DOM, through the guard) is detail::parse_strict_json, shared with the
// rules files. Step 2: DOM to typed event. A failure is thrown as ParseFailure inside this file and
// caught in parse_event, so the readers below stay linear.

namespace {

struct ParseFailure {
  Error error;
};

[[noreturn]] void fail(Error error) { throw ParseFailure{std::move(error)}; }

void check(std::optional<Error> error) {
  if (error) fail(std::move(*error));
}

const char* describe(const rj::Value& value) {
  switch (value.GetType()) {
    case rj::kNullType: return "null";
    case rj::kFalseType:
    case rj::kTrueType: return "a boolean";
    case rj::kObjectType: return "an object";
    case rj::kArrayType: return "an array";
    case rj::kStringType: return "a string";
    case rj::kNumberType: return "a number";
  }
  return "something else";
}

[[noreturn]] void wrong_type(const std::string& field, const char* expected, const rj::Value& got) {
  fail(Error{ErrorCode::wrong_type, field + ": expected " + expected + ", got " + describe(got), field});
}

std::string read_string(const rj::Value& value, const std::string& field) {
  if (!value.IsString()) wrong_type(field, "a string", value);
  return std::string(value.GetString(), value.GetStringLength());
}

Timestamp read_timestamp(const rj::Value& value, const std::string& field) {
  const std::string text = read_string(value, field);
  Result<Timestamp> parsed = parse_rfc3339(text);
  if (!parsed) {
    fail(Error{ErrorCode::invalid_value,
               field + ": invalid RFC 3339 timestamp " + detail::quote_for_message(text) + ": " +
                   parsed.error().message,
               field});
  }
  return *parsed;
}

std::int64_t read_integer(const rj::Value& value, const std::string& field, std::int64_t min,
                          std::int64_t max) {
  if (!value.IsNumber()) wrong_type(field, "an integer", value);
  if (value.IsInt64()) {
    check(detail::check_range(field, value.GetInt64(), min, max));
    return value.GetInt64();
  }
  std::string shown;
  if (value.IsUint64()) {
    shown = std::to_string(value.GetUint64());
  } else {
    // A number RapidJSON holds as a double: written with a fraction or exponent, or too long for
    // 64 bits. An integral value in range is accepted (5000.0 and 5e3 mean 5000).
    const double d = value.GetDouble();
    if (d != std::floor(d)) {
      fail(
          Error{ErrorCode::wrong_type, field + ": expected an integer, got a number with a fraction", field});
    }
    if (d >= static_cast<double>(min) && d <= static_cast<double>(max)) return static_cast<std::int64_t>(d);
    char buffer[32];
    std::snprintf(buffer, sizeof buffer, "%.17g", d);
    shown = buffer;
  }
  fail(Error{ErrorCode::invalid_value,
             field + ": must be an integer from " + std::to_string(min) + " to " + std::to_string(max) +
                 " (got " + shown + ")",
             field});
}

// A JSON object being read, with its path for messages.
class Object {
 public:
  Object(const rj::Value& value, std::string path) : value_(value), path_(std::move(path)) {
    if (!value.IsObject()) wrong_type(path_, "an object", value);
  }

  const std::string& path() const { return path_; }
  std::string path_of(const char* key) const { return path_.empty() ? key : path_ + "." + key; }

  const rj::Value& required(const char* key) const {
    const auto it = value_.FindMember(key);
    if (it == value_.MemberEnd()) fail(detail::missing(path_of(key)));
    return it->value;
  }
  // Absent and null both mean "not given".
  const rj::Value* optional(const char* key) const {
    const auto it = value_.FindMember(key);
    return it == value_.MemberEnd() || it->value.IsNull() ? nullptr : &it->value;
  }

  std::string string(const char* key) const { return read_string(required(key), path_of(key)); }
  std::optional<std::string> optional_string(const char* key) const {
    const rj::Value* v = optional(key);
    if (!v) return std::nullopt;
    return read_string(*v, path_of(key));
  }
  std::string id(const char* key) const {
    std::string value = string(key);
    check(detail::check_id(path_of(key), value));
    return value;
  }
  Timestamp timestamp(const char* key) const { return read_timestamp(required(key), path_of(key)); }
  std::optional<Timestamp> optional_timestamp(const char* key) const {
    const rj::Value* v = optional(key);
    if (!v) return std::nullopt;
    return read_timestamp(*v, path_of(key));
  }
  std::optional<std::int64_t> optional_integer(const char* key, std::int64_t min, std::int64_t max) const {
    const rj::Value* v = optional(key);
    if (!v) return std::nullopt;
    return read_integer(*v, path_of(key), min, max);
  }
  std::int64_t integer(const char* key, std::int64_t min, std::int64_t max) const {
    return read_integer(required(key), path_of(key), min, max);
  }
  template <class Status>
  Status status(const char* key) const {
    return Status::from_string(string(key));
  }
  Object object(const char* key) const { return Object(required(key), path_of(key)); }
  std::optional<Object> optional_object(const char* key) const {
    const rj::Value* v = optional(key);
    if (!v) return std::nullopt;
    return Object(*v, path_of(key));
  }
  // Calls read(element_object) for each element of the array `key`.
  template <class Read>
  void each(const char* key, Read&& read) const {
    const std::string field = path_of(key);
    const rj::Value& array = required(key);
    if (!array.IsArray()) wrong_type(field, "an array", array);
    for (rj::SizeType i = 0; i < array.Size(); ++i) {
      read(Object(array[i], field + "[" + std::to_string(i) + "]"));
    }
  }

 private:
  const rj::Value& value_;
  std::string path_;
};

Stack read_stack(const Object& o) { return Stack{o.id("id"), o.string("name"), o.string("slug")}; }

std::optional<IncidentRef> read_incident_ref(const Object& parent) {
  const std::optional<Object> o = parent.optional_object("incident");
  if (!o) return std::nullopt;
  return IncidentRef{o->id("id"), o->timestamp("created_at")};
}

Monitor read_monitor(const Object& o) {
  Monitor m;
  m.id = o.id("id");
  m.name = o.string("name");
  m.type = o.status<CheckType>("type");
  m.target = o.string("target");
  m.status = o.status<MonitorStatus>("status");
  m.region = o.string("region");
  m.checked_at = o.timestamp("checked_at");
  if (auto ms = o.optional_integer("response_time_ms", 0, detail::max_json_integer)) {
    m.response_time = std::chrono::milliseconds(*ms);
  }
  if (auto code = o.optional_integer("status_code", 100, 599)) m.status_code = static_cast<int>(*code);
  m.error = o.optional_string("error");
  m.url = o.optional_string("url");
  return m;
}

Incident read_incident(const Object& o) {
  Incident incident;
  incident.id = o.id("id");
  incident.title = o.string("title");
  incident.status = o.status<IncidentStatus>("status");
  incident.impact = o.status<IncidentImpact>("impact");
  o.each("components", [&incident](const Object& c) {
    incident.components.push_back(
        AffectedComponent{c.id("id"), c.string("name"), c.status<ComponentStatus>("status")});
  });
  if (const std::optional<Object> update = o.optional_object("latest_update")) {
    incident.latest_update = IncidentUpdate{update->string("message"), update->timestamp("created_at")};
  }
  incident.created_at = o.timestamp("created_at");
  incident.updated_at = o.timestamp("updated_at");
  incident.resolved_at = o.optional_timestamp("resolved_at");
  incident.url = o.string("url");
  return incident;
}

Maintenance read_maintenance(const Object& o) {
  Maintenance m;
  m.id = o.id("id");
  m.title = o.string("title");
  m.description = o.string("description");
  m.scheduled_start = o.timestamp("scheduled_start");
  m.scheduled_end = o.timestamp("scheduled_end");
  check(detail::check_maintenance_window(m.scheduled_start, m.scheduled_end));
  o.each("components", [&m](const Object& c) {
    m.components.push_back(ComponentRef{c.id("id"), c.string("name")});
  });
  m.url = o.string("url");
  return m;
}

Event read_event(const rj::Value& root) {
  if (!root.IsObject()) {
    fail(Error{ErrorCode::wrong_type, std::string("expected a JSON object, got ") + describe(root), ""});
  }
  const Object top(root, "");
  const std::string name = top.string("event");
  const std::optional<EventType> type = parse_event_type(name);
  if (!type) {
    fail(Error{ErrorCode::unknown_event_type, "event: unknown event type " + detail::quote_for_message(name),
               "event"});
  }
  const Timestamp timestamp = top.timestamp("timestamp");
  Stack stack = read_stack(top.object("stack"));

  switch (*type) {
    case EventType::component_status_changed: {
      const Object c = top.object("component");
      ComponentChange change{c.id("id"), c.string("name"), c.status<ComponentStatus>("previous_status"),
                             c.status<ComponentStatus>("current_status")};
      return ComponentStatusChanged{timestamp, std::move(stack), std::move(change), read_incident_ref(top)};
    }
    case EventType::monitor_down: {
      Monitor monitor = read_monitor(top.object("monitor"));
      if (!monitor.error) fail(detail::missing("monitor.error"));
      return MonitorDown{timestamp, std::move(stack), std::move(monitor), read_incident_ref(top)};
    }
    case EventType::monitor_recovered: {
      Monitor monitor = read_monitor(top.object("monitor"));
      const Object d = top.object("downtime");
      Downtime downtime{d.timestamp("started_at"),
                        std::chrono::seconds(d.integer("duration_seconds", 0, detail::max_json_integer))};
      return MonitorRecovered{timestamp, std::move(stack), std::move(monitor), downtime,
                              read_incident_ref(top)};
    }
    case EventType::incident_created:
      return IncidentCreated{timestamp, std::move(stack), read_incident(top.object("incident"))};
    case EventType::incident_updated: {
      Incident incident = read_incident(top.object("incident"));
      std::optional<IncidentStatus> previous;
      if (auto text = top.optional_string("previous_status")) previous = IncidentStatus::from_string(*text);
      return IncidentUpdated{timestamp, std::move(stack), std::move(incident), std::move(previous)};
    }
    case EventType::incident_resolved: {
      Incident incident = read_incident(top.object("incident"));
      if (!incident.resolved_at) fail(detail::missing("incident.resolved_at"));
      return IncidentResolved{timestamp, std::move(stack), std::move(incident)};
    }
    case EventType::maintenance_scheduled:
      return MaintenanceScheduled{timestamp, std::move(stack), read_maintenance(top.object("maintenance"))};
  }
  fail(Error{ErrorCode::unknown_event_type, "event: unknown event type", "event"});
}

std::string describe_parse_error(const detail::JsonFailure& failure) {
  std::string what = failure.message;
  if (!what.empty() && what.back() == '.') what.pop_back();
  if (!what.empty() && what[0] >= 'A' && what[0] <= 'Z') what[0] = static_cast<char>(what[0] - 'A' + 'a');
  return "invalid JSON at byte " + std::to_string(failure.offset) + ": " + what;
}

}  // namespace

Result<Event> parse_event(std::string_view json) {
  try {
    rj::Document document;
    if (auto failure = detail::parse_strict_json(json, document, max_json_depth)) {
      if (!failure->syntax) return Error{ErrorCode::invalid_json, failure->message, failure->path};
      return Error{ErrorCode::invalid_json, describe_parse_error(*failure), ""};
    }
    return read_event(document);
  } catch (ParseFailure& failure) {
    return std::move(failure.error);
  } catch (const std::bad_alloc&) {
    return Error{ErrorCode::invalid_json, "not enough memory to parse the event", ""};
  } catch (const std::exception& e) {
    return Error{ErrorCode::invalid_json, std::string("could not parse the event: ") + e.what(), ""};
  }
}

}  // namespace statusstack::webhooks
