// A host process for the store's crash test (test_store_crash.cpp): it dispatches numbered events
// through a Dispatcher with a store until it is killed, and a new one started on the same files
// goes on where the last one stopped.
//
//   store_crash_child run STORE URL PROGRESS TOTAL
//       Dispatches monitor.down events numbered from the count in PROGRESS up to TOTAL (monitor id
//       "mon_<n>"), writing the count of accepted events to PROGRESS after each dispatch() returns
//       (the store has them then). Once all are dispatched it waits until every delivery is final,
//       shuts down, prints "done <delivered> <failed> <recovered>" and exits 0. Prints "ready" once
//       its Dispatcher is open (what the store held is resumed).
//   store_crash_child open STORE
//       Opens a Dispatcher on STORE, prints "opened" or the error's code and message, and exits
//       (0 when opened, 3 when refused): a second process trying a store file.

#include <statusstack/webhooks/dispatcher.hpp>

#include <fcntl.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <string>

using namespace statusstack::webhooks;

namespace {

std::uint64_t read_progress(const std::string& path) {
  std::FILE* file = std::fopen(path.c_str(), "r");
  if (file == nullptr) return 0;
  char text[32] = {};
  const bool read = std::fgets(text, sizeof text, file) != nullptr;
  std::fclose(file);
  return read ? std::strtoull(text, nullptr, 10) : 0;
}

// pwrite of a fixed-width number: a SIGKILL leaves either the old count or the new one (the page
// cache survives the process), never a torn mix that reads as a bigger number.
void write_progress(int fd, std::uint64_t count) {
  char text[32];
  const int size = std::snprintf(text, sizeof text, "%020llu\n", static_cast<unsigned long long>(count));
  if (::pwrite(fd, text, static_cast<std::size_t>(size), 0) != size) std::_Exit(4);
}

Event numbered_event(std::uint64_t n) {
  auto down = std::get<MonitorDown>(example_event(EventType::monitor_down));
  down.monitor.id = "mon_" + std::to_string(n);
  return down;
}

}  // namespace

int main(int argc, char** argv) {
  const std::string mode = argc > 1 ? argv[1] : "";
  if (mode == "open" && argc == 3) {
    DispatcherOptions options;
    options.store.path = argv[2];
    try {
      Dispatcher dispatcher(std::move(options));
      std::cout << "opened\n";
      return 0;
    } catch (const ConfigError& error) {
      std::cout << to_string(error.error().code) << ": " << error.what() << '\n';
      return 3;
    }
  }
  if (mode != "run" || argc != 6) {
    std::cerr << "usage: store_crash_child run STORE URL PROGRESS TOTAL | open STORE\n";
    return 2;
  }
  const std::string progress_path = argv[4];
  const std::uint64_t total = std::strtoull(argv[5], nullptr, 10);

  Endpoint endpoint;
  endpoint.name = "receiver";
  endpoint.url = argv[3];
  endpoint.secret = "crash-test-secret-0123456789";
  endpoint.options.allow_http = true;
  endpoint.options.allow_private_network = true;
  endpoint.options.timeout = std::chrono::seconds(5);
  endpoint.max_in_flight = 8;
  DispatcherOptions options;
  options.endpoints.push_back(endpoint);
  options.retry.max_attempts = 20;
  options.retry.initial_delay = std::chrono::milliseconds(20);
  options.retry.max_delay = std::chrono::milliseconds(200);
  options.store.path = argv[2];
  // Keep a record of each delivered delivery: the test reads every id the file ever held.
  options.store.delivered_retention = std::chrono::hours(24);
  options.overflow = OverflowPolicy::block;
  options.block_timeout = std::chrono::milliseconds::max();

  Dispatcher dispatcher(std::move(options));
  std::cout << "ready" << std::endl;  // the store is open and what it held is resumed
  const int fd = ::open(progress_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) return 4;
  for (std::uint64_t n = read_progress(progress_path); n < total; ++n) {
    auto accepted = dispatcher.dispatch(numbered_event(n));
    if (!accepted) {
      std::cerr << "dispatch " << n << ": " << accepted.error().message << '\n';
      return 5;
    }
    write_progress(fd, n + 1);
  }
  ::close(fd);
  if (!dispatcher.flush(std::chrono::minutes(5))) return 6;
  dispatcher.shutdown();
  const DispatcherStats stats = dispatcher.stats();
  std::cout << "done " << stats.delivered << ' ' << stats.failed << ' ' << stats.recovered << '\n';
  return 0;
}
