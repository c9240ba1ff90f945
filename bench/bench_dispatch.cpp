// dispatch() enqueue cost with 1 and 8 producer threads, one endpoint, a ~600-byte event, and the
// parts it is made of (to_json, new_delivery_id, signing), so a slow dispatch() can be explained.
//
// The endpoint accepts connections but never answers: the I/O thread puts max_in_flight requests
// on the wire and everything else waits in the queue, so dispatch() is measured on its own and not
// against a receiver's speed. A fixed number of iterations bounds the memory the queue takes.
// Each call is also timed on its own (two steady_clock reads, ~40 ns, included in the mean) for
// the p50 / p99 / max counters, reported in nanoseconds.

#include "bench_payload.hpp"
#include "bench_util.hpp"

#include <statusstack/webhooks.hpp>

#include <benchmark/benchmark.h>

#include <ctime>
#include <memory>

namespace ssw = statusstack::webhooks;
using Clock = std::chrono::steady_clock;

namespace {

constexpr std::size_t payload_bytes = 600;
constexpr benchmark::IterationCount total_calls = 100000;

const ssw::Event& event() {
  static const ssw::Event sample = bench::event_of_size(payload_bytes);
  return sample;
}

const bench::SilentListener& silent() {
  static const bench::SilentListener listener;
  return listener;
}

std::unique_ptr<ssw::Dispatcher> make_dispatcher() {
  ssw::Endpoint endpoint;
  endpoint.name = "silent";
  endpoint.url = silent().url();
  endpoint.secret = "bench-secret-0123456789abcdef0123456789";
  endpoint.options.allow_http = true;
  endpoint.options.allow_private_network = true;
  endpoint.options.timeout = std::chrono::minutes(5);
  endpoint.options.connect_timeout = std::chrono::minutes(5);
  ssw::DispatcherOptions options;
  options.endpoints.push_back(endpoint);
  options.max_pending = 4 * static_cast<std::size_t>(total_calls);
  return std::make_unique<ssw::Dispatcher>(std::move(options));
}

// One Dispatcher per benchmark, made by thread 0 before the threads meet at the loop's start.
std::unique_ptr<ssw::Dispatcher> shared_dispatcher;

void report_percentiles(benchmark::State& state, std::vector<std::uint32_t>& ns) {
  const auto max = static_cast<double>(ns.empty() ? 0 : *std::max_element(ns.begin(), ns.end()));
  state.counters["p50_ns"] = benchmark::Counter(bench::percentile(ns, 0.50), benchmark::Counter::kAvgThreads);
  state.counters["p99_ns"] = benchmark::Counter(bench::percentile(ns, 0.99), benchmark::Counter::kAvgThreads);
  state.counters["max_ns"] = benchmark::Counter(max, benchmark::Counter::kAvgThreads);
}

std::int64_t thread_cpu_ns() {
  timespec now{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &now);
  return static_cast<std::int64_t>(now.tv_sec) * 1000000000 + now.tv_nsec;
}

void use_new_dispatcher(benchmark::State& state) {
  if (state.thread_index() == 0) {
    if (shared_dispatcher)
      shared_dispatcher->shutdown(std::chrono::milliseconds(0));  // not 5 s for the silent ones
    shared_dispatcher = make_dispatcher();
  }
}

void Dispatch(benchmark::State& state) {
  use_new_dispatcher(state);
  std::vector<std::uint32_t> ns;
  ns.reserve(static_cast<std::size_t>(state.max_iterations));
  std::int64_t refused = 0;
  for (auto _ : state) {
    const Clock::time_point before = Clock::now();
    auto accepted = shared_dispatcher->dispatch(event());
    const Clock::time_point after = Clock::now();
    ns.push_back(static_cast<std::uint32_t>(
        std::chrono::duration_cast<std::chrono::nanoseconds>(after - before).count()));
    if (!accepted) ++refused;
    benchmark::DoNotOptimize(accepted);
  }
  if (refused > 0) state.SkipWithError("dispatch() refused events");
  report_percentiles(state, ns);
  state.SetItemsProcessed(state.iterations());
  // The next benchmark's thread 0 (or main) shuts this Dispatcher down, once every thread is done.
}

// The same calls timed by the thread's CPU clock: what dispatch() itself costs when the scheduler
// does not preempt it (on a shared machine the wall-clock p99 mostly measures preemption). The
// clock is a system call here (~0.3 us per read, included in the figures).
void DispatchOnCpu(benchmark::State& state) {
  use_new_dispatcher(state);
  std::vector<std::uint32_t> ns;
  ns.reserve(static_cast<std::size_t>(state.max_iterations));
  for (auto _ : state) {
    const std::int64_t before = thread_cpu_ns();
    auto accepted = shared_dispatcher->dispatch(event());
    ns.push_back(static_cast<std::uint32_t>(thread_cpu_ns() - before));
    benchmark::DoNotOptimize(accepted);
  }
  report_percentiles(state, ns);
  state.SetItemsProcessed(state.iterations());
}

void ToJson600(benchmark::State& state) {
  for (auto _ : state) benchmark::DoNotOptimize(ssw::to_json(event()));
  state.SetItemsProcessed(state.iterations());
}

void NewDeliveryId(benchmark::State& state) {
  for (auto _ : state) benchmark::DoNotOptimize(ssw::new_delivery_id());
  state.SetItemsProcessed(state.iterations());
}

void Sign600(benchmark::State& state) {
  const ssw::Signer signer("bench-secret-0123456789abcdef0123456789");
  const std::string body = ssw::to_json(event());
  for (auto _ : state) benchmark::DoNotOptimize(signer.sign(body));
  state.SetItemsProcessed(state.iterations());
}

void MakeSignedRequest600(benchmark::State& state) {
  ssw::Endpoint endpoint;
  endpoint.name = "silent";
  endpoint.url = silent().url();
  endpoint.secret = "bench-secret-0123456789abcdef0123456789";
  endpoint.options.allow_http = true;
  endpoint.options.allow_private_network = true;
  for (auto _ : state)
    benchmark::DoNotOptimize(ssw::make_signed_request(event(), endpoint, "dlv_0123456789abcdefghjkmnpqrs"));
  state.SetItemsProcessed(state.iterations());
}

}  // namespace

// Iterations are per thread: 100,000 calls in all for each benchmark.
BENCHMARK(Dispatch)->Iterations(total_calls)->UseRealTime();
BENCHMARK(Dispatch)->Iterations(total_calls / 8)->Threads(8)->UseRealTime();
BENCHMARK(DispatchOnCpu)->Iterations(total_calls)->UseRealTime();
BENCHMARK(DispatchOnCpu)->Iterations(total_calls / 8)->Threads(8)->UseRealTime();
BENCHMARK(ToJson600);
BENCHMARK(NewDeliveryId);
BENCHMARK(Sign600);
BENCHMARK(MakeSignedRequest600);

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  if (shared_dispatcher) shared_dispatcher->shutdown(std::chrono::milliseconds(0));
  shared_dispatcher.reset();
  return 0;
}
