#include "transfer.hpp"

#include "detail/text.hpp"

#include <statusstack/webhooks/version.hpp>

#include <netinet/in.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <mutex>
#include <new>
#include <string_view>

namespace statusstack::webhooks::detail {

namespace {

std::chrono::microseconds info_time(CURL* easy, CURLINFO what) {
  curl_off_t value = 0;
  curl_easy_getinfo(easy, what, &value);
  return std::chrono::microseconds(value);
}

TransportError classify(CURLcode code, long os_errno) {
  switch (code) {
    case CURLE_OK: return TransportError::none;
    case CURLE_URL_MALFORMAT: return TransportError::invalid_request;
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY: return TransportError::dns;
    case CURLE_COULDNT_CONNECT:
      return os_errno == ECONNREFUSED ? TransportError::refused : TransportError::connect_failed;
    case CURLE_OPERATION_TIMEDOUT: return TransportError::timeout;
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_SSL_ENGINE_INITFAILED:
    case CURLE_SSL_CIPHER:
    case CURLE_USE_SSL_FAILED: return TransportError::tls_handshake;
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_ISSUER_ERROR:
    case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
    case CURLE_SSL_INVALIDCERTSTATUS: return TransportError::tls_verification;
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_PARTIAL_FILE: return TransportError::reset;
    // The URL was validated before sending, so an unsupported protocol here is curl refusing an
    // HTTP/0.9-style answer: the peer did not speak HTTP.
    case CURLE_UNSUPPORTED_PROTOCOL:
    case CURLE_WEIRD_SERVER_REPLY:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
    case CURLE_BAD_CONTENT_ENCODING: return TransportError::malformed_response;
    case CURLE_FILESIZE_EXCEEDED:
    case CURLE_OUT_OF_MEMORY: return TransportError::too_large;
    default: return TransportError::other;
  }
}

}  // namespace

const std::string& user_agent() {
  static const std::string agent = std::string("statusstack-webhooks/") + version();
  return agent;
}

void ensure_curl_initialized() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

Transfer::Transfer(NetworkPolicyPtr policy) : policy_(std::move(policy)) {
  if (!policy_) policy_ = default_network_policy();
  ensure_curl_initialized();
  easy_ = curl_easy_init();
  if (easy_ == nullptr) throw std::bad_alloc();

  // The library's fixed rules, set once for the handle's whole life.
  curl_easy_setopt(easy_, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(easy_, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(easy_, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(easy_, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(easy_, CURLOPT_SSL_VERIFYPEER, 1L);
  curl_easy_setopt(easy_, CURLOPT_SSL_VERIFYHOST, 2L);
  curl_easy_setopt(easy_, CURLOPT_USERAGENT, user_agent().c_str());
  curl_easy_setopt(easy_, CURLOPT_ERRORBUFFER, error_buffer_);
  curl_easy_setopt(easy_, CURLOPT_HEADERFUNCTION, &Transfer::on_header);
  curl_easy_setopt(easy_, CURLOPT_HEADERDATA, this);
  curl_easy_setopt(easy_, CURLOPT_WRITEFUNCTION, &Transfer::on_body);
  curl_easy_setopt(easy_, CURLOPT_WRITEDATA, this);
  curl_easy_setopt(easy_, CURLOPT_TCP_NODELAY, 1L);
  // Over TLS libcurl copies each request into an upload buffer that it allocates and frees per
  // request: at the default 64 KiB each free trimmed the heap and the next request faulted the pages
  // back (the I/O thread spent ~62 us per HTTPS request with it, ~45 without). The smallest size
  // allowed sends our bodies just as well, larger ones in pieces.
  curl_easy_setopt(easy_, CURLOPT_UPLOAD_BUFFERSIZE, 16384L);
  // Every address is checked once connected to (after DNS, the proxy's too), and again before each
  // request on a kept-alive connection.
  curl_easy_setopt(easy_, CURLOPT_OPENSOCKETFUNCTION, &Transfer::on_open_socket);
  curl_easy_setopt(easy_, CURLOPT_OPENSOCKETDATA, this);
  curl_easy_setopt(easy_, CURLOPT_PREREQFUNCTION, &Transfer::on_prereq);
  curl_easy_setopt(easy_, CURLOPT_PREREQDATA, this);

  // Remember the built-in trust store so a request without a CA file gets it back after one with.
  const char* text = nullptr;
  if (curl_easy_getinfo(easy_, CURLINFO_CAINFO, &text) == CURLE_OK && text != nullptr)
    default_ca_file_ = text;
  text = nullptr;
  if (curl_easy_getinfo(easy_, CURLINFO_CAPATH, &text) == CURLE_OK && text != nullptr)
    default_ca_path_ = text;
}

Transfer::~Transfer() { curl_easy_cleanup(easy_); }

void Transfer::set_header_list(const Headers& headers) {
  const std::size_t count = headers.size() + 1;
  if (header_lines_.size() < count) header_lines_.resize(count);
  for (std::size_t i = 0; i < headers.size(); ++i) {
    std::string& line = header_lines_[i];
    line.assign(headers[i].name);
    // "Name;" is curl's way to send a header with an empty value ("Name:" would remove it).
    if (headers[i].value.empty()) {
      line += ';';
    } else {
      line += ": ";
      line += headers[i].value;
    }
  }
  // A signed body goes in one request; never wait for 100-continue.
  header_lines_[headers.size()].assign("Expect:");
  header_nodes_.resize(count);
  for (std::size_t i = 0; i < count; ++i) {
    header_nodes_[i].data = header_lines_[i].data();
    header_nodes_[i].next = i + 1 < count ? &header_nodes_[i + 1] : nullptr;
  }
}

void Transfer::prepare(const std::string& url, HttpMethod method, const Headers& headers,
                       std::string_view body, const RequestOptions& options,
                       const std::shared_ptr<const void>& settings) {
  response_ = Outcome{};
  body_limit_ = options.max_response_body;
  error_buffer_[0] = '\0';
  allow_private_network_ = options.allow_private_network;
  blocked_.reset();

  curl_easy_setopt(easy_, CURLOPT_POSTFIELDS, body.data());
  curl_easy_setopt(easy_, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body.size()));
  set_header_list(headers);
  curl_easy_setopt(easy_, CURLOPT_HTTPHEADER, header_nodes_.data());

  if (settings && settings == settings_) return;  // the rest is already these settings'
  settings_ = settings;
  curl_easy_setopt(easy_, CURLOPT_URL, url.c_str());
  curl_easy_setopt(easy_, CURLOPT_CUSTOMREQUEST, method == HttpMethod::post ? nullptr : to_string(method));

  curl_easy_setopt(easy_, CURLOPT_TIMEOUT_MS, static_cast<long>(options.timeout.count()));
  curl_easy_setopt(easy_, CURLOPT_CONNECTTIMEOUT_MS,
                   static_cast<long>(std::min(options.connect_timeout, options.timeout).count()));
  curl_easy_setopt(easy_, CURLOPT_CAINFO,
                   options.ca_file.empty() ? (default_ca_file_.empty() ? nullptr : default_ca_file_.c_str())
                                           : options.ca_file.c_str());
  curl_easy_setopt(easy_, CURLOPT_CAPATH,
                   options.ca_path.empty() ? (default_ca_path_.empty() ? nullptr : default_ca_path_.c_str())
                                           : options.ca_path.c_str());
  // An empty proxy string disables the environment's http_proxy/https_proxy.
  curl_easy_setopt(easy_, CURLOPT_PROXY, options.proxy.c_str());
  curl_easy_setopt(
      easy_, CURLOPT_HTTP_VERSION,
      options.http2 ? static_cast<long>(CURL_HTTP_VERSION_2TLS) : static_cast<long>(CURL_HTTP_VERSION_1_1));
}

curl_socket_t Transfer::on_open_socket(void* self, curlsocktype /*purpose*/,
                                       curl_sockaddr* address) noexcept {
  auto& transfer = *static_cast<Transfer*>(self);
  IpAddress ip;
  const auto* raw = reinterpret_cast<const unsigned char*>(&address->addr);
  if (address->family == AF_INET && address->addrlen >= sizeof(sockaddr_in)) {
    sockaddr_in in{};
    std::memcpy(&in, raw, sizeof in);
    std::memcpy(ip.bytes.data(), &in.sin_addr, 4);
    ip.size = 4;
  } else if (address->family == AF_INET6 && address->addrlen >= sizeof(sockaddr_in6)) {
    sockaddr_in6 in6{};
    std::memcpy(&in6, raw, sizeof in6);
    std::memcpy(ip.bytes.data(), &in6.sin6_addr, 16);
    ip.size = 16;
  } else {
    return CURL_SOCKET_BAD;  // no other kind of socket is ever meant (no Unix sockets)
  }
  if (const auto refused = transfer.policy_->refuses(ip, transfer.allow_private_network_)) {
    transfer.blocked_ = Blocked{ip, *refused};
    return CURL_SOCKET_BAD;
  }
  return socket(address->family, address->socktype | SOCK_CLOEXEC, address->protocol);
}

int Transfer::on_prereq(void* self, char* primary_ip, char* /*local_ip*/, int /*primary_port*/,
                        int /*local_port*/) noexcept {
  auto& transfer = *static_cast<Transfer*>(self);
  std::string_view text = primary_ip != nullptr ? std::string_view(primary_ip) : std::string_view();
  text = text.substr(0, text.find('%'));  // a link-local address's zone ("fe80::1%eth0")
  const auto ip = parse_address(text);
  if (!ip) return CURL_PREREQFUNC_ABORT;
  if (const auto refused = transfer.policy_->refuses(*ip, transfer.allow_private_network_)) {
    transfer.blocked_ = Blocked{*ip, *refused};
    return CURL_PREREQFUNC_ABORT;
  }
  return CURL_PREREQFUNC_OK;
}

size_t Transfer::on_header(char* data, size_t size, size_t count, void* self) noexcept {
  auto& transfer = *static_cast<Transfer*>(self);
  const std::string_view line(data, size * count);
  Outcome& response = transfer.response_;
  if (line.size() >= 5 && line.substr(0, 5) == "HTTP/") {
    // A new response begins (after a 1xx): forget the previous one's headers.
    response.retry_after.reset();
    response.location.clear();
    response.content_type.clear();
    return line.size();
  }
  const auto colon = line.find(':');
  if (colon == std::string_view::npos) return line.size();
  const std::string_view name = line.substr(0, colon);
  const std::string_view value = trim(line.substr(colon + 1), " \t\r\n");  // the line ends in CRLF
  try {
    if (iequals(name, "Retry-After")) {
      response.retry_after = parse_retry_after(value);
    } else if (iequals(name, "Location")) {
      response.location.assign(value);
    } else if (iequals(name, "Content-Type")) {
      response.content_type.assign(value);
    }
  } catch (...) {
    return 0;  // out of memory: abort the transfer rather than throw through C
  }
  return line.size();
}

size_t Transfer::on_body(char* data, size_t size, size_t count, void* self) noexcept {
  auto& transfer = *static_cast<Transfer*>(self);
  const size_t bytes = size * count;
  std::string& body = transfer.response_.body;
  const size_t room = transfer.body_limit_ > body.size() ? transfer.body_limit_ - body.size() : 0;
  if (bytes > room) transfer.response_.body_truncated = true;
  try {
    body.append(data, std::min(bytes, room));
  } catch (...) {
    return 0;
  }
  return bytes;  // read and drop what does not fit: the connection stays reusable
}

Outcome Transfer::finish(CURLcode code) {
  Outcome outcome = std::move(response_);
  response_ = Outcome{};

  long status = 0;
  curl_easy_getinfo(easy_, CURLINFO_RESPONSE_CODE, &status);
  long os_errno = 0;
  curl_easy_getinfo(easy_, CURLINFO_OS_ERRNO, &os_errno);
  outcome.error = classify(code, os_errno);
  // A status that arrived stays visible even when the transfer then failed (reset mid-body).
  outcome.status = static_cast<int>(status);
  if (outcome.error != TransportError::none) {
    outcome.error_message = error_buffer_[0] != '\0' ? error_buffer_ : curl_easy_strerror(code);
  }
  // A refused socket fails the connection (when no other address of the name connected); a refused
  // kept-alive connection aborts the request. A failure after another address did connect (a
  // timeout, a reset) stays that failure.
  if (blocked_ && (code == CURLE_COULDNT_CONNECT || code == CURLE_ABORTED_BY_CALLBACK)) {
    outcome.error = TransportError::blocked;
    outcome.error_message = describe_block(blocked_->address, blocked_->verdict);
  }

  outcome.timings.dns = info_time(easy_, CURLINFO_NAMELOOKUP_TIME_T);
  outcome.timings.connect = info_time(easy_, CURLINFO_CONNECT_TIME_T);
  outcome.timings.tls = info_time(easy_, CURLINFO_APPCONNECT_TIME_T);
  outcome.timings.first_byte = info_time(easy_, CURLINFO_STARTTRANSFER_TIME_T);
  outcome.timings.total = info_time(easy_, CURLINFO_TOTAL_TIME_T);

  const char* ip = nullptr;
  long port = 0;
  if (curl_easy_getinfo(easy_, CURLINFO_PRIMARY_IP, &ip) == CURLE_OK && ip != nullptr && *ip != '\0') {
    curl_easy_getinfo(easy_, CURLINFO_PRIMARY_PORT, &port);
    const std::string_view address(ip);
    outcome.remote_address =
        address.find(':') != std::string_view::npos ? "[" + std::string(address) + "]" : std::string(address);
    outcome.remote_address += ":" + std::to_string(port);
  }
  return outcome;
}

}  // namespace statusstack::webhooks::detail
