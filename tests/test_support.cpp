// Self-tests of the test infrastructure in tests/support/, using httplib's client and plain
// sockets (never the library's own client, which these servers exist to test).

#include "support/files.hpp"
#include "support/servers.hpp"

#include <httplib.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include <atomic>
#include <cerrno>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <thread>

using namespace statusstack::webhooks;
using namespace statusstack::webhooks::testing;
using namespace std::chrono_literals;

namespace {

// A blocking client socket connected to 127.0.0.1:port whose reads give up after 5 s.
struct Socket {
  int fd = -1;
  int connect_errno = 0;

  explicit Socket(int port) {
    fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    const timeval five_seconds{5, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &five_seconds, sizeof five_seconds);
    ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &five_seconds, sizeof five_seconds);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = htons(static_cast<std::uint16_t>(port));
    if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) connect_errno = errno;
  }
  ~Socket() { ::close(fd); }

  void send(std::string_view bytes) const {
    REQUIRE(::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(bytes.size()));
  }
  // True when something (data or EOF) arrives within `timeout`.
  bool readable_within(std::chrono::milliseconds timeout) const {
    pollfd p{fd, POLLIN, 0};
    return ::poll(&p, 1, static_cast<int>(timeout.count())) == 1;
  }
  // Reads until EOF, an error or the 5 s read timeout; `error` is 0 on EOF, else the errno.
  std::string read_to_end(int& error) const {
    std::string data;
    char buffer[1024];
    for (;;) {
      const ssize_t n = ::recv(fd, buffer, sizeof buffer, 0);
      if (n > 0) {
        data.append(buffer, static_cast<std::size_t>(n));
        continue;
      }
      error = n == 0 ? 0 : errno;
      return data;
    }
  }
  std::string read_some() const {
    char buffer[1024];
    const ssize_t n = ::recv(fd, buffer, sizeof buffer, 0);
    return n > 0 ? std::string(buffer, static_cast<std::size_t>(n)) : std::string();
  }
};

// Polls `condition` every millisecond for at most 5 s.
template <typename Condition>
bool eventually(Condition condition) {
  const auto deadline = std::chrono::steady_clock::now() + 5s;
  while (!condition()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(1ms);
  }
  return true;
}

// httplib's client, without Nagle's delay between the headers and body they write separately.
struct Client : httplib::Client {
  explicit Client(int port) : httplib::Client("127.0.0.1", port) { set_tcp_nodelay(true); }
};

const std::string kRequest = "POST /hook HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 5\r\n\r\nhello";

}  // namespace

TEST_CASE("a TempDir writes files and removes itself with its contents", "[integration][support]") {
  std::string root;
  {
    TempDir dir;
    root = dir.path();
    REQUIRE(std::filesystem::is_directory(root));
    const std::string path = dir.write("payload.json", std::string("{\"a\":1}\0x", 9));
    CHECK(path == dir.file("payload.json"));
    CHECK(path == root + "/payload.json");
    CHECK(read_file(path) == std::string("{\"a\":1}\0x", 9));
    std::filesystem::create_directory(root + "/nested");
    dir.write("nested/more.txt", "more");
    TempDir other;
    CHECK(other.path() != root);
  }
  CHECK_FALSE(std::filesystem::exists(root));
}

TEST_CASE("TestCertificates writes a CA and two server certificates as PEM files", "[integration][support]") {
  const TestCertificates certs;
  for (const std::string& file : {certs.ca_file(), certs.cert_file(), certs.wrong_host_cert_file()}) {
    CHECK(read_file(file).rfind("-----BEGIN CERTIFICATE-----\n", 0) == 0);
  }
  for (const std::string& file : {certs.key_file(), certs.wrong_host_key_file()}) {
    CHECK(read_file(file).rfind("-----BEGIN PRIVATE KEY-----\n", 0) == 0);
  }
  CHECK(certs.ca_pem() == read_file(certs.ca_file()));
  CHECK(read_file(certs.cert_file()) != read_file(certs.wrong_host_cert_file()));
}

