// The network guard: the address classifier and CIDR networks as pure functions (every range, never
// connected to), then the guard end to end against servers on loopback addresses only.

#include <statusstack/webhooks/client.hpp>
#include <statusstack/webhooks/dispatcher.hpp>
#include <statusstack/webhooks/network.hpp>
#include <statusstack/webhooks/rules.hpp>

#include "support/reports.hpp"
#include "support/servers.hpp"
#include "transfer.hpp"

#include <curl/curl.h>
#include <catch2/catch.hpp>

#include <string>
#include <utility>
#include <vector>

using namespace statusstack::webhooks;
using namespace statusstack::webhooks::testing;
using namespace std::chrono_literals;

namespace {

struct Expected {
  const char* address;
  AddressClass address_class;
};

void check_classes(const std::vector<Expected>& table) {
  for (const Expected& row : table) {
    INFO(row.address);
    const auto found = classify_address(row.address);
    REQUIRE(found.has_value());
    CHECK(to_string(*found) == std::string(to_string(row.address_class)));
  }
}

Request local_request(const std::string& url) {
  Request request;
  request.url = url;
  request.body = R"({"hello":"world"})";
  request.headers = {{"Content-Type", "application/json"}};
  request.options.allow_http = true;
  request.options.timeout = 2s;
  return request;
}

// A URL for the server's port on another spelling of a loopback host.
std::string url_on(const std::string& host, int port) {
  return "http://" + host + ":" + std::to_string(port) + "/hook";
}

constexpr const char* loopback_block =
    "127.0.0.1 is a loopback address (127.0.0.0/8); allow it with allow_private_network or allowed_networks";

}  // namespace

// ---------------------------------------------------------------------------------------------
// The classifier

TEST_CASE("IPv4 addresses are classified by range, first and last of each and the neighbours outside",
          "[unit][network]") {
  using C = AddressClass;
  check_classes({
      {"0.0.0.0", C::unspecified},
      {"0.255.255.255", C::unspecified},
      {"1.0.0.0", C::global},
      {"9.255.255.255", C::global},
      {"10.0.0.0", C::private_network},
      {"10.255.255.255", C::private_network},
      {"11.0.0.0", C::global},
      {"100.63.255.255", C::global},
      {"100.64.0.0", C::shared},
      {"100.127.255.255", C::shared},
      {"100.128.0.0", C::global},
      {"126.255.255.255", C::global},
      {"127.0.0.0", C::loopback},
      {"127.0.0.1", C::loopback},
      {"127.0.0.2", C::loopback},
      {"127.255.255.255", C::loopback},
      {"128.0.0.0", C::global},
      {"169.253.255.255", C::global},
      {"169.254.0.0", C::link_local},
      {"169.254.169.254", C::link_local},
      {"169.254.255.255", C::link_local},
      {"169.255.0.0", C::global},
      {"172.15.255.255", C::global},
      {"172.16.0.0", C::private_network},
      {"172.31.255.255", C::private_network},
      {"172.32.0.0", C::global},
      {"191.255.255.255", C::global},
      {"192.0.0.0", C::reserved},
      {"192.0.0.255", C::reserved},
      {"192.0.1.0", C::global},
      {"192.0.2.0", C::reserved},
      {"192.0.2.255", C::reserved},
      {"192.0.3.0", C::global},
      {"192.88.98.255", C::global},
      {"192.88.99.0", C::reserved},
      {"192.88.99.255", C::reserved},
      {"192.88.100.0", C::global},
      {"192.167.255.255", C::global},
      {"192.168.0.0", C::private_network},
      {"192.168.255.255", C::private_network},
      {"192.169.0.0", C::global},
      {"198.17.255.255", C::global},
      {"198.18.0.0", C::reserved},
      {"198.19.255.255", C::reserved},
      {"198.20.0.0", C::global},
      {"198.51.99.255", C::global},
      {"198.51.100.0", C::reserved},
      {"198.51.100.255", C::reserved},
      {"198.51.101.0", C::global},
      {"203.0.112.255", C::global},
      {"203.0.113.0", C::reserved},
      {"203.0.113.255", C::reserved},
      {"203.0.114.0", C::global},
      {"223.255.255.255", C::global},
      {"224.0.0.0", C::multicast},
      {"239.255.255.255", C::multicast},
      {"240.0.0.0", C::reserved},
      {"255.255.255.254", C::reserved},
      {"255.255.255.255", C::broadcast},
  });
}

