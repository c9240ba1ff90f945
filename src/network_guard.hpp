#pragma once

// The NetworkGuard as the transfers apply it: its networks parsed once, shared (immutable) by every
// Transfer of a WebhookClient or Dispatcher, and a check that allocates nothing, so that it can run
// inside libcurl's socket callbacks. Internal: not installed.

#include <statusstack/webhooks/client.hpp>
#include <statusstack/webhooks/export.hpp>
#include <statusstack/webhooks/network.hpp>

#include <memory>
#include <string>
#include <vector>

namespace statusstack::webhooks::detail {

/// An address's class and the range that gave it, as written in messages ("127.0.0.0/8"). `carrier`
/// is the IPv6 range an IPv4 address was found in ("::ffff:0:0/96"), or null.
struct AddressVerdict {
  AddressClass address_class = AddressClass::global;
  const char* range = "";
  const char* carrier = nullptr;
};

/// classify_address with the range that decided it.
STATUSSTACK_WEBHOOKS_EXPORT AddressVerdict classify_with_range(const IpAddress& address) noexcept;

/// The classes RequestOptions::allow_private_network lets through.
constexpr bool is_private_class(AddressClass address_class) noexcept {
  return address_class == AddressClass::loopback || address_class == AddressClass::private_network ||
         address_class == AddressClass::link_local || address_class == AddressClass::shared;
}

/// A NetworkGuard with its networks parsed. Immutable once made; share it through NetworkPolicyPtr.
struct NetworkPolicy {
  std::vector<IpNetwork> allowed;
  bool allow_proxy = false;

  /// nullopt when `address` may be connected to (global, allowed by the switch, or in an allowed
  /// network); otherwise why not. Allocates nothing.
  std::optional<AddressVerdict> refuses(const IpAddress& address, bool allow_private_network) const noexcept;
};
using NetworkPolicyPtr = std::shared_ptr<const NetworkPolicy>;

/// Parses the guard's networks; the error is NetworkGuard::validate's.
STATUSSTACK_WEBHOOKS_EXPORT Result<NetworkPolicyPtr> make_network_policy(const NetworkGuard& guard);

/// The default guard's policy (nothing allowed, no proxy), made once.
STATUSSTACK_WEBHOOKS_EXPORT const NetworkPolicyPtr& default_network_policy();

/// ErrorCode::invalid_url when the options set a proxy the policy does not allow (the message names
/// the proxy, redacted, and the opt-in).
STATUSSTACK_WEBHOOKS_EXPORT Result<void> check_proxy_allowed(const RequestOptions& options,
                                                             const NetworkPolicy& policy);

/// The text of a TransportError::blocked outcome: "127.0.0.1 is a loopback address (127.0.0.0/8);
/// allow it with allow_private_network or allowed_networks".
STATUSSTACK_WEBHOOKS_EXPORT std::string describe_block(const IpAddress& address,
                                                       const AddressVerdict& verdict);

}  // namespace statusstack::webhooks::detail
