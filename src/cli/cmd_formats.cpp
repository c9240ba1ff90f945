// `render`: the body an endpoint of a vendor format would send for an event.

#include "cli.hpp"
#include "formats/profile.hpp"

#include <statusstack/webhooks/events.hpp>
#include <statusstack/webhooks/formats.hpp>

#include <iostream>
#include <memory>
#include <optional>
#include <string>

namespace statusstack::webhooks::cli {

void add_formats_commands(CLI::App& app) {
  auto* render = app.add_subcommand(
      "render", "Print the request body an endpoint of FORMAT would send for the event in FILE (or stdin)");
  struct Options {
    std::string format;
    std::string routing_key;
    std::string path = "-";
  };
  auto options = std::make_shared<Options>();
  render->add_option("--format", options->format, "pagerduty, datadog or statusstack")->required();
  render->add_option(
      "--routing-key", options->routing_key,
      "PagerDuty integration key (32 characters), written into the body; needed for pagerduty");
  render->add_option("file", options->path, "event JSON file, or - for standard input")
      ->capture_default_str();
  render->callback([options] {
    const std::optional<Format> format = parse_format(options->format);
    if (!format)
      fail(exit_usage, "unknown format \"" + options->format + "\" (known: statusstack, pagerduty, datadog)");
    if (*format == Format::pagerduty && options->routing_key.empty()) {
      fail(exit_usage, "--format pagerduty needs --routing-key");
    }
    formats::FormatFields fields;
    if (!options->routing_key.empty()) fields.routing_key = Secret(options->routing_key);
    auto settings = formats::profile_of(*format).from_fields(std::move(fields));
    if (!settings) fail(exit_usage, option_message(settings.error()));
    // The key is the one setting render takes: the body carries it (Datadog's key goes in a header).
    if (const Result<void> valid = validate_format_settings(*settings);
        !valid && !options->routing_key.empty()) {
      fail(exit_usage, "--routing-key: " + valid.error().message);
    }
    const std::string input = read_input(options->path);
    const Result<Event> event = parse_event(input);
    if (!event) fail(exit_failed, std::string("invalid event: ") + event.error().message);
    const Result<FormattedRequest> request = format_event(*event, *settings);
    if (!request) fail(exit_failed, request.error().message);
    std::cout << request->body << '\n';
  });
}

}  // namespace statusstack::webhooks::cli
