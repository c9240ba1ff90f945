// A receiving service, built against StatusStack::webhooks_core alone (no libcurl, no SQLite): it
// verifies a signed body as a webhook handler does and parses the event. run.cmake checks what it
// prints and that neither its link line nor the libraries it loads have libcurl or SQLite.
#include <statusstack/webhooks/events.hpp>
#include <statusstack/webhooks/headers.hpp>
#include <statusstack/webhooks/signature.hpp>
#include <statusstack/webhooks/version.hpp>

#include <iostream>
#include <string>
#include <string_view>
#include <variant>

int main() {
  namespace ssw = statusstack::webhooks;
  // docs/events.md's example, as a sender signed it (HMAC-SHA256 with the secret below, computed
  // by `openssl dgst -sha256 -hmac whsec_receiver_test`, not by this library).
  const std::string body =
      R"({"event":"component.status_changed","timestamp":"2025-01-19T10:30:00Z",)"
      R"("stack":{"id":"stack_abc123","name":"Production Infrastructure","slug":"production"},)"
      R"("component":{"id":"comp_xyz789","name":"Production API","previous_status":"operational",)"
      R"("current_status":"critical"},"incident":{"id":"inc_123","created_at":"2025-01-19T10:30:00Z"}})";
  const ssw::Headers headers{
      {"Content-Type", "application/json"},
      {"x-statusstack-signature", "dad1355196073c7f9d4ca0eb844b580a79b1063c01e2ca44710febf3bdd4fc1c"}};

  const ssw::Verifier verifier("whsec_receiver_test");
  if (const ssw::Result<void> verified = verifier.verify_request(headers, body); !verified) {
    std::cerr << "receiver: the signed body does not verify: " << verified.error().message << '\n';
    return 1;
  }
  const std::string tampered = body.substr(0, body.size() - 2) + " }";
  if (verifier.verify_request(headers, tampered)) {
    std::cerr << "receiver: a changed body verifies\n";
    return 1;
  }

  const ssw::Result<ssw::Event> event = ssw::parse_event(body);
  if (!event) {
    std::cerr << "receiver: parse_event failed: " << event.error().message << '\n';
    return 1;
  }
  const auto* change = std::get_if<ssw::ComponentStatusChanged>(&*event);
  if (change == nullptr) {
    std::cerr << "receiver: parsed a " << ssw::to_string(ssw::type_of(*event)) << '\n';
    return 1;
  }
  std::cout << "receiver verified " << ssw::to_string(ssw::type_of(*event)) << ' ' << change->component.id
            << ' ' << change->component.previous_status.to_string() << " -> "
            << change->component.current_status.to_string() << " (statusstack-webhooks-core "
            << ssw::version() << ")\n";
  return 0;
}
