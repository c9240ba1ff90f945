// The store's promise, shown the hard way: a host process (store_crash_child.cpp) dispatches
// 10,000 events through a Dispatcher with a store to a receiver on 127.0.0.1 and is killed with
// SIGKILL at random moments, then started again on the same file, until one run ends by itself.

#include <statusstack/webhooks/store.hpp>

#include "support/process.hpp"
#include "support/servers.hpp"

#include <catch2/catch.hpp>

#include <csignal>
#include <map>
#include <random>
#include <set>
#include <thread>

using namespace statusstack::webhooks;
using namespace statusstack::webhooks::testing;
using namespace std::chrono_literals;

#ifdef SSW_STORE_CRASH_CHILD

namespace {

struct Receipt {
  std::string delivery_id;
  std::string monitor;  // "mon_<n>": which event
};

std::vector<Receipt> receipts(const HttpTestServer& server) {
  std::vector<Receipt> all;
  for (const auto& request : server.requests()) {
    Receipt receipt;
    for (const auto& [name, value] : request.headers) {
      if (name == "X-StatusStack-Delivery") receipt.delivery_id = value;
    }
    const auto at = request.body.find("\"mon_");
    if (at != std::string::npos) {
      const auto end = request.body.find('"', at + 1);
      receipt.monitor = request.body.substr(at + 1, end - at - 1);
    }
    all.push_back(std::move(receipt));
  }
  return all;
}

// Waits until the receiver has taken no request for 200 ms (what the killed process had sent is in).
void settle(const HttpTestServer& server) {
  std::size_t last = server.request_count();
  for (int i = 0; i < 50; ++i) {
    std::this_thread::sleep_for(200ms);
    const std::size_t now = server.request_count();
    if (now == last) return;
    last = now;
  }
}

std::vector<StoredDelivery> all_rows(const std::string& path) {
  auto file = StoreFile::open(path);
  INFO((file ? std::string() : file.error().message));
  REQUIRE(file);
  DeliveryQuery everything;
  everything.limit = 1000000;
  auto rows = file->list(everything);
  REQUIRE(rows);
  return *rows;
}

}  // namespace

TEST_CASE("store crash test: a host killed with SIGKILL at random moments loses no delivery",
          "[integration][store][crash]") {
  constexpr int total = 10000;
  constexpr int kills_wanted = 6;
  TempDir dir;
  const std::string store = dir.file("crash.db");
  const std::string progress = dir.file("progress");
  HttpTestServer receiver;
  const std::vector<std::string> argv{SSW_STORE_CRASH_CHILD, "run",    store,
                                      receiver.url(),        progress, std::to_string(total)};

  std::random_device seed_source;
  const auto seed = seed_source();
  INFO("kill moments drawn with seed " << seed);
  std::mt19937 random(seed);
  std::uniform_int_distribution<int> moment_ms(100, 450);

  int kills = 0;
  std::size_t exposed = 0;  // deliveries the receiver had that were still pending in the file at a kill
  bool finished_early = false;
  while (kills < kills_wanted) {
    BackgroundProcess child(argv);
    // The random moment counts from when the store is open: a kill while dispatching or delivering,
    // not while a slow (sanitized) process is still starting.
    const auto ready = child.read_line(60s);
    if (!ready) {
      finished_early = true;
      break;
    }
    REQUIRE(*ready == "ready");
    if (child.wait(std::chrono::milliseconds(moment_ms(random)))) {
      finished_early = true;  // it ended by itself before its kill
      break;
    }
    child.send_signal(SIGKILL);
    const auto ended = child.wait(10s);
    REQUIRE(ended);
    REQUIRE(ended->exit_code == 128 + SIGKILL);
    ++kills;
    // Those that reached the receiver but are not final in the file will be sent again.
    settle(receiver);
    std::set<std::string> received;
    for (const auto& receipt : receipts(receiver)) received.insert(receipt.delivery_id);
    for (const auto& row : all_rows(store)) {
      if (row.state == DeliveryState::pending && received.count(row.id) != 0) ++exposed;
    }
  }
  INFO("the host was killed " << kills << " times");
  REQUIRE_FALSE(finished_early);
  REQUIRE(kills >= 5);

  BackgroundProcess last(argv);
  const auto result = last.wait(5min);
  REQUIRE(result);
  INFO(result->err);
  REQUIRE(result->exit_code == 0);
  CHECK(result->out.find("ready\ndone ") == 0);
  settle(receiver);

  // Every delivery the file ever held is final, delivered, and reached the receiver.
  const auto rows = all_rows(store);
  const auto got = receipts(receiver);
  std::map<std::string, int> times_received;
  std::map<std::string, std::set<std::string>> monitor_of;  // delivery id -> the events it carried
  std::map<std::string, std::set<std::string>> ids_of;      // event -> its delivery ids
  for (const auto& receipt : got) {
    ++times_received[receipt.delivery_id];
    monitor_of[receipt.delivery_id].insert(receipt.monitor);
    ids_of[receipt.monitor].insert(receipt.delivery_id);
  }
  std::size_t not_final = 0, not_received = 0;
  for (const auto& row : rows) {
    if (row.state != DeliveryState::delivered) ++not_final;
    if (times_received.count(row.id) == 0) ++not_received;
  }
  CHECK(rows.size() >= static_cast<std::size_t>(total));
  CHECK(not_final == 0);
  CHECK(not_received == 0);
  // Every event reached the receiver.
  std::size_t events_missing = 0;
  for (int n = 0; n < total; ++n) {
    if (ids_of.count("mon_" + std::to_string(n)) == 0) ++events_missing;
  }
  CHECK(events_missing == 0);

  // A duplicate is a delivery id received again: the same id, the same event, and only for
  // deliveries that had reached the receiver without being final in the file when a kill came.
  std::size_t duplicates = 0;
  for (const auto& [id, times] : times_received) {
    duplicates += static_cast<std::size_t>(times - 1);
    CHECK(monitor_of[id].size() == 1);
  }
  // An event dispatched again under a new id: killed after dispatch() returned but before the
  // host wrote down its progress; at most one per kill.
  std::size_t redispatched = 0;
  for (const auto& [monitor, ids] : ids_of) redispatched += ids.size() - 1;
  INFO("duplicates " << duplicates << ", exposed at the kills " << exposed << ", events dispatched twice "
                     << redispatched << ", requests " << got.size());
  CHECK(duplicates <= exposed);
  CHECK(redispatched <= static_cast<std::size_t>(kills));
}

#endif
