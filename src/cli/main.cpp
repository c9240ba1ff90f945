// statusstack-webhook: every capability of the library from a shell.

#include "cli.hpp"

#include <statusstack/webhooks/version.hpp>

#include <iostream>
#include <string>

int main(int argc, char** argv) {
  namespace ssw = statusstack::webhooks;
  CLI::App app{"statusstack-webhook: build, sign, verify and deliver StatusStack webhook events"};
  app.set_version_flag("--version", std::string("statusstack-webhook ") + ssw::version());
  app.require_subcommand(0, 1);
  ssw::cli::add_signature_commands(app);
  ssw::cli::add_events_commands(app);
  ssw::cli::add_delivery_commands(app);
  ssw::cli::add_formats_commands(app);
  ssw::cli::add_store_commands(app);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ExtrasError& e) {
    // CLI11's message repeats the arguments it did not expect. With an option among them, a value
    // next to it may be a secret given to a command that takes none (`dispatch --secret VALUE`):
    // then the options are named and the values only counted. A misspelt command is shown as is.
    std::string options;
    std::size_t values = 0;
    for (const std::string& extra : app.remaining(true)) {
      if (extra.size() > 1 && extra[0] == '-') {
        options += (options.empty() ? "" : ", ") + extra.substr(0, extra.find('='));
      } else {
        ++values;
      }
    }
    if (options.empty()) {
      app.exit(e);
      return ssw::cli::exit_usage;
    }
    std::cerr << "statusstack-webhook: unexpected arguments: " << options;
    if (values != 0) {
      std::cerr << " and " << values << (values == 1 ? " value" : " values")
                << " (not shown: one may be a secret)";
    }
    std::cerr << "\nRun with --help for more information.\n";
    return ssw::cli::exit_usage;
  } catch (const CLI::ParseError& e) {
    // --help and --version end here with 0, and a subcommand that failed has said why (RuntimeError).
    // CLI11 gives every other mistake in the arguments a code of its own (106, 109...): they are all
    // bad arguments, exit_usage.
    const int code = app.exit(e);
    if (code == ssw::cli::exit_ok || e.get_name() == "RuntimeError") return code;
    return ssw::cli::exit_usage;
  }
  if (app.get_subcommands().empty()) {
    // Nothing asked: say what can be, on stderr (standard output stays for results).
    std::cerr << app.help();
    return ssw::cli::exit_usage;
  }
  return ssw::cli::exit_ok;
}
