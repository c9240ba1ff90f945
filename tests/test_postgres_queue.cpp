// The shared queue in PostgreSQL (src/store/pg_queue): a real server, private to each test, on
// 127.0.0.1 (tests/support/postgres_server). Times are given by the tests, never slept.

#include "store/pg_queue.hpp"

#include "support/host_connection.hpp"
#include "support/postgres_server.hpp"

#include <libpq-fe.h>
#include <catch2/catch.hpp>

#include <algorithm>
#include <atomic>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

using namespace statusstack::webhooks;
using namespace statusstack::webhooks::detail;
using statusstack::webhooks::testing::HostConnection;
using statusstack::webhooks::testing::PostgresServer;

namespace {

std::unique_ptr<pg::Queue> open_queue(const std::string& uri) {
  auto opened = pg::Queue::open(uri);
  if (!opened) FAIL("Queue::open: " << opened.error().message);
  return std::move(*opened);
}

std::vector<pg::NewRow> rows(int count, std::int64_t due_at, const std::string& prefix = "dlv_") {
  std::vector<pg::NewRow> made;
  for (int i = 0; i < count; ++i) {
    pg::NewRow row;
    row.id = prefix + std::to_string(i);
    row.endpoint = "receiver";
    row.event_type = "monitor.down";
    row.event = R"({"n":)" + std::to_string(i) + "}";
    row.accepted_at = due_at;
    row.due_at = due_at;
    made.push_back(row);
  }
  return made;
}

}  // namespace

TEST_CASE("instances starting at once on an empty database all come up, with one schema",
          "[integration][postgres]") {
  const PostgresServer server;
  const std::string uri = server.create_database("race");
  constexpr int instances = 6;
  std::vector<std::string> errors(instances);
  std::vector<std::thread> threads;
  threads.reserve(instances);
  for (int i = 0; i < instances; ++i) {
    threads.emplace_back([&, i] {
      auto opened = pg::Queue::open(uri);
      if (!opened) errors[static_cast<std::size_t>(i)] = opened.error().message;
    });
  }
  for (auto& thread : threads) thread.join();
  for (const auto& error : errors) CHECK(error.empty());
  CHECK(server.sql("SELECT count(*), max(version) FROM statusstack_schema", "race") == "1|1\n");
  // Opening again finds it in place.
  open_queue(uri);
  CHECK(server.sql("SELECT count(*) FROM statusstack_schema", "race") == "1\n");
}

TEST_CASE("a database whose schema is newer than the library is refused, by name",
          "[integration][postgres]") {
  const PostgresServer server;
  const std::string uri = server.create_database("newer");
  open_queue(uri);
  server.sql("INSERT INTO statusstack_schema VALUES (99)", "newer");
  auto opened = pg::Queue::open(uri);
  REQUIRE_FALSE(opened);
  CHECK(opened.error().code == ErrorCode::store_error);
  CHECK(opened.error().message ==
        "postgresql: the database has schema version 99, newer than this library's (1): upgrade the library");
  auto unreachable = pg::Queue::open("postgresql://postgres@127.0.0.1:1/none?connect_timeout=2");
  REQUIRE_FALSE(unreachable);
  CHECK(unreachable.error().message.rfind("postgresql: cannot connect: ", 0) == 0);
}

TEST_CASE("instances claiming at once each get different deliveries, and every one is claimed once",
          "[integration][postgres]") {
  const PostgresServer server;
  const std::string uri = server.create_database("claims");
  REQUIRE(open_queue(uri)->enqueue(rows(600, 1000)));
  constexpr int instances = 3;
  std::vector<std::unique_ptr<pg::Queue>> queues(instances);
  for (auto& queue : queues) queue = open_queue(uri);
  std::vector<std::vector<std::string>> taken(instances);
  std::atomic<int> waiting{instances};
  std::vector<std::thread> threads;
  threads.reserve(instances);
  for (int i = 0; i < instances; ++i) {
    threads.emplace_back([&, i] {
      waiting.fetch_sub(1);
      while (waiting.load() > 0) std::this_thread::yield();  // all start claiming together
      for (int round = 0; round < 1000; ++round) {           // bounded: 600 rows, at least one per round
        auto claimed = queues[static_cast<std::size_t>(i)]->claim(25, 2000, 60000);
        if (!claimed || claimed->empty()) return;
        for (const auto& row : *claimed) taken[static_cast<std::size_t>(i)].push_back(row.id);
      }
    });
  }
  for (auto& thread : threads) thread.join();
  std::multiset<std::string> all;
  for (const auto& ids : taken) all.insert(ids.begin(), ids.end());
  CHECK(all.size() == 600);
  CHECK(std::set<std::string>(all.begin(), all.end()).size() == 600);
}