TEST_CASE("IPv6 addresses are classified by range, first and last of each and the neighbours outside",
          "[unit][network]") {
  using C = AddressClass;
  check_classes({
      {"::", C::unspecified},
      {"::1", C::loopback},
      {"0:0:0:0:0:0:0:1", C::loopback},
      {"::2", C::reserved},  // IPv4-compatible ::/96
      {"::ffff:ffff", C::reserved},
      {"::1:0:0", C::reserved},  // just past ::/96, outside 2000::/3
      {"fbff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", C::reserved},
      {"fc00::", C::private_network},
      {"fd12:3456::1", C::private_network},
      {"fdff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", C::private_network},
      {"fe00::", C::reserved},
      {"fe7f:ffff:ffff:ffff:ffff:ffff:ffff:ffff", C::reserved},
      {"fe80::", C::link_local},
      {"fe80::1", C::link_local},
      {"febf:ffff:ffff:ffff:ffff:ffff:ffff:ffff", C::link_local},
      {"fec0::", C::private_network},
      {"feff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", C::private_network},
      {"ff00::", C::multicast},
      {"ff02::1", C::multicast},
      {"ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", C::multicast},
      {"64:ff9b:1::", C::private_network},
      {"64:ff9b:1:ffff:ffff:ffff:ffff:ffff", C::private_network},
      {"64:ff9b:2::", C::reserved},  // outside 2000::/3
      {"2001::", C::reserved},
      {"2001:1ff:ffff:ffff:ffff:ffff:ffff:ffff", C::reserved},
      {"2001:200::", C::global},
      {"2001:db7:ffff:ffff:ffff:ffff:ffff:ffff", C::global},
      {"2001:db8::", C::reserved},
      {"2001:db8:ffff:ffff:ffff:ffff:ffff:ffff", C::reserved},
      {"2001:db9::", C::global},
      {"100::", C::reserved},
      {"100::ffff:ffff:ffff:ffff", C::reserved},
      {"1fff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", C::reserved},
      {"2000::", C::global},
      {"3fff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", C::global},
      {"4000::", C::reserved},
  });
}

TEST_CASE("IPv6 forms that carry an IPv4 address take that address's class", "[unit][network]") {
  using C = AddressClass;
  check_classes({
      // IPv4-mapped ::ffff:0:0/96
      {"::ffff:127.0.0.1", C::loopback},
      {"::ffff:7f00:1", C::loopback},
      {"::FFFF:127.0.0.1", C::loopback},
      {"::ffff:10.1.2.3", C::private_network},
      {"::ffff:169.254.169.254", C::link_local},
      {"::ffff:100.64.0.1", C::shared},
      {"::ffff:0.0.0.0", C::unspecified},
      {"::ffff:224.0.0.1", C::multicast},
      {"::ffff:255.255.255.255", C::broadcast},
      {"::ffff:192.0.2.1", C::reserved},
      {"::ffff:8.8.8.8", C::global},
      {"::fffe:8.8.8.8", C::reserved},  // not mapped: ::/96 neighbour, outside 2000::/3
      // NAT64 64:ff9b::/96
      {"64:ff9b::127.0.0.1", C::loopback},
      {"64:ff9b::10.0.0.1", C::private_network},
      {"64:ff9b::a9fe:a9fe", C::link_local},
      {"64:ff9b::8.8.8.8", C::global},
      {"64:ff9b::1:0:0:0", C::reserved},  // inside 64:ff9b::/32 but not /96: outside 2000::/3
      // 6to4 2002::/16, the IPv4 address in bits 16 to 47
      {"2002:7f00:1::", C::loopback},
      {"2002:a00:1::1", C::private_network},
      {"2002:c0a8:101::", C::private_network},
      {"2002:a9fe:a9fe::", C::link_local},
      {"2002:e000:1::", C::multicast},
      {"2002::", C::unspecified},
      {"2002:808:808::1", C::global},
      {"2002:101:101:ffff::", C::global},
  });
}

