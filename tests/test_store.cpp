// The durable store: real SQLite files in a temporary folder, real HTTP servers on 127.0.0.1.

#include <statusstack/webhooks/dispatcher.hpp>
#include <statusstack/webhooks/store.hpp>

#include "dispatch/engine.hpp"
#include "support/process.hpp"
#include "support/reports.hpp"
#include "support/servers.hpp"

#include <sqlite3.h>
#include <catch2/catch.hpp>

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <fstream>
#include <mutex>
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

std::vector<StoredDelivery> stored_rows(const std::string& path, const DeliveryQuery& query = {}) {
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

// Waits (at most 10 s) until the Dispatcher has scheduled `n` retries: their attempts are recorded.
bool wait_for_retries(const Dispatcher& dispatcher, std::uint64_t n) {
  for (int i = 0; i < 1000; ++i) {
    if (dispatcher.stats().retries >= n) return true;
    std::this_thread::sleep_for(10ms);
  }
  return false;
}

// A monitor.down delivery to `endpoint` (whose receiver answers 503) tried once and parked by
// shutdown() with its retry 10 minutes away, `attempts` allowed in all: its id.
std::string park_after_one_failure(const std::string& path, Endpoint endpoint, int attempts) {
  Recorder recorder;
  auto options = stored(path, {std::move(endpoint)}, recorder);
  options.retry = quick_retries(attempts, 10min);
  options.retry.max_delay = 10min;
  Dispatcher dispatcher(std::move(options));
  auto accepted = dispatcher.dispatch(example_event(EventType::monitor_down));
  REQUIRE(accepted);
  REQUIRE(wait_for_retries(dispatcher, 1));
  dispatcher.shutdown(0ms);
  return accepted->deliveries[0].delivery_id;
}

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
    REQUIRE(wait_for_retries(dispatcher, 3));
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
  // Each id reached the receiver twice: the failed attempt, then the resumed one, with the same
  // body (read back from the file for the attempt).
  const auto received = delivery_ids_received(receiver.server);
  for (const auto& id : ids) CHECK(received.count(id) == 2);
  for (const auto& request : receiver.server.requests()) {
    CHECK(request.body == to_json(example_event(EventType::incident_created)));
  }
  CHECK(stored_rows(path).empty());
}

TEST_CASE("store: a report is given once the final state is in the file", "[integration][store]") {
  TempDir dir;
  const std::string path = dir.file("deliveries.db");
  Switchable receiver;
  std::mutex mutex;
  std::vector<std::string> seen;  // what another connection saw of each reported delivery
  DispatcherOptions options;
  options.endpoints = {local_endpoint("ok", receiver.server.url()),
                       local_endpoint("bad", receiver.server.url("/bad"))};
  options.retry = quick_retries(1);
  options.store.path = path;
  options.on_report = [&](const DeliveryReport& report) {
    auto file = StoreFile::open(path);
    auto row = file ? file->find(report.delivery_id) : Result<std::optional<StoredDelivery>>(file.error());
    const std::lock_guard<std::mutex> lock(mutex);
    if (!row) {
      seen.push_back(report.endpoint + ": " + row.error().message);
    } else if (!*row) {
      seen.push_back(report.endpoint + ": gone");
    } else {
      seen.push_back(report.endpoint + ": " + to_string((*row)->state) + " " + to_string((*row)->reason));
    }
  };
  receiver.server.set_handler([](const RecordedRequest& request) {
    Reply reply;
    reply.status = request.path == "/bad" ? 400 : 200;
    return reply;
  });
  Dispatcher dispatcher(std::move(options));
  for (int i = 0; i < 5; ++i) REQUIRE(dispatcher.dispatch(example_event(EventType::monitor_recovered)));
  REQUIRE(dispatcher.flush(10s));
  const std::lock_guard<std::mutex> lock(mutex);
  REQUIRE(seen.size() == 10);
  CHECK(std::count(seen.begin(), seen.end(), "ok: gone") == 5);
  CHECK(std::count(seen.begin(), seen.end(), "bad: failed rejected") == 5);
}

