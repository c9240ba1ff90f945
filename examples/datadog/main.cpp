// A monitoring service posting to Datadog's Event Stream: an incident is opened, then resolved.
// Both entries carry the same aggregation_key, so Datadog groups them.
//
// Usage: datadog [--api-key KEY] [--site SITE] [--url URL]   (key default: $DD_API_KEY; site: US1,
//        US3, US5, EU, AP1 or US1-FED, default US1; URL default: the site's events URL)
// Prints one line per report, "<event type> delivered, event id <id_str>" or
// "<event type> failed (<reason>): <detail>"; exits 0 when both events were delivered.

#include <statusstack/webhooks.hpp>

#include <chrono>
#include <cstdlib>
#include <iostream>
#include <mutex>
#include <optional>
#include <string>
#include <utility>

namespace ssw = statusstack::webhooks;

int main(int argc, char** argv) {
  ssw::Endpoint datadog;
  datadog.name = "datadog";
  ssw::DatadogFormat format;  // no secret needed: the API key authenticates
  if (const char* key = std::getenv("DD_API_KEY")) format.api_key = key;
  const auto usage = [] {
    std::cerr << "usage: datadog [--api-key KEY] [--site US1|US3|US5|EU|AP1|US1-FED] [--url URL]"
                 " (or set DD_API_KEY)\n";
    return 2;
  };
  for (int i = 1; i < argc; i += 2) {
    const std::string option = argv[i];
    if (i + 1 == argc) return usage();
    const std::optional<ssw::DatadogSite> site = ssw::parse_datadog_site(argv[i + 1]);
    if (option == "--api-key") {
      format.api_key = argv[i + 1];
    } else if (option == "--site" && site) {
      format.site = *site;
    } else if (option == "--url") {
      datadog.url = argv[i + 1];  // a local stand-in, say
    } else {
      return usage();
    }
  }
  if (format.api_key.empty()) return usage();
  datadog.format = std::move(format);
  // Only https:// leaves the machine. Plain http:// is allowed to this machine alone, for a local
  // stand-in of Datadog: anywhere else, anyone on the way could read the API key.
  datadog.options.allow_http =
      datadog.url.rfind("http://127.0.0.1:", 0) == 0 || datadog.url.rfind("http://localhost:", 0) == 0;
  // The stand-in is on a loopback address, which the library refuses unless allowed.
  datadog.options.allow_private_network = datadog.options.allow_http;
  if (const ssw::Result<void> valid = ssw::validate_endpoint(datadog); !valid) {
    std::cerr << "datadog: " << valid.error().message << "\n";
    return 2;
  }

  ssw::DispatcherOptions options;
  options.endpoints.push_back(datadog);
  std::mutex output;  // reports arrive on the dispatcher's I/O thread
  options.on_report = [&output](const ssw::DeliveryReport& r) {
    const std::lock_guard<std::mutex> lock(output);
    std::cout << ssw::to_string(r.event)
              << (r.delivered ? " delivered, event id " + r.receipt
                              : std::string(" failed (") + ssw::to_string(r.reason) + "): " + r.detail)
              << std::endl;
  };
  ssw::Dispatcher dispatcher(std::move(options));
  std::cout << "sending to " << (datadog.url.empty() ? ssw::default_url(datadog.format) : datadog.url)
            << std::endl;

  // A real service fills the events in from what happened; the samples stand in. Datadog accepts
  // events from the last 18 hours only, so they are stamped now.
  auto created = std::get<ssw::IncidentCreated>(ssw::example_event(ssw::EventType::incident_created));
  auto resolved = std::get<ssw::IncidentResolved>(ssw::example_event(ssw::EventType::incident_resolved));
  created.timestamp = resolved.timestamp = ssw::Timestamp::now();
  // The same stack and incident id make the same aggregation_key.
  resolved.stack = created.stack;
  resolved.incident.id = created.incident.id;

  // Deliveries to one endpoint may overtake each other; waiting for each report keeps the order.
  for (const ssw::Event& event : {ssw::Event(created), ssw::Event(resolved)}) {
    const ssw::Result<ssw::Accepted> accepted = dispatcher.dispatch(event);
    if (!accepted) std::cerr << "datadog: not accepted: " << accepted.error().message << "\n";
    dispatcher.flush(std::chrono::seconds(10));  // retries included
  }
  dispatcher.shutdown(std::chrono::seconds(0));  // anything unfinished is reported failed (shutdown)
  return dispatcher.stats().delivered == 2 ? 0 : 1;
}
