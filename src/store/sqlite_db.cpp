#include "store/sqlite_db.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <system_error>

namespace statusstack::webhooks::detail::sqlite {

namespace {

// Version 1. A later version adds its changes as a step from the one before (see Db::open).
constexpr const char* schema_v1 = R"sql(
CREATE TABLE deliveries (
  seq              INTEGER PRIMARY KEY,  -- dispatch order
  id               TEXT NOT NULL UNIQUE, -- dlv_...: time-ordered, so inserts append to the index
  endpoint         TEXT NOT NULL,
  event_type       TEXT NOT NULL,
  event            TEXT,                 -- canonical JSON; NULL in a delivered record
  order_key        TEXT,                 -- NULL: any order
  state            INTEGER NOT NULL,     -- 0 pending, 1 failed, 2 delivered
  attempts         INTEGER NOT NULL DEFAULT 0,
  accepted_at      INTEGER NOT NULL,     -- Unix milliseconds, like every time below
  budget_from      INTEGER NOT NULL,     -- max_age counts from here (accepted, or redelivered)
  due_at           INTEGER NOT NULL,
  signed_at        INTEGER NOT NULL DEFAULT 0,  -- Unix seconds
  first_attempt_at INTEGER NOT NULL DEFAULT 0,
  last_attempt_at  INTEGER NOT NULL DEFAULT 0,
  finished_at      INTEGER,
  reason           TEXT,
  last_status      INTEGER NOT NULL DEFAULT 0,
  last_error       TEXT,
  detail           TEXT
);
CREATE INDEX deliveries_final ON deliveries (state, finished_at) WHERE state != 0;
CREATE TABLE endpoint_state (
  name TEXT PRIMARY KEY,
  gone INTEGER NOT NULL  -- answered 410 Gone: paused until the endpoint is replaced
) WITHOUT ROWID;
PRAGMA user_version = 1;
)sql";

// Version 2: each endpoint's circuit breaker (times in Unix milliseconds, 0: none).
constexpr const char* schema_v2_step = R"sql(
ALTER TABLE endpoint_state ADD COLUMN breaker TEXT NOT NULL DEFAULT 'closed';
ALTER TABLE endpoint_state ADD COLUMN failures INTEGER NOT NULL DEFAULT 0;
ALTER TABLE endpoint_state ADD COLUMN opened INTEGER NOT NULL DEFAULT 0;
ALTER TABLE endpoint_state ADD COLUMN failing_since INTEGER NOT NULL DEFAULT 0;
ALTER TABLE endpoint_state ADD COLUMN open_until INTEGER NOT NULL DEFAULT 0;
ALTER TABLE endpoint_state ADD COLUMN last_error TEXT;
PRAGMA user_version = 2;
)sql";

constexpr int schema_version = 2;

const char* hint(int code) noexcept {
  switch (code & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED: return " (another connection holds a lock on the file)";
    case SQLITE_READONLY:
    case SQLITE_CANTOPEN:
    case SQLITE_PERM: return " (check that the file and its folder are writable)";
    case SQLITE_FULL: return " (the disk is full, or the store's max_bytes is reached)";
    case SQLITE_NOTADB:
    case SQLITE_CORRUPT: return " (the file is damaged or is not a store)";
    default: return "";
  }
}

constexpr const char* select_columns =
    "SELECT id, endpoint, event_type, state, reason, attempts, accepted_at, due_at, last_attempt_at, "
    "finished_at, last_status, last_error, detail, event FROM deliveries";

