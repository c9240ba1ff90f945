// The documentation, run: the programs it shows (built from the Markdown by doc_programs.cmake),
// its rules file, and the error messages it quotes, reproduced against servers on 127.0.0.1.

#include <statusstack/webhooks.hpp>

#include "detail/text.hpp"

#include "support/docs.hpp"
#include "support/process.hpp"
#include "support/reports.hpp"
#include "support/servers.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <cerrno>
#include <fstream>
#include <map>
#include <mutex>
#include <regex>
#include <set>
#include <sstream>
#include <thread>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sqlite3.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

using namespace statusstack::webhooks;
using namespace statusstack::webhooks::testing;
using namespace std::chrono_literals;

namespace {

const std::string doc_bin = SSW_DOC_PROGRAM_DIR;
constexpr auto generous = 20s;  // bound for waits that normally take milliseconds

// Every block marked "test" in README.md and docs/, by file and first line; each has a test below.
const std::set<std::pair<std::string, std::string>> tested_blocks = {
    {"README.md",
     "// hello.cpp: deliver a sample of each incident and monitor.down event to URL, print the reports."},
    {"docs/getting-started.md",
     "// notify.cpp: tell an endpoint that a monitor is down, and print what became of the delivery."},
    {"docs/delivery.md",
     "// backoff.cpp: when the attempts of a delivery that keeps failing are made, under two policies."},
    {"docs/events.md",
     "// recovered.cpp: a monitor.recovered built in C++, written as JSON, parsed back and read."},
    {"docs/receivers.md",
     "// receiver.cpp: receiver [PORT] — verifies, parses, deduplicates, answers, then prints each event."},
    {"docs/receivers.md",
     "// receiver.go: go run receiver.go [PORT]; the secret comes from STATUSSTACK_WEBHOOK_SECRET."},
    {"docs/receivers.md",
     "# receiver.py: python3 receiver.py [PORT]; the secret comes from STATUSSTACK_WEBHOOK_SECRET."},
    {"docs/configuration.md", "{"},
};

// Text with what truly changes from run to run made equal: delivery ids, loopback ports, timestamps
// and durations. Statuses, attempt counts, limits and every other number are compared as they are.
std::string normalized(const std::string& text) {
  static const std::vector<std::pair<std::regex, std::string>> varying = {
      {std::regex("dlv_[0-9a-z]{26}"), "dlv_ID"},
      {std::regex("127\\.0\\.0\\.1(:| port )[0-9]+"), "127.0.0.1$1PORT"},
      {std::regex("[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\\.[0-9]+)?Z"), "TIME"},
      {std::regex("\"latency_ms\":[0-9]+(\\.[0-9]+)?"), "\"latency_ms\":DURATION"},
      {std::regex("[0-9]+ (ms|milliseconds)\\b"), "DURATION $1"},
  };
  std::string result = text;
  for (const auto& [pattern, replacement] : varying)
    result = std::regex_replace(result, pattern, replacement);
  return result;
}

// True when `text` appears in the document, with only what varies between runs made equal.
bool documented(const std::string& doc_file, const std::string& text) {
  return normalized(source_file(doc_file)).find(normalized(text)) != std::string::npos;
}

bool program_exists(const std::string& name) {
  return run_process({"sh", "-c", "command -v " + name}).exit_code == 0;
}

// A receiver's reply to a signed request that a receiver built on this library would give.
Handler verifying_handler(const std::string& secret) {
  return [secret](const RecordedRequest& request) {
    const Verifier verifier(secret);
    if (auto verified = verifier.verify_request(request.headers, request.body); !verified) {
      return Reply{401, {{"Content-Type", "text/plain"}}, verified.error().message + "\n", {}};
    }
    if (auto event = parse_event(request.body); !event) {
      return Reply{400, {{"Content-Type", "text/plain"}}, event.error().message, {}};
    }
    return Reply{200, {{"Content-Type", "text/plain"}}, "ok\n", {}};
  };
}

// A signed request for one delivery to `url`, as the Dispatcher would send it.
Request signed_request(const std::string& url, const std::string& secret, const std::string& delivery_id) {
  Endpoint endpoint;
  endpoint.name = "docs";
  endpoint.url = url;
  endpoint.secret = secret;
  endpoint.options.allow_http = true;
  endpoint.options.allow_private_network = true;
  endpoint.options.timeout = 5s;
  return make_signed_request(example_event(EventType::monitor_down), endpoint, delivery_id);
}

// The port a receiver from receivers.md, started with port 0, says it listens on: its first line
// is "listening on 127.0.0.1:PORT". It has listened since before printing it.
int listening_port(BackgroundProcess& receiver) {
  const std::optional<std::string> line = receiver.read_line(generous);
  REQUIRE(line);
  static const std::regex listening("listening on 127\\.0\\.0\\.1:([0-9]+)");
  std::smatch match;
  INFO(*line);
  REQUIRE(std::regex_match(*line, match, listening));
  return std::stoi(match[1].str());
}

// Opens `count` connections to 127.0.0.1:`port` at once and returns how long the slowest took to
// be established. A listen backlog smaller than `count` has the system drop the extra connection
// attempts, which the client repeats a second later; a large enough one takes them all at once.
std::chrono::milliseconds slowest_connect(int port, int count) {
  struct Sockets {
    std::vector<int> fds;
    ~Sockets() {
      for (const int fd : fds) ::close(fd);
    }
  } sockets;
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<std::uint16_t>(port));
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  const auto start = std::chrono::steady_clock::now();
  std::vector<pollfd> waiting;
  for (int i = 0; i < count; ++i) {
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    REQUIRE(fd >= 0);
    sockets.fds.push_back(fd);
    // NOLINTNEXTLINE(cppcoreguidelines-pro-type-reinterpret-cast): the sockets API
    if (::connect(fd, reinterpret_cast<const sockaddr*>(&address), sizeof address) != 0) {
      REQUIRE(errno == EINPROGRESS);
      waiting.push_back(pollfd{fd, POLLOUT, 0});
    }
  }
  auto slowest = std::chrono::steady_clock::duration::zero();
  const auto deadline = start + 5s;
  while (!waiting.empty() && std::chrono::steady_clock::now() < deadline) {
    REQUIRE(::poll(waiting.data(), static_cast<nfds_t>(waiting.size()), 100) >= 0);
    const auto now = std::chrono::steady_clock::now();
    for (auto it = waiting.begin(); it != waiting.end();) {
      if (it->revents == 0) {
        ++it;
        continue;
      }
      int error = 0;
      socklen_t size = sizeof error;
      REQUIRE(::getsockopt(it->fd, SOL_SOCKET, SO_ERROR, &error, &size) == 0);
      CHECK(error == 0);
      slowest = std::max(slowest, now - start);
      it = waiting.erase(it);
    }
  }
  CHECK(waiting.empty());
  return std::chrono::duration_cast<std::chrono::milliseconds>(
      waiting.empty() ? slowest : std::chrono::steady_clock::now() - start);
}

