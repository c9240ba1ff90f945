// The statusstack-webhook tool run as a user runs it: no arguments, `send` to the vendor formats,
// errors that keep secrets out of sight, and `dispatch` stopped by SIGTERM or SIGINT.

#include <statusstack/webhooks/events.hpp>
#include <statusstack/webhooks/formats.hpp>
#include <statusstack/webhooks/signature.hpp>

#include "support/process.hpp"
#include "support/servers.hpp"
#include "support/vendor_fakes.hpp"

#include <catch2/catch.hpp>

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <regex>
#include <set>
#include <string>
#include <vector>

#ifdef SSW_CLI_PATH

using namespace statusstack::webhooks;
using namespace statusstack::webhooks::testing;
using namespace std::chrono_literals;

namespace {

constexpr const char* routing_key = "e93facc04764012d7bfb002500d5d1a6";

// The tool with `args`, the environment's STATUSSTACK_WEBHOOK_SECRET cleared unless `env` sets it.
ProcessResult run_cli(const std::vector<std::string>& args, std::vector<std::string> env = {},
                      const std::string& input_file = "") {
  std::vector<std::string> argv = {SSW_CLI_PATH};
  argv.insert(argv.end(), args.begin(), args.end());
  if (env.empty()) env.push_back("STATUSSTACK_WEBHOOK_SECRET=");
  return run_process(argv, env, input_file);
}

// The value of a string field in one JSON line the tool printed ("" when it is not there).
std::string field_of(const std::string& line, const std::string& name) {
  const std::regex field("\"" + name + "\":\"((?:[^\"\\\\]|\\\\.)*)\"");
  std::smatch match;
  return std::regex_search(line, match, field) ? match[1].str() : std::string();
}

// A FIFO the tool reads its events from, held open for writing by the test: the tool sees no end of
// input and waits for more, as it does on a terminal or a pipe from a program still running.
class EventPipe {
 public:
  explicit EventPipe(const TempDir& dir) : path_(dir.file("events.fifo")) {
    if (::mkfifo(path_.c_str(), 0600) != 0) throw std::runtime_error("mkfifo failed");
    // O_RDWR does not wait for a reader to open the other end (Linux).
    fd_ = ::open(path_.c_str(), O_RDWR | O_CLOEXEC);
    if (fd_ < 0) throw std::runtime_error("cannot open the FIFO");
  }
  ~EventPipe() { ::close(fd_); }
  EventPipe(const EventPipe&) = delete;
  EventPipe& operator=(const EventPipe&) = delete;

  const std::string& path() const { return path_; }
  // Writes every byte (well within the pipe's buffer in these tests, so it never waits for the reader).
  void write(const std::string& text) const {
    std::size_t done = 0;
    while (done < text.size()) {
      const ssize_t n = ::write(fd_, text.data() + done, text.size() - done);
      if (n <= 0) throw std::runtime_error("cannot write to the FIFO");
      done += static_cast<std::size_t>(n);
    }
  }

 private:
  std::string path_;
  int fd_ = -1;
};

}  // namespace

TEST_CASE("the CLI without arguments prints its help on stderr and exits 2", "[integration][cli]") {
  const ProcessResult bare = run_cli({});
  CHECK(bare.exit_code == 2);
  CHECK(bare.out.empty());
  CHECK(bare.err.find("Usage: ") != std::string::npos);
  CHECK(bare.err.find("dispatch") != std::string::npos);

  const ProcessResult help = run_cli({"--help"});
  CHECK(help.exit_code == 0);
  CHECK(help.out.find("Usage: ") != std::string::npos);

  // Every other mistake in the arguments is a usage error too, not one of CLI11's own codes (106, 109).
  const ProcessResult unknown = run_cli({"deliver"});
  CHECK(unknown.exit_code == 2);
  CHECK(unknown.err ==
        "The following argument was not expected: deliver\nRun with --help for more information.\n");
  const ProcessResult missing = run_cli({"dispatch"});
  CHECK(missing.exit_code == 2);
  CHECK(missing.err == "--config is required\nRun with --help for more information.\n");
  const ProcessResult no_url = run_cli({"send", "--secret", "a-long-random-secret", "--test"});
  CHECK(no_url.exit_code == 2);
  CHECK(no_url.err == "--url is required\nRun with --help for more information.\n");
}

