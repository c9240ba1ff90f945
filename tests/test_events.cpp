#include <statusstack/webhooks/events.hpp>

#include "support/files.hpp"

#include <rapidjson/document.h>
#include <rapidjson/error/en.h>
#include <rapidjson/schema.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>
#include <catch2/catch.hpp>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <memory>
#include <random>
#include <sstream>
#include <string>
#include <vector>

using namespace statusstack::webhooks;
using statusstack::webhooks::testing::read_file;
using namespace std::chrono_literals;

namespace {

const std::string documented_example =
    R"({"event":"component.status_changed","timestamp":"2025-01-19T10:30:00Z",)"
    R"("stack":{"id":"stack_abc123","name":"Production Infrastructure","slug":"production"},)"
    R"("component":{"id":"comp_xyz789","name":"Production API","previous_status":"operational","current_status":"critical"},)"
    R"("incident":{"id":"inc_123","created_at":"2025-01-19T10:30:00Z"}})";

Timestamp at(const char* text) { return parse_rfc3339(text).value(); }

// The error parse_event gives for `json`; fails the test if it parses.
Error parse_error(const std::string& json) {
  const Result<Event> result = parse_event(json);
  INFO("input: " << json);
  REQUIRE_FALSE(result.has_value());
  return result.error();
}

// The documented example with one textual replacement applied (must match exactly once).
std::string example_with(const std::string& from, const std::string& to) {
  std::string text = documented_example;
  const auto pos = text.find(from);
  REQUIRE(pos != std::string::npos);
  REQUIRE(text.find(from, pos + 1) == std::string::npos);
  return text.replace(pos, from.size(), to);
}

// ---------------------------------------------------------------------------------------------
// Generated events: every kind of string, every optional part present or absent.

class Generator {
 public:
  explicit Generator(std::uint64_t seed) : rng_(seed) {}

  bool chance(int percent) { return pick(0, 99) < percent; }
  std::int64_t pick(std::int64_t min, std::int64_t max) {
    return std::uniform_int_distribution<std::int64_t>(min, max)(rng_);
  }

  std::string text() {
    switch (pick(0, 9)) {
      case 0: return "";
      case 1: return "Production API";
      case 2: return "Ünïcödé — 日本語のテキスト — emoji 🚀🔥 — עברית";
      case 3: return "quote \" backslash \\ slash / newline \n tab \t return \r";
      case 4: {
        static const char with_nul[] = "controls \x01\x02\x1f and a NUL \0 inside";
        return std::string(with_nul, sizeof with_nul - 1);
      }
      case 5: return "line separators \u2028 \u2029 and </script>";
      case 6: return long_text();
      case 7: return "{\"looks\":\"like json\"}";
      case 8: return std::to_string(pick(-1000000, 1000000));
      default: return "word" + std::to_string(pick(0, 999));
    }
  }

  std::string long_text() {
    static const char* const pieces[] = {"a", "é", "中", "🙂", "\\", "\"", "\n", " ", "\x7f"};
    std::string out;
    const auto count = pick(1000, 6000);
    for (std::int64_t i = 0; i < count; ++i) out += pieces[pick(0, std::size(pieces) - 1)];
    return out;
  }

  std::string id() {
    std::string out = chance(80) ? "id_" + std::to_string(pick(0, 1 << 30)) : text();
    return out.empty() ? "x" : out;
  }

  std::optional<std::string> maybe_text() {
    if (chance(30)) return std::nullopt;
    return text();
  }

  Timestamp timestamp() {
    static const std::int64_t min = at("0001-01-01T00:00:00Z").unix_microseconds();
    static const std::int64_t max = at("9999-12-31T23:59:59.999999Z").unix_microseconds();
    std::int64_t micros = chance(50) ? pick(min, max) : pick(0, 4102444800LL * 1000000);
    switch (pick(0, 2)) {
      case 0: micros -= ((micros % 1000000) + 1000000) % 1000000; break;  // whole second
      case 1: micros -= ((micros % 1000) + 1000) % 1000; break;           // whole millisecond
      default: break;
    }
    return Timestamp(Timestamp::time_point(Timestamp::duration(micros)));
  }

  template <class Status>
  Status status(int known) {
    if (chance(20)) return Status::from_string(chance(50) ? "future_" + text() : text());
    return Status(static_cast<typename Status::Value>(pick(0, known - 1)));
  }

  Stack stack() { return Stack{id(), text(), text()}; }
  std::optional<IncidentRef> incident_ref() {
    if (chance(40)) return std::nullopt;
    return IncidentRef{id(), timestamp()};
  }

  Monitor monitor(bool down) {
    Monitor m;
    m.id = id();
    m.name = text();
    m.type = status<CheckType>(CheckType::unknown);
    m.target = text();
    m.status = status<MonitorStatus>(MonitorStatus::unknown);
    m.region = text();
    m.checked_at = timestamp();
    if (chance(70)) m.response_time = std::chrono::milliseconds(pick(0, 9007199254740991));
    if (chance(70)) m.status_code = static_cast<int>(pick(100, 599));
    m.error = down ? std::optional<std::string>(text()) : maybe_text();
    m.url = maybe_text();
    return m;
  }