StoredDelivery read_row(const Stmt& row) {
  StoredDelivery d;
  d.id = row.text(0);
  d.endpoint = row.text(1);
  d.event = parse_event_type(row.view(2)).value_or(EventType{});
  switch (row.integer(3)) {
    case state_failed: d.state = DeliveryState::failed; break;
    case state_delivered: d.state = DeliveryState::delivered; break;
    default: d.state = DeliveryState::pending; break;
  }
  d.reason = failure_reason_from_string(row.view(4)).value_or(FailureReason::none);
  d.attempts = static_cast<int>(row.integer(5));
  d.accepted_at = from_ms(row.integer(6));
  if (d.state == DeliveryState::pending) d.next_attempt_at = from_ms(row.integer(7));
  d.last_attempt_at = from_ms(row.integer(8));
  d.finished_at = from_ms(row.integer(9));
  d.last_status = static_cast<int>(row.integer(10));
  d.last_error = row.text(11);
  d.detail = row.text(12);
  d.event_json = row.text(13);
  return d;
}

// The WHERE clause of a query, with its values bound in order by bind_query().
// Rows whose id is not text (only a damaged or hand-edited file has them) are left out: find()
// and redeliver() could never match them by id (found by the store-rows fuzz target).
std::string where(const DeliveryQuery& query) {
  std::string sql = " WHERE typeof(id) = 'text'";
  if (query.state) sql += " AND state = ?";
  if (!query.endpoint.empty()) sql += " AND endpoint = ?";
  if (query.reason) sql += " AND reason = ?";
  if (query.since) sql += " AND coalesce(finished_at, accepted_at) >= ?";
  if (query.until) sql += " AND coalesce(finished_at, accepted_at) < ?";
  return sql;
}

std::int64_t stored_state(DeliveryState state) noexcept {
  switch (state) {
    case DeliveryState::failed: return state_failed;
    case DeliveryState::delivered: return state_delivered;
    case DeliveryState::pending: break;
  }
  return state_pending;
}

int bind_query(Stmt& stmt, const DeliveryQuery& query) {
  int i = 1;
  if (query.state) stmt.bind(i++, stored_state(*query.state));
  if (!query.endpoint.empty()) stmt.bind(i++, std::string_view(query.endpoint));
  if (query.reason) stmt.bind(i++, std::string_view(to_string(*query.reason)));
  if (query.since) stmt.bind(i++, to_ms(*query.since));
  if (query.until) stmt.bind(i++, to_ms(*query.until));
  return i;
}

}  // namespace

std::int64_t to_ms(std::chrono::system_clock::time_point time) noexcept {
  return std::chrono::duration_cast<std::chrono::milliseconds>(time.time_since_epoch()).count();
}

std::chrono::system_clock::time_point from_ms(std::int64_t ms) noexcept {
  // A damaged file may hold any number: times are kept within half the clock's range each way
  // (years 1823 to 2116), so that the difference of two of them, or one and now, cannot overflow.
  using Duration = std::chrono::system_clock::duration;
  constexpr std::int64_t limit =
      std::chrono::duration_cast<std::chrono::milliseconds>(Duration(Duration::max().count() / 2)).count();
  return std::chrono::system_clock::time_point(
      std::chrono::duration_cast<Duration>(std::chrono::milliseconds(std::clamp(ms, -limit, limit))));
}

Stmt::Stmt(sqlite3* db, std::string_view sql) {
  if (sqlite3_prepare_v3(db, sql.data(), static_cast<int>(sql.size()), SQLITE_PREPARE_PERSISTENT, &stmt_,
                         nullptr) != SQLITE_OK) {
    sqlite3_finalize(stmt_);
    stmt_ = nullptr;
  }
}

Stmt::~Stmt() { sqlite3_finalize(stmt_); }

Stmt& Stmt::operator=(Stmt&& other) noexcept {
  if (this != &other) {
    sqlite3_finalize(stmt_);
    stmt_ = other.stmt_;
    other.stmt_ = nullptr;
  }
  return *this;
}

Stmt& Stmt::bind(int index, std::int64_t value) {
  sqlite3_bind_int64(stmt_, index, value);
  return *this;
}

Stmt& Stmt::bind(int index, std::string_view text) {
  sqlite3_bind_text(stmt_, index, text.data(), static_cast<int>(text.size()), SQLITE_TRANSIENT);
  return *this;
}

Stmt& Stmt::bind_null(int index) {
  sqlite3_bind_null(stmt_, index);
  return *this;
}

