#pragma once

// One reusable libcurl easy handle and the response it collects: shared by WebhookClient (blocking,
// curl_easy_perform) and the Dispatcher (many at once on a curl multi handle).

#include <statusstack/webhooks/client.hpp>
#include <statusstack/webhooks/export.hpp>

#include "network_guard.hpp"

#include <curl/curl.h>

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace statusstack::webhooks::detail {

/// Parses a `Retry-After` value: delta-seconds or an HTTP-date (relative to `now`; a date in the
/// past gives zero). Both forms saturate at 2^31 - 1 seconds (a date in the year 9999 too), so the
/// caller's own cap (RetryPolicy::max_retry_after) decides. nullopt when it is neither.
STATUSSTACK_WEBHOOKS_EXPORT std::optional<std::chrono::seconds> parse_retry_after(
    std::string_view value, std::chrono::system_clock::time_point now = std::chrono::system_clock::now());

/// curl_global_init, exactly once per process, thread-safely (std::call_once). Every path that
/// creates a curl handle calls this first; it never calls curl_global_cleanup (the host may use curl).
void ensure_curl_initialized();

/// "statusstack-webhooks/<version>": the default User-Agent of every request.
const std::string& user_agent();

/// A libcurl easy handle configured once with the library's fixed rules (http/https only, no
/// redirects, TLS verification on, no proxy from the environment, no `Expect: 100-continue`, every
/// address checked by the network policy), then reused request after request so its connections
/// stay alive. Not thread-safe; not copyable. Exported for the tests, which set libcurl options of
/// their own on handle() (CURLOPT_RESOLVE, to map a name to a loopback address): a test-only seam.
///
/// The network policy is applied twice: CURLOPT_OPENSOCKETFUNCTION refuses to open a socket to an
/// address it does not allow (the receiver's, or the proxy's, after DNS), and
/// CURLOPT_PREREQFUNCTION checks the connection's address again before each request, for a kept-alive
/// connection opened by an earlier request whose options allowed more.
class STATUSSTACK_WEBHOOKS_EXPORT Transfer {
 public:
  explicit Transfer(NetworkPolicyPtr policy = default_network_policy());
  ~Transfer();
  Transfer(const Transfer&) = delete;
  Transfer& operator=(const Transfer&) = delete;

  CURL* handle() const noexcept { return easy_; }

  /// Applies a validated request. The request (URL, body) must outlive the transfer.
  void prepare(const Request& request) {
    prepare(request.url, request.method, request.headers, request.body, request.options);
  }
  /// The same from parts, so a caller that keeps the body elsewhere need not copy it. `url` and the
  /// bytes of `body` must outlive the transfer; headers are copied. `settings` (optional) is the
  /// immutable object that `url`, `method` and `options` belong to (an endpoint's configuration):
  /// when it is the one of this handle's last request, what comes from it is not set again (libcurl
  /// copies every string option). The handle keeps it alive meanwhile.
  void prepare(const std::string& url, HttpMethod method, const Headers& headers, std::string_view body,
               const RequestOptions& options, const std::shared_ptr<const void>& settings = nullptr);
  /// Builds the outcome of the finished transfer from libcurl's result code and what was received;
  /// a transfer that failed after the policy refused an address is TransportError::blocked.
  Outcome finish(CURLcode code);

 private:
  struct Blocked {
    IpAddress address;
    AddressVerdict verdict;
  };
  static curl_socket_t on_open_socket(void* self, curlsocktype purpose, curl_sockaddr* address) noexcept;
  static int on_prereq(void* self, char* primary_ip, char* local_ip, int primary_port,
                       int local_port) noexcept;
  static size_t on_header(char* data, size_t size, size_t count, void* self) noexcept;
  static size_t on_body(char* data, size_t size, size_t count, void* self) noexcept;
  void set_header_list(const Headers& headers);

  NetworkPolicyPtr policy_;
  std::shared_ptr<const void> settings_;  // whose url, method and options are set (null: nobody's)
  bool allow_private_network_ = false;    // the current request's RequestOptions::allow_private_network
  std::optional<Blocked> blocked_;        // the last address refused during the current request
  CURL* easy_ = nullptr;
  // The request's header list for CURLOPT_HTTPHEADER. libcurl only reads it, so its nodes and lines
  // are the handle's own and keep their memory from request to request: no allocation per header.
  std::vector<std::string> header_lines_;
  std::vector<curl_slist> header_nodes_;
  std::string default_ca_file_;
  std::string default_ca_path_;
  Outcome response_;  // headers and body as they arrive
  std::size_t body_limit_ = 0;
  char error_buffer_[CURL_ERROR_SIZE] = {};
};

}  // namespace statusstack::webhooks::detail
