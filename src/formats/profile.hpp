#pragma once

// A format's profile: everything the library knows of one format (StatusStack's own webhook,
// PagerDuty, Datadog) in one place, so that the endpoint, rules and dispatcher code ask the profile
// instead of switching on the format. Each format defines its profile in its own file of this
// folder (statusstack.cpp, pagerduty.cpp, datadog.cpp); profile_of() picks it.

#include <statusstack/webhooks/error.hpp>
#include <statusstack/webhooks/events.hpp>
#include <statusstack/webhooks/export.hpp>
#include <statusstack/webhooks/formats.hpp>
#include <statusstack/webhooks/signature.hpp>

#include <array>
#include <chrono>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace statusstack::webhooks::formats {

/// How much of a vendor's answer is read: its answers are tiny, a larger body is not one.
inline constexpr std::size_t vendor_answer_bytes = std::size_t{64} * 1024;

/// What a vendor answered, read from its response: the receipt of an accepted event (PagerDuty's
/// dedup_key, Datadog's event id_str) or the error messages of a refused one; both empty when there
/// is nothing to read. Texts are valid UTF-8 without control characters.
struct VendorAnswer {
  std::string receipt;  ///< from a 2xx; at most 255 bytes
  std::string error;    ///< from a status >= 400, e.g. "Event object is invalid: ..."; at most 1024 bytes
};

/// A format's settings as a rules file (or a command line) gives them, key by key, before they are
/// known to fit the format: the profile turns them into FormatSettings or says which key is wrong.
struct FormatFields {
  std::optional<Secret> routing_key;
  std::optional<Secret> api_key;
  std::optional<std::string> site;
};

/// One format. A constant of static storage (no state): the functions are pure and thread-safe.
struct Profile {
  Format format;
  /// Its endpoints name their URL and a secret. False for the vendors: they have a default URL and
  /// authenticate with their own keys, so a rules file may leave both out.
  bool needs_url_and_secret;
  /// The rate limit the vendor documents per key, an endpoint's default; 0: none.
  unsigned events_per_minute;
  /// How old an event the vendor still takes (Datadog: 18 hours); zero: no limit.
  std::chrono::hours max_event_age;
  /// A header the format sets itself (its API key), which custom headers may not replace; or empty.
  std::string_view own_header;
  /// The vendor's answers are read (receipts and errors): how much of one to keep; 0: not read.
  std::size_t answer_bytes;

  /// The URL its requests go to when the endpoint names none; empty for statusstack.
  std::string (*default_url)(const FormatSettings& settings);
  /// validate_format_settings for this format's alternative.
  Result<void> (*validate)(const FormatSettings& settings);
  /// The settings from loose fields: a key the format does not use is an error naming it.
  Result<FormatSettings> (*from_fields)(FormatFields&& fields);
  /// The vendor's request for the event, where `event_json` is to_json(event) when `uses_json` (else
  /// empty). nullptr: the body is the event's JSON itself, with no headers of the format's own.
  FormattedRequest (*request)(const Event& event, const FormatSettings& settings,
                              std::string_view event_json);
  bool uses_json;
  /// The key that keeps deliveries about the same thing in order (a PagerDuty resolve must not
  /// overtake its trigger), or nullptr when the format needs no order.
  std::string (*order_key)(const Event& event);
  /// Reads the vendor's answer (never throws; any input); nullptr when answers are not read.
  VendorAnswer (*read_answer)(int status, std::string_view content_type, std::string_view body);
};

/// Every format, in the order of Format (and of FormatSettings' alternatives).
inline constexpr std::array<Format, 3> all_formats{Format::statusstack, Format::pagerduty, Format::datadog};

extern const Profile statusstack_profile;
extern const Profile pagerduty_profile;
extern const Profile datadog_profile;

/// The profile of a format. Out-of-range values get statusstack's (validate_format_settings refuses
/// settings that could give one).
STATUSSTACK_WEBHOOKS_EXPORT const Profile& profile_of(Format format) noexcept;
/// The profile of the format the settings hold.
STATUSSTACK_WEBHOOKS_EXPORT const Profile& profile_of(const FormatSettings& settings) noexcept;

/// The vendor's answer read with the format's reader (empty for a format whose answers are not read).
STATUSSTACK_WEBHOOKS_EXPORT VendorAnswer read_answer(Format format, int status, std::string_view content_type,
                                                     std::string_view body);

}  // namespace statusstack::webhooks::formats
