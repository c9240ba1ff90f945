// raw_curl_multi: the same deliveries as webhook_bench, written by hand straight on libcurl's multi
// interface: the yardstick for what the library's abstractions cost.
//
//   raw_curl_multi --url http://127.0.0.1:8080/ --events 200000 --concurrency 64 --payload-bytes 600
//
// What a careful person writes in an afternoon: one thread, one curl_multi_poll loop, `concurrency`
// easy handles created once and reused (so connections are kept alive), the body serialized once,
// and per request the same headers the library sends (event, delivery id, timestamp, signature)
// with the signature computed by OpenSSL's one-shot HMAC() over the body. No retries, no queue.
// Delivery latency is the request's time on the wire (there is no queue in front of it).

#include "bench_util.hpp"

#include <curl/curl.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <cstdio>
#include <cstring>
#include <ctime>
#include <string>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;

const std::string secret = "bench-secret-0123456789abcdef0123456789";

// A JSON body of about `bytes`, shaped like an incident.updated event.
std::string make_body(std::size_t bytes) {
  std::string head =
      R"({"event":"incident.updated","timestamp":"2024-01-15T10:30:00Z","stack":{"id":"stack_abc123",)"
      R"("name":"Production Infrastructure","slug":"production"},"incident":{"id":"inc_7f3a","title":)"
      R"("Elevated error rates","status":"identified","impact":"major","latest_update":{"message":")";
  const std::string tail = R"("}}})";
  const std::size_t fixed = head.size() + tail.size();
  if (bytes > fixed) head.append(bytes - fixed, 'x');
  return head + tail;
}

size_t discard(char*, size_t size, size_t count, void*) { return size * count; }

struct Slot {
  CURL* easy = nullptr;
  curl_slist* headers = nullptr;
  Clock::time_point started;
};

}  // namespace

