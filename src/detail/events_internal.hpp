#pragma once

// Shared between events.cpp and event_json.cpp: calendar math, the fast timestamp formatter, and
// the validation rules that parse_event and validate_event both apply (same messages).

#include <statusstack/webhooks/events.hpp>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace statusstack::webhooks::detail {

/// The largest integer a JavaScript receiver reads exactly (2^53 - 1): the cap on every
/// integer field whose range is not otherwise bounded.
inline constexpr std::int64_t max_json_integer = 9'007'199'254'740'991;

/// "YYYY-MM-DDTHH:MM:SS.ffffffZ" is the longest form format_rfc3339 writes.
inline constexpr std::size_t max_rfc3339_length = 27;

struct CivilDate {
  std::int64_t year = 1970;
  unsigned month = 1;  ///< 1-12
  unsigned day = 1;    ///< 1-31
};

std::int64_t days_from_civil(std::int64_t year, unsigned month, unsigned day) noexcept;
CivilDate civil_from_days(std::int64_t days) noexcept;
bool is_leap_year(std::int64_t year) noexcept;
unsigned days_in_month(std::int64_t year, unsigned month) noexcept;
std::int64_t min_timestamp_micros() noexcept;  ///< 0001-01-01T00:00:00Z
std::int64_t max_timestamp_micros() noexcept;  ///< 9999-12-31T23:59:59.999999Z

/// Writes the RFC 3339 form into out (at least max_rfc3339_length bytes); returns its length.
std::size_t format_rfc3339(Timestamp timestamp, char* out) noexcept;

// Validation rules; each returns the Error for `field` when the value breaks the rule.
std::optional<Error> check_id(std::string_view field, std::string_view id);
std::optional<Error> check_range(std::string_view field, std::int64_t value, std::int64_t min,
                                 std::int64_t max);
std::optional<Error> check_timestamp(std::string_view field, Timestamp timestamp);
std::optional<Error> check_maintenance_window(Timestamp start, Timestamp end);
Error missing(const std::string& field);

}  // namespace statusstack::webhooks::detail
