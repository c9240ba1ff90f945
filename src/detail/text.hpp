#pragma once

// Small text helpers shared by the event code (UTF-8 checks, quoting untrusted text in messages).

#include <cstddef>
#include <string>
#include <string_view>

namespace statusstack::webhooks::detail {

/// True when `text` is well-formed UTF-8: no overlong forms, no surrogates, nothing past U+10FFFF.
bool is_valid_utf8(std::string_view text) noexcept;

/// `text` with every ill-formed byte replaced by U+FFFD.
std::string repair_utf8(std::string_view text);

/// `text` in double quotes for an error message: quotes, backslashes and control bytes escaped,
/// cut (at a character boundary) after `max_bytes` with "..." so hostile input stays readable.
std::string quote_for_message(std::string_view text, std::size_t max_bytes = 64);

}  // namespace statusstack::webhooks::detail
