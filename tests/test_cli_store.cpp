// The statusstack-webhook tool with a store file: `dispatch --store` keeps every delivery until it
// is final and resumes what a run left, `deliveries --store FILE` reads the file and redelivers
// failed deliveries. The real binary, real receivers on 127.0.0.1, real store files.

#include <statusstack/webhooks/dispatcher.hpp>
#include <statusstack/webhooks/events.hpp>
#include <statusstack/webhooks/store.hpp>

#include "support/process.hpp"
#include "support/reports.hpp"
#include "support/servers.hpp"

#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>
#include <catch2/catch.hpp>

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <regex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#ifdef SSW_CLI_PATH

using namespace statusstack::webhooks;
using namespace statusstack::webhooks::testing;
using namespace std::chrono_literals;

namespace {

ProcessResult run_cli(const std::vector<std::string>& args, const std::string& input_file = "") {
  std::vector<std::string> argv = {SSW_CLI_PATH};
  argv.insert(argv.end(), args.begin(), args.end());
  return run_process(argv, {}, input_file);
}

// `dispatch args...`, bounded: a run still going after a minute fails the test (and is ended).
ProcessResult dispatch(const std::vector<std::string>& args) {
  std::vector<std::string> argv = {SSW_CLI_PATH, "dispatch"};
  argv.insert(argv.end(), args.begin(), args.end());
  BackgroundProcess tool(argv);
  auto ended = tool.wait(std::chrono::minutes(1));
  REQUIRE(ended);
  return *ended;
}

// `deliveries --store FILE args...`.
ProcessResult deliveries(const std::string& store, const std::vector<std::string>& args) {
  std::vector<std::string> all = {"deliveries", "--store", store};
  all.insert(all.end(), args.begin(), args.end());
  return run_cli(all);
}

// A rules file with one endpoint per (name, url), http allowed, and the retry settings given.
std::string write_rules(
    const TempDir& dir, const std::vector<std::pair<std::string, std::string>>& endpoints,
    const std::string& retry = R"({"max_attempts": 3, "initial_delay_ms": 50, "jitter": 0})",
    const std::string& endpoint_extra = "") {
  std::string text = R"({"endpoints": [)";
  for (std::size_t i = 0; i < endpoints.size(); ++i) {
    if (i > 0) text += ",";
    text += R"({"name": ")" + endpoints[i].first + R"(", "url": ")" + endpoints[i].second +
            R"(", "secret": "s3cret-for-the-store", "allow_http": true, "allow_private_network": true)" +
            endpoint_extra + "}";
  }
  return dir.write("rules.json", text + R"(], "retry": )" + retry + "}");
}

std::string events_file(const TempDir& dir, const std::vector<Event>& events) {
  std::string text;
  for (const Event& event : events) text += to_json(event) + "\n";
  return dir.write("events.jsonl", text);
}

rapidjson::Document parse_json(const std::string& line) {
  rapidjson::Document doc;
  doc.Parse(line.c_str());
  INFO(line);
  REQUIRE_FALSE(doc.HasParseError());
  REQUIRE(doc.IsObject());
  return doc;
}

std::vector<std::string> keys_of(const rapidjson::Value& object) {
  std::vector<std::string> keys;
  for (auto it = object.MemberBegin(); it != object.MemberEnd(); ++it)
    keys.emplace_back(it->name.GetString());
  return keys;
}

std::string string_of(const rapidjson::Value& object, const char* name) {
  const auto it = object.FindMember(name);
  return it != object.MemberEnd() && it->value.IsString() ? it->value.GetString()
                                                          : std::string("<not a string>");
}

bool is_null(const rapidjson::Value& object, const char* name) {
  const auto it = object.FindMember(name);
  return it != object.MemberEnd() && it->value.IsNull();
}

std::string compact(const rapidjson::Value& value) {
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> writer(buffer);
  value.Accept(writer);
  return buffer.GetString();
}

std::chrono::system_clock::time_point time_of(const rapidjson::Value& object, const char* name) {
  // A time as `deliveries` prints it: RFC 3339 in UTC, always with milliseconds.
  const std::regex time_shape("[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\\.[0-9]{3}Z");
  const std::string text = string_of(object, name);
  INFO(name << ": " << text);
  REQUIRE(std::regex_match(text, time_shape));
  auto parsed = parse_rfc3339(text);
  REQUIRE(parsed);
  return std::chrono::system_clock::time_point(
      std::chrono::duration_cast<std::chrono::system_clock::duration>(parsed->time().time_since_epoch()));
}

