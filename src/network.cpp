// Address classes, CIDR networks and the NetworkGuard's compiled form (network_guard.hpp).
//
//   classify_with_range()  the one table of ranges: IPv4 by its first octets, IPv6 by its prefix;
//                          IPv6 forms that carry an IPv4 address (mapped, NAT64, 6to4) take the
//                          class of that address.
//   parse_network()        "address/prefix" with inet_pton's strict address forms.
//   NetworkPolicy          what a Transfer checks in its socket callbacks: no allocation there.

#include <statusstack/webhooks/network.hpp>

#include "detail/text.hpp"
#include "network_guard.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <cstring>

namespace statusstack::webhooks {

const char* to_string(AddressClass address_class) noexcept {
  switch (address_class) {
    case AddressClass::global: return "global";
    case AddressClass::loopback: return "loopback";
    case AddressClass::private_network: return "private_network";
    case AddressClass::link_local: return "link_local";
    case AddressClass::shared: return "shared";
    case AddressClass::multicast: return "multicast";
    case AddressClass::broadcast: return "broadcast";
    case AddressClass::unspecified: return "unspecified";
    case AddressClass::reserved: return "reserved";
  }
  return "reserved";
}

namespace detail {

namespace {

using Bytes = std::array<std::uint8_t, 16>;

AddressVerdict verdict(AddressClass address_class, const char* range) {
  return {address_class, range, nullptr};
}

AddressVerdict classify_v4(const std::uint8_t* a) noexcept {
  const unsigned b0 = a[0];
  const unsigned b1 = a[1];
  const unsigned b2 = a[2];
  if (b0 == 0) return verdict(AddressClass::unspecified, "0.0.0.0/8");
  if (b0 == 10) return verdict(AddressClass::private_network, "10.0.0.0/8");
  if (b0 == 100 && (b1 & 0xc0U) == 64) return verdict(AddressClass::shared, "100.64.0.0/10");
  if (b0 == 127) return verdict(AddressClass::loopback, "127.0.0.0/8");
  if (b0 == 169 && b1 == 254) return verdict(AddressClass::link_local, "169.254.0.0/16");
  if (b0 == 172 && (b1 & 0xf0U) == 16) return verdict(AddressClass::private_network, "172.16.0.0/12");
  if (b0 == 192 && b1 == 0 && b2 == 0) return verdict(AddressClass::reserved, "192.0.0.0/24");
  if (b0 == 192 && b1 == 0 && b2 == 2) return verdict(AddressClass::reserved, "192.0.2.0/24");
  if (b0 == 192 && b1 == 88 && b2 == 99) return verdict(AddressClass::reserved, "192.88.99.0/24");
  if (b0 == 192 && b1 == 168) return verdict(AddressClass::private_network, "192.168.0.0/16");
  if (b0 == 198 && (b1 & 0xfeU) == 18) return verdict(AddressClass::reserved, "198.18.0.0/15");
  if (b0 == 198 && b1 == 51 && b2 == 100) return verdict(AddressClass::reserved, "198.51.100.0/24");
  if (b0 == 203 && b1 == 0 && b2 == 113) return verdict(AddressClass::reserved, "203.0.113.0/24");
  if ((b0 & 0xf0U) == 224) return verdict(AddressClass::multicast, "224.0.0.0/4");
  if (b0 == 255 && b1 == 255 && b2 == 255 && a[3] == 255) {
    return verdict(AddressClass::broadcast, "255.255.255.255/32");
  }
  if ((b0 & 0xf0U) == 240) return verdict(AddressClass::reserved, "240.0.0.0/4");
  return verdict(AddressClass::global, "");
}

bool all_zero(const std::uint8_t* bytes, std::size_t count) noexcept {
  return std::all_of(bytes, bytes + count, [](std::uint8_t byte) { return byte == 0; });
}

// The class of the IPv4 address at `v4`, found inside the IPv6 range `carrier`.
AddressVerdict carried(const std::uint8_t* v4, const char* carrier) noexcept {
  AddressVerdict inner = classify_v4(v4);
  inner.carrier = carrier;
  return inner;
}

AddressVerdict classify_v6(const Bytes& a) noexcept {
  const std::uint8_t* p = a.data();
  if (all_zero(p, 16)) return verdict(AddressClass::unspecified, "::/128");
  if (all_zero(p, 15) && p[15] == 1) return verdict(AddressClass::loopback, "::1/128");
  if (all_zero(p, 10) && p[10] == 0xff && p[11] == 0xff) return carried(p + 12, "::ffff:0:0/96");
  if (all_zero(p, 12)) return verdict(AddressClass::reserved, "::/96");
  if (p[0] == 0x00 && p[1] == 0x64 && p[2] == 0xff && p[3] == 0x9b) {
    if (all_zero(p + 4, 8)) return carried(p + 12, "64:ff9b::/96");
    if (p[4] == 0 && p[5] == 1) return verdict(AddressClass::private_network, "64:ff9b:1::/48");
  }
  if (p[0] == 0x20 && p[1] == 0x02) return carried(p + 2, "2002::/16");
  if ((p[0] & 0xfeU) == 0xfc) return verdict(AddressClass::private_network, "fc00::/7");
  if (p[0] == 0xfe && (p[1] & 0xc0U) == 0x80) return verdict(AddressClass::link_local, "fe80::/10");
  if (p[0] == 0xfe && (p[1] & 0xc0U) == 0xc0) return verdict(AddressClass::private_network, "fec0::/10");
  if (p[0] == 0xff) return verdict(AddressClass::multicast, "ff00::/8");
  if (p[0] == 0x20 && p[1] == 0x01 && p[2] == 0x0d && p[3] == 0xb8) {
    return verdict(AddressClass::reserved, "2001:db8::/32");
  }
  if (p[0] == 0x20 && p[1] == 0x01 && (p[2] & 0xfeU) == 0)
    return verdict(AddressClass::reserved, "2001::/23");
  if (p[0] == 0x01 && p[1] == 0x00 && all_zero(p + 2, 6)) return verdict(AddressClass::reserved, "100::/64");
  if ((p[0] & 0xe0U) != 0x20) return verdict(AddressClass::reserved, "outside 2000::/3");
  return verdict(AddressClass::global, "");
}

const char* class_phrase(AddressClass address_class) noexcept {
  switch (address_class) {
    case AddressClass::global: return "a global address";
    case AddressClass::loopback: return "a loopback address";
    case AddressClass::private_network: return "a private network address";
    case AddressClass::link_local: return "a link-local address";
    case AddressClass::shared: return "a shared (carrier-grade NAT) address";
    case AddressClass::multicast: return "a multicast address";
    case AddressClass::broadcast: return "the broadcast address";
    case AddressClass::unspecified: return "an unspecified address";
    case AddressClass::reserved: return "a reserved address";
  }
  return "a reserved address";
}

Error network_error(std::string_view cidr, const std::string& why) {
  return Error{ErrorCode::invalid_config, "network " + quote_for_message(cidr) + ": " + why, ""};
}

// Whether the first `bits` bits of a and b are equal.
bool same_prefix(const std::uint8_t* a, const std::uint8_t* b, int bits) noexcept {
  const auto whole = static_cast<std::size_t>(bits / 8);
  if (std::memcmp(a, b, whole) != 0) return false;
  const int rest = bits % 8;
  if (rest == 0) return true;
  const auto mask = static_cast<std::uint8_t>(0xffU << (8 - rest));
  return (a[whole] & mask) == (b[whole] & mask);
}

}  // namespace

AddressVerdict classify_with_range(const IpAddress& address) noexcept {
  return address.is_v4() ? classify_v4(address.bytes.data()) : classify_v6(address.bytes);
}

std::optional<AddressVerdict> NetworkPolicy::refuses(const IpAddress& address,
                                                     bool allow_private_network) const noexcept {
  const AddressVerdict found = classify_with_range(address);
  if (found.address_class == AddressClass::global) return std::nullopt;
  if (allow_private_network && is_private_class(found.address_class)) return std::nullopt;
  for (const IpNetwork& network : allowed) {
    if (network.contains(address)) return std::nullopt;
  }
  return found;
}

Result<NetworkPolicyPtr> make_network_policy(const NetworkGuard& guard) {
  auto policy = std::make_shared<NetworkPolicy>();
  policy->allow_proxy = guard.allow_proxy;
  for (std::size_t i = 0; i < guard.allowed_networks.size(); ++i) {
    auto network = parse_network(guard.allowed_networks[i]);
    if (!network) {
      const std::string field = "allowed_networks[" + std::to_string(i) + "]";
      return Error{ErrorCode::invalid_config, field + ": " + network.error().message, field};
    }
    policy->allowed.push_back(*network);
  }
  return NetworkPolicyPtr(std::move(policy));
}

const NetworkPolicyPtr& default_network_policy() {
  static const NetworkPolicyPtr policy = std::make_shared<const NetworkPolicy>();
  return policy;
}

Result<void> check_proxy_allowed(const RequestOptions& options, const NetworkPolicy& policy) {
  if (options.proxy.empty() || policy.allow_proxy) return {};
  return Error{ErrorCode::invalid_url,
               "proxy \"" + redact_url(options.proxy) +
                   "\": a proxy is used only with allow_proxy (NetworkGuard::allow_proxy, \"allow_proxy\": "
                   "true in a rules file)",
               "proxy"};
}

std::string describe_block(const IpAddress& address, const AddressVerdict& verdict) {
  std::string text = to_string(address) + " is " + class_phrase(verdict.address_class) + " (" + verdict.range;
  if (verdict.carrier != nullptr) text += std::string(" carried in ") + verdict.carrier;
  text += "); allow it with ";
  text += is_private_class(verdict.address_class) ? "allow_private_network or allowed_networks"
                                                  : "allowed_networks";
  return text;
}

}  // namespace detail

std::optional<IpAddress> parse_address(std::string_view text) noexcept {
  // inet_pton wants a NUL-terminated string; no address is longer than 45 characters.
  char buffer[64];
  if (text.empty() || text.size() >= sizeof buffer) return std::nullopt;
  std::memcpy(buffer, text.data(), text.size());
  buffer[text.size()] = '\0';
  if (std::memchr(buffer, '\0', text.size()) != nullptr) return std::nullopt;  // an embedded NUL
  IpAddress address;
  if (inet_pton(AF_INET, buffer, address.bytes.data()) == 1) {
    address.size = 4;
    return address;
  }
  if (inet_pton(AF_INET6, buffer, address.bytes.data()) == 1) {
    address.size = 16;
    return address;
  }
  return std::nullopt;
}

std::string to_string(const IpAddress& address) {
  char buffer[INET6_ADDRSTRLEN] = {};
  const int family = address.is_v4() ? AF_INET : AF_INET6;
  if (inet_ntop(family, address.bytes.data(), buffer, sizeof buffer) == nullptr) return "?";
  return buffer;
}

AddressClass classify_address(const IpAddress& address) noexcept {
  return detail::classify_with_range(address).address_class;
}

std::optional<AddressClass> classify_address(std::string_view ip) noexcept {
  const auto address = parse_address(ip);
  if (!address) return std::nullopt;
  return classify_address(*address);
}

bool IpNetwork::contains(const IpAddress& candidate) const noexcept {
  if (candidate.size == address.size) {
    return detail::same_prefix(candidate.bytes.data(), address.bytes.data(), prefix_length);
  }
  // An IPv4 network holds the IPv4-mapped forms of its addresses.
  static constexpr std::uint8_t mapped_prefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  if (address.is_v4() && !candidate.is_v4() &&
      std::memcmp(candidate.bytes.data(), mapped_prefix, sizeof mapped_prefix) == 0) {
    return detail::same_prefix(candidate.bytes.data() + 12, address.bytes.data(), prefix_length);
  }
  return false;
}

bool IpNetwork::contains(std::string_view ip) const noexcept {
  const auto candidate = parse_address(ip);
  return candidate && contains(*candidate);
}

Result<IpNetwork> parse_network(std::string_view cidr) {
  const std::size_t slash = cidr.find('/');
  const std::string_view address_text = cidr.substr(0, slash);
  const auto address = parse_address(address_text);
  if (!address) {
    return detail::network_error(cidr, "not an IPv4 or IPv6 address followed by /prefix length (got " +
                                           detail::quote_for_message(address_text) + ")");
  }
  const int max_prefix = address->is_v4() ? 32 : 128;
  IpNetwork network;
  network.address = *address;
  network.prefix_length = max_prefix;
  if (slash != std::string_view::npos) {
    const std::string_view digits = cidr.substr(slash + 1);
    const std::string range = "prefix length must be 0 to " + std::to_string(max_prefix);
    // One to three decimal digits, no sign, no spaces: "/08" is refused like "/8 " is.
    if (digits.empty() || digits.size() > 3 || (digits.size() > 1 && digits[0] == '0') ||
        digits.find_first_not_of("0123456789") != std::string_view::npos) {
      return detail::network_error(cidr, range);
    }
    int prefix = 0;
    for (char c : digits) prefix = prefix * 10 + (c - '0');
    if (prefix > max_prefix) return detail::network_error(cidr, range);
    network.prefix_length = prefix;
  }
  IpNetwork first = network;
  for (std::size_t bit = static_cast<std::size_t>(network.prefix_length);
       bit < std::size_t{address->size} * 8; ++bit) {
    first.address.bytes[bit / 8] =
        static_cast<std::uint8_t>(first.address.bytes[bit / 8] & ~(0x80U >> (bit % 8)));
  }
  if (first.address != network.address) {
    return detail::network_error(
        cidr, "host bits are set beyond the prefix (the network is " + to_string(first) + ")");
  }
  return network;
}

std::string to_string(const IpNetwork& network) {
  return to_string(network.address) + "/" + std::to_string(network.prefix_length);
}

Result<void> NetworkGuard::validate() const {
  auto policy = detail::make_network_policy(*this);
  if (!policy) return std::move(policy).error();
  return {};
}

}  // namespace statusstack::webhooks
