// statusstack-webhook sign / verify: signatures of exact bytes from a file or standard input.

#include "cli.hpp"

#include <statusstack/webhooks/endpoint.hpp>
#include <statusstack/webhooks/events.hpp>
#include <statusstack/webhooks/signature.hpp>

#include <charconv>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

namespace statusstack::webhooks::cli {

namespace {

struct SignatureOptions {
  std::vector<std::string> secrets;
  std::string secret_file;  ///< --secret-file, instead of --secret
  std::string signature;
  std::string input = "-";
  bool standard_webhooks = false;
  bool allow_short_secret = false;  ///< sign only: verify accepts what senders send
  std::string msg_id;
  std::string timestamp;
  std::int64_t tolerance = 300;
};

std::int64_t parse_timestamp(const std::string& text) {
  std::int64_t value = 0;
  const auto parsed = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || parsed.ec != std::errc{} || parsed.ptr != text.data() + text.size()) {
    fail(exit_usage, "--timestamp: must be unix seconds (got \"" + text + "\")");
  }
  return value;
}

[[noreturn]] void fail_config(const ConfigError& e) { fail(exit_usage, e.what()); }

// sign makes what a sender sends, so it keeps the sender's rule (validate_endpoint's); verify does
// not, as a receiver checks whatever its senders sign with. The length only, never the secret.
void check_secret_length(const std::string& secret, const SignatureOptions& options) {
  const SignatureScheme scheme =
      options.standard_webhooks ? SignatureScheme::standard_webhooks : SignatureScheme::statusstack;
  const std::size_t key_bytes = hmac_key_size(secret, scheme);
  if (key_bytes >= min_secret_bytes || options.allow_short_secret) return;
  fail(exit_usage, "secret: " + std::to_string(key_bytes) + (key_bytes == 1 ? " byte" : " bytes") +
                       ", at least " + std::to_string(min_secret_bytes) +
                       " are needed (a legacy receiver's shorter secret needs --allow-short-secret)");
}

// The secret is checked before the body is read, so a bad secret never waits on standard input.
// Standard input can be the secret or the body, not both.
void check_one_use_of_stdin(const SignatureOptions& options) {
  if (options.secret_file == "-" && (options.input.empty() || options.input == "-")) {
    fail(exit_usage, "--secret-file -: standard input is the body here; give the body as FILE");
  }
}

void run_sign(const SignatureOptions& options) {
  check_one_use_of_stdin(options);
  const std::vector<std::string> secrets = secrets_from(options.secrets, options.secret_file);
  if (secrets.size() != 1) fail(exit_usage, "sign takes exactly one secret");
  if (options.standard_webhooks) {
    if (options.msg_id.empty()) fail(exit_usage, "--id: required with --standard-webhooks");
    const std::int64_t timestamp =
        options.timestamp.empty() ? Timestamp::now().unix_seconds() : parse_timestamp(options.timestamp);
    std::unique_ptr<StandardWebhooksSigner> signer;
    try {
      signer = std::make_unique<StandardWebhooksSigner>(secrets.front());
    } catch (const ConfigError& e) {
      fail_config(e);
    }
    check_secret_length(secrets.front(), options);
    std::cout << signer->sign(options.msg_id, timestamp, read_input(options.input)) << '\n';
    return;
  }
  std::unique_ptr<Signer> signer;
  try {
    signer = std::make_unique<Signer>(secrets.front());
  } catch (const ConfigError& e) {
    fail_config(e);
  }
  check_secret_length(secrets.front(), options);
  std::cout << signer->sign(read_input(options.input)) << '\n';
}

void run_verify(const SignatureOptions& options) {
  check_one_use_of_stdin(options);
  const std::vector<std::string> secrets = secrets_from(options.secrets, options.secret_file);
  Result<void> result;
  if (options.standard_webhooks) {
    if (options.msg_id.empty()) fail(exit_usage, "--id: required with --standard-webhooks");
    if (options.timestamp.empty()) fail(exit_usage, "--timestamp: required with --standard-webhooks");
    if (options.tolerance < 0) fail(exit_usage, "--tolerance: must not be negative");
    std::unique_ptr<StandardWebhooksVerifier> verifier;
    try {
      verifier = std::make_unique<StandardWebhooksVerifier>(secrets, std::chrono::seconds(options.tolerance));
    } catch (const ConfigError& e) {
      fail_config(e);
    }
    result = verifier->verify(options.msg_id, options.timestamp, options.signature, read_input(options.input),
                              Timestamp::now().unix_seconds());
  } else {
    std::unique_ptr<Verifier> verifier;
    try {
      verifier = std::make_unique<Verifier>(secrets);
    } catch (const ConfigError& e) {
      fail_config(e);
    }
    result = verifier->verify(read_input(options.input), options.signature);
  }
  if (!result) {
    fail(exit_failed,
         std::string("invalid (") + to_string(result.error().code) + "): " + result.error().message);
  }
  std::cout << "valid\n";
}

}  // namespace

void add_signature_commands(CLI::App& app) {
  auto options = std::make_shared<SignatureOptions>();

  CLI::App* sign = app.add_subcommand(
      "sign",
      "Print the signature of the exact bytes of FILE (or standard input): 64 lowercase hex characters");
  CLI::Option* sign_secret = sign->add_option("--secret", options->secrets,
                                              std::string("The signing secret (default: the ") + secret_env +
                                                  " environment variable)")
                                 ->allow_extra_args(false);
  add_secret_file_option(*sign, sign_secret, options->secret_file);
  sign->add_flag("--standard-webhooks", options->standard_webhooks,
                 "Sign with the Standard Webhooks scheme instead: prints v1,<base64> (secret whsec_...)");
  sign->add_flag("--allow-short-secret", options->allow_short_secret,
                 "Accept a secret under 16 bytes (a legacy receiver's)");
  sign->add_option("--id", options->msg_id, "Standard Webhooks: the webhook-id");
  sign->add_option("--timestamp", options->timestamp, "Standard Webhooks: unix seconds (default: now)");
  sign->add_option("FILE", options->input, "The body; - or nothing for standard input");
  sign->callback([options] { run_sign(*options); });

  CLI::App* verify = app.add_subcommand(
      "verify",
      "Check a signature of FILE (or standard input); exit 0 when valid, 1 when not (why on stderr)");
  CLI::Option* verify_secret =
      verify
          ->add_option("--secret", options->secrets,
                       std::string("A secret; repeat for rotation, any one matching passes (default: the ") +
                           secret_env + " environment variable)")
          ->allow_extra_args(false);
  add_secret_file_option(*verify, verify_secret, options->secret_file);
  verify
      ->add_option("--signature", options->signature,
                   "The X-StatusStack-Signature value (or webhook-signature)")
      ->required();
  verify->add_flag("--standard-webhooks", options->standard_webhooks,
                   "Verify a Standard Webhooks signature (needs --id and --timestamp)");
  verify->add_option("--id", options->msg_id, "Standard Webhooks: the webhook-id");
  verify->add_option("--timestamp", options->timestamp, "Standard Webhooks: the webhook-timestamp");
  verify
      ->add_option("--tolerance", options->tolerance,
                   "Standard Webhooks: seconds of clock difference allowed")
      ->capture_default_str();
  verify->add_option("FILE", options->input, "The body; - or nothing for standard input");
  verify->callback([options] { run_verify(*options); });
}

}  // namespace statusstack::webhooks::cli
