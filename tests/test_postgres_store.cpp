// Dispatchers on the shared PostgreSQL queue (src/store/pg_store.cpp): in this process, and as
// separate processes (pg_instance_child.cpp) killed with SIGKILL or stopped with SIGSTOP. Every
// test has its own server on 127.0.0.1 (tests/support/postgres_server) and receivers on loopback.

#include <statusstack/webhooks/postgres.hpp>

#include "support/host_connection.hpp"
#include "support/postgres_server.hpp"
#include "support/process.hpp"
#include "support/reports.hpp"
#include "support/servers.hpp"

#include <libpq-fe.h>
#include <catch2/catch.hpp>

#include <algorithm>
#include <atomic>
#include <csignal>
#include <map>
#include <set>
#include <sstream>
#include <thread>

using namespace statusstack::webhooks;
using namespace statusstack::webhooks::testing;
using namespace std::chrono_literals;

namespace {

// A private server with one database, and Dispatcher options on its queue.
struct SharedQueue {
  explicit SharedQueue(const std::string& name) : database(name), uri(server.create_database(name)) {}

  DispatcherOptions options(const std::string& url, postgres::QueueSettings settings = {}) const {
    DispatcherOptions made;
    made.endpoints.push_back(local_endpoint("receiver", url));
    made.retry = quick_retries(5);
    settings.conninfo = uri;
    settings.poll = 100ms;
    made.store = postgres::store(settings);
    made.store.delivered_retention = std::chrono::hours(24);
    return made;
  }
  std::string sql(const std::string& statements) const { return server.sql(statements, database); }

  PostgresServer server;
  std::string database;
  std::string uri;
};

Event numbered_event(int n) {
  auto down = std::get<MonitorDown>(example_event(EventType::monitor_down));
  down.monitor.id = "mon_" + std::to_string(n);
  return down;
}

std::string header(const RecordedRequest& request, const std::string& name) {
  for (const auto& [key, value] : request.headers) {
    if (key == name) return value;
  }
  return {};
}

std::string delivery_id(const RecordedRequest& request) { return header(request, "X-StatusStack-Delivery"); }

// "mon_<n>" of the event a request carried.
std::string monitor_of(const RecordedRequest& request) {
  const auto at = request.body.find("\"mon_");
  if (at == std::string::npos) return {};
  return request.body.substr(at + 1, request.body.find('"', at + 1) - at - 1);
}

// `count` numbered events, from 0.
std::vector<Event> numbered_events(int count) {
  std::vector<Event> events;
  events.reserve(static_cast<std::size_t>(count));
  for (int n = 0; n < count; ++n) events.push_back(numbered_event(n));
  return events;
}

}  // namespace

TEST_CASE("a Dispatcher on the PostgreSQL queue delivers what it accepted, signed, and keeps the record",
          "[integration][postgres]") {
  const SharedQueue queue("one_instance");
  HttpTestServer receiver;
  Recorder recorder;
  DispatcherOptions options = queue.options(receiver.url());
  recorder.install(options);
  Dispatcher dispatcher(std::move(options));
  std::set<std::string> accepted;
  for (int n = 0; n < 50; ++n)
    accepted.insert(dispatcher.dispatch(numbered_event(n))->deliveries.at(0).delivery_id);
  REQUIRE(dispatcher.flush(30s));
  std::set<std::string> received;
  for (const auto& request : receiver.requests()) {
    received.insert(delivery_id(request));
    CHECK(header(request, "X-StatusStack-Signature").size() == 64);
  }
  CHECK(received == accepted);
  CHECK(recorder.count() == 50);
  const DispatcherStats stats = dispatcher.stats();
  CHECK(stats.accepted == 50);
  CHECK(stats.claimed == 50);
  CHECK(stats.delivered == 50);
  CHECK(queue.sql("SELECT state, count(*) FROM statusstack_deliveries GROUP BY state") == "2|50\n");
  DeliveryQuery delivered;
  delivered.state = DeliveryState::delivered;
  CHECK(dispatcher.deliveries(delivered)->size() == 50);
}