// Sends the requests a receiver from receivers.md must answer: a delivery, the same delivery
// again, a wrong signature, a body that is not an event. The receiver has printed its
// "listening on" line; then it prints "accepted <type>" per event handled.
void check_receiver(BackgroundProcess& receiver, int port, const std::string& secret) {
  const std::string url = "http://127.0.0.1:" + std::to_string(port) + "/webhooks";
  WebhookClient client;
  const std::string id = new_delivery_id();
  const Outcome first = client.send(signed_request(url, secret, id));
  INFO(first.describe());
  CHECK(first.status == 200);
  CHECK(receiver.read_line(generous) == std::optional<std::string>("accepted monitor.down"));

  CHECK(client.send(signed_request(url, secret, id)).status == 200);  // a retry: answered, not handled
  const Outcome wrong =
      client.send(signed_request(url, "another secret, not the receiver's", new_delivery_id()));
  CHECK(wrong.status == 401);
  Request not_an_event = signed_request(url, secret, new_delivery_id());
  not_an_event.body = "{\"hello\":\"world\"}";
  for (Header& header : not_an_event.headers) {
    if (detail::iequals(header.name, "X-StatusStack-Signature"))
      header.value = Signer(secret).sign(not_an_event.body);
  }
  CHECK(client.send(not_an_event).status == 400);
  const std::string second = new_delivery_id();
  CHECK(client.send(signed_request(url, secret, second)).status == 200);
  CHECK(receiver.read_line(generous) == std::optional<std::string>("accepted monitor.down"));

  const ProcessResult ended = receiver.terminate();
  CHECK(ended.out.empty());  // the retry and the refused requests printed nothing
}

}  // namespace

TEST_CASE("every code block the documentation marks as tested is run by this file", "[unit][docs]") {
  std::set<std::pair<std::string, std::string>> marked;
  for (const DocBlock& block : all_doc_blocks()) {
    if ((" " + block.info + " ").find(" test ") != std::string::npos)
      marked.insert({block.file, block.first_line});
  }
  CHECK(marked == tested_blocks);
}

TEST_CASE("the getting-started program delivers one signed monitor.down and prints its report",
          "[integration][docs]") {
  const std::string secret = "getting started secret";
  HttpTestServer server(verifying_handler(secret));
  const ProcessResult run =
      run_process({doc_bin + "/notify", server.url("/statusstack")}, {"WEBHOOK_SECRET=" + secret});
  INFO(run.err);
  CHECK(run.exit_code == 0);
  CHECK(run.out == "ops: delivered after 1 attempt(s), last answer: HTTP 200\n");
  CHECK(documented("docs/getting-started.md", run.out));
  REQUIRE(server.request_count() == 1);
  const RecordedRequest request = server.requests().front();
  CHECK(Verifier(secret).verify_request(request.headers, request.body));
  auto event = parse_event(request.body);
  REQUIRE(event);
  CHECK(type_of(*event) == EventType::monitor_down);

  SECTION("with the wrong secret it prints the rejection the page quotes, and exits 1") {
    const ProcessResult rejected = run_process({doc_bin + "/notify", server.url("/statusstack")},
                                               {"WEBHOOK_SECRET=not the receiver's secret"});
    CHECK(rejected.exit_code == 1);
    CHECK(rejected.out == "ops: rejected after 1 attempt(s), last answer: HTTP 401\n");
    CHECK(documented("docs/getting-started.md", "`ops: rejected after 1 attempt(s), last answer: HTTP 401`"));
  }
  SECTION("without a URL it prints its usage and exits 2") {
    const ProcessResult usage = run_process({doc_bin + "/notify"}, {"WEBHOOK_SECRET=x"});
    CHECK(usage.exit_code == 2);
    CHECK(usage.err == "usage: WEBHOOK_SECRET=... notify URL\n");
  }
}

TEST_CASE(
    "the README example delivers the incident events and monitor.down, one report each, through its store",
    "[integration][docs]") {
  HttpTestServer server(verifying_handler("the endpoint's secret"));
  TempDir dir;  // the program keeps its deliveries in webhooks.db, in its working directory
  const ProcessResult run = run_process({"sh", "-c", "cd \"$1\" && exec \"$2\" \"$3\"", "sh", dir.path(),
                                         doc_bin + "/hello", server.url("/statusstack")});
  INFO(run.err);
  CHECK(run.exit_code == 0);
  std::vector<std::string> lines = lines_of(run.out);
  std::sort(lines.begin(), lines.end());
  CHECK(lines == std::vector<std::string>{"incident.created: HTTP 200", "incident.resolved: HTTP 200",
                                          "incident.updated: HTTP 200", "monitor.down: HTTP 200"});
  CHECK(server.request_count() == 4);
  // Its store file is there, holding nothing: every delivery ended before the program did.
  auto store = StoreFile::open(dir.file("webhooks.db"));
  INFO((store ? std::string() : store.error().message));
  REQUIRE(store);
  const auto counts = store->counts();
  REQUIRE(counts);
  CHECK(counts->pending == 0);
}

