// `deliveries --store FILE list|show|redeliver|stats`: a store file that `dispatch --store` keeps,
// read and repaired from a shell, while its Dispatcher runs (list, show, stats) or between runs
// (redeliver: failed deliveries become pending again and go at the next `dispatch --store`). With
// --store postgresql://... the same commands read a shared queue; redelivered dead letters go with
// the instances running on it.
//
// Output is JSON lines for scripts (one object per delivery, snake_case keys, times in RFC 3339 UTC
// with milliseconds, null where there is nothing), or an aligned table when standard output is a
// terminal; --json forces JSON lines.

#include "cli.hpp"

#include <statusstack/webhooks/events.hpp>
#include <statusstack/webhooks/store.hpp>
#ifdef SSW_CLI_POSTGRES
#include <statusstack/webhooks/postgres.hpp>
#endif

#include <unistd.h>

#include <array>
#include <chrono>
#include <cstdint>
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <variant>
#include <vector>

namespace statusstack::webhooks::cli {

namespace {

using Clock = std::chrono::system_clock;

struct StoreCommandOptions {
  std::string store;
  bool json = false;
  // Filters of `list` and `redeliver --failed`.
  bool failed = false;
  bool pending = false;
  bool delivered = false;
  std::string endpoint;
  std::string since;
  std::string until;
  std::string reason;
  std::size_t limit = 1000;
  // `show ID`, `redeliver ID...`.
  std::string id;
  std::vector<std::string> ids;
};

// The reasons a failed delivery can have, in the order to_string() names them.
constexpr std::array<FailureReason, 7> failure_reasons{
    FailureReason::rejected,         FailureReason::attempts_exhausted, FailureReason::too_old,
    FailureReason::endpoint_removed, FailureReason::shutdown,           FailureReason::receiver_gone,
    FailureReason::endpoint_disabled};

// The latest time --since and --until take: 2200-01-01T00:00:00Z (system_clock counts nanoseconds
// in 64 bits, which end in 2262).
constexpr std::int64_t latest_unix_seconds = 7258118400;
// The longest duration ago they take: 100 years.
constexpr std::int64_t longest_ago_seconds = std::int64_t{100} * 365 * 86400;

// RFC 3339 in UTC, always with milliseconds: "2026-11-30T10:00:00.250Z".
std::string format_time(Clock::time_point time) {
  const auto ms = std::chrono::floor<std::chrono::milliseconds>(time.time_since_epoch()).count();
  const std::int64_t seconds = ms >= 0 ? ms / 1000 : (ms - 999) / 1000;
  const auto millis = static_cast<unsigned>(ms - seconds * 1000);
  std::string text = format_rfc3339(Timestamp::from_unix_seconds(seconds));
  text.pop_back();  // the Z
  text += '.';
  text += static_cast<char>('0' + millis / 100);
  text += static_cast<char>('0' + millis / 10 % 10);
  text += static_cast<char>('0' + millis % 10);
  text += 'Z';
  return text;
}

// The store keeps "never" as the epoch (no attempt yet, not final).
bool is_set(Clock::time_point time) { return time.time_since_epoch().count() != 0; }

std::string json_time(Clock::time_point time) {
  return is_set(time) ? json_quote(format_time(time)) : std::string("null");
}

// TIME as --since and --until take it: RFC 3339 in UTC, or a duration ago ("30m", "2h", "7d").
Clock::time_point parse_time(const std::string& option, const std::string& text, Clock::time_point now) {
  const std::string forms =
      "an RFC 3339 time in UTC like 2026-11-30T10:00:00Z, or a duration ago like 30m, 2h or 7d";
  const std::size_t digits = text.find_first_not_of("0123456789");
  if (digits != std::string::npos && digits > 0 && digits + 1 == text.size()) {
    std::int64_t unit = 0;
    switch (text.back()) {
      case 's': unit = 1; break;
      case 'm': unit = 60; break;
      case 'h': unit = 3600; break;
      case 'd': unit = 86400; break;
      default: break;
    }
    if (unit != 0) {
      if (digits > 9 || std::stoll(text.substr(0, digits)) * unit > longest_ago_seconds) {
        fail(exit_usage, option + ": \"" + text + "\" is longer ago than 100 years");
      }
      return now - std::chrono::seconds(std::stoll(text.substr(0, digits)) * unit);
    }
  }
  // Four digits and a '-': meant as a date, so say what is wrong with it.
  if (text.size() >= 5 && text[4] == '-' && text.find_first_not_of("0123456789") == 4) {
    auto parsed = parse_rfc3339(text);
    if (!parsed) fail(exit_usage, option + ": \"" + text + "\": " + parsed.error().message);
    const std::int64_t seconds = parsed->unix_seconds();
    if (seconds < 0 || seconds >= latest_unix_seconds) {
      fail(exit_usage, option + ": \"" + text + "\" is out of range (1970 to 2199)");
    }
    return Clock::time_point(std::chrono::duration_cast<Clock::duration>(parsed->time().time_since_epoch()));
  }
  fail(exit_usage, option + ": expected " + forms + " (got \"" + text + "\")");
}

std::optional<FailureReason> parse_reason(const std::string& text) {
  if (text.empty()) return std::nullopt;
  const std::optional<FailureReason> reason = failure_reason_from_string(text);
  if (!reason || *reason == FailureReason::none) {
    std::string names;
    for (const FailureReason known : failure_reasons)
      names += std::string(names.empty() ? "" : ", ") + to_string(known);
    fail(exit_usage, "--reason: unknown reason \"" + text + "\" (expected one of: " + names + ")");
  }
  return reason;
}

DeliveryQuery query_from(const StoreCommandOptions& options) {
  DeliveryQuery query;
  if (options.failed) query.state = DeliveryState::failed;
  if (options.pending) query.state = DeliveryState::pending;
  if (options.delivered) query.state = DeliveryState::delivered;
  query.endpoint = options.endpoint;
  query.reason = parse_reason(options.reason);
  const Clock::time_point now = Clock::now();
  if (!options.since.empty()) query.since = parse_time("--since", options.since, now);
  if (!options.until.empty()) query.until = parse_time("--until", options.until, now);
  query.limit = options.limit;
  return query;
}

// A store file, or a PostgreSQL queue: the same questions, asked of either.
class Store {
 public:
#ifdef SSW_CLI_POSTGRES
  using Either = std::variant<StoreFile, postgres::QueueAdmin>;
#else
  using Either = std::variant<StoreFile>;
#endif
  explicit Store(Either store) : store_(std::move(store)) {}
  bool shared() const { return store_.index() != 0; }
  Result<std::vector<StoredDelivery>> list(const DeliveryQuery& query) const {
    return std::visit([&](const auto& store) { return store.list(query); }, store_);
  }
  Result<std::optional<StoredDelivery>> find(const std::string& id) const {
    return std::visit([&](const auto& store) { return store.find(id); }, store_);
  }
  Result<StoreCounts> counts() const {
    return std::visit([](const auto& store) { return store.counts(); }, store_);
  }
  template <class Which>
  Result<std::size_t> redeliver(const Which& which) {
    return std::visit([&](auto& store) { return store.redeliver(which); }, store_);
  }