TEST_CASE("rows another transaction holds are skipped by a claim, not waited for",
          "[integration][postgres]") {
  const PostgresServer server;
  const std::string uri = server.create_database("skipped");
  // Bounded: a claim that waited for the lock would fail after 5 s instead of hanging the test.
  auto queue = open_queue(uri + "?options=-c%20statement_timeout%3D5000");
  REQUIRE(queue->enqueue(rows(4, 1000)));
  const HostConnection other(uri);
  other.exec("BEGIN");
  other.exec("SELECT 1 FROM statusstack_deliveries WHERE id IN ('dlv_0', 'dlv_1') FOR UPDATE");
  auto claimed = queue->claim(10, 1000, 500);  // would block until the ROLLBACK without SKIP LOCKED
  REQUIRE(claimed);
  REQUIRE(claimed->size() == 2);
  CHECK((*claimed)[0].id == "dlv_2");
  CHECK((*claimed)[1].id == "dlv_3");
  other.exec("ROLLBACK");
  CHECK(queue->claim(10, 1000, 500)->size() == 2);
}

TEST_CASE(
    "a batch of outcomes writes the rows still held and names the fenced-out ones, and bodies "
    "survive the trip byte for byte",
    "[integration][postgres]") {
  const PostgresServer server;
  const std::string uri = server.create_database("batches");
  auto queue = open_queue(uri);
  auto made = rows(3, 1000);
  // Quotes, backslashes, braces, commas and non-ASCII: what an array literal must escape or carry.
  made[0].event = R"({"text":"a \"quoted\" {brace}, comma \\ back","city":"Zürich"})";
  made[1].order_key = "dedup,\"key\"";
  REQUIRE(queue->enqueue(made));
  auto claimed = *queue->claim(3, 1000, 500);
  REQUIRE(claimed.size() == 3);
  CHECK(claimed[0].event == made[0].event);
  CHECK(claimed[1].order_key == made[1].order_key);
  CHECK(claimed[2].order_key.empty());
  // dlv_2's lease ran out and another instance took it: its outcome from here is fenced out.
  auto other = open_queue(uri);
  const auto taken = other->claim(1, 1600, 500)->at(0);
  REQUIRE(taken.id == "dlv_0");  // all three are due again at 1500; the oldest goes first
  const pg::Outcome ok{1, 200, "", 1, 1000, 1000};
  const pg::Outcome failed{2, 0, "timeout: \"5 s\", then {nothing}", 1, 1000, 1000};
  const auto fenced =
      *queue->finish({{"dlv_0", claimed[0].claim, true, ok, "", ""},
                      {"dlv_1", claimed[1].claim, false, failed, "attempts_exhausted", "timeout"},
                      {"dlv_2", claimed[2].claim, true, ok, "", ""}},
                     1700);
  CHECK(fenced == std::vector<std::string>{"dlv_0"});
  CHECK(
      server.sql("SELECT id, state, last_error, reason FROM statusstack_deliveries ORDER BY id", "batches") ==
      "dlv_0|0||\ndlv_1|1|" + failed.last_error + "|attempts_exhausted\ndlv_2|2||\n");
  CHECK(queue->finish({}, 1700)->empty());
  CHECK(queue->enqueue({}));
}

TEST_CASE("a claim is a lease: nothing is due again until it ends, then the row is claimed anew",
          "[integration][postgres]") {
  const PostgresServer server;
  const std::string uri = server.create_database("leases");
  auto queue = open_queue(uri);
  REQUIRE(queue->enqueue(rows(3, 1000)));
  CHECK(queue->claim(10, 999, 500)->empty());  // not due yet
  auto first = queue->claim(2, 1000, 500);
  REQUIRE(first);
  REQUIRE(first->size() == 2);
  CHECK((*first)[0].id == "dlv_0");  // oldest due first, then enqueue order
  CHECK((*first)[1].id == "dlv_1");
  CHECK((*first)[0].claim == 1);
  CHECK((*first)[0].event == R"({"n":0})");
  auto rest = queue->claim(10, 1000, 500);
  REQUIRE(rest->size() == 1);  // the two leased ones are not offered again
  CHECK((*rest)[0].id == "dlv_2");
  CHECK(queue->claim(10, 1499, 500)->empty());  // leases run to 1500
  auto again = queue->claim(10, 1500, 500);     // the holder died: its rows come back
  REQUIRE(again->size() == 3);
  CHECK((*again)[0].claim == 2);
}

