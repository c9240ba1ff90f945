// `send`: one signed webhook, now. `dispatch`: a rules file and a stream of events through a Dispatcher.

#include "cli.hpp"
#include "formats/profile.hpp"
#include "interrupt.hpp"

#include <statusstack/webhooks/dispatcher.hpp>
#include <statusstack/webhooks/endpoint.hpp>
#include <statusstack/webhooks/events.hpp>
#include <statusstack/webhooks/formats.hpp>
#include <statusstack/webhooks/rules.hpp>
#ifdef SSW_CLI_POSTGRES
#include <statusstack/webhooks/postgres.hpp>
#endif

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <iostream>
#include <mutex>
#include <optional>
#include <sstream>

namespace statusstack::webhooks::cli {

namespace {

constexpr std::size_t response_preview_bytes = 200;

struct SendOptions {
  std::string url;
  std::vector<std::string> secrets;
  std::string secret_file;  ///< --secret-file, instead of --secret
  std::string method = "POST";
  std::vector<std::string> headers;
  std::string cacert;
  long timeout_ms = 5000;
  bool allow_http = false;
  bool allow_private_network = false;
  std::vector<std::string> allowed_networks;  ///< --allow-network, repeatable
  bool standard_webhooks = false;
  bool allow_short_secret = false;
  std::string event_file;
  bool test = false;
  std::string type = "component.status_changed";
  std::string format = "statusstack";
  std::string routing_key;
  std::string api_key;
  std::string site;
};

struct DispatchOptions {
  std::string config;
  std::string events = "-";
  long shutdown_ms = 10000;
  std::string store;  ///< empty: deliveries in memory only
  std::string durability = "power_loss";
  std::uint64_t store_max_bytes = 0;
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
  // Redacted as describe() does: a redirect from http:// to https:// repeats the query, tokens included.
  if (!outcome.location.empty()) line += ",\"location\":" + json_quote(redact_url(outcome.location));
  return line;
}

std::string preview(const std::string& body) {
  return json_quote(body.size() > response_preview_bytes ? body.substr(0, response_preview_bytes) + "..."
                                                         : body);
}

FormatSettings format_from(const SendOptions& options) {
  const std::optional<Format> format = parse_format(options.format);
  if (!format) {
    fail(exit_usage, "--format: expected statusstack, pagerduty or datadog (got \"" + options.format + "\")");
  }
  formats::FormatFields fields;
  if (!options.routing_key.empty()) fields.routing_key = Secret(options.routing_key);
  if (!options.api_key.empty()) fields.api_key = Secret(options.api_key);
  if (!options.site.empty()) fields.site = options.site;
  auto settings = formats::profile_of(*format).from_fields(std::move(fields));
  if (!settings) fail(exit_usage, option_message(settings.error()));
  if (auto valid = validate_format_settings(*settings); !valid)
    fail(exit_usage, option_message(valid.error()));
  return std::move(*settings);
}

// A custom header as "Name: value". Its text is never echoed: the value is often a credential.
Header header_from(const std::string& text) {
  const auto colon = text.find(':');
  if (colon == std::string::npos) {
    fail(exit_usage, "--header: expected 'Name: value' (got " + std::to_string(text.size()) +
                         " characters without a ':'; not shown, as a header value may be a secret)");
  }
  std::string value = text.substr(colon + 1);
  value.erase(0, value.find_first_not_of(" \t"));
  return {text.substr(0, colon), value};
}

Secret one_secret(const SendOptions& options) {
  if (options.secret_file == "-" && options.event_file == "-") {
    fail(exit_usage, "--secret-file -: standard input is the event here (--event-file -)");
  }
  std::vector<std::string> secrets = secrets_from(options.secrets, options.secret_file);
  const bool one = secrets.size() == 1;
  Secret secret(one ? std::string_view(secrets.front()) : std::string_view());
  for (std::string& text : secrets) std::fill(text.begin(), text.end(), '\0');  // the Secret holds it now
  if (!one) fail(exit_usage, "send takes exactly one secret");
  return secret;
}

Endpoint endpoint_from(const SendOptions& options) {
  Endpoint endpoint;
  endpoint.name = "cli";
  endpoint.format = format_from(options);
  endpoint.url = options.url;
  if (formats::profile_of(endpoint.format).needs_url_and_secret) {
    if (options.url.empty()) throw CLI::RequiredError("--url");
    endpoint.secret = one_secret(options);
  } else {
    // The vendors authenticate by their keys; a secret, when there is one, signs the request as well.
    const char* from_env = std::getenv(secret_env);  // NOLINT(concurrency-mt-unsafe): no thread runs yet
    if (!options.secrets.empty() || !options.secret_file.empty() ||
        (from_env != nullptr && *from_env != '\0')) {
      endpoint.secret = one_secret(options);
    }
  }
  const auto method = parse_http_method(options.method);
  if (!method) fail(exit_usage, "--method: expected POST, PUT or PATCH (got \"" + options.method + "\")");
  endpoint.method = *method;
  for (const std::string& header : options.headers) endpoint.headers.push_back(header_from(header));
  endpoint.options.ca_file = options.cacert;
  endpoint.options.timeout = std::chrono::milliseconds(options.timeout_ms);
  endpoint.options.allow_http = options.allow_http;
  endpoint.options.allow_private_network = options.allow_private_network;
  if (options.standard_webhooks) endpoint.signature = SignatureScheme::standard_webhooks;
  endpoint.allow_short_secret = options.allow_short_secret;
  if (auto valid = validate_endpoint(endpoint); !valid) fail(exit_usage, valid.error().message);
  return endpoint;
}

void run_send(const SendOptions& options) {
  const Endpoint endpoint = endpoint_from(options);
  NetworkGuard guard;
  for (const std::string& cidr : options.allowed_networks) {
    if (auto network = parse_network(cidr); !network)
      fail(exit_usage, "--allow-network: " + network.error().message);
  }
  guard.allowed_networks = options.allowed_networks;
  WebhookClient client(std::move(guard));
  Outcome outcome;
  std::string delivery_id;
  if (options.test) {
    const auto type = parse_event_type(options.type);
    if (!type) fail(exit_usage, "--type: unknown event type \"" + options.type + "\"");
    TestDelivery test = send_test(client, endpoint, *type);
    delivery_id = std::move(test.delivery_id);
    outcome = std::move(test.outcome);
  } else {
    auto event = parse_event(read_input(options.event_file));
    if (!event) fail(exit_usage, options.event_file + ": " + event.error().message);
    delivery_id = new_delivery_id();
    outcome = client.send(make_signed_request(*event, endpoint, delivery_id));
  }
  const double latency_ms = static_cast<double>(outcome.timings.total.count()) / 1000.0;
  std::cout << '{' << outcome_fields(outcome) << ",\"latency_ms\":" << number(latency_ms)
            << ",\"delivery_id\":" << json_quote(delivery_id);
  // What PagerDuty or Datadog said, read from their answer: the receipt, or why they refused.
  const formats::VendorAnswer answer =
      formats::read_answer(format_of(endpoint.format), outcome.status, outcome.content_type, outcome.body);
  if (!answer.receipt.empty()) std::cout << ",\"receipt\":" << json_quote(answer.receipt);
  if (!answer.error.empty()) std::cout << ",\"detail\":" << json_quote(answer.error);
  std::cout << ",\"response\":" << preview(outcome.body) << "}\n";
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

// Where the events come from: standard input, or the file opened now, before SIGINT and SIGTERM are
// blocked (a signal while a FIFO waits for its writer still ends the tool: nothing is pending then).
InterruptibleLines open_events(const std::string& path) {
  if (path == "-") return InterruptibleLines(STDIN_FILENO, false);
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) fail(exit_usage, "cannot open " + path + ": " + error_text(errno));
  return InterruptibleLines(fd, true);
}

// Returns 0, or the signal (SIGINT, SIGTERM) that cut the run short once every report is printed.
//
// With --store the run goes: the Dispatcher resumes what the file holds (their reports are printed
// like any other), the events are read and dispatched, then the tool waits until every delivery is
// final and exits. A signal (or a store that refuses a delivery) shuts down within --shutdown-ms
// instead: what is not final by then stays pending in the file for the next run.
int run_dispatch(const DispatchOptions& options) {
  auto rules = parse_rules(read_input(options.config));
  if (!rules) fail(exit_usage, options.config + ": " + rules.error().message);
  DispatcherOptions config = std::move(*rules);
  const bool stored = !options.store.empty();
  if (stored && is_database_uri(options.store)) {
#ifdef SSW_CLI_POSTGRES
    // A queue shared with other instances: they deliver what this run dispatches, and it theirs.
    config.store = postgres::store(options.store);
    config.store.max_bytes = options.store_max_bytes;  // refused unless 0: the database has its own limits
#else
    fail(exit_usage, "--store " + store_name(options.store) +
                         ": this statusstack-webhook was built without the PostgreSQL store (libpq-dev "
                         "was missing when it was built)");
#endif
  } else if (stored) {
    config.store.path = options.store;
    config.store.durability =
        options.durability == "process_crash" ? Durability::process_crash : Durability::power_loss;
    config.store.max_bytes = options.store_max_bytes;
  }
  // A file of events is input to work through, not traffic to shed: wait for room in the queue.
  config.overflow = OverflowPolicy::block;
  config.block_timeout = std::chrono::minutes(1);
  std::mutex output;
  config.on_report = [&output](const DeliveryReport& report) {
    const std::lock_guard<std::mutex> lock(output);
    std::cout << report_line(report) << '\n' << std::flush;
  };
  const std::chrono::milliseconds deadline(options.shutdown_ms);

  InterruptibleLines lines = open_events(options.events);
  // Before the Dispatcher starts its threads: they inherit the mask, so only the watcher takes them.
  const StopSignalsBlocked blocked;
  std::optional<Dispatcher> started;
  try {
    started.emplace(std::move(config));
  } catch (const ConfigError& error) {
    // A store file in use by another Dispatcher, damaged, or read-only: nothing was dispatched.
    fail(exit_usage, error.what());
  }
  Dispatcher& dispatcher = *started;
  if (const std::uint64_t resumed = dispatcher.stats().recovered; resumed != 0) {
    const std::lock_guard<std::mutex> lock(output);
    std::cerr << "statusstack-webhook: " << store_name(options.store) << ": resuming " << resumed
              << (resumed == 1 ? " delivery" : " deliveries") << " left pending by an earlier run\n";
  }
  SignalWatcher watcher(blocked, [&](int number) {
    {
      const std::lock_guard<std::mutex> lock(output);
      std::cerr << "statusstack-webhook: " << signal_name(number)
                << ": reading no more events; deliveries not done within " << options.shutdown_ms
                << " ms (--shutdown-ms) "
                << (stored ? "are left pending in " + store_name(options.store) + " for the next run"
                           : std::string("end as failed (shutdown)"))
                << '\n';
    }
    lines.interrupt();
    // Also wakes a dispatch() waiting for room in the queue.
    dispatcher.shutdown(deadline);
  });

  std::uint64_t accepted = 0;
  std::uint64_t skipped = 0;
  bool store_refused = false;
  std::string line;
  for (std::size_t number = 1; lines.next(line); ++number) {
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    auto event = parse_event(line);
    Result<Accepted> result = event ? dispatcher.dispatch(*event) : Result<Accepted>(event.error());
    if (!result) {
      if (watcher.received() != 0) break;  // refused by the shutdown the signal began: not the line's fault
      if (result.error().code == ErrorCode::store_error) {
        // The file cannot take more (disk full, max bytes, a lock held elsewhere): the next lines
        // would be refused as well, so none is read. What was accepted is safe in the file.
        store_refused = true;
        const std::lock_guard<std::mutex> lock(output);
        std::cerr << "statusstack-webhook: " << options.events << ":" << number << ": "
                  << result.error().message << " (not accepted; reading no more events)\n";
        break;
      }
      ++skipped;
      const std::lock_guard<std::mutex> lock(output);
      std::cerr << "statusstack-webhook: " << options.events << ":" << number << ": "
                << result.error().message << " (skipped)\n";
      continue;
    }
    accepted += result->deliveries.size();
  }
  const bool read_failed = !lines.error().empty();
  if (read_failed) {
    const std::lock_guard<std::mutex> lock(output);
    std::cerr << "statusstack-webhook: cannot read " << options.events << ": " << lines.error() << '\n';
  }
  // With a store, the end of the input is not a deadline: wait for every delivery to be final. A
  // signal meanwhile shuts down, which parks what is left and so ends this wait too.
  if (stored && !store_refused && !read_failed && watcher.received() == 0) {
    static_cast<void>(dispatcher.flush(std::chrono::milliseconds::max()));  // no limit: true on return
  }
  // After a signal this waits for the shutdown the watcher began; every report is printed on return.
  dispatcher.shutdown(deadline);
  watcher.stop();
  const int signal = watcher.received();
  const DispatcherStats stats = dispatcher.stats();
  {
    const std::lock_guard<std::mutex> lock(output);
    std::cout << "{\"summary\":true,\"accepted\":" << accepted << ",\"delivered\":" << stats.delivered
              << ",\"failed\":" << stats.failed << ",\"skipped\":" << skipped;
    if (stored) {
      std::cout << ",\"recovered\":" << stats.recovered << ",\"parked\":" << stats.parked
                << ",\"store_errors\":" << stats.store_errors;
    }
    // Endpoints whose breaker is not closed, or paused by a 410: the ones to look at.
    std::string unhealthy;
    for (const EndpointHealth& endpoint : stats.endpoints) {
      if (endpoint.breaker == BreakerState::closed && !endpoint.gone) continue;
      unhealthy += unhealthy.empty() ? "" : ",";
      unhealthy += "{\"name\":" + json_quote(endpoint.endpoint) +
                   ",\"breaker\":" + json_quote(to_string(endpoint.breaker)) +
                   ",\"gone\":" + (endpoint.gone ? "true" : "false") +
                   ",\"consecutive_failures\":" + std::to_string(endpoint.consecutive_failures) +
                   ",\"last_error\":" + json_quote(endpoint.last_error) + "}";
    }
    if (!unhealthy.empty()) std::cout << ",\"unhealthy_endpoints\":[" << unhealthy << "]";
    if (signal != 0) std::cout << ",\"interrupted_by\":" << json_quote(signal_name(signal));
    std::cout << "}\n" << std::flush;
  }
  if (signal != 0) return signal;
  // Resumed deliveries count like the ones of this run's input.
  const std::uint64_t expected = accepted + stats.recovered;
  if (stats.delivered != expected || skipped != 0 || read_failed || store_refused)
    throw CLI::RuntimeError(exit_failed);
  return 0;
}

}  // namespace

void add_delivery_commands(CLI::App& app) {
  auto send_options = std::make_shared<SendOptions>();
  CLI::App* send =
      app.add_subcommand("send", "Send one signed webhook now and print its outcome as a JSON line");
  send->add_option("--url", send_options->url,
                   "Receiver URL (https://, or http:// with --allow-http); pagerduty and datadog default to "
                   "the vendor's");
  CLI::Option* send_secret = send->add_option("--secret", send_options->secrets,
                                              "Signing secret (default: $STATUSSTACK_WEBHOOK_SECRET)");
  add_secret_file_option(*send, send_secret, send_options->secret_file);
  send->add_option("--method", send_options->method, "POST (default), PUT or PATCH");
  send->add_option("--header", send_options->headers, "Custom header 'Name: value' (repeatable)");
  send->add_option("--cacert", send_options->cacert, "PEM file of CA certificates to trust");
  send->add_option("--timeout-ms", send_options->timeout_ms, "Total timeout in milliseconds (default 5000)")
      ->check(CLI::Range(1L, 3600000L));
  send->add_flag("--allow-http", send_options->allow_http, "Allow a plain http:// URL");
  send->add_flag("--allow-private-network", send_options->allow_private_network,
                 "Allow a receiver on a loopback, private, link-local or carrier-grade NAT address "
                 "(refused by default)");
  send->add_option("--allow-network", send_options->allowed_networks,
                   "Allow a receiver in this network although its addresses are refused by default, as "
                   "CIDR (10.1.0.0/16; repeatable)");
  send->add_flag("--standard-webhooks", send_options->standard_webhooks,
                 "Sign with the Standard Webhooks scheme (whsec_ secret)");
  send->add_flag("--allow-short-secret", send_options->allow_short_secret,
                 "Accept a secret under 16 bytes (a legacy receiver's)");
  auto* event_file =
      send->add_option("--event-file", send_options->event_file, "Event JSON to send (- for stdin)");
  auto* test =
      send->add_flag("--test", send_options->test, "Send a sample event marked X-StatusStack-Test: true");
  send->add_option("--type", send_options->type, "Event type of the --test sample")->needs(test);
  event_file->excludes(test);
  send->add_option("--format", send_options->format,
                   "statusstack (default), pagerduty (needs --routing-key) or datadog (needs --api-key)");
  send->add_option("--routing-key", send_options->routing_key,
                   "PagerDuty: the Events API v2 integration key (32 characters)");
  send->add_option("--api-key", send_options->api_key, "Datadog: the API key (sent as DD-API-KEY)");
  send->add_option("--site", send_options->site, "Datadog: US1 (default), US3, US5, EU, AP1 or US1-FED");
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
                   "How long to keep delivering after the input ends or SIGINT/SIGTERM arrives (default "
                   "10000; with --store the end of the input waits for every delivery instead)")
      ->check(CLI::Range(0L, 86400000L));
  auto* store = dispatch->add_option(
      "--store", dispatch_options->store,
      "SQLite file that keeps every accepted delivery until it is final (created when missing). The run "
      "resumes what the file holds and ends when every delivery is final; what SIGINT/SIGTERM leaves "
      "pending stays in the file for the next run. Or a PostgreSQL database (postgresql://...) whose "
      "queue this run shares with other instances: it ends when nothing is pending in the queue");
  dispatch
      ->add_option(
          "--durability", dispatch_options->durability,
          "With a --store file: power_loss (default: every commit waits for the disk) or process_crash "
          "(survives the tool's crash, not the machine's)")
      ->check(CLI::IsMember({"power_loss", "process_crash"}))
      ->needs(store);
  dispatch
      ->add_option("--store-max-bytes", dispatch_options->store_max_bytes,
                   "With --store: the file never grows beyond this; a delivery that does not fit is "
                   "refused (default 0: no limit)")
      ->needs(store);
  dispatch->callback([dispatch_options] {
    // Everything of the run is gone by now (threads joined, files closed): end as the signal asked.
    if (const int signal = run_dispatch(*dispatch_options); signal != 0) end_by_signal(signal);
  });
}

}  // namespace statusstack::webhooks::cli
