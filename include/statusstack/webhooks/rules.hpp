#pragma once

// Rules files: a Dispatcher's endpoints and retry settings as JSON, the format the
// `statusstack-webhook dispatch` command reads (documented in docs/configuration.md).

#include <statusstack/webhooks/dispatcher.hpp>
#include <statusstack/webhooks/error.hpp>
#include <statusstack/webhooks/export.hpp>

#include <string_view>

namespace statusstack::webhooks {

/// Parses a rules file into DispatcherOptions (endpoints, retry, max_pending, io_threads, network:
/// "allowed_networks" and "allow_proxy"; an endpoint with a "proxy" needs "allow_proxy"); callbacks
/// are left for the caller. The text is read as strictly as parse_event reads an event: exactly one
/// JSON document, nesting at most max_json_depth deep, no key twice in one object. Errors name the
/// place: "line 3, column 14: ..." for the JSON itself (`{"endpoints": [], "endpoints": []}` gives
/// "line 1, column 30: endpoints: duplicate key"), the field path for values ("endpoints[1].timeout_ms:
/// expected an integer from 1 to ..."). Unknown fields are errors too, so a misspelt setting is never
/// silently ignored, and so is an empty "events" list (["*"] says every event). Every endpoint is validated.
STATUSSTACK_WEBHOOKS_EXPORT Result<DispatcherOptions> parse_rules(std::string_view json);

}  // namespace statusstack::webhooks