TEST_CASE("store: a delivery parked for an endpoint that is gone at the next start ends as endpoint_removed",
          "[integration][store]") {
  TempDir dir;
  const std::string path = dir.file("deliveries.db");
  Switchable receiver;
  receiver.status = 503;
  const std::string id = park_after_one_failure(path, local_endpoint("old", receiver.server.url()), 5);
  Recorder recorder;
  Dispatcher again(stored(path, {local_endpoint("new", receiver.server.url())}, recorder));
  REQUIRE(again.flush(10s));
  const auto reports = recorder.all();
  REQUIRE(reports.size() == 1);
  CHECK(reports[0].delivery_id == id);
  CHECK(reports[0].endpoint == "old");
  CHECK_FALSE(reports[0].delivered);
  CHECK(reports[0].reason == FailureReason::endpoint_removed);
  CHECK(reports[0].attempts == 1);
  CHECK(reports[0].last.status == 503);  // the last outcome survives the restart
  CHECK(reports[0].detail == "HTTP 503");
  const auto failed = stored_rows(path, only(DeliveryState::failed));
  REQUIRE(failed.size() == 1);
  CHECK(failed[0].id == id);
  CHECK(failed[0].reason == FailureReason::endpoint_removed);
  CHECK(receiver.server.request_count() == 1);  // nothing more was sent
}

TEST_CASE("store: a damaged row's out-of-range times and attempt count are read within bounds",
          "[integration][store]") {
  TempDir dir;
  const std::string path = dir.file("deliveries.db");
  Switchable receiver;
  receiver.status = 503;
  const std::string id = park_after_one_failure(path, local_endpoint("ops", receiver.server.url()), 3);
  // What a damaged file may hold: times no clock can represent, a count at the int's limit.
  run_sql(path,
          "UPDATE deliveries SET attempts = 2147483647, accepted_at = 9223372036854775807, "
          "last_attempt_at = -9223372036854775808, due_at = 0");

  // Read within half the clock's range each way (years 1823 to 2116), not wrapped around.
  const auto rows = stored_rows(path);
  REQUIRE(rows.size() == 1);
  using std::chrono::system_clock;
  const system_clock::time_point year_2100(std::chrono::hours(24 * 47482));
  const system_clock::time_point year_1900(std::chrono::hours(24 * -25567));
  CHECK(rows[0].accepted_at > year_2100);
  CHECK(rows[0].last_attempt_at < year_1900);
  CHECK(rows[0].last_attempt_at > system_clock::time_point::min());

  // Resumed with every attempt spent: one more, then it fails, instead of a count that wraps.
  Recorder recorder;
  auto options = stored(path, {local_endpoint("ops", receiver.server.url())}, recorder);
  Dispatcher again(std::move(options));
  REQUIRE(again.flush(10s));
  const auto reports = recorder.all();
  REQUIRE(reports.size() == 1);
  CHECK(reports[0].delivery_id == id);
  CHECK(reports[0].reason == FailureReason::attempts_exhausted);
  CHECK(receiver.server.request_count() == 2);
}

TEST_CASE("store: max_age counts from acceptance across a restart", "[integration][store]") {
  TempDir dir;
  const std::string path = dir.file("deliveries.db");
  Switchable receiver;
  receiver.status = 503;
  const std::string id = park_after_one_failure(path, local_endpoint("ops", receiver.server.url()), 5);
  // The host stays down for 25 hours (max_age is 24 h): accepted, and due, 25 hours ago.
  run_sql(path,
          "UPDATE deliveries SET accepted_at = accepted_at - 90000000, budget_from = budget_from - "
          "90000000, due_at = 0");
  receiver.status = 200;
  Recorder recorder;
  Dispatcher again(stored(path, {local_endpoint("ops", receiver.server.url())}, recorder));
  REQUIRE(again.flush(10s));
  const auto reports = recorder.all();
  REQUIRE(reports.size() == 1);
  CHECK(reports[0].delivery_id == id);
  CHECK(reports[0].reason == FailureReason::too_old);
  CHECK(reports[0].latency >= 25h);
  CHECK(receiver.server.request_count() == 1);
}

TEST_CASE("store: a second Dispatcher on the same file is refused, in this process and in another",
          "[integration][store]") {
  TempDir dir;
  const std::string path = dir.file("deliveries.db");
  Recorder recorder;
  Dispatcher owner(stored(path, {}, recorder));
  const std::string expected = "store " + path +
                               ": in use by another Dispatcher (in this process or another); one Dispatcher "
                               "owns a store file at a time";
  try {
    Dispatcher second(stored(path, {}, recorder));
    FAIL("the second Dispatcher opened the file");
  } catch (const ConfigError& error) {
    CHECK(error.error().code == ErrorCode::store_error);
    CHECK(std::string(error.what()) == expected);
  }
  const auto other = run_process({SSW_STORE_CRASH_CHILD, "open", path});
  CHECK(other.exit_code == 3);
  CHECK(other.out == "store_error: " + expected + "\n");
  // Reading is still allowed.
  auto file = StoreFile::open(path);
  REQUIRE(file);
  CHECK(file->counts()->pending == 0);
  // Once the owner shuts down, the file is free.
  owner.shutdown();
  const auto after = run_process({SSW_STORE_CRASH_CHILD, "open", path});
  CHECK(after.out == "opened\n");
}

