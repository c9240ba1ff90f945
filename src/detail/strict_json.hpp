#pragma once

// The one strict JSON reader: events from receivers (parse_event) and rules files (parse_rules) both
// go through it. It parses without recursion and refuses what we do not want to hold: nesting
// deeper than a limit, a key repeated in one object, strings that do not decode to UTF-8, and
// anything but whitespace after the document.

#include <statusstack/webhooks/export.hpp>

#include <rapidjson/document.h>

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace statusstack::webhooks::detail {

/// Why strict parsing failed.
struct JsonFailure {
  std::size_t offset = 0;  ///< byte offset in the text where parsing stopped
  /// RapidJSON's syntax message ("Missing a name for object member.") when `syntax`; otherwise
  /// what the guard refused, after the path of the value ("stack.x.a: duplicate key").
  std::string message;
  std::string path;     ///< the path of the value being read ("endpoints[0].name"), when known
  bool syntax = false;  ///< a syntax error (RapidJSON's), not a refusal of the guard
};

/// Parses exactly one JSON document from `json` into `document`. Returns the first problem, or
/// nullopt when the document is in. Never throws for bad input (std::bad_alloc may escape).
STATUSSTACK_WEBHOOKS_EXPORT std::optional<JsonFailure> parse_strict_json(std::string_view json,
                                                                         rapidjson::Document& document,
                                                                         int max_depth);

/// "line 3, column 14": the position of byte `offset` of `text`, both counted from 1 (columns in
/// bytes), for messages about files people edit.
STATUSSTACK_WEBHOOKS_EXPORT std::string line_and_column(std::string_view text, std::size_t offset);

}  // namespace statusstack::webhooks::detail