TEST_CASE("public addresses pass the classifier", "[unit][network]") {
  check_classes({
      {"8.8.8.8", AddressClass::global},
      {"1.1.1.1", AddressClass::global},
      {"93.184.216.34", AddressClass::global},
      {"2606:4700::1111", AddressClass::global},
      {"2001:4860:4860::8888", AddressClass::global},
      {"2a00:1450:4001:81c::200e", AddressClass::global},
  });
}

TEST_CASE("only numeric addresses in inet_pton's forms are classified", "[unit][network]") {
  for (const char* text : {"", "localhost", "hooks.example.com", "[::1]", "127.1", "0x7f.0.0.1", "0177.0.0.1",
                           "127.0.0.01", "2130706433", "127.0.0.1:80", " 127.0.0.1", "127.0.0.1 ",
                           "1.2.3.256", "fe80::1%eth0", "::1/128", ":::1", "1::2::3"}) {
    INFO(text);
    CHECK_FALSE(classify_address(text).has_value());
    CHECK_FALSE(parse_address(text).has_value());
  }
  CHECK_FALSE(classify_address(std::string_view("127.0.0.1\0x", 11)).has_value());
}

TEST_CASE("address classes have snake_case names", "[unit][network]") {
  CHECK(std::string(to_string(AddressClass::global)) == "global");
  CHECK(std::string(to_string(AddressClass::loopback)) == "loopback");
  CHECK(std::string(to_string(AddressClass::private_network)) == "private_network");
  CHECK(std::string(to_string(AddressClass::link_local)) == "link_local");
  CHECK(std::string(to_string(AddressClass::shared)) == "shared");
  CHECK(std::string(to_string(AddressClass::multicast)) == "multicast");
  CHECK(std::string(to_string(AddressClass::broadcast)) == "broadcast");
  CHECK(std::string(to_string(AddressClass::unspecified)) == "unspecified");
  CHECK(std::string(to_string(AddressClass::reserved)) == "reserved");
  CHECK(std::string(to_string(TransportError::blocked)) == "blocked");
}

// ---------------------------------------------------------------------------------------------
// Networks

TEST_CASE("parse_network reads CIDR networks and contains() matches their addresses", "[unit][network]") {
  const IpNetwork ten = parse_network("10.0.0.0/8").value();
  CHECK(to_string(ten) == "10.0.0.0/8");
  CHECK(ten.contains("10.0.0.0"));
  CHECK(ten.contains("10.255.255.255"));
  CHECK_FALSE(ten.contains("11.0.0.0"));
  CHECK_FALSE(ten.contains("9.255.255.255"));
  CHECK_FALSE(ten.contains("not an address"));
  SECTION("an IPv4 network holds the IPv4-mapped forms of its addresses, not other IPv6 ones") {
    CHECK(ten.contains("::ffff:10.1.2.3"));
    CHECK_FALSE(ten.contains("::ffff:11.1.2.3"));
    CHECK_FALSE(ten.contains("::10.1.2.3"));
    CHECK_FALSE(ten.contains("64:ff9b::10.1.2.3"));
  }
  SECTION("prefixes that do not end on a byte") {
    const IpNetwork cgnat = parse_network("100.64.0.0/10").value();
    CHECK(cgnat.contains("100.127.255.255"));
    CHECK_FALSE(cgnat.contains("100.128.0.0"));
    const IpNetwork ula = parse_network("fc00::/7").value();
    CHECK(ula.contains("fdff::1"));
    CHECK_FALSE(ula.contains("fe00::"));
    CHECK_FALSE(ula.contains("10.0.0.1"));
  }
  SECTION("an address alone is a network of that address") {
    const IpNetwork one = parse_network("127.0.0.2").value();
    CHECK(one.prefix_length == 32);
    CHECK(one.contains("127.0.0.2"));
    CHECK_FALSE(one.contains("127.0.0.1"));
    CHECK(parse_network("::1").value().prefix_length == 128);
  }
  SECTION("/0 holds every address of its family") {
    CHECK(parse_network("0.0.0.0/0").value().contains("255.255.255.255"));
    CHECK(parse_network("::/0").value().contains("::1"));
    CHECK_FALSE(parse_network("::/0").value().contains("127.0.0.1"));
  }
}