TEST_CASE("an instance that lost its lease cannot overwrite the outcome of the one that took over",
          "[integration][postgres]") {
  const PostgresServer server;
  const std::string uri = server.create_database("fencing");
  auto slow = open_queue(uri);
  auto other = open_queue(uri);
  REQUIRE(slow->enqueue(rows(1, 1000)));
  const auto lost = slow->claim(1, 1000, 500)->at(0);    // leased to 1500, then the holder stalls
  const auto taken = other->claim(1, 1600, 500)->at(0);  // taken over after the lease
  REQUIRE(taken.claim == lost.claim + 1);
  pg::Outcome ok{1, 200, "", 1, 1000, 1000};
  CHECK(*other->finish(taken.id, taken.claim, true, ok, 1700));
  // The stalled instance wakes up with an outcome of its own: refused, both as final and as retry.
  pg::Outcome failed{1, 503, "503 Service Unavailable", 1, 1000, 1000};
  CHECK_FALSE(*slow->finish(lost.id, lost.claim, false, failed, 1800));
  CHECK_FALSE(*slow->retry_at(lost.id, lost.claim, 9000, failed));
  CHECK(server.sql("SELECT state, attempts, last_status, event IS NULL FROM statusstack_deliveries",
                   "fencing") == "2|1|200|t\n");
  // A retry by the current holder makes the row due again, for the next claim.
  REQUIRE(other->enqueue(rows(1, 1000, "dlv_retry_")));
  const auto retried = other->claim(1, 2000, 500)->at(0);
  CHECK(*other->retry_at(retried.id, retried.claim, 5000, failed));
  CHECK(other->claim(1, 4999, 500)->empty());
  const auto next = other->claim(1, 5000, 500)->at(0);
  CHECK(next.outcome.attempts == 1);
  CHECK(next.outcome.last_status == 503);
  // The retry gave the row back with a claim number of its own: the old holder's writes are fenced.
  CHECK(next.claim == retried.claim + 2);
  CHECK_FALSE(*other->finish(retried.id, retried.claim, true, ok, 5100));
}

TEST_CASE("dead letters are redelivered with the same id, old final rows are removed in batches",
          "[integration][postgres]") {
  const PostgresServer server;
  const std::string uri = server.create_database("letters");
  auto queue = open_queue(uri);
  REQUIRE(queue->enqueue(rows(4, 1000)));
  const auto claimed = *queue->claim(4, 1000, 60000);  // dlv_3 stays leased throughout
  REQUIRE(claimed.size() == 4);
  const pg::Outcome gone_wrong{3, 500, "500 Internal Server Error", 1, 1000, 1000};
  const pg::Outcome fine{1, 200, "", 1, 1000, 1000};
  REQUIRE(*queue->finish("dlv_0", claimed[0].claim, false, gone_wrong, 2000));  // failed at 2000
  REQUIRE(*queue->finish("dlv_1", claimed[1].claim, false, gone_wrong, 5000));  // failed at 5000
  REQUIRE(*queue->finish("dlv_2", claimed[2].claim, true, fine, 2000));         // delivered at 2000

  CHECK(*queue->redeliver("dlv_0", 6000));
  CHECK_FALSE(*queue->redeliver("dlv_0", 6000));  // pending now, not failed
  CHECK_FALSE(*queue->redeliver("dlv_2", 6000));  // delivered
  CHECK_FALSE(*queue->redeliver("dlv_3", 6000));  // still claimed, not final
  CHECK_FALSE(*queue->redeliver("dlv_none", 6000));
  const auto again = *queue->claim(10, 6000, 500);
  REQUIRE(again.size() == 1);
  CHECK(again[0].id == "dlv_0");
  CHECK(again[0].outcome.attempts == 0);
  CHECK(again[0].budget_from == 6000);

  // Delivered before 3000 and failed before 4000 go: dlv_2 only (dlv_1 failed at 5000).
  CHECK(*queue->prune(3000, 4000, 100) == 1);
  CHECK(*queue->prune(3000, 6000, 100) == 1);  // now dlv_1
  CHECK(*queue->prune(3000, 6000, 100) == 0);
  CHECK(server.sql("SELECT id FROM statusstack_deliveries ORDER BY id", "letters") == "dlv_0\ndlv_3\n");
}

