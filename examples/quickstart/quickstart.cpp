// What a monitoring service writes: two notification rules, one event of each type, the reports.
//
// Usage: quickstart [--secret S] ALL_URL ONCALL_URL     (secret default: $STATUSSTACK_WEBHOOK_SECRET)
// Prints one line per report, "delivered|failed <delivery id> <endpoint> <event type> <details>",
// then a summary; exits 0 when every delivery arrived.

#include <statusstack/webhooks.hpp>

#include <cstdlib>
#include <iostream>
#include <mutex>
#include <string>

namespace ssw = statusstack::webhooks;

namespace {

ssw::Endpoint endpoint(std::string name, std::string url, std::string secret) {
  ssw::Endpoint e;
  e.name = std::move(name);
  e.url = std::move(url);
  e.secret = std::move(secret);  // each rule normally has its own; the demo shares one
  // The library sends only to https:// unless told otherwise. The demo's receiver is plain http
  // on this machine, so allow http for loopback addresses only: anything that leaves the
  // machine must be https://, or anyone on the way can read (and replay) the events.
  e.options.allow_http = e.url.rfind("http://127.0.0.1:", 0) == 0 || e.url.rfind("http://localhost:", 0) == 0;
  return e;
}

}  // namespace

int main(int argc, char** argv) {
  std::string secret =
      std::getenv("STATUSSTACK_WEBHOOK_SECRET") ? std::getenv("STATUSSTACK_WEBHOOK_SECRET") : "";
  int first = 1;
  if (argc > 2 && std::string(argv[1]) == "--secret") {
    secret = argv[2];
    first = 3;
  }
  if (argc - first != 2 || secret.empty()) {
    std::cerr << "usage: quickstart [--secret S] ALL_URL ONCALL_URL (or set STATUSSTACK_WEBHOOK_SECRET)\n";
    return 2;
  }

  ssw::DispatcherOptions options;
  options.endpoints.push_back(endpoint("all", argv[first], secret));  // every event
  ssw::Endpoint oncall = endpoint("oncall", argv[first + 1], secret);
  oncall.events.patterns = {"incident.*", "monitor.down"};  // only what should wake someone up
  options.endpoints.push_back(oncall);

  std::mutex output;  // reports arrive on the dispatcher's I/O thread
  options.on_report = [&output](const ssw::DeliveryReport& r) {
    const std::lock_guard<std::mutex> lock(output);
    std::cout << (r.delivered ? "delivered " : "failed ") << r.delivery_id << ' ' << r.endpoint << ' '
              << ssw::to_string(r.event) << ' ' << r.last.describe() << ", " << r.attempts << " attempt(s), "
              << r.latency.count() << " ms"
              << (r.delivered ? "" : std::string(", ") + ssw::to_string(r.reason)) << std::endl;
  };

  ssw::Dispatcher dispatcher(std::move(options));  // throws ConfigError if a rule cannot work
  for (ssw::EventType type : ssw::all_event_types) {
    // A real service builds the event from what happened; the samples show every field filled in.
    const ssw::Result<ssw::Accepted> accepted = dispatcher.dispatch(ssw::example_event(type));
    if (!accepted) {
      std::cerr << "quickstart: " << ssw::to_string(type) << " not accepted: " << accepted.error().message
                << "\n";
    }
  }
  // Wait up to 10 s for every delivery (retries included) to have its report, then stop the I/O
  // thread; anything still unfinished then is reported failed (reason "shutdown").
  dispatcher.flush(std::chrono::seconds(10));
  dispatcher.shutdown(std::chrono::seconds(0));

  const ssw::DispatcherStats stats = dispatcher.stats();
  std::cout << "summary: " << stats.accepted << " deliveries, " << stats.delivered << " delivered, "
            << stats.failed << " failed" << std::endl;
  return stats.accepted > 0 && stats.delivered == stats.accepted ? 0 : 1;
}