TEST_CASE("parse_network refuses bad networks with messages that name the text", "[unit][network]") {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"10.0.0.0/33", R"(network "10.0.0.0/33": prefix length must be 0 to 32)"},
      {"fd00::/129", R"(network "fd00::/129": prefix length must be 0 to 128)"},
      {"10.0.0.0/", R"(network "10.0.0.0/": prefix length must be 0 to 32)"},
      {"10.0.0.0/08", R"(network "10.0.0.0/08": prefix length must be 0 to 32)"},
      {"10.0.0.0/-1", R"(network "10.0.0.0/-1": prefix length must be 0 to 32)"},
      {"10.0.0.0/8 ", R"(network "10.0.0.0/8 ": prefix length must be 0 to 32)"},
      {"10.0.0.0/8/8", R"(network "10.0.0.0/8/8": prefix length must be 0 to 32)"},
      {"10.0.0.1/8",
       R"(network "10.0.0.1/8": host bits are set beyond the prefix (the network is 10.0.0.0/8))"},
      {"fd00::1/8", R"(network "fd00::1/8": host bits are set beyond the prefix (the network is fd00::/8))"},
      {"10.0.0/8",
       R"(network "10.0.0/8": not an IPv4 or IPv6 address followed by /prefix length (got "10.0.0"))"},
      {"", R"(network "": not an IPv4 or IPv6 address followed by /prefix length (got ""))"},
      {"localhost/8",
       R"(network "localhost/8": not an IPv4 or IPv6 address followed by /prefix length (got "localhost"))"},
      {"[::1]/128",
       R"(network "[::1]/128": not an IPv4 or IPv6 address followed by /prefix length (got "[::1]"))"},
      {"10.0.0.0\n/8",
       R"(network "10.0.0.0\x0a/8": not an IPv4 or IPv6 address followed by /prefix length (got "10.0.0.0\x0a"))"},
  };
  for (const auto& [cidr, message] : cases) {
    INFO(cidr);
    const auto parsed = parse_network(cidr);
    REQUIRE_FALSE(parsed);
    CHECK(parsed.error().code == ErrorCode::invalid_config);
    CHECK(parsed.error().message == message);
  }
}

TEST_CASE("NetworkGuard::validate names the entry of a bad network", "[unit][network]") {
  NetworkGuard guard;
  guard.allowed_networks = {"10.0.0.0/8", "10.0.0.0/33"};
  const auto valid = guard.validate();
  REQUIRE_FALSE(valid);
  CHECK(valid.error().code == ErrorCode::invalid_config);
  CHECK(valid.error().message ==
        R"(allowed_networks[1]: network "10.0.0.0/33": prefix length must be 0 to 32)");
  CHECK(valid.error().field == "allowed_networks[1]");
  guard.allowed_networks.pop_back();
  CHECK(guard.validate());
  CHECK_THROWS_MATCHES(
      WebhookClient(NetworkGuard{{"127.0.0.1/8"}, false}), ConfigError,
      Catch::Message(R"(allowed_networks[0]: network "127.0.0.1/8": host bits are set beyond )"
                     R"(the prefix (the network is 127.0.0.0/8))"));
}

TEST_CASE("a blocked outcome is final: not retryable", "[unit][network]") {
  Outcome outcome;
  outcome.error = TransportError::blocked;
  outcome.error_message = loopback_block;
  CHECK_FALSE(outcome.retryable());
  CHECK(outcome.describe() == std::string("blocked: ") + loopback_block);
}

// ---------------------------------------------------------------------------------------------
// Rules files

