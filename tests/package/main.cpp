// Uses the installed library through its public headers only.
#include <statusstack/webhooks.hpp>

#include <cstring>
#include <iostream>
#include <string>

int main() {
  namespace ssw = statusstack::webhooks;
  if (std::strcmp(ssw::version(), STATUSSTACK_WEBHOOKS_VERSION_STRING) != 0) {
    std::cerr << "header and library versions differ\n";
    return 1;
  }
  const ssw::Result<int> bad = ssw::Error{ssw::ErrorCode::missing_field, "event: missing", "event"};
  if (bad || std::strcmp(ssw::to_string(bad.error().code), "missing_field") != 0) return 1;
  const std::string json = ssw::to_json(ssw::example_event(ssw::EventType::monitor_down));
  const ssw::Result<ssw::Event> event = ssw::parse_event(json);
  if (!event || ssw::type_of(*event) != ssw::EventType::monitor_down || ssw::to_json(*event) != json) {
    std::cerr << "events do not round-trip through the installed library\n";
    return 1;
  }
  std::cout << "statusstack-webhooks " << ssw::version() << " linked\n";
  return 0;
}