TEST_CASE("store: a damaged, read-only or locked file is refused at open with a clear error",
          "[integration][store]") {
  TempDir dir;
  Recorder recorder;
  auto open_error = [&](const std::string& path) -> Error {
    try {
      Dispatcher dispatcher(stored(path, {}, recorder));
    } catch (const ConfigError& error) {
      return error.error();
    }
    return Error{ErrorCode::invalid_value, "opened", ""};
  };
  SECTION("not a database") {
    const std::string path = dir.write("garbage.db", std::string(4096, 'x'));
    const Error error = open_error(path);
    CHECK(error.code == ErrorCode::store_error);
    CHECK(error.message ==
          "store " + path +
              ": cannot be read: file is not a database (the file is damaged or is not a store)");
  }
  SECTION("a store whose pages are damaged") {
    const std::string path = dir.file("damaged.db");
    { Dispatcher dispatcher(stored(path, {local_endpoint("ops", RefusedPort().url())}, recorder)); }
    // Overwrite everything after the header page: the schema's pages are noise now.
    std::fstream file(path, std::ios::in | std::ios::out | std::ios::binary);
    file.seekp(4096);
    const std::string noise(8192, '\x5a');
    file.write(noise.data(), static_cast<std::streamsize>(noise.size()));
    file.close();
    const Error error = open_error(path);
    CHECK(error.code == ErrorCode::store_error);
    CHECK(error.message.rfind("store " + path + ": ", 0) == 0);
    CHECK(error.message.find("(the file is damaged or is not a store)") != std::string::npos);
  }
  SECTION("locked by another connection") {
    const std::string path = dir.file("locked.db");
    { Dispatcher dispatcher(stored(path, {}, recorder)); }
    sqlite3* holder = nullptr;
    REQUIRE(sqlite3_open(path.c_str(), &holder) == SQLITE_OK);
    REQUIRE(sqlite3_exec(holder, "BEGIN EXCLUSIVE", nullptr, nullptr, nullptr) == SQLITE_OK);
    const Error error = open_error(path);
    sqlite3_exec(holder, "ROLLBACK", nullptr, nullptr, nullptr);
    sqlite3_close(holder);
    CHECK(error.code == ErrorCode::store_error);
    CHECK(error.message.rfind("store " + path + ": ", 0) == 0);
    CHECK(error.message.find("database is locked (another connection holds a lock on the file)") !=
          std::string::npos);
  }
  SECTION("read-only") {
    // As root, permissions do not stop a write: the opener runs as nobody then.
    const std::string folder = dir.file("ro");
    REQUIRE(::mkdir(folder.c_str(), 0755) == 0);
    const std::string path = folder + "/deliveries.db";
    { Dispatcher dispatcher(stored(path, {}, recorder)); }
    REQUIRE(::chmod(dir.file("").c_str(), 0755) == 0);
    REQUIRE(::chmod(path.c_str(), 0444) == 0);
    std::vector<std::string> argv{SSW_STORE_CRASH_CHILD, "open", path};
    if (::geteuid() == 0) {
      argv.insert(argv.begin(), {"setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"});
    }
    SECTION("a read-only folder") {
      REQUIRE(::chmod(folder.c_str(), 0555) == 0);
      const auto result = run_process(argv);
      REQUIRE(::chmod(folder.c_str(), 0755) == 0);
      INFO(result.err);
      CHECK(result.exit_code == 3);
      CHECK(result.out == "store_error: store " + path + ": cannot open its lock file " + path +
                              ".lock: Permission denied\n");
    }
    SECTION("a read-only file") {
      REQUIRE(::chmod((path + ".lock").c_str(), 0666) == 0);
      REQUIRE(::chmod(folder.c_str(), 0777) == 0);
      const auto result = run_process(argv);
      INFO(result.err);
      CHECK(result.exit_code == 3);
      CHECK(result.out == "store_error: store " + path +
                              ": cannot be written: the file is read-only (check that the file and its "
                              "folder are writable)\n");
    }
  }
}