TEST_CASE("a rules file's network keys are checked, naming the key and the value", "[unit][network][rules]") {
  const std::string endpoint =
      R"({"name": "ops", "url": "https://hooks.example.com/x", "secret": "a-long-random-secret")";
  const std::vector<std::pair<std::string, std::string>> cases = {
      {R"({"endpoints": [)" + endpoint + R"(}], "allowed_networks": ["10.0.0.0/8", "10.0.0.0/33"]})",
       R"(allowed_networks[1]: network "10.0.0.0/33": prefix length must be 0 to 32)"},
      {R"({"endpoints": [)" + endpoint + R"(}], "allowed_networks": ["10.1.2.3/8"]})",
       R"(allowed_networks[0]: network "10.1.2.3/8": host bits are set beyond the prefix (the network is 10.0.0.0/8))"},
      {R"({"endpoints": [)" + endpoint + R"(}], "allowed_networks": "10.0.0.0/8"})",
       R"(allowed_networks: expected an array of networks ("10.0.0.0/8"))"},
      {R"({"endpoints": [)" + endpoint + R"(}], "allowed_networks": [10]})",
       R"(allowed_networks[0]: expected a string ("10.0.0.0/8"))"},
      {R"({"endpoints": [)" + endpoint + R"(}], "allow_proxy": "yes"})",
       "allow_proxy: expected true or false"},
      {R"({"endpoints": [)" + endpoint + R"(, "allow_private_network": 1}]})",
       "endpoints[0].allow_private_network: expected true or false"},
      {R"({"endpoints": [)" + endpoint + R"(, "proxy": "http://127.0.0.1:3128"}]})",
       R"(endpoints[0].proxy: a proxy is used only with "allow_proxy": true at the top level)"},
  };
  for (const auto& [json, message] : cases) {
    INFO(json);
    const auto parsed = parse_rules(json);
    REQUIRE_FALSE(parsed);
    CHECK(parsed.error().code == ErrorCode::invalid_config);
    CHECK(parsed.error().message == message);
  }
  const auto with_proxy = parse_rules(R"({"endpoints": [)" + endpoint +
                                      R"(, "proxy": "http://127.0.0.1:3128", "allow_private_network": true}],
                                         "allow_proxy": true, "allowed_networks": ["192.168.0.0/16"]})");
  REQUIRE(with_proxy);
  CHECK(with_proxy->network.allow_proxy);
  CHECK(with_proxy->network.allowed_networks == std::vector<std::string>{"192.168.0.0/16"});
  CHECK(with_proxy->endpoints[0].options.allow_private_network);
}

// ---------------------------------------------------------------------------------------------
// End to end, on loopback addresses only

TEST_CASE("by default a request to the local receiver is blocked and nothing reaches it",
          "[integration][network]") {
  HttpTestServer server;
  WebhookClient client;
  const Outcome outcome = client.send(local_request(server.url()));
  CHECK(outcome.error == TransportError::blocked);
  CHECK(outcome.error_message == loopback_block);
  CHECK(outcome.describe() == std::string("blocked: ") + loopback_block);
  CHECK(outcome.status == 0);
  CHECK_FALSE(outcome.retryable());
  CHECK(server.request_count() == 0);
  CHECK(server.connection_count() == 0);

  SECTION("allowed_networks lets the same request through") {
    WebhookClient allowed(NetworkGuard{{"127.0.0.0/8"}, false});
    CHECK(allowed.send(local_request(server.url())).status == 200);
    CHECK(server.request_count() == 1);
  }
  SECTION("a network that does not hold the address does not") {
    WebhookClient other(NetworkGuard{{"127.0.0.2/32", "10.0.0.0/8", "::1/128"}, false});
    CHECK(other.send(local_request(server.url())).error == TransportError::blocked);
    CHECK(server.connection_count() == 0);
  }
  SECTION("allow_private_network lets the same request through") {
    Request request = local_request(server.url());
    request.options.allow_private_network = true;
    CHECK(client.send(request).status == 200);
    CHECK(server.request_count() == 1);
  }
}

TEST_CASE("every spelling of a loopback address is blocked", "[integration][network]") {
  HttpTestServer server;
  WebhookClient client;
  for (const std::string host : {"127.0.0.1", "127.0.0.2", "127.1", "2130706433", "0x7f.0.0.1", "localhost",
                                 "LOCALHOST", "[::1]", "[::ffff:127.0.0.1]", "[::ffff:7f00:2]"}) {
    INFO(host);
    const Outcome outcome = client.send(local_request(url_on(host, server.port())));
    CHECK(outcome.error == TransportError::blocked);
    CHECK(outcome.error_message.find(" is a loopback address (") != std::string::npos);
  }
  CHECK(client.send(local_request(url_on("[::ffff:127.0.0.1]", server.port()))).error_message ==
        "::ffff:127.0.0.1 is a loopback address (127.0.0.0/8 carried in ::ffff:0:0/96); allow it with "
        "allow_private_network or allowed_networks");
  CHECK(server.connection_count() == 0);
  CHECK(server.request_count() == 0);
}

