// The public face of the formats (formats.hpp): names, settings, requests. Everything that depends
// on the format is asked of its profile (profile.hpp), defined in the format's own file.

#include <statusstack/webhooks/formats.hpp>

#include "detail/text.hpp"

#include "formats/profile.hpp"

#include <array>

namespace statusstack::webhooks {
namespace formats {
namespace {

// In the order of Format and of FormatSettings' alternatives.
const std::array<const Profile*, 3> profiles{&statusstack_profile, &pagerduty_profile, &datadog_profile};

}  // namespace

const Profile& profile_of(Format format) noexcept {
  const auto index = static_cast<std::size_t>(format);
  return index < profiles.size() ? *profiles[index] : statusstack_profile;
}

const Profile& profile_of(const FormatSettings& settings) noexcept {
  return settings.index() < profiles.size() ? *profiles[settings.index()] : statusstack_profile;
}

VendorAnswer read_answer(Format format, int status, std::string_view content_type, std::string_view body) {
  const Profile& profile = profile_of(format);
  return profile.read_answer != nullptr ? profile.read_answer(status, content_type, body) : VendorAnswer{};
}

}  // namespace formats

static_assert(
    std::variant_size_v<FormatSettings> == 3 &&
        std::is_same_v<
            std::variant_alternative_t<static_cast<std::size_t>(Format::pagerduty), FormatSettings>,
            PagerDutyFormat> &&
        std::is_same_v<std::variant_alternative_t<static_cast<std::size_t>(Format::datadog), FormatSettings>,
                       DatadogFormat>,
    "FormatSettings' alternatives are in the order of Format");

const char* to_string(Format format) noexcept {
  switch (format) {
    case Format::statusstack: return "statusstack";
    case Format::pagerduty: return "pagerduty";
    case Format::datadog: return "datadog";
  }
  return "unknown";
}

std::optional<Format> parse_format(std::string_view name) noexcept {
  for (const Format format : formats::all_formats) {
    if (detail::iequals(name, to_string(format))) return format;
  }
  return std::nullopt;
}

Format format_of(const FormatSettings& settings) noexcept { return formats::profile_of(settings).format; }

Result<void> validate_format_settings(const FormatSettings& settings) {
  if (settings.valueless_by_exception()) {
    return Error{ErrorCode::invalid_config, "format: the settings hold no value", "format"};
  }
  return formats::profile_of(settings).validate(settings);
}

std::string default_url(const FormatSettings& settings) {
  return formats::profile_of(settings).default_url(settings);
}

Result<FormattedRequest> format_event(const Event& event, const FormatSettings& settings,
                                      std::string_view event_json) {
  const formats::Profile& profile = formats::profile_of(settings);
  if (profile.request == nullptr) return FormattedRequest{std::string(event_json), {}};
  return profile.request(event, settings, event_json);
}

Result<FormattedRequest> format_event(const Event& event, const FormatSettings& settings) {
  const formats::Profile& profile = formats::profile_of(settings);
  if (profile.request == nullptr) return FormattedRequest{to_json(event), {}};
  return profile.request(event, settings, profile.uses_json ? to_json(event) : std::string());
}

}  // namespace statusstack::webhooks