TEST_CASE("store: a full store refuses dispatch() with store_error and accepts nothing of that call",
          "[integration][store]") {
  TempDir dir;
  const std::string path = dir.file("small.db");
  Switchable receiver;
  receiver.status = 503;  // nothing leaves the file
  Recorder recorder;
  auto options = stored(path, {local_endpoint("ops", receiver.server.url())}, recorder);
  options.retry = quick_retries(5, 10min);
  options.retry.max_delay = 10min;
  options.store.max_bytes = std::uint64_t{64} * 1024;
  Dispatcher dispatcher(std::move(options));
  std::set<std::string> accepted_ids;
  std::optional<Error> refusal;
  for (int i = 0; i < 1000 && !refusal; ++i) {
    auto accepted = dispatcher.dispatch(example_event(EventType::incident_updated));
    if (accepted) {
      accepted_ids.insert(accepted->deliveries[0].delivery_id);
    } else {
      refusal = accepted.error();
    }
  }
  REQUIRE(refusal);
  CHECK(refusal->code == ErrorCode::store_error);
  CHECK(refusal->message ==
        "store " + path +
            ": cannot keep a delivery: database or disk is full (the disk is full, or the "
            "store's max_bytes is reached)");
  CHECK(accepted_ids.size() > 10);
  const DispatcherStats stats = dispatcher.stats();
  CHECK(stats.accepted == accepted_ids.size());
  CHECK(stats.refused_calls == 1);
  // Exactly what was accepted is in the file: the refused call left nothing.
  std::set<std::string> kept;
  for (const auto& row : stored_rows(path)) kept.insert(row.id);
  CHECK(kept == accepted_ids);
  dispatcher.shutdown(0ms);
  CHECK(recorder.count() == 0);
}

TEST_CASE("store: failed deliveries are kept and can be redelivered by id or by filter, with the same id",
          "[integration][store]") {
  TempDir dir;
  const std::string path = dir.file("deliveries.db");
  Switchable receiver;
  receiver.status = 400;  // rejected: final at once
  Switchable other;
  other.status = 400;
  Recorder recorder;
  Dispatcher dispatcher(stored(
      path,
      {local_endpoint("a", receiver.server.url()), local_endpoint("b", other.server.url(), {"incident.*"})},
      recorder));
  std::vector<std::string> a_ids;
  for (int i = 0; i < 3; ++i) {
    auto accepted = dispatcher.dispatch(example_event(EventType::incident_created));
    REQUIRE(accepted);
    REQUIRE(accepted->deliveries.size() == 2);
    a_ids.push_back(accepted->deliveries[0].delivery_id);
  }
  REQUIRE(dispatcher.flush(10s));
  REQUIRE(recorder.count() == 6);

  DeliveryQuery dead = only(DeliveryState::failed);
  auto letters = dispatcher.deliveries(dead);
  REQUIRE(letters);
  REQUIRE(letters->size() == 6);
  const StoredDelivery& first = (*letters)[0];
  CHECK(first.id == a_ids[0]);
  CHECK(first.reason == FailureReason::rejected);
  CHECK(first.attempts == 1);
  CHECK(first.last_status == 400);
  CHECK(first.last_error == "HTTP 400");
  CHECK(first.detail == "HTTP 400");
  CHECK(first.event == EventType::incident_created);
  CHECK(first.finished_at >= first.accepted_at);

  receiver.status = 200;
  other.status = 200;
  // By id: one of them, and ids that are not dead letters are skipped.
  auto one = dispatcher.redeliver(std::vector<std::string>{a_ids[1], "dlv_unknown"});
  REQUIRE(one);
  CHECK(*one == 1);
  REQUIRE(dispatcher.flush(10s));
  auto reports = recorder.all();
  REQUIRE(reports.size() == 7);
  CHECK(reports[6].delivery_id == a_ids[1]);
  CHECK(reports[6].delivered);
  CHECK(reports[6].attempts == 1);  // a fresh budget
  CHECK(delivery_ids_received(receiver.server).count(a_ids[1]) == 2);

  // By filter: endpoint b's rejected ones.
  DeliveryQuery filter;
  filter.endpoint = "b";
  filter.reason = FailureReason::rejected;
  auto some = dispatcher.redeliver(filter);
  REQUIRE(some);
  CHECK(*some == 3);
  REQUIRE(dispatcher.flush(10s));
  CHECK(recorder.count() == 10);
  CHECK(other.server.request_count() == 6);
  auto left = dispatcher.deliveries(dead);
  REQUIRE(left);
  REQUIRE(left->size() == 2);  // a's first and third
  CHECK((*left)[0].id == a_ids[0]);
  CHECK((*left)[1].id == a_ids[2]);
  CHECK(dispatcher.stats().redelivered == 4);

  // StoreFile refuses to redeliver while the Dispatcher owns the file.
  auto file = StoreFile::open(path);
  REQUIRE(file);
  auto refused = file->redeliver(std::vector<std::string>{a_ids[0]});
  REQUIRE_FALSE(refused);
  CHECK(refused.error().code == ErrorCode::store_error);
  CHECK(refused.error().message == "store " + path +
                                       ": in use by another Dispatcher (in this process or another); one "
                                       "Dispatcher owns a store file at a "
                                       "time (redeliver through that Dispatcher, or stop it first)");
  dispatcher.shutdown();
  // Without an owner it can: the rows are pending again, for the next start.
  auto taken = file->redeliver(std::vector<std::string>{a_ids[0]});
  REQUIRE(taken);
  CHECK(*taken == 1);
  CHECK(file->counts()->pending == 1);
}