namespace {

// Runs the program of the block of `doc_file` whose first line starts with "// <name>.cpp" and
// checks that it prints exactly the ```text block that follows it.
void check_program_prints_the_next_block(const std::string& doc_file, const std::string& name) {
  const std::vector<DocBlock> blocks = doc_blocks(doc_file);
  const auto program = std::find_if(blocks.begin(), blocks.end(), [&name](const DocBlock& b) {
    return b.first_line.rfind("// " + name + ".cpp", 0) == 0;
  });
  REQUIRE(program != blocks.end());
  REQUIRE(program + 1 != blocks.end());
  REQUIRE((program + 1)->info == "text");  // the output, right after the program
  const ProcessResult run = run_process({doc_bin + "/" + name});
  INFO(run.err);
  CHECK(run.exit_code == 0);
  CHECK(run.out == (program + 1)->code);
}

// "std::optional< int >" -> "std::optional<int>": declarations and table cells written alike.
std::string without_spaces_in_brackets(std::string type) {
  static const std::regex around("\\s*([<>,])\\s*");
  type = std::regex_replace(type, around, "$1");
  return std::regex_replace(type, std::regex(","), ", ");
}

// Struct name -> (member -> declared type), from the struct definitions of a header.
std::map<std::string, std::map<std::string, std::string>> struct_members(const std::string& header) {
  static const std::regex member("^  ([A-Za-z_:<>, ]+?) ([a-z_]+)(\\{[^}]*\\})?;.*$");
  std::map<std::string, std::map<std::string, std::string>> structs;
  std::string open;
  for (const std::string& line : lines_of(header)) {
    std::smatch match;
    if (std::regex_match(line, match, std::regex("^struct ([A-Za-z]+) \\{$"))) {
      open = match[1].str();
      structs[open];
    } else if (line == "};") {
      open.clear();
    } else if (!open.empty() && std::regex_match(line, match, member)) {
      structs[open][match[2].str()] = without_spaces_in_brackets(match[1].str());
    }
  }
  return structs;
}

}  // namespace

TEST_CASE("the backoff program in docs/delivery.md prints what the page shows", "[integration][docs]") {
  check_program_prints_the_next_block("docs/delivery.md", "backoff");
}

TEST_CASE("the monitor.recovered program in docs/events.md prints what the page shows",
          "[integration][docs]") {
  check_program_prints_the_next_block("docs/events.md", "recovered");
}

TEST_CASE("the JSON to C++ table of docs/events.md names every member of every event struct with its type",
          "[unit][docs]") {
  const auto header = struct_members(source_file("include/statusstack/webhooks/events.hpp"));
  REQUIRE(header.size() == 17);  // ten parts and the seven events
  const std::vector<std::string> events = {"ComponentStatusChanged", "MonitorDown",     "MonitorRecovered",
                                           "IncidentCreated",        "IncidentUpdated", "IncidentResolved",
                                           "MaintenanceScheduled"};

  // Rows: | `json.path` (note) | `Struct::member`, ... | `type` |
  static const std::regex row("^\\| `([a-z_.\\[\\]]+)`[^|]*\\| (.*) \\| `([^`]+)` \\|$");
  static const std::regex member_ref("`(<Event>|[A-Za-z]+)::([a-z_]+)`");
  std::map<std::string, std::map<std::string, std::string>> table;
  std::set<std::string> json_paths;
  std::map<std::string, std::string> renamed;  // JSON key -> member, where they differ
  bool in_section = false;
  for (const std::string& line : lines_of(source_file("docs/events.md"))) {
    if (line.rfind("## ", 0) == 0) in_section = line == "## In C++";
    std::smatch match;
    if (!in_section || !std::regex_match(line, match, row)) continue;
    const std::string path = match[1].str();
    const std::string type = match[3].str();
    const std::string cells = match[2].str();
    json_paths.insert(path);
    const std::string key = path.substr(path.rfind('.') == std::string::npos ? 0 : path.rfind('.') + 1);
    for (auto it = std::sregex_iterator(cells.begin(), cells.end(), member_ref); it != std::sregex_iterator();
         ++it) {
      const std::string owner = (*it)[1].str();
      const std::string name = (*it)[2].str();
      INFO(line);
      CHECK((owner == "<Event>" || table[owner].count(name) == 0));  // each member once
      for (const std::string& s : owner == "<Event>" ? events : std::vector<std::string>{owner}) {
        table[s][name] = type;
      }
      if (name != key) renamed[key] = name;
    }
  }
  // "Struct::member type", one per member: what the table says and what the header declares.
  const auto flat = [](const std::map<std::string, std::map<std::string, std::string>>& structs) {
    std::vector<std::string> lines;
    for (const auto& [name, members] : structs) {
      for (const auto& [member, type] : members) {
        std::string line = name;
        line.append("::").append(member).append(" ").append(type);
        lines.push_back(std::move(line));
      }
    }
    return lines;
  };
  CHECK(flat(table) == flat(header));
  // Members are named after their JSON keys, but for the two durations, whose unit is in the type.
  CHECK(renamed == std::map<std::string, std::string>{{"response_time_ms", "response_time"},
                                                      {"duration_seconds", "duration"}});

  // Every field the page's field tables list has its row.
  static const std::regex field_row(
      "^\\| `([a-z_.\\[\\]]+)` \\| (object|array|string|id|timestamp|status|integer)");
  int fields = 0;
  for (const std::string& line : lines_of(source_file("docs/events.md"))) {
    std::smatch match;
    if (!std::regex_search(line, match, field_row)) continue;
    ++fields;
    INFO(line);
    CHECK(json_paths.count(match[1].str()) == 1);
  }
  CHECK(fields >= 50);
}

TEST_CASE("the C++ receiver in docs/receivers.md answers 200, 200, 401, 400 and handles each delivery once",
          "[integration][docs]") {
  const std::string secret = "receiver doc secret";
  BackgroundProcess receiver({doc_bin + "/receiver", "0"}, {"STATUSSTACK_WEBHOOK_SECRET=" + secret});
  const int port = listening_port(receiver);
  check_receiver(receiver, port, secret);
}