  Incident incident(bool resolved) {
    Incident i;
    i.id = id();
    i.title = text();
    i.status = status<IncidentStatus>(IncidentStatus::unknown);
    i.impact = status<IncidentImpact>(IncidentImpact::unknown);
    const auto count = pick(0, 4);
    for (std::int64_t k = 0; k < count; ++k) {
      i.components.push_back(
          AffectedComponent{id(), text(), status<ComponentStatus>(ComponentStatus::unknown)});
    }
    if (chance(70)) i.latest_update = IncidentUpdate{text(), timestamp()};
    i.created_at = timestamp();
    i.updated_at = timestamp();
    if (resolved || chance(30)) i.resolved_at = timestamp();
    i.url = text();
    return i;
  }

  Event event(EventType type) {
    switch (type) {
      case EventType::component_status_changed:
        return ComponentStatusChanged{
            timestamp(), stack(),
            ComponentChange{id(), text(), status<ComponentStatus>(ComponentStatus::unknown),
                            status<ComponentStatus>(ComponentStatus::unknown)},
            incident_ref()};
      case EventType::monitor_down: return MonitorDown{timestamp(), stack(), monitor(true), incident_ref()};
      case EventType::monitor_recovered:
        return MonitorRecovered{timestamp(), stack(), monitor(false),
                                Downtime{timestamp(), std::chrono::seconds(pick(0, 9007199254740991))},
                                incident_ref()};
      case EventType::incident_created: return IncidentCreated{timestamp(), stack(), incident(false)};
      case EventType::incident_updated: {
        std::optional<IncidentStatus> previous;
        if (chance(60)) previous = status<IncidentStatus>(IncidentStatus::unknown);
        return IncidentUpdated{timestamp(), stack(), incident(false), previous};
      }
      case EventType::incident_resolved: return IncidentResolved{timestamp(), stack(), incident(true)};
      case EventType::maintenance_scheduled: {
        Maintenance m;
        m.id = id();
        m.title = text();
        m.description = text();
        m.scheduled_start = timestamp();
        m.scheduled_end = timestamp();
        if (m.scheduled_end < m.scheduled_start) std::swap(m.scheduled_start, m.scheduled_end);
        const auto count = pick(0, 4);
        for (std::int64_t k = 0; k < count; ++k) m.components.push_back(ComponentRef{id(), text()});
        m.url = text();
        return MaintenanceScheduled{timestamp(), stack(), m};
      }
    }
    FAIL("unreachable");
    return {};
  }

 private:
  std::mt19937_64 rng_;
};

// ---------------------------------------------------------------------------------------------
// JSON Schema validation with RapidJSON's validator.

class SchemaSet {
 public:
  SchemaSet() {
    for (const EventType type : all_event_types) {
      const std::string path = std::string(SSW_SCHEMA_DIR) + "/" + to_string(type) + ".schema.json";
      rapidjson::Document document;
      document.Parse(read_file(path).c_str());
      INFO(path);
      REQUIRE_FALSE(document.HasParseError());
      schemas_.emplace(type, std::make_unique<rapidjson::SchemaDocument>(document));
    }
  }

  // Empty when `json` is valid for `type`'s schema, else what the validator objected to.
  std::string problems(EventType type, const std::string& json) const {
    rapidjson::Document document;
    document.Parse(json.c_str(), json.size());
    if (document.HasParseError())
      return std::string("not JSON: ") + rapidjson::GetParseError_En(document.GetParseError());
    rapidjson::SchemaValidator validator(*schemas_.at(type));
    if (document.Accept(validator)) return "";
    rapidjson::StringBuffer where;
    validator.GetInvalidDocumentPointer().StringifyUriFragment(where);
    return std::string("keyword \"") + validator.GetInvalidSchemaKeyword() + "\" failed at " +
           where.GetString();
  }

 private:
  std::map<EventType, std::unique_ptr<rapidjson::SchemaDocument>> schemas_;
};

const SchemaSet& schemas() {
  static const SchemaSet set;
  return set;
}

}  // namespace

// ---------------------------------------------------------------------------------------------

TEST_CASE("the documented example parses and is written back byte for byte", "[unit][events]") {
  const Result<Event> event = parse_event(documented_example);
  REQUIRE(event.has_value());
  REQUIRE(type_of(*event) == EventType::component_status_changed);
  const auto& e = std::get<ComponentStatusChanged>(*event);
  CHECK(format_rfc3339(e.timestamp) == "2025-01-19T10:30:00Z");
  CHECK(e.stack.id == "stack_abc123");
  CHECK(e.stack.name == "Production Infrastructure");
  CHECK(e.stack.slug == "production");
  CHECK(e.component.id == "comp_xyz789");
  CHECK(e.component.name == "Production API");
  CHECK(e.component.previous_status == ComponentStatus::operational);
  CHECK(e.component.current_status == ComponentStatus::critical);
  REQUIRE(e.incident.has_value());
  CHECK(e.incident->id == "inc_123");
  CHECK(to_json(*event) == documented_example);
}

TEST_CASE("the component.status_changed sample is the documented example", "[unit][events]") {
  CHECK(to_json(example_event(EventType::component_status_changed)) == documented_example);
}

