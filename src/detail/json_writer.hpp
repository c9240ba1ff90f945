#pragma once

// The one JSON writer of the library (to_json, the vendors' bodies) and of the CLI (json_quote).
// It appends straight to a std::string: no DOM, no generic writer, because to_json runs for every
// dispatched event (a RapidJSON Writer into a StringBuffer spent two thirds of its time putting
// strings through one character at a time). Strings are escaped exactly as RapidJSON's Writer
// escapes them, so our output and RapidJSON's never differ.
//
//   JsonWriter out(1024);
//   out.begin_object();
//   out.field("event", "monitor.down");         // literal keys are copied, not escaped
//   out.key(name);                              // any other key is escaped like a string
//   out.begin_array(); out.integer(1); out.boolean(true); out.raw(json); out.end_array();
//   out.end_object();
//   std::string body = out.take();
//
// Commas are the writer's business: every value or key that is not the first in its container
// gets one. It does not check the structure (a key outside an object, an unclosed array): callers
// write fixed shapes.
//
// The CLI includes it too: what the CLI calls is inline or exported (the libraries hide the rest).

#include "detail/events_internal.hpp"
#include "detail/text.hpp"

#include <statusstack/webhooks/events.hpp>

#include <charconv>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>

namespace statusstack::webhooks::detail {

/// Appends `text` to `out` as a quoted JSON string. Runs of bytes that need no escaping are copied
/// whole (found eight bytes at a time); '"', '\\' and control characters become \", \\, \b, \f, \n,
/// \r, \t or \u00XX (uppercase hex, as RapidJSON writes them). Everything else, UTF-8 included, is
/// copied as is: the caller makes sure it is valid UTF-8 (JsonWriter::string does).
inline void append_json_string(std::string& out, std::string_view text) {
  out += '"';
  const char* const begin = text.data();
  const std::size_t size = text.size();
  std::size_t run = 0;  // start of the bytes not yet copied
  std::size_t i = 0;
  while (i < size) {
    if (i + 8 <= size && !word_needs_json_escape(load_word(begin + i))) {
      i += 8;
      continue;
    }
    const auto c = static_cast<unsigned char>(begin[i]);
    if (c >= 0x20 && c != '"' && c != '\\') {
      ++i;
      continue;
    }
    out.append(begin + run, i - run);
    char escape[6] = {'\\', 'u', '0', '0'};
    write_hex(&c, 1, escape + 4, HexCase::upper);
    std::size_t length = 6;
    switch (c) {
      case '"': escape[1] = '"', length = 2; break;
      case '\\': escape[1] = '\\', length = 2; break;
      case '\b': escape[1] = 'b', length = 2; break;
      case '\f': escape[1] = 'f', length = 2; break;
      case '\n': escape[1] = 'n', length = 2; break;
      case '\r': escape[1] = 'r', length = 2; break;
      case '\t': escape[1] = 't', length = 2; break;
      default: break;
    }
    out.append(escape, length);
    run = ++i;
  }
  out.append(begin + run, size - run);
  out += '"';
}

/// Writes JSON into a string it owns (see the top of this file). Not thread-safe; one per document.
class JsonWriter {
 public:
  /// Reserves `capacity` bytes: the expected size saves the string's regrowth.
  explicit JsonWriter(std::size_t capacity = 256) { out_.reserve(capacity); }

  void begin_object() { open('{'); }
  void end_object() { close('}'); }
  void begin_array() { open('['); }
  void end_array() { close(']'); }

  /// A key given as a string literal, which must need no escaping (our own keys): `,"name":` is
  /// copied in one append.
  template <std::size_t N>
  void key(const char (&name)[N]) {
    char text[N + 3];
    text[0] = ',';
    text[1] = '"';
    std::memcpy(text + 2, name, N - 1);
    text[N + 1] = '"';
    text[N + 2] = ':';
    out_.append(first_ ? text + 1 : text, first_ ? N + 2 : N + 3);
    first_ = true;  // the value that follows takes no comma
  }
  /// Any other key (built at run time): escaped, and made valid UTF-8, as a string is.
  void key(std::string_view name) {
    string(name);
    out_ += ':';
    first_ = true;
  }

  /// A string value. Ill-formed UTF-8 is replaced by U+FFFD, so the output is always valid JSON.
  void string(std::string_view text) {
    separate();
    if (is_valid_utf8(text)) {
      append_json_string(out_, text);
    } else {
      append_json_string(out_, repair_utf8(text));
    }
  }
  /// A timestamp as its RFC 3339 string (format_rfc3339's form).
  void timestamp(Timestamp value) {
    separate();
    char quoted[max_rfc3339_length + 2];
    quoted[0] = '"';
    const std::size_t length = format_rfc3339(value, quoted + 1);
    quoted[length + 1] = '"';
    out_.append(quoted, length + 2);
  }
  void integer(std::int64_t value) {
    separate();
    char digits[24];
    const auto result = std::to_chars(digits, digits + sizeof digits, value);
    out_.append(digits, static_cast<std::size_t>(result.ptr - digits));
  }
  void boolean(bool value) {
    separate();
    out_ += value ? "true" : "false";
  }
  /// A complete JSON value (object, array, number, literal or string), copied as it is: the caller
  /// guarantees it is valid JSON (to_json's output, say).
  void raw(std::string_view json) {
    separate();
    out_ += json;
  }

  /// key(name), then the value. `name` is a literal or any string. The bool overload takes a bool
  /// only: a string literal would otherwise convert to `true` before it converts to a string_view.
  template <class Name>
  void field(const Name& name, std::string_view value) {
    key(name);
    string(value);
  }
  template <class Name>
  void field(const Name& name, Timestamp value) {
    key(name);
    timestamp(value);
  }
  template <class Name>
  void field(const Name& name, std::int64_t value) {
    key(name);
    integer(value);
  }
  template <class Name, class Bool, std::enable_if_t<std::is_same_v<Bool, bool>, int> = 0>
  void field(const Name& name, Bool value) {
    key(name);
    boolean(value);
  }

  /// The JSON written so far; the writer is empty afterwards.
  std::string take() {
    std::string json = std::move(out_);
    out_.clear();
    first_ = true;
    return json;
  }

 private:
  void separate() {
    if (!first_) out_ += ',';
    first_ = false;
  }
  void open(char bracket) {
    separate();
    out_ += bracket;
    first_ = true;
  }
  void close(char bracket) {
    out_ += bracket;
    first_ = false;
  }

  std::string out_;
  bool first_ = true;  // no comma before the next key or value
};

}  // namespace statusstack::webhooks::detail