TEST_CASE("send delivers the PagerDuty and Datadog formats and prints the vendor's receipt",
          "[integration][cli][formats]") {
  const TempDir dir;
  SECTION("pagerduty: a monitor.down opens an alert under its dedup_key") {
    FakePagerDuty pagerduty;
    const Event down = example_event(EventType::monitor_down);
    const ProcessResult run = run_cli({"send", "--format", "pagerduty", "--routing-key", routing_key, "--url",
                                       pagerduty.url(), "--allow-http", "--allow-private-network",
                                       "--event-file", dir.write("down.json", to_json(down))});
    INFO(run.err);
    CHECK(run.exit_code == 0);
    CHECK(run.out.rfind("{\"status\":202,\"error\":null,", 0) == 0);
    CHECK(field_of(run.out, "receipt") == dedup_key(down));
    const auto alert = pagerduty.alert(dedup_key(down));
    REQUIRE(alert);
    CHECK(alert->status == "triggered");
    CHECK(alert->routing_key == routing_key);
    // No secret given: the vendor's key authenticates, nothing is signed.
    CHECK_FALSE(find_header(pagerduty.exchanges().at(0).request.headers, "X-StatusStack-Signature"));
  }
  SECTION("datadog: the API key goes in DD-API-KEY, the receipt is the event's id_str") {
    FakeDatadog datadog;
    datadog.set_expected_api_key("dd-api-key-1");
    const ProcessResult run = run_cli({"send", "--format", "datadog", "--api-key", "dd-api-key-1", "--site",
                                       "EU", "--url", datadog.url(), "--allow-http",
                                       "--allow-private-network", "--test", "--type", "incident.created"});
    INFO(run.err);
    CHECK(run.exit_code == 0);
    REQUIRE(datadog.event_ids().size() == 1);
    CHECK(field_of(run.out, "receipt") == datadog.event_ids().front());

    const ProcessResult refused =
        run_cli({"send", "--format", "datadog", "--api-key", "another-key", "--url", datadog.url(),
                 "--allow-http", "--allow-private-network", "--test"});
    CHECK(refused.exit_code == 1);
    CHECK(refused.out.rfind("{\"status\":403,\"error\":null,", 0) == 0);
    CHECK(field_of(refused.out, "detail") == "Forbidden");
    CHECK(refused.out.find("another-key") == std::string::npos);
  }
  SECTION("a secret, when given, signs a vendor request as well") {
    FakePagerDuty pagerduty;
    const ProcessResult run = run_cli({"send", "--format", "pagerduty", "--routing-key", routing_key, "--url",
                                       pagerduty.url(), "--allow-http", "--allow-private-network", "--test"},
                                      {"STATUSSTACK_WEBHOOK_SECRET=secret-from-the-environment"});
    CHECK(run.exit_code == 0);
    const RecordedRequest got = pagerduty.exchanges().at(0).request;
    CHECK(Verifier("secret-from-the-environment").verify_request(got.headers, got.body));
  }
  SECTION("settings that cannot work are refused before anything is sent, naming the option") {
    const RefusedPort refused;
    const std::string url = refused.url("/");
    const auto error_of = [&url](std::vector<std::string> args) {
      args.insert(args.begin(), "send");
      for (const char* common : {"--url", url.c_str(), "--allow-http", "--allow-private-network", "--test"})
        args.emplace_back(common);
      const ProcessResult run = run_cli(args, {"STATUSSTACK_WEBHOOK_SECRET=a-long-random-secret"});
      CHECK(run.exit_code == 2);
      CHECK(run.out.empty());
      return run.err;
    };
    CHECK(error_of({"--format", "opsgenie"}) ==
          "statusstack-webhook: --format: expected statusstack, pagerduty or datadog (got \"opsgenie\")\n");
    CHECK(
        error_of({"--format", "pagerduty"}) ==
        "statusstack-webhook: --routing-key: the pagerduty format needs the integration key of an Events API "
        "v2 integration\n");
    CHECK(error_of({"--format", "pagerduty", "--routing-key", "abc"}) ==
          "statusstack-webhook: --routing-key: must be 32 characters (a PagerDuty integration key), got 3\n");
    CHECK(error_of({"--format", "datadog"}) ==
          "statusstack-webhook: --api-key: the datadog format needs an API key (sent as the DD-API-KEY "
          "header)\n");
    CHECK(error_of({"--format", "datadog", "--api-key", "k", "--site", "mars"}) ==
          "statusstack-webhook: --site: expected US1, US3, US5, EU, AP1 or US1-FED (got \"mars\")\n");
    CHECK(error_of({"--format", "pagerduty", "--routing-key", routing_key, "--site", "EU"}) ==
          "statusstack-webhook: --site: not a setting of the pagerduty format\n");
    CHECK(error_of({"--api-key", "k"}) ==
          "statusstack-webhook: --api-key: not a setting of the statusstack format\n");
  }
}