TEST_CASE("two Dispatchers share the deliveries one of them accepted: each is delivered once",
          "[integration][postgres]") {
  const SharedQueue queue("two_instances");
  HttpTestServer receiver;
  postgres::QueueSettings small;
  small.claim_batch = 10;
  small.max_claimed = 20;  // neither takes everything at once
  Recorder reports_a, reports_b;
  DispatcherOptions a_options = queue.options(receiver.url(), small);
  DispatcherOptions b_options = queue.options(receiver.url(), small);
  reports_a.install(a_options);
  reports_b.install(b_options);
  Dispatcher a(std::move(a_options));
  Dispatcher b(std::move(b_options));
  REQUIRE(a.dispatch_many(numbered_events(400)));
  REQUIRE(a.flush(60s));
  REQUIRE(b.flush(10s));
  std::map<std::string, int> times;
  for (const auto& request : receiver.requests()) ++times[delivery_id(request)];
  CHECK(times.size() == 400);
  CHECK(std::all_of(times.begin(), times.end(), [](const auto& entry) { return entry.second == 1; }));
  CHECK(reports_a.count() + reports_b.count() == 400);
  CHECK(b.stats().claimed > 0);  // the instance that accepted nothing delivered its share
  CHECK(b.stats().accepted == 0);
}

TEST_CASE("a retry goes back to the queue as a pending row, due at its time, with its attempt count",
          "[integration][postgres]") {
  const SharedQueue queue("retries");
  std::atomic<int> calls{0};
  HttpTestServer receiver([&](const RecordedRequest&) {
    return Reply{calls.fetch_add(1) == 0 ? 503 : 200, {}, {}, 0ms};
  });
  Recorder recorder;
  DispatcherOptions options = queue.options(receiver.url());
  options.retry = quick_retries(3, 600ms);
  recorder.install(options);
  Dispatcher dispatcher(std::move(options));
  const std::string id = dispatcher.dispatch(numbered_event(1))->deliveries.at(0).delivery_id;
  REQUIRE(receiver.wait_for_requests(1, 10s));
  // Between the attempts the row waits in the queue, unclaimed, with the first attempt's outcome.
  std::string waiting;
  for (int i = 0; i < 50 && waiting.empty(); ++i) {
    waiting = queue.sql(
        "SELECT state, attempts, last_status, owner FROM statusstack_deliveries WHERE due_at > "
        "(extract(epoch from now()) * 1000)::bigint + 100");
    if (waiting.empty()) std::this_thread::sleep_for(20ms);
  }
  CHECK(waiting == "0|1|503|\n");
  REQUIRE(dispatcher.flush(10s));
  const auto reports = recorder.all();
  REQUIRE(reports.size() == 1);
  CHECK(reports[0].delivered);
  CHECK(reports[0].attempts == 2);
  CHECK(reports[0].delivery_id == id);
  const auto requests = receiver.requests();
  REQUIRE(requests.size() == 2);
  CHECK(delivery_id(requests[1]) == id);
  CHECK(requests[1].received_at - requests[0].received_at >= 550ms);
}

TEST_CASE("deliveries of an ordered endpoint go one at a time, in order, across two instances",
          "[integration][postgres]") {
  const SharedQueue queue("ordered");
  std::atomic<int> on_the_wire{0}, most{0};
  HttpTestServer receiver([&](const RecordedRequest&) {
    const int now = on_the_wire.fetch_add(1) + 1;
    int seen = most.load();
    while (now > seen && !most.compare_exchange_weak(seen, now)) {
    }
    std::this_thread::sleep_for(2ms);
    on_the_wire.fetch_sub(1);
    return Reply{};
  });
  DispatcherOptions a_options = queue.options(receiver.url());
  DispatcherOptions b_options = queue.options(receiver.url());
  a_options.endpoints[0].ordered = true;
  b_options.endpoints[0].ordered = true;
  Dispatcher a(std::move(a_options));
  Dispatcher b(std::move(b_options));
  for (int n = 0; n < 60; ++n) REQUIRE((n % 2 == 0 ? a : b).dispatch(numbered_event(n)));
  REQUIRE(a.flush(60s));
  const auto requests = receiver.requests();
  REQUIRE(requests.size() == 60);
  for (int n = 0; n < 60; ++n)
    CHECK(monitor_of(requests[static_cast<std::size_t>(n)]) == "mon_" + std::to_string(n));
  CHECK(most.load() == 1);
  CHECK(a.stats().claimed > 0);
  CHECK(b.stats().claimed > 0);
}

