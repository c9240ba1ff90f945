// RawTestServer: a misbehaving HTTP peer on plain POSIX sockets, one poll() thread.

#include "support/servers.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cctype>
#include <cerrno>
#include <condition_variable>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <stdexcept>
#include <thread>

namespace statusstack::webhooks::testing {
namespace {

constexpr int kPollMillis = 100;  // upper bound on how long the loop sleeps between checks
constexpr int kWriteMillis = 2000;

[[noreturn]] void fail(const char* what) {
  throw std::runtime_error(std::string("RawTestServer: ") + what + ": " + std::strerror(errno));
}

std::string lowercase(std::string text) {
  for (char& c : text) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return text;
}

// Where the request in `data` ends (one past its last byte), or npos while it is incomplete.
// Knows Content-Length and chunked bodies; a request with neither has no body.
std::size_t request_end(const std::string& data) {
  const std::size_t head_end = data.find("\r\n\r\n");
  if (head_end == std::string::npos) return std::string::npos;
  const std::size_t body = head_end + 4;
  const std::string head = lowercase(data.substr(0, body));
  if (head.find("\r\ntransfer-encoding: chunked") != std::string::npos) {
    // The last chunk: "0\r\n\r\n", at the body's start or after a chunk's CRLF.
    if (data.compare(body, 5, "0\r\n\r\n") == 0) return body + 5;
    const std::size_t last = data.find("\r\n0\r\n\r\n", body);
    return last == std::string::npos ? std::string::npos : last + 7;
  }
  const std::size_t field = head.find("\r\ncontent-length:");
  if (field == std::string::npos) return body;
  const std::size_t length = std::strtoul(head.c_str() + field + 17, nullptr, 10);
  return data.size() >= body + length ? body + length : std::string::npos;
}

bool expects_continue(const std::string& data) {
  const std::size_t head_end = data.find("\r\n\r\n");
  return head_end != std::string::npos &&
         lowercase(data.substr(0, head_end)).find("\r\nexpect: 100-continue") != std::string::npos;
}

// Writes all of `bytes` to the non-blocking socket, waiting at most kWriteMillis for room.
void send_all(int fd, std::string_view bytes) {
  while (!bytes.empty()) {
    const ssize_t sent = ::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL);
    if (sent > 0) {
      bytes.remove_prefix(static_cast<std::size_t>(sent));
    } else if (sent < 0 && errno == EAGAIN) {
      pollfd p{fd, POLLOUT, 0};
      if (::poll(&p, 1, kWriteMillis) <= 0) return;
    } else {
      return;  // the peer went away: nothing more to do for this connection
    }
  }
}

void close_with_reset(int fd) {
  const linger abort_on_close{1, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_LINGER, &abort_on_close, sizeof abort_on_close);
  ::close(fd);
}

struct Connection {
  int fd;
  std::string data;  // bytes of the request being read
  bool continued = false;
};

}  // namespace

struct RawTestServer::Impl {
  RawBehaviour behaviour;
  std::string bytes;
  int listen_fd = -1;
  int wake[2] = {-1, -1};  // a byte written to wake[1] wakes the loop up to see `stopping`
  std::atomic<bool> stopping{false};
  int port = 0;
  std::thread thread;

  mutable std::mutex mutex;
  mutable std::condition_variable accepted_changed;
  std::size_t accepted = 0;
  std::string received;

  void run();
  // Handles readable data on `conn`; false when the connection is finished (already closed).
  bool on_readable(Connection& conn);
  void accept_one(std::vector<Connection>& conns);
};