TEST_CASE("send refuses a receiver on this machine unless --allow-private-network or --allow-network",
          "[integration][cli][network]") {
  HttpTestServer server;
  const auto run_send = [&server](std::vector<std::string> args) {
    args.insert(args.begin(), {"send", "--url", server.url(), "--allow-http", "--test", "--secret",
                               "a-long-random-secret"});
    return run_cli(args);
  };
  const ProcessResult blocked = run_send({});
  CHECK(blocked.exit_code == 1);
  CHECK(blocked.out.find(R"("error":"blocked: 127.0.0.1 is a loopback address (127.0.0.0/8); allow it with )"
                         R"(allow_private_network or allowed_networks")") != std::string::npos);
  CHECK(server.connection_count() == 0);

  const ProcessResult other_network = run_send({"--allow-network", "10.0.0.0/8", "--allow-network", "::1"});
  CHECK(other_network.exit_code == 1);
  CHECK(other_network.out.find(R"("error":"blocked: )") != std::string::npos);
  CHECK(server.connection_count() == 0);

  const ProcessResult by_network =
      run_send({"--allow-network", "10.0.0.0/8", "--allow-network", "127.0.0.0/8"});
  CHECK(by_network.exit_code == 0);
  CHECK(server.request_count() == 1);
  const ProcessResult by_switch = run_send({"--allow-private-network"});
  CHECK(by_switch.exit_code == 0);
  CHECK(server.request_count() == 2);

  const ProcessResult bad = run_send({"--allow-network", "127.0.0.1/8"});
  CHECK(bad.exit_code == 2);
  CHECK(bad.err ==
        "statusstack-webhook: --allow-network: network \"127.0.0.1/8\": host bits are set beyond the "
        "prefix (the network is 127.0.0.0/8)\n");
  CHECK(server.request_count() == 2);

  const ProcessResult help = run_cli({"send", "--help"});
  CHECK(help.out.find("--allow-private-network") != std::string::npos);
  CHECK(help.out.find("--allow-network") != std::string::npos);
}

TEST_CASE("send errors never show a header value or a key", "[integration][cli]") {
  const RefusedPort nobody;  // connections to it are refused
  const std::string url = nobody.url("/");
  const auto run_send = [&url](std::vector<std::string> args) {
    args.insert(args.begin(), {"send", "--url", url, "--allow-http", "--allow-private-network", "--test",
                               "--secret", "a-long-random-secret"});
    return run_cli(args);
  };
  const ProcessResult no_colon = run_send({"--header", "Authorization Bearer TOPSECRET"});
  CHECK(no_colon.exit_code == 2);
  CHECK(no_colon.err ==
        "statusstack-webhook: --header: expected 'Name: value' (got 30 characters without a ':'; not shown, "
        "as a "
        "header value may be a secret)\n");
  const ProcessResult reserved = run_send({"--header", "X-StatusStack-Signature: TOPSECRET"});
  CHECK(reserved.exit_code == 2);
  CHECK(reserved.err.find("X-StatusStack-Signature") != std::string::npos);
  CHECK(reserved.err.find("TOPSECRET") == std::string::npos);
  const ProcessResult newline = run_send({"--header", "Authorization: Bearer TOPSECRET\r\nX-Evil: 1"});
  CHECK(newline.exit_code == 2);
  CHECK(newline.err.find("TOPSECRET") == std::string::npos);
  const ProcessResult short_key = run_send({"--format", "pagerduty", "--routing-key", "TOPSECRET"});
  CHECK(short_key.exit_code == 2);
  CHECK(short_key.err.find("TOPSECRET") == std::string::npos);
  const ProcessResult misplaced_key = run_send({"--api-key", "TOPSECRET"});
  CHECK(misplaced_key.exit_code == 2);
  CHECK(misplaced_key.err.find("TOPSECRET") == std::string::npos);

  // Credentials in a URL the request was made to stay out of the outcome the tool prints.
  const ProcessResult refused =
      run_cli({"send", "--url",
               "http://alice:TOPSECRET@127.0.0.1:" + std::to_string(nobody.port()) + "/?token=TOPSECRET",
               "--allow-http", "--allow-private-network", "--test", "--secret", "a-long-random-secret",
               "--header", "Authorization: Bearer TOPSECRET"});
  CHECK(refused.exit_code == 1);
  CHECK(refused.out.rfind("{\"status\":null,\"error\":\"refused: ", 0) == 0);
  CHECK(refused.out.find("TOPSECRET") == std::string::npos);
  CHECK(refused.err.find("TOPSECRET") == std::string::npos);
}

TEST_CASE("a directory given where the tool reads a file is a clear error, not an abort",
          "[integration][cli]") {
  const TempDir dir;
  const std::string expected = "statusstack-webhook: cannot read " + dir.path() + ": it is a directory\n";
  for (const std::vector<std::string>& args : {std::vector<std::string>{"parse", dir.path()},
                                               {"dispatch", "--config", dir.path()},
                                               {"render", "--format", "datadog", dir.path()},
                                               {"send", "--url", "https://hooks.example.com/h", "--secret",
                                                "a-long-random-secret", "--event-file", dir.path()}}) {
    INFO(args.front());
    const ProcessResult run = run_cli(args);
    CHECK(run.exit_code == 2);
    CHECK(run.out.empty());
    CHECK(run.err == expected);
  }
}

// The message comes from the library's validate_request (src/client.cpp), which shows the URL redacted.
TEST_CASE("send refuses a URL without showing its user-info or query", "[integration][cli]") {
  const ProcessResult run =
      run_cli({"send", "--url", "http://alice:TOPSECRET@127.0.0.1:1/?token=TOPSECRET", "--test", "--secret",
               "a-long-random-secret", "--header", "Authorization: Bearer TOPSECRET"});
  CHECK(run.exit_code == 2);
  CHECK(run.err.find("must be https://") != std::string::npos);
  CHECK(run.err.find("TOPSECRET") == std::string::npos);
}

TEST_CASE("dispatch's summary names the endpoints whose breaker is not closed", "[integration][cli]") {
  HttpTestServer down([](const RecordedRequest&) { return Reply{503, {}, "busy", {}}; });
  HttpTestServer up([](const RecordedRequest&) { return Reply{204, {}, "", {}}; });
  const TempDir dir;
  // Both on this machine: allowed private networks (the guard would block them otherwise).
  const std::string local = R"(", "allow_http": true, "allow_private_network": true, "secret": ")";
  const std::string rules =
      dir.write("rules.json", R"({"endpoints": [{"name": "down", "url": ")" + down.url() + local +
                                  R"(first-cli-rules-secret"}, {"name": "up", "url": ")" + up.url() + local +
                                  R"(second-cli-rules-secret"}],
    "retry": {"max_attempts": 5, "initial_delay_ms": 10, "jitter": 0},
    "breaker": {"failure_threshold": 2, "cool_down_ms": 3600000, "max_cool_down_ms": 3600000}})");
  const std::string events =
      dir.write("events.jsonl", to_json(example_event(EventType::monitor_down)) + "\n");
  const ProcessResult run =
      run_cli({"dispatch", "--config", rules, "--events", events, "--shutdown-ms", "1000"});
  INFO(run.err);
  CHECK(run.exit_code == 1);
  const std::vector<std::string> out = lines_of(run.out);
  REQUIRE(out.size() == 3);
  // Two failed attempts opened the breaker: the delivery waited behind it until the shutdown.
  CHECK(down.request_count() == 2);
  CHECK(
      out.back() ==
      R"({"summary":true,"accepted":2,"delivered":1,"failed":1,"skipped":0,"unhealthy_endpoints":)"
      R"([{"name":"down","breaker":"open","gone":false,"consecutive_failures":2,"last_error":"HTTP 503"}]})");
}

