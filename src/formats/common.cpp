// What the vendor formats share (common.hpp): the decision, texts, links, subjects, answers.

#include "formats/common.hpp"

#include "detail/text.hpp"

#include <openssl/evp.h>
#include <rapidjson/memorystream.h>
#include <rapidjson/reader.h>

#include <algorithm>
#include <variant>

namespace statusstack::webhooks::formats {
namespace rj = rapidjson;

// ---------------------------------------------------------------------------------------------
// The decision: event type and status -> what an alerting tool is told

namespace {

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

}  // namespace

Decision decide(const Event& event) noexcept { return std::visit(Decide{}, event); }

// ---------------------------------------------------------------------------------------------
// Texts

namespace {

constexpr std::string_view ellipsis = "\xE2\x80\xA6";  // U+2026, 3 bytes

// `text` (valid UTF-8) cut to at most `max` bytes on a character boundary, with an ellipsis when it
// was cut. Bytes are the safe measure: no character takes fewer UTF-16 units or code points than
// UTF-8 bytes, so the result is within `max` however a vendor counts.
}  // namespace

void cut_to(std::string& text, std::size_t max) {
  if (text.size() <= max) return;
  std::size_t end = detail::utf8_prefix(text, max >= ellipsis.size() ? max - ellipsis.size() : 0);
  while (end > 0 && (text[end - 1] == ' ' || text[end - 1] == '\n')) --end;  // no dangling space
  text.resize(end);
  if (max >= ellipsis.size()) text += ellipsis;
}

Text& Text::operator<<(std::string_view ours) {
  out_ += room_for(ours);
  return *this;
}

Text& Text::user(std::string_view text) {
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

Text& Text::status(std::string_view wire) {
  const std::size_t start = out_.size();
  user(wire);
  std::replace(out_.begin() + static_cast<std::ptrdiff_t>(start), out_.end(), '_', ' ');
  return *this;
}

Text& Text::time(Timestamp t) {
  out_ += format_rfc3339(t);
  return *this;
}

Text& Text::number(std::int64_t n) {
  out_ += std::to_string(n);
  return *this;
}

// What of `piece` fits: everything until the text is one byte past its budget (so that the cut
// still sees that it has to cut).
std::string_view Text::room_for(std::string_view piece) const {
  if (budget_ == std::string::npos) return piece;
  const std::size_t limit = budget_ + 1;
  return out_.size() >= limit ? std::string_view() : piece.substr(0, limit - out_.size());
}

const std::string& first_nonempty(const std::string& a, const std::string& b) { return a.empty() ? b : a; }
const std::string& first_nonempty(const std::string& a, const std::string& b, const std::string& c) {
  return !a.empty() ? a : first_nonempty(b, c);
}

const std::string& stack_label(const Stack& s) { return first_nonempty(s.name, s.slug, s.id); }
const std::string& stack_slug(const Stack& s) { return first_nonempty(s.slug, s.id); }

namespace {

void impact_phrase(Text& t, const IncidentImpact& impact) {
  if (impact == IncidentImpact::none) {
    t << "no impact";
  } else {
    t.status(impact.to_string()) << " impact";
  }
}

}  // namespace

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

namespace {

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

}  // namespace

void headline(Text& t, const Event& event) { std::visit(Headline{t}, event); }

std::string one_line(std::string_view text, std::size_t max) {
  Text t(true, max);
  t.user(text);
  return t.take(max);
}

namespace {

// A URL worth linking: http(s), printable ASCII, not absurdly long. Anything else is left out
// rather than risking the vendor refusing the whole event over a link.
bool linkable(std::string_view url) {
  if (url.size() > 2048) return false;
  if (url.substr(0, 8) != "https://" && url.substr(0, 7) != "http://") return false;
  return std::all_of(url.begin(), url.end(), [](char c) { return c > ' ' && c < 0x7F; });
}

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

}  // namespace

Link link_of(const Event& event) {
  Link link = std::visit(LinkOf{}, event);
  if (link.url != nullptr && !linkable(*link.url)) link = {};
  return link;
}

// ---------------------------------------------------------------------------------------------
// Subjects

namespace {

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

}  // namespace

Subject subject_of(const Event& event) noexcept { return std::visit(SubjectOf{}, event); }

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

// The unbounded key "statusstack:<stack>:<kind>:<id>".
std::string full_key(const Event& event) {
  const Subject subject = subject_of(event);
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
  std::string out(hashed_prefix);
  detail::append_hex(out, digest, length);
  return out;
}

}  // namespace

std::string subject_key(const Event& event, std::size_t max) {
  std::string key = full_key(event);
  return key.size() <= max ? key : hashed_key(key);
}

// ---------------------------------------------------------------------------------------------
// Settings

Error unused_field(const char* field, Format format) {
  return Error{ErrorCode::invalid_config,
               std::string(field) + ": not a setting of the " + to_string(format) + " format", field};
}

// ---------------------------------------------------------------------------------------------
// Answers

namespace {

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
      errors.emplace_back(value.substr(0, answer_error_max));
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

bool plain_text(std::string_view content_type) {
  if (content_type.empty()) return true;
  return detail::istarts_with(content_type, "text/plain");
}

}  // namespace

std::string clean_answer_text(std::string_view text, std::size_t max, bool mark_cut) {
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

JsonAnswer read_json_answer(std::string_view body) {
  JsonAnswer answer;
  if (body.size() > vendor_answer_bytes) return answer;
  AnswerHandler handler;
  rj::Reader reader;
  rj::MemoryStream stream(body.data(), body.size());
  answer.parsed = !reader.Parse<rj::kParseIterativeFlag>(stream, handler).IsError() && handler.root_is_object;
  if (!answer.parsed) return answer;
  answer.status = std::move(handler.status);
  answer.message = std::move(handler.message);
  answer.dedup_key = std::move(handler.dedup_key);
  answer.id_str = std::move(handler.id_str);
  answer.id_number = std::move(handler.id_number);
  answer.errors = std::move(handler.errors);
  return answer;
}

std::string joined_errors(const JsonAnswer& answer) {
  std::string errors;
  for (const std::string& e : answer.errors) {
    const std::string cleaned = clean_answer_text(e, answer_error_max);
    if (cleaned.empty()) continue;
    if (!errors.empty()) errors += "; ";
    errors += cleaned;
    if (errors.size() > answer_error_max) break;
  }
  return errors;
}

VendorAnswer read_answer_with(int status, std::string_view content_type, std::string_view body,
                              std::string (*receipt_of)(const JsonAnswer&),
                              std::string (*error_of)(const JsonAnswer&)) {
  VendorAnswer answer;
  const bool success = status >= 200 && status < 300;
  const bool failure = status >= 400;
  if (!success && !failure) return answer;
  const JsonAnswer json = read_json_answer(body);
  if (success) {
    if (json.parsed) answer.receipt = clean_answer_text(receipt_of(json), receipt_max, false);
    return answer;
  }
  if (json.parsed) {
    answer.error = error_of(json);
    cut_to(answer.error, answer_error_max);
  } else if (plain_text(content_type)) {
    const std::string_view first_line = body.substr(0, body.find_first_of("\r\n"));
    answer.error = clean_answer_text(first_line.substr(0, 256), 200);
  }
  return answer;
}

}  // namespace statusstack::webhooks::formats
