// Uses the installed library through its public headers only.
#include <statusstack/webhooks.hpp>

#include <cstring>
#include <iostream>

int main() {
  namespace ssw = statusstack::webhooks;
  if (std::strcmp(ssw::version(), STATUSSTACK_WEBHOOKS_VERSION_STRING) != 0) {
    std::cerr << "header and library versions differ\n";
    return 1;
  }
  const ssw::Result<int> bad = ssw::Error{ssw::ErrorCode::missing_field, "event: missing", "event"};
  if (bad || std::strcmp(ssw::to_string(bad.error().code), "missing_field") != 0) return 1;
  std::cout << "statusstack-webhooks " << ssw::version() << " linked\n";
  return 0;
}