// The keys of one delivery, in the order `deliveries list` prints them (`show` adds event_json).
std::vector<std::string> delivery_keys() {
  return {"id",          "state",      "endpoint", "event",       "reason",          "attempts",
          "last_status", "last_error", "detail",   "accepted_at", "last_attempt_at", "next_attempt_at",
          "finished_at"};
}

std::vector<StoredDelivery> stored_rows(const std::string& path, std::optional<DeliveryState> state = {}) {
  auto file = StoreFile::open(path);
  REQUIRE(file);
  DeliveryQuery query;
  query.state = state;
  auto rows = file->list(query);
  REQUIRE(rows);
  return *rows;
}

std::set<std::string> ids_of(const std::vector<StoredDelivery>& rows) {
  std::set<std::string> ids;
  for (const StoredDelivery& row : rows) ids.insert(row.id);
  return ids;
}

std::multiset<std::string> ids_received(const HttpTestServer& server) {
  std::multiset<std::string> ids;
  for (const RecordedRequest& request : server.requests()) {
    if (auto id = find_header(request.headers, "X-StatusStack-Delivery")) ids.insert(*id);
  }
  return ids;
}

// The reports `dispatch` printed (every line but the summary), by delivery id.
std::vector<rapidjson::Document> reports_of(const std::vector<std::string>& out) {
  std::vector<rapidjson::Document> reports;
  for (std::size_t i = 0; i + 1 < out.size(); ++i) reports.push_back(parse_json(out[i]));
  return reports;
}

// A receiver whose answer the test changes while it runs.
struct Switchable {
  std::atomic<int> status{200};
  HttpTestServer server{[this](const RecordedRequest&) { return Reply{status.load(), {}, "bad stack", {}}; }};
};

}  // namespace

TEST_CASE("dispatch --store delivers every event and leaves nothing pending in the file",
          "[integration][cli][store]") {
  const TempDir dir;
  HttpTestServer receiver;
  const std::string store = dir.file("deliveries.db");
  const std::string rules = write_rules(dir, {{"ops", receiver.url()}});
  const std::string events =
      events_file(dir, {example_event(EventType::incident_created), example_event(EventType::monitor_down),
                        example_event(EventType::monitor_recovered)});

  const ProcessResult run =
      dispatch({"--config", rules, "--events", events, "--store", store, "--durability", "process_crash"});
  INFO(run.err);
  CHECK(run.exit_code == 0);
  CHECK(run.err.empty());
  const std::vector<std::string> out = lines_of(run.out);
  REQUIRE(out.size() == 4);
  std::set<std::string> reported;
  for (const rapidjson::Document& report : reports_of(out)) {
    CHECK(string_of(report, "outcome") == "delivered");
    reported.insert(string_of(report, "delivery_id"));
  }
  CHECK(
      out.back() ==
      R"({"summary":true,"accepted":3,"delivered":3,"failed":0,"skipped":0,"recovered":0,"parked":0,"store_errors":0})");
  const std::multiset<std::string> received = ids_received(receiver);
  CHECK(std::set<std::string>(received.begin(), received.end()) == reported);
  CHECK(stored_rows(store).empty());  // delivered rows leave the file

  const ProcessResult stats = deliveries(store, {"stats"});
  CHECK(stats.exit_code == 0);
  const rapidjson::Document counts = parse_json(stats.out);
  CHECK(keys_of(counts) == std::vector<std::string>{"pending", "failed", "delivered", "file_bytes",
                                                    "paused_endpoints", "disabled_endpoints"});
  CHECK(counts["pending"].GetUint64() == 0);
  CHECK(counts["failed"].GetUint64() == 0);
  CHECK(counts["delivered"].GetUint64() == 0);
  struct stat info {};
  REQUIRE(::stat(store.c_str(), &info) == 0);
  CHECK(counts["file_bytes"].GetUint64() >= static_cast<std::uint64_t>(info.st_size));
  CHECK(counts["paused_endpoints"].IsArray());
  CHECK(counts["paused_endpoints"].Empty());
  CHECK(counts["disabled_endpoints"].IsArray());
  CHECK(counts["disabled_endpoints"].Empty());

  // The store's settings need a store, and take only the values they name.
  const ProcessResult lone = dispatch({"--config", rules, "--events", events, "--durability", "power_loss"});
  CHECK(lone.exit_code == 2);
  CHECK(lone.err == "--durability requires --store\nRun with --help for more information.\n");
  const ProcessResult wrong = dispatch({"--config", rules, "--store", store, "--durability", "fsync"});
  CHECK(wrong.exit_code == 2);
  CHECK(wrong.err ==
        "--durability: fsync not in {power_loss,process_crash}\nRun with --help for more information.\n");
}