int Stmt::step() { return sqlite3_step(stmt_); }

void Stmt::reset() {
  sqlite3_reset(stmt_);
  sqlite3_clear_bindings(stmt_);
}

std::int64_t Stmt::integer(int column) const { return sqlite3_column_int64(stmt_, column); }

std::string Stmt::text(int column) const { return std::string(view(column)); }

std::string_view Stmt::view(int column) const {
  const auto* data = reinterpret_cast<const char*>(sqlite3_column_text(stmt_, column));
  if (data == nullptr) return {};
  return {data, static_cast<std::size_t>(sqlite3_column_bytes(stmt_, column))};
}

bool Stmt::is_null(int column) const { return sqlite3_column_type(stmt_, column) == SQLITE_NULL; }

Db::~Db() { sqlite3_close_v2(db_); }

Result<void> Db::exec(const char* sql) {
  if (sqlite3_exec(db_, sql, nullptr, nullptr, nullptr) != SQLITE_OK) return error(sql);
  return {};
}

Error Db::error(std::string_view doing) const {
  const int code = sqlite3_extended_errcode(db_);
  return Error{ErrorCode::store_error,
               "store " + path_ + ": " + std::string(doing) + ": " + sqlite3_errmsg(db_) + hint(code),
               "store"};
}

Result<std::unique_ptr<Db>> Db::open(const std::string& path, bool create, Durability durability,
                                     std::uint64_t max_bytes) {
  if (path.empty()) return Error{ErrorCode::store_error, "store: the path is empty", "store.path"};
  sqlite3* raw = nullptr;
  const int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX | (create ? SQLITE_OPEN_CREATE : 0);
  const int opened = sqlite3_open_v2(path.c_str(), &raw, flags, nullptr);
  std::unique_ptr<Db> db(new Db(raw, path));
  if (raw == nullptr) return Error{ErrorCode::store_error, "store " + path + ": out of memory", "store"};
  if (opened != SQLITE_OK) return db->error("cannot open");
  sqlite3_extended_result_codes(raw, 1);
  // SQLite opens a file it may not write read-only, without a word: that must not pass as a store.
  if (sqlite3_db_readonly(raw, "main") == 1) {
    return Error{ErrorCode::store_error,
                 "store " + path + ": cannot be written: the file is read-only" + hint(SQLITE_READONLY),
                 "store"};
  }
  sqlite3_busy_timeout(raw, 1000);  // a lock held longer than this is an error at open, not a hang

  {
    Stmt mode = db->prepare("PRAGMA journal_mode = WAL");
    if (!mode.ok() || mode.step() != SQLITE_ROW) return db->error("cannot be read");
    if (mode.view(0) != "wal") {
      return Error{ErrorCode::store_error,
                   "store " + path + ": cannot switch to write-ahead logging (journal mode stays \"" +
                       mode.text(0) + "\"; is the file or its folder read-only?)",
                   "store"};
    }
  }
  if (auto sync = db->exec(durability == Durability::power_loss ? "PRAGMA synchronous = FULL"
                                                                : "PRAGMA synchronous = NORMAL");
      !sync) {
    return sync.error();
  }
  // The schema, created or checked in one write transaction: a second opener waits for the first.
  if (auto begin = db->exec("BEGIN IMMEDIATE"); !begin) return db->error("cannot take the write lock");
  int version = 0;
  {
    Stmt get = db->prepare("PRAGMA user_version");
    if (!get.ok() || get.step() != SQLITE_ROW) {
      db->rollback();
      return db->error("cannot be read");
    }
    version = static_cast<int>(get.integer(0));
  }
  if (version == 0) {
    // A new file, or another program's database: a store is only made in the first.
    Stmt tables = db->prepare("SELECT count(*) FROM sqlite_schema");
    if (!tables.ok() || tables.step() != SQLITE_ROW) {
      db->rollback();
      return db->error("cannot be read");
    }
    if (tables.integer(0) != 0) {
      db->rollback();
      return Error{ErrorCode::store_error,
                   "store " + path + ": is another program's database (it has tables and no store schema)",
                   "store"};
    }
    if (sqlite3_exec(raw, schema_v1, nullptr, nullptr, nullptr) != SQLITE_OK) {
      Error failed = db->error("cannot create the schema");
      db->rollback();
      return failed;
    }
    version = 1;
  } else if (version > schema_version) {
    db->rollback();
    return Error{ErrorCode::store_error,
                 "store " + path + ": made by a newer version of the library (schema " +
                     std::to_string(version) + ", this one knows up to " + std::to_string(schema_version) +
                     ")",
                 "store"};
  }
  if (version == 1 && sqlite3_exec(raw, schema_v2_step, nullptr, nullptr, nullptr) != SQLITE_OK) {
    Error failed = db->error("cannot bring the schema to version 2");
    db->rollback();
    return failed;
  }
  if (auto commit = db->exec("COMMIT"); !commit) return commit.error();
  if (max_bytes > 0) {
    Stmt page = db->prepare("PRAGMA page_size");
    if (!page.ok() || page.step() != SQLITE_ROW) return db->error("cannot be read");
    const auto pages = max_bytes / static_cast<std::uint64_t>(std::max<std::int64_t>(page.integer(0), 512));
    const std::string limit = "PRAGMA max_page_count = " + std::to_string(std::max<std::uint64_t>(pages, 1));
    if (auto set = db->exec(limit.c_str()); !set) return set.error();
  }
  sqlite3_busy_timeout(raw, 5000);
  return db;
}

