// The durable store: real SQLite files in a temporary folder, real HTTP servers on 127.0.0.1.

#include <statusstack/webhooks/dispatcher.hpp>
#include <statusstack/webhooks/store.hpp>

#include "dispatch/engine.hpp"
#include "support/reports.hpp"
#include "support/servers.hpp"

#include <sqlite3.h>
#include <catch2/catch.hpp>

#include <atomic>
#include <fstream>
#include <set>
#include <thread>

using namespace statusstack::webhooks;
using namespace statusstack::webhooks::testing;
using namespace std::chrono_literals;

namespace {

DispatcherOptions stored(const std::string& path, std::vector<Endpoint> endpoints, Recorder& recorder) {
  DispatcherOptions options;
  options.endpoints = std::move(endpoints);
  options.retry = quick_retries(3);
  options.store.path = path;
  recorder.install(options);
  return options;
}

// Runs SQL on a store file behind the Dispatcher's back (time travel, inspection).
void run_sql(const std::string& path, const std::string& sql) {
  sqlite3* db = nullptr;
  REQUIRE(sqlite3_open(path.c_str(), &db) == SQLITE_OK);
  char* message = nullptr;
  const int rc = sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &message);
  const std::string text = message ? message : "";
  sqlite3_free(message);
  sqlite3_close(db);
  INFO(text);
  REQUIRE(rc == SQLITE_OK);
}

DeliveryQuery only(DeliveryState state) {
  DeliveryQuery query;
  query.state = state;
  return query;
}

std::vector<StoredDelivery> stored_rows(const std::string& path, DeliveryQuery query = {}) {
  auto file = StoreFile::open(path);
  REQUIRE(file);
  auto rows = file->list(query);
  REQUIRE(rows);
  return *rows;
}

// A receiver whose answer the test changes while it runs.
struct Switchable {
  std::atomic<int> status{200};
  HttpTestServer server{[this](const RecordedRequest&) {
    Reply reply;
    reply.status = status.load();
    return reply;
  }};
};

std::multiset<std::string> delivery_ids_received(const HttpTestServer& server) {
  std::multiset<std::string> ids;
  for (const auto& request : server.requests()) {
    for (const auto& [name, value] : request.headers) {
      if (name == "X-StatusStack-Delivery") ids.insert(value);
    }
  }
  return ids;
}

}  // namespace

TEST_CASE("store: dispatch() returns once its deliveries are in the file, and a delivered one leaves it",
          "[integration][store]") {
  TempDir dir;
  const std::string path = dir.file("deliveries.db");
  Switchable receiver;
  receiver.status = 503;
  Recorder recorder;
  Dispatcher dispatcher(stored(path, {local_endpoint("ops", receiver.server.url())}, recorder));

  auto accepted = dispatcher.dispatch(example_event(EventType::monitor_down));
  REQUIRE(accepted);
  REQUIRE(accepted->deliveries.size() == 1);
  const std::string id = accepted->deliveries[0].delivery_id;
  // Read by another connection the moment dispatch() returned: committed.
  const auto pending = stored_rows(path, only(DeliveryState::pending));
  REQUIRE(pending.size() == 1);
  CHECK(pending[0].id == id);
  CHECK(pending[0].endpoint == "ops");
  CHECK(pending[0].event == EventType::monitor_down);
  CHECK(pending[0].event_json == to_json(example_event(EventType::monitor_down)));

  receiver.status = 200;
  REQUIRE(dispatcher.flush(10s));
  REQUIRE(recorder.count() == 1);
  CHECK(recorder.all()[0].delivered);
  CHECK(stored_rows(path).empty());  // removed at completion (delivered_retention 0)
}

TEST_CASE("store: shutdown() parks what is not final, and the next Dispatcher on the file resumes it",
          "[integration][store]") {
  TempDir dir;
  const std::string path = dir.file("deliveries.db");
  Switchable receiver;
  receiver.status = 503;
  std::set<std::string> ids;
  {
    Recorder recorder;
    auto options = stored(path, {local_endpoint("ops", receiver.server.url())}, recorder);
    options.retry = quick_retries(5, 10min);  // the first attempt fails; the next is far away
    options.retry.max_delay = 10min;
    Dispatcher dispatcher(std::move(options));
    for (int i = 0; i < 3; ++i) {
      auto accepted = dispatcher.dispatch(example_event(EventType::incident_created));
      REQUIRE(accepted);
      ids.insert(accepted->deliveries[0].delivery_id);
    }
    REQUIRE(receiver.server.wait_for_requests(3, 10s));
    dispatcher.shutdown(0ms);
    CHECK(recorder.count() == 0);  // parked: no failure report
    CHECK(dispatcher.stats().parked == 3);
  }
  const auto parked = stored_rows(path, only(DeliveryState::pending));
  REQUIRE(parked.size() == 3);
  for (const auto& row : parked) {
    CHECK(row.attempts == 1);
    CHECK(row.last_status == 503);
    CHECK(row.next_attempt_at > std::chrono::system_clock::now() + 9min);  // the retry's schedule is kept
  }
  run_sql(path, "UPDATE deliveries SET due_at = 0");  // ten minutes pass while nothing runs

  receiver.status = 200;
  Recorder recorder;
  Dispatcher again(stored(path, {local_endpoint("ops", receiver.server.url())}, recorder));
  CHECK(again.stats().recovered == 3);
  REQUIRE(again.flush(10s));
  const auto reports = recorder.all();
  REQUIRE(reports.size() == 3);
  std::set<std::string> reported;
  for (const auto& report : reports) {
    CHECK(report.delivered);
    CHECK(report.attempts == 2);  // the count goes on across the restart
    reported.insert(report.delivery_id);
  }
  CHECK(reported == ids);
  // Each id reached the receiver twice: the failed attempt, then the resumed one.
  const auto received = delivery_ids_received(receiver.server);
  for (const auto& id : ids) CHECK(received.count(id) == 2);
  CHECK(stored_rows(path).empty());
}