TEST_CASE("the Go receiver in docs/receivers.md answers 200, 200, 401, 400 and handles each delivery once",
          "[integration][docs]") {
  INFO("scripts/install-deps.sh installs golang-go");
  REQUIRE(program_exists("go"));
  TempDir dir;
  const std::string source = dir.write(
      "receiver.go",
      doc_block(
          "docs/receivers.md",
          "// receiver.go: go run receiver.go [PORT]; the secret comes from STATUSSTACK_WEBHOOK_SECRET."));
  const std::string binary = dir.file("receiver");
  const ProcessResult built =
      run_process({"go", "build", "-o", binary, source},
                  {"GOCACHE=" + dir.file("gocache"), "GOPATH=" + dir.file("gopath"), "GOFLAGS="});
  INFO(built.err);
  REQUIRE(built.exit_code == 0);
  const std::string secret = "receiver doc secret";
  BackgroundProcess receiver({binary, "0"}, {"STATUSSTACK_WEBHOOK_SECRET=" + secret});
  const int port = listening_port(receiver);
  CHECK(slowest_connect(port, 40).count() < 500);  // the page says a burst is accepted at once
  check_receiver(receiver, port, secret);
}

TEST_CASE(
    "the Python receiver in docs/receivers.md answers 200, 200, 401, 400 and takes a burst of 40 at once",
    "[integration][docs]") {
  INFO("scripts/install-deps.sh installs python3");
  REQUIRE(program_exists("python3"));
  TempDir dir;
  const std::string source = dir.write(
      "receiver.py",
      doc_block(
          "docs/receivers.md",
          "# receiver.py: python3 receiver.py [PORT]; the secret comes from STATUSSTACK_WEBHOOK_SECRET."));
  const std::string secret = "receiver doc secret";
  BackgroundProcess receiver({"python3", source, "0"}, {"STATUSSTACK_WEBHOOK_SECRET=" + secret});
  const int port = listening_port(receiver);
  // With http.server's default backlog of 5 the slowest of 40 takes a second (a dropped SYN, sent again).
  CHECK(slowest_connect(port, 40).count() < 500);
  check_receiver(receiver, port, secret);
}

TEST_CASE("the rules file in docs/configuration.md parses, and each error the page lists is the one given",
          "[unit][docs]") {
  const std::vector<DocBlock> blocks = doc_blocks("docs/configuration.md");
  const auto example =
      std::find_if(blocks.begin(), blocks.end(), [](const DocBlock& b) { return b.info == "json test"; });
  REQUIRE(example != blocks.end());
  auto rules = parse_rules(example->code);
  INFO((rules ? std::string() : rules.error().message));
  REQUIRE(rules);
  REQUIRE(rules->endpoints.size() == 2);
  CHECK(rules->endpoints[1].signature == SignatureScheme::standard_webhooks);
  CHECK(rules->retry.schedule.size() == 6);

  // Rows of the error table: | `{...}` | `message` |
  static const std::regex row("^\\| `([\\[{].*)` \\| `(.*)` \\|$");
  int rows = 0;
  for (const std::string& line : lines_of(source_file("docs/configuration.md"))) {
    std::smatch match;
    if (!std::regex_match(line, match, row)) continue;
    ++rows;
    const auto parsed = parse_rules(match[1].str());
    INFO(match[1].str());
    REQUIRE_FALSE(parsed);
    CHECK(parsed.error().message == match[2].str());
  }
  CHECK(rows >= 30);
}

TEST_CASE("the dispatch() errors docs/troubleshooting.md quotes are the ones given", "[integration][docs]") {
  const RefusedPort refused;
  Endpoint endpoint;
  endpoint.name = "ops";
  endpoint.url = refused.url();
  endpoint.secret = "a-long-random-secret";
  endpoint.options.allow_http = true;
  endpoint.options.allow_private_network = true;
  DispatcherOptions options;
  options.endpoints = {endpoint};
  options.max_pending = 1;
  Dispatcher dispatcher(options);
  REQUIRE(dispatcher.dispatch(example_event(EventType::monitor_down)));
  const auto full = dispatcher.dispatch(example_event(EventType::monitor_down));
  REQUIRE_FALSE(full);
  // The page quotes the message a Dispatcher with the default max_pending gives; this one has 1.
  std::string message = full.error().message;
  const std::string configured = "(max_pending 1)";
  REQUIRE(message.find(configured) != std::string::npos);
  message.replace(message.find(configured), configured.size(),
                  "(max_pending " + std::to_string(DispatcherOptions{}.max_pending) + ")");
  CHECK(documented("docs/troubleshooting.md", "`" + message + "`"));
  dispatcher.shutdown(0ms);
  const auto closed = dispatcher.dispatch(example_event(EventType::monitor_down));
  REQUIRE_FALSE(closed);
  CHECK(documented("docs/troubleshooting.md", "`" + closed.error().message + "`"));
}