TEST_CASE("dispatch --store stopped by SIGTERM parks what is not final, and the next run delivers it",
          "[integration][cli][store]") {
  // One request at a time, answered after 30 s: the first delivery is on the wire, the rest wait.
  HttpTestServer receiver([](const RecordedRequest&) { return Reply{200, {}, "late", 30s}; });
  const TempDir dir;
  const std::string store = dir.file("deliveries.db");
  const std::string rules =
      write_rules(dir, {{"ops", receiver.url()}},
                  R"({"max_attempts": 3, "initial_delay_ms": 50, "jitter": 0})", R"(, "max_in_flight": 1)");
  constexpr std::size_t count = 5;
  std::vector<Event> sent;
  for (std::size_t i = 0; i < count; ++i)
    sent.push_back(example_event(all_event_types[i % all_event_types.size()]));
  const std::string events = events_file(dir, sent);

  BackgroundProcess first({SSW_CLI_PATH, "dispatch", "--config", rules, "--events", events, "--store", store,
                           "--shutdown-ms", "0"});
  // Every event accepted (in the file), one delivery on the wire. With a store the end of the input
  // is no deadline: the tool waits for them.
  REQUIRE(receiver.wait_for_requests(1, 30s));
  const auto accepted_by = std::chrono::steady_clock::now() + 30s;
  while (stored_rows(store, DeliveryState::pending).size() < count &&
         std::chrono::steady_clock::now() < accepted_by) {
    std::this_thread::sleep_for(20ms);  // polling the file, bounded by the deadline
  }
  REQUIRE(stored_rows(store, DeliveryState::pending).size() == count);
  CHECK_FALSE(first.wait(200ms));  // still waiting for the deliveries

  first.send_signal(SIGTERM);
  const auto ended = first.wait(10s);
  REQUIRE(ended);
  INFO(ended->err);
  CHECK(ended->exit_code == 128 + SIGTERM);
  CHECK(
      ended->err ==
      "statusstack-webhook: SIGTERM: reading no more events; deliveries not done within 0 ms (--shutdown-ms) "
      "are left pending in " +
          store + " for the next run\n");
  // No report: nothing became final. The summary counts them as parked.
  CHECK(ended->out == "{\"summary\":true,\"accepted\":" + std::to_string(count) +
                          ",\"delivered\":0,\"failed\":0,\"skipped\":0,\"recovered\":0,\"parked\":" +
                          std::to_string(count) + ",\"store_errors\":0,\"interrupted_by\":\"SIGTERM\"}\n");
  const std::vector<StoredDelivery> parked = stored_rows(store, DeliveryState::pending);
  REQUIRE(parked.size() == count);
  const std::set<std::string> parked_ids = ids_of(parked);

  // `deliveries list --pending` shows them as they wait, field by field.
  const ProcessResult listed = deliveries(store, {"list", "--pending"});
  CHECK(listed.exit_code == 0);
  const std::vector<std::string> rows = lines_of(listed.out);
  REQUIRE(rows.size() == count);
  for (std::size_t i = 0; i < count; ++i) {
    const rapidjson::Document row = parse_json(rows[i]);
    CHECK(keys_of(row) == delivery_keys());
    CHECK(string_of(row, "id") == parked[i].id);  // oldest first
    CHECK(string_of(row, "state") == "pending");
    CHECK(string_of(row, "endpoint") == "ops");
    CHECK(string_of(row, "event") == to_string(type_of(sent[i])));
    CHECK(is_null(row, "reason"));
    CHECK(row["attempts"].GetInt() == 0);  // the attempt on the wire was abandoned, not counted
    CHECK(is_null(row, "last_status"));
    CHECK(is_null(row, "last_error"));
    CHECK(is_null(row, "detail"));
    CHECK(time_of(row, "next_attempt_at") >= time_of(row, "accepted_at"));
    CHECK(is_null(row, "last_attempt_at"));
    CHECK(is_null(row, "finished_at"));
  }

  // The second run has no events: it resumes the parked deliveries, with their ids, and ends once
  // they are delivered.
  receiver.set_handler([](const RecordedRequest&) { return Reply{200, {}, "ok", {}}; });
  const ProcessResult second = dispatch({"--config", rules, "--store", store});
  INFO(second.err);
  CHECK(second.exit_code == 0);
  CHECK(second.err ==
        "statusstack-webhook: " + store + ": resuming 5 deliveries left pending by an earlier run\n");
  const std::vector<std::string> out = lines_of(second.out);
  REQUIRE(out.size() == count + 1);
  std::set<std::string> reported;
  for (const rapidjson::Document& report : reports_of(out)) {
    CHECK(string_of(report, "outcome") == "delivered");
    reported.insert(string_of(report, "delivery_id"));
  }
  CHECK(reported == parked_ids);
  CHECK(out.back() == "{\"summary\":true,\"accepted\":0,\"delivered\":" + std::to_string(count) +
                          ",\"failed\":0,\"skipped\":0,\"recovered\":" + std::to_string(count) +
                          ",\"parked\":0,\"store_errors\":0}");
  const std::multiset<std::string> received = ids_received(receiver);
  for (const std::string& id : parked_ids) CHECK(received.count(id) >= 1);
  CHECK(stored_rows(store).empty());
}

