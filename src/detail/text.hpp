#pragma once

// Small text helpers, one copy each for the whole library and the CLI: hex, trimming, UTF-8 checks,
// quoting untrusted text in messages. The out-of-line ones are exported: the delivery library and
// the CLI call them in the core library (src/ headers are not installed).

#include <statusstack/webhooks/export.hpp>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

namespace statusstack::webhooks::detail {

/// Which letters write_hex uses: lowercase is what signatures and keys use; uppercase is how
/// RapidJSON writes "\u001F", which the JSON writer matches.
enum class HexCase { lower, upper };

/// Writes the hex of `size` bytes to `out`, two digits a byte (2 * size characters, no terminator).
/// Allocates nothing: signing a request goes through it.
inline void write_hex(const unsigned char* bytes, std::size_t size, char* out,
                      HexCase letters = HexCase::lower) noexcept {
  const char* const digits = letters == HexCase::lower ? "0123456789abcdef" : "0123456789ABCDEF";
  for (std::size_t i = 0; i < size; ++i) {
    out[2 * i] = digits[bytes[i] >> 4U];
    out[2 * i + 1] = digits[bytes[i] & 0x0FU];
  }
}

/// Appends the lowercase hex of `size` bytes to `out`.
inline void append_hex(std::string& out, const unsigned char* bytes, std::size_t size) {
  const std::size_t at = out.size();
  out.resize(at + 2 * size);
  write_hex(bytes, size, &out[at]);
}

/// HTTP's optional whitespace (RFC 9110 section 5.6.3): what surrounds a header value but is not
/// part of it.
inline constexpr std::string_view http_whitespace = " \t";

/// `text` without the leading and trailing bytes found in `strip` (by default spaces and tabs).
constexpr std::string_view trim(std::string_view text, std::string_view strip = http_whitespace) noexcept {
  const std::size_t first = text.find_first_not_of(strip);
  if (first == std::string_view::npos) return {};
  return text.substr(first, text.find_last_not_of(strip) - first + 1);
}

/// Eight bytes of `p` as one word (any alignment), for scanning text a word at a time.
inline std::uint64_t load_word(const char* p) noexcept {
  std::uint64_t word;
  std::memcpy(&word, p, sizeof word);
  return word;
}
inline constexpr std::uint64_t word_ones = 0x0101010101010101ULL;
inline constexpr std::uint64_t word_highs = 0x8080808080808080ULL;

/// True when one of the word's bytes is below 0x20, '"' or '\\' (must be escaped in JSON). Each
/// test is the classic "has a byte below n" trick: a byte borrows into its high bit only if it was
/// below n, and `~word` rules out bytes whose high bit was set already (so UTF-8 passes).
inline bool word_needs_json_escape(std::uint64_t word) noexcept {
  const std::uint64_t quote = word ^ (word_ones * '"');
  const std::uint64_t backslash = word ^ (word_ones * '\\');
  const std::uint64_t control = (word - word_ones * 0x20) & ~word;
  const std::uint64_t is_quote = (quote - word_ones) & ~quote;
  const std::uint64_t is_backslash = (backslash - word_ones) & ~backslash;
  return ((control | is_quote | is_backslash) & word_highs) != 0;
}

/// The length of the longest prefix of `text` of at most `limit` bytes that does not cut a UTF-8
/// character in two (it backs off continuation bytes): where to cut text for a message or a limit.
inline std::size_t utf8_prefix(std::string_view text, std::size_t limit) noexcept {
  if (text.size() <= limit) return text.size();
  std::size_t end = limit;
  while (end > 0 && (static_cast<unsigned char>(text[end]) & 0xC0U) == 0x80U) --end;
  return end;
}

/// True when `a` and `b` are equal ignoring ASCII case (header names, hex digits, format names).
constexpr bool iequals(std::string_view a, std::string_view b) noexcept {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    const char x = (a[i] >= 'A' && a[i] <= 'Z') ? static_cast<char>(a[i] + 32) : a[i];
    const char y = (b[i] >= 'A' && b[i] <= 'Z') ? static_cast<char>(b[i] + 32) : b[i];
    if (x != y) return false;
  }
  return true;
}

/// True when `text` begins with `prefix`, ignoring ASCII case ("Text/Plain; charset=...", "X-StatusStack-").
constexpr bool istarts_with(std::string_view text, std::string_view prefix) noexcept {
  return text.size() >= prefix.size() && iequals(text.substr(0, prefix.size()), prefix);
}

/// True when `text` is well-formed UTF-8: no overlong forms, no surrogates, nothing past U+10FFFF.
STATUSSTACK_WEBHOOKS_EXPORT bool is_valid_utf8(std::string_view text) noexcept;

/// `text` with every ill-formed byte replaced by U+FFFD.
STATUSSTACK_WEBHOOKS_EXPORT std::string repair_utf8(std::string_view text);

/// `text` in double quotes for an error message: quotes, backslashes and control bytes escaped,
/// cut (at a character boundary) after `max_bytes` with "..." so hostile input stays readable.
STATUSSTACK_WEBHOOKS_EXPORT std::string quote_for_message(std::string_view text, std::size_t max_bytes = 64);

}  // namespace statusstack::webhooks::detail