TEST_CASE("a receiver's 400 and a redirect read in a report as docs/troubleshooting.md shows them",
          "[integration][docs]") {
  HttpTestServer receiver([](const RecordedRequest&) {
    return Reply{400, {{"Content-Type", "text/plain"}}, "stack stack_abc123 is not configured here", {}};
  });
  HttpTestServer moved([](const RecordedRequest&) {
    return Reply{301, {{"Location", "https://elsewhere.example/hook"}}, "", {}};
  });
  Endpoint endpoint;
  endpoint.name = "ops";
  endpoint.url = receiver.url();
  endpoint.secret = "a-long-random-secret";
  endpoint.options.allow_http = true;
  endpoint.options.allow_private_network = true;
  Endpoint redirected = endpoint;
  redirected.name = "moved";
  redirected.url = moved.url();
  DispatcherOptions options;
  options.endpoints = {endpoint, redirected};
  std::mutex mutex;
  std::vector<DeliveryReport> reports;
  options.on_report = [&](const DeliveryReport& r) {
    const std::lock_guard<std::mutex> lock(mutex);
    reports.push_back(r);
  };
  Dispatcher dispatcher(options);
  MonitorDown invalid = std::get<MonitorDown>(example_event(EventType::monitor_down));
  invalid.monitor.error.reset();
  const auto refused = dispatcher.dispatch(invalid);
  REQUIRE_FALSE(refused);
  CHECK(documented("docs/troubleshooting.md", "(`" + refused.error().message + "`)"));
  REQUIRE(dispatcher.dispatch(example_event(EventType::monitor_down)));
  REQUIRE(dispatcher.flush(generous));
  const std::lock_guard<std::mutex> lock(mutex);
  REQUIRE(reports.size() == 2);
  for (const DeliveryReport& report : reports) {
    CHECK(report.reason == FailureReason::rejected);
    if (report.endpoint == "ops") {
      CHECK(documented("docs/troubleshooting.md",
                       "rejected " + report.last.describe() + " body: " + report.last.body));
    } else {
      CHECK(documented("docs/troubleshooting.md", "`" + report.last.describe() + "`"));
    }
  }
}

TEST_CASE(
    "a report callback may call dispatch, stats, endpoints, upsert_endpoint and remove_endpoint, "
    "as docs/delivery.md says",
    "[integration][docs]") {
  HttpTestServer server;
  DispatcherOptions options;
  options.endpoints = {local_endpoint("ops", server.url())};
  std::mutex mutex;
  std::vector<std::string> seen;  // what the first callback got back, then each report's endpoint
  Dispatcher* self = nullptr;
  options.on_report = [&](const DeliveryReport& report) {
    const std::lock_guard<std::mutex> lock(mutex);
    seen.push_back(report.endpoint + (report.delivered ? " delivered" : " failed"));
    if (seen.size() > 1) return;
    const auto accepted = self->dispatch(example_event(EventType::incident_created));
    seen.push_back(accepted ? "dispatch: " + std::to_string(accepted->deliveries.size())
                            : accepted.error().message);
    seen.push_back("stats: " + std::to_string(self->stats().accepted));
    self->upsert_endpoint(local_endpoint("audit", server.url("/audit")));
    seen.push_back("endpoints: " + std::to_string(self->endpoints().size()));
    seen.push_back(self->remove_endpoint("audit") ? "removed" : "not removed");
  };
  Dispatcher dispatcher(std::move(options));
  self = &dispatcher;
  REQUIRE(dispatcher.dispatch(example_event(EventType::monitor_down)));
  REQUIRE(dispatcher.flush(generous));
  const std::lock_guard<std::mutex> lock(mutex);
  CHECK(seen == std::vector<std::string>{"ops delivered", "dispatch: 1", "stats: 2", "endpoints: 2",
                                         "removed", "ops delivered"});
  CHECK(dispatcher.stats().callback_errors == 0);
}

TEST_CASE("reports arrive while the Dispatcher is destroyed, as docs/delivery.md says",
          "[integration][docs]") {
  std::mutex mutex;
  std::vector<DeliveryReport> reports;  // declared before the Dispatcher: it outlives it
  const RefusedPort refused;
  {
    DispatcherOptions options;
    options.endpoints = {local_endpoint("ops", refused.url())};
    options.retry.initial_delay = 1h;  // the next attempt would come after the destructor's 5 s
    options.retry.max_delay = 1h;
    options.on_report = [&](const DeliveryReport& report) {
      const std::lock_guard<std::mutex> lock(mutex);
      reports.push_back(report);
    };
    Dispatcher dispatcher(std::move(options));
    REQUIRE(dispatcher.dispatch(example_event(EventType::monitor_down)));
    const auto deadline = std::chrono::steady_clock::now() + generous;
    while (dispatcher.stats().retries == 0 && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(10ms);
    }
    REQUIRE(dispatcher.stats().retries == 1);
    const std::lock_guard<std::mutex> lock(mutex);
    REQUIRE(reports.empty());
  }
  REQUIRE(reports.size() == 1);
  CHECK(reports.front().reason == FailureReason::shutdown);
  CHECK(reports.front().attempts == 1);
}

TEST_CASE("flush() and shutdown() called from a callback throw ConfigError at once, as docs/delivery.md says",
          "[integration][docs]") {
  HttpTestServer server;
  DispatcherOptions options;
  options.endpoints = {local_endpoint("ops", server.url())};
  std::mutex mutex;
  std::vector<std::string> outcomes;
  Dispatcher* self = nullptr;
  options.on_report = [&](const DeliveryReport&) {
    const auto attempt = [&](const char* name, const std::function<void()>& call) {
      const auto start = std::chrono::steady_clock::now();
      std::string outcome = std::string(name) + ": ";
      try {
        call();
        outcome += "returned";
      } catch (const ConfigError& e) {
        outcome += std::string("ConfigError ") + to_string(e.error().code);
        if (std::string(e.what()).find("callback") == std::string::npos)
          outcome += " not naming the callback";
      } catch (const std::exception& e) {
        outcome += e.what();
      }
      if (std::chrono::steady_clock::now() - start > 1s) outcome += " after waiting";
      const std::lock_guard<std::mutex> lock(mutex);
      outcomes.push_back(outcome);
    };
    attempt("flush", [&] { (void)self->flush(3s); });
    bool refused = false;
    {
      const std::lock_guard<std::mutex> lock(mutex);
      refused = outcomes.back() == "flush: ConfigError invalid_config";
    }
    if (refused) attempt("shutdown", [&] { self->shutdown(); });  // unrefused, it would join its own thread
  };
  Dispatcher dispatcher(std::move(options));
  self = &dispatcher;
  REQUIRE(dispatcher.dispatch(example_event(EventType::monitor_down)));
  REQUIRE(dispatcher.flush(generous));
  dispatcher.shutdown();
  const std::lock_guard<std::mutex> lock(mutex);
  CHECK(outcomes == std::vector<std::string>{"flush: ConfigError invalid_config",
                                             "shutdown: ConfigError invalid_config"});
}

