#pragma once

// Formats: the request an endpoint gets for an event. StatusStack's own webhook (the default), a
// PagerDuty Events API v2 event, or a Datadog Events API v1 event. docs/integrations.md documents every
// mapping (event type and status -> action, severity, alert type, priority) and the limits. What each format
// means to delivery (default URL and rate limit, keys, how its answers are read) is kept in one profile per
// format inside the library.

#include <statusstack/webhooks/error.hpp>
#include <statusstack/webhooks/events.hpp>
#include <statusstack/webhooks/export.hpp>
#include <statusstack/webhooks/headers.hpp>
#include <statusstack/webhooks/signature.hpp>

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

namespace statusstack::webhooks {

/// The names of the formats an endpoint's requests can take; FormatSettings holds one with its keys.
enum class Format {
  statusstack,  ///< the signed StatusStack event JSON (docs/events.md); the default
  pagerduty,    ///< a PagerDuty Events API v2 event (POST https://events.pagerduty.com/v2/enqueue)
  datadog,      ///< a Datadog Events API v1 event (POST https://api.<site>/api/v1/events)
};

/// "statusstack", "pagerduty" or "datadog".
STATUSSTACK_WEBHOOKS_EXPORT const char* to_string(Format format) noexcept;
/// The format with that name (ASCII case-insensitive), or nullopt.
STATUSSTACK_WEBHOOKS_EXPORT std::optional<Format> parse_format(std::string_view name) noexcept;

/// The Datadog site an organisation lives on; it chooses the API host.
enum class DatadogSite { us1, us3, us5, eu, ap1, us1_fed };

/// "US1", "US3", "US5", "EU", "AP1" or "US1-FED" (Datadog's own names).
STATUSSTACK_WEBHOOKS_EXPORT const char* to_string(DatadogSite site) noexcept;
/// The site named "US1", "us3", "EU", "AP1", "US1-FED"... (ASCII case-insensitive; "_" may replace
/// "-"), or by its domain ("datadoghq.com", "us3.datadoghq.com", "datadoghq.eu", "ddog-gov.com"...).
STATUSSTACK_WEBHOOKS_EXPORT std::optional<DatadogSite> parse_datadog_site(std::string_view name) noexcept;
/// The site's event intake, e.g. "https://api.datadoghq.com/api/v1/events" (US1),
/// "https://api.datadoghq.eu/api/v1/events" (EU).
STATUSSTACK_WEBHOOKS_EXPORT std::string datadog_events_url(DatadogSite site);

/// Where PagerDuty Events API v2 events go (every account, every region).
inline constexpr std::string_view pagerduty_events_url = "https://events.pagerduty.com/v2/enqueue";

// Limits the vendors document (in prose, beside their schemas). Lengths are UTF-8 bytes: a text cut
// to N bytes is at most N characters however a vendor counts (bytes, code points or UTF-16 units).
inline constexpr std::size_t pagerduty_routing_key_length = 32;             ///< an integration key's length
inline constexpr std::size_t pagerduty_summary_max = 1024;                  ///< payload.summary
inline constexpr std::size_t pagerduty_dedup_key_max = 255;                 ///< dedup_key
inline constexpr std::size_t pagerduty_body_max = std::size_t{512} * 1024;  ///< the whole request body
inline constexpr unsigned pagerduty_events_per_minute = 120;                ///< per routing key
inline constexpr std::size_t datadog_text_max = 4000;            ///< text, markdown markers included
inline constexpr std::size_t datadog_aggregation_key_max = 100;  ///< aggregation_key
// Our own limits (the vendors set none): short titles and field values read well in their UIs.
inline constexpr std::size_t datadog_title_max = 100;     ///< title
inline constexpr std::size_t datadog_tag_max = 200;       ///< each tag
inline constexpr std::size_t pagerduty_field_max = 1024;  ///< payload.source, component, group, class

/// StatusStack's own webhook: the event's JSON, signed with the endpoint's secret. No settings.
struct StatusStackFormat {};

/// A PagerDuty Events API v2 event. The routing key goes in the body (as plain text: PagerDuty
/// needs it so); it is a Secret, wiped when the settings go and printed as "***".
struct PagerDutyFormat {
  Secret routing_key;  ///< the integration key of an Events API v2 integration (32 letters and digits)
};

/// A Datadog Events API v1 event. The API key goes in the DD-API-KEY header (an application key is
/// not needed); it is a Secret, wiped when the settings go and printed as "***".
struct DatadogFormat {
  Secret api_key;
  DatadogSite site = DatadogSite::us1;  ///< chooses the API host
};

/// How an endpoint formats its requests, with the keys that format needs and no other: a PagerDuty
/// key cannot be given to a Datadog endpoint. A plain value; the alternatives are in the order of
/// Format. Example: `endpoint.format = PagerDutyFormat{Secret(key)};`
using FormatSettings = std::variant<StatusStackFormat, PagerDutyFormat, DatadogFormat>;

/// Which format the settings hold.
STATUSSTACK_WEBHOOKS_EXPORT Format format_of(const FormatSettings& settings) noexcept;

/// The settings can work: pagerduty needs a routing_key of 32 letters and digits, datadog a
/// non-empty api_key of visible ASCII and a DatadogSite value. The error's field is "routing_key",
/// "api_key" or "site" and the message starts with it.
STATUSSTACK_WEBHOOKS_EXPORT Result<void> validate_format_settings(const FormatSettings& settings);

/// The URL a format's requests go to when the endpoint names none: pagerduty_events_url, the
/// Datadog site's events URL; empty for statusstack (its endpoints always name their URL).
STATUSSTACK_WEBHOOKS_EXPORT std::string default_url(const FormatSettings& settings);

/// One formatted request: the body, and the format's own headers only (DD-API-KEY for datadog;
/// none for statusstack and pagerduty). The caller adds Content-Type, User-Agent, signatures...
struct FormattedRequest {
  std::string body;
  Headers headers;
};

/// The request the settings' format makes of the event: statusstack gives to_json(event) and no
/// headers; pagerduty and datadog give the vendor's JSON (docs/integrations.md), which is valid
/// against the vendor's schema and within its limits for every event (invalid UTF-8 in the event's
/// strings is replaced by U+FFFD). Does not check the settings (validate_format_settings does,
/// once) nor the event (validate_event). Deterministic (no clock, no randomness) and thread-safe.
STATUSSTACK_WEBHOOKS_EXPORT Result<FormattedRequest> format_event(const Event& event,
                                                                  const FormatSettings& settings);

/// The same, reusing the event's JSON when the caller already has it (`event_json` must be
/// to_json(event)): the statusstack body and PagerDuty's custom_details are that text, so a
/// dispatch() to several endpoints serializes the event once.
STATUSSTACK_WEBHOOKS_EXPORT Result<FormattedRequest> format_event(const Event& event,
                                                                  const FormatSettings& settings,
                                                                  std::string_view event_json);

/// The stable key of the thing an event is about: "statusstack:<stack id>:<kind>:<id>" with kind
/// component, monitor, incident or maintenance (":" and "%" inside ids are written %3A and %25).
/// A trigger and the later resolve of the same component, monitor or incident share it. At most
/// pagerduty_dedup_key_max bytes: a longer key becomes "statusstack:sha256:<64 hex digits>" of it.
STATUSSTACK_WEBHOOKS_EXPORT std::string dedup_key(const Event& event);

/// dedup_key(event) when it fits datadog_aggregation_key_max bytes, else the same
/// "statusstack:sha256:<hex>" form (83 bytes).
STATUSSTACK_WEBHOOKS_EXPORT std::string aggregation_key(const Event& event);

/// What PagerDuty is told to do with an event: `action` is "trigger", "acknowledge" or "resolve";
/// `severity` is "critical", "error", "warning" or "info" (resolves are "info"). The table is in
/// docs/integrations.md.
struct PagerDutyMapping {
  std::string action;
  std::string severity;
};
STATUSSTACK_WEBHOOKS_EXPORT PagerDutyMapping pagerduty_mapping(const Event& event);

/// How Datadog shows an event: `alert_type` is "error", "warning", "info" or "success" (a resolve),
/// `priority` is "normal", or "low" for informational events (alert_type "info").
struct DatadogMapping {
  std::string alert_type;
  std::string priority;
};
STATUSSTACK_WEBHOOKS_EXPORT DatadogMapping datadog_mapping(const Event& event);

}  // namespace statusstack::webhooks
