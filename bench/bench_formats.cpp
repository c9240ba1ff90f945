// What formatting an event for an endpoint costs, next to serializing it (to_json), which every
// dispatch() pays once. format_event runs once per (event, endpoint) in dispatch().
//   to_json                      the baseline: the StatusStack body
//   format_event/<fmt>           from the event alone (pagerduty serializes the event itself)
//   format_event_reusing/<fmt>   with the event's JSON given, as dispatch() calls it
// Events: the sample of each type (docs/events.md); `incident.updated` is the largest.

#include <statusstack/webhooks/formats.hpp>

#include <benchmark/benchmark.h>

#include <string>

namespace ssw = statusstack::webhooks;

namespace {

ssw::FormatSettings settings_for(ssw::Format format) {
  if (format == ssw::Format::pagerduty)
    return ssw::PagerDutyFormat{ssw::Secret("e93facc04764012d7bfb002500d5d1a6")};
  if (format == ssw::Format::datadog)
    return ssw::DatadogFormat{ssw::Secret("0123456789abcdef0123456789abcdef")};
  return ssw::StatusStackFormat{};
}

ssw::Event event_for(std::int64_t type) {
  return ssw::example_event(ssw::all_event_types[static_cast<std::size_t>(type)]);
}

void label(benchmark::State& state) {
  state.SetLabel(ssw::to_string(ssw::all_event_types[static_cast<std::size_t>(state.range(0))]));
  state.SetItemsProcessed(state.iterations());
}

void to_json(benchmark::State& state) {
  const ssw::Event event = event_for(state.range(0));
  for (auto _ : state) benchmark::DoNotOptimize(ssw::to_json(event));
  label(state);
}

void format_event(benchmark::State& state, ssw::Format format) {
  const ssw::Event event = event_for(state.range(0));
  const ssw::FormatSettings settings = settings_for(format);
  for (auto _ : state) benchmark::DoNotOptimize(ssw::format_event(event, settings));
  label(state);
}

void format_event_reusing(benchmark::State& state, ssw::Format format) {
  const ssw::Event event = event_for(state.range(0));
  const ssw::FormatSettings settings = settings_for(format);
  const std::string json = ssw::to_json(event);
  for (auto _ : state) benchmark::DoNotOptimize(ssw::format_event(event, settings, json));
  label(state);
}

}  // namespace

BENCHMARK(to_json)->DenseRange(0, 6);
BENCHMARK_CAPTURE(format_event, pagerduty, ssw::Format::pagerduty)->DenseRange(0, 6);
BENCHMARK_CAPTURE(format_event, datadog, ssw::Format::datadog)->DenseRange(0, 6);
BENCHMARK_CAPTURE(format_event_reusing, pagerduty, ssw::Format::pagerduty)->DenseRange(0, 6);
BENCHMARK_CAPTURE(format_event_reusing, datadog, ssw::Format::datadog)->DenseRange(0, 6);

BENCHMARK_MAIN();