TEST_CASE(
    "a report's detail gives a 4xx's explanation and says when nothing was attempted, as docs/delivery.md "
    "says",
    "[integration][docs]") {
  const std::string explanation = std::string(600, 'x').replace(0, 20, "unknown stack, see: ");
  HttpTestServer refusing([&explanation](const RecordedRequest&) { return Reply{400, {}, explanation, {}}; });
  HttpTestServer gone([](const RecordedRequest&) { return Reply{410, {}, "deleted", {}}; });
  DispatcherOptions options;
  options.endpoints = {local_endpoint("strict", refusing.url())};
  std::mutex mutex;
  std::vector<DeliveryReport> reports;
  options.on_report = [&](const DeliveryReport& report) {
    const std::lock_guard<std::mutex> lock(mutex);
    reports.push_back(report);
  };
  Dispatcher dispatcher(std::move(options));
  REQUIRE(dispatcher.dispatch(example_event(EventType::monitor_down)));
  REQUIRE(dispatcher.flush(generous));
  dispatcher.upsert_endpoint(local_endpoint("strict", gone.url()));
  REQUIRE(dispatcher.dispatch(example_event(EventType::monitor_down)));  // 410: the endpoint pauses
  REQUIRE(dispatcher.flush(generous));
  REQUIRE(dispatcher.dispatch(example_event(EventType::monitor_down)));  // never sent
  REQUIRE(dispatcher.flush(generous));
  const std::lock_guard<std::mutex> lock(mutex);
  REQUIRE(reports.size() == 3);
  INFO(reports[0].detail);
  CHECK(reports[0].reason == FailureReason::rejected);
  CHECK(reports[0].detail.find(explanation.substr(0, 512)) != std::string::npos);
  CHECK(reports[0].detail.find(explanation.substr(0, 513)) == std::string::npos);  // capped at 512 bytes
  CHECK(reports[1].reason == FailureReason::receiver_gone);
  CHECK(reports[1].attempts == 1);
  INFO(reports[2].detail);
  CHECK(reports[2].reason == FailureReason::receiver_gone);
  CHECK(reports[2].attempts == 0);
  CHECK(reports[2].detail.rfind("not attempted: ", 0) == 0);
  CHECK(gone.request_count() == 1);
}

namespace {

// What a Dispatcher's constructor throws for `options`, or "opened".
std::string open_error(const DispatcherOptions& options) {
  try {
    const Dispatcher dispatcher(options);
  } catch (const ConfigError& e) {
    CHECK(e.error().code == ErrorCode::store_error);
    return e.what();
  }
  return "opened";
}

// Runs SQL on a store file behind its Dispatcher's back.
void run_sql(const std::string& path, const char* sql) {
  sqlite3* db = nullptr;
  REQUIRE(sqlite3_open(path.c_str(), &db) == SQLITE_OK);
  const int rc = sqlite3_exec(db, sql, nullptr, nullptr, nullptr);
  sqlite3_close(db);
  REQUIRE(rc == SQLITE_OK);
}

}  // namespace

TEST_CASE("the store errors docs/troubleshooting.md quotes are the ones a Dispatcher and StoreFile give",
          "[integration][docs]") {
  TempDir dir;
  const std::string path = dir.file("webhooks.db");
  // The page shows a table row per message, naming the file as given: "webhooks.db".
  const auto quoted = [&dir](std::string message) {
    const std::string folder = dir.path() + "/";
    for (auto at = message.find(folder); at != std::string::npos; at = message.find(folder)) {
      message.erase(at, folder.size());
    }
    INFO(message);
    CHECK(documented("docs/troubleshooting.md", "| `" + message + "` |"));
  };
  const RefusedPort refused;
  DispatcherOptions options;
  options.endpoints = {local_endpoint("ops", refused.url())};
  options.retry.initial_delay = 1h;  // nothing ends while the test runs: shutdown() parks it all
  options.retry.max_delay = 1h;
  options.store.path = path;
  // A store file holding `events` deliveries: parked by shutdown(), or dead letters by then.
  const auto fill = [&options](std::size_t events) {
    Dispatcher dispatcher(options);
    REQUIRE(dispatcher.dispatch_many(std::vector<Event>(events, example_event(EventType::monitor_down))));
    dispatcher.shutdown(0ms);
  };

  SECTION("a file another Dispatcher owns") {
    Dispatcher owner(options);
    quoted(open_error(options));
    auto file = StoreFile::open(path);
    REQUIRE(file);
    const auto again = file->redeliver(std::vector<std::string>{"dlv_0000000000000000000000000"});
    REQUIRE_FALSE(again);
    quoted(again.error().message);
  }
  SECTION("a file that is not a store, a damaged one, one of a newer version") {
    dir.write("webhooks.db", "endpoints:\n  - name: ops\n    url: https://hooks.example.com/statusstack\n" +
                                 std::string(200, '#') + "\n");
    quoted(open_error(options));
    REQUIRE(::unlink(path.c_str()) == 0);
    fill(300);  // the rows fill pages after the first, which holds the schema
    {
      std::fstream file(path, std::ios::in | std::ios::out | std::ios::binary);
      file.seekp(4096);
      const std::string garbage(std::size_t{3} * 4096, '\xff');
      file.write(garbage.data(), static_cast<std::streamsize>(garbage.size()));
      REQUIRE(file.good());
    }
    quoted(open_error(options));
    REQUIRE(::unlink(path.c_str()) == 0);
    fill(1);
    run_sql(path, "PRAGMA user_version = 3");
    quoted(open_error(options));
    REQUIRE(::unlink(path.c_str()) == 0);
    run_sql(path, "CREATE TABLE accounts (id INTEGER PRIMARY KEY)");
    quoted(open_error(options));
  }
  SECTION("a file another program holds a write lock on") {
    fill(1);
    sqlite3* db = nullptr;
    REQUIRE(sqlite3_open(path.c_str(), &db) == SQLITE_OK);
    REQUIRE(sqlite3_exec(db, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr) == SQLITE_OK);
    const std::string error = open_error(options);
    sqlite3_exec(db, "ROLLBACK", nullptr, nullptr, nullptr);
    sqlite3_close(db);
    quoted(error);
  }
  SECTION("a full file: dispatch() refuses the call") {
    options.store.max_bytes = std::uint64_t{64} * 1024;
    Dispatcher dispatcher(options);
    std::optional<Error> refusal;
    for (int i = 0; i < 10000 && !refusal; ++i) {
      if (auto accepted = dispatcher.dispatch(example_event(EventType::monitor_down)); !accepted) {
        refusal = accepted.error();
      }
    }
    REQUIRE(refusal);
    CHECK(refusal->code == ErrorCode::store_error);
    quoted(refusal->message);
    dispatcher.shutdown(0ms);
  }
  SECTION("a read-only folder and file") {
    if (::geteuid() == 0) {
      WARN("not checked as root, whom file permissions do not stop");
    } else {
      REQUIRE(::chmod(dir.path().c_str(), 0555) == 0);
      const std::string no_lock = open_error(options);
      REQUIRE(::chmod(dir.path().c_str(), 0755) == 0);
      quoted(no_lock);
      fill(1);
      REQUIRE(::chmod(path.c_str(), 0444) == 0);
      REQUIRE(::chmod(dir.path().c_str(), 0555) == 0);
      const std::string read_only = open_error(options);
      REQUIRE(::chmod(dir.path().c_str(), 0755) == 0);
      quoted(read_only);
    }
  }
  SECTION("no file, and no store") {
    const auto missing = StoreFile::open(path);
    REQUIRE_FALSE(missing);
    quoted(missing.error().message);
    const Dispatcher in_memory(DispatcherOptions{});
    const auto none = in_memory.deliveries(DeliveryQuery{});
    REQUIRE_FALSE(none);
    quoted(none.error().message);
  }
}