TEST_CASE("every instance reads the endpoint states any of them wrote", "[integration][postgres]") {
  const PostgresServer server;
  const std::string uri = server.create_database("endpoints");
  auto one = open_queue(uri);
  auto other = open_queue(uri);
  pg::EndpointRow row;
  row.name = "pagerduty";
  row.breaker = "open";
  row.failures = 5;
  row.opened = 1;
  row.failing_since = 1000;
  row.open_until = 6000;
  row.last_error = "503 Service Unavailable";
  REQUIRE(one->save_endpoint(row));
  pg::EndpointRow gone;
  gone.name = "old-receiver";
  gone.gone = true;
  REQUIRE(other->save_endpoint(gone));
  row.breaker = "closed";  // recovered: written again, replaces
  row.failures = 0;
  REQUIRE(other->save_endpoint(row));
  const auto read = *one->endpoints();
  REQUIRE(read.size() == 2);
  CHECK(read[0].name == "old-receiver");
  CHECK(read[0].gone);
  CHECK(read[1].name == "pagerduty");
  CHECK(read[1].breaker == "closed");
  CHECK(read[1].failures == 0);
  CHECK(read[1].opened == 1);
  CHECK(read[1].open_until == 6000);
  CHECK(read[1].last_error == "503 Service Unavailable");
}

TEST_CASE("an idle instance hears of new deliveries, and of committed ones only", "[integration][postgres]") {
  const PostgresServer server;
  const std::string uri = server.create_database("news");
  auto idle = open_queue(uri);
  auto busy = open_queue(uri);
  REQUIRE(idle->listen());
  CHECK_FALSE(*idle->wait_for_news(50));  // nothing yet: the wait ends with its timeout
  REQUIRE(busy->enqueue(rows(2, 1000)));
  CHECK(*idle->wait_for_news(10000));     // at once, not after 10 s (bounded either way)
  CHECK_FALSE(*idle->wait_for_news(50));  // consumed
  const HostConnection host(uri);
  host.exec("BEGIN");
  REQUIRE(pg::enqueue_in(host.connection, rows(1, 1000, "dlv_rolled_")));
  host.exec("ROLLBACK");
  CHECK_FALSE(*idle->wait_for_news(200));  // a rolled-back enqueue says nothing
  host.exec("BEGIN");
  REQUIRE(pg::enqueue_in(host.connection, rows(1, 1000, "dlv_kept_")));
  host.exec("COMMIT");
  CHECK(*idle->wait_for_news(10000));
}

TEST_CASE("deliveries enqueued in the host's transaction share its fate: kept on commit, gone on rollback",
          "[integration][postgres]") {
  const PostgresServer server;
  const std::string uri = server.create_database("outbox");
  auto queue = open_queue(uri);
  const HostConnection host(uri);
  host.exec("CREATE TABLE incidents (id text PRIMARY KEY)");

  SECTION("rolled back: neither the host's row nor the deliveries") {
    host.exec("BEGIN");
    host.exec("INSERT INTO incidents VALUES ('inc_1')");
    REQUIRE(pg::enqueue_in(host.connection, rows(2, 1000, "dlv_rolled_")));
    CHECK(queue->claim(10, 1000, 500)->empty());  // not visible before the commit
    host.exec("ROLLBACK");
    CHECK(queue->claim(10, 1000, 500)->empty());
    CHECK(server.sql("SELECT count(*) FROM incidents", "outbox") == "0\n");
  }
  SECTION("committed: both") {
    host.exec("BEGIN");
    host.exec("INSERT INTO incidents VALUES ('inc_2')");
    REQUIRE(pg::enqueue_in(host.connection, rows(2, 1000, "dlv_kept_")));
    CHECK(queue->claim(10, 1000, 500)->empty());
    host.exec("COMMIT");
    CHECK(queue->claim(10, 1000, 500)->size() == 2);
    CHECK(server.sql("SELECT count(*) FROM incidents", "outbox") == "1\n");
  }
  SECTION("outside a transaction: refused, nothing written") {
    auto refused = pg::enqueue_in(host.connection, rows(1, 1000));
    REQUIRE_FALSE(refused);
    CHECK(refused.error().message ==
          "postgresql: enqueue_in needs the host's connection inside a transaction (BEGIN first): "
          "outside one the deliveries would not share the fate of the host's own writes");
    CHECK(server.sql("SELECT count(*) FROM statusstack_deliveries", "outbox") == "0\n");
  }
}
