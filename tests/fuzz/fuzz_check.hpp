#pragma once

// Small helpers the libFuzzer targets share: a check that reports what broke and aborts (libFuzzer
// then keeps the input as build/fuzz/crash-*), and the split of an input into lines.

#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

namespace ssw_fuzz {

/// Prints "invariant broken: <what>" and the detail, then aborts.
[[noreturn]] inline void fail(const char* what, std::string_view detail = {}) {
  std::fprintf(stderr, "invariant broken: %s\n%.*s\n", what, static_cast<int>(detail.size()), detail.data());
  std::abort();
}

/// Aborts with `what` unless `condition` holds.
inline void check(bool condition, const char* what, std::string_view detail = {}) {
  if (!condition) fail(what, detail);
}

/// The first `count` lines of `input` (without their '\n'), and what follows them in `rest`. Fewer
/// lines when the input has fewer '\n'; `rest` is then empty.
inline std::vector<std::string_view> take_lines(std::string_view input, std::size_t count,
                                                std::string_view& rest) {
  std::vector<std::string_view> lines;
  while (lines.size() < count) {
    const std::size_t newline = input.find('\n');
    if (newline == std::string_view::npos) {
      lines.push_back(input);
      input = {};
      break;
    }
    lines.push_back(input.substr(0, newline));
    input.remove_prefix(newline + 1);
  }
  rest = input;
  return lines;
}

/// `text` with every `marker` replaced by `value`.
inline std::string replace_all(std::string_view text, std::string_view marker, std::string_view value) {
  std::string out;
  std::size_t from = 0;
  for (std::size_t at = text.find(marker); at != std::string_view::npos; at = text.find(marker, from)) {
    out.append(text.substr(from, at - from));
    out.append(value);
    from = at + marker.size();
  }
  out.append(text.substr(from));
  return out;
}

/// How many times `needle` occurs in `text` (overlapping occurrences counted).
inline std::size_t count_of(std::string_view text, std::string_view needle) {
  std::size_t count = 0;
  for (std::size_t at = text.find(needle); at != std::string_view::npos; at = text.find(needle, at + 1))
    ++count;
  return count;
}

}  // namespace ssw_fuzz
