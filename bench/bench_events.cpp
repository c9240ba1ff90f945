// to_json and parse_event for each of the seven event types (the documented samples), in events
// and bytes per second.

#include <statusstack/webhooks/events.hpp>

#include <benchmark/benchmark.h>

#include <string>

namespace ssw = statusstack::webhooks;

namespace {

ssw::EventType type_arg(const benchmark::State& state) {
  return ssw::all_event_types[static_cast<std::size_t>(state.range(0))];
}

void EventToJson(benchmark::State& state) {
  const ssw::Event event = ssw::example_event(type_arg(state));
  std::size_t bytes = 0;
  for (auto _ : state) {
    std::string json = ssw::to_json(event);
    bytes = json.size();
    benchmark::DoNotOptimize(json);
  }
  state.SetLabel(std::string(ssw::to_string(type_arg(state))) + " " + std::to_string(bytes) + " B");
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(bytes));
}

void EventParse(benchmark::State& state) {
  const std::string json = ssw::to_json(ssw::example_event(type_arg(state)));
  for (auto _ : state) {
    auto parsed = ssw::parse_event(json);
    if (!parsed) state.SkipWithError("parse_event failed on its own sample");
    benchmark::DoNotOptimize(parsed);
  }
  state.SetLabel(std::string(ssw::to_string(type_arg(state))) + " " + std::to_string(json.size()) + " B");
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(json.size()));
}

}  // namespace

BENCHMARK(EventToJson)->DenseRange(0, 6);
BENCHMARK(EventParse)->DenseRange(0, 6);

BENCHMARK_MAIN();