TEST_CASE("the transactional outbox: a committed webhook is delivered, a rolled-back one is never sent",
          "[integration][postgres]") {
  const SharedQueue queue("outbox");
  HttpTestServer receiver;
  Dispatcher dispatcher(queue.options(receiver.url()));  // creates the schema
  const std::vector<Endpoint> endpoints = dispatcher.endpoints();
  HostConnection host(queue.uri);
  host.exec("CREATE TABLE incidents (id text PRIMARY KEY)");

  host.exec("BEGIN");
  host.exec("INSERT INTO incidents VALUES ('inc_rolled_back')");
  auto rolled_back = postgres::enqueue(host.connection, numbered_event(1), endpoints);
  REQUIRE(rolled_back);
  REQUIRE(rolled_back->deliveries.size() == 1);
  host.exec("ROLLBACK");

  host.exec("BEGIN");
  host.exec("INSERT INTO incidents VALUES ('inc_committed')");
  auto committed = postgres::enqueue(host.connection, numbered_event(2), endpoints);
  REQUIRE(committed);
  host.exec("COMMIT");

  REQUIRE(dispatcher.flush(20s));
  const auto requests = receiver.requests();
  REQUIRE(requests.size() == 1);
  CHECK(delivery_id(requests[0]) == committed->deliveries[0].delivery_id);
  CHECK(monitor_of(requests[0]) == "mon_2");
  CHECK(queue.sql("SELECT count(*) FROM statusstack_deliveries WHERE id = '" +
                  rolled_back->deliveries[0].delivery_id + "'") == "0\n");

  // Outside a transaction the outbox refuses, and says why.
  auto outside = postgres::enqueue(host.connection, numbered_event(3), endpoints);
  REQUIRE_FALSE(outside);
  CHECK(outside.error().code == ErrorCode::store_error);
  CHECK(outside.error().message ==
        "postgresql: enqueue_in needs the host's connection inside a transaction (BEGIN first): outside one "
        "the deliveries would not share the fate of the host's own writes");
  // An event a receiver would reject is refused before anything is written.
  host.exec("BEGIN");
  auto invalid_event = std::get<MonitorDown>(numbered_event(4));
  invalid_event.monitor.id.clear();
  auto invalid = postgres::enqueue(host.connection, invalid_event, endpoints);
  REQUIRE_FALSE(invalid);
  CHECK(invalid.error().code == ErrorCode::invalid_value);
  CHECK(invalid.error().field == "monitor.id");
  host.exec("ROLLBACK");
}

TEST_CASE("a dead letter on the queue is listed and redelivered with its id", "[integration][postgres]") {
  const SharedQueue queue("dead_letters");
  std::atomic<int> calls{0};
  HttpTestServer receiver([&](const RecordedRequest&) {
    return Reply{calls.fetch_add(1) == 0 ? 400 : 200, {}, "no such monitor", 0ms};
  });
  Dispatcher dispatcher(queue.options(receiver.url()));
  const std::string id = dispatcher.dispatch(numbered_event(1))->deliveries.at(0).delivery_id;
  REQUIRE(dispatcher.flush(10s));
  DeliveryQuery failed;
  failed.state = DeliveryState::failed;
  const auto dead = dispatcher.deliveries(failed);
  REQUIRE(dead);
  REQUIRE(dead->size() == 1);
  CHECK(dead->at(0).id == id);
  CHECK(dead->at(0).reason == FailureReason::rejected);
  CHECK(dead->at(0).detail == "HTTP 400: no such monitor");
  CHECK(*dispatcher.redeliver(failed) == 1);
  REQUIRE(dispatcher.flush(10s));
  REQUIRE(receiver.request_count() == 2);
  CHECK(delivery_id(receiver.requests()[1]) == id);
  auto admin = postgres::QueueAdmin::open(queue.uri);
  REQUIRE(admin);
  const auto counts = admin->counts();
  REQUIRE(counts);
  CHECK(counts->delivered == 1);
  CHECK(counts->failed == 0);
}

