// HttpTestServer: cpp-httplib's Server/SSLServer on 127.0.0.1, recording every request.
//
// Debian's cpp-httplib is a split build: httplib.h declares, libcpp-httplib.so implements (so the
// CPPHTTPLIB_* macros from its pkg-config file must match, and the .so is not instrumented by the
// sanitizers). What runs on the server's threads outside the .so is ours and instrumented: the
// handler, the recording, and the worker pool, which we supply through Server::new_task_queue
// (ThreadPool is inline in the header) to count and track the connections httplib accepts.
//
// Why track connections: between requests httplib's keep_alive() polls an idle connection for up
// to its timeout (5 s) without looking at whether the server was stopped, so a client holding an
// idle connection would hold up stop() that long. stop() therefore shuts down the reading side of
// every live connection, which ends that wait at once while still letting replies be written.

#include "support/servers.hpp"

#include <httplib.h>

#include <dirent.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <condition_variable>
#include <cstdlib>
#include <mutex>
#include <set>
#include <stdexcept>
#include <thread>

namespace statusstack::webhooks::testing {
namespace {

constexpr std::size_t kWorkerThreads = 16;
constexpr std::size_t kRequestsPerConnection = 1000;
constexpr std::chrono::seconds kReadyTimeout{10};

// One accepted connection, on the stack of the worker thread serving it. `fd` is our own dup of
// httplib's socket (found when its first request arrives), closed only after httplib is done with
// the connection, so shutting it down can never hit an unrelated, reused descriptor.
struct Connection {
  int fd = -1;
};
thread_local Connection* this_threads_connection = nullptr;

int socket_port(int fd, bool peer) {
  sockaddr_in addr{};
  socklen_t len = sizeof addr;
  const int rc = peer ? ::getpeername(fd, reinterpret_cast<sockaddr*>(&addr), &len)
                      : ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  return rc == 0 && addr.sin_family == AF_INET ? ntohs(addr.sin_port) : -1;
}

// A dup of the descriptor of the connection from 127.0.0.1:remote_port to our port, or -1.
// httplib does not hand the socket to handlers, so look it up among the process's descriptors.
int dup_connection_socket(int port, int remote_port) {
  DIR* dir = ::opendir("/proc/self/fd");
  if (!dir) return -1;
  int found = -1;
  while (const dirent* entry = ::readdir(dir)) {
    const int fd = std::atoi(entry->d_name);
    if (fd > 2 && fd != ::dirfd(dir) && socket_port(fd, false) == port &&
        socket_port(fd, true) == remote_port) {
      found = ::fcntl(fd, F_DUPFD_CLOEXEC, 0);  // fd stays open: its worker is in our handler
      break;
    }
  }
  ::closedir(dir);
  return found;
}

Reply default_reply(const RecordedRequest&) { return Reply{200, {{"Content-Type", "text/plain"}}, "ok", {}}; }

}  // namespace

struct HttpTestServer::Impl {
  std::unique_ptr<httplib::Server> server;
  std::thread thread;
  std::string scheme;
  int port = 0;
  std::atomic<std::size_t> accepted{0};

  mutable std::mutex mutex;
  mutable std::condition_variable changed;  // a request was recorded, or the server is stopping
  Handler handler;
  std::vector<RecordedRequest> requests;
  std::set<Connection*> connections;
  bool stopping = false;

  void serve(const httplib::Request& req, httplib::Response& res);
  void serve_connection(const std::function<void()>& process);
  void start();
  void stop();

  class Pool;
};

// httplib enqueues one task per accepted connection: counting tasks counts connections.
class HttpTestServer::Impl::Pool : public httplib::ThreadPool {
 public:
  explicit Pool(Impl& owner) : ThreadPool(kWorkerThreads), owner_(owner) {}
  void enqueue(std::function<void()> fn) override {
    owner_.accepted.fetch_add(1);
    ThreadPool::enqueue([this, fn = std::move(fn)] { owner_.serve_connection(fn); });
  }

