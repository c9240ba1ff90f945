#pragma once

// What the vendor formats share: the decision an event makes (trigger, acknowledge or resolve, and
// how severe), the texts built from untrusted event strings, the link worth showing, the keys of
// the thing an event is about and the reading of a JSON answer. Bodies are written with
// detail::JsonWriter, the library's one JSON writer.

#include <statusstack/webhooks/error.hpp>
#include <statusstack/webhooks/events.hpp>
#include <statusstack/webhooks/formats.hpp>

#include "formats/profile.hpp"

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace statusstack::webhooks::formats {

// --- The decision ---------------------------------------------------------------------------

enum class Action { trigger, acknowledge, resolve };
enum class Severity { critical, error, warning, info };

/// What an event asks of an alerting tool. docs/integrations.md has the table.
struct Decision {
  Action action;
  Severity severity;
};
Decision decide(const Event& event) noexcept;

// --- Texts ----------------------------------------------------------------------------------

/// `text` (valid UTF-8) cut to at most `max` bytes on a character boundary, with an ellipsis when it
/// was cut. Bytes are the safe measure: no character takes fewer UTF-16 units or code points than
/// UTF-8 bytes, so the result is within `max` however a vendor counts.
void cut_to(std::string& text, std::size_t max);

/// Builds a text from trusted pieces (ours, valid UTF-8) and untrusted ones (the event's strings),
/// which are repaired when ill-formed and, for one-line texts, have control characters turned into
/// spaces. Appends stop a little past `budget` bytes: take(budget) cuts there anyway, so a huge
/// field costs no more than a short one.
class Text {
 public:
  explicit Text(bool one_line = false, std::size_t budget = std::string::npos)
      : one_line_(one_line), budget_(budget) {}

  Text& operator<<(std::string_view ours);
  Text& operator<<(char ours) { return *this << std::string_view(&ours, 1); }
  /// The event's text.
  Text& user(std::string_view text);
  /// A status's wire name, as words: "partial_outage" -> "partial outage".
  Text& status(std::string_view wire);
  Text& time(Timestamp t);
  Text& number(std::int64_t n);

  std::string& str() { return out_; }
  std::string take(std::size_t max) {
    cut_to(out_, max);
    return std::move(out_);
  }

 private:
  std::string_view room_for(std::string_view piece) const;

  std::string out_;
  bool one_line_;
  std::size_t budget_;
};

const std::string& first_nonempty(const std::string& a, const std::string& b);
const std::string& first_nonempty(const std::string& a, const std::string& b, const std::string& c);
/// The stack's name for people (name, slug or id) and for machines (slug or id).
const std::string& stack_label(const Stack& s);
const std::string& stack_slug(const Stack& s);

/// "3d 4h 5m 6s", the largest units first, zero parts left out ("0s" for nothing).
void duration_phrase(Text& t, std::chrono::seconds duration);
/// The one-line headline of an event: PagerDuty's summary (after "[stack] ") and Datadog's title.
void headline(Text& t, const Event& event);
/// `text` on one line, at most `max` bytes.
std::string one_line(std::string_view text, std::size_t max);

/// The page an event links to (an incident, a maintenance, a monitor), when it is worth linking.
struct Link {
  const std::string* url = nullptr;
  const char* text = nullptr;
};
Link link_of(const Event& event);

// --- Keys -----------------------------------------------------------------------------------

/// The thing an event is about: "component", "monitor", "incident" or "maintenance", and its id.
struct Subject {
  const char* kind;
  const std::string* id;
};
Subject subject_of(const Event& event) noexcept;
/// "statusstack:<stack id>:<kind>:<id>" (":" and "%" in ids written %3A and %25), or when that is
/// longer than `max` bytes "statusstack:sha256:<64 hex digits>" of it.
std::string subject_key(const Event& event, std::size_t max);

// --- Settings -------------------------------------------------------------------------------

/// The error for a key a format does not take: `routing_key: not a setting of the datadog format`.
Error unused_field(const char* field, Format format);

// --- JSON -----------------------------------------------------------------------------------

/// The few fields read from a vendor's JSON answer: "status", "message", "dedup_key" and "errors"
/// (strings) at the top, "id_str" / "id" inside "event". `parsed` is false when the body is not a
/// JSON object (or too large to be an answer).
struct JsonAnswer {
  bool parsed = false;
  std::string status, message, dedup_key, id_str, id_number;
  std::vector<std::string> errors;
};
JsonAnswer read_json_answer(std::string_view body);

/// Valid UTF-8, control characters as spaces, surrounding spaces trimmed, cut to `max` bytes (with
/// an ellipsis when `mark_cut`; else a longer text gives nothing: a cut identifier names another).
std::string clean_answer_text(std::string_view text, std::size_t max, bool mark_cut = true);

/// The limits of what is read from an answer.
inline constexpr std::size_t receipt_max = 255;
inline constexpr std::size_t answer_error_max = 1024;

/// A vendor's answer read the common way: a 2xx gives `receipt` (cleaned); a status >= 400 gives
/// `error_of(answer)` when the body is JSON, else the first line of a text/plain (or untyped) body.
VendorAnswer read_answer_with(int status, std::string_view content_type, std::string_view body,
                              std::string (*receipt_of)(const JsonAnswer&),
                              std::string (*error_of)(const JsonAnswer&));
/// The answer's "errors" strings, cleaned and joined with "; ", at most answer_error_max bytes.
std::string joined_errors(const JsonAnswer& answer);

}  // namespace statusstack::webhooks::formats
