#pragma once

// HTTP header lists as the library passes them around: ordered name/value pairs.

#include <statusstack/webhooks/export.hpp>

#include <string>
#include <string_view>
#include <vector>

namespace statusstack::webhooks {

/// One HTTP header as sent or received. Names compare case-insensitively (see find_header).
struct Header {
  std::string name;
  std::string value;
};

/// Ordered headers; a name may repeat. A plain value type, safe to copy between threads.
using Headers = std::vector<Header>;

/// The value of the first header named `name` (ASCII case-insensitive), or nullptr.
STATUSSTACK_WEBHOOKS_EXPORT const std::string* find_header(const Headers& headers,
                                                           std::string_view name) noexcept;

}  // namespace statusstack::webhooks