Result<std::unique_ptr<Db>> Db::connect(const std::string& path) {
  sqlite3* raw = nullptr;
  const int opened =
      sqlite3_open_v2(path.c_str(), &raw, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, nullptr);
  std::unique_ptr<Db> db(new Db(raw, path));
  if (raw == nullptr) return Error{ErrorCode::store_error, "store " + path + ": out of memory", "store"};
  if (opened != SQLITE_OK) return db->error("cannot open");
  sqlite3_extended_result_codes(raw, 1);
  sqlite3_busy_timeout(raw, 5000);
  return db;
}

Result<OwnerLock> OwnerLock::take(const std::string& path) {
  const std::string lock_path = path + ".lock";
  const int fd = ::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) {
    return Error{ErrorCode::store_error,
                 "store " + path + ": cannot open its lock file " + lock_path + ": " +
                     std::system_category().message(errno),
                 "store"};
  }
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    const int why = errno;
    ::close(fd);
    if (why == EWOULDBLOCK) {
      return Error{ErrorCode::store_error,
                   "store " + path +
                       ": in use by another Dispatcher (in this process or another); one "
                       "Dispatcher owns a store file at a time",
                   "store"};
    }
    return Error{ErrorCode::store_error,
                 "store " + path + ": cannot lock " + lock_path + ": " + std::system_category().message(why),
                 "store"};
  }
  return OwnerLock(fd);
}

OwnerLock::~OwnerLock() {
  if (fd_ >= 0) ::close(fd_);  // closing releases the lock
}

Result<std::vector<StoredDelivery>> list(Db& db, const DeliveryQuery& query) {
  Stmt stmt = db.prepare(std::string(select_columns) + where(query) + " ORDER BY seq LIMIT ?");
  if (!stmt.ok()) return db.error("cannot list deliveries");
  stmt.bind(bind_query(stmt, query), static_cast<std::int64_t>(query.limit));
  std::vector<StoredDelivery> rows;
  int rc = 0;
  while ((rc = stmt.step()) == SQLITE_ROW) rows.push_back(read_row(stmt));
  if (rc != SQLITE_DONE) return db.error("cannot list deliveries");
  return rows;
}

Result<std::optional<StoredDelivery>> find(Db& db, const std::string& id) {
  Stmt stmt = db.prepare(std::string(select_columns) + " WHERE id = ?");
  if (!stmt.ok()) return db.error("cannot read a delivery");
  stmt.bind(1, std::string_view(id));
  const int rc = stmt.step();
  if (rc == SQLITE_ROW) return std::optional<StoredDelivery>(read_row(stmt));
  if (rc != SQLITE_DONE) return db.error("cannot read a delivery");
  return std::optional<StoredDelivery>();
}