TEST_CASE("deliveries list, show and stats print the failed deliveries field by field",
          "[integration][cli][store]") {
  const TempDir dir;
  Switchable ops;
  ops.status = 400;
  HttpTestServer old([](const RecordedRequest&) { return Reply{410, {}, "", {}}; });
  const std::string store = dir.file("deliveries.db");
  const std::string rules = write_rules(dir, {{"ops", ops.server.url()}, {"old", old.url()}});
  const Event event = example_event(EventType::monitor_down);
  const auto before = std::chrono::system_clock::now();
  const ProcessResult run =
      dispatch({"--config", rules, "--events", events_file(dir, {event}), "--store", store});
  const auto after = std::chrono::system_clock::now();
  INFO(run.err);
  CHECK(run.exit_code == 1);  // nothing delivered
  const std::vector<std::string> out = lines_of(run.out);
  REQUIRE(out.size() == 3);
  CHECK(
      out.back() ==
      R"({"summary":true,"accepted":2,"delivered":0,"failed":2,"skipped":0,"recovered":0,"parked":0,"store_errors":0,)"
      R"("unhealthy_endpoints":[{"name":"old","breaker":"closed","gone":true,"consecutive_failures":0,"last_error":""}]})");
  const std::vector<StoredDelivery> stored = stored_rows(store);
  REQUIRE(stored.size() == 2);
  const std::string ops_id = stored[0].endpoint == "ops" ? stored[0].id : stored[1].id;
  const std::string old_id = stored[0].endpoint == "ops" ? stored[1].id : stored[0].id;

  const ProcessResult listed = deliveries(store, {"list", "--json"});
  INFO(listed.err);
  CHECK(listed.exit_code == 0);
  CHECK(listed.err.empty());
  const std::vector<std::string> rows = lines_of(listed.out);
  REQUIRE(rows.size() == 2);
  for (const std::string& line : rows) {
    const rapidjson::Document row = parse_json(line);
    INFO(line);
    CHECK(keys_of(row) == delivery_keys());
    const bool is_ops = string_of(row, "endpoint") == "ops";
    CHECK(string_of(row, "id") == (is_ops ? ops_id : old_id));
    CHECK(string_of(row, "state") == "failed");
    CHECK(string_of(row, "event") == "monitor.down");
    CHECK(string_of(row, "reason") == (is_ops ? "rejected" : "receiver_gone"));
    CHECK(row["attempts"].GetInt() == 1);
    CHECK(row["last_status"].GetInt() == (is_ops ? 400 : 410));
    CHECK(string_of(row, "last_error") == (is_ops ? "HTTP 400" : "HTTP 410"));
    CHECK(string_of(row, "detail") == (is_ops ? "HTTP 400: bad stack" : "HTTP 410"));
    const auto accepted_at = time_of(row, "accepted_at");
    CHECK(accepted_at >= std::chrono::floor<std::chrono::milliseconds>(before));
    CHECK(accepted_at <= after);
    CHECK(time_of(row, "last_attempt_at") >= accepted_at);
    CHECK(time_of(row, "finished_at") >= time_of(row, "last_attempt_at"));
    CHECK(time_of(row, "finished_at") <= after);
    CHECK(is_null(row, "next_attempt_at"));
  }

  // The filters: state, endpoint, reason, a window in RFC 3339 or relative, a limit.
  const auto count_of = [&store](std::vector<std::string> args) {
    args.insert(args.begin(), "list");
    const ProcessResult listing = deliveries(store, args);
    INFO(listing.err);
    CHECK(listing.exit_code == 0);
    return lines_of(listing.out).size();
  };
  CHECK(count_of({"--failed"}) == 2);
  CHECK(count_of({"--pending"}) == 0);
  CHECK(count_of({"--delivered"}) == 0);
  CHECK(count_of({"--endpoint", "old"}) == 1);
  CHECK(count_of({"--reason", "rejected"}) == 1);
  CHECK(count_of({"--reason", "attempts_exhausted"}) == 0);
  CHECK(count_of({"--since", "1h"}) == 2);
  CHECK(count_of({"--until", "1h"}) == 0);
  CHECK(count_of({"--since", "2020-01-01T00:00:00Z", "--until", "2199-12-31T23:59:59Z"}) == 2);
  CHECK(count_of({"--since", "2199-01-01T00:00:00Z"}) == 0);
  const ProcessResult first = deliveries(store, {"list", "--limit", "1"});
  CHECK(lines_of(first.out).size() == 1);
  CHECK(first.err == "statusstack-webhook: showing the first 1 deliveries; --limit shows more\n");
  CHECK(parse_json(first.out)["id"].GetString() == stored[0].id);

  // show: the same fields and the event itself, as accepted.
  const ProcessResult shown = run_cli({"deliveries", "show", ops_id, "--store", store});
  CHECK(shown.exit_code == 0);
  const rapidjson::Document delivery = parse_json(shown.out);
  std::vector<std::string> keys = delivery_keys();
  keys.emplace_back("event_json");
  CHECK(keys_of(delivery) == keys);
  CHECK(string_of(delivery, "id") == ops_id);
  CHECK(string_of(delivery, "reason") == "rejected");
  CHECK(string_of(delivery, "detail") == "HTTP 400: bad stack");
  REQUIRE(delivery["event_json"].IsObject());
  CHECK(compact(delivery["event_json"]) == to_json(event));

  // stats: counts by state, the size, the endpoint the 410 paused.
  const ProcessResult stats = deliveries(store, {"stats"});
  CHECK(stats.exit_code == 0);
  const rapidjson::Document counts = parse_json(stats.out);
  CHECK(counts["pending"].GetUint64() == 0);
  CHECK(counts["failed"].GetUint64() == 2);
  CHECK(counts["delivered"].GetUint64() == 0);
  CHECK(counts["file_bytes"].GetUint64() > 0);
  CHECK(compact(counts["paused_endpoints"]) == R"(["old"])");

  // Mistakes: exit 2 and what was wrong; an unknown id: exit 1.
  const ProcessResult unknown = deliveries(store, {"show", "dlv_00000000000000000000000000"});
  CHECK(unknown.exit_code == 1);
  CHECK(unknown.out.empty());
  CHECK(unknown.err == "statusstack-webhook: no delivery dlv_00000000000000000000000000 in " + store + "\n");
  const auto usage_error = [&store](const std::vector<std::string>& args) {
    const ProcessResult wrong = deliveries(store, args);
    CHECK(wrong.exit_code == 2);
    CHECK(wrong.out.empty());
    return wrong.err;
  };
  CHECK(usage_error({"list", "--reason", "timeout"}) ==
        "statusstack-webhook: --reason: unknown reason \"timeout\" (expected one of: rejected, "
        "attempts_exhausted, "
        "too_old, endpoint_removed, shutdown, receiver_gone, endpoint_disabled)\n");
  CHECK(usage_error({"list", "--since", "yesterday"}) ==
        "statusstack-webhook: --since: expected an RFC 3339 time in UTC like 2026-11-30T10:00:00Z, or a "
        "duration "
        "ago like 30m, 2h or 7d (got \"yesterday\")\n");
  CHECK(usage_error({"list", "--until", "2026-02-30T10:00:00Z"}) ==
        "statusstack-webhook: --until: \"2026-02-30T10:00:00Z\": day 30 does not exist in 2026-02\n");
  CHECK(usage_error({"list", "--since", "2026-11-30T10:00:00+01:00"}) ==
        "statusstack-webhook: --since: \"2026-11-30T10:00:00+01:00\": must be in UTC with a Z suffix, not an "
        "offset "
        "like \"+01:00\"\n");
  CHECK(usage_error({"list", "--since", "1000000000d"}) ==
        "statusstack-webhook: --since: \"1000000000d\" is longer ago than 100 years\n");
  CHECK(usage_error({"list", "--failed", "--pending"}) ==
        "--failed excludes --pending\nRun with --help for more information.\n");
  CHECK(usage_error({"redeliver"}) ==
        "ID... or --failed is required\nRun with --help for more information.\n");
}

