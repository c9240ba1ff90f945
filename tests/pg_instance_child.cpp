// One instance of a host on the shared PostgreSQL queue, for the tests that need several processes
// (test_postgres_store.cpp): killed with SIGKILL, or stopped with SIGSTOP past its lease.
//
//   pg_instance_child URI RECEIVER_URL LEASE_MS FIRST COUNT TIMEOUT_MS
//       Opens a Dispatcher on the queue at URI (lease LEASE_MS, one endpoint "receiver" at
//       RECEIVER_URL with a timeout of TIMEOUT_MS) and prints "ready <pid>". Dispatches COUNT
//       monitor.down events numbered from FIRST (monitor id "mon_<n>", 100 per dispatch_many call),
//       prints "dispatched", waits until nothing is pending in the queue (flush), shuts down,
//       prints "done <delivered> <failed> <claimed> <taken_over>" and exits 0.

#include <statusstack/webhooks/dispatcher.hpp>
#include <statusstack/webhooks/postgres.hpp>

#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <iostream>
#include <string>

using namespace statusstack::webhooks;

int main(int argc, char** argv) {
  if (argc != 7) {
    std::cerr << "usage: pg_instance_child URI RECEIVER_URL LEASE_MS FIRST COUNT TIMEOUT_MS\n";
    return 2;
  }
  const long first = std::strtol(argv[4], nullptr, 10);
  const long count = std::strtol(argv[5], nullptr, 10);

  Endpoint endpoint;
  endpoint.name = "receiver";
  endpoint.url = argv[2];
  endpoint.secret = "pg-instance-secret-0123456789";
  endpoint.options.allow_http = true;
  endpoint.options.allow_private_network = true;
  endpoint.options.timeout = std::chrono::milliseconds(std::strtol(argv[6], nullptr, 10));
  endpoint.max_in_flight = 4;  // the test's receiver serves 16 connections at once
  DispatcherOptions options;
  options.endpoints.push_back(endpoint);
  options.retry.max_attempts = 20;
  options.retry.initial_delay = std::chrono::milliseconds(20);
  options.retry.max_delay = std::chrono::milliseconds(200);
  postgres::QueueSettings queue;
  queue.conninfo = argv[1];
  queue.lease = std::chrono::milliseconds(std::strtol(argv[3], nullptr, 10));
  queue.poll = std::chrono::milliseconds(200);
  queue.max_claimed = 200;
  options.store = postgres::store(queue);
  // Keep a record of each delivered delivery: the test reads every id the queue ever held.
  options.store.delivered_retention = std::chrono::hours(24);

  try {
    Dispatcher dispatcher(std::move(options));
    std::cout << "ready " << ::getpid() << std::endl;
    std::vector<Event> batch;
    for (long n = first; n < first + count; ++n) {
      auto down = std::get<MonitorDown>(example_event(EventType::monitor_down));
      down.monitor.id = "mon_" + std::to_string(n);
      batch.emplace_back(std::move(down));
      if (batch.size() == 100 || n + 1 == first + count) {
        if (auto accepted = dispatcher.dispatch_many(batch); !accepted) {
          std::cerr << "dispatch: " << accepted.error().message << '\n';
          return 5;
        }
        batch.clear();
      }
    }
    std::cout << "dispatched" << std::endl;
    if (!dispatcher.flush(std::chrono::minutes(5))) return 6;
    dispatcher.shutdown();
    const DispatcherStats stats = dispatcher.stats();
    std::cout << "done " << stats.delivered << ' ' << stats.failed << ' ' << stats.claimed << ' '
              << stats.taken_over << std::endl;
    return 0;
  } catch (const ConfigError& error) {
    std::cerr << error.what() << '\n';
    return 3;
  }
}
