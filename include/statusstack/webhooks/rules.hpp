#pragma once

// Rules files: a Dispatcher's endpoints and retry settings as JSON, the format the
// `statusstack-webhook dispatch` command reads (documented in docs/configuration.md).

#include <statusstack/webhooks/dispatcher.hpp>
#include <statusstack/webhooks/error.hpp>
#include <statusstack/webhooks/export.hpp>

#include <string_view>

namespace statusstack::webhooks {

/// Parses a rules file into DispatcherOptions (endpoints, retry, max_pending, io_threads); callbacks
/// are left for the caller. Errors name the place: "line 3, column 14: ..." for JSON syntax, the
/// field path for values ("endpoints[1].timeout_ms: expected a positive integer"). Unknown fields are
/// errors too, so a misspelt setting is never silently ignored. Every endpoint is validated.
STATUSSTACK_WEBHOOKS_EXPORT Result<DispatcherOptions> parse_rules(std::string_view json);

}  // namespace statusstack::webhooks