TEST_CASE("the HTTP test server records a request and answers as the handler says",
          "[integration][support]") {
  HttpTestServer server([](const RecordedRequest& req) {
    return Reply{req.body == "{\"n\":1}" ? 201 : 400, {{"X-Answer", "yes"}}, "created", {}};
  });
  REQUIRE(server.url() == "http://127.0.0.1:" + std::to_string(server.port()) + "/hook");

  httplib::Client client("127.0.0.1", server.port());
  const auto res = client.Post("/hook?x=1", {{"X-StatusStack-Event", "component.status_changed"}},
                               "{\"n\":1}", "application/json");
  REQUIRE(res);
  CHECK(res->status == 201);
  CHECK(res->get_header_value("X-Answer") == "yes");
  CHECK(res->body == "created");

  const std::vector<RecordedRequest> requests = server.requests();
  REQUIRE(requests.size() == 1);
  const RecordedRequest& req = requests[0];
  CHECK(req.method == "POST");
  CHECK(req.path == "/hook");
  CHECK(req.body == "{\"n\":1}");
  REQUIRE(find_header(req.headers, "x-statusstack-event") != nullptr);
  CHECK(*find_header(req.headers, "x-statusstack-event") == "component.status_changed");
  CHECK(*find_header(req.headers, "content-type") == "application/json");
  CHECK(find_header(req.headers, "REMOTE_ADDR") == nullptr);
  CHECK(req.remote_port > 0);
}

TEST_CASE("the HTTP test server takes any method on any path and counts connections",
          "[integration][support]") {
  HttpTestServer server;  // default: 200 "ok"
  {
    httplib::Client client("127.0.0.1", server.port());
    client.set_keep_alive(true);
    const auto post = client.Post("/a", "1", "text/plain");
    const auto put = client.Put("/b/c", "2", "text/plain");
    const auto patch = client.Patch("/d", "3", "text/plain");
    const auto get = client.Get("/");
    REQUIRE(post);
    REQUIRE(put);
    REQUIRE(patch);
    REQUIRE(get);
    CHECK(post->status == 200);
    CHECK(post->body == "ok");
    CHECK(get->body == "ok");
  }
  const auto requests = server.requests();
  REQUIRE(requests.size() == 4);
  CHECK(requests[0].method == "POST");
  CHECK(requests[1].method == "PUT");
  CHECK(requests[1].path == "/b/c");
  CHECK(requests[2].method == "PATCH");
  CHECK(requests[2].body == "3");
  CHECK(requests[3].method == "GET");
  // The server keeps connections alive: one connection, one client port.
  CHECK(server.connection_count() == 1);
  CHECK(requests[3].remote_port == requests[0].remote_port);

  httplib::Client second("127.0.0.1", server.port());  // without keep-alive
  REQUIRE(second.Post("/again", "x", "text/plain"));
  CHECK(server.connection_count() == 2);
  CHECK(server.requests().back().remote_port != requests[0].remote_port);
}

TEST_CASE("wait_for_requests returns false once its timeout passes", "[integration][support]") {
  HttpTestServer server;
  CHECK_FALSE(server.wait_for_requests(1, 20ms));
  httplib::Client client("127.0.0.1", server.port());
  REQUIRE(client.Post("/hook", "x", "text/plain"));
  CHECK(server.wait_for_requests(1, 5s));
  CHECK(server.request_count() == 1);
}

TEST_CASE("set_handler changes the answer for later requests", "[integration][support]") {
  HttpTestServer server;
  httplib::Client client("127.0.0.1", server.port());
  REQUIRE(client.Post("/hook", "x", "text/plain")->status == 200);
  server.set_handler([](const RecordedRequest&) { return Reply{503, {{"Retry-After", "1"}}, "", {}}; });
  const auto res = client.Post("/hook", "x", "text/plain");
  REQUIRE(res);
  CHECK(res->status == 503);
  CHECK(res->get_header_value("Retry-After") == "1");
}

