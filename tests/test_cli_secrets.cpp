// The command-line tool's secrets: --secret-file (a file or standard input, instead of --secret,
// which other users see in the process list) and the sender's minimum secret length.

#include <statusstack/webhooks/events.hpp>
#include <statusstack/webhooks/signature.hpp>

#include "support/process.hpp"
#include "support/servers.hpp"

#include <catch2/catch.hpp>

#include <string>
#include <vector>

using namespace statusstack::webhooks;
using namespace statusstack::webhooks::testing;

#ifdef SSW_CLI_PATH

namespace {

// Runs the tool with STATUSSTACK_WEBHOOK_SECRET unset, so only the options given count.
ProcessResult run_cli(std::vector<std::string> args, const std::string& input_file = "") {
  args.insert(args.begin(), {"env", "-u", "STATUSSTACK_WEBHOOK_SECRET", SSW_CLI_PATH});
  return run_process(args, {}, input_file);
}

const std::string first_secret = "first secret from a file, 0001";
const std::string second_secret = "second secret from a file, 0002";

}  // namespace

TEST_CASE("sign, verify and send read the secret from --secret-file, a file or standard input",
          "[integration][cli][secrets]") {
  TempDir dir;
  const std::string body = "{\"event\":\"monitor.down\"}";
  const std::string body_file = dir.write("body.json", body);
  const std::string expected = Signer(first_secret).sign(body);

  SECTION("sign: the trailing newline is not part of the secret, \\r\\n neither") {
    for (const std::string& text : {first_secret, first_secret + "\n", first_secret + "\r\n"}) {
      const ProcessResult run = run_cli({"sign", "--secret-file", dir.write("secret", text), body_file});
      INFO(run.err);
      CHECK(run.exit_code == 0);
      CHECK(run.out == expected + "\n");
    }
    const ProcessResult from_stdin =
        run_cli({"sign", "--secret-file", "-", body_file}, dir.write("stdin", first_secret + "\n"));
    CHECK(from_stdin.exit_code == 0);
    CHECK(from_stdin.out == expected + "\n");
    const ProcessResult two = run_cli(
        {"sign", "--secret-file", dir.write("two", first_secret + "\n" + second_secret + "\n"), body_file});
    CHECK(two.exit_code == 2);
    CHECK(two.err == "statusstack-webhook: sign takes exactly one secret\n");
  }
  SECTION("verify: one secret a line, any one matching passes") {
    const std::string both = dir.write("both", second_secret + "\n" + first_secret + "\n");
    const ProcessResult valid =
        run_cli({"verify", "--secret-file", both, "--signature", expected, body_file});
    CHECK(valid.exit_code == 0);
    CHECK(valid.out == "valid\n");
    const ProcessResult other = run_cli(
        {"verify", "--secret-file", dir.write("other", second_secret), "--signature", expected, body_file});
    CHECK(other.exit_code == 1);
    CHECK(other.err ==
          "statusstack-webhook: invalid (signature_mismatch): signature: does not match the body\n");
  }
  SECTION("send: the request is signed with the file's secret") {
    HttpTestServer server;
    const ProcessResult run =
        run_cli({"send", "--url", server.url(), "--allow-http", "--allow-private-network", "--test",
                 "--secret-file", dir.write("secret", first_secret + "\n")});
    INFO(run.err);
    CHECK(run.exit_code == 0);
    REQUIRE(server.requests().size() == 1);
    const RecordedRequest got = server.requests().at(0);
    CHECK(Verifier(first_secret).verify_request(got.headers, got.body));
    CHECK(run.out.find(first_secret) == std::string::npos);
  }
}