void RawTestServer::Impl::accept_one(std::vector<Connection>& conns) {
  const int fd = ::accept4(listen_fd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
  if (fd < 0) return;
  {
    std::lock_guard<std::mutex> lock(mutex);
    ++accepted;
  }
  accepted_changed.notify_all();
  if (behaviour == RawBehaviour::close_immediately) {
    ::close(fd);
  } else {
    conns.push_back({fd, {}});
  }
}

bool RawTestServer::Impl::on_readable(Connection& conn) {
  char buffer[4096];
  const ssize_t n = ::recv(conn.fd, buffer, sizeof buffer, 0);
  if (n < 0 && (errno == EAGAIN || errno == EINTR)) return true;
  if (n <= 0) {  // the client closed (or reset) first
    ::close(conn.fd);
    return false;
  }
  {
    std::lock_guard<std::mutex> lock(mutex);
    received.append(buffer, static_cast<std::size_t>(n));
  }
  if (behaviour == RawBehaviour::never_answer) return true;

  conn.data.append(buffer, static_cast<std::size_t>(n));
  if (request_end(conn.data) == std::string::npos) {
    if (!conn.continued && expects_continue(conn.data)) {
      send_all(conn.fd, "HTTP/1.1 100 Continue\r\n\r\n");
      conn.continued = true;
    }
    return true;
  }
  switch (behaviour) {
    case RawBehaviour::reply_bytes:
      send_all(conn.fd, bytes);
      ::shutdown(conn.fd, SHUT_WR);
      ::close(conn.fd);
      break;
    case RawBehaviour::reset_mid_response: send_all(conn.fd, bytes); [[fallthrough]];
    default: close_with_reset(conn.fd); break;
  }
  return false;
}

void RawTestServer::Impl::run() {
  std::vector<Connection> conns;
  std::vector<pollfd> fds;
  while (!stopping.load()) {
    fds.assign({{wake[0], POLLIN, 0}, {listen_fd, POLLIN, 0}});
    for (const Connection& conn : conns) fds.push_back({conn.fd, POLLIN, 0});
    if (::poll(fds.data(), fds.size(), kPollMillis) < 0 && errno != EINTR) break;
    if (fds[0].revents) break;  // the destructor woke us
    // Connections first (their indices match fds[2...]), then new ones.
    std::vector<Connection> still_open;
    for (std::size_t i = 0; i < conns.size(); ++i) {
      if (!fds[i + 2].revents || on_readable(conns[i])) still_open.push_back(std::move(conns[i]));
    }
    conns = std::move(still_open);
    if (fds[1].revents & POLLIN) accept_one(conns);
  }
  for (const Connection& conn : conns) ::close(conn.fd);
}

RawTestServer::RawTestServer(RawBehaviour behaviour, std::string bytes) : impl_(std::make_unique<Impl>()) {
  Impl& s = *impl_;
  s.behaviour = behaviour;
  s.bytes = std::move(bytes);
  if (s.bytes.empty() && behaviour == RawBehaviour::reset_mid_response) {
    s.bytes = "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nabc";
  }
  s.listen_fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (s.listen_fd < 0) fail("socket");
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  if (::bind(s.listen_fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      ::listen(s.listen_fd, SOMAXCONN) != 0 ||
      ::getsockname(s.listen_fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    ::close(s.listen_fd);
    fail("bind/listen on 127.0.0.1");
  }
  s.port = ntohs(addr.sin_port);
  if (::pipe2(s.wake, O_CLOEXEC) != 0) {
    ::close(s.listen_fd);
    fail("pipe2");
  }
  // Listening already: connections queue in the kernel until the loop picks them up.
  s.thread = std::thread([&s] { s.run(); });
}

RawTestServer::~RawTestServer() {
  impl_->stopping.store(true);
  const char wake_up = 's';
  (void)!::write(impl_->wake[1], &wake_up, 1);  // if this failed, the poll timeout still ends the loop
  impl_->thread.join();
  ::close(impl_->listen_fd);
  ::close(impl_->wake[0]);
  ::close(impl_->wake[1]);
}

int RawTestServer::port() const { return impl_->port; }

std::string RawTestServer::url(std::string_view path) const {
  return "http://127.0.0.1:" + std::to_string(impl_->port) + std::string(path);
}

std::size_t RawTestServer::connections() const {
  std::lock_guard<std::mutex> lock(impl_->mutex);
  return impl_->accepted;
}

bool RawTestServer::wait_for_connections(std::size_t n, std::chrono::milliseconds timeout) const {
  std::unique_lock<std::mutex> lock(impl_->mutex);
  return impl_->accepted_changed.wait_for(lock, timeout, [&] { return impl_->accepted >= n; });
}

std::string RawTestServer::received() const {
  std::lock_guard<std::mutex> lock(impl_->mutex);
  return impl_->received;
}

}  // namespace statusstack::webhooks::testing