TEST_CASE(
    "dispatch stopped by SIGTERM or SIGINT reports every accepted delivery and then ends by that signal",
    "[integration][cli][dispatcher]") {
  // Two endpoints that keep deliveries pending: one answers after 30 s (one request at a time, the
  // rest queue behind it), the other answers 503 and is not retried for a minute (its breaker off,
  // so that every delivery gets its first attempt).
  HttpTestServer slow([](const RecordedRequest&) { return Reply{200, {}, "late", 30s}; });
  HttpTestServer unavailable([](const RecordedRequest&) { return Reply{503, {}, "busy", {}}; });
  constexpr std::size_t events = 20;
  constexpr std::size_t deliveries = 2 * events;
  const TempDir dir;
  const auto rules_with = [&](std::size_t max_pending) {
    return dir.write(
        "rules.json",
        R"({"endpoints": [
        {"name": "slow", "url": ")" +
            slow.url() +
            R"(", "secret": "first-cli-rules-secret", "allow_http": true, "allow_private_network": true, "max_in_flight": 1},
        {"name": "unavailable", "url": ")" +
            unavailable.url() +
            R"(", "secret": "second-cli-rules-secret", "allow_http": true, "allow_private_network": true}],
      "retry": {"max_attempts": 5, "initial_delay_ms": 60000, "jitter": 0},
      "breaker": {"failure_threshold": 0},
      "max_pending": )" +
            std::to_string(max_pending) + "}");
  };
  std::string lines;
  for (std::size_t i = 0; i < events; ++i) {
    lines += to_json(example_event(all_event_types[i % all_event_types.size()])) + "\n";
  }
  constexpr auto shutdown = 1000ms;
  // Generous for a loaded machine; the tool takes ~shutdown itself (the slow request waits for it).
  constexpr auto margin = 4000ms;

  int signal_number = 0;
  std::string rules;
  std::string more;  // written after the accepted events
  SECTION("SIGTERM while it waits for the next line of input") {
    signal_number = SIGTERM;
    rules = rules_with(100000);
  }
  SECTION("SIGINT while it waits for room in the queue") {
    signal_number = SIGINT;
    rules = rules_with(deliveries);  // full once the events are accepted: the next dispatch() waits
    more = lines;
  }
  const std::string name = signal_number == SIGTERM ? "SIGTERM" : "SIGINT";
  const EventPipe input(dir);
  input.write(lines + more);
  BackgroundProcess cli({SSW_CLI_PATH, "dispatch", "--config", rules, "--events", input.path(),
                         "--shutdown-ms", std::to_string(shutdown.count())});
  // Every event accepted and tried once where an endpoint can take it.
  REQUIRE(unavailable.wait_for_requests(events, 30s));
  REQUIRE(slow.wait_for_requests(1, 30s));

  const auto signalled = std::chrono::steady_clock::now();
  cli.send_signal(signal_number);
  const auto ended = cli.wait(shutdown + margin);
  REQUIRE(ended);
  CHECK(std::chrono::steady_clock::now() - signalled < shutdown + margin);
  INFO(ended->err);
  CHECK(ended->exit_code == 128 + signal_number);
  CHECK(ended->err.rfind(
            "statusstack-webhook: " + name + ": reading no more events; deliveries not done within " +
                std::to_string(shutdown.count()) + " ms (--shutdown-ms) end as failed (shutdown)\n",
            0) == 0);

  const std::vector<std::string> out = lines_of(ended->out);
  REQUIRE(out.size() == deliveries + 1);
  std::set<std::string> reported;
  std::size_t abandoned = 0;
  for (std::size_t i = 0; i < deliveries; ++i) {
    INFO(out[i]);
    CHECK(out[i].find("\"outcome\":\"failed\",\"reason\":\"shutdown\"") != std::string::npos);
    reported.insert(field_of(out[i], "delivery_id"));
    if (out[i].find("attempt abandoned at the shutdown deadline") != std::string::npos) ++abandoned;
  }
  CHECK(reported.size() == deliveries);  // one report per delivery: no id twice
  CHECK(abandoned == 1);                 // the slow request on the wire
  for (const HttpTestServer* server : {&slow, &unavailable}) {
    for (const RecordedRequest& request : server->requests()) {
      CHECK(reported.count(*find_header(request.headers, "X-StatusStack-Delivery")) == 1);
    }
  }
  CHECK(out.back() == "{\"summary\":true,\"accepted\":" + std::to_string(deliveries) +
                          ",\"delivered\":0,\"failed\":" + std::to_string(deliveries) +
                          ",\"skipped\":0,\"interrupted_by\":\"" + name + "\"}");
}

#endif