 private:
  Either store_;
};

// The --store argument cannot be used (missing, not a store, damaged, no database there): as for
// any unreadable input.
Store open_store(const std::string& where) {
  if (is_database_uri(where)) {
#ifdef SSW_CLI_POSTGRES
    auto queue = postgres::QueueAdmin::open(where);
    if (!queue) fail(exit_usage, queue.error().message);
    return Store(Store::Either(std::in_place_index<1>, std::move(*queue)));
#else
    fail(exit_usage, "--store " + store_name(where) +
                         ": this statusstack-webhook was built without the PostgreSQL store (libpq-dev was "
                         "missing when it was built)");
#endif
  }
  auto file = StoreFile::open(where);
  if (!file) fail(exit_usage, file.error().message);
  return Store(Store::Either(std::in_place_index<0>, std::move(*file)));
}

bool as_table(const StoreCommandOptions& options) { return !options.json && ::isatty(STDOUT_FILENO) == 1; }

// One delivery as a JSON object; `with_event` adds the event itself (for `show`).
std::string delivery_json(const StoredDelivery& d, bool with_event) {
  auto text_or_null = [](const std::string& text) {
    return text.empty() ? std::string("null") : json_quote(text);
  };
  std::string line =
      "{\"id\":" + json_quote(d.id) + ",\"state\":" + json_quote(to_string(d.state)) +
      ",\"endpoint\":" + json_quote(d.endpoint) + ",\"event\":" + json_quote(to_string(d.event)) +
      ",\"reason\":" +
      (d.state == DeliveryState::failed ? json_quote(to_string(d.reason)) : std::string("null")) +
      ",\"attempts\":" + std::to_string(d.attempts) +
      ",\"last_status\":" + (d.last_status != 0 ? std::to_string(d.last_status) : std::string("null")) +
      ",\"last_error\":" + text_or_null(d.last_error) + ",\"detail\":" + text_or_null(d.detail) +
      ",\"accepted_at\":" + json_time(d.accepted_at) +
      ",\"last_attempt_at\":" + json_time(d.last_attempt_at) + ",\"next_attempt_at\":" +
      (d.state == DeliveryState::pending ? json_time(d.next_attempt_at) : std::string("null")) +
      ",\"finished_at\":" +
      (d.state == DeliveryState::pending ? std::string("null") : json_time(d.finished_at));
  if (with_event) {
    // The body as accepted, as an object; a delivered record keeps none. Text that does not parse
    // (a damaged file) is shown as a string rather than breaking the line.
    line += ",\"event_json\":";
    if (d.event_json.empty()) {
      line += "null";
    } else {
      line += parse_event(d.event_json).has_value() ? d.event_json : json_quote(d.event_json);
    }
  }
  return line + "}";
}

// Rows of cells printed with every column as wide as its widest cell (the last one unpadded).
void print_table(const std::vector<std::vector<std::string>>& rows) {
  std::vector<std::size_t> widths;
  for (const auto& row : rows) {
    if (widths.size() < row.size()) widths.resize(row.size(), 0);
    for (std::size_t i = 0; i < row.size(); ++i) widths[i] = std::max(widths[i], row[i].size());
  }
  for (const auto& row : rows) {
    std::string line;
    for (std::size_t i = 0; i < row.size(); ++i) {
      line += row[i];
      if (i + 1 < row.size()) line += std::string(widths[i] - row[i].size() + 2, ' ');
    }
    std::cout << line << '\n';
  }
}

std::string cell_time(Clock::time_point time) { return is_set(time) ? format_time(time) : "-"; }
std::string cell_text(const std::string& text) { return text.empty() ? "-" : text; }

// A long outcome cut for a table cell (show and the JSON lines keep all of it).
std::string cell_short(const std::string& text) {
  constexpr std::size_t widest = 40;
  return text.size() > widest ? text.substr(0, widest - 3) + "..." : cell_text(text);
}

void run_list(const StoreCommandOptions& options) {
  DeliveryQuery query = query_from(options);
  const Store file = open_store(options.store);
  ++query.limit;  // one more than shown tells whether --limit cut the list
  auto rows = file.list(query);
  if (!rows) fail(exit_failed, rows.error().message);
  const bool cut = rows->size() > options.limit;
  if (cut) rows->pop_back();
  if (as_table(options)) {
    if (rows->empty()) {
      std::cout << "no deliveries match\n";
    } else {
      std::vector<std::vector<std::string>> table{
          {"ID", "STATE", "ENDPOINT", "EVENT", "ATTEMPTS", "LAST", "REASON", "ACCEPTED", "FINISHED"}};
      for (const StoredDelivery& d : *rows) {
        table.push_back(
            {d.id, to_string(d.state), d.endpoint, to_string(d.event), std::to_string(d.attempts),
             cell_short(d.last_error), d.state == DeliveryState::failed ? to_string(d.reason) : "-",
             cell_time(d.accepted_at), d.state == DeliveryState::pending ? "-" : cell_time(d.finished_at)});
      }
      print_table(table);
    }
  } else {
    for (const StoredDelivery& d : *rows) std::cout << delivery_json(d, false) << '\n';
  }
  std::cout << std::flush;
  if (cut) {
    std::cerr << "statusstack-webhook: showing the first " << options.limit
              << " deliveries; --limit shows more\n";
  }
}

void run_show(const StoreCommandOptions& options) {
  const Store file = open_store(options.store);
  auto found = file.find(options.id);
  if (!found) fail(exit_failed, found.error().message);
  if (!*found) fail(exit_failed, "no delivery " + options.id + " in " + store_name(options.store));
  const StoredDelivery& d = **found;
  if (!as_table(options)) {
    std::cout << delivery_json(d, true) << '\n';
    return;
  }
  print_table({
      {"id", d.id},
      {"state", to_string(d.state)},
      {"endpoint", d.endpoint},
      {"event", to_string(d.event)},
      {"reason", d.state == DeliveryState::failed ? to_string(d.reason) : "-"},
      {"attempts", std::to_string(d.attempts)},
      {"last status", d.last_status != 0 ? std::to_string(d.last_status) : "-"},
      {"last error", cell_text(d.last_error)},
      {"detail", cell_text(d.detail)},
      {"accepted at", cell_time(d.accepted_at)},
      {"last attempt at", cell_time(d.last_attempt_at)},
      {"next attempt at", d.state == DeliveryState::pending ? cell_time(d.next_attempt_at) : "-"},
      {"finished at", d.state == DeliveryState::pending ? "-" : cell_time(d.finished_at)},
      {"event json", cell_text(d.event_json)},
  });
}

void run_redeliver(const StoreCommandOptions& options) {
  const DeliveryQuery query = query_from(options);  // bad filters are said before the file is opened
  Store file = open_store(options.store);
  std::vector<std::string> problems;
  Result<std::size_t> taken = std::size_t{0};
  if (options.failed) {
    taken = file.redeliver(query);
  } else {
    // Say which ids cannot be taken, rather than a count that does not add up.
    std::vector<std::string> failed;
    for (const std::string& id : options.ids) {
      auto found = file.find(id);
      if (!found) fail(exit_failed, found.error().message);
      if (!*found) {
        problems.push_back("no delivery " + id + " in " + store_name(options.store));
      } else if ((*found)->state != DeliveryState::failed) {
        problems.push_back("delivery " + id + " is " + to_string((*found)->state) +
                           ", not failed: not redelivered");
      } else {
        failed.push_back(id);
      }
    }
    if (!failed.empty()) taken = file.redeliver(failed);
  }
  // Typically a Dispatcher owns the file: it must redeliver them itself, or be stopped first.
  if (!taken) fail(exit_failed, taken.error().message);
  for (const std::string& problem : problems) std::cerr << "statusstack-webhook: " << problem << '\n';
  if (as_table(options)) {
    std::cout << "redelivered " << *taken << (*taken == 1 ? " delivery" : " deliveries")
              << (file.shared() ? ": pending again, the instances on the queue deliver them"
                                : ": pending again, they go at the next dispatch --store " + options.store)
              << '\n';
  } else {
    std::cout << "{\"redelivered\":" << *taken << "}\n";
  }
  if (!problems.empty()) throw CLI::RuntimeError(exit_failed);
}

void run_stats(const StoreCommandOptions& options) {
  const Store file = open_store(options.store);
  auto counts = file.counts();
  if (!counts) fail(exit_failed, counts.error().message);
  if (as_table(options)) {
    auto listed = [](const std::vector<std::string>& names) {
      std::string text;
      for (const std::string& name : names) text += (text.empty() ? "" : ", ") + name;
      return cell_text(text);
    };
    print_table({{"pending", std::to_string(counts->pending)},
                 {"failed", std::to_string(counts->failed)},
                 {"delivered", std::to_string(counts->delivered)},
                 {"file bytes", std::to_string(counts->file_bytes)},
                 {"paused endpoints", listed(counts->paused_endpoints)},
                 {"disabled endpoints", listed(counts->disabled_endpoints)}});
    return;
  }
  auto json_names = [](const std::vector<std::string>& names) {
    std::string text;
    for (const std::string& name : names) text += (text.empty() ? "" : ",") + json_quote(name);
    return "[" + text + "]";
  };
  std::cout << "{\"pending\":" << counts->pending << ",\"failed\":" << counts->failed
            << ",\"delivered\":" << counts->delivered << ",\"file_bytes\":" << counts->file_bytes
            << ",\"paused_endpoints\":" << json_names(counts->paused_endpoints)
            << ",\"disabled_endpoints\":" << json_names(counts->disabled_endpoints) << "}\n";
}

// --endpoint, --since, --until and --reason, as `list` and `redeliver --failed` take them.
std::vector<CLI::Option*> add_filters(CLI::App& command, StoreCommandOptions& options) {
  return {
      command.add_option("--endpoint", options.endpoint, "Only deliveries to this endpoint"),
      command.add_option("--since", options.since,
                         "Only deliveries final (or, pending, accepted) at or after TIME: RFC 3339 in UTC "
                         "(2026-11-30T10:00:00Z) or that long ago (30m, 2h, 7d)"),
      command.add_option("--until", options.until, "Only deliveries final (or accepted) before TIME"),
      command.add_option("--reason", options.reason,
                         "Only failed deliveries of this reason (rejected, attempts_exhausted, too_old, "
                         "endpoint_removed, shutdown, receiver_gone, endpoint_disabled)"),
  };
}

}  // namespace

void add_store_commands(CLI::App& app) {
  auto options = std::make_shared<StoreCommandOptions>();
  CLI::App* deliveries = app.add_subcommand(
      "deliveries", "Read the deliveries a `dispatch --store` file keeps; redeliver failed ones");
  deliveries->add_option("--store", options->store, "The store file (as given to dispatch --store)")
      ->required();
  deliveries->add_flag("--json", options->json, "JSON lines even on a terminal (the default elsewhere)");
  deliveries->require_subcommand(1);
  // --store and --json may come after the subcommand as well.
  deliveries->fallthrough();

  CLI::App* list = deliveries->add_subcommand("list", "One line per delivery, oldest first");
  auto* failed = list->add_flag("--failed", options->failed, "Only failed deliveries (dead letters)");
  auto* pending = list->add_flag("--pending", options->pending, "Only deliveries not final yet");
  auto* delivered = list->add_flag("--delivered", options->delivered,
                                   "Only delivered ones (kept with a delivered retention)");
  failed->excludes(pending)->excludes(delivered);
  pending->excludes(delivered);
  add_filters(*list, *options);
  list->add_option("--limit", options->limit, "At most this many (default 1000)")
      ->check(CLI::Range(std::size_t{1}, std::size_t{1000000}));
  list->callback([options] { run_list(*options); });

  CLI::App* show =
      deliveries->add_subcommand("show", "One delivery: its request, attempts, outcome and times");
  show->add_option("ID", options->id, "The delivery id (dlv_...)")->required();
  show->callback([options] { run_show(*options); });

  CLI::App* redeliver = deliveries->add_subcommand(
      "redeliver",
      "Make failed deliveries pending again, for the next dispatch --store run (not while one runs)");
  auto* ids = redeliver->add_option("ID", options->ids, "Ids of failed deliveries");
  auto* all_failed =
      redeliver->add_flag("--failed", options->failed, "Every failed delivery the filters select");
  ids->excludes(all_failed);
  for (CLI::Option* filter : add_filters(*redeliver, *options)) filter->needs(all_failed);
  redeliver->callback([options, ids, all_failed] {
    if (ids->count() == 0 && all_failed->count() == 0) throw CLI::RequiredError("ID... or --failed");
    run_redeliver(*options);
  });

  CLI::App* stats =
      deliveries->add_subcommand("stats", "Deliveries by state, the file's size, paused endpoints");
  stats->callback([options] { run_stats(*options); });
}

}  // namespace statusstack::webhooks::cli
