// libFuzzer target: what the durable store reads back from its file. A store file is made once
// (in /dev/shm when there is one); each input rewrites its rows, then StoreFile lists, finds and
// counts them, and a Dispatcher engine resumes them (on a manual clock, with a transport that
// answers at once and never connects anywhere) and turns until they are done.
//
// Input, one setting a line (a line that does not read so is ignored):
//   <column>=<value>   a column of the current `deliveries` row: id, endpoint, event_type, event,
//                      order_key, state, attempts, accepted_at, budget_from, due_at, signed_at,
//                      first_attempt_at, last_attempt_at, finished_at, reason, last_status,
//                      last_error, detail, seq. Values: i:<integer>, r:<real>, t:<text to the end
//                      of the line>, x:<hex bytes> (a blob), n (NULL). SQLite stores them as given
//                      (a text in an INTEGER column stays text).
//   --                 starts the next row (at most 8); columns not given keep a valid default (a
//                      pending monitor.down delivery to endpoint "ops", due now)
//   gone=<name>        the endpoint is paused by a 410 (an endpoint_state row)
//   answer=<status>    what the transport answers every request (default 200; 0: refused)
// A row SQLite refuses (a NULL in a NOT NULL column, an id twice) is left out.
//
// Checked: no crash, no sanitizer report, no exception but ConfigError from the engine; no hang
// (libFuzzer's -timeout); StoreFile finds every row it lists and lists no more rows than there
// are; every report the engine gives is about a row of the file (its id and endpoint).

#include "fuzz_check.hpp"

#include "dispatch/engine.hpp"

#include <statusstack/webhooks/dispatcher.hpp>
#include <statusstack/webhooks/events.hpp>
#include <statusstack/webhooks/store.hpp>

#include <sqlite3.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace ssw = statusstack::webhooks;
namespace detail = statusstack::webhooks::detail;
using ssw_fuzz::check;

namespace {

constexpr std::int64_t start_ms = 1'800'000'000'000;  // the manual clock's wall time, in ms

// A clock that stands still: the engine's timers only fire for what is due now.
class StillClock final : public detail::Clock {
 public:
  detail::SteadyTime now() const override { return detail::SteadyTime(std::chrono::hours(1000)); }
  detail::WallTime wall() const override { return detail::WallTime(std::chrono::milliseconds(start_ms)); }
};

// Answers every request at once with one status (0: refused), never touching the network.
class AnsweringTransport final : public detail::Transport {
 public:
  explicit AnsweringTransport(int status) : status_(status) {}
  void start(void* token, detail::PreparedRequest) override { started_.push_back(token); }
  void drive(std::vector<detail::Finished>& finished) override {
    for (void* token : started_) {
      ssw::Outcome outcome;
      outcome.status = status_;
      if (status_ == 0) {
        outcome.error = ssw::TransportError::refused;
        outcome.error_message = "Connection refused";
      }
      finished.push_back(detail::Finished{token, outcome});
    }
    started_.clear();
  }
  detail::milliseconds next_timeout() override { return detail::milliseconds::max(); }
  void sleep(detail::milliseconds) override {}
  void wake() override {}
  void abandon(std::vector<void*>& tokens) override {
    tokens.insert(tokens.end(), started_.begin(), started_.end());
    started_.clear();
  }