int main(int argc, char** argv) {
  const bench::Flags flags(argc, argv,
                           {{"url", ""},
                            {"events", "100000"},
                            {"concurrency", "64"},
                            {"payload-bytes", "600"},
                            {"cacert", ""},
                            {"max-seconds", "0"}});
  const std::string url = flags.text("url");
  if (url.empty()) {
    std::fprintf(stderr, "raw_curl_multi: --url is required\n");
    return 2;
  }
  const auto events = static_cast<std::size_t>(flags.integer("events"));
  const auto concurrency = static_cast<std::size_t>(flags.integer("concurrency"));
  const double max_seconds = flags.real("max-seconds");
  const std::string cacert = flags.text("cacert");
  const std::string body = make_body(static_cast<std::size_t>(flags.integer("payload-bytes")));

  curl_global_init(CURL_GLOBAL_DEFAULT);
  CURLM* multi = curl_multi_init();
  curl_multi_setopt(multi, CURLMOPT_MAXCONNECTS, static_cast<long>(concurrency));

  std::vector<Slot> slots(concurrency);
  std::vector<Slot*> free_slots;
  for (Slot& slot : slots) {
    slot.easy = curl_easy_init();
    curl_easy_setopt(slot.easy, CURLOPT_URL, url.c_str());
    curl_easy_setopt(slot.easy, CURLOPT_POSTFIELDS, body.data());
    curl_easy_setopt(slot.easy, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body.size()));
    curl_easy_setopt(slot.easy, CURLOPT_WRITEFUNCTION, &discard);
    curl_easy_setopt(slot.easy, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(slot.easy, CURLOPT_TCP_NODELAY, 1L);
    curl_easy_setopt(slot.easy, CURLOPT_TIMEOUT_MS, 5000L);
    curl_easy_setopt(slot.easy, CURLOPT_USERAGENT, "raw-curl-multi/1");
    curl_easy_setopt(slot.easy, CURLOPT_HTTP_VERSION, static_cast<long>(CURL_HTTP_VERSION_1_1));
    curl_easy_setopt(slot.easy, CURLOPT_PRIVATE, &slot);
    if (!cacert.empty()) curl_easy_setopt(slot.easy, CURLOPT_CAINFO, cacert.c_str());
    free_slots.push_back(&slot);
  }

  std::vector<std::uint32_t> latency_us;
  latency_us.reserve(events);
  std::size_t started = 0;
  std::size_t delivered = 0;
  std::size_t failed = 0;
  static const char hex[] = "0123456789abcdef";
  const Clock::time_point start = Clock::now();
  const double cpu_before = bench::process_cpu_us();
  bool stop_starting = false;

  while (delivered + failed < started || (!stop_starting && started < events)) {
    if (max_seconds > 0 && !stop_starting && bench::seconds_since(start) > max_seconds) stop_starting = true;
    while (!stop_starting && started < events && !free_slots.empty()) {
      Slot& slot = *free_slots.back();
      free_slots.pop_back();
      // Sign the body and build this delivery's headers.
      unsigned char mac[EVP_MAX_MD_SIZE];
      unsigned int mac_length = 0;
      HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
           reinterpret_cast<const unsigned char*>(body.data()), body.size(), mac, &mac_length);
      char line[128] = "X-StatusStack-Signature: ";
      char* out = line + std::strlen(line);
      for (unsigned int i = 0; i < mac_length; ++i) {
        *out++ = hex[mac[i] >> 4U];
        *out++ = hex[mac[i] & 15U];
      }
      *out = '\0';
      char id[96];
      std::snprintf(id, sizeof id, "X-StatusStack-Delivery: dlv_%026zu", started);
      char stamp[64];
      std::snprintf(stamp, sizeof stamp, "X-StatusStack-Timestamp: %lld",
                    static_cast<long long>(std::time(nullptr)));
      curl_slist_free_all(slot.headers);
      slot.headers = curl_slist_append(nullptr, "Content-Type: application/json");
      slot.headers = curl_slist_append(slot.headers, "X-StatusStack-Event: incident.updated");
      slot.headers = curl_slist_append(slot.headers, id);
      slot.headers = curl_slist_append(slot.headers, stamp);
      slot.headers = curl_slist_append(slot.headers, line);
      slot.headers = curl_slist_append(slot.headers, "Expect:");
      curl_easy_setopt(slot.easy, CURLOPT_HTTPHEADER, slot.headers);
      slot.started = Clock::now();
      curl_multi_add_handle(multi, slot.easy);
      ++started;
    }

    int running = 0;
    curl_multi_perform(multi, &running);
    int left = 0;
    while (CURLMsg* message = curl_multi_info_read(multi, &left)) {
      if (message->msg != CURLMSG_DONE) continue;
      CURL* easy = message->easy_handle;
      Slot* slot = nullptr;
      curl_easy_getinfo(easy, CURLINFO_PRIVATE, &slot);
      long status = 0;
      curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &status);
      if (message->data.result == CURLE_OK && status >= 200 && status < 300) {
        ++delivered;
      } else {
        ++failed;
        if (failed <= 3)
          std::fprintf(stderr, "raw_curl_multi: %s (HTTP %ld)\n", curl_easy_strerror(message->data.result),
                       status);
      }
      latency_us.push_back(static_cast<std::uint32_t>(
          std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - slot->started).count()));
      curl_multi_remove_handle(multi, easy);
      free_slots.push_back(slot);
    }
    const bool can_start = !stop_starting && started < events && !free_slots.empty();
    if (!can_start && delivered + failed < started) curl_multi_poll(multi, nullptr, 0, 1000, nullptr);
  }
  const double seconds = bench::seconds_since(start);
  const double cpu_us = bench::process_cpu_us() - cpu_before;

  for (Slot& slot : slots) {
    curl_easy_cleanup(slot.easy);
    curl_slist_free_all(slot.headers);
  }
  curl_multi_cleanup(multi);
  curl_global_cleanup();

  const double latency_p50 = bench::percentile(latency_us, 0.50) / 1000.0;
  const double latency_p99 = bench::percentile(latency_us, 0.99) / 1000.0;
  std::printf(
      "{\"tool\":\"raw_curl_multi\",\"url\":\"%s\",\"events\":%zu,\"concurrency\":%zu,\"payload_bytes\":%zu,"
      "\"seconds\":%.3f,\"events_per_sec\":%.0f,\"cpu_us_per_event\":%.2f,\"delivered\":%zu,\"failed\":%zu,"
      "\"latency_ms_p50\":%.3f,"
      "\"latency_ms_p99\":%.3f,\"peak_rss_mib\":%.1f}\n",
      url.c_str(), started, concurrency, body.size(), seconds, static_cast<double>(delivered) / seconds,
      cpu_us / static_cast<double>(delivered > 0 ? delivered : 1), delivered, failed, latency_p50,
      latency_p99, bench::peak_rss_mib());
  return failed == 0 ? 0 : 1;
}