 private:
  Impl& owner_;
};

void HttpTestServer::Impl::serve_connection(const std::function<void()>& process) {
  Connection conn;
  {
    std::lock_guard<std::mutex> lock(mutex);
    connections.insert(&conn);
  }
  this_threads_connection = &conn;
  process();  // httplib serves the connection until it closes it
  this_threads_connection = nullptr;
  std::lock_guard<std::mutex> lock(mutex);
  connections.erase(&conn);
  if (conn.fd >= 0) ::close(conn.fd);
}

void HttpTestServer::Impl::serve(const httplib::Request& req, httplib::Response& res) {
  RecordedRequest recorded{req.method, req.path,        {},
                           req.body,   req.remote_port, std::chrono::steady_clock::now()};
  for (const auto& [name, value] : req.headers) {
    if (name != "REMOTE_ADDR" && name != "REMOTE_PORT") recorded.headers.push_back({name, value});
  }
  Connection* conn = this_threads_connection;
  const int fd = conn && conn->fd < 0 ? dup_connection_socket(port, req.remote_port) : -1;
  Handler current;
  {
    std::lock_guard<std::mutex> lock(mutex);
    if (fd >= 0) {
      conn->fd = fd;
      if (stopping) ::shutdown(fd, SHUT_RD);  // stop() has already swept the connections
    }
    requests.push_back(recorded);
    current = handler;
  }
  changed.notify_all();

  const Reply reply = current(recorded);
  if (reply.delay.count() > 0) {
    std::unique_lock<std::mutex> lock(mutex);
    changed.wait_for(lock, reply.delay, [this] { return stopping; });
  }
  res.status = reply.status;
  for (const Header& header : reply.headers) res.set_header(header.name.c_str(), header.value);
  res.body = reply.body;
}

namespace {
// Debian's httplib was built with a listen backlog of 5: a client opening more connections at once
// has its extra SYNs dropped and retried a second later. Calling listen() again on the listening
// socket raises the backlog (Linux), so bursts of connections are accepted at once.
void widen_listen_backlog(int port) {
  DIR* fds = opendir("/proc/self/fd");
  if (fds == nullptr) return;
  while (const dirent* entry = readdir(fds)) {
    const int fd = std::atoi(entry->d_name);
    if (fd <= 2 || fd == dirfd(fds)) continue;
    int listening = 0;
    socklen_t length = sizeof listening;
    if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &length) != 0 || listening == 0) continue;
    sockaddr_in address{};
    socklen_t address_length = sizeof address;
    if (getsockname(fd, reinterpret_cast<sockaddr*>(&address), &address_length) == 0 &&
        address.sin_family == AF_INET && ntohs(address.sin_port) == port) {
      ::listen(fd, SOMAXCONN);
    }
  }
  closedir(fds);
}
}  // namespace

void HttpTestServer::Impl::start() {
  server->new_task_queue = [this] { return new Pool(*this); };
  server->set_keep_alive_max_count(kRequestsPerConnection);
  server->set_tcp_nodelay(true);  // headers and body go out in separate writes: no Nagle delay
  const auto route = [this](const httplib::Request& req, httplib::Response& res) { serve(req, res); };
  server->Get(".*", route);
  server->Post(".*", route);
  server->Put(".*", route);
  server->Patch(".*", route);
  server->Delete(".*", route);
  server->Options(".*", route);

  port = server->bind_to_any_port("127.0.0.1");
  if (port <= 0) throw std::runtime_error("HttpTestServer: cannot bind 127.0.0.1");
  widen_listen_backlog(port);
  thread = std::thread([this] { server->listen_after_bind(); });

  // stop() is a no-op until the accept loop runs, so do not return before it does.
  const auto deadline = std::chrono::steady_clock::now() + kReadyTimeout;
  while (!server->is_running()) {
    if (std::chrono::steady_clock::now() > deadline) {
      thread.detach();  // cannot be stopped; leaking it beats hanging the test run
      throw std::runtime_error("HttpTestServer: accept loop did not start");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
}

void HttpTestServer::Impl::stop() {
  {
    std::lock_guard<std::mutex> lock(mutex);
    stopping = true;  // cuts reply delays short
    for (const Connection* conn : connections) {
      if (conn->fd >= 0) ::shutdown(conn->fd, SHUT_RD);  // ends idle keep-alive waits
    }
  }
  changed.notify_all();
  server->stop();
  thread.join();
}

HttpTestServer::HttpTestServer(Handler handler) : impl_(std::make_unique<Impl>()) {
  impl_->handler = handler ? std::move(handler) : default_reply;
  impl_->scheme = "http";
  impl_->server = std::make_unique<httplib::Server>();
  impl_->start();
}

HttpTestServer::HttpTestServer(const TestCertificates& certs, Handler handler, bool wrong_host)
    : impl_(std::make_unique<Impl>()) {
  impl_->handler = handler ? std::move(handler) : default_reply;
  impl_->scheme = "https";
  const std::string cert = wrong_host ? certs.wrong_host_cert_file() : certs.cert_file();
  const std::string key = wrong_host ? certs.wrong_host_key_file() : certs.key_file();
  auto server = std::make_unique<httplib::SSLServer>(cert.c_str(), key.c_str());
  if (!server->is_valid()) throw std::runtime_error("HttpTestServer: cannot load " + cert + " / " + key);
  impl_->server = std::move(server);
  impl_->start();
}

HttpTestServer::~HttpTestServer() { impl_->stop(); }

int HttpTestServer::port() const { return impl_->port; }

std::string HttpTestServer::url(std::string_view path) const {
  return impl_->scheme + "://127.0.0.1:" + std::to_string(impl_->port) + std::string(path);
}

std::vector<RecordedRequest> HttpTestServer::requests() const {
  std::lock_guard<std::mutex> lock(impl_->mutex);
  return impl_->requests;
}

std::size_t HttpTestServer::request_count() const {
  std::lock_guard<std::mutex> lock(impl_->mutex);
  return impl_->requests.size();
}

bool HttpTestServer::wait_for_requests(std::size_t n, std::chrono::milliseconds timeout) const {
  std::unique_lock<std::mutex> lock(impl_->mutex);
  return impl_->changed.wait_for(lock, timeout, [&] { return impl_->requests.size() >= n; });
}

std::size_t HttpTestServer::connection_count() const { return impl_->accepted.load(); }

void HttpTestServer::set_handler(Handler handler) {
  std::lock_guard<std::mutex> lock(impl_->mutex);
  impl_->handler = handler ? std::move(handler) : default_reply;
}

}  // namespace statusstack::webhooks::testing
