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
  // The parts that need OpenSSL, libcurl and threads, so a link line that lacks one of them fails.
  if (ssw::Signer("secret").sign(json).size() != 64 ||
      !ssw::Verifier("secret").verify(json, ssw::Signer("secret").sign(json))) {
    std::cerr << "signatures do not verify through the installed library\n";
    return 1;
  }
  ssw::Dispatcher dispatcher(ssw::DispatcherOptions{});  // no endpoints: nothing is sent anywhere
  const ssw::Result<ssw::Accepted> accepted = dispatcher.dispatch(*event);
  if (!accepted || !accepted->deliveries.empty()) {
    std::cerr << "a dispatcher without endpoints did not accept the event\n";
    return 1;
  }
  dispatcher.shutdown();
  std::cout << "statusstack-webhooks " << ssw::version() << " linked\n";
  return 0;
}
