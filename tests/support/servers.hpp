#pragma once

// Test infrastructure: temporary directories, throwaway TLS certificates, and real servers on
// 127.0.0.1 that tests start and stop. Test-only code: failures to set up throw std::runtime_error.
// No curl, OpenSSL or httplib types appear here, so including this header stays cheap.

#include <statusstack/webhooks/headers.hpp>

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace statusstack::webhooks::testing {

/// A fresh directory under $TMPDIR (or /tmp), removed with everything in it by the destructor.
/// Not copyable or movable. Not thread-safe for concurrent writes to the same file.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::string& path() const { return path_; }
  /// The full path of `name` inside the directory (the file need not exist).
  std::string file(std::string_view name) const;
  /// Writes `bytes` to `name` (replacing it) and returns the full path.
  std::string write(std::string_view name, std::string_view bytes) const;

 private:
  std::string path_;
};

/// A throwaway CA and two server certificates it signed, generated at construction (EC P-256,
/// valid from an hour ago for a day) and written as PEM files into a private TempDir:
/// - cert_file()/key_file(): subjectAltName IP:127.0.0.1, DNS:localhost;
/// - wrong_host_cert_file()/wrong_host_key_file(): subjectAltName DNS:wrong.example only.
/// Immutable after construction: safe to share between threads.
class TestCertificates {
 public:
  TestCertificates();
  ~TestCertificates();
  TestCertificates(const TestCertificates&) = delete;
  TestCertificates& operator=(const TestCertificates&) = delete;

  std::string ca_file() const { return dir_.file("ca.pem"); }
  std::string cert_file() const { return dir_.file("server.pem"); }
  std::string key_file() const { return dir_.file("server.key"); }
  std::string wrong_host_cert_file() const { return dir_.file("wrong-host.pem"); }
  std::string wrong_host_key_file() const { return dir_.file("wrong-host.key"); }
  /// The CA certificate as PEM text (for APIs that take a blob instead of a file).
  const std::string& ca_pem() const { return ca_pem_; }

 private:
  TempDir dir_;
  std::string ca_pem_;
};

/// One request as HttpTestServer received it. Headers are what the client sent (httplib's
/// REMOTE_ADDR/REMOTE_PORT pseudo-headers removed), ordered by name, not by arrival.
struct RecordedRequest {
  std::string method;
  std::string path;  // without the query string
  Headers headers;
  std::string body;
  int remote_port = 0;  // the client's port: requests with the same port shared a connection
  std::chrono::steady_clock::time_point received_at;
};

/// What HttpTestServer answers. `delay` holds the answer back (for timeout tests); destroying
/// the server ends the wait at once, and that request then gets no answer at all.
struct Reply {
  int status = 200;
  Headers headers;
  std::string body;
  std::chrono::milliseconds delay{0};
};

/// Decides the reply to a request. Runs on one of the server's worker threads, possibly on
/// several at once: it must be thread-safe (guard shared counters with an atomic or a mutex).
/// The request is recorded (and wait_for_requests sees it) before the handler runs.
using Handler = std::function<Reply(const RecordedRequest&)>;

/// A real HTTP/1.1 server (cpp-httplib) on 127.0.0.1 and an ephemeral port, answering every
/// method on every path through the handler (default: 200 "ok") and recording every request.
/// Keep-alive is on (up to 1000 requests per connection, closed after 5 s idle); 16 worker threads
/// serve up to 16 connections at once. Listening when the constructor returns. The destructor
/// closes every connection that sent a request (clients holding one see it close; a request still
/// being handled gets no answer) and joins all threads: it does not wait for idle clients.
/// All member functions are thread-safe. Note: httplib's Server constructor sets SIGPIPE to
/// SIG_IGN for the whole process, so tests cannot catch code that would die of SIGPIPE.
class HttpTestServer {
 public:
  explicit HttpTestServer(Handler handler = {});
  /// HTTPS with certs.cert_file() (or, with wrong_host, certs.wrong_host_cert_file()).
  HttpTestServer(const TestCertificates& certs, Handler handler = {}, bool wrong_host = false);
  ~HttpTestServer();
  HttpTestServer(const HttpTestServer&) = delete;
  HttpTestServer& operator=(const HttpTestServer&) = delete;

  int port() const;
  /// "http://127.0.0.1:PORT/hook" (or https://).
  std::string url(std::string_view path = "/hook") const;

  /// A snapshot of every request received so far, in order of arrival.
  std::vector<RecordedRequest> requests() const;
  std::size_t request_count() const;
  /// Waits until at least `n` requests arrived; false if `timeout` passed first.
  bool wait_for_requests(std::size_t n, std::chrono::milliseconds timeout) const;
  /// TCP connections accepted so far (a client reusing one connection adds 1).
  std::size_t connection_count() const;
  /// Replaces the handler for requests arriving from now on.
  void set_handler(Handler handler);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

/// What RawTestServer does with each connection it accepts.
enum class RawBehaviour {
  reply_bytes,          // read one request (headers + Content-Length body), write the bytes, close
  reset_after_request,  // read one request, then close with a TCP reset (SO_LINGER 0)
  reset_mid_response,   // read one request, write the bytes (a partial response), then reset
  never_answer,         // read whatever comes, never answer, keep the connection open until stopped
  close_immediately,    // accept and close without reading (the client sees EOF or a reset)
};

/// A deliberately broken HTTP peer on 127.0.0.1 built on raw sockets: one thread, poll() with
/// bounded waits, stopped and joined by the destructor. "Reading a request" means the headers and
/// then the body as far as Content-Length says (or up to the last chunk of a chunked body); an
/// `Expect: 100-continue` is answered with "100 Continue" first (except by never_answer), so
/// clients do not stall. All member functions are thread-safe.
class RawTestServer {
 public:
  /// `bytes` is what reply_bytes and reset_mid_response write; reset_mid_response defaults to
  /// "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nabc".
  explicit RawTestServer(RawBehaviour behaviour, std::string bytes = {});
  ~RawTestServer();
  RawTestServer(const RawTestServer&) = delete;
  RawTestServer& operator=(const RawTestServer&) = delete;

  int port() const;
  std::string url(std::string_view path = "/hook") const;
  /// Connections accepted so far.
  std::size_t connections() const;
  /// Waits until at least `n` connections were accepted; false if `timeout` passed first.
  bool wait_for_connections(std::size_t n, std::chrono::milliseconds timeout) const;
  /// Every byte received, from all connections, in order of arrival.
  std::string received() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

/// A loopback port where connections are refused for as long as the object lives: a socket bound
/// to 127.0.0.1 on a port of the kernel's choosing that never listens, so a connect() to it gets a
/// reset (ECONNREFUSED) and no other socket, in this process or another, can bind the port
/// meanwhile. The socket is close-on-exec: child processes are refused too. Not copyable or movable.
class RefusedPort {
 public:
  RefusedPort();
  ~RefusedPort();
  RefusedPort(const RefusedPort&) = delete;
  RefusedPort& operator=(const RefusedPort&) = delete;

  int port() const { return port_; }
  /// "http://127.0.0.1:PORT/hook".
  std::string url(std::string_view path = "/hook") const;

 private:
  int fd_ = -1;
  int port_ = 0;
};

}  // namespace statusstack::webhooks::testing
