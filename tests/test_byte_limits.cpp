// Limits in bytes: the largest event dispatch() takes, and what the queue may hold.

#include <statusstack/webhooks/dispatcher.hpp>
#include <statusstack/webhooks/rules.hpp>

#include "support/reports.hpp"
#include "support/servers.hpp"

#include <catch2/catch.hpp>

using namespace statusstack::webhooks;
using namespace statusstack::webhooks::testing;
using namespace std::chrono_literals;

namespace {

// Deliveries that stay queued: the endpoint refuses connections and the retry is far away.
DispatcherOptions held_back(const RefusedPort& port) {
  DispatcherOptions options;
  options.endpoints = {local_endpoint("ops", port.url())};
  options.retry = quick_retries(5, 10min);
  options.retry.max_delay = 10min;
  return options;
}

}  // namespace

TEST_CASE("dispatch() refuses an event larger than max_event_bytes and takes one at the limit",
          "[integration][dispatcher][limits]") {
  const RefusedPort port;
  const Event event = example_event(EventType::incident_updated);
  const std::size_t size = to_json(event).size();
  DispatcherOptions options = held_back(port);
  options.max_event_bytes = size - 1;
  Dispatcher dispatcher(options);
  const auto refused = dispatcher.dispatch(event);
  REQUIRE_FALSE(refused);
  CHECK(refused.error().code == ErrorCode::event_too_large);
  CHECK(refused.error().field == "max_event_bytes");
  CHECK(refused.error().message == "event: " + std::to_string(size) +
                                       " bytes of JSON, more than max_event_bytes (" +
                                       std::to_string(size - 1) + "): the event was not accepted");
  // In a batch the message names the event, and nothing of the batch is taken.
  const auto batch = dispatcher.dispatch_many({example_event(EventType::monitor_down), event});
  REQUIRE_FALSE(batch);
  CHECK(batch.error().code == ErrorCode::event_too_large);
  CHECK(batch.error().message.rfind("events[1]: " + std::to_string(size) + " bytes of JSON", 0) == 0);
  CHECK(dispatcher.stats().accepted == 0);
  CHECK(dispatcher.stats().refused_calls == 2);
  dispatcher.shutdown(0ms);

  options.max_event_bytes = size;
  Dispatcher at_limit(options);
  CHECK(at_limit.dispatch(event));
  at_limit.shutdown(0ms);
}

TEST_CASE("the queue holds at most max_pending_bytes, and gives them back as deliveries end",
          "[integration][dispatcher][limits]") {
  const RefusedPort port;
  const Event event = example_event(EventType::monitor_down);
  const std::size_t each = to_json(event).size() + Dispatcher::delivery_overhead_bytes;
  DispatcherOptions options = held_back(port);
  options.max_event_bytes = each;
  options.max_pending_bytes = 3 * each + each / 2;
  Recorder recorder;
  recorder.install(options);
  Dispatcher dispatcher(options);
  for (int i = 0; i < 3; ++i) REQUIRE(dispatcher.dispatch(event));
  CHECK(dispatcher.stats().pending_bytes == 3 * each);
  const auto full = dispatcher.dispatch(event);
  REQUIRE_FALSE(full);
  CHECK(full.error().code == ErrorCode::queue_full);
  CHECK(full.error().message == "queue is full (max_pending_bytes " + std::to_string(3 * each + each / 2) +
                                    "): the event was not accepted");
  CHECK(dispatcher.stats().accepted == 3);
  dispatcher.shutdown(0ms);  // every delivery ends: its bytes come back
  CHECK(recorder.count() == 3);
  CHECK(dispatcher.stats().pending_bytes == 0);
}

TEST_CASE("byte limits that cannot work are refused, and the rules file sets them",
          "[unit][dispatcher][limits]") {
  auto error_of = [](const DispatcherOptions& options) {
    try {
      Dispatcher dispatcher(options);
    } catch (const ConfigError& error) {
      return std::string(error.what());
    }
    return std::string("accepted");
  };
  DispatcherOptions options;
  options.max_event_bytes = 0;
  CHECK(error_of(options) == "max_event_bytes: must be at least 1");
  options.max_event_bytes = 1000;
  options.max_pending_bytes = 1000;
  CHECK(error_of(options) ==
        "max_pending_bytes: must hold at least one event of max_event_bytes (1512 bytes)");

  auto rules = parse_rules(R"({"endpoints": [], "max_event_bytes": 4096, "max_pending_bytes": 1048576})");
  REQUIRE(rules);
  CHECK(rules->max_event_bytes == 4096);
  CHECK(rules->max_pending_bytes == 1048576);
  auto zero = parse_rules(R"({"endpoints": [], "max_event_bytes": 0})");
  REQUIRE_FALSE(zero);
  CHECK(zero.error().field == "max_event_bytes");
}

TEST_CASE(
    "an outcome keeps 4 KiB of a response body by default, and a long Datadog answer still gives "
    "its receipt",
    "[integration][client][limits]") {
  // Datadog echoes the event's text in its answer, after the id: the answer is read whole, the
  // outcome keeps 4 KiB of it.
  const std::string text(10000, 'x');
  HttpTestServer server([&](const RecordedRequest& request) {
    if (request.path == "/plain") return Reply{500, {}, text, {}};
    return Reply{202,
                 {{"Content-Type", "application/json"}},
                 R"({"status":"ok","event":{"text":")" + text + R"(","id_str":"4242"}})",
                 {}};
  });

  WebhookClient client;
  Request request;
  request.url = server.url("/plain");
  request.options.allow_http = true;
  request.options.allow_private_network = true;
  request.body = "{}";
  const Outcome outcome = client.send(request);
  CHECK(outcome.status == 500);
  CHECK(outcome.body == text.substr(0, 4096));
  CHECK(outcome.body_truncated);
  request.options.max_response_body = 20000;
  CHECK(client.send(request).body == text);

  DispatcherOptions options;
  Endpoint datadog = local_endpoint("dd", server.url("/api/v1/events"));
  datadog.format = DatadogFormat{};
  std::get<DatadogFormat>(datadog.format).api_key = "0123456789abcdef0123456789abcdef";
  options.endpoints = {datadog};
  Recorder recorder;
  recorder.install(options);
  Dispatcher dispatcher(options);
  REQUIRE(dispatcher.dispatch(example_event(EventType::monitor_down)));
  REQUIRE(dispatcher.flush(10s));
  const auto reports = recorder.all();
  REQUIRE(reports.size() == 1);
  CHECK(reports[0].delivered);
  CHECK(reports[0].receipt == "4242");
  CHECK(reports[0].last.body.size() == 4096);
  CHECK(reports[0].last.body_truncated);
}