#ifdef SSW_CLI_PATH

namespace {

// The `error` of the JSON line `statusstack-webhook send` prints, or its stderr line without the prefix.
std::string send_error(const std::vector<std::string>& args, const std::vector<std::string>& env = {}) {
  std::vector<std::string> argv = {SSW_CLI_PATH, "send"};
  argv.insert(argv.end(), args.begin(), args.end());
  const ProcessResult run = run_process(argv, env);
  static const std::regex error_field("\"error\":\"((?:[^\"\\\\]|\\\\.)*)\"");
  std::smatch match;
  if (std::regex_search(run.out, match, error_field)) return match[1].str();
  const std::string prefix = "statusstack-webhook: ";
  if (run.err.rfind(prefix, 0) == 0) return run.err.substr(prefix.size(), run.err.size() - prefix.size() - 1);
  return "exit " + std::to_string(run.exit_code) + ": " + run.out + run.err;
}

}  // namespace

TEST_CASE("the configuration errors docs/troubleshooting.md quotes are the ones `send` gives",
          "[integration][docs][cli]") {
  const std::vector<std::string> env = {"STATUSSTACK_WEBHOOK_SECRET=s3cret-for-the-docs"};
  const std::vector<std::vector<std::string>> cases = {
      {"--url", "http://hooks.example.com/statusstack", "--test"},
      {"--url", "not-a-url", "--test"},
      {"--url", "ftp://hooks.example.com/x", "--test"},
      {"--url", "https://hooks.example.com/x", "--test", "--header", "X-StatusStack-Event: x"},
      {"--url", "https://hooks.example.com/x", "--test", "--header", "Bad Name: x"},
      {"--url", "https://hooks.example.com/x", "--test", "--secret", ""},
      {"--url", "https://hooks.example.com/x", "--test", "--standard-webhooks", "--secret", "notbase64!"},
      {"--url", "https://hooks.example.com/x", "--test", "--secret", "s3cret"},
  };
  for (const auto& args : cases) {
    const std::string error = send_error(args, env);
    INFO(error);
    CHECK(documented("docs/troubleshooting.md", "| `" + error + "` |"));
  }
}

TEST_CASE("the connection and TLS errors docs/troubleshooting.md quotes are the ones `send` gives",
          "[integration][docs][cli]") {
  const std::vector<std::string> env = {"STATUSSTACK_WEBHOOK_SECRET=s3cret-for-the-docs"};
  const auto check = [&env](const std::vector<std::string>& args) {
    const std::string error = send_error(args, env);
    INFO(error);
    CHECK(documented("docs/troubleshooting.md", "\"error\":\"" + error + "\""));
  };
  SECTION("nothing listens") {
    const RefusedPort refused;
    check({"--url", refused.url(), "--allow-http", "--allow-private-network", "--test"});
  }
  SECTION("no answer in time") {
    HttpTestServer slow([](const RecordedRequest&) { return Reply{200, {}, "late", 3s}; });
    check({"--url", slow.url("/slow"), "--allow-http", "--allow-private-network", "--test", "--timeout-ms",
           "1000"});
  }
  SECTION("https:// to a port that speaks plain HTTP") {
    HttpTestServer plain;
    check({"--url", "https://127.0.0.1:" + std::to_string(plain.port()) + "/hook", "--allow-private-network",
           "--test"});
  }
  SECTION("TLS verification") {
    const TestCertificates certs;
    HttpTestServer tls(certs);
    HttpTestServer wrong_host(certs, {}, true);
    const auto table_row = [&env](const std::vector<std::string>& args) {
      const std::string error = send_error(args, env);
      INFO(error);
      CHECK(documented("docs/troubleshooting.md", "| `" + error + "` |"));
    };
    // a private CA the system does not trust
    table_row({"--url", tls.url(), "--allow-private-network", "--test"});
    table_row({"--url", wrong_host.url(), "--allow-private-network", "--test", "--cacert", certs.ca_file()});
    table_row({"--url", tls.url(), "--allow-private-network", "--test", "--cacert", "nonexistent.pem"});
    CHECK(
        send_error(
            {"--url", tls.url("/ok"), "--allow-private-network", "--test", "--cacert", certs.ca_file()}, env)
            .find("exit 0") == 0);
  }
  SECTION("a receiver on this machine without --allow-private-network") {
    HttpTestServer receiver;
    check({"--url", receiver.url(), "--allow-http", "--test"});
    CHECK(receiver.request_count() == 0);
    CHECK(receiver.connection_count() == 0);
  }
  SECTION("a receiver that does not know the secret") {
    HttpTestServer receiver(verifying_handler("the-right-secret"));
    const ProcessResult run =
        run_process({SSW_CLI_PATH, "send", "--url", receiver.url(), "--allow-http", "--allow-private-network",
                     "--test", "--secret", "the-wrong-secret"});
    CHECK(run.exit_code == 1);
    const auto response = run.out.find(",\"response\"");
    REQUIRE(response != std::string::npos);
    CHECK(documented("docs/troubleshooting.md", "\"status\":401,\"error\":null,"));
    CHECK(documented("docs/troubleshooting.md", run.out.substr(response)));
  }
}