TEST_CASE("a delayed reply comes after its delay, unless the server stops first", "[integration][support]") {
  SECTION("the client waits at least the delay") {
    HttpTestServer server([](const RecordedRequest&) { return Reply{200, {}, "late", 100ms}; });
    httplib::Client client("127.0.0.1", server.port());
    const auto start = std::chrono::steady_clock::now();
    const auto res = client.Post("/hook", "x", "text/plain");
    REQUIRE(res);
    CHECK(res->body == "late");
    CHECK(std::chrono::steady_clock::now() - start >= 100ms);
  }
  SECTION("a client that gave up does not hold the server's destructor for the whole delay") {
    auto server = std::make_unique<HttpTestServer>([](const RecordedRequest&) {
      return Reply{200, {}, "", std::chrono::minutes(10)};
    });
    {
      Client client(server->port());
      client.set_read_timeout(0, 100'000);  // 100 ms
      const auto res = client.Post("/hook", "x", "text/plain");
      CHECK(res.error() == httplib::Error::Read);
    }
    REQUIRE(server->wait_for_requests(1, 5s));
    server.reset();  // would take 10 minutes if the delay were not interruptible
  }
  SECTION("a client still waiting sees the connection close when the server stops") {
    auto server = std::make_unique<HttpTestServer>([](const RecordedRequest&) {
      return Reply{200, {}, "never sent", std::chrono::minutes(10)};
    });
    httplib::Error error = httplib::Error::Success;
    std::thread waiting([&error, port = server->port()] {
      Client client(port);
      client.set_read_timeout(30, 0);
      error = client.Post("/hook", "x", "text/plain").error();
    });
    REQUIRE(server->wait_for_requests(1, 5s));
    server.reset();
    waiting.join();
    CHECK(error == httplib::Error::Read);
  }
}

TEST_CASE("destroying the HTTP test server does not wait for clients holding idle connections",
          "[integration][support]") {
  auto server = std::make_unique<HttpTestServer>();
  Socket client(server->port());
  client.send("POST /hook HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\n\r\nx");
  REQUIRE(client.readable_within(5s));
  // The answer may come in more than one segment (on a busy machine): all of it before the server
  // goes, so that what is read after is only the end of the connection.
  std::string answer = client.read_some();
  const auto complete = [&answer] {
    const auto end = answer.find("\r\n\r\n");
    if (end == std::string::npos) return false;
    const auto length = answer.find("Content-Length: ");
    const std::size_t body = length < end ? std::stoul(answer.substr(length + 16)) : 0;
    return answer.size() >= end + 4 + body;
  };
  for (int i = 0; i < 100 && !complete() && client.readable_within(5s); ++i) answer += client.read_some();
  CHECK(answer.rfind("HTTP/1.1 200 OK\r\n", 0) == 0);
  REQUIRE(complete());
  // httplib alone would keep polling this idle connection for 5 s before its threads can join.
  const auto start = std::chrono::steady_clock::now();
  server.reset();
  CHECK(std::chrono::steady_clock::now() - start < 3s);
  int error = -1;
  CHECK(client.read_to_end(error).empty());
  CHECK(error == 0);
}

TEST_CASE("the HTTPS test server is trusted through the test CA", "[integration][support]") {
  const TestCertificates certs;
  HttpTestServer server(certs, [](const RecordedRequest&) { return Reply{200, {}, "secure", {}}; });
  REQUIRE(server.url("/x") == "https://127.0.0.1:" + std::to_string(server.port()) + "/x");

  SECTION("a client with the CA file and verification on connects, by IP and by name") {
    for (const char* host : {"127.0.0.1", "localhost"}) {
      httplib::SSLClient client(host, server.port());
      client.set_ca_cert_path(certs.ca_file().c_str());
      client.enable_server_certificate_verification(true);
      const auto res = client.Post("/hook", "{}", "application/json");
      INFO(host << ": " << httplib::to_string(res.error()));
      REQUIRE(res);
      CHECK(res->body == "secure");
    }
    CHECK(server.request_count() == 2);
  }
  SECTION("a client without the CA refuses the certificate") {
    const TestCertificates others;
    httplib::SSLClient client("127.0.0.1", server.port());
    client.set_ca_cert_path(others.ca_file().c_str());
    client.enable_server_certificate_verification(true);
    const auto res = client.Post("/hook", "{}", "application/json");
    CHECK(res.error() == httplib::Error::SSLServerVerification);
    CHECK(server.request_count() == 0);
  }
}

TEST_CASE("a client trusting the CA refuses the wrong-host certificate for 127.0.0.1",
          "[integration][support]") {
  const TestCertificates certs;
  HttpTestServer server(certs, {}, /*wrong_host=*/true);
  httplib::SSLClient client("127.0.0.1", server.port());
  client.set_ca_cert_path(certs.ca_file().c_str());
  client.enable_server_certificate_verification(true);
  const auto res = client.Post("/hook", "{}", "application/json");
  CHECK(res.error() == httplib::Error::SSLServerVerification);
  CHECK(server.request_count() == 0);
}

TEST_CASE("a raw server replying bytes waits for the whole body, then writes them and closes",
          "[integration][support]") {
  const std::string reply =
      "HTTP/1.1 302 Found\r\nLocation: http://127.0.0.1:1/elsewhere\r\nContent-Length: 0\r\n\r\n";
  RawTestServer server(RawBehaviour::reply_bytes, reply);
  CHECK(server.url() == "http://127.0.0.1:" + std::to_string(server.port()) + "/hook");
  Socket client(server.port());
  REQUIRE(client.connect_errno == 0);
  client.send(kRequest.substr(0, kRequest.size() - 2));
  CHECK_FALSE(client.readable_within(100ms));  // 3 of 5 body bytes: no answer yet
  client.send(kRequest.substr(kRequest.size() - 2));
  int error = -1;
  CHECK(client.read_to_end(error) == reply);
  CHECK(error == 0);
  CHECK(server.received() == kRequest);
  CHECK(server.connections() == 1);
}

TEST_CASE("a raw server answers Expect: 100-continue before the body comes", "[integration][support]") {
  RawTestServer server(RawBehaviour::reply_bytes, "HTTP/1.1 204 No Content\r\n\r\n");
  Socket client(server.port());
  client.send("PUT /hook HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\n");
  REQUIRE(client.readable_within(5s));
  CHECK(client.read_some() == "HTTP/1.1 100 Continue\r\n\r\n");
  client.send("{}");
  int error = -1;
  CHECK(client.read_to_end(error) == "HTTP/1.1 204 No Content\r\n\r\n");
}

TEST_CASE("a raw server reads a chunked body to its last chunk", "[integration][support]") {
  RawTestServer server(RawBehaviour::reply_bytes, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
  Socket client(server.port());
  client.send("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n");
  CHECK_FALSE(client.readable_within(100ms));
  client.send("0\r\n\r\n");
  int error = -1;
  CHECK(client.read_to_end(error) == "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
}

TEST_CASE("a raw server resetting after the request makes the client see a reset", "[integration][support]") {
  RawTestServer server(RawBehaviour::reset_after_request);
  Socket client(server.port());
  client.send(kRequest);
  int error = -1;
  CHECK(client.read_to_end(error).empty());
  CHECK(error == ECONNRESET);
  CHECK(server.received() == kRequest);
}

TEST_CASE("a raw server resetting mid-response sends part of an answer, then a reset",
          "[integration][support]") {
  RawTestServer server(RawBehaviour::reset_mid_response);
  Socket client(server.port());
  client.send(kRequest);
  int error = -1;
  const std::string got = client.read_to_end(error);
  CHECK(error == ECONNRESET);
  // The reset may overtake the bytes in the client's receive queue: a prefix is all we can ask.
  CHECK(std::string("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nabc").rfind(got, 0) == 0);
}

TEST_CASE("a raw server that never answers keeps the connection open and silent", "[integration][support]") {
  RawTestServer server(RawBehaviour::never_answer);
  Socket client(server.port());
  client.send(kRequest);
  CHECK(eventually([&] { return server.received() == kRequest; }));
  CHECK_FALSE(client.readable_within(200ms));
  CHECK(server.connections() == 1);
}

TEST_CASE("a raw server closing immediately gives the client EOF or a reset", "[integration][support]") {
  RawTestServer server(RawBehaviour::close_immediately);
  for (int i = 0; i < 3; ++i) {
    Socket client(server.port());
    REQUIRE(client.connect_errno == 0);
    int error = -1;
    CHECK(client.read_to_end(error).empty());
    CHECK((error == 0 || error == ECONNRESET));
  }
  CHECK(server.wait_for_connections(3, 5s));
  CHECK_FALSE(server.wait_for_connections(4, 20ms));
  CHECK(server.received().empty());
}

TEST_CASE("a RefusedPort refuses connections and keeps its port from others while it lives",
          "[integration][support]") {
  const RefusedPort refused;
  REQUIRE(refused.port() > 0);
  CHECK(refused.url() == "http://127.0.0.1:" + std::to_string(refused.port()) + "/hook");
  for (int i = 0; i < 3; ++i) {
    const Socket client(refused.port());
    CHECK(client.connect_errno == ECONNREFUSED);
  }
  // Nobody can take the port meanwhile, not even a socket asking for SO_REUSEADDR.
  const int other = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  REQUIRE(other >= 0);
  const int on = 1;
  REQUIRE(::setsockopt(other, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on) == 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<std::uint16_t>(refused.port()));
  const int bound = ::bind(other, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  const int bind_errno = errno;
  ::close(other);
  CHECK(bound == -1);
  CHECK(bind_errno == EADDRINUSE);
}
