// bench_memory: what one queued delivery costs in memory. 100,000 deliveries of a ~600-byte event
// are dispatched to an endpoint that accepts connections but never answers, so all but the
// max_in_flight on the wire stay queued; the growth of RSS (and of the malloc heap in use) divided
// by the number queued is the cost per delivery, printed next to the payload size as one JSON line.
//
//   bench_memory --deliveries 100000 --payload-bytes 600

#include "bench_payload.hpp"
#include "bench_util.hpp"

#include <statusstack/webhooks.hpp>

#include <malloc.h>

#include <cstdio>
#include <thread>

namespace ssw = statusstack::webhooks;

namespace {

std::int64_t heap_in_use() { return static_cast<std::int64_t>(mallinfo2().uordblks); }

void settle(const ssw::Dispatcher& dispatcher, std::uint64_t expected_queued) {
  // Let the I/O thread move the inbox into the endpoint's queue (bounded: 2 s).
  for (int i = 0; i < 200 && dispatcher.stats().queued < expected_queued; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
}

}  // namespace

int main(int argc, char** argv) {
  const bench::Flags flags(argc, argv, {{"deliveries", "100000"}, {"payload-bytes", "600"}});
  const auto deliveries = static_cast<std::size_t>(flags.integer("deliveries"));
  const ssw::Event event = bench::event_of_size(static_cast<std::size_t>(flags.integer("payload-bytes")));
  const std::size_t payload_bytes = ssw::to_json(event).size();

  const bench::SilentListener silent;
  ssw::Endpoint endpoint;
  endpoint.name = "silent";
  endpoint.url = silent.url();
  endpoint.secret = "bench-secret-0123456789abcdef0123456789";
  endpoint.options.allow_http = true;
  endpoint.options.allow_private_network = true;
  endpoint.options.timeout = std::chrono::minutes(5);  // nothing may finish while we measure
  endpoint.options.connect_timeout = std::chrono::minutes(5);

  ssw::DispatcherOptions options;
  options.endpoints.push_back(endpoint);
  options.max_pending = deliveries + 1000;
  ssw::Dispatcher dispatcher(std::move(options));

  // Warm up: fill the in-flight slots and let every lazily built structure exist before measuring.
  const std::size_t warmup = 1000;
  for (std::size_t i = 0; i < warmup; ++i) (void)dispatcher.dispatch(event);
  settle(dispatcher, warmup - endpoint.max_in_flight);
  const std::int64_t rss_before = bench::current_rss_bytes();
  const std::int64_t heap_before = heap_in_use();

  std::size_t refused = 0;
  for (std::size_t i = 0; i < deliveries; ++i) {
    if (!dispatcher.dispatch(event)) ++refused;
  }
  settle(dispatcher, warmup + deliveries - endpoint.max_in_flight);
  const std::int64_t rss_after = bench::current_rss_bytes();
  const std::int64_t heap_after = heap_in_use();
  const ssw::DispatcherStats stats = dispatcher.stats();
  dispatcher.shutdown(std::chrono::milliseconds(0));

  const double n = static_cast<double>(deliveries - refused);
  const double rss_per = static_cast<double>(rss_after - rss_before) / n;
  const double heap_per = static_cast<double>(heap_after - heap_before) / n;
  std::printf(
      "{\"tool\":\"bench_memory\",\"deliveries\":%zu,\"refused\":%zu,\"queued\":%llu,\"in_flight\":%llu,"
      "\"payload_bytes\":%zu,\"rss_delta_mib\":%.1f,\"rss_bytes_per_delivery\":%.0f,\"heap_bytes_per_"
      "delivery\":%.0f,"
      "\"rss_per_delivery_over_payload\":%.2f,\"peak_rss_mib\":%.1f}\n",
      deliveries, refused, static_cast<unsigned long long>(stats.queued),
      static_cast<unsigned long long>(stats.in_flight), payload_bytes,
      static_cast<double>(rss_after - rss_before) / (1024.0 * 1024.0), rss_per, heap_per,
      rss_per / static_cast<double>(payload_bytes), bench::peak_rss_mib());
  return refused == 0 ? 0 : 1;
}