TEST_CASE("without an incident, component.status_changed has no incident key", "[unit][events]") {
  auto e = std::get<ComponentStatusChanged>(example_event(EventType::component_status_changed));
  e.incident.reset();
  CHECK(
      to_json(e) ==
      R"({"event":"component.status_changed","timestamp":"2025-01-19T10:30:00Z",)"
      R"("stack":{"id":"stack_abc123","name":"Production Infrastructure","slug":"production"},)"
      R"("component":{"id":"comp_xyz789","name":"Production API","previous_status":"operational","current_status":"critical"}})");
}

TEST_CASE("event types have their wire names and parse back", "[unit][events]") {
  CHECK(std::string(to_string(EventType::component_status_changed)) == "component.status_changed");
  CHECK(std::string(to_string(EventType::monitor_down)) == "monitor.down");
  CHECK(std::string(to_string(EventType::monitor_recovered)) == "monitor.recovered");
  CHECK(std::string(to_string(EventType::incident_created)) == "incident.created");
  CHECK(std::string(to_string(EventType::incident_updated)) == "incident.updated");
  CHECK(std::string(to_string(EventType::incident_resolved)) == "incident.resolved");
  CHECK(std::string(to_string(EventType::maintenance_scheduled)) == "maintenance.scheduled");
  for (const EventType type : all_event_types) {
    CHECK(parse_event_type(to_string(type)) == type);
    const Event sample = example_event(type);
    CHECK(type_of(sample) == type);
    CHECK(stack_of(sample).id == "stack_abc123");
  }
  CHECK_FALSE(parse_event_type("Monitor.Down").has_value());
  CHECK_FALSE(parse_event_type("monitor.down ").has_value());
  CHECK_FALSE(parse_event_type("").has_value());
}

TEST_CASE("every sample is valid, parses back equal and prints the same", "[unit][events]") {
  for (const EventType type : all_event_types) {
    INFO(to_string(type));
    const Event sample = example_event(type);
    CHECK(validate_event(sample).has_value());
    const std::string json = to_json(sample);
    const Result<Event> parsed = parse_event(json);
    REQUIRE(parsed.has_value());
    CHECK(*parsed == sample);
    CHECK(to_json(*parsed) == json);
    CHECK(timestamp_of(*parsed) == timestamp_of(sample));
  }
}

TEST_CASE("every sample validates against its JSON Schema", "[unit][events][schema]") {
  for (const EventType type : all_event_types) {
    INFO(to_string(type));
    CHECK(schemas().problems(type, to_json(example_event(type))) == "");
  }
}

TEST_CASE("the schemas reject what the contract forbids", "[unit][events][schema]") {
  // Guards against a schema that accepts anything.
  CHECK(schemas().problems(EventType::component_status_changed,
                           example_with(R"("current_status":"critical")", R"("current_status":7)")) != "");
  CHECK(schemas().problems(EventType::component_status_changed,
                           example_with(R"("timestamp":"2025-01-19T10:30:00Z")",
                                        R"("timestamp":"2025-01-19 10:30:00")")) != "");
  CHECK(schemas().problems(EventType::component_status_changed,
                           example_with(R"("slug":"production")", R"("slog":"production")")) != "");
  CHECK(schemas().problems(EventType::monitor_down, documented_example) != "");
  std::string down = to_json(example_event(EventType::monitor_down));
  down.replace(down.find(R"(,"error":)"),
               std::string(R"(,"error":"expected HTTP 200, got 503 Service Unavailable")").size(), "");
  CHECK(schemas().problems(EventType::monitor_down, down) != "");
  // Unknown extra fields are allowed, as parse_event allows them.
  CHECK(schemas().problems(EventType::component_status_changed,
                           example_with(R"("slug":"production")", R"("slug":"production","region":"eu")")) ==
        "");
}

TEST_CASE("generated events of every type round-trip and match their schema", "[unit][events][schema]") {
  Generator gen(20250119);
  for (const EventType type : all_event_types) {
    for (int i = 0; i < 150; ++i) {
      const Event event = gen.event(type);
      REQUIRE(validate_event(event).has_value());
      const std::string json = to_json(event);
      INFO(to_string(type) << " #" << i << ": " << json.substr(0, 2000));
      const Result<Event> parsed = parse_event(json);
      if (!parsed) FAIL(parsed.error().message);
      REQUIRE(*parsed == event);
      REQUIRE(to_json(*parsed) == json);
      REQUIRE(schemas().problems(type, json) == "");
    }
  }
}

