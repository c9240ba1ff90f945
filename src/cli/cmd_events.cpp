// `example` and `parse`: the event vocabulary from a shell.

#include "cli.hpp"

#include <statusstack/webhooks/events.hpp>

#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace statusstack::webhooks::cli {

void add_events_commands(CLI::App& app) {
  std::vector<std::string> names;
  names.reserve(all_event_types.size());
  for (const EventType type : all_event_types) names.emplace_back(to_string(type));

  auto* example = app.add_subcommand("example", "Print a realistic sample event of TYPE as compact JSON");
  auto type_name = std::make_shared<std::string>();
  std::string all;
  for (const std::string& name : names) all += (all.empty() ? "" : ", ") + name;
  example->add_option("type", *type_name, "Event type: " + all)->required();
  example->callback([type_name, all] {
    const std::optional<EventType> type = parse_event_type(*type_name);
    if (!type) fail(exit_usage, "unknown event type \"" + *type_name + "\" (known: " + all + ")");
    std::cout << to_json(example_event(*type)) << '\n';
  });

  auto* parse = app.add_subcommand(
      "parse",
      "Parse one event from FILE (or stdin) and print it as canonical compact JSON; exit 1 if invalid");
  auto path = std::make_shared<std::string>("-");
  parse->add_option("file", *path, "JSON file, or - for standard input")->capture_default_str();
  parse->callback([path] {
    const std::string input = read_input(*path);
    const Result<Event> event = parse_event(input);
    if (!event) fail(exit_failed, std::string("invalid event: ") + event.error().message);
    std::cout << to_json(*event) << '\n';
  });
}

}  // namespace statusstack::webhooks::cli
