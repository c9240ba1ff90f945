// libFuzzer target: the formats' answer readers (formats::read_answer) on arbitrary answers.
//
// Input: a first line "<format> <status> <content type>" (format: pagerduty, datadog or
// statusstack; status: a decimal int, negative and out-of-range ones included; the content type
// is the rest of the line, possibly empty), then the body. A first line that does not read so
// is skipped (return 0). Checked on every answer:
// - never throws; a statusstack answer, and any status outside 2xx and >= 400, gives nothing;
// - a receipt only from a 2xx, an error only from a status >= 400;
// - the receipt is at most 255 bytes, the error at most 1024;
// - both are valid UTF-8 (no overlong forms, no surrogates, nothing above U+10FFFF) without C0
//   control characters or DEL (what the header promises: "valid UTF-8 without control characters");
// - the same call gives the same answer twice.

#include "fuzz_check.hpp"

#include <statusstack/webhooks/formats.hpp>

#include "formats/profile.hpp"

#include <charconv>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace ssw = statusstack::webhooks;
using ssw_fuzz::check;

namespace {

// Strict UTF-8 (RFC 3629), written here rather than taken from the library.
bool valid_utf8(std::string_view text) {
  std::size_t i = 0;
  while (i < text.size()) {
    const auto lead = static_cast<unsigned char>(text[i]);
    std::size_t length = 0;
    std::uint32_t code = 0;
    if (lead < 0x80) {
      ++i;
      continue;
    }
    if (lead >= 0xC2 && lead <= 0xDF) {
      length = 2;
      code = lead & 0x1Fu;
    } else if (lead >= 0xE0 && lead <= 0xEF) {
      length = 3;
      code = lead & 0x0Fu;
    } else if (lead >= 0xF0 && lead <= 0xF4) {
      length = 4;
      code = lead & 0x07u;
    } else {
      return false;
    }
    if (i + length > text.size()) return false;
    for (std::size_t k = 1; k < length; ++k) {
      const auto next = static_cast<unsigned char>(text[i + k]);
      if ((next & 0xC0u) != 0x80u) return false;
      code = code << 6 | (next & 0x3Fu);
    }
    if ((length == 3 && code < 0x800) || (length == 4 && code < 0x10000) || code > 0x10FFFF ||
        (code >= 0xD800 && code <= 0xDFFF)) {
      return false;
    }
    i += length;
  }
  return true;
}

void check_text(std::string_view text, std::size_t max, const char* what, const std::string& shown) {
  check(text.size() <= max, what, shown);
  check(valid_utf8(text), what, shown);
  for (char c : text) {
    const auto byte = static_cast<unsigned char>(c);
    check(byte >= 0x20 && byte != 0x7f, what, shown);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  std::string_view body;
  const std::vector<std::string_view> lines = ssw_fuzz::take_lines(input, 1, body);
  std::string_view head = lines.front();

  const std::size_t space = head.find(' ');
  const auto format = ssw::parse_format(head.substr(0, space));
  if (!format || space == std::string_view::npos) return 0;
  head.remove_prefix(space + 1);
  int status = 0;
  const auto [end, ec] = std::from_chars(head.data(), head.data() + head.size(), status);
  if (ec != std::errc{}) return 0;
  head.remove_prefix(static_cast<std::size_t>(end - head.data()));
  if (!head.empty() && head.front() == ' ') head.remove_prefix(1);
  const std::string_view content_type = head;

  ssw::formats::VendorAnswer answer;
  try {
    answer = ssw::formats::read_answer(*format, status, content_type, body);
  } catch (...) {
    ssw_fuzz::fail("read_answer threw");
  }
  const std::string shown = "status " + std::to_string(status) + ": receipt \"" + answer.receipt +
                            "\", error \"" + answer.error + "\"";
  const bool success = status >= 200 && status < 300;
  if (*format == ssw::Format::statusstack) {
    check(answer.receipt.empty() && answer.error.empty(), "a statusstack answer was read", shown);
  }
  check(success || answer.receipt.empty(), "a receipt from a status that is not 2xx", shown);
  check(status >= 400 || answer.error.empty(), "an error from a status below 400", shown);
  check_text(answer.receipt, 255, "receipt is not short, clean UTF-8", shown);
  check_text(answer.error, 1024, "error is not short, clean UTF-8", shown);
  const ssw::formats::VendorAnswer again = ssw::formats::read_answer(*format, status, content_type, body);
  check(again.receipt == answer.receipt && again.error == answer.error, "not deterministic", shown);
  return 0;
}