TEST_CASE("store: failed and delivered records are pruned after their retention", "[integration][store]") {
  TempDir dir;
  const std::string path = dir.file("deliveries.db");
  Switchable receiver;
  Recorder recorder;
  auto options = stored(
      path, {local_endpoint("ok", receiver.server.url()), local_endpoint("bad", receiver.server.url("/bad"))},
      recorder);
  options.retry = quick_retries(1);
  options.store.failed_retention = 48h;
  options.store.delivered_retention = 1h;
  receiver.server.set_handler([](const RecordedRequest& request) {
    Reply reply;
    reply.status = request.path == "/bad" ? 400 : 200;
    return reply;
  });
  statusstack::webhooks::detail::Engine engine(std::move(options),
                                               statusstack::webhooks::detail::EngineParts{});
  for (int i = 0; i < 4; ++i) REQUIRE(engine.dispatch(example_event(EventType::monitor_down)));
  REQUIRE(engine.flush(10s));
  CHECK(stored_rows(path, only(DeliveryState::delivered)).size() == 4);
  CHECK(stored_rows(path, only(DeliveryState::failed)).size() == 4);
  for (const auto& row : stored_rows(path, only(DeliveryState::delivered))) CHECK(row.event_json.empty());

  // Two hours later the delivered records go; the failed ones stay for two days.
  run_sql(path, "UPDATE deliveries SET finished_at = finished_at - 7200000");
  engine.prune();
  CHECK(stored_rows(path, only(DeliveryState::delivered)).empty());
  CHECK(stored_rows(path, only(DeliveryState::failed)).size() == 4);
  run_sql(path,
          "UPDATE deliveries SET finished_at = finished_at - 172800000 WHERE seq IN (SELECT seq FROM "
          "deliveries WHERE state = 1 ORDER BY seq LIMIT 2)");
  engine.prune();
  CHECK(stored_rows(path, only(DeliveryState::failed)).size() == 2);
}

TEST_CASE("store: an endpoint paused by 410 Gone stays paused across a restart until it is replaced",
          "[integration][store]") {
  TempDir dir;
  const std::string path = dir.file("deliveries.db");
  Switchable receiver;
  receiver.status = 410;
  {
    Recorder recorder;
    Dispatcher dispatcher(stored(path, {local_endpoint("ops", receiver.server.url())}, recorder));
    REQUIRE(dispatcher.dispatch(example_event(EventType::monitor_down)));
    REQUIRE(dispatcher.flush(10s));
    REQUIRE(recorder.all().at(0).reason == FailureReason::receiver_gone);
  }
  auto file = StoreFile::open(path);
  REQUIRE(file);
  CHECK(file->counts()->paused_endpoints == std::vector<std::string>{"ops"});

  receiver.status = 200;
  Recorder recorder;
  Dispatcher again(stored(path, {local_endpoint("ops", receiver.server.url())}, recorder));
  REQUIRE(again.dispatch(example_event(EventType::monitor_down)));
  REQUIRE(again.flush(10s));
  REQUIRE(recorder.count() == 1);
  CHECK(recorder.all()[0].reason == FailureReason::receiver_gone);
  CHECK(recorder.all()[0].attempts == 0);
  CHECK(receiver.server.request_count() == 1);

  again.upsert_endpoint(local_endpoint("ops", receiver.server.url()));  // replaced: resumed
  REQUIRE(again.dispatch(example_event(EventType::monitor_down)));
  REQUIRE(again.flush(10s));
  REQUIRE(recorder.count() == 2);
  CHECK(recorder.all()[1].delivered);
  again.shutdown();
  CHECK(file->counts()->paused_endpoints.empty());
}

