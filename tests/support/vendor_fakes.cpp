// FakePagerDuty and FakeDatadog: the two vendors' event intakes as their specifications describe
// them (the same rules as our schemas of the request bodies, tests/schemas/, except that unknown
// names are ignored as the vendors do), strict where the specifications leave room: lengths are
// counted in UTF-8 bytes, the strictest reading of "characters".

#include "support/vendor_fakes.hpp"

#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <algorithm>
#include <cstdio>
#include <string>
#include <thread>
#include <utility>

namespace statusstack::webhooks::testing {
namespace rj = rapidjson;

namespace {

using Clock = std::chrono::steady_clock;

std::string json_string(std::string_view text) {
  rj::StringBuffer buffer;
  rj::Writer<rj::StringBuffer> writer(buffer);
  writer.String(text.data(), static_cast<rj::SizeType>(text.size()));
  return {buffer.GetString(), buffer.GetSize()};
}

std::string json_strings(const std::vector<std::string>& items) {
  std::string out = "[";
  for (std::size_t i = 0; i < items.size(); ++i) out += (i ? "," : "") + json_string(items[i]);
  return out + "]";
}

// The body parsed as a JSON object, or nullopt.
bool parse_object(const std::string& body, rj::Document& doc) {
  doc.Parse<rj::kParseValidateEncodingFlag>(body.data(), body.size());
  return !doc.HasParseError() && doc.IsObject();
}

const rj::Value* member(const rj::Value& object, const char* name) {
  const auto it = object.FindMember(name);
  return it == object.MemberEnd() ? nullptr : &it->value;
}

std::string string_of(const rj::Value* value) {
  return value != nullptr && value->IsString() ? std::string(value->GetString(), value->GetStringLength())
                                               : std::string();
}

bool one_of(const std::string& value, std::initializer_list<const char*> allowed) {
  return std::any_of(allowed.begin(), allowed.end(), [&](const char* a) { return value == a; });
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// VendorFake

VendorFake::VendorFake(std::string path, const TestCertificates* certs)
    : path_(std::move(path)), certs_(certs) {}

VendorFake::~VendorFake() = default;

void VendorFake::start() {
  const Handler handler = [this](const RecordedRequest& request) { return handle(request); };
  server_ = certs_ != nullptr ? std::make_unique<HttpTestServer>(*certs_, handler)
                              : std::make_unique<HttpTestServer>(handler);
}

void VendorFake::stop() { server_.reset(); }

std::string VendorFake::url() const { return server_->url(path_); }

std::vector<VendorExchange> VendorFake::exchanges() const {
  const std::lock_guard<std::mutex> lock(mutex_);
  return exchanges_;
}

std::vector<int> VendorFake::statuses() const {
  const std::lock_guard<std::mutex> lock(mutex_);
  std::vector<int> out;
  for (const VendorExchange& e : exchanges_) out.push_back(e.status);
  return out;
}

bool VendorFake::wait_for_answers(std::size_t n, std::chrono::milliseconds timeout) const {
  // Requests are recorded by the server before they are answered: wait for the requests, then
  // briefly for their answers to be recorded here.
  if (!server_->wait_for_requests(n, timeout)) return false;
  const auto deadline = Clock::now() + timeout;
  while (Clock::now() < deadline) {
    {
      const std::lock_guard<std::mutex> lock(mutex_);
      if (exchanges_.size() >= n) return true;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return false;
}

void VendorFake::fail_next(std::size_t count, int status, std::optional<int> retry_after_seconds) {
  const std::lock_guard<std::mutex> lock(mutex_);
  forced_ = ForcedAnswers{count, status, retry_after_seconds};
}

void VendorFake::set_rate_limit(std::size_t events, std::chrono::milliseconds window) {
  const std::lock_guard<std::mutex> lock(mutex_);
  limit_events_ = events;
  limit_window_ = window;
  accepted_at_.clear();
}

Reply VendorFake::handle(const RecordedRequest& request) {
  const std::lock_guard<std::mutex> serial(answer_mutex_);
  Answer answer;
  bool decided = false;
  {
    const std::lock_guard<std::mutex> lock(mutex_);
    if (forced_.count > 0) {
      --forced_.count;
      answer = Answer{forced_.status, error_body(forced_.status), error_content_type()};
      if (forced_.retry_after_seconds) {
        answer.headers.push_back({"Retry-After", std::to_string(*forced_.retry_after_seconds)});
      }
      decided = true;
    }
  }
  if (!decided && request.method == "POST" && request.path == path_) {
    const std::string key = limit_key(request);
    const std::lock_guard<std::mutex> lock(mutex_);
    auto& times = accepted_at_[key];
    const auto now = Clock::now();
    times.erase(std::remove_if(times.begin(), times.end(),
                               [&](Clock::time_point t) { return now - t >= limit_window_; }),
                times.end());
    if (limit_events_ > 0 && times.size() >= limit_events_) {
      answer = Answer{429, error_body(429), error_content_type()};
      decided = true;
    } else {
      times.push_back(now);
    }
  }
  if (!decided) {
    if (request.path != path_) {
      answer = Answer{404, error_body(404), error_content_type()};
    } else if (request.method != "POST") {
      answer = Answer{405, error_body(405), error_content_type()};
    } else {
      answer = this->answer(request);
    }
  }
  {
    const std::lock_guard<std::mutex> lock(mutex_);
    exchanges_.push_back(VendorExchange{request, answer.status, answer.content_type, answer.body});
  }
  Reply reply;
  reply.status = answer.status;
  reply.body = answer.body;
  reply.headers = answer.headers;
  reply.headers.push_back({"Content-Type", answer.content_type});
  return reply;
}

// ---------------------------------------------------------------------------------------------
// FakePagerDuty

namespace {

constexpr std::size_t pd_body_max = std::size_t{512} * 1024;

std::string pd_error(const char* status, const char* message, const std::vector<std::string>& errors) {
  return std::string(R"({"status":)") + json_string(status) + R"(,"message":)" + json_string(message) +
         R"(,"errors":)" + json_strings(errors) + "}";
}

}  // namespace

FakePagerDuty::FakePagerDuty() : VendorFake("/v2/enqueue", nullptr) { start(); }
FakePagerDuty::FakePagerDuty(const TestCertificates& certs) : VendorFake("/v2/enqueue", &certs) { start(); }
FakePagerDuty::~FakePagerDuty() { stop(); }

std::optional<FakeAlert> FakePagerDuty::alert(const std::string& dedup_key) const {
  const std::lock_guard<std::mutex> lock(alerts_mutex_);
  const auto it = alerts_.find(dedup_key);
  if (it == alerts_.end()) return std::nullopt;
  return it->second;
}

std::map<std::string, FakeAlert> FakePagerDuty::alerts() const {
  const std::lock_guard<std::mutex> lock(alerts_mutex_);
  return alerts_;
}

std::string FakePagerDuty::error_body(int status) const {
  if (status == 429) {
    return pd_error("throttled", "Too many events for this routing key",
                    {"Event rate limit exceeded; retry later"});
  }
  if (status >= 500) return pd_error("error", "Internal error", {"The event was not processed; retry later"});
  return pd_error("not found", "No such endpoint", {"POST events to /v2/enqueue"});
}

std::string FakePagerDuty::limit_key(const RecordedRequest& request) const {
  rj::Document doc;
  return parse_object(request.body, doc) ? string_of(member(doc, "routing_key")) : std::string();
}

FakePagerDuty::Answer FakePagerDuty::answer(const RecordedRequest& request) {
  if (request.body.size() > pd_body_max) {
    return Answer{
        400, pd_error("invalid event", "Event object is invalid", {"Event object is larger than 512 KB"})};
  }
  rj::Document doc;
  if (!parse_object(request.body, doc)) {
    return Answer{
        400, pd_error("Unrecognized object", "Event object format is unrecognized", {"JSON parse error"})};
  }

  std::vector<std::string> errors;
  const rj::Value* routing_key = member(doc, "routing_key");
  if (routing_key == nullptr || !routing_key->IsString() || routing_key->GetStringLength() == 0) {
    errors.emplace_back("'routing_key' is missing or blank");
  } else if (routing_key->GetStringLength() != 32) {
    errors.emplace_back("'routing_key' must be 32 characters long");
  }
  const std::string action = string_of(member(doc, "event_action"));
  if (!one_of(action, {"trigger", "acknowledge", "resolve"})) {
    errors.emplace_back("'event_action' must be one of trigger, acknowledge, resolve");
  }
  const rj::Value* dedup = member(doc, "dedup_key");
  if (dedup != nullptr && !dedup->IsString()) {
    errors.emplace_back("'dedup_key' must be a string");
  } else if (dedup != nullptr && dedup->GetStringLength() > 255) {
    errors.emplace_back("'dedup_key' is longer than 255 characters");
  } else if ((dedup == nullptr || dedup->GetStringLength() == 0) &&
             (action == "acknowledge" || action == "resolve")) {
    errors.emplace_back("'dedup_key' is required to acknowledge or resolve");
  }

  const rj::Value* payload = member(doc, "payload");
  if (payload != nullptr && !payload->IsObject()) {
    errors.emplace_back("'payload' must be an object");
  } else if (payload == nullptr && action == "trigger") {
    errors.emplace_back("'payload' is required to trigger");
  } else if (payload != nullptr) {
    const rj::Value* summary = member(*payload, "summary");
    const rj::Value* source = member(*payload, "source");
    const std::string severity = string_of(member(*payload, "severity"));
    if (summary == nullptr || !summary->IsString() || summary->GetStringLength() == 0) {
      errors.emplace_back("'payload.summary' is missing or blank");
    } else if (summary->GetStringLength() > 1024) {
      errors.emplace_back("'payload.summary' is longer than 1024 characters");
    }
    if (source == nullptr || !source->IsString() || source->GetStringLength() == 0) {
      errors.emplace_back("'payload.source' is missing or blank");
    }
    if (!one_of(severity, {"critical", "error", "warning", "info"})) {
      errors.emplace_back("'payload.severity' must be one of critical, error, warning, info");
    }
    for (const char* name : {"timestamp", "component", "group", "class"}) {
      const rj::Value* value = member(*payload, name);
      if (value != nullptr && !value->IsString())
        errors.push_back(std::string("'payload.") + name + "' must be a string");
    }
    const rj::Value* details = member(*payload, "custom_details");
    if (details != nullptr && !details->IsObject())
      errors.emplace_back("'payload.custom_details' must be an object");
  }
  if (const rj::Value* links = member(doc, "links")) {
    bool ok = links->IsArray();
    if (ok) {
      for (const rj::Value& link : links->GetArray()) {
        ok = ok && link.IsObject() && member(link, "href") != nullptr && member(link, "href")->IsString();
      }
    }
    if (!ok) errors.emplace_back("'links' must be an array of objects with an 'href'");
  }
  if (!errors.empty()) return Answer{400, pd_error("invalid event", "Event object is invalid", errors)};

  std::string key = string_of(dedup);
  const std::lock_guard<std::mutex> lock(alerts_mutex_);
  if (key.empty()) {
    char generated[40];
    std::snprintf(generated, sizeof generated, "%032zx", next_key_++);
    key = generated;
  }
  auto it = alerts_.find(key);
  const bool open = it != alerts_.end() && it->second.status != "resolved";
  if (action == "trigger") {
    if (!open) {
      FakeAlert alert;
      alert.routing_key = string_of(routing_key);
      alert.status = "triggered";
      alert.summary = string_of(member(*payload, "summary"));
      alert.severity = string_of(member(*payload, "severity"));
      it = alerts_.insert_or_assign(key, alert).first;
    }
    ++it->second.events;
  } else if (open) {
    it->second.status = action == "acknowledge" ? "acknowledged" : "resolved";
    ++it->second.events;
  }
  return Answer{202,
                R"({"status":"success","message":"Event processed","dedup_key":)" + json_string(key) + "}"};
}

// ---------------------------------------------------------------------------------------------
// FakeDatadog

namespace {

std::string dd_errors(const std::vector<std::string>& errors) {
  return R"({"errors":)" + json_strings(errors) + "}";
}

}  // namespace

FakeDatadog::FakeDatadog() : VendorFake("/api/v1/events", nullptr) { start(); }
FakeDatadog::FakeDatadog(const TestCertificates& certs) : VendorFake("/api/v1/events", &certs) { start(); }
FakeDatadog::~FakeDatadog() { stop(); }

void FakeDatadog::set_expected_api_key(std::string key) {
  const std::lock_guard<std::mutex> lock(mutex_);
  expected_api_key_ = std::move(key);
}

void FakeDatadog::set_error_content_type(std::string content_type) {
  const std::lock_guard<std::mutex> lock(mutex_);
  error_content_type_ = std::move(content_type);
}

std::vector<std::string> FakeDatadog::event_ids() const {
  const std::lock_guard<std::mutex> lock(mutex_);
  return event_ids_;
}

std::string FakeDatadog::error_content_type() const {
  const std::lock_guard<std::mutex> lock(mutex_);
  return error_content_type_;
}

std::string FakeDatadog::error_body(int status) const {
  if (status == 429) return dd_errors({"Too many requests"});
  if (status == 403) return dd_errors({"Forbidden"});
  if (status == 404) return dd_errors({"Not found"});
  if (status >= 500) return dd_errors({"Internal Server Error"});
  return dd_errors({"Bad Request"});
}

std::string FakeDatadog::limit_key(const RecordedRequest& request) const {
  const std::string* key = find_header(request.headers, "DD-API-KEY");
  return key != nullptr ? *key : std::string();
}

FakeDatadog::Answer FakeDatadog::answer(const RecordedRequest& request) {
  const std::string content_type = error_content_type();
  std::string expected;
  {
    const std::lock_guard<std::mutex> lock(mutex_);
    expected = expected_api_key_;
  }
  const std::string* key = find_header(request.headers, "DD-API-KEY");
  if (key == nullptr || key->empty() || (!expected.empty() && *key != expected)) {
    return Answer{403, error_body(403), content_type};
  }
  rj::Document doc;
  if (!parse_object(request.body, doc))
    return Answer{400, dd_errors({"Invalid JSON in the request body"}), content_type};

  std::vector<std::string> errors;
  for (const char* name : {"title", "text"}) {
    const rj::Value* value = member(doc, name);
    if (value == nullptr) {
      errors.push_back(std::string("Missing required field '") + name + "'");
    } else if (!value->IsString()) {
      errors.push_back(std::string("Field '") + name + "' must be a string");
    }
  }
  if (const rj::Value* text = member(doc, "text");
      text != nullptr && text->IsString() && text->GetStringLength() > 4000) {
    errors.emplace_back("Field 'text' is longer than 4000 characters");
  }
  if (const rj::Value* agg = member(doc, "aggregation_key")) {
    if (!agg->IsString()) {
      errors.emplace_back("Field 'aggregation_key' must be a string");
    } else if (agg->GetStringLength() > 100) {
      errors.emplace_back("Field 'aggregation_key' is longer than 100 characters");
    }
  }
  if (const rj::Value* alert_type = member(doc, "alert_type");
      alert_type != nullptr &&
      !one_of(string_of(alert_type),
              {"error", "warning", "info", "success", "user_update", "recommendation", "snapshot"})) {
    errors.emplace_back("Field 'alert_type' is not a valid alert type");
  }
  if (const rj::Value* priority = member(doc, "priority");
      priority != nullptr && !priority->IsNull() && !one_of(string_of(priority), {"normal", "low"})) {
    errors.emplace_back("Field 'priority' must be normal or low");
  }
  for (const char* name : {"date_happened", "related_event_id"}) {
    const rj::Value* value = member(doc, name);
    if (value != nullptr && !value->IsInt64())
      errors.push_back(std::string("Field '") + name + "' must be an integer");
  }
  for (const char* name : {"host", "device_name", "source_type_name"}) {
    const rj::Value* value = member(doc, name);
    if (value != nullptr && !value->IsString())
      errors.push_back(std::string("Field '") + name + "' must be a string");
  }
  if (const rj::Value* tags = member(doc, "tags")) {
    bool ok = tags->IsArray();
    if (ok) {
      for (const rj::Value& tag : tags->GetArray()) ok = ok && tag.IsString();
    }
    if (!ok) errors.emplace_back("Field 'tags' must be an array of strings");
  }
  if (!errors.empty()) return Answer{400, dd_errors(errors), content_type};

  std::string id;
  {
    const std::lock_guard<std::mutex> lock(mutex_);
    id = std::to_string(next_id_++);
    event_ids_.push_back(id);
  }
  const std::int64_t date = member(doc, "date_happened") != nullptr
                                ? member(doc, "date_happened")->GetInt64()
                                : std::chrono::duration_cast<std::chrono::seconds>(
                                      std::chrono::system_clock::now().time_since_epoch())
                                      .count();
  std::string tags = "[]";
  if (const rj::Value* given = member(doc, "tags")) {
    std::vector<std::string> list;
    for (const rj::Value& tag : given->GetArray()) list.push_back(string_of(&tag));
    tags = json_strings(list);
  }
  const std::string priority = member(doc, "priority") != nullptr && member(doc, "priority")->IsString()
                                   ? string_of(member(doc, "priority"))
                                   : "normal";
  const std::string alert_type =
      member(doc, "alert_type") != nullptr ? string_of(member(doc, "alert_type")) : std::string("info");
  std::string body = R"({"status":"ok","event":{"id":)" + id + R"(,"id_str":")" + id + R"(","title":)" +
                     json_string(string_of(member(doc, "title"))) + R"(,"text":)" +
                     json_string(string_of(member(doc, "text"))) + R"(,"date_happened":)" +
                     std::to_string(date) + R"(,"priority":)" + json_string(priority) + R"(,"alert_type":)" +
                     json_string(alert_type) + R"(,"tags":)" + tags + R"(,"url":"/event/event?id=)" + id +
                     R"("}})";
  return Answer{202, std::move(body)};
}

}  // namespace statusstack::webhooks::testing