Result<StoreCounts> counts(Db& db) {
  StoreCounts counts;
  Stmt by_state = db.prepare("SELECT state, count(*) FROM deliveries GROUP BY state");
  if (!by_state.ok()) return db.error("cannot count deliveries");
  int rc = 0;
  while ((rc = by_state.step()) == SQLITE_ROW) {
    const auto n = static_cast<std::uint64_t>(by_state.integer(1));
    switch (by_state.integer(0)) {
      case state_pending: counts.pending = n; break;
      case state_failed: counts.failed = n; break;
      case state_delivered: counts.delivered = n; break;
      default: break;
    }
  }
  if (rc != SQLITE_DONE) return db.error("cannot count deliveries");
  Stmt paused = db.prepare("SELECT name FROM endpoint_state WHERE gone = 1 ORDER BY name");
  if (!paused.ok()) return db.error("cannot read endpoint states");
  while ((rc = paused.step()) == SQLITE_ROW) counts.paused_endpoints.push_back(paused.text(0));
  if (rc != SQLITE_DONE) return db.error("cannot read endpoint states");
  Stmt disabled = db.prepare("SELECT name FROM endpoint_state WHERE breaker = 'disabled' ORDER BY name");
  if (!disabled.ok()) return db.error("cannot read endpoint states");
  while ((rc = disabled.step()) == SQLITE_ROW) counts.disabled_endpoints.push_back(disabled.text(0));
  if (rc != SQLITE_DONE) return db.error("cannot read endpoint states");
  for (const char* suffix : {"", "-wal"}) {
    struct stat info {};
    if (::stat((db.path() + suffix).c_str(), &info) == 0)
      counts.file_bytes += static_cast<std::uint64_t>(info.st_size);
  }
  return counts;
}

Result<std::vector<std::string>> failed_ids(Db& db, const DeliveryQuery& query) {
  DeliveryQuery failed = query;
  failed.state = DeliveryState::failed;
  Stmt stmt = db.prepare("SELECT id FROM deliveries" + where(failed) + " ORDER BY seq LIMIT ?");
  if (!stmt.ok()) return db.error("cannot list deliveries");
  stmt.bind(bind_query(stmt, failed), static_cast<std::int64_t>(failed.limit));
  std::vector<std::string> ids;
  int rc = 0;
  while ((rc = stmt.step()) == SQLITE_ROW) ids.push_back(stmt.text(0));
  if (rc != SQLITE_DONE) return db.error("cannot list deliveries");
  return ids;
}

Result<std::vector<std::string>> redeliver(Db& db, const std::vector<std::string>& ids,
                                           std::chrono::system_clock::time_point now) {
  Stmt update = db.prepare(
      "UPDATE deliveries SET state = 0, attempts = 0, budget_from = ?1, due_at = ?1, signed_at = 0, "
      "finished_at = NULL, reason = NULL, detail = NULL WHERE id = ?2 AND state = 1 AND event IS NOT NULL");
  if (!update.ok()) return db.error("cannot redeliver");
  if (auto begin = db.exec("BEGIN IMMEDIATE"); !begin) return begin.error();
  std::vector<std::string> taken;
  for (const std::string& id : ids) {
    update.bind(1, to_ms(now)).bind(2, std::string_view(id));
    const int rc = update.step();
    update.reset();
    if (rc != SQLITE_DONE) {
      Error failed = db.error("cannot redeliver");
      db.rollback();
      return failed;
    }
    if (sqlite3_changes(db.handle()) > 0) taken.push_back(id);
  }
  if (auto commit = db.exec("COMMIT"); !commit) {
    db.rollback();
    return commit.error();
  }
  return taken;
}

}  // namespace statusstack::webhooks::detail::sqlite
