#pragma once

// Internal to the statusstack-webhook tool: each capability registers its own subcommands.

#include <statusstack/webhooks/error.hpp>

#include <CLI/CLI.hpp>

#include <string>
#include <string_view>
#include <vector>

namespace statusstack::webhooks::cli {

/// Exit codes shared by every subcommand.
inline constexpr int exit_ok = 0;
inline constexpr int exit_failed = 1;  ///< the operation ran and said no (invalid, not delivered)
/// Bad arguments or unreadable input (also a store file that cannot be opened: missing, damaged,
/// read-only, or in use by another Dispatcher).
inline constexpr int exit_usage = 2;

/// Reads a whole file, or standard input when path is "-" or empty, as raw bytes.
/// Throws CLI::RuntimeError(exit_usage) after printing the reason.
std::string read_input(const std::string& path);

/// The text of an errno value (thread-safe, unlike std::strerror: the dispatch threads may be running).
std::string error_text(int number);

/// Prints "statusstack-webhook: <message>" on stderr and ends the subcommand with the exit code.
[[noreturn]] void fail(int exit_code, const std::string& message);

/// Where a secret can come from instead of --secret.
inline constexpr const char* secret_env = "STATUSSTACK_WEBHOOK_SECRET";

/// --secret values, or else STATUSSTACK_WEBHOOK_SECRET (which keeps the secret out of shell history).
std::vector<std::string> secrets_or_env(const std::vector<std::string>& given);

/// The secrets of a --secret-file: one a line, each line's "\n" or "\r\n" removed; "-" reads standard
/// input. An unreadable or empty file ends the subcommand with exit_usage, naming the file, never its
/// content.
std::vector<std::string> read_secret_file(const std::string& path);

/// --secret-file's secrets when one was given, else secrets_or_env(given).
std::vector<std::string> secrets_from(const std::vector<std::string>& given, const std::string& secret_file);

/// Adds `--secret-file FILE` to a subcommand, excluding `--secret`.
void add_secret_file_option(CLI::App& command, CLI::Option* secret, std::string& secret_file);

/// `text` as a JSON string literal, quotes included (for the tool's JSON-lines output): escaped as the
/// library's JSON is, ill-formed UTF-8 replaced by U+FFFD so that every line stays valid JSON.
std::string json_quote(std::string_view text);

/// A format setting's error ("routing_key: must be ...") in the words of the option that set the
/// field ("--routing-key: must be ..."). The messages name the rule broken, never the key.
std::string option_message(const Error& error);

/// A --store value that names a PostgreSQL database (postgresql:// or postgres://), not a file.
inline bool is_database_uri(std::string_view store) {
  return store.rfind("postgresql://", 0) == 0 || store.rfind("postgres://", 0) == 0;
}

/// A --store value as messages show it: a database URI without its password.
std::string store_name(const std::string& store);

/// sign, verify (cmd_signature.cpp).
void add_signature_commands(CLI::App& app);
/// `example <type>` and `parse [FILE|-]` (cmd_events.cpp).
void add_events_commands(CLI::App& app);
/// `send` and `dispatch [--store FILE]` (cmd_delivery.cpp).
void add_delivery_commands(CLI::App& app);
/// `render --format pagerduty|datadog [--routing-key K] [FILE|-]` (cmd_formats.cpp).
void add_formats_commands(CLI::App& app);
/// `deliveries --store FILE list|show|redeliver|stats` (cmd_store.cpp).
void add_store_commands(CLI::App& app);

}  // namespace statusstack::webhooks::cli