TEST_CASE("an endpoint paused by a 410 on one instance is paused on the others", "[integration][postgres]") {
  const SharedQueue queue("shared_pause");
  HttpTestServer receiver([](const RecordedRequest&) { return Reply{410, {}, {}, 0ms}; });
  Dispatcher a(queue.options(receiver.url()));
  Dispatcher b(queue.options(receiver.url()));
  REQUIRE(a.dispatch(numbered_event(1)));
  REQUIRE(a.flush(10s));
  bool paused = false;
  for (int i = 0; i < 60 && !paused; ++i) {  // each instance looks every second
    paused = b.health("receiver")->gone && a.health("receiver")->gone;
    if (!paused) std::this_thread::sleep_for(50ms);
  }
  CHECK(paused);
  CHECK(queue.sql("SELECT gone FROM statusstack_endpoints WHERE name = 'receiver'") == "t\n");
}

TEST_CASE("a PostgreSQL store that cannot be opened refuses the Dispatcher, saying why",
          "[integration][postgres]") {
  DispatcherOptions options;
  options.store.path = "postgresql://app@127.0.0.1:1/statusstack";
  try {
    Dispatcher dispatcher(options);
    FAIL("a postgresql:// path without the component's store was accepted");
  } catch (const ConfigError& error) {
    CHECK(error.error().field == "store.path");
    CHECK(std::string(error.what()).find("set store = statusstack::webhooks::postgres::store(uri)") !=
          std::string::npos);
  }
  postgres::QueueSettings nowhere;
  nowhere.conninfo = "postgresql://app:secret-password@127.0.0.1:1/statusstack?connect_timeout=2";
  options.store = postgres::store(nowhere);
  CHECK(options.store.path == "postgresql://app@127.0.0.1:1/statusstack");
  try {
    Dispatcher dispatcher(options);
    FAIL("a database nobody listens for was accepted");
  } catch (const ConfigError& error) {
    CHECK(error.error().code == ErrorCode::store_error);
    const std::string message = error.what();
    CHECK(message.rfind("store postgresql://app@127.0.0.1:1/statusstack: postgresql: cannot connect: ", 0) ==
          0);
    CHECK(message.find("secret-password") == std::string::npos);
  }
  options.store.max_bytes = 1 << 20;
  try {
    Dispatcher dispatcher(options);
    FAIL("max_bytes was accepted");
  } catch (const ConfigError& error) {
    CHECK(error.error().field == "store.max_bytes");
  }
}

#ifdef SSW_PG_INSTANCE_CHILD

namespace {

std::vector<std::string> child_argv(const SharedQueue& queue, const HttpTestServer& receiver, int lease_ms,
                                    int first, int count, int timeout_ms) {
  return {SSW_PG_INSTANCE_CHILD,
          queue.uri,
          receiver.url(),
          std::to_string(lease_ms),
          std::to_string(first),
          std::to_string(count),
          std::to_string(timeout_ms)};
}

// "ready <pid>" -> pid.
std::string ready_pid(BackgroundProcess& child) {
  const auto line = child.read_line(60s);
  REQUIRE(line);
  REQUIRE(line->rfind("ready ", 0) == 0);
  return line->substr(6);
}

}  // namespace