 private:
  int status_;
  std::vector<void*> started_;
};

struct Value {
  enum Kind { integer, real, text, blob, null } kind = null;
  std::int64_t i = 0;
  double r = 0;
  std::string t;
};

const std::vector<std::string_view>& columns() {
  static const std::vector<std::string_view> names{
      "id",          "endpoint",         "event_type",      "event",       "order_key",
      "state",       "attempts",         "accepted_at",     "budget_from", "due_at",
      "signed_at",   "first_attempt_at", "last_attempt_at", "finished_at", "reason",
      "last_status", "last_error",       "detail",          "seq"};
  return names;
}

std::map<std::string, Value, std::less<>> default_row(std::size_t index) {
  std::map<std::string, Value, std::less<>> row;
  const auto integer = [](std::int64_t i) {
    Value v;
    v.kind = Value::integer;
    v.i = i;
    return v;
  };
  const auto text = [](std::string t) {
    Value v;
    v.kind = Value::text;
    v.t = std::move(t);
    return v;
  };
  row["id"] = text("dlv_fuzz_" + std::to_string(index));
  row["endpoint"] = text("ops");
  row["event_type"] = text("monitor.down");
  static const std::string event = ssw::to_json(ssw::example_event(ssw::EventType::monitor_down));
  row["event"] = text(event);
  row["state"] = integer(0);
  row["accepted_at"] = integer(start_ms);
  row["budget_from"] = integer(start_ms);
  row["due_at"] = integer(start_ms);
  return row;
}

std::optional<Value> read_value(std::string_view text) {
  Value v;
  if (text == "n") return v;
  if (text.size() < 2 || text[1] != ':') return std::nullopt;
  const std::string_view body = text.substr(2);
  switch (text[0]) {
    case 'i': {
      v.kind = Value::integer;
      const auto [end, ec] = std::from_chars(body.data(), body.data() + body.size(), v.i);
      if (ec != std::errc{} || end != body.data() + body.size()) return std::nullopt;
      return v;
    }
    case 'r': {
      v.kind = Value::real;
      const std::string copy(body);
      char* end = nullptr;
      v.r = std::strtod(copy.c_str(), &end);
      if (end != copy.c_str() + copy.size()) return std::nullopt;
      return v;
    }
    case 't':
      v.kind = Value::text;
      v.t = std::string(body);
      return v;
    case 'x': {
      v.kind = Value::blob;
      if (body.size() % 2 != 0) return std::nullopt;
      for (std::size_t k = 0; k < body.size(); k += 2) {
        unsigned byte = 0;
        const auto [end, ec] = std::from_chars(body.data() + k, body.data() + k + 2, byte, 16);
        if (ec != std::errc{} || end != body.data() + k + 2) return std::nullopt;
        v.t += static_cast<char>(byte);
      }
      return v;
    }
    default: return std::nullopt;
  }
}

struct Input {
  std::vector<std::map<std::string, Value, std::less<>>> rows;
  std::vector<std::string> gone;
  int answer = 200;
};

Input read_input(std::string_view text) {
  Input input;
  input.rows.push_back(default_row(0));
  while (!text.empty()) {
    const std::size_t newline = text.find('\n');
    const std::string_view line = text.substr(0, newline);
    text = newline == std::string_view::npos ? std::string_view{} : text.substr(newline + 1);
    if (line == "--") {
      if (input.rows.size() < 8) input.rows.push_back(default_row(input.rows.size()));
      continue;
    }
    const std::size_t equals = line.find('=');
    if (equals == std::string_view::npos) continue;
    const std::string_view name = line.substr(0, equals);
    const std::string_view value = line.substr(equals + 1);
    if (name == "gone") {
      input.gone.emplace_back(value);
    } else if (name == "answer") {
      int status = 0;
      const auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), status);
      if (ec == std::errc{} && end == value.data() + value.size()) input.answer = status;
    } else if (std::find(columns().begin(), columns().end(), name) != columns().end()) {
      if (auto parsed = read_value(value)) input.rows.back()[std::string(name)] = std::move(*parsed);
    }
  }
  return input;
}

// The store file, its directory, and a plain SQLite connection that rewrites its rows.
struct Files {
  std::string dir;
  std::string path;
  sqlite3* writer = nullptr;
  std::optional<ssw::StoreFile> reader;

  Files() {
    const char* base = ::access("/dev/shm", W_OK) == 0
                           ? "/dev/shm"
                           : (std::getenv("TMPDIR") ? std::getenv("TMPDIR") : "/tmp");
    std::string pattern = std::string(base) + "/ssw-fuzz-store-XXXXXX";
    check(::mkdtemp(pattern.data()) != nullptr, "cannot make a temporary directory", pattern);
    dir = pattern;
    path = dir + "/store.db";
    {
      // An engine on a new path makes the file with its schema.
      detail::Engine made(options(), parts(200));
    }
    check(sqlite3_open(path.c_str(), &writer) == SQLITE_OK, "cannot open the store file", path);
    sqlite3_exec(writer, "PRAGMA synchronous = OFF", nullptr, nullptr, nullptr);
    sqlite3_busy_timeout(writer, 5000);
    auto opened = ssw::StoreFile::open(path);
    check(opened.has_value(), "StoreFile::open failed", opened ? "" : opened.error().message);
    reader.emplace(std::move(*opened));
  }
  ~Files() {
    reader.reset();
    sqlite3_close(writer);
    for (const char* suffix : {"", "-wal", "-shm", ".lock"}) std::remove((path + suffix).c_str());
    ::rmdir(dir.c_str());
  }

  ssw::DispatcherOptions options() const {
    ssw::DispatcherOptions options;
    ssw::Endpoint endpoint;
    endpoint.name = "ops";
    endpoint.url = "https://hooks.example.com/statusstack";  // never connected: the transport answers
    endpoint.secret = "a secret for the store fuzzer";
    options.endpoints.push_back(endpoint);
    options.retry.max_attempts = 2;
    options.store.path = path;
    options.store.durability = ssw::Durability::process_crash;
    return options;
  }

  static detail::EngineParts parts(int answer) {
    detail::EngineParts parts;
    parts.clock = std::make_shared<StillClock>();
    parts.transport = [answer] { return std::make_unique<AnsweringTransport>(answer); };
    parts.threads = false;
    return parts;
  }

  void exec(const char* sql) const {
    char* message = nullptr;
    const int rc = sqlite3_exec(writer, sql, nullptr, nullptr, &message);
    const std::string text = message != nullptr ? message : "";
    sqlite3_free(message);
    check(rc == SQLITE_OK, "SQL failed", std::string(sql) + ": " + text);
  }

