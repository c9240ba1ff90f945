#include <statusstack/webhooks/headers.hpp>

#include "detail/text.hpp"

namespace statusstack::webhooks {

const std::string* find_header(const Headers& headers, std::string_view name) noexcept {
  for (const Header& header : headers) {
    if (detail::iequals(header.name, name)) return &header.value;
  }
  return nullptr;
}

}  // namespace statusstack::webhooks