TEST_CASE(
    "deliveries redeliver makes failed deliveries pending, and the next dispatch --store sends them again",
    "[integration][cli][store]") {
  const TempDir dir;
  Switchable receiver;
  receiver.status = 400;
  const std::string store = dir.file("deliveries.db");
  const std::string rules = write_rules(dir, {{"ops", receiver.server.url()}});
  const ProcessResult failing = dispatch({"--config", rules, "--store", store, "--events",
                                          events_file(dir, {example_event(EventType::incident_created),
                                                            example_event(EventType::incident_resolved)})});
  CHECK(failing.exit_code == 1);
  const std::vector<StoredDelivery> failed = stored_rows(store, DeliveryState::failed);
  REQUIRE(failed.size() == 2);

  // One by id, the rest by filter.
  const ProcessResult one = deliveries(store, {"redeliver", failed[0].id});
  INFO(one.err);
  CHECK(one.exit_code == 0);
  CHECK(one.out == "{\"redelivered\":1}\n");
  // Filters that select none take none: nothing to do is not an error.
  for (const std::vector<std::string>& none : {std::vector<std::string>{"--endpoint", "audit"},
                                               {"--reason", "too_old"},
                                               {"--since", "2199-01-01T00:00:00Z"},
                                               {"--until", "1h"}}) {
    std::vector<std::string> args = {"redeliver", "--failed"};
    args.insert(args.end(), none.begin(), none.end());
    const ProcessResult nothing = deliveries(store, args);
    CHECK(nothing.exit_code == 0);
    CHECK(nothing.out == "{\"redelivered\":0}\n");
  }
  const ProcessResult rest =
      deliveries(store, {"redeliver", "--failed", "--endpoint", "ops", "--reason", "rejected"});
  CHECK(rest.exit_code == 0);
  CHECK(rest.out == "{\"redelivered\":1}\n");
  const std::vector<StoredDelivery> pending = stored_rows(store, DeliveryState::pending);
  CHECK(ids_of(pending) == ids_of(failed));
  for (const StoredDelivery& row : pending) CHECK(row.attempts == 0);  // a fresh attempt budget

  // Ids it cannot take are named; the exit status says not all were.
  const ProcessResult again =
      deliveries(store, {"redeliver", failed[0].id, "dlv_00000000000000000000000000"});
  CHECK(again.exit_code == 1);
  CHECK(again.out == "{\"redelivered\":0}\n");
  CHECK(again.err == "statusstack-webhook: delivery " + failed[0].id +
                         " is pending, not failed: not redelivered\nstatusstack-webhook: no delivery "
                         "dlv_00000000000000000000000000 in " +
                         store + "\n");

  receiver.status = 200;
  const ProcessResult resent = dispatch({"--config", rules, "--store", store});
  INFO(resent.err);
  CHECK(resent.exit_code == 0);
  const std::vector<std::string> out = lines_of(resent.out);
  REQUIRE(out.size() == 3);
  std::set<std::string> reported;
  for (const rapidjson::Document& report : reports_of(out)) {
    CHECK(string_of(report, "outcome") == "delivered");
    CHECK(report["attempts"].GetInt() == 1);
    reported.insert(string_of(report, "delivery_id"));
  }
  CHECK(reported == ids_of(failed));
  CHECK(
      out.back() ==
      R"({"summary":true,"accepted":0,"delivered":2,"failed":0,"skipped":0,"recovered":2,"parked":0,"store_errors":0})");
  // Each id reached the receiver twice: refused, then delivered.
  const std::multiset<std::string> received = ids_received(receiver.server);
  for (const StoredDelivery& row : failed) CHECK(received.count(row.id) == 2);
  CHECK(stored_rows(store).empty());
}

