// What a monitoring service writes: two notification rules, one event of each type, the reports.
//
// Usage: quickstart [--secret S] [--store FILE] ALL_URL ONCALL_URL
//   (secret default: $STATUSSTACK_WEBHOOK_SECRET)
// With --store, every delivery is kept in FILE (SQLite, created when missing) until it is final: what
// a run leaves unfinished, the next run on the same FILE resumes (docs/durability.md).
// Prints one line per report, "delivered|failed <delivery id> <endpoint> <event type> <details>",
// then a summary; exits 0 when every delivery arrived.

#include <statusstack/webhooks.hpp>

#include <cstdint>
#include <cstdlib>
#include <iostream>
#include <mutex>
#include <string>

namespace ssw = statusstack::webhooks;

namespace {

ssw::Endpoint endpoint(std::string name, std::string url, std::string_view secret) {
  ssw::Endpoint e;
  e.name = std::move(name);
  e.url = std::move(url);
  e.secret = secret;  // a wiping ssw::Secret; each rule normally has its own, the demo shares one
  // The library sends only to https:// unless told otherwise. The demo's receiver is plain http
  // on this machine, so allow http for loopback addresses only: anything that leaves the
  // machine must be https://, or anyone on the way can read (and replay) the events.
  e.options.allow_http = e.url.rfind("http://127.0.0.1:", 0) == 0 || e.url.rfind("http://localhost:", 0) == 0;
  // The same receiver is a loopback address, which the library refuses by default (a webhook URL
  // must not reach the sender's own machine or network): allow it for that receiver only.
  e.options.allow_private_network = e.options.allow_http;
  return e;
}

int run(int argc, char** argv) {
  const char* from_env =
      std::getenv("STATUSSTACK_WEBHOOK_SECRET");  // NOLINT(concurrency-mt-unsafe): no thread runs yet
  std::string secret = from_env != nullptr ? from_env : "";
  std::string store;
  int first = 1;
  for (; first + 1 < argc; first += 2) {
    const std::string option = argv[first];
    if (option == "--secret") {
      secret = argv[first + 1];
    } else if (option == "--store") {
      store = argv[first + 1];
    } else {
      break;
    }
  }
  if (argc - first != 2 || secret.empty()) {
    std::cerr << "usage: quickstart [--secret S] [--store FILE] ALL_URL ONCALL_URL (or set "
                 "STATUSSTACK_WEBHOOK_SECRET)\n";
    return 2;
  }

  ssw::DispatcherOptions options;
  // With a store, dispatch() returns once the deliveries are committed to the file, and a delivery
  // this run does not finish stays there for the next run instead of being reported failed.
  options.store.path = store;
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

  ssw::Dispatcher dispatcher(std::move(options));  // throws ConfigError if a rule or the store cannot work
  if (!store.empty()) {
    // Deliveries an earlier run left unfinished in the file: sent again now, with their ids.
    std::cout << "store " << store << ": " << dispatcher.stats().recovered
              << " deliveries resumed from an earlier run" << std::endl;
  }
  for (ssw::EventType type : ssw::all_event_types) {
    // A real service builds the event from what happened; the samples show every field filled in.
    const ssw::Result<ssw::Accepted> accepted = dispatcher.dispatch(ssw::example_event(type));
    if (!accepted) {
      std::cerr << "quickstart: " << ssw::to_string(type) << " not accepted: " << accepted.error().message
                << "\n";
    }
  }
  // Wait up to 10 s for every delivery (retries included) to have its report, then stop the I/O
  // thread. Anything still unfinished then is reported failed (reason "shutdown"); with a store it
  // is parked in the file instead, without a report, for the next run.
  dispatcher.flush(std::chrono::seconds(10));
  dispatcher.shutdown(std::chrono::seconds(0));

  const ssw::DispatcherStats stats = dispatcher.stats();
  const std::uint64_t deliveries = stats.accepted + stats.recovered;
  std::cout << "summary: " << deliveries << " deliveries, " << stats.delivered << " delivered, "
            << stats.failed << " failed";
  if (!store.empty()) std::cout << ", " << stats.parked << " left in the store";
  std::cout << std::endl;
  return deliveries > 0 && stats.delivered == deliveries ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return run(argc, argv);
  } catch (const ssw::ConfigError& e) {  // a rule that cannot work, a store file that cannot be used
    std::cerr << "quickstart: " << e.what() << "\n";
    return 2;
  }
}