TEST_CASE("an instance resumed after its lease ended cannot change a delivery another instance took over",
          "[integration][postgres]") {
  const SharedQueue queue("fenced");
  std::atomic<int> calls{0};
  // The first attempt's answer (a 200) is held for 4 s; the second is a 503; any later one a 200.
  HttpTestServer receiver([&](const RecordedRequest&) {
    const int call = calls.fetch_add(1);
    return Reply{call == 1 ? 503 : 200, {}, {}, call == 0 ? 4000ms : 0ms};
  });
  // The stalled instance: a 1 s lease, and a timeout long enough to take the held answer.
  BackgroundProcess stalled(child_argv(queue, receiver, 1000, 1, 1, 10000));
  ready_pid(stalled);
  REQUIRE(receiver.wait_for_requests(1, 20s));
  stalled.send_signal(SIGSTOP);  // hung: no lease renewal, no outcome
  // The other instance takes it over once the lease ended, gets the 503 and puts the delivery back
  // in the queue for a retry 5 s later: pending, under a newer claim, when the stalled one wakes up.
  Recorder recorder;
  DispatcherOptions options = queue.options(receiver.url());
  options.retry = quick_retries(3, 5000ms);
  options.retry.max_delay = 5000ms;
  recorder.install(options);
  Dispatcher other(std::move(options));
  REQUIRE(receiver.wait_for_requests(2, 10s));
  const auto requests = receiver.requests();
  CHECK(delivery_id(requests[1]) == delivery_id(requests[0]));
  CHECK(requests[1].received_at - requests[0].received_at >= 900ms);
  stalled.send_signal(SIGCONT);  // its held 200 arrives at 4 s: the queue no longer takes it from it

  const auto ended = stalled.wait(60s);
  REQUIRE(ended);
  INFO(ended->err);
  REQUIRE(ended->exit_code == 0);
  REQUIRE(other.flush(20s));
  // The delivery ended with the retry's 200 (the second attempt the queue knows of), reported once.
  CHECK(queue.sql("SELECT state, attempts, last_status FROM statusstack_deliveries") == "2|2|200\n");
  CHECK(receiver.request_count() == 3);
  const auto done = lines_of(ended->out);
  REQUIRE(done.size() == 2);
  CHECK(done[0] == "dispatched");
  std::istringstream counts(done[1]);  // done <delivered> <failed> <claimed> <taken_over>
  std::string word;
  int stalled_delivered = -1, stalled_failed = -1, stalled_claimed = -1, stalled_taken_over = -1;
  counts >> word >> stalled_delivered >> stalled_failed >> stalled_claimed >> stalled_taken_over;
  REQUIRE(word == "done");
  CHECK(stalled_failed == 0);
  CHECK(stalled_taken_over == 1);  // its 200 came back fenced, without a report there
  CHECK(stalled_delivered + static_cast<int>(recorder.count()) == 1);
}

TEST_CASE("a lease runs on while its instance lives: a slow attempt is not taken over",
          "[integration][postgres]") {
  const SharedQueue queue("renewed");
  HttpTestServer receiver([](const RecordedRequest&) { return Reply{200, {}, {}, 2500ms}; });
  postgres::QueueSettings short_lease;
  short_lease.lease = 1000ms;
  auto options = [&] {  // either may claim it: both wait long enough for the answer
    DispatcherOptions made = queue.options(receiver.url(), short_lease);
    made.endpoints[0].options.timeout = 5s;
    return made;
  };
  Dispatcher a(options());
  Dispatcher b(options());
  REQUIRE(a.dispatch(numbered_event(1)));
  // The queue is drained once the row is final: whichever instance sent it reports just after, so
  // both are flushed before their counts are read.
  REQUIRE(a.flush(20s));
  REQUIRE(b.flush(20s));
  CHECK(receiver.request_count() == 1);
  CHECK(a.stats().delivered + b.stats().delivered == 1);
  CHECK(a.stats().taken_over + b.stats().taken_over == 0);
}

TEST_CASE("an endpoint's rate limit is split between the live instances", "[integration][postgres]") {
  const SharedQueue queue("rate_split");
  HttpTestServer receiver;
  postgres::QueueSettings half;  // each instance takes 20 of the 40 events
  half.claim_batch = 20;
  half.max_claimed = 20;
  auto options = [&] {
    DispatcherOptions made = queue.options(receiver.url(), half);
    made.io_threads = 1;
    made.endpoints[0].rate_limit_per_minute = 120;  // overall: a burst of 15 per instance of two
    return made;
  };
  Dispatcher a(options());
  Dispatcher b(options());
  bool both = false;
  for (int i = 0; i < 100 && !both; ++i) {
    both = a.stats().instances == 2 && b.stats().instances == 2;
    if (!both) std::this_thread::sleep_for(50ms);
  }
  REQUIRE(both);
  REQUIRE(a.dispatch_many(numbered_events(40)));
  std::this_thread::sleep_for(1000ms);
  // Alone, each instance would take the whole limit: a burst of 30 each, all 40 at once.
  CHECK(receiver.request_count() <= 34);
  CHECK(receiver.request_count() >= 10);
  a.shutdown(0ms);
  b.shutdown(0ms);
}