TEST_CASE("deliveries redeliver and dispatch --store are refused while a Dispatcher owns the file",
          "[integration][cli][store]") {
  const TempDir dir;
  const std::string store = dir.file("deliveries.db");
  HttpTestServer receiver([](const RecordedRequest&) { return Reply{400, {}, "no", {}}; });
  Recorder recorder;
  DispatcherOptions options;
  options.endpoints = {local_endpoint("ops", receiver.url())};
  options.store.path = store;
  recorder.install(options);
  Dispatcher owner(std::move(options));
  REQUIRE(owner.dispatch(example_event(EventType::monitor_down)));
  REQUIRE(owner.flush(10s));
  REQUIRE(recorder.count() == 1);

  const std::string in_use =
      "store " + store +
      ": in use by another Dispatcher (in this process or another); one Dispatcher owns a "
      "store file at a time";
  const ProcessResult refused = deliveries(store, {"redeliver", "--failed"});
  CHECK(refused.exit_code == 1);
  CHECK(refused.out.empty());
  CHECK(refused.err ==
        "statusstack-webhook: " + in_use + " (redeliver through that Dispatcher, or stop it first)\n");
  const ProcessResult by_id = deliveries(store, {"redeliver", recorder.all()[0].delivery_id});
  CHECK(by_id.exit_code == 1);
  CHECK(by_id.err == refused.err);

  const ProcessResult second =
      dispatch({"--config", write_rules(dir, {{"ops", receiver.url()}}), "--store", store});
  CHECK(second.exit_code == 2);
  CHECK(second.out.empty());
  CHECK(second.err == "statusstack-webhook: " + in_use + "\n");

  // Reading is fine while it runs.
  const ProcessResult listed = deliveries(store, {"list", "--failed"});
  CHECK(listed.exit_code == 0);
  CHECK(lines_of(listed.out).size() == 1);
  CHECK(stored_rows(store, DeliveryState::failed).size() == 1);  // nothing was taken

  owner.shutdown();
  const ProcessResult free = deliveries(store, {"redeliver", "--failed"});
  CHECK(free.exit_code == 0);
  CHECK(free.out == "{\"redelivered\":1}\n");
}

