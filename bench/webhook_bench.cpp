// webhook_bench: N signed events through a Dispatcher to one endpoint, using the public API only.
// Prints one JSON line: throughput, dispatch() latency, delivery latency, peak RSS.
//
//   webhook_bench --url http://127.0.0.1:8080/ --events 200000 --concurrency 64 --payload-bytes 600
//   webhook_bench --url ... --rate 2000 --max-seconds 3     (a paced producer: dispatch() latency)
//   webhook_bench --url ... --rate 1000 --controls 1        (controls for the paced calls, see below)
//
// concurrency is the endpoint's max_in_flight (connections). The producer keeps at most --window
// deliveries unfinished (default 4 x concurrency, at least 256): a steady stream like a busy
// service's, not a burst that only measures the queue. It waits on a condition variable (not
// spinning) when the window is full, so it does not steal the cores the I/O thread and receiver need.
// Delivery latency is dispatch() to the final report; it includes the time spent in that window.

#include "bench_payload.hpp"
#include "bench_util.hpp"

#include <statusstack/webhooks.hpp>

#include <atomic>
#include <condition_variable>
#include <cstdio>
#include <memory>
#include <mutex>
#include <thread>

namespace ssw = statusstack::webhooks;
using Clock = std::chrono::steady_clock;

int main(int argc, char** argv) {
  const bench::Flags flags(argc, argv,
                           {{"url", ""},
                            {"events", "100000"},
                            {"concurrency", "64"},
                            {"payload-bytes", "600"},
                            {"cacert", ""},
                            {"window", "0"},
                            {"max-seconds", "0"},
                            {"rate", "0"},
                            {"controls", "0"},
                            {"io-threads", "0"},
                            {"endpoints", "1"}});
  const std::string url = flags.text("url");
  if (url.empty()) {
    std::fprintf(stderr, "webhook_bench: --url is required\n");
    return 2;
  }
  const auto events = static_cast<std::size_t>(flags.integer("events"));
  const auto concurrency = static_cast<std::size_t>(flags.integer("concurrency"));
  // More than one endpoint (all with the same URL, concurrency split between them): each event is
  // delivered once per endpoint. --io-threads spreads every endpoint over that many I/O loops.
  const auto endpoints = static_cast<std::size_t>(std::max(1LL, flags.integer("endpoints")));
  std::size_t window = static_cast<std::size_t>(flags.integer("window"));
  if (window == 0) window = std::max<std::size_t>(256, 4 * concurrency);
  const double max_seconds = flags.real("max-seconds");
  // Events per second to pace the producer at (0: as fast as the window allows). A paced producer
  // shows dispatch() as a service sees it: the I/O thread is mostly idle, so calls wake it.
  const double rate = flags.real("rate");
  // --controls 1 (with --rate): each paced slot first times a to_json() of the event (the probe: what
  // the first code after the producer's sleep pays, whoever wrote it), then dispatch(), then a second
  // dispatch() at once (the same call with warm caches). The events per second double.
  const bool controls = rate > 0 && flags.integer("controls") != 0;
  std::vector<std::uint32_t> probe_ns;
  // The probe's result, kept so that the call is not optimised away.
  [[maybe_unused]] volatile std::size_t probe_bytes = 0;
  std::vector<std::uint32_t> second_ns;

  const ssw::Event event = bench::event_of_size(static_cast<std::size_t>(flags.integer("payload-bytes")));
  const std::size_t payload_bytes = ssw::to_json(event).size();

  // One sample per event; left uninitialised so only the pages used become resident (peak RSS
  // grows by 8 bytes per event sent, not by 8 x --events).
  std::unique_ptr<std::uint32_t[]> dispatch_samples(new std::uint32_t[events]);
  const std::size_t samples = events * endpoints;  // one per delivery
  std::unique_ptr<std::uint32_t[]> latency_samples(new std::uint32_t[samples]);
  std::atomic<std::size_t> dispatched{0};
  std::atomic<std::size_t> completed{0};
  std::atomic<std::size_t> delivered{0};
  std::atomic<bool> producer_waiting{false};
  std::mutex mutex;
  std::condition_variable room;
  const std::size_t low_water = window / 2;

  ssw::DispatcherOptions options;
  options.retry.max_attempts = 1;  // a failure is counted, not retried: retries would blur the rate
  options.io_threads = static_cast<unsigned>(flags.integer("io-threads"));
  for (std::size_t i = 0; i < endpoints; ++i) {
    ssw::Endpoint endpoint;
    endpoint.name = "bench-" + std::to_string(i);
    endpoint.url = url;
    endpoint.secret = "bench-secret-0123456789abcdef0123456789";
    endpoint.max_in_flight = std::max<std::size_t>(1, concurrency / endpoints);
    endpoint.options.allow_http = url.rfind("http://", 0) == 0;
    endpoint.options.allow_private_network = true;  // the receiver under test is usually on this machine
    endpoint.options.ca_file = flags.text("cacert");
    options.endpoints.push_back(endpoint);
  }
  options.max_pending = window + 16 * endpoints;
  // Runs on an I/O thread: a clock read, a store and two atomic increments.
  options.on_report = [&](const ssw::DeliveryReport& report) {
    const auto latency = std::chrono::system_clock::now() - report.accepted_at;
    const std::size_t index = completed.fetch_add(1, std::memory_order_seq_cst);
    if (index < samples) {
      latency_samples[index] =
          static_cast<std::uint32_t>(std::chrono::duration_cast<std::chrono::microseconds>(latency).count());
    }
    if (report.delivered) delivered.fetch_add(1, std::memory_order_relaxed);
    const std::size_t done = index + 1;
    if (producer_waiting.load(std::memory_order_seq_cst) &&
        dispatched.load(std::memory_order_relaxed) - done <= low_water) {
      { const std::lock_guard<std::mutex> lock(mutex); }
      room.notify_one();
    }
  };

  ssw::Dispatcher dispatcher(std::move(options));
  const double cpu_before = bench::process_cpu_us();
  const double producer_cpu_before = bench::thread_cpu_us();
  std::size_t refused = 0;
  const Clock::time_point start = Clock::now();
  std::size_t sent = 0;
  std::size_t accepted = 0;  // sent minus refused: what the window counts
  while (sent < events) {
    if (accepted - completed.load(std::memory_order_seq_cst) >= window) {
      producer_waiting.store(true, std::memory_order_seq_cst);
      {
        std::unique_lock<std::mutex> lock(mutex);
        room.wait_for(lock, std::chrono::milliseconds(50),
                      [&] { return accepted - completed.load(std::memory_order_seq_cst) <= low_water; });
      }
      producer_waiting.store(false, std::memory_order_seq_cst);
      continue;
    }
    if (max_seconds > 0 && (sent & 255U) == 0 && bench::seconds_since(start) > max_seconds) break;
    if (rate > 0) {
      std::this_thread::sleep_until(start +
                                    std::chrono::duration_cast<Clock::duration>(
                                        std::chrono::duration<double>(static_cast<double>(sent) / rate)));
      if (max_seconds > 0 && bench::seconds_since(start) > max_seconds) break;
    }
    if (controls) {
      const Clock::time_point probe = Clock::now();
      probe_bytes = ssw::to_json(event).size();
      probe_ns.push_back(static_cast<std::uint32_t>(
          std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() - probe).count()));
    }
    const Clock::time_point before = Clock::now();
    const auto result = dispatcher.dispatch(event);
    const Clock::time_point after = Clock::now();
    dispatch_samples[sent] = static_cast<std::uint32_t>(
        std::chrono::duration_cast<std::chrono::nanoseconds>(after - before).count());
    if (controls) {
      const Clock::time_point again = Clock::now();
      const auto second = dispatcher.dispatch(event);
      second_ns.push_back(static_cast<std::uint32_t>(
          std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() - again).count()));
      if (second) {
        accepted += endpoints;
      } else {
        ++refused;
      }
    }
    ++sent;
    if (result) {
      accepted += endpoints;
      dispatched.store(accepted, std::memory_order_relaxed);
    } else {
      ++refused;
    }
  }
  const bool flushed = dispatcher.flush(std::chrono::seconds(120));
  const double seconds = bench::seconds_since(start);
  const double peak_rss = bench::peak_rss_mib();
  const double cpu_us = bench::process_cpu_us() - cpu_before;
  // The producer's own CPU (dispatch() calls and the window's waits); the rest is the I/O thread.
  const double producer_cpu_us = bench::thread_cpu_us() - producer_cpu_before;
  rusage producer{};
  getrusage(RUSAGE_THREAD, &producer);  // involuntary switches: how often the producer was preempted
  const ssw::DispatcherStats stats = dispatcher.stats();
  dispatcher.shutdown(std::chrono::milliseconds(0));

  std::vector<std::uint32_t> dispatch_ns(dispatch_samples.get(), dispatch_samples.get() + sent);
  std::vector<std::uint32_t> latency_us(latency_samples.get(),
                                        latency_samples.get() + std::min(completed.load(), samples));
  const std::uint32_t dispatch_max =
      dispatch_ns.empty() ? 0 : *std::max_element(dispatch_ns.begin(), dispatch_ns.end());
  const std::uint32_t dispatch_p50 = bench::percentile(dispatch_ns, 0.50);
  const std::uint32_t dispatch_p99 = bench::percentile(dispatch_ns, 0.99);
  const std::uint32_t probe_p50 = bench::percentile(probe_ns, 0.50);
  const std::uint32_t probe_p99 = bench::percentile(probe_ns, 0.99);
  const std::uint32_t second_p50 = bench::percentile(second_ns, 0.50);
  const std::uint32_t second_p99 = bench::percentile(second_ns, 0.99);
  const double latency_p50 = bench::percentile(latency_us, 0.50) / 1000.0;
  const double latency_p99 = bench::percentile(latency_us, 0.99) / 1000.0;
  const std::uint64_t ok = delivered.load();

  // events_per_sec counts deliveries (events x endpoints); so do the CPU figures' denominators.
  std::printf(
      "{\"tool\":\"webhook_bench\",\"url\":\"%s\",\"rate\":%.0f,\"events\":%zu,\"endpoints\":%zu,"
      "\"io_threads\":%u,\"concurrency\":%zu,\"window\":%zu,\"payload_bytes\":%zu,\"seconds\":%.3f,"
      "\"events_per_sec\":%.0f,\"cpu_us_per_event\":%.2f,\"producer_cpu_us_per_event\":%.2f,"
      "\"delivered\":%llu,\"failed\":%llu,\"refused\":%zu,\"flushed\":%s,\"dispatch_ns_p50\":%u,\"dispatch_"
      "ns_p99\":%u,\"dispatch_ns_max\":%u,\"probe_ns_p50\":%u,\"probe_ns_p99\":%u,\"second_call_ns_p50\":%u,"
      "\"second_call_"
      "ns_p99\":%u,"
      "\"producer_preempted\":%ld,\"latency_ms_p50\":%.3f,\"latency_ms_p99\":%.3f,\"peak_rss_mib\":%.1f}\n",
      url.c_str(), rate, sent, endpoints, stats.io_threads, concurrency, window, payload_bytes, seconds,
      static_cast<double>(ok) / seconds, cpu_us / static_cast<double>(std::max<std::uint64_t>(ok, 1)),
      producer_cpu_us / static_cast<double>(std::max<std::uint64_t>(ok, 1)),
      static_cast<unsigned long long>(ok), static_cast<unsigned long long>(stats.failed), refused,
      flushed ? "true" : "false", dispatch_p50, dispatch_p99, dispatch_max, probe_p50, probe_p99, second_p50,
      second_p99, producer.ru_nivcsw, latency_p50, latency_p99, peak_rss);
  return flushed && stats.failed == 0 && refused == 0 ? 0 : 1;
}
