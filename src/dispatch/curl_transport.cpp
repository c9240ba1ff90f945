// The libcurl transport: requests on one multi handle. Each easy handle's CURLOPT_PRIVATE points at
// its request record, which knows its slot in the list of requests on the wire: a finished handle
// leads to its request without a lookup.

#include "dispatch/transport.hpp"

#include "transfer.hpp"

#include <curl/curl.h>

#include <algorithm>
#include <new>
#include <string>
#include <thread>

namespace statusstack::webhooks::detail {

Transport::~Transport() = default;

namespace {

// An attempt that libcurl could not run: the multi interface itself failed.
Outcome curl_failure(const char* call, CURLMcode code) {
  Outcome outcome;
  outcome.error = TransportError::other;
  outcome.error_message = std::string(call) + " failed: " + curl_multi_strerror(code);
  return outcome;
}

class CurlTransport final : public Transport {
 public:
  explicit CurlTransport(NetworkPolicyPtr policy) : policy_(std::move(policy)) {
    ensure_curl_initialized();
    multi_ = curl_multi_init();
    if (multi_ == nullptr) throw std::bad_alloc();
    // Keep idle keep-alive connections: by default the cache shrinks with the number of handles.
    curl_multi_setopt(multi_, CURLMOPT_MAXCONNECTS, 256L);
  }
  ~CurlTransport() override {
    for (auto& request : running_) curl_multi_remove_handle(multi_, request->transfer->handle());
    running_.clear();
    spare_.clear();
    curl_multi_cleanup(multi_);
  }
  CurlTransport(const CurlTransport&) = delete;
  CurlTransport& operator=(const CurlTransport&) = delete;

  void start(void* token, PreparedRequest prepared) override {
    auto request = std::make_unique<Running>();
    request->token = token;
    request->prepared = std::move(prepared);
    if (spare_.empty()) {
      request->transfer = std::make_unique<Transfer>(policy_);
    } else {
      request->transfer = std::move(spare_.back());
      spare_.pop_back();
    }
    const EndpointConfig& config = *request->prepared.config;
    request->transfer->prepare(config.url, config.endpoint.method, request->prepared.headers,
                               request->prepared.body, config.transfer_options, request->prepared.config);
    CURL* handle = request->transfer->handle();
    request->slot = running_.size();
    curl_easy_setopt(handle, CURLOPT_PRIVATE, request.get());
    running_.push_back(std::move(request));
    if (const CURLMcode code = curl_multi_add_handle(multi_, handle); code != CURLM_OK) {
      // Not started: it finishes at once, as an attempt that failed before connecting.
      std::unique_ptr<Running> refused = take(*running_.back());
      failed_.push_back(Finished{refused->token, curl_failure("curl_multi_add_handle", code)});
      spare_.push_back(std::move(refused->transfer));
    }
  }

  void drive(std::vector<Finished>& finished) override {
    for (Finished& failure : failed_) finished.push_back(std::move(failure));
    failed_.clear();
    int still_running = 0;
    if (const CURLMcode code = curl_multi_perform(multi_, &still_running); code != CURLM_OK) {
      fail_all(curl_failure("curl_multi_perform", code), finished);
      return;
    }
    int left = 0;
    while (CURLMsg* message = curl_multi_info_read(multi_, &left)) {
      if (message->msg != CURLMSG_DONE) continue;
      CURL* handle = message->easy_handle;
      const CURLcode code = message->data.result;
      void* owner = nullptr;
      curl_easy_getinfo(handle, CURLINFO_PRIVATE, &owner);
      if (owner == nullptr) continue;
      curl_multi_remove_handle(multi_, handle);
      std::unique_ptr<Running> request = take(*static_cast<Running*>(owner));
      finished.push_back(Finished{request->token, request->transfer->finish(code)});
      spare_.push_back(std::move(request->transfer));
    }
  }

  milliseconds next_timeout() override {
    if (!failed_.empty()) return milliseconds::zero();
    long wait = -1;
    curl_multi_timeout(multi_, &wait);
    return wait >= 0 ? milliseconds(wait) : milliseconds::max();
  }

  void sleep(milliseconds timeout) override {
    const auto wait_ms = static_cast<int>(std::clamp<milliseconds::rep>(timeout.count(), 0, 1000));
    if (const CURLMcode code = curl_multi_poll(multi_, nullptr, 0, wait_ms, nullptr); code != CURLM_OK) {
      // The requests cannot be watched: their attempts end (and are retried); the next drive()
      // hands them over. Pace the loop so that it does not spin while the poll keeps failing.
      std::vector<Finished> failures;
      fail_all(curl_failure("curl_multi_poll", code), failures);
      for (Finished& failure : failures) failed_.push_back(std::move(failure));
      std::this_thread::sleep_for(std::min(timeout, milliseconds(100)));
    }
  }

  void wake() override { curl_multi_wakeup(multi_); }

  void abandon(std::vector<void*>& tokens) override {
    for (Finished& failure : failed_) tokens.push_back(failure.token);
    failed_.clear();
    for (auto& request : running_) {
      curl_multi_remove_handle(multi_, request->transfer->handle());
      tokens.push_back(request->token);
      spare_.push_back(std::move(request->transfer));
    }
    running_.clear();
  }

 private:
  struct Running {
    void* token = nullptr;
    PreparedRequest prepared;  // the URL, headers and body the easy handle points at
    std::unique_ptr<Transfer> transfer;
    std::size_t slot = 0;  // its index in running_
  };

  // Takes a request out of running_: the last one moves into its slot.
  std::unique_ptr<Running> take(const Running& request) {
    const std::size_t slot = request.slot;
    std::unique_ptr<Running> taken = std::move(running_[slot]);
    if (slot + 1 != running_.size()) {
      running_[slot] = std::move(running_.back());
      running_[slot]->slot = slot;
    }
    running_.pop_back();
    return taken;
  }

  void fail_all(const Outcome& outcome, std::vector<Finished>& finished) {
    for (auto& request : running_) {
      curl_multi_remove_handle(multi_, request->transfer->handle());
      finished.push_back(Finished{request->token, outcome});
      spare_.push_back(std::move(request->transfer));
    }
    running_.clear();
  }

  NetworkPolicyPtr policy_;  // DispatcherOptions::network, shared by every easy handle
  CURLM* multi_ = nullptr;
  std::vector<std::unique_ptr<Running>> running_;
  std::vector<std::unique_ptr<Transfer>> spare_;  // easy handles between requests, kept for reuse
  std::vector<Finished> failed_;                  // requests that could not start, until drive()
};

}  // namespace

std::unique_ptr<Transport> make_curl_transport(NetworkPolicyPtr policy) {
  return std::make_unique<CurlTransport>(std::move(policy));
}

}  // namespace statusstack::webhooks::detail