TEST_CASE("three instances deliver 30,000 events while one is killed with SIGKILL: nothing is lost",
          "[integration][postgres][crash]") {
  constexpr int per_instance = 10000;
  constexpr int lease_ms =
      5000;  // renewed every 1.7 s: a busy machine does not make a living instance lose it
  const SharedQueue queue("three_instances");
  // 10 ms an answer: 4 requests at a time per instance make about 1,200 deliveries/s, slower than
  // dispatching (even under a sanitizer), so that a backlog waits in the queue and the instances
  // hold claimed deliveries when one of them is killed.
  HttpTestServer receiver([](const RecordedRequest&) { return Reply{200, {}, {}, 10ms}; });
  std::vector<std::unique_ptr<BackgroundProcess>> children;
  std::vector<std::string> pids;
  for (int i = 0; i < 3; ++i) {
    children.push_back(std::make_unique<BackgroundProcess>(
        child_argv(queue, receiver, lease_ms, i * per_instance, per_instance, 1000)));
    pids.push_back(ready_pid(*children.back()));
  }
  auto dispatched = [](BackgroundProcess& child) {
    const auto line = child.read_line(120s);
    REQUIRE(line);
    REQUIRE(*line == "dispatched");
  };
  // Mid-run: the victim's events all accepted (every event has its ids), a third of all delivered.
  BackgroundProcess& victim = *children[2];
  dispatched(victim);
  REQUIRE(receiver.wait_for_requests(per_instance, 300s));
  victim.send_signal(SIGKILL);
  const auto killed_at = std::chrono::steady_clock::now();
  const std::string held_by_victim = "owner LIKE '%:" + pids[2] + ":%' AND state = 0";
  const std::string leased = queue.sql("SELECT id FROM statusstack_deliveries WHERE " + held_by_victim);
  std::set<std::string> leased_ids;
  for (const std::string& id : lines_of(leased)) leased_ids.insert(id);
  INFO(
      "the killed instance held " << leased_ids.size() << " deliveries; pending by owner: "
                                  << queue.sql(
                                         "SELECT owner, count(*) FROM statusstack_deliveries WHERE state = 0 "
                                         "GROUP BY owner"));
  REQUIRE_FALSE(leased_ids.empty());
  REQUIRE(victim.wait(10s));
  dispatched(*children[0]);
  dispatched(*children[1]);

  // Taken over: none is still held by the dead instance within lease + 1 s. A look takes a psql
  // run: the time of the first look that finds none is taken when that look starts.
  std::chrono::steady_clock::duration taken_over_after{};
  for (;;) {
    const auto look = std::chrono::steady_clock::now();
    const auto left = queue.sql("SELECT count(*) FROM statusstack_deliveries WHERE " + held_by_victim);
    taken_over_after = look - killed_at;
    if (left == "0\n" || taken_over_after > std::chrono::milliseconds(lease_ms) + 5s) break;
    std::this_thread::sleep_for(20ms);
  }
  INFO("taken over after " << std::chrono::duration_cast<std::chrono::milliseconds>(taken_over_after).count()
                           << " ms");
  // The issue's bound, lease + 1 s, holds in plain builds (2.5 s with a 2 s lease in a dev run).
  // Under ThreadSanitizer the surviving processes run many times slower and, in CI, beside other
  // tests: there the check is that they take over at all, within lease + 4 s.
#if defined(__SANITIZE_THREAD__)
  constexpr auto takeover_slack = 4s;
#else
  constexpr auto takeover_slack = 1s;
#endif
  CHECK(taken_over_after <= std::chrono::milliseconds(lease_ms) + takeover_slack);

  for (int i = 0; i < 2; ++i) {
    const auto ended = children[static_cast<std::size_t>(i)]->wait(300s);
    REQUIRE(ended);
    INFO(ended->err);
    CHECK(ended->exit_code == 0);
  }
  // Every delivery is final in the database, and reached the receiver with a 2xx.
  CHECK(queue.sql("SELECT state, count(*) FROM statusstack_deliveries GROUP BY state") == "2|30000\n");
  std::map<std::string, int> times;
  std::set<std::string> monitors;
  for (const auto& request : receiver.requests()) {
    ++times[delivery_id(request)];
    monitors.insert(monitor_of(request));
  }
  std::set<std::string> stored;
  for (const std::string& id : lines_of(queue.sql("SELECT id FROM statusstack_deliveries")))
    stored.insert(id);
  std::set<std::string> received;
  for (const auto& [id, count] : times) received.insert(id);
  CHECK(received == stored);
  CHECK(monitors.size() == 30000);
  // Duplicates carry the same id, and only the killed instance's leased deliveries have them.
  std::size_t duplicates = 0, foreign = 0;
  for (const auto& [id, count] : times) {
    if (count == 1) continue;
    duplicates += static_cast<std::size_t>(count - 1);
    if (leased_ids.count(id) == 0) ++foreign;
  }
  INFO(duplicates << " duplicates");
  CHECK(foreign == 0);
  CHECK(duplicates <= leased_ids.size());
}