  // Replaces the file's rows with the input's; returns the ids and endpoints of the rows kept, as
  // SQLite gives them as text (what the store reads).
  std::vector<std::pair<std::string, std::string>> write(const Input& input) const {
    exec("BEGIN IMMEDIATE");
    exec("DELETE FROM deliveries");
    exec("DELETE FROM endpoint_state");
    for (const auto& row : input.rows) {
      std::string names;
      std::string marks;
      for (const auto& [name, value] : row) {
        names += (names.empty() ? "" : ", ") + name;
        marks += marks.empty() ? "?" : ", ?";
      }
      const std::string sql = "INSERT INTO deliveries (" + names + ") VALUES (" + marks + ")";
      sqlite3_stmt* stmt = nullptr;
      check(sqlite3_prepare_v2(writer, sql.c_str(), -1, &stmt, nullptr) == SQLITE_OK, "cannot prepare", sql);
      int index = 1;
      for (const auto& [name, value] : row) {
        switch (value.kind) {
          case Value::integer: sqlite3_bind_int64(stmt, index, value.i); break;
          case Value::real: sqlite3_bind_double(stmt, index, value.r); break;
          case Value::text:
            sqlite3_bind_text(stmt, index, value.t.data(), static_cast<int>(value.t.size()),
                              SQLITE_TRANSIENT);
            break;
          case Value::blob:
            sqlite3_bind_blob(stmt, index, value.t.data(), static_cast<int>(value.t.size()),
                              SQLITE_TRANSIENT);
            break;
          case Value::null: sqlite3_bind_null(stmt, index); break;
        }
        ++index;
      }
      sqlite3_step(stmt);  // a row SQLite refuses is left out
      sqlite3_finalize(stmt);
    }
    for (const std::string& name : input.gone) {
      sqlite3_stmt* stmt = nullptr;
      sqlite3_prepare_v2(writer, "INSERT OR IGNORE INTO endpoint_state (name, gone) VALUES (?, 1)", -1, &stmt,
                         nullptr);
      sqlite3_bind_text(stmt, 1, name.data(), static_cast<int>(name.size()), SQLITE_TRANSIENT);
      sqlite3_step(stmt);
      sqlite3_finalize(stmt);
    }
    exec("COMMIT");
    std::vector<std::pair<std::string, std::string>> kept;
    sqlite3_stmt* stmt = nullptr;
    sqlite3_prepare_v2(writer, "SELECT id, endpoint FROM deliveries", -1, &stmt, nullptr);
    while (sqlite3_step(stmt) == SQLITE_ROW) {
      const auto text = [stmt](int column) {
        const auto* bytes = reinterpret_cast<const char*>(sqlite3_column_text(stmt, column));
        return bytes != nullptr
                   ? std::string(bytes, static_cast<std::size_t>(sqlite3_column_bytes(stmt, column)))
                   : std::string();
      };
      kept.emplace_back(text(0), text(1));
    }
    sqlite3_finalize(stmt);
    return kept;
  }
};

Files& files() {
  static Files instance;
  return instance;
}

void read_back(const Files& f, std::size_t rows) {
  const auto listed = f.reader->list(ssw::DeliveryQuery{});
  if (!listed) return;  // a store_error is an answer too
  check(listed->size() <= rows, "StoreFile lists more rows than the file has");
  for (const ssw::StoredDelivery& delivery : *listed) {
    const auto found = f.reader->find(delivery.id);
    check(found.has_value() && found->has_value() && (*found)->id == delivery.id,
          "a listed delivery is not found", delivery.id);
  }
  for (ssw::DeliveryState state : {ssw::DeliveryState::pending, ssw::DeliveryState::failed}) {
    ssw::DeliveryQuery query;
    query.state = state;
    query.since = std::chrono::system_clock::time_point{};
    query.reason = ssw::FailureReason::attempts_exhausted;
    (void)f.reader->list(query);
  }
  (void)f.reader->counts();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const Input input = read_input(std::string_view(reinterpret_cast<const char*>(data), size));
  Files& f = files();
  const auto kept = f.write(input);
  read_back(f, kept.size());

  std::set<std::string> ids;
  std::set<std::string> endpoints;
  for (const auto& [id, endpoint] : kept) {
    ids.insert(id);
    endpoints.insert(endpoint);
  }
  std::vector<ssw::DeliveryReport> reports;
  ssw::DispatcherOptions options = f.options();
  options.on_report = [&reports](const ssw::DeliveryReport& report) { reports.push_back(report); };
  try {
    detail::Engine engine(std::move(options), Files::parts(input.answer));
    for (int turn = 0; turn < 8 && engine.turn(); ++turn) {
    }
    engine.shutdown(detail::milliseconds::zero());
    for (int turn = 0; turn < 8 && engine.turn(); ++turn) {
    }
  } catch (const ssw::ConfigError&) {
    return 0;  // a file the engine refuses, with its reason
  } catch (const std::exception& e) {
    ssw_fuzz::fail("the engine threw", e.what());
  }
  for (const ssw::DeliveryReport& report : reports) {
    check(ids.count(report.delivery_id) == 1, "a report about no row of the file", report.delivery_id);
    check(endpoints.count(report.endpoint) == 1, "a report for an endpoint no row names", report.endpoint);
  }
  return 0;
}
