// TempDir and RefusedPort: small POSIX helpers for tests.

#include "support/servers.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>
#include <system_error>
#include <tuple>
#include <utility>

namespace statusstack::webhooks::testing {

TempDir::TempDir() {
  const char* base = std::getenv("TMPDIR");
  std::string pattern = std::string(base && *base ? base : "/tmp") + "/ssw-test-XXXXXX";
  if (!::mkdtemp(pattern.data())) {
    throw std::runtime_error("TempDir: mkdtemp(" + pattern + ") failed: " + std::strerror(errno));
  }
  path_ = pattern;
}

TempDir::~TempDir() {
  std::error_code ignored;
  std::filesystem::remove_all(path_, ignored);
}

std::string TempDir::file(std::string_view name) const { return path_ + "/" + std::string(name); }

std::string TempDir::write(std::string_view name, std::string_view bytes) const {
  std::string full = file(name);
  std::ofstream out(full, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  if (!out.flush()) throw std::runtime_error("TempDir: cannot write " + full);
  return full;
}

namespace {

// A TCP socket bound to 127.0.0.1 on a port the kernel picks (not listening), and that port.
std::pair<int, int> bind_loopback_port(const char* who) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0)
    throw std::runtime_error(std::string(who) + ": socket: " + std::generic_category().message(errno));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  // No SO_REUSEADDR: with it, another socket that sets it too could bind the same port.
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    const int error = errno;
    ::close(fd);
    throw std::runtime_error(std::string(who) +
                             ": cannot bind a loopback port: " + std::generic_category().message(error));
  }
  return {fd, ntohs(addr.sin_port)};
}

}  // namespace

RefusedPort::RefusedPort() { std::tie(fd_, port_) = bind_loopback_port("RefusedPort"); }

RefusedPort::~RefusedPort() { ::close(fd_); }

std::string RefusedPort::url(std::string_view path) const {
  return "http://127.0.0.1:" + std::to_string(port_) + std::string(path);
}

}  // namespace statusstack::webhooks::testing
