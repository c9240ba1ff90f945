// `send`: one signed webhook, now. `dispatch`: a rules file and a stream of events through a Dispatcher.

#include "cli.hpp"

#include <statusstack/webhooks/dispatcher.hpp>
#include <statusstack/webhooks/endpoint.hpp>
#include <statusstack/webhooks/events.hpp>
#include <statusstack/webhooks/rules.hpp>

#include <fstream>
#include <iostream>
#include <mutex>
#include <sstream>

namespace statusstack::webhooks::cli {

namespace {

constexpr std::size_t response_preview_bytes = 200;

struct SendOptions {
  std::string url;
  std::vector<std::string> secrets;
  std::string method = "POST";
  std::vector<std::string> headers;
  std::string cacert;
  long timeout_ms = 5000;
  bool allow_http = false;
  bool standard_webhooks = false;
  std::string event_file;
  bool test = false;
  std::string type = "component.status_changed";
};

struct DispatchOptions {
  std::string config;
  std::string events = "-";
  long shutdown_ms = 10000;
};

std::string number(double value) {
  std::ostringstream out;
  out.precision(3);
  out << std::fixed << value;
  return out.str();
}

std::string outcome_fields(const Outcome& outcome) {
  std::string line =
      "\"status\":" + (outcome.status != 0 ? std::to_string(outcome.status) : std::string("null"));
  line += ",\"error\":" +
          (outcome.error != TransportError::none ? json_quote(outcome.describe()) : std::string("null"));
  if (outcome.retry_after) line += ",\"retry_after_s\":" + std::to_string(outcome.retry_after->count());
  if (!outcome.location.empty()) line += ",\"location\":" + json_quote(outcome.location);
  return line;
}

std::string preview(const std::string& body) {
  return json_quote(body.size() > response_preview_bytes ? body.substr(0, response_preview_bytes) + "..."
                                                         : body);
}

Endpoint endpoint_from(const SendOptions& options) {
  Endpoint endpoint;
  endpoint.name = "cli";
  endpoint.url = options.url;
  endpoint.secret = secrets_or_env(options.secrets).front();
  const auto method = parse_http_method(options.method);
  if (!method) fail(exit_usage, "--method: expected POST, PUT or PATCH (got \"" + options.method + "\")");
  endpoint.method = *method;
  for (const std::string& header : options.headers) {
    const auto colon = header.find(':');
    if (colon == std::string::npos)
      fail(exit_usage, "--header: expected 'Name: value' (got \"" + header + "\")");
    std::string value = header.substr(colon + 1);
    value.erase(0, value.find_first_not_of(" \t"));
    endpoint.headers.push_back({header.substr(0, colon), value});
  }
  endpoint.options.ca_file = options.cacert;
  endpoint.options.timeout = std::chrono::milliseconds(options.timeout_ms);
  endpoint.options.allow_http = options.allow_http;
  if (options.standard_webhooks) endpoint.signature = SignatureScheme::standard_webhooks;
  if (auto valid = validate_endpoint(endpoint); !valid) fail(exit_usage, valid.error().message);
  return endpoint;
}

void run_send(const SendOptions& options) {
  const Endpoint endpoint = endpoint_from(options);
  WebhookClient client;
  Outcome outcome;
  std::string delivery_id;
  if (options.test) {
    const auto type = parse_event_type(options.type);
    if (!type) fail(exit_usage, "--type: unknown event type \"" + options.type + "\"");
    delivery_id = new_delivery_id();
    Request request = make_signed_request(example_event(*type), endpoint, delivery_id);
    request.headers.push_back({"X-StatusStack-Test", "true"});
    outcome = client.send(request);
  } else {
    auto event = parse_event(read_input(options.event_file));
    if (!event) fail(exit_usage, options.event_file + ": " + event.error().message);
    delivery_id = new_delivery_id();
    outcome = client.send(make_signed_request(*event, endpoint, delivery_id));
  }
  const double latency_ms = static_cast<double>(outcome.timings.total.count()) / 1000.0;
  std::cout << '{' << outcome_fields(outcome) << ",\"latency_ms\":" << number(latency_ms)
            << ",\"delivery_id\":" << json_quote(delivery_id) << ",\"response\":" << preview(outcome.body)
            << "}\n";
  if (!outcome.ok()) throw CLI::RuntimeError(exit_failed);
}

std::string report_line(const DeliveryReport& report) {
  std::string line = "{\"delivery_id\":" + json_quote(report.delivery_id) +
                     ",\"endpoint\":" + json_quote(report.endpoint) +
                     ",\"event\":" + json_quote(to_string(report.event)) +
                     ",\"outcome\":" + (report.delivered ? "\"delivered\"" : "\"failed\"");
  if (!report.delivered) line += ",\"reason\":" + json_quote(to_string(report.reason));
  line += ",\"attempts\":" + std::to_string(report.attempts) + "," + outcome_fields(report.last) +
          ",\"latency_ms\":" + std::to_string(report.latency.count()) + "}";
  return line;
}

void run_dispatch(const DispatchOptions& options) {
  auto rules = parse_rules(read_input(options.config));
  if (!rules) fail(exit_usage, options.config + ": " + rules.error().message);
  DispatcherOptions config = std::move(*rules);
  // A file of events is input to work through, not traffic to shed: wait for room in the queue.
  config.overflow = OverflowPolicy::block;
  config.block_timeout = std::chrono::minutes(1);
  std::mutex output;
  std::uint64_t delivered = 0;
  config.on_report = [&](const DeliveryReport& report) {
    const std::lock_guard<std::mutex> lock(output);
    if (report.delivered) ++delivered;
    std::cout << report_line(report) << '\n' << std::flush;
  };

  std::ifstream file;
  std::istream* in = &std::cin;
  if (options.events != "-") {
    file.open(options.events, std::ios::binary);
    if (!file) fail(exit_usage, "cannot open " + options.events);
    in = &file;
  }

  Dispatcher dispatcher(std::move(config));
  std::uint64_t accepted = 0;
  std::uint64_t skipped = 0;
  std::string line;
  for (std::size_t number = 1; std::getline(*in, line); ++number) {
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    auto event = parse_event(line);
    Result<Accepted> result = event ? dispatcher.dispatch(*event) : Result<Accepted>(event.error());
    if (!result) {
      ++skipped;
      const std::lock_guard<std::mutex> lock(output);
      std::cerr << "statusstack-webhook: " << options.events << ":" << number << ": "
                << result.error().message << " (skipped)\n";
      continue;
    }
    accepted += result->deliveries.size();
  }
  dispatcher.shutdown(std::chrono::milliseconds(options.shutdown_ms));
  const DispatcherStats stats = dispatcher.stats();
  {
    const std::lock_guard<std::mutex> lock(output);
    std::cout << "{\"summary\":true,\"accepted\":" << accepted << ",\"delivered\":" << stats.delivered
              << ",\"failed\":" << stats.failed << ",\"skipped\":" << skipped << "}\n";
  }
  if (stats.delivered != accepted || skipped != 0) throw CLI::RuntimeError(exit_failed);
}

}  // namespace

void add_delivery_commands(CLI::App& app) {
  auto send_options = std::make_shared<SendOptions>();
  CLI::App* send =
      app.add_subcommand("send", "Send one signed webhook now and print its outcome as a JSON line");
  send->add_option("--url", send_options->url, "Receiver URL (https://, or http:// with --allow-http)")
      ->required();
  send->add_option("--secret", send_options->secrets,
                   "Signing secret (default: $STATUSSTACK_WEBHOOK_SECRET)");
  send->add_option("--method", send_options->method, "POST (default), PUT or PATCH");
  send->add_option("--header", send_options->headers, "Custom header 'Name: value' (repeatable)");
  send->add_option("--cacert", send_options->cacert, "PEM file of CA certificates to trust");
  send->add_option("--timeout-ms", send_options->timeout_ms, "Total timeout in milliseconds (default 5000)")
      ->check(CLI::Range(1L, 3600000L));
  send->add_flag("--allow-http", send_options->allow_http, "Allow a plain http:// URL");
  send->add_flag("--standard-webhooks", send_options->standard_webhooks,
                 "Sign with the Standard Webhooks scheme (whsec_ secret)");
  auto* event_file =
      send->add_option("--event-file", send_options->event_file, "Event JSON to send (- for stdin)");
  auto* test =
      send->add_flag("--test", send_options->test, "Send a sample event marked X-StatusStack-Test: true");
  send->add_option("--type", send_options->type, "Event type of the --test sample")->needs(test);
  event_file->excludes(test);
  send->callback([send_options, event_file, test] {
    if (event_file->count() == 0 && test->count() == 0) throw CLI::RequiredError("--event-file or --test");
    run_send(*send_options);
  });

  auto dispatch_options = std::make_shared<DispatchOptions>();
  CLI::App* dispatch = app.add_subcommand(
      "dispatch",
      "Deliver events (one JSON per line) to the endpoints of a rules file; print one JSON line per report");
  dispatch->add_option("--config", dispatch_options->config, "Rules file (JSON; see docs/configuration.md)")
      ->required();
  dispatch->add_option("--events", dispatch_options->events,
                       "File of events, one JSON object per line (default: stdin)");
  dispatch
      ->add_option("--shutdown-ms", dispatch_options->shutdown_ms,
                   "How long to keep delivering after the input ends (default 10000)")
      ->check(CLI::Range(0L, 86400000L));
  dispatch->callback([dispatch_options] { run_dispatch(*dispatch_options); });
}

}  // namespace statusstack::webhooks::cli
