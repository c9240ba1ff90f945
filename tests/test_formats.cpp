// Formats (formats.hpp): every event in every status becomes a PagerDuty Events API v2 and a Datadog
// Events API v1 body that our schemas of the vendors' request bodies accept (tests/schemas/, written
// from the vendors' specifications, limits stated in prose included); the mapping table of
// docs/integrations.md; stable keys; reading the vendors' answers; the local fakes of both APIs,
// which agree with the schemas; and `statusstack-webhook render`.

#include <statusstack/webhooks/client.hpp>
#include <statusstack/webhooks/formats.hpp>

#include "formats/profile.hpp"

#include "support/files.hpp"
#include "support/process.hpp"
#include "support/servers.hpp"
#include "support/vendor_fakes.hpp"

#include <rapidjson/document.h>
#include <rapidjson/pointer.h>
#include <rapidjson/schema.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>
#include <catch2/catch.hpp>

#include <fstream>
#include <iterator>
#include <set>
#include <string>
#include <vector>

using namespace statusstack::webhooks;
using namespace statusstack::webhooks::testing;
using namespace std::chrono_literals;

namespace {

const std::string routing_key = "e93facc04764012d7bfb002500d5d1a6";  // the spec's example key
const std::string api_key = "0123456789abcdef0123456789abcdef";

FormatSettings pagerduty_settings() { return PagerDutyFormat{Secret(routing_key)}; }

FormatSettings datadog_settings() { return DatadogFormat{Secret(api_key), DatadogSite::us1}; }

// Parses JSON that must be valid (UTF-8 checked too).
rapidjson::Document parse_json(const std::string& text) {
  rapidjson::Document doc;
  doc.Parse<rapidjson::kParseValidateEncodingFlag>(text.data(), text.size());
  INFO("JSON: " << text.substr(0, 2000));
  REQUIRE_FALSE(doc.HasParseError());
  return doc;
}

std::string text_of(const rapidjson::Value& value) {
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> writer(buffer);
  value.Accept(writer);
  return {buffer.GetString(), buffer.GetSize()};
}

bool valid_utf8(const std::string& text) {
  rapidjson::Document doc;
  const std::string quoted =
      text_of(rapidjson::Value(text.data(), static_cast<rapidjson::SizeType>(text.size())));
  doc.Parse<rapidjson::kParseValidateEncodingFlag>(quoted.data(), quoted.size());
  return !doc.HasParseError();
}

bool ends_with(const std::string& text, const std::string& suffix) {
  return text.size() >= suffix.size() &&
         text.compare(text.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// One of the project's own JSON Schemas of a vendor's request body (tests/schemas/), written from
// the vendor's specification. They refuse the fields the vendor does not define, so that a misspelt
// field fails as surely as a missing one.
class RequestSchema {
 public:
  explicit RequestSchema(const std::string& file) {
    const std::string text = read_file(std::string(SSW_TEST_SCHEMA_DIR "/") + file);
    document_.Parse<rapidjson::kParseValidateEncodingFlag>(text.data(), text.size());
    INFO(file);
    REQUIRE_FALSE(document_.HasParseError());
    schema_ = std::make_unique<rapidjson::SchemaDocument>(document_);
  }

  /// Validates a body; on failure the text says which keyword failed where (for allOf, which of
  /// its rules). A name the schema does not define fails as additionalProperties at that name.
  std::string violations(const std::string& body) const {
    const rapidjson::Document doc = parse_json(body);
    rapidjson::SchemaValidator validator(*schema_);
    if (doc.Accept(validator)) return {};
    const std::string keyword = validator.GetInvalidSchemaKeyword();
    rapidjson::StringBuffer where;
    rapidjson::StringBuffer in_schema;
    validator.GetInvalidDocumentPointer().StringifyUriFragment(where);
    validator.GetInvalidSchemaPointer().StringifyUriFragment(in_schema);
    std::string text = "keyword \"" + keyword + "\" fails at " + where.GetString() + " (schema " +
                       in_schema.GetString() + ")";
    if (keyword == "allOf") {
      // allOf reports itself only: add the description of each of its rules that fails.
      const rapidjson::Value* value = validator.GetInvalidDocumentPointer().Get(doc);
      const rapidjson::Value* schema = validator.GetInvalidSchemaPointer().Get(document_);
      REQUIRE(value != nullptr);
      REQUIRE(schema != nullptr);
      for (const auto& rule : (*schema)["allOf"].GetArray()) {
        rapidjson::Document alone;  // the rules use no $ref: each stands on its own
        alone.CopyFrom(rule, alone.GetAllocator());
        const rapidjson::SchemaDocument rule_schema(alone);
        rapidjson::SchemaValidator rule_validator(rule_schema);
        if (!value->Accept(rule_validator)) text += std::string(": ") + rule["description"].GetString();
      }
    }
    return text;
  }

 private:
  rapidjson::Document document_;
  std::unique_ptr<rapidjson::SchemaDocument> schema_;
};

const RequestSchema& pagerduty_schema() {
  static const RequestSchema schema("pagerduty-enqueue.schema.json");
  return schema;
}

const RequestSchema& datadog_schema() {
  static const RequestSchema schema("datadog-event-create.schema.json");
  return schema;
}

// ---------------------------------------------------------------------------------------------
// Every event type in every status, with optional parts present and absent.

std::vector<ComponentStatus> all_component_statuses() {
  return {ComponentStatus::operational,
          ComponentStatus::degraded,
          ComponentStatus::partial_outage,
          ComponentStatus::major_outage,
          ComponentStatus::critical,
          ComponentStatus::maintenance,
          ComponentStatus::from_string("under_review")};
}
std::vector<MonitorStatus> all_monitor_statuses() {
  return {MonitorStatus::up, MonitorStatus::down, MonitorStatus::degraded,
          MonitorStatus::from_string("flapping")};
}
std::vector<IncidentStatus> all_incident_statuses() {
  return {IncidentStatus::investigating, IncidentStatus::identified, IncidentStatus::monitoring,
          IncidentStatus::resolved, IncidentStatus::from_string("postmortem")};
}
std::vector<IncidentImpact> all_impacts() {
  return {IncidentImpact::none, IncidentImpact::minor, IncidentImpact::major, IncidentImpact::critical,
          IncidentImpact::from_string("catastrophic")};
}
std::vector<CheckType> all_check_types() {
  return {CheckType::http, CheckType::keyword, CheckType::tcp,       CheckType::ping,
          CheckType::dns,  CheckType::ssl,     CheckType::heartbeat, CheckType::from_string("grpc")};
}

template <class E>
E example_of(EventType type) {
  return std::get<E>(example_event(type));
}

std::vector<Event> every_event() {
  std::vector<Event> events;
  for (const ComponentStatus& current : all_component_statuses()) {
    for (const ComponentStatus& previous : all_component_statuses()) {
      auto e = example_of<ComponentStatusChanged>(EventType::component_status_changed);
      e.component.current_status = current;
      e.component.previous_status = previous;
      if (previous == ComponentStatus::degraded) e.incident.reset();
      events.emplace_back(e);
    }
  }
  for (const MonitorStatus& status : all_monitor_statuses()) {
    for (const CheckType& check : all_check_types()) {
      auto down = example_of<MonitorDown>(EventType::monitor_down);
      down.monitor.status = status;
      down.monitor.type = check;
      auto recovered = example_of<MonitorRecovered>(EventType::monitor_recovered);
      recovered.monitor.status = status;
      recovered.monitor.type = check;
      if (check == CheckType::tcp) {  // the optional parts absent
        for (Monitor* m : {&down.monitor, &recovered.monitor}) {
          m->target = "db.internal:5432";
          m->url.reset();
          m->status_code.reset();
          m->response_time.reset();
          m->region.clear();
        }
        down.incident.reset();
        recovered.incident.reset();
        recovered.downtime.duration = 0s;
      }
      events.emplace_back(down);
      events.emplace_back(recovered);
    }
  }
  for (const IncidentStatus& status : all_incident_statuses()) {
    for (const IncidentImpact& impact : all_impacts()) {
      auto created = example_of<IncidentCreated>(EventType::incident_created);
      auto updated = example_of<IncidentUpdated>(EventType::incident_updated);
      auto resolved = example_of<IncidentResolved>(EventType::incident_resolved);
      for (Incident* i : {&created.incident, &updated.incident, &resolved.incident}) {
        i->status = status;
        i->impact = impact;
        if (impact == IncidentImpact::none) {  // the optional parts absent
          i->components.clear();
          i->latest_update.reset();
          i->url.clear();
        }
      }
      if (impact == IncidentImpact::minor) updated.previous_status.reset();
      events.emplace_back(created);
      events.emplace_back(updated);
      events.emplace_back(resolved);
    }
  }
  auto maintenance = example_of<MaintenanceScheduled>(EventType::maintenance_scheduled);
  events.emplace_back(maintenance);
  maintenance.maintenance.components.clear();
  maintenance.maintenance.description.clear();
  maintenance.maintenance.url.clear();
  events.emplace_back(maintenance);
  return events;
}

std::string pagerduty_body(const Event& event) {
  return format_event(event, pagerduty_settings()).value().body;
}
std::string datadog_body(const Event& event) { return format_event(event, datadog_settings()).value().body; }

std::string string_at(const rapidjson::Value& object, const char* name) {
  REQUIRE(object.HasMember(name));
  REQUIRE(object[name].IsString());
  return {object[name].GetString(), object[name].GetStringLength()};
}

std::string repeat(const std::string& piece, std::size_t times) {
  std::string out;
  for (std::size_t i = 0; i < times; ++i) out += piece;
  return out;
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Schemas and prose limits

TEST_CASE("every event type in every status becomes a PagerDuty event the /enqueue schema accepts",
          "[unit][formats]") {
  const std::vector<Event> events = every_event();
  std::set<EventType> types;
  for (const Event& event : events) {
    types.insert(type_of(event));
    const Result<FormattedRequest> request = format_event(event, pagerduty_settings());
    REQUIRE(request.has_value());
    const std::string& body = request->body;
    INFO("body: " << body);
    CHECK(pagerduty_schema().violations(body).empty());
    CHECK(request->headers.empty());  // the key is in the body; no Authorization header
    CHECK(body.size() <= pagerduty_body_max);

    const rapidjson::Document doc = parse_json(body);
    const PagerDutyMapping mapping = pagerduty_mapping(event);
    CHECK(string_at(doc, "routing_key") == routing_key);
    CHECK(string_at(doc, "event_action") == mapping.action);
    // The prose: dedup_key is required to acknowledge or resolve (we always send it), <= 255.
    const std::string key = string_at(doc, "dedup_key");
    CHECK(key == dedup_key(event));
    CHECK_FALSE(key.empty());
    CHECK(key.size() <= pagerduty_dedup_key_max);
    // A trigger needs payload.summary (<= 1024), source and severity.
    const rapidjson::Value& payload = doc["payload"];
    const std::string summary = string_at(payload, "summary");
    CHECK_FALSE(summary.empty());
    CHECK(summary.size() <= pagerduty_summary_max);
    CHECK(summary.find('\n') == std::string::npos);
    CHECK_FALSE(string_at(payload, "source").empty());
    CHECK(string_at(payload, "severity") == mapping.severity);
    CHECK(string_at(payload, "timestamp") == format_rfc3339(timestamp_of(event)));
    CHECK(string_at(payload, "class") == to_string(type_of(event)));
    CHECK(string_at(payload, "group") == "Production Infrastructure");
    // custom_details carries the original event, which parses back to the same event.
    REQUIRE(payload.HasMember("custom_details"));
    const Result<Event> original = parse_event(text_of(payload["custom_details"]));
    REQUIRE(original.has_value());
    CHECK(to_json(*original) == to_json(event));
  }
  CHECK(types.size() == all_event_types.size());
}

TEST_CASE("every event type in every status becomes a Datadog event the EventCreateRequest schema accepts",
          "[unit][formats]") {
  const std::vector<Event> events = every_event();
  for (const Event& event : events) {
    const Result<FormattedRequest> request = format_event(event, datadog_settings());
    REQUIRE(request.has_value());
    const std::string& body = request->body;
    INFO("body: " << body);
    CHECK(datadog_schema().violations(body).empty());
    REQUIRE(request->headers.size() == 1);
    CHECK(request->headers[0].name == "DD-API-KEY");
    CHECK(request->headers[0].value == api_key);

    const rapidjson::Document doc = parse_json(body);
    const DatadogMapping mapping = datadog_mapping(event);
    const std::string title = string_at(doc, "title");
    CHECK_FALSE(title.empty());
    CHECK(title.size() <= datadog_title_max);
    const std::string text = string_at(doc, "text");
    CHECK(text.size() <= datadog_text_max);
    CHECK(text.rfind("%%% \n", 0) == 0);
    CHECK(ends_with(text, "\n %%%"));
    CHECK(string_at(doc, "alert_type") == mapping.alert_type);
    CHECK(string_at(doc, "priority") == mapping.priority);
    // date_happened: a JSON integer of seconds, not a string.
    REQUIRE(doc["date_happened"].IsInt64());
    CHECK(doc["date_happened"].GetInt64() == timestamp_of(event).unix_seconds());
    const std::string aggregation = string_at(doc, "aggregation_key");
    CHECK(aggregation == aggregation_key(event));
    CHECK(aggregation.size() <= datadog_aggregation_key_max);
    CHECK(string_at(doc, "source_type_name") == "statusstack");
    std::set<std::string> tags;
    for (const auto& tag : doc["tags"].GetArray()) {
      const std::string t = tag.GetString();
      CHECK(t.size() <= datadog_tag_max);
      CHECK(t.find(' ') == std::string::npos);
      tags.insert(t);
    }
    CHECK(tags.count("source:statusstack") == 1);
    CHECK(tags.count("stack:production") == 1);
    CHECK(tags.count(std::string("event:") + to_string(type_of(event))) == 1);
  }
}

namespace {

// `body` with the value at the JSON Pointer `pointer` replaced by (or set to) the JSON `value`, or
// removed when `value` is empty.
std::string edited(const std::string& body, const char* pointer, const std::string& value = {}) {
  rapidjson::Document doc = parse_json(body);
  const rapidjson::Pointer where(pointer);
  REQUIRE(where.IsValid());
  if (value.empty()) {
    REQUIRE(where.Erase(doc));
  } else {
    rapidjson::Document parsed;
    parsed.Parse(value.data(), value.size());
    REQUIRE_FALSE(parsed.HasParseError());
    rapidjson::Value copy(parsed, doc.GetAllocator());
    where.Set(doc, copy);
  }
  return text_of(doc);
}

std::string quoted(const std::string& text) {
  return text_of(rapidjson::Value(text.data(), static_cast<rapidjson::SizeType>(text.size())));
}

// A request body, what was done to it, and what the schema says of it ("" when it conforms).
struct BodyCase {
  std::string what;
  std::string body;
  std::string violation;
};

bool names_an_unknown_field(const BodyCase& c) {
  return c.violation.rfind("keyword \"additionalProperties\"", 0) == 0;
}

// Formatted PagerDuty bodies, and each of them broken in one way the vendor refuses.
std::vector<BodyCase> pagerduty_cases() {
  const std::string trigger = pagerduty_body(example_event(EventType::monitor_down));
  const std::string resolve = pagerduty_body(example_event(EventType::monitor_recovered));
  REQUIRE(trigger.find(R"("event_action":"trigger")") != std::string::npos);
  REQUIRE(resolve.find(R"("event_action":"resolve")") != std::string::npos);
  const std::string payload = "(schema #/definitions/payload)";
  const std::string needs_dedup_key = "acknowledge and resolve need a dedup_key, not empty, naming the alert";
  const std::string needs_payload = "a trigger needs a payload";
  std::vector<BodyCase> cases;
  cases.reserve(all_event_types.size() + 30);
  for (const EventType type : all_event_types) {
    cases.push_back(
        {std::string("as formatted: ") + to_string(type), pagerduty_body(example_event(type)), ""});
  }
  cases.push_back({"a resolve without a payload", edited(resolve, "/payload"), ""});
  cases.push_back({"a trigger without a dedup_key", edited(trigger, "/dedup_key"), ""});
  cases.push_back(
      {"a 255-character dedup_key", edited(trigger, "/dedup_key", quoted(std::string(255, 'k'))), ""});
  cases.push_back(
      {"a 1024-character summary", edited(trigger, "/payload/summary", quoted(std::string(1024, 's'))), ""});
  cases.push_back(
      {"no routing_key", edited(trigger, "/routing_key"), "keyword \"required\" fails at # (schema #)"});
  cases.push_back({"a 31-character routing_key",
                   edited(trigger, "/routing_key", quoted(std::string(31, 'r'))),
                   "keyword \"minLength\" fails at #/routing_key (schema #/properties/routing_key)"});
  cases.push_back({"a 33-character routing_key",
                   edited(trigger, "/routing_key", quoted(std::string(33, 'r'))),
                   "keyword \"maxLength\" fails at #/routing_key (schema #/properties/routing_key)"});
  cases.push_back(
      {"no event_action", edited(trigger, "/event_action"), "keyword \"required\" fails at # (schema #)"});
  cases.push_back({"event_action open", edited(trigger, "/event_action", R"("open")"),
                   "keyword \"enum\" fails at #/event_action (schema #/properties/event_action)"});
  cases.push_back({"a 256-character dedup_key", edited(trigger, "/dedup_key", quoted(std::string(256, 'k'))),
                   "keyword \"maxLength\" fails at #/dedup_key (schema #/properties/dedup_key)"});
  cases.push_back({"a resolve without a dedup_key", edited(resolve, "/dedup_key"),
                   "keyword \"allOf\" fails at # (schema #): " + needs_dedup_key});
  cases.push_back({"a resolve with an empty dedup_key", edited(resolve, "/dedup_key", R"("")"),
                   "keyword \"allOf\" fails at # (schema #): " + needs_dedup_key});
  cases.push_back({"a trigger without a payload", edited(trigger, "/payload"),
                   "keyword \"allOf\" fails at # (schema #): " + needs_payload});
  cases.push_back({"no summary", edited(trigger, "/payload/summary"),
                   "keyword \"required\" fails at #/payload " + payload});
  cases.push_back(
      {"an empty summary", edited(trigger, "/payload/summary", R"("")"),
       "keyword \"minLength\" fails at #/payload/summary (schema #/definitions/payload/properties/summary)"});
  cases.push_back(
      {"a 1025-character summary", edited(trigger, "/payload/summary", quoted(std::string(1025, 's'))),
       "keyword \"maxLength\" fails at #/payload/summary (schema #/definitions/payload/properties/summary)"});
  cases.push_back({"no source", edited(trigger, "/payload/source"),
                   "keyword \"required\" fails at #/payload " + payload});
  cases.push_back({"no severity", edited(trigger, "/payload/severity"),
                   "keyword \"required\" fails at #/payload " + payload});
  cases.push_back(
      {"severity fatal", edited(trigger, "/payload/severity", R"("fatal")"),
       "keyword \"enum\" fails at #/payload/severity (schema #/definitions/payload/properties/severity)"});
  cases.push_back(
      {"a numeric timestamp", edited(trigger, "/payload/timestamp", "1737282582"),
       "keyword \"type\" fails at #/payload/timestamp (schema #/definitions/payload/properties/timestamp)"});
  cases.push_back({"custom_details as a string", edited(trigger, "/payload/custom_details", R"("text")"),
                   "keyword \"type\" fails at #/payload/custom_details (schema "
                   "#/definitions/payload/properties/custom_details)"});
  cases.push_back({"a link without href", edited(trigger, "/links", R"([{"text":"no target"}])"),
                   "keyword \"required\" fails at #/links/0 (schema #/definitions/link)"});
  // Names the vendor does not define: it ignores them, our schema refuses them (a misspelling).
  cases.push_back({"dedupkey for dedup_key", edited(edited(trigger, "/dedup_key"), "/dedupkey", R"("k")"),
                   "keyword \"additionalProperties\" fails at #/dedupkey (schema #)"});
  cases.push_back({"payload.groups for group",
                   edited(edited(trigger, "/payload/group"), "/payload/groups", R"("g")"),
                   "keyword \"additionalProperties\" fails at #/payload/groups " + payload});
  return cases;
}

// Formatted Datadog bodies, and each of them broken in one way the vendor refuses.
std::vector<BodyCase> datadog_cases() {
  const std::string body = datadog_body(example_event(EventType::monitor_down));
  std::vector<BodyCase> cases;
  cases.reserve(all_event_types.size() + 30);
  for (const EventType type : all_event_types) {
    cases.push_back({std::string("as formatted: ") + to_string(type), datadog_body(example_event(type)), ""});
  }
  cases.push_back({"a null priority", edited(body, "/priority", "null"), ""});
  cases.push_back({"a 4000-character text", edited(body, "/text", quoted(std::string(4000, 't'))), ""});
  cases.push_back({"only title and text", R"({"title":"t","text":"x"})", ""});
  cases.push_back({"no title", edited(body, "/title"), "keyword \"required\" fails at # (schema #)"});
  cases.push_back({"no text", edited(body, "/text"), "keyword \"required\" fails at # (schema #)"});
  cases.push_back({"a numeric title", edited(body, "/title", "7"),
                   "keyword \"type\" fails at #/title (schema #/properties/title)"});
  cases.push_back({"a 4001-character text", edited(body, "/text", quoted(std::string(4001, 't'))),
                   "keyword \"maxLength\" fails at #/text (schema #/properties/text)"});
  cases.push_back({"a 101-character aggregation_key",
                   edited(body, "/aggregation_key", quoted(std::string(101, 'a'))),
                   "keyword \"maxLength\" fails at #/aggregation_key (schema #/properties/aggregation_key)"});
  cases.push_back({"alert_type critical", edited(body, "/alert_type", R"("critical")"),
                   "keyword \"enum\" fails at #/alert_type (schema #/properties/alert_type)"});
  cases.push_back({"priority high", edited(body, "/priority", R"("high")"),
                   "keyword \"enum\" fails at #/priority (schema #/properties/priority)"});
  cases.push_back({"date_happened as a string", edited(body, "/date_happened", R"("1737282582")"),
                   "keyword \"type\" fails at #/date_happened (schema #/properties/date_happened)"});
  cases.push_back({"related_event_id as a string", edited(body, "/related_event_id", R"("12")"),
                   "keyword \"type\" fails at #/related_event_id (schema #/properties/related_event_id)"});
  cases.push_back({"a numeric tag", edited(body, "/tags/0", "1"),
                   "keyword \"type\" fails at #/tags/0 (schema #/properties/tags/items)"});
  cases.push_back({"a numeric host", edited(body, "/host", "1"),
                   "keyword \"type\" fails at #/host (schema #/properties/host)"});
  // A name the vendor does not define: it ignores it, our schema refuses it (a misspelling).
  cases.push_back({"hostname for host", edited(body, "/hostname", R"("db1")"),
                   "keyword \"additionalProperties\" fails at #/hostname (schema #)"});
  return cases;
}

}  // namespace

TEST_CASE("the request schemas refuse a missing key, a bad enum value, an over-long text and an unknown name",
          "[unit][formats]") {
  for (const BodyCase& c : pagerduty_cases()) {
    INFO("PagerDuty, " << c.what << ": " << c.body.substr(0, 300));
    CHECK(pagerduty_schema().violations(c.body) == c.violation);
  }
  for (const BodyCase& c : datadog_cases()) {
    INFO("Datadog, " << c.what << ": " << c.body.substr(0, 300));
    CHECK(datadog_schema().violations(c.body) == c.violation);
  }
}

TEST_CASE("the statusstack format is the event's own JSON, with no headers", "[unit][formats]") {
  for (const EventType type : all_event_types) {
    const Event event = example_event(type);
    const Result<FormattedRequest> request = format_event(event, FormatSettings{});
    REQUIRE(request.has_value());
    CHECK(request->body == to_json(event));
    CHECK(request->headers.empty());
  }
}

TEST_CASE("format_event with the event's JSON given gives the same request", "[unit][formats]") {
  for (const EventType type : all_event_types) {
    const Event event = example_event(type);
    const std::string json = to_json(event);
    for (const FormatSettings& settings : {FormatSettings{}, pagerduty_settings(), datadog_settings()}) {
      CHECK(format_event(event, settings, json).value().body == format_event(event, settings).value().body);
    }
  }
}

// ---------------------------------------------------------------------------------------------
// The mapping table (docs/integrations.md)

namespace {

struct Row {
  Event event;
  std::string action, severity, alert_type, priority;
};

ComponentStatusChanged component_to(ComponentStatus status) {
  auto e = example_of<ComponentStatusChanged>(EventType::component_status_changed);
  e.component.current_status = status;
  return e;
}
MonitorDown monitor_down(MonitorStatus status) {
  auto e = example_of<MonitorDown>(EventType::monitor_down);
  e.monitor.status = status;
  return e;
}
MonitorRecovered monitor_recovered(MonitorStatus status) {
  auto e = example_of<MonitorRecovered>(EventType::monitor_recovered);
  e.monitor.status = status;
  return e;
}
template <class E>
E incident(EventType type, IncidentStatus status, IncidentImpact impact) {
  auto e = example_of<E>(type);
  e.incident.status = status;
  e.incident.impact = impact;
  return e;
}

}  // namespace

TEST_CASE("each event type and status maps to the documented action, severity, alert type and priority",
          "[unit][formats]") {
  using IS = IncidentStatus;
  using II = IncidentImpact;
  const EventType created = EventType::incident_created;
  const EventType updated = EventType::incident_updated;
  const EventType resolved = EventType::incident_resolved;
  const std::vector<Row> table{
      {component_to(ComponentStatus::operational), "resolve", "info", "success", "normal"},
      {component_to(ComponentStatus::degraded), "trigger", "warning", "warning", "normal"},
      {component_to(ComponentStatus::partial_outage), "trigger", "error", "error", "normal"},
      {component_to(ComponentStatus::major_outage), "trigger", "critical", "error", "normal"},
      {component_to(ComponentStatus::critical), "trigger", "critical", "error", "normal"},
      {component_to(ComponentStatus::maintenance), "acknowledge", "info", "info", "low"},
      {component_to(ComponentStatus::from_string("under_review")), "trigger", "warning", "warning", "normal"},
      {monitor_down(MonitorStatus::down), "trigger", "critical", "error", "normal"},
      {monitor_down(MonitorStatus::degraded), "trigger", "warning", "warning", "normal"},
      {monitor_down(MonitorStatus::up), "trigger", "critical", "error", "normal"},
      {monitor_down(MonitorStatus::from_string("flapping")), "trigger", "critical", "error", "normal"},
      {monitor_recovered(MonitorStatus::up), "resolve", "info", "success", "normal"},
      {monitor_recovered(MonitorStatus::degraded), "resolve", "info", "success", "normal"},
      {incident<IncidentCreated>(created, IS::investigating, II::critical), "trigger", "critical", "error",
       "normal"},
      {incident<IncidentCreated>(created, IS::identified, II::major), "trigger", "error", "error", "normal"},
      {incident<IncidentCreated>(created, IS::monitoring, II::minor), "trigger", "warning", "warning",
       "normal"},
      {incident<IncidentCreated>(created, IS::investigating, II::none), "trigger", "info", "info", "low"},
      {incident<IncidentCreated>(created, IS::investigating, II::from_string("catastrophic")), "trigger",
       "warning", "warning", "normal"},
      {incident<IncidentCreated>(created, IS::resolved, II::major), "resolve", "info", "success", "normal"},
      {incident<IncidentCreated>(created, IS::from_string("postmortem"), II::major), "trigger", "error",
       "error", "normal"},
      {incident<IncidentUpdated>(updated, IS::investigating, II::major), "trigger", "error", "error",
       "normal"},
      {incident<IncidentUpdated>(updated, IS::identified, II::critical), "trigger", "critical", "error",
       "normal"},
      {incident<IncidentUpdated>(updated, IS::monitoring, II::major), "acknowledge", "error", "error",
       "normal"},
      {incident<IncidentUpdated>(updated, IS::monitoring, II::none), "acknowledge", "info", "info", "low"},
      {incident<IncidentUpdated>(updated, IS::resolved, II::major), "resolve", "info", "success", "normal"},
      {incident<IncidentUpdated>(updated, IS::from_string("postmortem"), II::minor), "trigger", "warning",
       "warning", "normal"},
      {incident<IncidentResolved>(resolved, IS::resolved, II::critical), "resolve", "info", "success",
       "normal"},
      {incident<IncidentResolved>(resolved, IS::investigating, II::major), "resolve", "info", "success",
       "normal"},
      {example_event(EventType::maintenance_scheduled), "trigger", "info", "info", "low"},
  };
  for (const Row& row : table) {
    INFO(to_json(row.event));
    const PagerDutyMapping pd = pagerduty_mapping(row.event);
    CHECK(pd.action == row.action);
    CHECK(pd.severity == row.severity);
    const DatadogMapping dd = datadog_mapping(row.event);
    CHECK(dd.alert_type == row.alert_type);
    CHECK(dd.priority == row.priority);
  }
}

// ---------------------------------------------------------------------------------------------
// Keys

TEST_CASE("a trigger and the later resolve of the same thing share one dedup_key", "[unit][formats]") {
  SECTION("a component going down and back to operational") {
    const Event down = component_to(ComponentStatus::major_outage);
    auto back = component_to(ComponentStatus::operational);
    back.component.previous_status = ComponentStatus::major_outage;
    back.component.name = "Production API (renamed meanwhile)";
    back.incident.reset();
    back.timestamp = Timestamp::from_unix_seconds(1800000000);
    CHECK(pagerduty_mapping(down).action == "trigger");
    CHECK(pagerduty_mapping(back).action == "resolve");
    CHECK(dedup_key(down) == dedup_key(back));
    CHECK(dedup_key(down) == "statusstack:stack_abc123:component:comp_xyz789");
    CHECK(aggregation_key(down) == aggregation_key(back));
  }
  SECTION("monitor.down and monitor.recovered") {
    const Event down = example_event(EventType::monitor_down);
    const Event recovered = example_event(EventType::monitor_recovered);
    CHECK(pagerduty_mapping(down).action == "trigger");
    CHECK(pagerduty_mapping(recovered).action == "resolve");
    CHECK(dedup_key(down) == dedup_key(recovered));
    CHECK(dedup_key(down) == "statusstack:stack_abc123:monitor:mon_7f3k9q");
  }
  SECTION("incident.created, incident.updated and incident.resolved") {
    const Event created = example_event(EventType::incident_created);
    const Event updated = example_event(EventType::incident_updated);
    const Event resolved = example_event(EventType::incident_resolved);
    CHECK(dedup_key(created) == "statusstack:stack_abc123:incident:inc_123");
    CHECK(dedup_key(updated) == dedup_key(created));
    CHECK(dedup_key(resolved) == dedup_key(created));
    CHECK(pagerduty_mapping(resolved).action == "resolve");
  }
}

TEST_CASE("different things get different keys", "[unit][formats]") {
  auto a = component_to(ComponentStatus::critical);
  auto b = a;
  b.component.id = "comp_other";
  CHECK(dedup_key(a) != dedup_key(b));
  auto other_stack = a;
  other_stack.stack.id = "stack_other";
  CHECK(dedup_key(a) != dedup_key(other_stack));
  // The same id as a monitor and as a component are different things.
  auto monitor = monitor_down(MonitorStatus::down);
  monitor.monitor.id = a.component.id;
  CHECK(dedup_key(a) != dedup_key(monitor));
  // ':' and '%' inside ids are escaped, so ids cannot imitate the key's structure.
  auto tricky = a;
  tricky.stack.id = "stack_abc123:component";
  tricky.component.id = "x";
  auto plain = a;
  plain.stack.id = "stack_abc123";
  plain.component.id = "component:x";
  CHECK(dedup_key(tricky) != dedup_key(plain));
  CHECK(dedup_key(tricky) == "statusstack:stack_abc123%3Acomponent:component:x");
  auto percent = a;
  percent.component.id = "50%3A";
  CHECK(dedup_key(percent) == "statusstack:stack_abc123:component:50%253A");
}

TEST_CASE("keys too long for the vendor become a hash of the whole key", "[unit][formats]") {
  auto medium = component_to(ComponentStatus::critical);
  medium.component.id = std::string(120, 'c');  // fits 255, not 100
  CHECK(dedup_key(medium) == "statusstack:stack_abc123:component:" + std::string(120, 'c'));
  const std::string hashed = aggregation_key(medium);
  CHECK(hashed.size() == 83);
  CHECK(hashed.rfind("statusstack:sha256:", 0) == 0);
  CHECK(hashed.find_first_not_of("0123456789abcdef", 19) == std::string::npos);

  auto huge = medium;
  huge.component.id = std::string(400, 'c');
  CHECK(dedup_key(huge).size() == 83);
  CHECK(dedup_key(huge) == aggregation_key(huge));
  auto huge_too = huge;
  huge_too.component.id.back() = 'd';
  CHECK(dedup_key(huge) != dedup_key(huge_too));
  CHECK(dedup_key(huge) == dedup_key(Event(huge)));  // stable
  // The digest is SHA-256 of the unbounded key.
  CHECK(dedup_key(huge) != aggregation_key(medium));

  const std::string body = pagerduty_body(huge);
  CHECK(pagerduty_schema().violations(body).empty());
  CHECK(datadog_schema().violations(datadog_body(huge)).empty());
}

TEST_CASE("the sha256 in a hashed key is that of the full key", "[integration][formats]") {
  // sha256("statusstack:s:component:" + 300 x 'a'), computed independently with coreutils.
  auto e = component_to(ComponentStatus::critical);
  e.stack.id = "s";
  e.component.id = std::string(300, 'a');
  TempDir dir;
  const std::string file = dir.write("key", "statusstack:s:component:" + std::string(300, 'a'));
  const ProcessResult sum = run_process({"sha256sum", file});
  REQUIRE(sum.exit_code == 0);
  CHECK(dedup_key(e) == "statusstack:sha256:" + sum.out.substr(0, 64));
}

// ---------------------------------------------------------------------------------------------
// Limits on texts

TEST_CASE("a long summary is cut to 1024 bytes on a UTF-8 boundary with an ellipsis", "[unit][formats]") {
  for (const std::string& piece : {std::string("a"), std::string("\xC3\xA9"), std::string("\xE6\x97\xA5"),
                                   std::string("\xF0\x9F\x9A\x80")}) {
    auto e = component_to(ComponentStatus::critical);
    e.component.name = repeat(piece, 3000);
    const rapidjson::Document doc = parse_json(pagerduty_body(e));
    const std::string summary = string_at(doc["payload"], "summary");
    INFO("piece of " << piece.size() << " bytes");
    CHECK(summary.size() <= pagerduty_summary_max);
    CHECK(summary.size() > pagerduty_summary_max - 3 - piece.size());  // cut as late as it could be
    CHECK(ends_with(summary, "\xE2\x80\xA6"));
    CHECK(valid_utf8(summary));
    CHECK(summary.rfind("[Production Infrastructure] " + piece, 0) == 0);
    // The other payload fields are bounded too.
    CHECK(string_at(doc["payload"], "component").size() <= pagerduty_field_max);
    CHECK(pagerduty_schema().violations(pagerduty_body(e)).empty());
  }
}

TEST_CASE("a short summary is not cut", "[unit][formats]") {
  auto e = component_to(ComponentStatus::critical);
  e.component.name = std::string(
      1024 - std::string("[Production Infrastructure]  is critical (was operational)").size(), 'n');
  const std::string summary = string_at(parse_json(pagerduty_body(e))["payload"], "summary");
  CHECK(summary.size() == 1024);
  CHECK(summary.find("\xE2\x80\xA6") == std::string::npos);
  e.component.name += "n";
  const std::string cut = string_at(parse_json(pagerduty_body(e))["payload"], "summary");
  CHECK(cut.size() == 1024);
  CHECK(ends_with(cut, "\xE2\x80\xA6"));
}

TEST_CASE("a long Datadog text is cut to 4000 bytes inside its markdown markers", "[unit][formats]") {
  for (const std::string& piece :
       {std::string("x"), std::string("\xC3\xA9"), std::string("\xF0\x9F\x94\xA5")}) {
    auto e = example_of<IncidentUpdated>(EventType::incident_updated);
    e.incident.latest_update->message = repeat(piece, 5000);
    e.incident.title = repeat(piece, 500);
    const std::string body = datadog_body(e);
    const rapidjson::Document doc = parse_json(body);
    const std::string text = string_at(doc, "text");
    INFO("piece of " << piece.size() << " bytes");
    CHECK(text.size() <= datadog_text_max);
    CHECK(text.size() > datadog_text_max - 3 - piece.size());
    CHECK(ends_with(text, "\xE2\x80\xA6\n %%%"));
    CHECK(valid_utf8(text));
    const std::string title = string_at(doc, "title");
    CHECK(title.size() <= datadog_title_max);
    CHECK(ends_with(title, "\xE2\x80\xA6"));
    CHECK(valid_utf8(title));
    CHECK(datadog_schema().violations(body).empty());
  }
}

TEST_CASE("a Datadog text cut where only newlines follow still says it was cut", "[unit][formats]") {
  auto e = example_of<MaintenanceScheduled>(EventType::maintenance_scheduled);
  e.maintenance.description = "start" + std::string(6000, '\n') + "hidden";
  const std::string text = string_at(parse_json(datadog_body(e)), "text");
  CHECK(text.size() <= datadog_text_max);
  CHECK(ends_with(text, "start\xE2\x80\xA6\n %%%"));
  e.maintenance.description = "fits";
  CHECK(ends_with(string_at(parse_json(datadog_body(e)), "text"),
                  "maint_456\n- Maintenance on the status page: "
                  "https://status.example.com/maintenance/maint_456\n %%%"));
}

TEST_CASE("text from the event cannot end Datadog's markdown block early", "[unit][formats]") {
  auto e = example_of<IncidentUpdated>(EventType::incident_updated);
  e.incident.latest_update->message = "before\n %%%\nafter %%%% end";
  const std::string text = string_at(parse_json(datadog_body(e)), "text");
  CHECK(text.find("%%%", 3) == text.size() - 3);  // only the opening and closing markers
}

TEST_CASE("invalid UTF-8 and control characters in the event give valid bodies", "[unit][formats]") {
  auto e = example_of<IncidentCreated>(EventType::incident_created);
  e.stack.name = "bad \xC3 stack\n\t";
  e.incident.title = std::string("ti\xFFtle with \x01 NUL \0 inside", 26);
  e.incident.id = "inc\xE2\x82";
  e.incident.components[0].name = "\xED\xA0\x80 surrogate";
  for (const std::string& body : {pagerduty_body(e), datadog_body(e)}) {
    parse_json(body);  // valid JSON, valid UTF-8
  }
  const rapidjson::Document pd = parse_json(pagerduty_body(e));
  const std::string summary = string_at(pd["payload"], "summary");
  CHECK(summary.find('\n') == std::string::npos);
  CHECK(summary.find('\x01') == std::string::npos);
  CHECK(summary.find("\xEF\xBF\xBD") != std::string::npos);
  CHECK(valid_utf8(string_at(pd, "dedup_key")));
  CHECK(pagerduty_schema().violations(pagerduty_body(e)).empty());
  CHECK(datadog_schema().violations(datadog_body(e)).empty());
}

TEST_CASE("an event too big for PagerDuty's 512 KB keeps the body under it", "[unit][formats]") {
  auto e = example_of<MaintenanceScheduled>(EventType::maintenance_scheduled);
  e.maintenance.description = std::string(600 * 1024, 'd');
  const std::string body = pagerduty_body(e);
  CHECK(body.size() <= pagerduty_body_max);
  const rapidjson::Document doc = parse_json(body);
  const rapidjson::Value& details = doc["payload"]["custom_details"];
  CHECK(string_at(details, "event") == "maintenance.scheduled");
  CHECK(string_at(details, "maintenance_id") == "maint_456");
  CHECK(string_at(details, "omitted").find("614") != std::string::npos);
  CHECK(pagerduty_schema().violations(body).empty());
  CHECK(datadog_body(e).size() < 8 * 1024);
}

TEST_CASE("links go to the incident, monitor or maintenance page when the event has one", "[unit][formats]") {
  const rapidjson::Document incident = parse_json(pagerduty_body(example_event(EventType::incident_created)));
  REQUIRE(incident.HasMember("links"));
  CHECK(string_at(incident["links"][0], "href") == "https://status.example.com/incidents/inc_123");
  CHECK(string_at(incident, "client_url") == "https://status.example.com/incidents/inc_123");
  CHECK(string_at(incident, "client") == "StatusStack");
  const rapidjson::Document component =
      parse_json(pagerduty_body(example_event(EventType::component_status_changed)));
  CHECK_FALSE(component.HasMember("links"));
  auto bad_url = example_of<IncidentCreated>(EventType::incident_created);
  bad_url.incident.url = "javascript:alert(1)";
  CHECK_FALSE(parse_json(pagerduty_body(bad_url)).HasMember("links"));
}

TEST_CASE("the PagerDuty source is the monitor's target, else the stack", "[unit][formats]") {
  CHECK(string_at(parse_json(pagerduty_body(example_event(EventType::monitor_down)))["payload"], "source") ==
        "https://api.example.com/health");
  CHECK(string_at(parse_json(pagerduty_body(example_event(EventType::incident_created)))["payload"],
                  "source") == "production");
  auto no_slug = example_of<IncidentCreated>(EventType::incident_created);
  no_slug.stack.slug.clear();
  CHECK(string_at(parse_json(pagerduty_body(no_slug))["payload"], "source") == "stack_abc123");
}

TEST_CASE("summaries and titles read as documented", "[unit][formats]") {
  const auto summary = [](const Event& e) {
    return string_at(parse_json(pagerduty_body(e))["payload"], "summary");
  };
  const auto title = [](const Event& e) { return string_at(parse_json(datadog_body(e)), "title"); };
  CHECK(summary(example_event(EventType::component_status_changed)) ==
        "[Production Infrastructure] Production API is critical (was operational)");
  CHECK(title(component_to(ComponentStatus::partial_outage)) ==
        "Production API is partial outage (was operational)");
  CHECK(summary(example_event(EventType::monitor_down)) ==
        "[Production Infrastructure] Production API health is down: expected HTTP 200, got 503 Service "
        "Unavailable");
  CHECK(title(example_event(EventType::monitor_recovered)) ==
        "Production API health recovered after 42m 23s");
  CHECK(title(example_event(EventType::incident_created)) ==
        "Incident opened: Elevated error rates on the Production API (investigating, major impact)");
  CHECK(title(incident<IncidentUpdated>(EventType::incident_updated, IncidentStatus::monitoring,
                                        IncidentImpact::none)) ==
        "Incident updated: Elevated error rates on the Production API (monitoring, no impact)");
  CHECK(title(example_event(EventType::incident_resolved)) ==
        "Incident resolved: Elevated error rates on the Production API (major impact)");
  CHECK(
      summary(example_event(EventType::maintenance_scheduled)) ==
      "[Production Infrastructure] Maintenance scheduled: Primary database upgrade (2025-01-26T02:00:00Z to "
      "2025-01-26T04:00:00Z)");
}

TEST_CASE("Datadog tags are lowercase key:value pairs of the event's ids and statuses", "[unit][formats]") {
  auto e = example_of<IncidentCreated>(EventType::incident_created);
  e.incident.id = "INC 42,x";
  const rapidjson::Document doc = parse_json(datadog_body(e));
  std::vector<std::string> tags;
  for (const auto& tag : doc["tags"].GetArray()) tags.emplace_back(tag.GetString());
  CHECK(tags == std::vector<std::string>{"source:statusstack", "event:incident.created", "stack:production",
                                         "incident:inc_42_x", "status:investigating", "impact:major",
                                         "component:comp_xyz789"});
  auto many = example_of<MaintenanceScheduled>(EventType::maintenance_scheduled);
  many.maintenance.components.assign(50, ComponentRef{"comp", "Component"});
  const rapidjson::Document many_doc = parse_json(datadog_body(many));
  CHECK(many_doc["tags"].Size() == 3 + 1 + 20);  // at most 20 component tags
}

// ---------------------------------------------------------------------------------------------
// Settings, names, URLs

TEST_CASE("format and site names parse and print", "[unit][formats]") {
  CHECK(parse_format("pagerduty") == Format::pagerduty);
  CHECK(parse_format("DataDog") == Format::datadog);
  CHECK(parse_format("statusstack") == Format::statusstack);
  CHECK_FALSE(parse_format("opsgenie").has_value());
  CHECK_FALSE(parse_format("").has_value());
  for (const Format f : {Format::statusstack, Format::pagerduty, Format::datadog})
    CHECK(parse_format(to_string(f)) == f);

  CHECK(parse_datadog_site("US1") == DatadogSite::us1);
  CHECK(parse_datadog_site("us3") == DatadogSite::us3);
  CHECK(parse_datadog_site("Us5") == DatadogSite::us5);
  CHECK(parse_datadog_site("EU") == DatadogSite::eu);
  CHECK(parse_datadog_site("ap1") == DatadogSite::ap1);
  CHECK(parse_datadog_site("US1-FED") == DatadogSite::us1_fed);
  CHECK(parse_datadog_site("us1_fed") == DatadogSite::us1_fed);
  CHECK(parse_datadog_site("datadoghq.eu") == DatadogSite::eu);
  CHECK(parse_datadog_site("ddog-gov.com") == DatadogSite::us1_fed);
  CHECK_FALSE(parse_datadog_site("US2").has_value());
  CHECK_FALSE(parse_datadog_site("US1-FEDX").has_value());
  CHECK_FALSE(parse_datadog_site("").has_value());
  for (const DatadogSite s : {DatadogSite::us1, DatadogSite::us3, DatadogSite::us5, DatadogSite::eu,
                              DatadogSite::ap1, DatadogSite::us1_fed}) {
    CHECK(parse_datadog_site(to_string(s)) == s);
  }
}

TEST_CASE("the Datadog site chooses the API host", "[unit][formats]") {
  CHECK(datadog_events_url(DatadogSite::us1) == "https://api.datadoghq.com/api/v1/events");
  CHECK(datadog_events_url(DatadogSite::us3) == "https://api.us3.datadoghq.com/api/v1/events");
  CHECK(datadog_events_url(DatadogSite::us5) == "https://api.us5.datadoghq.com/api/v1/events");
  CHECK(datadog_events_url(DatadogSite::eu) == "https://api.datadoghq.eu/api/v1/events");
  CHECK(datadog_events_url(DatadogSite::ap1) == "https://api.ap1.datadoghq.com/api/v1/events");
  CHECK(datadog_events_url(DatadogSite::us1_fed) == "https://api.ddog-gov.com/api/v1/events");

  FormatSettings settings = datadog_settings();
  std::get<DatadogFormat>(settings).site = DatadogSite::eu;
  CHECK(default_url(settings) == "https://api.datadoghq.eu/api/v1/events");
  CHECK(default_url(pagerduty_settings()) == "https://events.pagerduty.com/v2/enqueue");
  CHECK(default_url(FormatSettings{}).empty());
  CHECK(formats::profile_of(Format::pagerduty).events_per_minute == 120);
  CHECK(formats::profile_of(Format::datadog).events_per_minute == 0);
  CHECK(formats::profile_of(Format::statusstack).events_per_minute == 0);
}

TEST_CASE("format settings are checked, and the errors name the field", "[unit][formats]") {
  const auto error_of = [](const FormatSettings& s) {
    const Result<void> r = validate_format_settings(s);
    return r ? std::string("ok") : r.error().field + " | " + r.error().message;
  };
  CHECK(error_of(FormatSettings{}) == "ok");
  CHECK(error_of(pagerduty_settings()) == "ok");
  CHECK(error_of(datadog_settings()) == "ok");

  FormatSettings pd = pagerduty_settings();
  std::get<PagerDutyFormat>(pd).routing_key.clear();
  CHECK(error_of(pd) ==
        "routing_key | routing_key: the pagerduty format needs the integration key of an Events API v2 "
        "integration");
  CHECK(validate_format_settings(pd).error().code == ErrorCode::missing_field);
  std::get<PagerDutyFormat>(pd).routing_key = "short";
  CHECK(error_of(pd) ==
        "routing_key | routing_key: must be 32 characters (a PagerDuty integration key), got 5");
  std::get<PagerDutyFormat>(pd).routing_key = "e93facc04764012d7bfb002500d5d1a ";
  CHECK(error_of(pd) ==
        "routing_key | routing_key: must be letters and digits only (a PagerDuty integration key)");
  std::get<PagerDutyFormat>(pd).routing_key = routing_key;
  CHECK(error_of(pd) == "ok");

  FormatSettings dd = datadog_settings();
  std::get<DatadogFormat>(dd).api_key.clear();
  CHECK(error_of(dd) ==
        "api_key | api_key: the datadog format needs an API key (sent as the DD-API-KEY header)");
  std::get<DatadogFormat>(dd).api_key = "key\r\nX-Injected: 1";
  CHECK(error_of(dd) ==
        "api_key | api_key: must be visible ASCII without spaces (it is sent as the DD-API-KEY header)");
  std::get<DatadogFormat>(dd).api_key = api_key;
  std::get<DatadogFormat>(dd).site = static_cast<DatadogSite>(17);
  CHECK(error_of(dd) == "site | site: not a DatadogSite value");
  CHECK(error_of(FormatSettings{}) == "ok");
}

TEST_CASE("settings from loose fields take only the keys their format uses", "[unit][formats]") {
  // What a rules file or the command line gives, key by key: the profile says which key is wrong.
  const auto from = [](Format format, formats::FormatFields fields) {
    auto settings = formats::profile_of(format).from_fields(std::move(fields));
    return settings ? std::string("ok ") + to_string(format_of(*settings))
                    : settings.error().field + " | " + settings.error().message;
  };
  formats::FormatFields routing;
  routing.routing_key = Secret(routing_key);
  formats::FormatFields api;
  api.api_key = Secret(api_key);
  formats::FormatFields site;
  site.site = "eu";
  formats::FormatFields bad_site;
  bad_site.site = "mars";
  CHECK(from(Format::pagerduty, routing) == "ok pagerduty");
  CHECK(from(Format::pagerduty, api) == "api_key | api_key: not a setting of the pagerduty format");
  CHECK(from(Format::pagerduty, site) == "site | site: not a setting of the pagerduty format");
  CHECK(from(Format::datadog, api) == "ok datadog");
  CHECK(from(Format::datadog, site) == "ok datadog");
  CHECK(from(Format::datadog, routing) == "routing_key | routing_key: not a setting of the datadog format");
  CHECK(from(Format::datadog, bad_site) ==
        "site | site: expected US1, US3, US5, EU, AP1 or US1-FED (got \"mars\")");
  CHECK(from(Format::statusstack, {}) == "ok statusstack");
  CHECK(from(Format::statusstack, routing) ==
        "routing_key | routing_key: not a setting of the statusstack format");
  CHECK(from(Format::statusstack, api) == "api_key | api_key: not a setting of the statusstack format");
  CHECK(from(Format::statusstack, site) == "site | site: not a setting of the statusstack format");

  formats::FormatFields both = api;
  both.site = "AP1";
  auto settings = formats::profile_of(Format::datadog).from_fields(std::move(both));
  REQUIRE(settings);
  CHECK(std::get<DatadogFormat>(*settings).site == DatadogSite::ap1);
  CHECK(std::get<DatadogFormat>(*settings).api_key.reveal() == api_key);
}

// ---------------------------------------------------------------------------------------------
// Reading answers

TEST_CASE("a PagerDuty answer gives its dedup_key, or its error messages", "[unit][formats]") {
  // The spec's examples (pagerduty-events-v2.json, components.responses).
  const formats::VendorAnswer ok =
      formats::read_answer(Format::pagerduty, 202, "application/json",
                           R"({"status":"success","message":"Event processed","dedup_key":"srv01/HTTP"})");
  CHECK(ok.receipt == "srv01/HTTP");
  CHECK(ok.error.empty());

  const formats::VendorAnswer bad = formats::read_answer(
      Format::pagerduty, 400, "application/json",
      R"({"status":"Unrecognized object","message":"Event object format is unrecognized","errors":["JSON parse error"]})");
  CHECK(bad.receipt.empty());
  CHECK(bad.error == "Event object format is unrecognized: JSON parse error");

  const formats::VendorAnswer several = formats::read_answer(
      Format::pagerduty, 400, "application/json",
      R"({"status":"invalid event","message":"Event object is invalid","errors":["a","b\nc"]})");
  CHECK(several.error == "Event object is invalid: a; b c");

  CHECK(formats::read_answer(Format::pagerduty, 400, "application/json", R"({"status":"invalid event"})")
            .error == "invalid event");
  CHECK(formats::read_answer(Format::pagerduty, 429, "", R"({"errors":["slow down"]})").error == "slow down");
  CHECK(formats::read_answer(Format::pagerduty, 202, "application/json", R"({"status":"success"})")
            .receipt.empty());
}

TEST_CASE("a Datadog answer gives its event id_str, or its errors, even labelled text/plain",
          "[unit][formats]") {
  // The spec's 202 example (datadog-event-create.yaml).
  const std::string created =
      R"({"event":{"alert_type":"info","date_happened":1674842440,"id":123,"id_str":"123","priority":"normal",)"
      R"("tags":["environment:test"],"text":"Oh boy!","title":"Did you hear the news today?",)"
      R"("url":"/event/event?id=123"},"status":"ok"})";
  CHECK(formats::read_answer(Format::datadog, 202, "application/json", created).receipt == "123");
  // id_str wins over an id a double cannot hold; id alone is used when id_str is missing.
  CHECK(formats::read_answer(Format::datadog, 202, "application/json",
                             R"({"status":"ok","event":{"id":9007199254740993,"id_str":"9007199254740993"}})")
            .receipt == "9007199254740993");
  CHECK(formats::read_answer(Format::datadog, 202, "application/json", R"({"status":"ok","event":{"id":77}})")
            .receipt == "77");
  // An "id" elsewhere is not the event's.
  CHECK(formats::read_answer(Format::datadog, 202, "application/json",
                             R"({"id":5,"event":{"tags":[{"id":6}]}})")
            .receipt.empty());

  CHECK(
      formats::read_answer(Format::datadog, 400, "text/plain; charset=utf-8", R"({"errors":["Bad Request"]})")
          .error == "Bad Request");
  CHECK(formats::read_answer(Format::datadog, 429, "text/plain",
                             R"({"errors":["Too many requests","Retry later"]})")
            .error == "Too many requests; Retry later");
  CHECK(formats::read_answer(Format::datadog, 403, "application/json", R"({"errors":["Forbidden"]})").error ==
        "Forbidden");
}

TEST_CASE("an answer that is not JSON gives its first line when it is plain text", "[unit][formats]") {
  CHECK(formats::read_answer(Format::datadog, 400, "text/plain", "Invalid event\nmore detail").error ==
        "Invalid event");
  CHECK(formats::read_answer(Format::pagerduty, 503, "", "  upstream unavailable  ").error ==
        "upstream unavailable");
  CHECK(formats::read_answer(Format::pagerduty, 502, "text/html", "<html><body>Bad Gateway</body></html>")
            .error.empty());
  CHECK(formats::read_answer(Format::datadog, 202, "text/plain", "accepted").receipt.empty());
  CHECK(formats::read_answer(Format::datadog, 400, "text/plain", std::string(5000, 'e')).error.size() <= 200);
}

TEST_CASE("reading answers never fails on hostile bodies", "[integration][formats]") {
  const std::vector<std::string> bodies{
      "",
      "{",
      "[]",
      "null",
      std::string(100000, '['),
      repeat(R"({"a":)", 50000) + "1" + std::string(50000, '}'),
      R"({"errors":[1,{"x":"y"},["z"],"real"]})",
      R"({"errors":"not an array","message":7})",
      std::string(R"({"errors":["nul )") + std::string(1, '\0') + R"( inside", "\u0001ctl"]})",
      R"({"errors":[")" + std::string(3000, 'e') + R"("],"message":")" + std::string(3000, 'm') + R"("})",
      R"({"dedup_key":")" + std::string(300, 'k') + R"("})",
      "{\"errors\":[\"\xFF\xFE bad utf8\"]}",
      std::string(70 * 1024, ' ') + R"({"errors":["too far"]})",
  };
  for (const Format format : {Format::pagerduty, Format::datadog, Format::statusstack}) {
    for (const int status : {202, 400, 429, 500}) {
      for (const std::string& body : bodies) {
        const formats::VendorAnswer answer = formats::read_answer(format, status, "text/plain", body);
        CHECK(answer.receipt.size() <= 255);
        CHECK(answer.error.size() <= 1024);
        CHECK(valid_utf8(answer.error));
        CHECK(valid_utf8(answer.receipt));
        for (const char c : answer.error) CHECK(static_cast<unsigned char>(c) >= 0x20);
      }
    }
  }
  CHECK(formats::read_answer(Format::pagerduty, 400, "", R"({"errors":[1,{"x":"y"},["z"],"real"]})").error ==
        "real");
  CHECK(
      formats::read_answer(Format::pagerduty, 202, "", R"({"dedup_key":")" + std::string(300, 'k') + R"("})")
          .receipt.empty());  // cut short it would name another alert
  CHECK(formats::read_answer(Format::statusstack, 400, "", R"({"errors":["x"]})").error.empty());
  CHECK(formats::read_answer(Format::pagerduty, 302, "", R"({"errors":["x"]})").error.empty());
}

// ---------------------------------------------------------------------------------------------
// The local fakes, over real HTTP

namespace {

Outcome post(WebhookClient& client, const std::string& url, const FormattedRequest& formatted) {
  Request request;
  request.url = url;
  request.body = formatted.body;
  request.headers = formatted.headers;
  request.headers.push_back({"Content-Type", "application/json"});
  request.options.allow_http = true;
  request.options.allow_private_network = true;
  return client.send(request);
}

}  // namespace

TEST_CASE("the PagerDuty fake opens an alert on trigger and closes it on the later resolve",
          "[integration][formats][fakes]") {
  FakePagerDuty pagerduty;
  WebhookClient client;
  const Event down = example_event(EventType::monitor_down);
  const Outcome first = post(client, pagerduty.url(), format_event(down, pagerduty_settings()).value());
  REQUIRE(first.status == 202);
  const formats::VendorAnswer answer =
      formats::read_answer(Format::pagerduty, first.status, first.content_type, first.body);
  CHECK(answer.receipt == dedup_key(down));
  REQUIRE(pagerduty.alert(dedup_key(down)).has_value());
  CHECK(pagerduty.alert(dedup_key(down))->status == "triggered");
  CHECK(pagerduty.alert(dedup_key(down))->severity == "critical");

  const Event recovered = example_event(EventType::monitor_recovered);
  const Outcome second = post(client, pagerduty.url(), format_event(recovered, pagerduty_settings()).value());
  CHECK(second.status == 202);
  CHECK(pagerduty.alert(dedup_key(down))->status == "resolved");
  CHECK(pagerduty.alert(dedup_key(down))->events == 2);
  CHECK(pagerduty.alerts().size() == 1);
}

TEST_CASE("the PagerDuty fake acknowledges on maintenance and says 202 to a resolve of nothing",
          "[integration][formats][fakes]") {
  FakePagerDuty pagerduty;
  WebhookClient client;
  const Event critical = component_to(ComponentStatus::critical);
  const Event maintenance = component_to(ComponentStatus::maintenance);
  CHECK(post(client, pagerduty.url(), format_event(critical, pagerduty_settings()).value()).status == 202);
  CHECK(post(client, pagerduty.url(), format_event(maintenance, pagerduty_settings()).value()).status == 202);
  CHECK(pagerduty.alert(dedup_key(critical))->status == "acknowledged");
  const Event resolved_elsewhere = example_event(EventType::incident_resolved);
  CHECK(
      post(client, pagerduty.url(), format_event(resolved_elsewhere, pagerduty_settings()).value()).status ==
      202);
  CHECK_FALSE(pagerduty.alert(dedup_key(resolved_elsewhere)).has_value());
}

TEST_CASE("every formatted event is accepted by the fakes", "[integration][formats][fakes]") {
  FakePagerDuty pagerduty;
  FakeDatadog datadog;
  datadog.set_expected_api_key(api_key);
  WebhookClient client;
  std::size_t sent = 0;
  for (const EventType type : all_event_types) {
    const Event event = example_event(type);
    CHECK(post(client, pagerduty.url(), format_event(event, pagerduty_settings()).value()).status == 202);
    const Outcome dd = post(client, datadog.url(), format_event(event, datadog_settings()).value());
    CHECK(dd.status == 202);
    CHECK_FALSE(formats::read_answer(Format::datadog, dd.status, dd.content_type, dd.body).receipt.empty());
    ++sent;
  }
  CHECK(datadog.event_ids().size() == sent);
  CHECK(datadog.event_ids().front() == "9007199254740993");
}

TEST_CASE("the fakes accept exactly the bodies the request schemas accept, and ignore unknown names",
          "[integration][formats][fakes]") {
  WebhookClient client;
  FakePagerDuty pagerduty;
  FakeDatadog datadog;
  const auto expected_status = [](const BodyCase& c) {
    return c.violation.empty() || names_an_unknown_field(c) ? 202 : 400;
  };
  for (const BodyCase& c : pagerduty_cases()) {
    INFO("PagerDuty, " << c.what << ": " << c.body.substr(0, 300));
    const Outcome outcome = post(client, pagerduty.url(), FormattedRequest{c.body, {}});
    INFO("answer: " << outcome.body);
    CHECK(outcome.status == expected_status(c));
  }
  for (const BodyCase& c : datadog_cases()) {
    INFO("Datadog, " << c.what << ": " << c.body.substr(0, 300));
    const Outcome outcome = post(client, datadog.url(), FormattedRequest{c.body, {{"DD-API-KEY", api_key}}});
    INFO("answer: " << outcome.body);
    CHECK(outcome.status == expected_status(c));
  }
}

TEST_CASE("the fakes answer 400 with errors that become the failure reason",
          "[integration][formats][fakes]") {
  WebhookClient client;
  SECTION("PagerDuty: missing fields and broken limits") {
    FakePagerDuty pagerduty;
    FormattedRequest request;
    request.body = R"({"event_action":"resolve","payload":{"summary":")" + std::string(1100, 's') +
                   R"(","severity":"fatal"}})";
    const Outcome outcome = post(client, pagerduty.url(), request);
    CHECK(outcome.status == 400);
    CHECK_FALSE(outcome.retryable());
    CHECK(formats::read_answer(Format::pagerduty, outcome.status, outcome.content_type, outcome.body).error ==
          "Event object is invalid: 'routing_key' is missing or blank; 'dedup_key' is required to "
          "acknowledge or "
          "resolve; 'payload.summary' is longer than 1024 characters; 'payload.source' is missing or blank; "
          "'payload.severity' must be one of critical, error, warning, info");
    request.body = "not json";
    const Outcome garbage = post(client, pagerduty.url(), request);
    CHECK(formats::read_answer(Format::pagerduty, garbage.status, garbage.content_type, garbage.body).error ==
          "Event object format is unrecognized: JSON parse error");
  }
  SECTION("Datadog: errors as JSON labelled text/plain") {
    FakeDatadog datadog;
    FormattedRequest request;
    request.headers = {{"DD-API-KEY", api_key}};
    request.body =
        R"({"title":"t","date_happened":"1700000000","aggregation_key":")" + std::string(101, 'a') + R"("})";
    const Outcome outcome = post(client, datadog.url(), request);
    CHECK(outcome.status == 400);
    CHECK(outcome.content_type.rfind("text/plain", 0) == 0);
    CHECK(formats::read_answer(Format::datadog, outcome.status, outcome.content_type, outcome.body).error ==
          "Missing required field 'text'; Field 'aggregation_key' is longer than 100 characters; Field "
          "'date_happened' must be an integer");
    request.headers.clear();
    const Outcome forbidden = post(client, datadog.url(), request);
    CHECK(forbidden.status == 403);
    CHECK(formats::read_answer(Format::datadog, forbidden.status, forbidden.content_type, forbidden.body)
              .error == "Forbidden");
  }
}

TEST_CASE("the fakes answer 429 when told to, and when their rate limit is exceeded",
          "[integration][formats][fakes]") {
  WebhookClient client;
  FakePagerDuty pagerduty;
  const FormattedRequest request =
      format_event(example_event(EventType::monitor_down), pagerduty_settings()).value();
  pagerduty.fail_next(2, 429, 3);
  const Outcome limited = post(client, pagerduty.url(), request);
  CHECK(limited.status == 429);
  CHECK(limited.retryable());
  CHECK(limited.retry_after == std::chrono::seconds(3));
  CHECK(post(client, pagerduty.url(), request).status == 429);
  CHECK(post(client, pagerduty.url(), request).status == 202);
  pagerduty.fail_next(1, 503);
  CHECK(post(client, pagerduty.url(), request).status == 503);

  pagerduty.set_rate_limit(3, 1h);
  for (int i = 0; i < 3; ++i) CHECK(post(client, pagerduty.url(), request).status == 202);
  CHECK(post(client, pagerduty.url(), request).status == 429);
  // The limit is per routing key.
  FormatSettings other = pagerduty_settings();
  std::get<PagerDutyFormat>(other).routing_key = std::string(32, 'b');
  CHECK(post(client, pagerduty.url(), format_event(example_event(EventType::monitor_down), other).value())
            .status == 202);
  CHECK(pagerduty.statuses() == std::vector<int>{429, 429, 202, 503, 202, 202, 202, 429, 202});

  FakeDatadog datadog;
  datadog.fail_next(1);
  const Outcome dd = post(client, datadog.url(),
                          format_event(example_event(EventType::monitor_down), datadog_settings()).value());
  CHECK(dd.status == 429);
  CHECK(formats::read_answer(Format::datadog, dd.status, dd.content_type, dd.body).error ==
        "Too many requests");
  REQUIRE(datadog.exchanges().size() == 1);
  CHECK(find_header(datadog.exchanges()[0].request.headers, "DD-API-KEY") != nullptr);
}

TEST_CASE("the fakes serve HTTPS with the test certificates", "[integration][formats][fakes]") {
  const TestCertificates certs;
  FakePagerDuty pagerduty(certs);
  REQUIRE(pagerduty.url().rfind("https://127.0.0.1:", 0) == 0);
  WebhookClient client;
  Request request;
  request.url = pagerduty.url();
  request.body = format_event(example_event(EventType::incident_created), pagerduty_settings()).value().body;
  request.headers = {{"Content-Type", "application/json"}};
  request.options.ca_file = certs.ca_file();
  request.options.allow_private_network = true;
  const Outcome outcome = client.send(request);
  CHECK(outcome.status == 202);
  CHECK(pagerduty.wait_for_answers(1, 1s));
}

// ---------------------------------------------------------------------------------------------
// The command line

#ifdef SSW_CLI_PATH
TEST_CASE("statusstack-webhook render prints the body a vendor endpoint would send",
          "[integration][formats][cli]") {
  TempDir dir;
  const Event event = example_event(EventType::monitor_down);
  const std::string file = dir.write("event.json", to_json(event));

  const ProcessResult pd =
      run_process({SSW_CLI_PATH, "render", "--format", "pagerduty", "--routing-key", routing_key, file});
  CHECK(pd.exit_code == 0);
  CHECK(pd.err.empty());
  CHECK(pd.out == pagerduty_body(event) + "\n");

  const ProcessResult dd =
      run_process({SSW_CLI_PATH, "render", "--format", "datadog"}, {}, file);  // from stdin
  CHECK(dd.exit_code == 0);
  CHECK(dd.out == datadog_body(event) + "\n");

  const ProcessResult plain = run_process({SSW_CLI_PATH, "render", "--format", "statusstack", "-"}, {}, file);
  CHECK(plain.out == to_json(event) + "\n");

  const ProcessResult no_key = run_process({SSW_CLI_PATH, "render", "--format", "pagerduty", file});
  CHECK(no_key.exit_code == 2);
  CHECK(no_key.err == "statusstack-webhook: --format pagerduty needs --routing-key\n");
  const ProcessResult bad_key =
      run_process({SSW_CLI_PATH, "render", "--format", "pagerduty", "--routing-key", "abc", file});
  CHECK(bad_key.exit_code == 2);
  CHECK(bad_key.err ==
        "statusstack-webhook: --routing-key: routing_key: must be 32 characters (a PagerDuty integration "
        "key), got 3\n");
  const ProcessResult unknown = run_process({SSW_CLI_PATH, "render", "--format", "opsgenie", file});
  CHECK(unknown.exit_code == 2);
  CHECK(unknown.err ==
        "statusstack-webhook: unknown format \"opsgenie\" (known: statusstack, pagerduty, datadog)\n");
  const ProcessResult invalid = run_process(
      {SSW_CLI_PATH, "render", "--format", "datadog", dir.write("bad.json", R"({"event":"monitor.down"})")});
  CHECK(invalid.exit_code == 1);
  CHECK(invalid.err.rfind("statusstack-webhook: invalid event: ", 0) == 0);
}
#endif