TEST_CASE("the reports and summaries docs/troubleshooting.md shows are the ones `dispatch` prints",
          "[integration][docs][cli]") {
  TempDir dir;
  HttpTestServer failing([](const RecordedRequest&) { return Reply{500, {}, "internal error", {}}; });
  HttpTestServer busy([](const RecordedRequest&) {
    return Reply{429, {{"Retry-After", "1"}}, "slow down", {}};
  });
  HttpTestServer slow([](const RecordedRequest&) { return Reply{200, {}, "late", 3s}; });
  const std::string rules = dir.write(
      "rules.json",
      R"({"endpoints": [
        {"name": "flaky", "url": ")" +
          failing.url("/500") +
          R"(", "secret": "s3cret-for-the-docs", "allow_http": true, "allow_private_network": true},
        {"name": "busy", "url": ")" +
          busy.url("/429") +
          R"(", "secret": "s3cret-for-the-docs", "allow_http": true, "allow_private_network": true}],
        "retry": {"max_attempts": 3, "initial_delay_ms": 200, "max_delay_ms": 1000, "jitter": 0}})");
  const std::string slow_rules = dir.write(
      "slow.json",
      R"({"endpoints": [
        {"name": "slow", "url": ")" +
          slow.url("/slow") +
          R"(", "secret": "s3cret-for-the-docs", "allow_http": true, "allow_private_network": true}]})");
  const std::string events =
      dir.write("events.jsonl", to_json(example_event(EventType::monitor_down)) + "\n");

  // flaky ends after about 0.6 s, busy (1 s apart, as its Retry-After asks) after about 2 s: in that order.
  const ProcessResult exhausted =
      run_process({SSW_CLI_PATH, "dispatch", "--config", rules, "--events", events});
  INFO(exhausted.out + exhausted.err);
  CHECK(exhausted.exit_code == 1);
  CHECK(lines_of(exhausted.out).size() == 3);
  CHECK(documented("docs/troubleshooting.md", exhausted.out));
  CHECK(busy.request_count() == 3);

  const ProcessResult abandoned = run_process(
      {SSW_CLI_PATH, "dispatch", "--config", slow_rules, "--events", events, "--shutdown-ms", "500"});
  INFO(abandoned.out + abandoned.err);
  CHECK(abandoned.exit_code == 1);
  CHECK(lines_of(abandoned.out).size() == 2);
  CHECK(documented("docs/troubleshooting.md", abandoned.out));
}

TEST_CASE("the dispatch output the README shows, reports then a summary, is the one `dispatch` prints",
          "[integration][docs][cli]") {
  TempDir dir;
  HttpTestServer receiver(verifying_handler("s3cret-for-the-docs"));
  const std::string rules = dir.write(
      "rules.json",
      R"({"endpoints": [
        {"name": "ops", "url": ")" +
          receiver.url("/hook") +
          R"(", "secret": "s3cret-for-the-docs", "allow_http": true, "allow_private_network": true}]})");
  // The second line is not an event: it is skipped, and named on stderr.
  const std::string events =
      dir.write("events.jsonl", to_json(example_event(EventType::incident_created)) + "\n" +
                                    R"({"event":"monitor.down","timestamp":"2025-01-19T10:29:42Z"})" + "\n" +
                                    to_json(example_event(EventType::monitor_down)) + "\n");
  const ProcessResult run = run_process({SSW_CLI_PATH, "dispatch", "--config", rules, "--events", events});
  INFO(run.out + run.err);
  CHECK(run.exit_code == 1);  // a line was skipped
  const std::vector<std::string> lines = lines_of(run.out);
  REQUIRE(lines.size() == 3);
  for (const std::string& line : lines) CHECK(documented("README.md", line));  // reports in either order
  CHECK(lines.back() == R"({"summary":true,"accepted":2,"delivered":2,"failed":0,"skipped":1})");
  std::string err = run.err;
  err.replace(err.find(dir.path() + "/"), dir.path().size() + 1, "");
  CHECK(documented("README.md", err));
  CHECK(receiver.request_count() == 2);
}

TEST_CASE("the verify messages docs/troubleshooting.md quotes are the ones `verify` gives",
          "[integration][docs][cli]") {
  TempDir dir;
  const std::string body = to_json(example_event(EventType::monitor_down));
  const std::string file = dir.write("body.json", body);
  const std::string signature = Signer("the-right-secret").sign(body);
  std::string upper = signature;
  for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  for (const std::string& sig : {Signer("the-wrong-secret").sign(body), upper, "sha256=" + signature}) {
    const ProcessResult run =
        run_process({SSW_CLI_PATH, "verify", "--secret", "the-right-secret", "--signature", sig, file});
    CHECK(run.exit_code == 1);
    const std::string prefix = "statusstack-webhook: ";
    REQUIRE(run.err.rfind(prefix, 0) == 0);
    CHECK(documented("docs/troubleshooting.md",
                     "| `" + run.err.substr(prefix.size(), run.err.size() - prefix.size() - 1) + "` |"));
  }
}

#endif
