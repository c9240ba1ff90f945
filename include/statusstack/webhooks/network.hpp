#pragma once

// Which addresses requests may connect to: the classes of IP addresses, CIDR networks, and the
// NetworkGuard that keeps webhooks away from loopback, private and other internal addresses
// (server-side request forgery) unless they are explicitly allowed.

#include <statusstack/webhooks/error.hpp>
#include <statusstack/webhooks/export.hpp>

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace statusstack::webhooks {

/// What kind of address an IP address is. Only `global` addresses are reached by default;
/// RequestOptions::allow_private_network lets loopback, private_network, link_local and shared
/// through as well, NetworkGuard::allowed_networks any network it lists.
enum class AddressClass {
  global,           ///< a public Internet address
  loopback,         ///< 127.0.0.0/8, ::1: this machine
  private_network,  ///< 10/8, 172.16/12, 192.168/16, fc00::/7, fec0::/10, 64:ff9b:1::/48
  link_local,       ///< 169.254/16 (cloud metadata services live there), fe80::/10
  shared,           ///< 100.64/10: carrier-grade NAT
  multicast,        ///< 224/4, ff00::/8
  broadcast,        ///< 255.255.255.255
  unspecified,      ///< 0.0.0.0/8 ("this network"), ::
  reserved,         ///< documentation, benchmarking, protocol and future ranges; IPv6 outside 2000::/3
};

/// The class's stable snake_case name, e.g. "private_network".
STATUSSTACK_WEBHOOKS_EXPORT const char* to_string(AddressClass address_class) noexcept;

/// A numeric IPv4 (4 bytes) or IPv6 (16 bytes) address, in network byte order. A plain value.
struct IpAddress {
  std::array<std::uint8_t, 16> bytes{};  ///< the first `size` bytes are the address
  std::uint8_t size = 4;                 ///< 4 or 16

  bool is_v4() const noexcept { return size == 4; }
  friend bool operator==(const IpAddress& a, const IpAddress& b) noexcept {
    return a.size == b.size && a.bytes == b.bytes;
  }
  friend bool operator!=(const IpAddress& a, const IpAddress& b) noexcept { return !(a == b); }
};

/// Parses a numeric address in the forms inet_pton accepts: dotted decimal IPv4 with four parts
/// ("10.0.0.1", not "10.1" or "0x0a.0.0.1") or textual IPv6 ("::1", "::ffff:127.0.0.1"), without
/// brackets, zone ids or ports. nullopt for anything else (host names included).
STATUSSTACK_WEBHOOKS_EXPORT std::optional<IpAddress> parse_address(std::string_view text) noexcept;

/// The address as inet_ntop writes it ("10.0.0.1", "::ffff:127.0.0.1").
STATUSSTACK_WEBHOOKS_EXPORT std::string to_string(const IpAddress& address);

/// The address's class. IPv4 addresses carried in IPv6 (IPv4-mapped ::ffff:0:0/96, NAT64
/// 64:ff9b::/96, 6to4 2002::/16) take the class of the IPv4 address they carry.
STATUSSTACK_WEBHOOKS_EXPORT AddressClass classify_address(const IpAddress& address) noexcept;

/// The class of a numeric address written as parse_address accepts it; nullopt when the text is
/// not one (a host name, "[::1]", "127.1").
STATUSSTACK_WEBHOOKS_EXPORT std::optional<AddressClass> classify_address(std::string_view ip) noexcept;

/// A CIDR network such as 10.0.0.0/8 or fd00::/8. An IPv4 network also contains the IPv4-mapped
/// IPv6 forms (::ffff:a.b.c.d) of its addresses, which is how a dual-stack socket may see them.
struct IpNetwork {
  IpAddress address;      ///< the first address (no bits set beyond the prefix)
  int prefix_length = 0;  ///< 0 to 32 for IPv4, 0 to 128 for IPv6

  STATUSSTACK_WEBHOOKS_EXPORT bool contains(const IpAddress& candidate) const noexcept;
  /// False for text that is not a numeric address.
  STATUSSTACK_WEBHOOKS_EXPORT bool contains(std::string_view ip) const noexcept;
};

/// Parses "address/prefix" ("10.0.0.0/8", "fd00::/8"); an address alone is a network of that one
/// address (/32 or /128). Errors are ErrorCode::invalid_config and name the text, e.g.
/// `network "10.0.0.0/33": prefix length must be 0 to 32`; an address with bits set beyond the
/// prefix is refused (it is usually a typo), the message saying which network was probably meant.
STATUSSTACK_WEBHOOKS_EXPORT Result<IpNetwork> parse_network(std::string_view cidr);

/// The network as "address/prefix".
STATUSSTACK_WEBHOOKS_EXPORT std::string to_string(const IpNetwork& network);

/// Which addresses requests may connect to, for a WebhookClient or a whole Dispatcher
/// (DispatcherOptions::network). The address checked is the one actually connected to, after DNS
/// (and so the proxy's when there is one): other spellings of an address and DNS rebinding do not
/// get around it. By default only `global` addresses are reached; a request to any other fails at
/// once with TransportError::blocked (never retried) and nothing is sent.
struct NetworkGuard {
  /// Networks let through although their class is blocked, as CIDR text ("10.20.0.0/16",
  /// "127.0.0.1/32", "fd12:3456::/32"): internal receivers that are meant to get webhooks.
  std::vector<std::string> allowed_networks;
  /// Lets requests use RequestOptions::proxy at all. Without it a request with a proxy is refused
  /// before sending (invalid_request; a Dispatcher's endpoint with ConfigError). With it, the
  /// proxy's own address is checked like a receiver's (the receiver is the proxy's business).
  bool allow_proxy = false;

  /// Checks every network of allowed_networks; the error names the entry:
  /// `allowed_networks[1]: network "10.0.0.0/33": prefix length must be 0 to 32`.
  STATUSSTACK_WEBHOOKS_EXPORT Result<void> validate() const;
};

}  // namespace statusstack::webhooks