TEST_CASE("a store file that cannot be used is refused with the store's own words",
          "[integration][cli][store]") {
  const TempDir dir;
  const std::string rules = write_rules(dir, {{"ops", "http://127.0.0.1:9/hook"}});
  SECTION("a file that is not a store") {
    const std::string store = dir.write("notes.txt", std::string(8192, 'x'));
    const std::string damaged = "statusstack-webhook: store " + store +
                                ": cannot be read: file is not a database (the file is damaged or "
                                "is not a store)\n";
    const ProcessResult run = dispatch({"--config", rules, "--store", store});
    CHECK(run.exit_code == 2);
    CHECK(run.out.empty());
    CHECK(run.err == damaged);
    const ProcessResult list = deliveries(store, {"list"});
    CHECK(list.exit_code == 2);
    CHECK(list.out.empty());
    CHECK(list.err == damaged);
  }
  SECTION("a file that is missing: deliveries never creates one") {
    const std::string store = dir.file("missing.db");
    const ProcessResult stats = deliveries(store, {"stats"});
    CHECK(stats.exit_code == 2);
    CHECK(stats.err == "statusstack-webhook: store " + store + ": no such file\n");
    struct stat info {};
    CHECK(::stat(store.c_str(), &info) != 0);
  }
}

TEST_CASE("dispatch --store stops reading when the store refuses a delivery, and exits 1",
          "[integration][cli][store]") {
  // One request at a time, answered after 30 s: the rows stay in the file until it is full, and no
  // attempt ends while the tool shuts down (the one on the wire is abandoned and parked).
  HttpTestServer receiver([](const RecordedRequest&) { return Reply{200, {}, "late", 30s}; });
  const TempDir dir;
  const std::string store = dir.file("deliveries.db");
  const std::string rules =
      write_rules(dir, {{"ops", receiver.url()}},
                  R"({"max_attempts": 3, "initial_delay_ms": 50, "jitter": 0})", R"(, "max_in_flight": 1)");
  const std::vector<Event> events(400, example_event(EventType::incident_created));
  const ProcessResult run = dispatch({"--config", rules, "--events", events_file(dir, events), "--store",
                                      store, "--store-max-bytes", "65536", "--shutdown-ms", "0"});
  INFO(run.err);
  INFO(run.out);
  CHECK(run.exit_code == 1);
  const std::smatch refused = [&run] {
    std::smatch match;
    const std::regex line(
        "^statusstack-webhook: (.*events\\.jsonl):([0-9]+): store (.*): cannot keep a delivery: "
        "database or disk is full \\(the disk is full, or the store's max_bytes is reached\\) "
        "\\(not accepted; reading no more events\\)\n$");
    CHECK(std::regex_match(run.err, match, line));
    return match;
  }();
  REQUIRE(refused.size() == 4);
  CHECK(refused[3].str() == store);
  const std::size_t line_number = std::stoul(refused[2].str());
  CHECK(line_number > 1);
  CHECK(line_number < events.size());
  // The events before it are accepted and parked; it and those after it are not read.
  const std::size_t accepted = line_number - 1;
  const std::vector<std::string> out = lines_of(run.out);
  REQUIRE(out.size() == 1);
  const rapidjson::Document summary = parse_json(out.back());
  CHECK(summary["accepted"].GetUint64() == accepted);
  CHECK(summary["skipped"].GetUint64() == 0);
  CHECK(summary["parked"].GetUint64() == accepted);
  CHECK(summary["store_errors"].GetUint64() >= 1);
  CHECK(stored_rows(store, DeliveryState::pending).size() == accepted);
}