TEST_CASE(
    "the unspecified address 0.0.0.0, which reaches this machine, is blocked even with "
    "allow_private_network",
    "[integration][network]") {
  HttpTestServer server;
  WebhookClient client;
  Request request = local_request(url_on("0.0.0.0", server.port()));
  request.options.allow_private_network = true;
  const Outcome outcome = client.send(request);
  CHECK(outcome.error == TransportError::blocked);
  CHECK(outcome.error_message ==
        "0.0.0.0 is an unspecified address (0.0.0.0/8); allow it with allowed_networks");
  CHECK(server.connection_count() == 0);
}

TEST_CASE("a public-looking name that resolves to a loopback address is blocked after DNS",
          "[integration][network]") {
  // The name is mapped with CURLOPT_RESOLVE on the Transfer itself (a test-only seam: the public API
  // has no resolver override), as a rebinding DNS server would answer.
  HttpTestServer server;
  const std::string url = "http://hooks.example.com:" + std::to_string(server.port()) + "/hook";
  const std::string mapping = "hooks.example.com:" + std::to_string(server.port()) + ":127.0.0.1";
  curl_slist* resolve = curl_slist_append(nullptr, mapping.c_str());
  REQUIRE(resolve != nullptr);
  const auto send = [&](detail::Transfer& transfer, bool allow_private) {
    Request request = local_request(url);
    request.options.allow_private_network = allow_private;
    transfer.prepare(request);
    curl_easy_setopt(transfer.handle(), CURLOPT_RESOLVE, resolve);
    return transfer.finish(curl_easy_perform(transfer.handle()));
  };
  {
    detail::Transfer transfer;
    const Outcome blocked = send(transfer, false);
    CHECK(blocked.error == TransportError::blocked);
    CHECK(blocked.error_message == loopback_block);
    CHECK(server.connection_count() == 0);
    // The mapping works: allowed, the same name reaches the server.
    const Outcome allowed = send(transfer, true);
    CHECK(allowed.status == 200);
    CHECK(server.request_count() == 1);
    REQUIRE(server.requests().size() == 1);
    CHECK(*find_header(server.requests()[0].headers, "Host") ==
          "hooks.example.com:" + std::to_string(server.port()));
  }
  curl_slist_free_all(resolve);
}

TEST_CASE(
    "a kept-alive connection opened for a request that allowed private networks is not reused "
    "by one that does not",
    "[integration][network]") {
  HttpTestServer server;
  detail::Transfer transfer;
  Request allowed = local_request(server.url());
  allowed.options.allow_private_network = true;
  transfer.prepare(allowed);
  CHECK(transfer.finish(curl_easy_perform(transfer.handle())).status == 200);
  REQUIRE(server.connection_count() == 1);

  const Request strict = local_request(server.url());
  transfer.prepare(strict);
  const Outcome outcome = transfer.finish(curl_easy_perform(transfer.handle()));
  CHECK(outcome.error == TransportError::blocked);
  CHECK(outcome.error_message == loopback_block);
  CHECK(server.request_count() == 1);

  // The refused request was aborted, so libcurl closed that connection: the next one opens another.
  transfer.prepare(allowed);
  CHECK(transfer.finish(curl_easy_perform(transfer.handle())).status == 200);
  CHECK(server.request_count() == 2);
}

