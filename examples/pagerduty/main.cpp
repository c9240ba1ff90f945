// A monitoring service paging through PagerDuty: a monitor goes down (an alert opens), then comes
// back (the same alert resolves: both events carry the same dedup_key).
//
// Usage: pagerduty [--routing-key KEY] [--url URL]   (key default: $PAGERDUTY_ROUTING_KEY;
//        URL default: https://events.pagerduty.com/v2/enqueue)
// Prints one line per report, "<event type> delivered, dedup_key <key>" or
// "<event type> failed (<reason>): <detail>"; exits 0 when both events were delivered.

#include <statusstack/webhooks.hpp>

#include <chrono>
#include <cstdlib>
#include <iostream>
#include <mutex>
#include <string>
#include <utility>

namespace ssw = statusstack::webhooks;

int main(int argc, char** argv) {
  ssw::Endpoint pagerduty;
  pagerduty.name = "pagerduty";
  ssw::PagerDutyFormat format;  // no secret needed: the routing key authenticates
  if (const char* key = std::getenv("PAGERDUTY_ROUTING_KEY")) format.routing_key = key;
  const auto usage = [] {
    std::cerr << "usage: pagerduty [--routing-key KEY] [--url URL] (or set PAGERDUTY_ROUTING_KEY)\n";
    return 2;
  };
  for (int i = 1; i < argc; i += 2) {
    const std::string option = argv[i];
    if (i + 1 == argc) return usage();
    if (option == "--routing-key") {
      format.routing_key = argv[i + 1];
    } else if (option == "--url") {
      pagerduty.url = argv[i + 1];  // a local stand-in, say
    } else {
      return usage();
    }
  }
  if (format.routing_key.empty()) return usage();
  pagerduty.format = std::move(format);
  // Only https:// leaves the machine. Plain http:// is allowed to this machine alone, for a local
  // stand-in of PagerDuty: anywhere else, anyone on the way could read the routing key.
  pagerduty.options.allow_http =
      pagerduty.url.rfind("http://127.0.0.1:", 0) == 0 || pagerduty.url.rfind("http://localhost:", 0) == 0;
  // The stand-in is on a loopback address, which the library refuses unless allowed.
  pagerduty.options.allow_private_network = pagerduty.options.allow_http;
  if (const ssw::Result<void> valid = ssw::validate_endpoint(pagerduty); !valid) {
    std::cerr << "pagerduty: " << valid.error().message << "\n";  // e.g. a key of the wrong length
    return 2;
  }

  ssw::DispatcherOptions options;
  options.endpoints.push_back(pagerduty);
  std::mutex output;  // reports arrive on the dispatcher's I/O thread
  options.on_report = [&output](const ssw::DeliveryReport& r) {
    const std::lock_guard<std::mutex> lock(output);
    std::cout << ssw::to_string(r.event)
              << (r.delivered ? " delivered, dedup_key " + r.receipt
                              : std::string(" failed (") + ssw::to_string(r.reason) + "): " + r.detail)
              << std::endl;
  };
  ssw::Dispatcher dispatcher(std::move(options));
  std::cout << "sending to " << (pagerduty.url.empty() ? ssw::default_url(pagerduty.format) : pagerduty.url)
            << std::endl;

  // A real service fills the events in from its checks; the samples stand in, stamped now.
  auto down = std::get<ssw::MonitorDown>(ssw::example_event(ssw::EventType::monitor_down));
  auto recovered = std::get<ssw::MonitorRecovered>(ssw::example_event(ssw::EventType::monitor_recovered));
  down.timestamp = recovered.timestamp = ssw::Timestamp::now();
  // The same stack and monitor id make the same dedup_key: the recovery resolves the down's alert.
  recovered.stack = down.stack;
  recovered.monitor.id = down.monitor.id;

  // Deliveries to one endpoint may overtake each other, and a resolve that arrives before its
  // trigger resolves nothing. Real events are minutes apart; here we wait for each one's report.
  for (const ssw::Event& event : {ssw::Event(down), ssw::Event(recovered)}) {
    const ssw::Result<ssw::Accepted> accepted = dispatcher.dispatch(event);
    if (!accepted) std::cerr << "pagerduty: not accepted: " << accepted.error().message << "\n";
    dispatcher.flush(std::chrono::seconds(10));  // retries included
  }
  dispatcher.shutdown(std::chrono::seconds(0));  // anything unfinished is reported failed (shutdown)
  return dispatcher.stats().delivered == 2 ? 0 : 1;
}
