// libFuzzer target: parse_retry_after on arbitrary values and clocks. The first byte picks `now`
// from a table (the epoch, a recent time, a time with a fraction of a second, the extremes of
// system_clock), the rest is the header value. Checked on every input:
// - the result, when there is one, is from 0 to 2^31 - 1 seconds (the documented saturation);
// - an empty value gives nothing; delta-seconds (digits only) always give min(value, 2^31 - 1),
//   however many digits, leading zeros included;
// - any other value gives a result exactly when libcurl reads it as a date, and then
//   max(0, min(date - now rounded down to the second, 2^31 - 1));
// - the same call gives the same answer twice.

#include "fuzz_check.hpp"
#include "transfer.hpp"

#include <statusstack/webhooks/client.hpp>

#include <curl/curl.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <string_view>

namespace ssw = statusstack::webhooks;
using std::chrono::system_clock;

namespace {

constexpr std::int64_t cap = std::numeric_limits<std::int32_t>::max();

system_clock::time_point pick_now(unsigned char selector) {
  using std::chrono::nanoseconds;
  using std::chrono::seconds;
  switch (selector % 8) {
    case 0: return system_clock::time_point{};
    case 1: return system_clock::time_point(seconds(1'700'000'000));
    case 2: return system_clock::time_point(seconds(1'700'000'000)) + nanoseconds(999'999'999);
    case 3: return system_clock::time_point::max();
    case 4: return system_clock::time_point::min();
    case 5: return system_clock::time_point(nanoseconds(-1));
    case 6: return system_clock::time_point(seconds(-2'000'000'000));
    default: return system_clock::time_point(seconds(253'402'300'799 / 100));  // 2050s
  }
}

// min(value, cap) for a string of decimal digits, computed without parse_retry_after's loop.
std::int64_t expected_delta(std::string_view digits) {
  const std::size_t first = digits.find_first_not_of('0');
  if (first == std::string_view::npos) return 0;
  digits.remove_prefix(first);
  if (digits.size() > 10) return cap;
  std::int64_t value = 0;
  for (char c : digits) value = value * 10 + (c - '0');
  return value < cap ? value : cap;
}

std::string show(std::optional<std::chrono::seconds> value) {
  return value ? std::to_string(value->count()) : std::string("nullopt");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const system_clock::time_point now = pick_now(data[0]);
  const std::string_view value(reinterpret_cast<const char*>(data) + 1, size - 1);

  const std::optional<std::chrono::seconds> result = ssw::detail::parse_retry_after(value, now);
  const std::string shown = "value \"" + std::string(value) + "\" gave " + show(result);
  ssw_fuzz::check(result == ssw::detail::parse_retry_after(value, now), "not deterministic", shown);
  if (result) {
    ssw_fuzz::check(result->count() >= 0, "negative Retry-After", shown);
    ssw_fuzz::check(result->count() <= cap, "Retry-After beyond 2^31 - 1 s", shown);
  }
  if (value.empty()) {
    ssw_fuzz::check(!result, "an empty value gave a result", shown);
    return 0;
  }
  if (value.find_first_not_of("0123456789") == std::string_view::npos) {
    ssw_fuzz::check(result && result->count() == expected_delta(value), "delta-seconds misread", shown);
    return 0;
  }
  const std::string text(value);
  const std::time_t date = curl_getdate(text.c_str(), nullptr);
  if (date == -1) {
    ssw_fuzz::check(!result, "a value libcurl does not read as a date gave a result", shown);
    return 0;
  }
  ssw_fuzz::check(result.has_value(), "a date libcurl reads gave no result", shown);
  const std::int64_t now_s = std::chrono::floor<std::chrono::seconds>(now.time_since_epoch()).count();
  const auto date_s = static_cast<std::int64_t>(date);
  std::int64_t expected = 0;
  if (date_s > now_s) {
    // date_s - now_s without overflow: both fit in 63 bits here, and now_s may be negative.
    expected =
        (now_s < 0 && date_s > std::numeric_limits<std::int64_t>::max() + now_s) ? cap : date_s - now_s;
    if (expected > cap) expected = cap;
  }
  ssw_fuzz::check(result->count() == expected, "HTTP-date misread",
                  shown + ", expected " + std::to_string(expected) + " (date " + std::to_string(date_s) +
                      ", now " + std::to_string(now_s) + ")");
  return 0;
}