TEST_CASE("unknown status strings are kept and written back unchanged", "[unit][events]") {
  const std::string json = example_with(R"("current_status":"critical")", R"("current_status":"on_fire")");
  const Result<Event> event = parse_event(json);
  REQUIRE(event.has_value());
  const auto& status = std::get<ComponentStatusChanged>(*event).component.current_status;
  CHECK(status == ComponentStatus::unknown);
  CHECK(status != ComponentStatus::critical);
  CHECK(status != ComponentStatus(ComponentStatus::unknown));  // two statuses compare their texts
  CHECK_FALSE(status.is_known());
  CHECK(status.to_string() == "on_fire");
  CHECK(to_json(*event) == json);

  CHECK(ComponentStatus::from_string("critical") == ComponentStatus::critical);
  CHECK(ComponentStatus::from_string("on_fire") != ComponentStatus::from_string("melting"));
  CHECK(ComponentStatus::from_string("Critical").value() == ComponentStatus::unknown);
  CHECK(MonitorStatus::from_string("down") == MonitorStatus::down);
  CHECK(CheckType::from_string("grpc").to_string() == "grpc");
  CHECK(IncidentStatus::from_string("monitoring") == IncidentStatus::monitoring);
  CHECK(IncidentImpact::from_string("critical") == IncidentImpact::critical);
  CHECK(IncidentImpact(IncidentImpact::minor).to_string() == "minor");
}

TEST_CASE("unknown fields are ignored, at the top and inside objects", "[unit][events]") {
  std::string json = example_with(R"("slug":"production")",
                                  R"("slug":"production","extra":{"deep":[1,2.5,{"x":null}],"n":1e300})");
  json.insert(1, R"("schema_version":2,)");
  const Result<Event> event = parse_event(json);
  REQUIRE(event.has_value());
  CHECK(to_json(*event) == documented_example);
}

TEST_CASE("null in an optional field means absent", "[unit][events]") {
  const Result<Event> event = parse_event(example_with(
      R"("incident":{"id":"inc_123","created_at":"2025-01-19T10:30:00Z"})", R"("incident":null)"));
  REQUIRE(event.has_value());
  CHECK_FALSE(std::get<ComponentStatusChanged>(*event).incident.has_value());
}

TEST_CASE("to_json replaces invalid UTF-8 so the output stays valid JSON", "[unit][events]") {
  auto e = std::get<ComponentStatusChanged>(example_event(EventType::component_status_changed));
  e.component.name = "bad \xff byte and a cut \xe2\x82";
  const std::string json = to_json(e);
  CHECK(json.find(R"("name":"bad \xEF\xBF\xBD byte and a cut \xEF\xBF\xBD\xEF\xBF\xBD")") ==
        std::string::npos);
  CHECK(json.find("\"name\":\"bad \xEF\xBF\xBD byte and a cut \xEF\xBF\xBD\xEF\xBF\xBD\"") !=
        std::string::npos);
  CHECK(parse_event(json).has_value());
}

