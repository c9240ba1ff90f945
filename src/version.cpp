#include <statusstack/webhooks/version.hpp>

namespace statusstack::webhooks {

const char* version() noexcept { return STATUSSTACK_WEBHOOKS_VERSION_STRING; }

}  // namespace statusstack::webhooks