#endif

#ifdef SSW_CLI_PATH

TEST_CASE(
    "the CLI takes --store postgresql://... for dispatch and for deliveries, and never shows the password",
    "[integration][postgres]") {
  const SharedQueue queue("cli");
  HttpTestServer ok;
  HttpTestServer refusing([](const RecordedRequest&) { return Reply{400, {}, "unknown monitor", 0ms}; });
  TempDir dir;
  const std::string rules = dir.write(
      "rules.json",
      R"({"endpoints": [{"name": "ok", "url": ")" + ok.url() +
          R"(", "secret": "s3cret-for-the-queue", "allow_http": true, "allow_private_network": true},
                       {"name": "refusing", "url": ")" +
          refusing.url() +
          R"(", "secret": "s3cret-for-the-queue", "allow_http": true, "allow_private_network": true}],
           "retry": {"max_attempts": 2, "initial_delay_ms": 50, "jitter": 0}})");
  const std::string events = dir.write("events.jsonl", to_json(numbered_event(1)) + "\n");
  // Trust authentication ignores the password: it is there to be hidden.
  std::string uri = queue.uri;
  uri.replace(uri.find("postgres@"), 9, "postgres:hunter2-password@");
  auto run = [&](const std::vector<std::string>& args) {
    std::vector<std::string> argv{SSW_CLI_PATH};
    argv.insert(argv.end(), args.begin(), args.end());
    BackgroundProcess tool(argv);
    auto ended = tool.wait(60s);
    REQUIRE(ended);
    CHECK(ended->out.find("hunter2") == std::string::npos);
    CHECK(ended->err.find("hunter2") == std::string::npos);
    return *ended;
  };
  const ProcessResult dispatched = run({"dispatch", "--config", rules, "--events", events, "--store", uri});
  INFO(dispatched.err);
  CHECK(dispatched.exit_code == 1);  // one of the two deliveries failed
  CHECK(ok.request_count() == 1);
  CHECK(refusing.request_count() == 1);

  const ProcessResult failed = run({"deliveries", "--store", uri, "list", "--failed", "--json"});
  REQUIRE(failed.exit_code == 0);
  const auto lines = lines_of(failed.out);
  REQUIRE(lines.size() == 1);
  CHECK(lines[0].find(R"("state":"failed","endpoint":"refusing")") != std::string::npos);
  CHECK(lines[0].find(R"("reason":"rejected")") != std::string::npos);
  CHECK(lines[0].find(R"("detail":"HTTP 400: unknown monitor")") != std::string::npos);

  const ProcessResult stats = run({"deliveries", "--store", uri, "stats", "--json"});
  CHECK(stats.out.rfind(R"({"pending":0,"failed":1,"delivered":0,)", 0) == 0);
  const ProcessResult again = run({"deliveries", "--store", uri, "redeliver", "--failed", "--json"});
  CHECK(again.out == "{\"redelivered\":1}\n");
  CHECK(queue.sql("SELECT state, attempts FROM statusstack_deliveries") == "0|0\n");

  const ProcessResult nowhere =
      run({"deliveries", "--store", "postgresql://app:hunter2-password@127.0.0.1:1/none", "stats"});
  CHECK(nowhere.exit_code == 2);
  CHECK(nowhere.err.find("statusstack-webhook: store postgresql://app@127.0.0.1:1/none: postgresql: cannot "
                         "connect: ") == 0);
}

#endif