TEST_CASE(
    "a --secret-file beside --secret, unreadable, empty or on the standard input of the body is refused",
    "[integration][cli][secrets]") {
  TempDir dir;
  const std::string body_file = dir.write("body.json", "{}");
  const std::string secret_file = dir.write("secret", first_secret + "\n");
  for (const char* command : {"sign", "verify", "send"}) {
    INFO(command);
    const std::vector<std::string> args{command, "--secret", second_secret, "--secret-file", secret_file};
    const ProcessResult both = run_cli(args);
    CHECK(both.exit_code != 0);
    CHECK(both.err.find("--secret excludes --secret-file") != std::string::npos);
    CHECK(both.err.find(first_secret) == std::string::npos);
    CHECK(both.err.find(second_secret) == std::string::npos);
  }
  const std::string missing = dir.file("no-such-secret");
  const ProcessResult unreadable = run_cli({"sign", "--secret-file", missing, body_file});
  CHECK(unreadable.exit_code == 2);
  CHECK(unreadable.err ==
        "statusstack-webhook: --secret-file: cannot open " + missing + ": No such file or directory\n");
  const ProcessResult a_directory = run_cli({"sign", "--secret-file", dir.path(), body_file});
  CHECK(a_directory.exit_code == 2);
  CHECK(a_directory.err == "statusstack-webhook: --secret-file: cannot read " + dir.path() + "\n");
  const ProcessResult empty = run_cli({"sign", "--secret-file", dir.write("empty", ""), body_file});
  CHECK(empty.exit_code == 2);
  CHECK(empty.err == "statusstack-webhook: --secret-file: " + dir.file("empty") + " holds no secret\n");
  const ProcessResult stdin_twice = run_cli({"sign", "--secret-file", "-"}, secret_file);
  CHECK(stdin_twice.exit_code == 2);
  CHECK(stdin_twice.err ==
        "statusstack-webhook: --secret-file -: standard input is the body here; give the body as FILE\n");
}

TEST_CASE("sign and send refuse a secret under 16 bytes unless --allow-short-secret, verify takes it",
          "[integration][cli][secrets]") {
  TempDir dir;
  const std::string body = "{}";
  const std::string body_file = dir.write("body.json", body);
  const std::string short_secret = "sh0rt";
  const ProcessResult sign = run_cli({"sign", "--secret", short_secret, body_file});
  CHECK(sign.exit_code == 2);
  CHECK(sign.out.empty());
  CHECK(sign.err ==
        "statusstack-webhook: secret: 5 bytes, at least 16 are needed (a legacy receiver's shorter "
        "secret needs --allow-short-secret)\n");
  const ProcessResult standard =
      run_cli({"sign", "--standard-webhooks", "--secret", "whsec_c2hvcnQ=", "--id", "msg_1", body_file});
  CHECK(standard.exit_code == 2);
  CHECK(standard.err.find("secret: 5 bytes, at least 16") != std::string::npos);
  const ProcessResult allowed =
      run_cli({"sign", "--allow-short-secret", "--secret", short_secret, body_file});
  CHECK(allowed.exit_code == 0);
  CHECK(allowed.out == Signer(short_secret).sign(body) + "\n");

  const ProcessResult verify = run_cli(
      {"verify", "--secret", short_secret, "--signature", Signer(short_secret).sign(body), body_file});
  CHECK(verify.exit_code == 0);

  HttpTestServer server;
  const ProcessResult send = run_cli({"send", "--url", server.url(), "--allow-http",
                                      "--allow-private-network", "--test", "--secret", short_secret});
  CHECK(send.exit_code == 2);
  CHECK(send.err ==
        "statusstack-webhook: endpoint \"cli\": secret: 5 bytes, at least 16 are needed (a legacy "
        "receiver's shorter secret needs allow_short_secret)\n");
  CHECK(server.request_count() == 0);
  const ProcessResult legacy =
      run_cli({"send", "--url", server.url(), "--allow-http", "--allow-private-network", "--test", "--secret",
               short_secret, "--allow-short-secret"});
  CHECK(legacy.exit_code == 0);
  REQUIRE(server.request_count() == 1);
  for (const ProcessResult* run : {&sign, &standard, &send, &legacy}) {
    CHECK(run->out.find(short_secret) == std::string::npos);
    CHECK(run->err.find(short_secret) == std::string::npos);
  }
}

#endif
