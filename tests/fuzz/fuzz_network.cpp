// libFuzzer target: the network guard's parsers, which read rules files and command lines
// (parse_network, parse_address) and the classifier behind them.
//
// Input: the whole input is tried as a CIDR network and as an address.
//
// Checked on every input:
// - parse_network never throws but for std::bad_alloc; an error is invalid_config, its message
//   starts with `network "`, holds no C0 control byte or DEL (the text is escaped, and cut) and stays
//   under 1 KiB whatever the input's length;
// - a parsed network has a prefix within its family's bits, no bit set beyond the prefix, contains
//   its own address, and reads back to itself from to_string;
// - an address that parses reads back to itself from to_string, classifies the same from its text
//   and its bytes, and an IPv4 address classifies like its IPv4-mapped, NAT64 and 6to4 forms; a
//   network of the address alone contains it (and an IPv4 one its mapped form).

#include "fuzz_check.hpp"

#include <statusstack/webhooks/network.hpp>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace ssw = statusstack::webhooks;
using ssw_fuzz::check;

namespace {

void check_message(const std::string& message, std::string_view input) {
  check(message.rfind("network \"", 0) == 0, "a parse_network message without its prefix", input);
  check(message.size() < 1024, "a parse_network message longer than 1 KiB", input);
  for (char c : message) {
    const auto byte = static_cast<unsigned char>(c);
    check(byte >= 0x20 && byte != 0x7f, "a control byte in a parse_network message", input);
  }
}

void check_network(const ssw::IpNetwork& network, std::string_view input) {
  const int bits = network.address.is_v4() ? 32 : 128;
  check(network.prefix_length >= 0 && network.prefix_length <= bits, "a prefix out of range", input);
  for (int bit = network.prefix_length; bit < bits; ++bit) {
    const auto byte = network.address.bytes[static_cast<std::size_t>(bit / 8)];
    check((byte & (0x80U >> (bit % 8))) == 0, "a network with host bits set", input);
  }
  check(network.contains(network.address), "a network that does not contain its own address", input);
  const auto again = ssw::parse_network(ssw::to_string(network));
  check(again.has_value(), "to_string of a network does not parse", input);
  check(again->address == network.address && again->prefix_length == network.prefix_length,
        "a network does not read back to itself", input);
}

ssw::IpAddress v6_with_v4(const ssw::IpAddress& v4, const std::uint8_t (&prefix)[12]) {
  ssw::IpAddress out;
  out.size = 16;
  for (std::size_t i = 0; i < 12; ++i) out.bytes[i] = prefix[i];
  for (std::size_t i = 0; i < 4; ++i) out.bytes[12 + i] = v4.bytes[i];
  return out;
}

void check_address(const ssw::IpAddress& address, std::string_view input) {
  const std::string text = ssw::to_string(address);
  const auto again = ssw::parse_address(text);
  check(again.has_value() && *again == address, "an address does not read back to itself", input);
  const ssw::AddressClass address_class = ssw::classify_address(address);
  const auto from_text = ssw::classify_address(input);
  check(from_text.has_value() && *from_text == address_class, "the text and the bytes classify apart", input);
  const auto one = ssw::parse_network(input);
  check(one.has_value() && one->contains(address), "the network of an address alone misses it", input);
  if (!address.is_v4()) return;

  static constexpr std::uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  static constexpr std::uint8_t nat64[12] = {0, 0x64, 0xff, 0x9b, 0, 0, 0, 0, 0, 0, 0, 0};
  const ssw::IpAddress mapped_form = v6_with_v4(address, mapped);
  check(ssw::classify_address(mapped_form) == address_class, "the IPv4-mapped form classifies apart", input);
  check(one->contains(mapped_form), "an IPv4 network misses the mapped form of its address", input);
  check(ssw::classify_address(v6_with_v4(address, nat64)) == address_class, "the NAT64 form classifies apart",
        input);
  ssw::IpAddress six_to_four;
  six_to_four.size = 16;
  six_to_four.bytes[0] = 0x20;
  six_to_four.bytes[1] = 0x02;
  for (std::size_t i = 0; i < 4; ++i) six_to_four.bytes[2 + i] = address.bytes[i];
  check(ssw::classify_address(six_to_four) == address_class, "the 6to4 form classifies apart", input);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const ssw::Result<ssw::IpNetwork> network = ssw::parse_network(input);
  if (network) {
    check_network(*network, input);
  } else {
    check(network.error().code == ssw::ErrorCode::invalid_config, "a parse_network error of another code",
          input);
    check_message(network.error().message, input);
  }
  if (const auto address = ssw::parse_address(input)) check_address(*address, input);
  return 0;
}
