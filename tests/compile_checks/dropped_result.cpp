// Must not compile with -Werror=unused-result: Result is [[nodiscard]], and a dropped Result is a
// dropped error (for dispatch(), an event that was never sent). check_nodiscard.cmake compiles it.
#include <statusstack/webhooks/events.hpp>

int main() {
#ifdef SSW_KEEP_RESULT
  const auto kept = statusstack::webhooks::parse_event("{}");
  return kept ? 0 : 1;
#else
  statusstack::webhooks::parse_event("{}");
  return 0;
#endif
}