TEST_CASE("a proxy needs allow_proxy, and its own address is checked", "[integration][network]") {
  RawTestServer proxy(RawBehaviour::reply_bytes, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
  Request request = local_request("http://hooks.example.com/hook");
  request.options.proxy = "http://127.0.0.1:" + std::to_string(proxy.port());

  SECTION("without allow_proxy the request is refused before sending") {
    WebhookClient client;
    const Outcome outcome = client.send(request);
    CHECK(outcome.error == TransportError::invalid_request);
    CHECK(outcome.error_message ==
          "proxy \"" + request.options.proxy +
              "\": a proxy is used only with allow_proxy (NetworkGuard::allow_proxy, "
              "\"allow_proxy\": true in a rules file)");
    CHECK(proxy.connections() == 0);
  }
  SECTION("with allow_proxy, a proxy on a loopback address is blocked") {
    WebhookClient client(NetworkGuard{{}, true});
    const Outcome outcome = client.send(request);
    CHECK(outcome.error == TransportError::blocked);
    CHECK(outcome.error_message == loopback_block);
    CHECK(proxy.connections() == 0);
  }
  SECTION("with allow_proxy and the proxy's network allowed, the request goes through it") {
    WebhookClient client(NetworkGuard{{"127.0.0.1/32"}, true});
    CHECK(client.send(request).status == 200);
    CHECK(proxy.connections() == 1);
  }
  SECTION("a Dispatcher refuses an endpoint with a proxy unless allow_proxy") {
    Endpoint endpoint = local_endpoint("proxied", "http://hooks.example.com/hook");
    endpoint.options.proxy = request.options.proxy;
    DispatcherOptions options;
    options.endpoints = {endpoint};
    CHECK_THROWS_MATCHES(
        Dispatcher(options), ConfigError,
        Catch::Message("endpoint \"proxied\": proxy \"" + request.options.proxy +
                       "\": a proxy is used only with allow_proxy (NetworkGuard::allow_proxy, "
                       "\"allow_proxy\": true in a rules file)"));
    options.endpoints.clear();
    Dispatcher dispatcher(options);
    CHECK_THROWS_AS(dispatcher.upsert_endpoint(endpoint), ConfigError);
    CHECK(dispatcher.endpoints().empty());
    dispatcher.shutdown(0ms);
    CHECK(proxy.connections() == 0);
  }
}

TEST_CASE("a Dispatcher ends a blocked delivery at once as rejected, naming the address",
          "[integration][network][dispatcher]") {
  HttpTestServer server;
  Recorder recorder;
  DispatcherOptions options;
  Endpoint endpoint = local_endpoint("internal", server.url());
  endpoint.options.allow_private_network = false;
  options.endpoints = {endpoint};
  options.retry = quick_retries(5);
  recorder.install(options);
  {
    Dispatcher dispatcher(options);
    REQUIRE(dispatcher.dispatch(example_event(EventType::monitor_down)));
    REQUIRE(dispatcher.flush(10s));
    const DispatcherStats stats = dispatcher.stats();
    CHECK(stats.failed == 1);
    CHECK(stats.retries == 0);
    CHECK(stats.attempts == 1);
  }
  const auto reports = recorder.all();
  REQUIRE(reports.size() == 1);
  const DeliveryReport& report = reports[0];
  CHECK_FALSE(report.delivered);
  CHECK(report.reason == FailureReason::rejected);
  CHECK(report.attempts == 1);
  CHECK(report.last.error == TransportError::blocked);
  CHECK(report.last.error_message == loopback_block);
  CHECK(report.detail == std::string("blocked: ") + loopback_block);
  const auto attempts = recorder.all_attempts();
  REQUIRE(attempts.size() == 1);
  CHECK_FALSE(attempts[0].retry_in.has_value());
  CHECK(server.connection_count() == 0);
  CHECK(server.request_count() == 0);

  SECTION("DispatcherOptions::network.allowed_networks delivers the same endpoint") {
    Recorder delivered;
    DispatcherOptions allowed = options;
    allowed.network.allowed_networks = {"127.0.0.0/8"};
    delivered.install(allowed);
    Dispatcher dispatcher(allowed);
    REQUIRE(dispatcher.dispatch(example_event(EventType::monitor_down)));
    REQUIRE(dispatcher.flush(10s));
    REQUIRE(delivered.count() == 1);
    CHECK(delivered.all()[0].delivered);
    CHECK(server.request_count() == 1);
  }
  SECTION("a bad network is a ConfigError naming it") {
    DispatcherOptions bad = options;
    bad.network.allowed_networks = {"127.0.0.0/33"};
    CHECK_THROWS_MATCHES(
        Dispatcher(bad), ConfigError,
        Catch::Message(
            R"(network.allowed_networks[0]: network "127.0.0.0/33": prefix length must be 0 to 32)"));
  }
}