TEST_CASE("control characters and NUL are escaped and survive a round trip", "[unit][events]") {
  auto e = std::get<ComponentStatusChanged>(example_event(EventType::component_status_changed));
  e.component.name = std::string("a\0b\x01\n\"\\", 7);
  const std::string json = to_json(e);
  CHECK(json.find(R"("name":"a\u0000b\u0001\n\"\\")") != std::string::npos);
  const Result<Event> parsed = parse_event(json);
  REQUIRE(parsed.has_value());
  CHECK(std::get<ComponentStatusChanged>(*parsed).component.name == e.component.name);
}

TEST_CASE("strings are escaped exactly as RapidJSON's Writer escapes them, at any position",
          "[unit][events]") {
  auto rapidjson_quoted = [](const std::string& text) {
    rapidjson::StringBuffer buffer;
    rapidjson::Writer<rapidjson::StringBuffer> writer(buffer);
    writer.String(text.data(), static_cast<rapidjson::SizeType>(text.size()));
    return std::string(buffer.GetString(), buffer.GetSize());
  };
  auto our_quoted = [](const std::string& text) {
    auto e = std::get<ComponentStatusChanged>(example_event(EventType::component_status_changed));
    e.stack.slug = text;
    const std::string json = to_json(e);
    const std::string before = R"("slug":)";
    const std::size_t start = json.find(before) + before.size();
    const std::size_t end = json.find(R"(},"component")");
    return json.substr(start, end - start);
  };
  std::string every_byte;
  for (int c = 1; c < 0x80; ++c) every_byte += static_cast<char>(c);
  every_byte += std::string(1, '\0') + "é中🙂";
  CHECK(our_quoted(every_byte) == rapidjson_quoted(every_byte));
  // One special character at each position of strings of 0 to 24 bytes: both sides of every
  // eight-byte word the scanner looks at.
  for (const char special : {'"', '\\', '\n', '\x01', '\x1f', '\0', '/', '\x7f'}) {
    for (std::size_t length = 1; length <= 24; ++length) {
      for (std::size_t at = 0; at < length; ++at) {
        std::string text(length, 'a');
        text[at] = special;
        INFO("length " << length << ", special " << static_cast<int>(special) << " at " << at);
        REQUIRE(our_quoted(text) == rapidjson_quoted(text));
      }
    }
  }
  CHECK(our_quoted("") == R"("")");
}

// ---------------------------------------------------------------------------------------------
// Timestamps

TEST_CASE("timestamps are written in RFC 3339 UTC with 0, 3 or 6 fractional digits", "[unit][events][time]") {
  CHECK(format_rfc3339(Timestamp()) == "1970-01-01T00:00:00Z");
  CHECK(format_rfc3339(Timestamp::from_unix_seconds(1737282600)) == "2025-01-19T10:30:00Z");
  CHECK(format_rfc3339(Timestamp(Timestamp::time_point(1737282600'250000us))) == "2025-01-19T10:30:00.250Z");
  CHECK(format_rfc3339(Timestamp(Timestamp::time_point(1737282600'000250us))) ==
        "2025-01-19T10:30:00.000250Z");
  CHECK(format_rfc3339(Timestamp(Timestamp::time_point(-1us))) == "1969-12-31T23:59:59.999999Z");
  CHECK(format_rfc3339(at("0001-01-01T00:00:00Z")) == "0001-01-01T00:00:00Z");
  CHECK(format_rfc3339(at("9999-12-31T23:59:59.999999Z")) == "9999-12-31T23:59:59.999999Z");
  CHECK(format_rfc3339(at("2024-02-29T23:59:59Z")) == "2024-02-29T23:59:59Z");
  // Out of range values are clamped, so what is written always parses.
  CHECK(format_rfc3339(Timestamp(Timestamp::time_point::max())) == "9999-12-31T23:59:59.999999Z");
  CHECK(format_rfc3339(Timestamp(Timestamp::time_point::min())) == "0001-01-01T00:00:00Z");
}

TEST_CASE("timestamps parse to the right instant and give seconds for integrations", "[unit][events][time]") {
  CHECK(at("2025-01-19T10:30:00Z").unix_seconds() == 1737282600);
  CHECK(at("1969-12-31T23:59:59.5Z").unix_seconds() == -1);  // rounds down, as floor
  CHECK(at("2025-01-19T10:30:00.123456789Z").unix_microseconds() == 1737282600123456);
  CHECK(at("2025-01-19T10:30:00.1Z") == at("2025-01-19T10:30:00.100000Z"));
  CHECK(format_rfc3339(at("2025-01-19T10:30:00.1Z")) == "2025-01-19T10:30:00.100Z");
  CHECK(at("2000-02-29T00:00:00Z").unix_seconds() == 951782400);
  const auto now = std::chrono::system_clock::now();
  CHECK(Timestamp::from(now).unix_seconds() ==
        std::chrono::floor<std::chrono::seconds>(now).time_since_epoch().count());
}

TEST_CASE("malformed timestamps are refused with the reason", "[unit][events][time]") {
  auto reason = [](const char* text) {
    const Result<Timestamp> r = parse_rfc3339(text);
    INFO(text);
    REQUIRE_FALSE(r.has_value());
    CHECK(r.error().code == ErrorCode::invalid_value);
    return r.error().message;
  };
  CHECK(reason("") == "expected YYYY-MM-DDTHH:MM:SS[.fraction]Z");
  CHECK(reason("2025-01-19") == "expected YYYY-MM-DDTHH:MM:SS[.fraction]Z");
  CHECK(reason("2025-1-19T10:30:00Z") == "expected YYYY-MM-DDTHH:MM:SS[.fraction]Z");
  CHECK(reason("2025-01-19T10:30:00") == "expected YYYY-MM-DDTHH:MM:SS[.fraction]Z");
  CHECK(reason("2025-01-19 10:30:00Z") == "date and time must be separated by an uppercase T");
  CHECK(reason("2025-01-19t10:30:00Z") == "date and time must be separated by an uppercase T");
  CHECK(reason("2025-01-19T10:30:00z") == "the UTC suffix must be an uppercase Z");
  CHECK(reason("2025-01-19T10:30:00+00:00") ==
        "must be in UTC with a Z suffix, not an offset like \"+01:00\"");
  CHECK(reason("2025-01-19T10:30:00-05:00") ==
        "must be in UTC with a Z suffix, not an offset like \"+01:00\"");
  CHECK(reason("2025-01-19T10:30:00ZZ") == "unexpected characters after the Z");
  CHECK(reason("2025-01-19T10:30:00.Z") == "a '.' must be followed by 1 to 9 fractional digits");
  CHECK(reason("2025-01-19T10:30:00.1234567890Z") == "more than 9 fractional digits");
  CHECK(reason("0000-01-19T10:30:00Z") == "year 0000 is out of range (0001 to 9999)");
  CHECK(reason("2025-13-19T10:30:00Z") == "month 13 is out of range (01 to 12)");
  CHECK(reason("2025-00-19T10:30:00Z") == "month 00 is out of range (01 to 12)");
  CHECK(reason("2025-02-29T10:30:00Z") == "day 29 does not exist in 2025-02");
  CHECK(reason("1900-02-29T10:30:00Z") == "day 29 does not exist in 1900-02");
  CHECK(reason("2025-04-31T10:30:00Z") == "day 31 does not exist in 2025-04");
  CHECK(reason("2025-01-00T10:30:00Z") == "day 00 does not exist in 2025-01");
  CHECK(reason("2025-01-19T24:00:00Z") == "hour 24 is out of range (00 to 23)");
  CHECK(reason("2025-01-19T10:60:00Z") == "minute 60 is out of range (00 to 59)");
  CHECK(reason("2016-12-31T23:59:60Z") == "leap second 60 is not supported");
  CHECK(reason("2025-01-19T10:30:61Z") == "second 61 is out of range (00 to 59)");
  CHECK(reason("+2025-01-19T10:30:00Z") == "expected YYYY-MM-DDTHH:MM:SS[.fraction]Z");
}

// ---------------------------------------------------------------------------------------------
// Errors: pinned messages for what a receiver will meet.

TEST_CASE("a missing field is named", "[unit][events][errors]") {
  Error e = parse_error(example_with(R"(,"current_status":"critical")", ""));
  CHECK(e.code == ErrorCode::missing_field);
  CHECK(e.field == "component.current_status");
  CHECK(e.message == "component.current_status: required field is missing");

  e = parse_error(example_with(R"("timestamp":"2025-01-19T10:30:00Z",)", ""));
  CHECK(e.message == "timestamp: required field is missing");
  e = parse_error(R"({"timestamp":"2025-01-19T10:30:00Z"})");
  CHECK(e.code == ErrorCode::missing_field);
  CHECK(e.message == "event: required field is missing");
  e = parse_error(example_with(R"("id":"inc_123",)", ""));
  CHECK(e.message == "incident.id: required field is missing");
}

TEST_CASE("a field of the wrong type is named with what was expected and what came",
          "[unit][events][errors]") {
  Error e = parse_error(example_with(R"("id":"comp_xyz789")", R"("id":42)"));
  CHECK(e.code == ErrorCode::wrong_type);
  CHECK(e.field == "component.id");
  CHECK(e.message == "component.id: expected a string, got a number");

  CHECK(parse_error(example_with(R"("name":"Production API")", R"("name":null)")).message ==
        "component.name: expected a string, got null");
  CHECK(parse_error(
            example_with(
                R"("stack":{"id":"stack_abc123","name":"Production Infrastructure","slug":"production"})",
                R"("stack":["stack_abc123"])"))
            .message == "stack: expected an object, got an array");
  CHECK(parse_error(example_with(R"("event":"component.status_changed")", R"("event":true)")).message ==
        "event: expected a string, got a boolean");
  e = parse_error(R"(["component.status_changed"])");
  CHECK(e.code == ErrorCode::wrong_type);
  CHECK(e.field == "");
  CHECK(e.message == "expected a JSON object, got an array");
  CHECK(parse_error("42").message == "expected a JSON object, got a number");
}

TEST_CASE("a bad timestamp is named, quoted and explained", "[unit][events][errors]") {
  Error e = parse_error(
      example_with(R"("timestamp":"2025-01-19T10:30:00Z")", R"("timestamp":"2025-13-19T10:30:00Z")"));
  CHECK(e.code == ErrorCode::invalid_value);
  CHECK(e.field == "timestamp");
  CHECK(
      e.message ==
      "timestamp: invalid RFC 3339 timestamp \"2025-13-19T10:30:00Z\": month 13 is out of range (01 to 12)");
  e = parse_error(example_with(R"("created_at":"2025-01-19T10:30:00Z")", R"("created_at":"yesterday")"));
  CHECK(e.field == "incident.created_at");
  CHECK(e.message ==
        "incident.created_at: invalid RFC 3339 timestamp \"yesterday\": expected "
        "YYYY-MM-DDTHH:MM:SS[.fraction]Z");
  e = parse_error(example_with(R"("created_at":"2025-01-19T10:30:00Z")", R"("created_at":1737282600)"));
  CHECK(e.message == "incident.created_at: expected a string, got a number");
}

TEST_CASE("an unknown event name is refused with its own code", "[unit][events][errors]") {
  Error e =
      parse_error(example_with(R"("event":"component.status_changed")", R"("event":"component.exploded")"));
  CHECK(e.code == ErrorCode::unknown_event_type);
  CHECK(e.field == "event");
  CHECK(e.message == "event: unknown event type \"component.exploded\"");
  CHECK(parse_error(example_with(R"("event":"component.status_changed")", R"("event":"")")).message ==
        "event: unknown event type \"\"");
}

TEST_CASE("text that is not JSON, or is cut short, is invalid JSON with the byte offset",
          "[unit][events][errors]") {
  Error e = parse_error("hello");
  CHECK(e.code == ErrorCode::invalid_json);
  CHECK(e.field == "");
  CHECK(e.message == "invalid JSON at byte 0: invalid value");
  CHECK(parse_error("").message == "invalid JSON at byte 0: the document is empty");
  CHECK(parse_error("  \n ").message == "invalid JSON at byte 4: the document is empty");

  const std::string cut = documented_example.substr(0, 100);
  e = parse_error(cut);
  CHECK(e.code == ErrorCode::invalid_json);
  CHECK(e.message == "invalid JSON at byte 100: missing a name for object member");
  CHECK(parse_error(documented_example.substr(0, documented_example.size() - 1)).message ==
        "invalid JSON at byte 336: missing a comma or '}' after an object member");
  CHECK(parse_error(documented_example + "{}").message ==
        "invalid JSON at byte 337: the document root must not be followed by other values");
  CHECK(parse_error(R"({"event":"monitor.down",})").message ==
        "invalid JSON at byte 24: missing a name for object member");
  CHECK(parse_error(R"({"n":NaN})").code == ErrorCode::invalid_json);
}

TEST_CASE("duplicate keys are refused, naming the key", "[unit][events][errors]") {
  Error e = parse_error(example_with(R"("current_status":"critical")",
                                     R"("current_status":"critical","current_status":"operational")"));
  CHECK(e.code == ErrorCode::invalid_json);
  CHECK(e.field == "component.current_status");
  CHECK(e.message == "component.current_status: duplicate key");
  // Also in parts the library ignores: the document as a whole is ambiguous.
  CHECK(parse_error(example_with(R"("slug":"production")", R"("slug":"production","x":{"a":1,"a":2})"))
            .message == "stack.x.a: duplicate key");
  // The same key in different objects is fine.
  CHECK(parse_event(documented_example).has_value());
}

TEST_CASE("nesting deeper than the limit is refused without recursion trouble", "[unit][events][errors]") {
  auto nested = [](int depth) {
    std::string inner(static_cast<std::size_t>(depth), '[');
    inner += std::string(static_cast<std::size_t>(depth), ']');
    return example_with(R"("slug":"production")", R"("slug":"production","x":)" + inner);
  };
  CHECK(parse_event(nested(max_json_depth - 2)).has_value());  // root, stack, then 30 arrays
  Error e = parse_error(nested(max_json_depth - 1));
  CHECK(e.code == ErrorCode::invalid_json);
  CHECK(e.message ==
        "stack.x[0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0]"
        ": nested deeper than 32 levels");
  // A million levels: refused early, no stack overflow.
  const std::string deep = std::string(1000000, '[') + std::string(1000000, ']');
  CHECK(parse_error(deep).message ==
        "[0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0]"
        "[0][0][0][0]: nested deeper than 32 levels");
}

TEST_CASE("invalid UTF-8 is refused, raw or behind an escape", "[unit][events][errors]") {
  Error e = parse_error(example_with("Production API", "Production \xff API"));
  CHECK(e.code == ErrorCode::invalid_json);
  CHECK(e.message == "invalid JSON at byte 207: invalid encoding in string");
  CHECK(parse_error(example_with("Production API", "Production \xc0\xaf API")).code ==
        ErrorCode::invalid_json);
  e = parse_error(example_with("Production API", R"(Production \udc00 API)"));
  CHECK(e.field == "component.name");
  CHECK(e.message == "component.name: string is not valid UTF-8");
  CHECK(parse_error(example_with("Production API", R"(Production \ud800 API)")).message ==
        "invalid JSON at byte 207: the surrogate pair in string is invalid");
  // A proper surrogate pair is a character like any other.
  const Result<Event> ok = parse_event(example_with("Production API", R"(Production \ud83d\ude80 API)"));
  REQUIRE(ok.has_value());
  CHECK(std::get<ComponentStatusChanged>(*ok).component.name == "Production \xf0\x9f\x9a\x80 API");
  // Hostile keys are quoted in the path, never printed raw.
  e = parse_error(
      example_with(R"("slug":"production")", "\"slug\":\"production\",\"\\n\\u0001\":1,\"\\n\\u0001\":2"));
  CHECK(e.message == R"(stack["\x0a\x01"]: duplicate key)");
}

TEST_CASE("huge and fractional numbers are handled deliberately", "[unit][events][errors]") {
  const std::string down = to_json(example_event(EventType::monitor_down));
  auto with_response_time = [&down](const std::string& value) {
    std::string text = down;
    const std::string from = R"("response_time_ms":1840)";
    return text.replace(text.find(from), from.size(), R"("response_time_ms":)" + value);
  };
  CHECK(parse_event(with_response_time("5000.0")).has_value());
  CHECK(parse_event(with_response_time("5e3")).has_value());
  Error e = parse_error(with_response_time("12.5"));
  CHECK(e.code == ErrorCode::wrong_type);
  CHECK(e.message == "monitor.response_time_ms: expected an integer, got a number with a fraction");
  e = parse_error(with_response_time("-1"));
  CHECK(e.code == ErrorCode::invalid_value);
  CHECK(e.message == "monitor.response_time_ms: must be an integer from 0 to 9007199254740991 (got -1)");
  CHECK(parse_error(with_response_time("18446744073709551615")).message ==
        "monitor.response_time_ms: must be an integer from 0 to 9007199254740991 (got 18446744073709551615)");
  CHECK(
      parse_error(with_response_time("123456789012345678901234567890")).message ==
      "monitor.response_time_ms: must be an integer from 0 to 9007199254740991 (got 1.2345678901234566e+29)");
  CHECK(parse_error(with_response_time("1e400")).message ==
        "invalid JSON at byte 356: number too big to be stored in double");
  CHECK(parse_error(with_response_time("\"1840\"")).message ==
        "monitor.response_time_ms: expected an integer, got a string");
  std::string bad_code = down;
  bad_code.replace(bad_code.find("503"), 3, "5030");
  CHECK(parse_error(bad_code).message ==
        "monitor.status_code: must be an integer from 100 to 599 (got 5030)");
}

TEST_CASE("rules specific to a type are enforced on parse and by validate_event", "[unit][events][errors]") {
  auto down = std::get<MonitorDown>(example_event(EventType::monitor_down));
  down.monitor.error.reset();
  Error e = parse_error(to_json(down));
  CHECK(e.code == ErrorCode::missing_field);
  CHECK(e.message == "monitor.error: required field is missing");
  CHECK(validate_event(down).error().message == e.message);

  auto resolved = std::get<IncidentResolved>(example_event(EventType::incident_resolved));
  resolved.incident.resolved_at.reset();
  CHECK(parse_error(to_json(resolved)).message == "incident.resolved_at: required field is missing");
  CHECK(validate_event(resolved).error().message == "incident.resolved_at: required field is missing");

  auto maintenance = std::get<MaintenanceScheduled>(example_event(EventType::maintenance_scheduled));
  std::swap(maintenance.maintenance.scheduled_start, maintenance.maintenance.scheduled_end);
  e = parse_error(to_json(maintenance));
  CHECK(e.code == ErrorCode::invalid_value);
  CHECK(e.message == "maintenance.scheduled_end: must not be before maintenance.scheduled_start");
  CHECK(validate_event(maintenance).error().message == e.message);

  auto created = std::get<IncidentCreated>(example_event(EventType::incident_created));
  created.incident.components[0].id.clear();
  e = parse_error(to_json(created));
  CHECK(e.code == ErrorCode::invalid_value);
  CHECK(e.field == "incident.components[0].id");
  CHECK(e.message == "incident.components[0].id: must not be empty");
  CHECK(validate_event(created).error().message == e.message);
  // The second component's empty id is named by its index (the first is fine).
  created = std::get<IncidentCreated>(example_event(EventType::incident_created));
  created.incident.components.push_back(created.incident.components[0]);
  created.incident.components[1].id.clear();
  CHECK(validate_event(created).error().field == "incident.components[1].id");
  auto planned = std::get<MaintenanceScheduled>(example_event(EventType::maintenance_scheduled));
  REQUIRE(!planned.maintenance.components.empty());
  planned.maintenance.components.back().id.clear();
  const std::string last = std::to_string(planned.maintenance.components.size() - 1);
  CHECK(validate_event(planned).error().message ==
        "maintenance.components[" + last + "].id: must not be empty");

  auto changed = std::get<ComponentStatusChanged>(example_event(EventType::component_status_changed));
  changed.stack.id.clear();
  CHECK(parse_error(to_json(changed)).message == "stack.id: must not be empty");
  CHECK(validate_event(changed).error().field == "stack.id");

  auto recovered = std::get<MonitorRecovered>(example_event(EventType::monitor_recovered));
  recovered.monitor.status_code = 42;
  CHECK(validate_event(recovered).error().message ==
        "monitor.status_code: must be an integer from 100 to 599 (got 42)");
  recovered.monitor.status_code.reset();
  recovered.downtime.duration = std::chrono::seconds(-5);
  CHECK(validate_event(recovered).error().message ==
        "downtime.duration_seconds: must be an integer from 0 to 9007199254740991 (got -5)");

  auto updated = std::get<IncidentUpdated>(example_event(EventType::incident_updated));
  updated.timestamp = Timestamp(Timestamp::time_point::max());
  CHECK(validate_event(updated).error().message ==
        "timestamp: is outside 0001-01-01T00:00:00Z to 9999-12-31T23:59:59Z");
}

TEST_CASE("array elements are named by index", "[unit][events][errors]") {
  auto created = std::get<IncidentCreated>(example_event(EventType::incident_created));
  created.incident.components.push_back(created.incident.components[0]);
  std::string json = to_json(created);
  const std::string second = R"({"id":"comp_xyz789","name":"Production API","status":"critical"}])";
  json.replace(json.find(second), second.size(),
               R"({"id":"comp_xyz789","name":"Production API","status":3}])");
  const Error e = parse_error(json);
  CHECK(e.field == "incident.components[1].status");
  CHECK(e.message == "incident.components[1].status: expected a string, got a number");
  json.replace(json.find(R"({"id":"comp_xyz789","name":"Production API","status":3})"),
               std::string(R"({"id":"comp_xyz789","name":"Production API","status":3})").size(), "\"comp\"");
  CHECK(parse_error(json).message == "incident.components[1]: expected an object, got a string");
}

TEST_CASE("every file of the fuzz seed corpus parses or fails cleanly, and valid ones round-trip",
          "[unit][events]") {
  const std::filesystem::path dir = std::filesystem::path(SSW_SOURCE_DIR) / "tests/fuzz/corpus/parse_event";
  int valid = 0;
  int invalid = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    const std::string text = read_file(entry.path());
    INFO(entry.path().filename().string());
    const Result<Event> event = parse_event(text);
    const bool expect_valid = entry.path().filename().string().rfind("valid-", 0) == 0;
    CHECK(event.has_value() == expect_valid);
    if (event) {
      ++valid;
      const std::string json = to_json(*event);
      const Result<Event> again = parse_event(json);
      REQUIRE(again.has_value());
      CHECK(*again == *event);
      CHECK(to_json(*again) == json);
    } else {
      ++invalid;
      CHECK_FALSE(event.error().message.empty());
    }
  }
  CHECK(valid >= 7);
  CHECK(invalid >= 5);
}
