// statusstack-webhook: every capability of the library from a shell.

#include "cli.hpp"

#include <statusstack/webhooks/version.hpp>

#include <iostream>

int main(int argc, char** argv) {
  namespace ssw = statusstack::webhooks;
  CLI::App app{"statusstack-webhook: build, sign, verify and deliver StatusStack webhook events"};
  app.set_version_flag("--version", std::string("statusstack-webhook ") + ssw::version());
  app.require_subcommand(0, 1);
  ssw::cli::add_signature_commands(app);
  ssw::cli::add_events_commands(app);
  ssw::cli::add_delivery_commands(app);
  ssw::cli::add_formats_commands(app);

  CLI11_PARSE(app, argc, argv);
  if (app.get_subcommands().empty()) {
    std::cout << app.help();
  }
  return ssw::cli::exit_ok;
}