TEST_CASE("store: dispatch_many accepts a batch whole or not at all", "[integration][store]") {
  TempDir dir;
  const std::string path = dir.file("deliveries.db");
  Switchable receiver;
  receiver.status = 503;
  Recorder recorder;
  auto options = stored(path, {local_endpoint("ops", receiver.server.url(), {"monitor.*"})}, recorder);
  options.retry = quick_retries(5, 10min);
  options.retry.max_delay = 10min;
  Dispatcher dispatcher(std::move(options));

  std::vector<Event> batch{example_event(EventType::monitor_down), example_event(EventType::incident_created),
                           example_event(EventType::monitor_recovered)};
  auto accepted = dispatcher.dispatch_many(batch);
  REQUIRE(accepted);
  REQUIRE(accepted->size() == 3);
  CHECK((*accepted)[0].deliveries.size() == 1);
  CHECK((*accepted)[1].deliveries.empty());  // no endpoint takes incidents
  CHECK((*accepted)[2].deliveries.size() == 1);
  CHECK(stored_rows(path).size() == 2);

  auto broken = std::get<MonitorDown>(example_event(EventType::monitor_down));
  broken.monitor.id.clear();
  batch.push_back(broken);
  auto refused = dispatcher.dispatch_many(batch);
  REQUIRE_FALSE(refused);
  CHECK(refused.error().code == ErrorCode::invalid_value);
  CHECK(refused.error().field == "events[3].monitor.id");
  CHECK(refused.error().message.rfind("events[3]: ", 0) == 0);
  CHECK(refused.error().message.find("(no event of the batch was accepted)") != std::string::npos);
  CHECK(stored_rows(path).size() == 2);
  CHECK(dispatcher.stats().accepted == 2);
  dispatcher.shutdown(0ms);
}

TEST_CASE("store: an attempt that fails during shutdown() is parked with its retry's due time, not failed",
          "[integration][store]") {
  TempDir dir;
  const std::string path = dir.file("deliveries.db");
  HttpTestServer slow([](const RecordedRequest&) {
    Reply reply;
    reply.status = 503;
    reply.delay = 500ms;
    return reply;
  });
  Recorder recorder;
  auto options = stored(path, {local_endpoint("ops", slow.url())}, recorder);
  options.retry = quick_retries(5, 10s);
  options.retry.max_delay = 10s;
  Dispatcher dispatcher(std::move(options));
  auto accepted = dispatcher.dispatch(example_event(EventType::monitor_down));
  REQUIRE(accepted);
  REQUIRE(slow.wait_for_requests(1, 10s));
  const auto before = std::chrono::system_clock::now();
  dispatcher.shutdown(2s);  // the answer comes within it; the retry would not
  CHECK(recorder.count() == 0);
  CHECK(dispatcher.stats().parked == 1);
  const auto rows = stored_rows(path, only(DeliveryState::pending));
  REQUIRE(rows.size() == 1);
  CHECK(rows[0].id == accepted->deliveries[0].delivery_id);
  CHECK(rows[0].attempts == 1);
  CHECK(rows[0].last_status == 503);
  CHECK(rows[0].next_attempt_at >= before + 9s);
}

TEST_CASE("store: another program's SQLite database is not taken for a store", "[integration][store]") {
  TempDir dir;
  const std::string path = dir.file("theirs.db");
  run_sql(path, "CREATE TABLE accounts (id INTEGER PRIMARY KEY, name TEXT)");
  Recorder recorder;
  try {
    Dispatcher dispatcher(stored(path, {}, recorder));
    FAIL("opened another program's database");
  } catch (const ConfigError& error) {
    CHECK(error.error().code == ErrorCode::store_error);
    CHECK(std::string(error.what()) ==
          "store " + path + ": is another program's database (it has tables and no store schema)");
  }
  auto theirs = StoreFile::open(path);
  REQUIRE_FALSE(theirs);
  CHECK(theirs.error().message ==
        "store " + path + ": is another program's database (it has tables and no store schema)");
}