TEST_CASE("deliveries on a terminal prints aligned tables, and --json keeps JSON lines there",
          "[integration][cli][store]") {
  const TempDir dir;
  HttpTestServer receiver([](const RecordedRequest&) { return Reply{422, {}, "missing field", {}}; });
  const std::string store = dir.file("deliveries.db");
  const ProcessResult run =
      dispatch({"--config", write_rules(dir, {{"ops", receiver.url()}}), "--events",
                events_file(dir, {example_event(EventType::monitor_down)}), "--store", store});
  CHECK(run.exit_code == 1);
  const std::vector<StoredDelivery> rows = stored_rows(store);
  REQUIRE(rows.size() == 1);
  const std::string& id = rows[0].id;

  const ProcessResult table = run_on_terminal({SSW_CLI_PATH, "deliveries", "--store", store, "list"});
  CHECK(table.exit_code == 0);
  const std::vector<std::string> lines = lines_of(table.out);
  REQUIRE(lines.size() == 2);
  const std::regex header("ID +STATE +ENDPOINT +EVENT +ATTEMPTS +LAST +REASON +ACCEPTED +FINISHED");
  CHECK(std::regex_match(lines[0], header));
  const std::regex row(id + " +failed +ops +monitor\\.down +1 +HTTP 422 +rejected +[-0-9T:.Z]+ +[-0-9T:.Z]+");
  CHECK(std::regex_match(lines[1], row));
  // Aligned: each heading starts where its column does.
  for (const char* column : {"STATE", "ENDPOINT", "EVENT", "REASON"}) {
    const std::size_t at = lines[0].find(column);
    CHECK(lines[1][at - 1] == ' ');
    CHECK(lines[1][at] != ' ');
  }

  const ProcessResult shown = run_on_terminal({SSW_CLI_PATH, "deliveries", "--store", store, "show", id});
  CHECK(shown.exit_code == 0);
  CHECK(shown.out.find("detail           HTTP 422: missing field\n") != std::string::npos);
  CHECK(shown.out.find("last status      422\n") != std::string::npos);

  const ProcessResult stats = run_on_terminal({SSW_CLI_PATH, "deliveries", "--store", store, "stats"});
  CHECK(stats.out.rfind(
            "pending             0\nfailed              1\ndelivered           0\nfile bytes          ", 0) ==
        0);
  CHECK(stats.out.find("\npaused endpoints    -\ndisabled endpoints  -\n") != std::string::npos);

  const ProcessResult json =
      run_on_terminal({SSW_CLI_PATH, "deliveries", "--store", store, "list", "--json"});
  REQUIRE(lines_of(json.out).size() == 1);
  CHECK(string_of(parse_json(lines_of(json.out)[0]), "id") == id);
}

#endif
