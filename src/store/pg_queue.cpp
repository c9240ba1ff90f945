#include "store/pg_queue.hpp"

#include <libpq-fe.h>

#include <poll.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <set>
#include <string_view>
#include <utility>

namespace statusstack::webhooks::detail::pg {

namespace {

// Taken by every schema change, in the transaction that makes it: one instance migrates, the others
// wait, then find the schema in place. An arbitrary key of this library's own.
constexpr const char* migration_lock = "7236593104617226001";

constexpr const char* schema_v1 = R"sql(
CREATE TABLE statusstack_deliveries (
  seq         bigserial PRIMARY KEY,        -- enqueue order
  id          text NOT NULL UNIQUE,         -- dlv_...
  endpoint    text NOT NULL,
  event_type  text NOT NULL,
  event       text,                         -- the event's JSON; NULL once delivered
  order_key   text,                         -- NULL: any order
  state       smallint NOT NULL DEFAULT 0,  -- 0 pending, 1 failed, 2 delivered
  attempts    integer NOT NULL DEFAULT 0,
  claim       bigint NOT NULL DEFAULT 0,    -- bumped by every claim: fences outcomes
  accepted_at bigint NOT NULL,              -- Unix milliseconds, like every time here
  budget_from bigint NOT NULL,              -- max_age counts from here
  due_at      bigint NOT NULL,              -- pending: when due; claimed: when the lease ends
  owner       text NOT NULL DEFAULT '',     -- the instance that claimed it last
  signed_at   bigint NOT NULL DEFAULT 0,    -- Unix seconds of the signature's timestamp
  first_attempt_at bigint NOT NULL DEFAULT 0,
  last_attempt_at  bigint NOT NULL DEFAULT 0,
  finished_at bigint,
  last_status integer NOT NULL DEFAULT 0,
  last_error  text NOT NULL DEFAULT '',
  reason      text NOT NULL DEFAULT '',     -- failed: why (FailureReason's name)
  detail      text NOT NULL DEFAULT ''      -- failed: the report's detail
);
CREATE INDEX statusstack_deliveries_pending ON statusstack_deliveries (seq) WHERE state = 0;
CREATE INDEX statusstack_deliveries_keyed ON statusstack_deliveries (endpoint, order_key, seq)
  WHERE state = 0 AND order_key IS NOT NULL;
CREATE INDEX statusstack_deliveries_final ON statusstack_deliveries (state, finished_at) WHERE state != 0;
CREATE TABLE statusstack_endpoints (
  name          text PRIMARY KEY,
  gone          boolean NOT NULL DEFAULT false,  -- answered 410 Gone: paused until replaced
  breaker       text NOT NULL DEFAULT 'closed',
  failures      integer NOT NULL DEFAULT 0,
  opened        integer NOT NULL DEFAULT 0,
  failing_since bigint NOT NULL DEFAULT 0,
  open_until    bigint NOT NULL DEFAULT 0,
  last_error    text NOT NULL DEFAULT '',
  version       bigint NOT NULL DEFAULT 1      -- bumped by every write: instances apply what is new
);
CREATE TABLE statusstack_instances (
  owner   text PRIMARY KEY,                      -- host:pid:random of a live Dispatcher
  seen_at bigint NOT NULL                        -- its last heartbeat
);
)sql";

// Rows travel as arrays, one statement for a whole batch (a statement per row made enqueueing a
// round trip per delivery: 7,000 rows/s in batches of 100 on this machine).
constexpr const char* insert_sql = R"sql(
INSERT INTO statusstack_deliveries (id, endpoint, event_type, event, order_key, accepted_at, budget_from, due_at)
SELECT id, endpoint, event_type, event, order_key, accepted_at, accepted_at, due_at
  FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::bigint[], $7::bigint[])
       AS r(id, endpoint, event_type, event, order_key, accepted_at, due_at)
)sql";

// Oldest first, by enqueue order: a delivery whose holder died, or whose retry came due, goes before
// newer ones (by due time it would wait behind the whole backlog). A keyed row is claimable only
// when no earlier row of its endpoint and key is pending: the key's deliveries go one at a time, in
// enqueue order, whichever instance claims them.
constexpr const char* claim_sql = R"sql(
UPDATE statusstack_deliveries AS d
   SET due_at = $1::bigint + $2::bigint, claim = d.claim + 1, owner = $4
  FROM (SELECT seq FROM statusstack_deliveries AS p
         WHERE state = 0 AND due_at <= $1::bigint AND ($5::text[] IS NULL OR endpoint = ANY($5::text[]))
           AND (NOT $6::boolean OR owner <> '')
           AND (order_key IS NULL OR NOT EXISTS (
                SELECT 1 FROM statusstack_deliveries AS e
                 WHERE e.state = 0 AND e.endpoint = p.endpoint AND e.order_key = p.order_key AND e.seq < p.seq))
         ORDER BY seq
         LIMIT $3
         FOR UPDATE SKIP LOCKED) AS due
 WHERE d.seq = due.seq
RETURNING )sql";

// The columns a claim returns, in claim_sql's order (read_claimed()).
constexpr const char* claimed_columns =
    "d.id, d.endpoint, d.event_type, d.event, COALESCE(d.order_key, ''), d.claim, d.accepted_at, "
    "d.budget_from, d.attempts, d.last_status, d.last_error, d.signed_at, d.first_attempt_at, "
    "d.last_attempt_at, d.order_key IS NOT NULL";

constexpr const char* renew_sql = R"sql(
UPDATE statusstack_deliveries AS d SET due_at = $3
  FROM unnest($1::text[], $2::bigint[]) AS r(id, claim)
 WHERE d.id = r.id AND d.claim = r.claim AND d.state = 0
RETURNING d.id
)sql";

// Given back: due now, and a new claim number, so that nothing the old holder writes later counts.
constexpr const char* release_sql = R"sql(
UPDATE statusstack_deliveries AS d SET due_at = LEAST(d.due_at, $3), claim = d.claim + 1, owner = ''
  FROM unnest($1::text[], $2::bigint[]) AS r(id, claim)
 WHERE d.id = r.id AND d.claim = r.claim AND d.state = 0
)sql";

// A batch of final outcomes in one statement; the ids it returns are those written (the others were
// fenced out). One autocommit UPDATE per delivery waited for a commit each: 470 a second per
// instance. With $11 a delivered row is removed rather than kept without its body.
constexpr const char* finish_sql = R"sql(
WITH r AS (
  SELECT * FROM unnest($1::text[], $2::bigint[], $3::smallint[], $4::integer[], $5::integer[], $6::text[],
                       $7::bigint[], $8::bigint[], $9::bigint[], $12::text[], $13::text[])
         AS r(id, claim, state, attempts, last_status, last_error, signed_at, first_attempt_at,
              last_attempt_at, reason, detail)
), removed AS (
  DELETE FROM statusstack_deliveries AS d USING r
   WHERE $11::boolean AND r.state = 2 AND d.id = r.id AND d.claim = r.claim AND d.state = 0
  RETURNING d.id
), written AS (
  UPDATE statusstack_deliveries AS d
     SET state = r.state, attempts = r.attempts, last_status = r.last_status, last_error = r.last_error,
         signed_at = r.signed_at, first_attempt_at = r.first_attempt_at, last_attempt_at = r.last_attempt_at,
         finished_at = $10::bigint, reason = r.reason, detail = r.detail, owner = '',
         event = CASE WHEN r.state = 2 THEN NULL ELSE d.event END
    FROM r
   WHERE NOT ($11::boolean AND r.state = 2) AND d.id = r.id AND d.claim = r.claim AND d.state = 0
  RETURNING d.id
)
SELECT id FROM removed UNION ALL SELECT id FROM written
)sql";

// Back to the pool with a new claim number: whoever claims it when due makes the next attempt.
constexpr const char* retry_sql = R"sql(
UPDATE statusstack_deliveries AS d
   SET due_at = r.due_at, attempts = r.attempts, last_status = r.last_status, last_error = r.last_error,
       signed_at = r.signed_at, first_attempt_at = r.first_attempt_at, last_attempt_at = r.last_attempt_at,
       claim = d.claim + 1, owner = ''
  FROM unnest($1::text[], $2::bigint[], $3::bigint[], $4::integer[], $5::integer[], $6::text[], $7::bigint[],
              $8::bigint[], $9::bigint[])
       AS r(id, claim, due_at, attempts, last_status, last_error, signed_at, first_attempt_at, last_attempt_at)
 WHERE d.id = r.id AND d.claim = r.claim AND d.state = 0
RETURNING d.id
)sql";

constexpr const char* redeliver_sql = R"sql(
UPDATE statusstack_deliveries
   SET state = 0, attempts = 0, due_at = $2, budget_from = $2, finished_at = NULL, last_status = 0,
       last_error = '', reason = '', detail = '', first_attempt_at = 0, last_attempt_at = 0, signed_at = 0
 WHERE id = $1 AND state = 1 AND event IS NOT NULL
)sql";

constexpr const char* redeliver_claimed_sql = R"sql(
UPDATE statusstack_deliveries AS d
   SET state = 0, attempts = 0, due_at = $2::bigint + $3::bigint, budget_from = $2, finished_at = NULL,
       last_status = 0, last_error = '', reason = '', detail = '', first_attempt_at = 0, last_attempt_at = 0,
       signed_at = 0, claim = d.claim + 1, owner = $4
 WHERE d.id = ANY($1::text[]) AND d.state = 1 AND d.event IS NOT NULL
RETURNING )sql";

// `state != 0` as in the partial index's condition, so that the planner uses it.
constexpr const char* prune_sql = R"sql(
DELETE FROM statusstack_deliveries
 WHERE seq IN (SELECT seq FROM statusstack_deliveries
                WHERE state != 0 AND ((state = 2 AND finished_at < $1) OR (state = 1 AND finished_at < $2))
                LIMIT $3)
)sql";

constexpr const char* save_endpoint_sql = R"sql(
INSERT INTO statusstack_endpoints (name, gone, breaker, failures, opened, failing_since, open_until, last_error)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
ON CONFLICT (name) DO UPDATE
   SET gone = EXCLUDED.gone, breaker = EXCLUDED.breaker, failures = EXCLUDED.failures,
       opened = EXCLUDED.opened, failing_since = EXCLUDED.failing_since,
       open_until = EXCLUDED.open_until, last_error = EXCLUDED.last_error,
       version = statusstack_endpoints.version + 1
RETURNING version
)sql";

// A live instance's heartbeat; the others it sees alive (and the long-dead ones it forgets). The
// SELECT does not see this statement's own insert: the caller adds itself.
constexpr const char* heartbeat_sql = R"sql(
WITH beat AS (
  INSERT INTO statusstack_instances (owner, seen_at) VALUES ($1, $2::bigint)
  ON CONFLICT (owner) DO UPDATE SET seen_at = EXCLUDED.seen_at
), forgotten AS (
  DELETE FROM statusstack_instances WHERE seen_at < $2::bigint - 60000 AND owner <> $1
)
SELECT count(*) FROM statusstack_instances WHERE seen_at >= $2::bigint - $3::bigint AND owner <> $1
)sql";

constexpr const char* listed_columns =
    "SELECT id, endpoint, event_type, state, reason, attempts, accepted_at, due_at, last_attempt_at, "
    "COALESCE(finished_at, 0), last_status, last_error, detail, COALESCE(event, '') "
    "FROM statusstack_deliveries";

// A PostgreSQL array literal of text elements, each quoted ("{"a","b\\"c"}"): what unnest() reads.
class TextArray {
 public:
  void add(std::string_view text) {
    out_ += out_.size() == 1 ? "\"" : ",\"";
    for (const char c : text) {
      if (c == '"' || c == '\\') out_ += '\\';
      out_ += c;
    }
    out_ += '"';
  }
  void add(std::int64_t number) { add(std::to_string(number)); }
  void add_null() { out_ += out_.size() == 1 ? "NULL" : ",NULL"; }
  std::string done() { return std::move(out_) + "}"; }

 private:
  std::string out_ = "{";
};

Error pg_error(std::string_view doing, pg_conn* connection) {
  std::string detail = connection != nullptr ? PQerrorMessage(connection) : "out of memory";
  while (!detail.empty() && (detail.back() == '\n' || detail.back() == ' ')) detail.pop_back();
  return Error{ErrorCode::store_error, "postgresql: " + std::string(doing) + ": " + detail, "store"};
}

// A result that clears itself.
class PgResult {
 public:
  explicit PgResult(PGresult* result) : result_(result) {}
  ~PgResult() { PQclear(result_); }
  PgResult(const PgResult&) = delete;
  PgResult& operator=(const PgResult&) = delete;
  PGresult* get() const { return result_; }
  bool ok() const {
    const ExecStatusType status = PQresultStatus(result_);
    return status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK;
  }
  std::string text(int row, int column) const { return {PQgetvalue(result_, row, column)}; }
  std::int64_t integer(int row, int column) const {
    return std::strtoll(PQgetvalue(result_, row, column), nullptr, 10);
  }
  /// Rows an UPDATE changed.
  std::int64_t changed() const { return std::strtoll(PQcmdTuples(result_), nullptr, 10); }

 private:
  PGresult* result_;
};

// Text parameters as libpq takes them (it copies nothing: the strings must live through the call).
template <std::size_t N>
std::array<const char*, N> parameters(const std::array<std::string, N>& values) {
  std::array<const char*, N> pointers{};
  for (std::size_t i = 0; i < N; ++i) pointers[i] = values[i].c_str();
  return pointers;
}

template <std::size_t N>
PGresult* run(pg_conn* connection, const char* sql, const std::array<std::string, N>& values) {
  return PQexecParams(connection, sql, static_cast<int>(N), nullptr, parameters(values).data(), nullptr,
                      nullptr, 0);
}

// The statements an instance runs for every batch, parsed and planned once per connection: claims
// and finishes went 15-20% faster than with PQexecParams.
constexpr const char* claim_statement = "statusstack_claim";
constexpr const char* finish_statement = "statusstack_finish";
constexpr const char* retry_statement = "statusstack_retry";

template <std::size_t N>
PGresult* run_prepared(pg_conn* connection, const char* statement, const std::array<std::string, N>& values) {
  return PQexecPrepared(connection, statement, static_cast<int>(N), parameters(values).data(), nullptr,
                        nullptr, 0);
}

Result<void> exec(pg_conn* connection, const char* sql, std::string_view doing) {
  const PgResult result(PQexec(connection, sql));
  if (!result.ok()) return pg_error(doing, connection);
  return {};
}

// The ids of `sent` that `result` (one id per row) does not name: the rows a fenced statement did
// not write.
template <class Row>
std::vector<std::string> missing(const std::vector<Row>& sent, const PgResult& result) {
  std::set<std::string> written;
  for (int r = 0; r < PQntuples(result.get()); ++r) written.insert(result.text(r, 0));
  std::vector<std::string> fenced;
  for (const Row& row : sent) {
    if (written.count(row.id) == 0) fenced.push_back(row.id);
  }
  return fenced;
}

// An outcome's six columns, from `first` on, in the order finish_sql and retry_sql read them.
template <std::size_t N>
void add_outcome(std::array<TextArray, N>& columns, std::size_t first, const Outcome& outcome) {
  columns[first].add(outcome.attempts);
  columns[first + 1].add(outcome.last_status);
  columns[first + 2].add(outcome.last_error);
  columns[first + 3].add(outcome.signed_at);
  columns[first + 4].add(outcome.first_attempt_at);
  columns[first + 5].add(outcome.last_attempt_at);
}

// Rows in claimed_columns' order.
std::vector<ClaimedRow> read_claimed(const PgResult& result) {
  std::vector<ClaimedRow> rows(static_cast<std::size_t>(PQntuples(result.get())));
  for (std::size_t i = 0; i < rows.size(); ++i) {
    const int r = static_cast<int>(i);
    ClaimedRow& row = rows[i];
    row.id = result.text(r, 0);
    row.endpoint = result.text(r, 1);
    row.event_type = result.text(r, 2);
    row.event = result.text(r, 3);
    row.order_key = result.text(r, 4);
    row.claim = result.integer(r, 5);
    row.accepted_at = result.integer(r, 6);
    row.budget_from = result.integer(r, 7);
    row.outcome.attempts = static_cast<int>(result.integer(r, 8));
    row.outcome.last_status = static_cast<int>(result.integer(r, 9));
    row.outcome.last_error = result.text(r, 10);
    row.outcome.signed_at = result.integer(r, 11);
    row.outcome.first_attempt_at = result.integer(r, 12);
    row.outcome.last_attempt_at = result.integer(r, 13);
    row.keyed = result.text(r, 14) == "t";
  }
  return rows;
}

std::chrono::system_clock::time_point from_ms(std::int64_t ms) {
  return std::chrono::system_clock::time_point(std::chrono::milliseconds(ms));
}
std::int64_t to_ms(std::chrono::system_clock::time_point time) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(time.time_since_epoch()).count();
}

// A row in listed_columns' order.
StoredDelivery read_stored(const PgResult& result, int r) {
  StoredDelivery row;
  row.id = result.text(r, 0);
  row.endpoint = result.text(r, 1);
  row.event = parse_event_type(result.text(r, 2)).value_or(EventType{});
  switch (result.integer(r, 3)) {
    case 1: row.state = DeliveryState::failed; break;
    case 2: row.state = DeliveryState::delivered; break;
    default: row.state = DeliveryState::pending; break;
  }
  row.reason = failure_reason_from_string(result.text(r, 4)).value_or(FailureReason::none);
  row.attempts = static_cast<int>(result.integer(r, 5));
  row.accepted_at = from_ms(result.integer(r, 6));
  if (row.state == DeliveryState::pending) row.next_attempt_at = from_ms(result.integer(r, 7));
  if (const std::int64_t at = result.integer(r, 8); at > 0) row.last_attempt_at = from_ms(at);
  if (const std::int64_t at = result.integer(r, 9); at > 0) row.finished_at = from_ms(at);
  row.last_status = static_cast<int>(result.integer(r, 10));
  row.last_error = result.text(r, 11);
  row.detail = result.text(r, 12);
  row.event_json = result.text(r, 13);
  return row;
}

std::vector<std::string> split_names(const std::string& joined) {
  std::vector<std::string> names;
  std::size_t from = 0;
  while (from < joined.size()) {
    const std::size_t comma = std::min(joined.find(',', from), joined.size());
    names.push_back(joined.substr(from, comma - from));
    from = comma + 1;
  }
  return names;
}

// A DeliveryQuery as a WHERE clause with its parameters ($1, $2, ...).
struct Filter {
  explicit Filter(const DeliveryQuery& query) {
    auto add = [this](const std::string& condition, std::string value) {
      values.push_back(std::move(value));
      where += (where.empty() ? " WHERE " : " AND ") + condition + "$" + std::to_string(values.size());
    };
    if (query.state) {
      add("state = ", std::to_string(*query.state == DeliveryState::pending  ? 0
                                     : *query.state == DeliveryState::failed ? 1
                                                                             : 2));
    }
    if (!query.endpoint.empty()) add("endpoint = ", query.endpoint);
    if (query.reason) add("reason = ", to_string(*query.reason));
    // When it became final, or was accepted while pending.
    const std::string when = "(CASE WHEN state = 0 THEN accepted_at ELSE finished_at END) ";
    if (query.since) add(when + ">= ", std::to_string(to_ms(*query.since)));
    if (query.until) add(when + "< ", std::to_string(to_ms(*query.until)));
  }
  PGresult* run(pg_conn* connection, const std::string& sql) const {
    std::vector<const char*> pointers;
    for (const std::string& value : values) pointers.push_back(value.c_str());
    return PQexecParams(connection, sql.c_str(), static_cast<int>(pointers.size()), nullptr, pointers.data(),
                        nullptr, nullptr, 0);
  }
  std::string where;
  std::vector<std::string> values;
};

Result<void> insert_rows(pg_conn* connection, const std::vector<NewRow>& rows) {
  if (rows.empty()) return {};
  std::array<TextArray, 7> columns;
  for (const NewRow& row : rows) {
    columns[0].add(row.id);
    columns[1].add(row.endpoint);
    columns[2].add(row.event_type);
    columns[3].add(row.event);
    if (row.order_key) {
      columns[4].add(*row.order_key);
    } else {
      columns[4].add_null();
    }
    columns[5].add(row.accepted_at);
    columns[6].add(row.due_at);
  }
  const PgResult result(run<7>(connection, insert_sql,
                               {columns[0].done(), columns[1].done(), columns[2].done(), columns[3].done(),
                                columns[4].done(), columns[5].done(), columns[6].done()}));
  if (!result.ok()) {
    return pg_error("cannot enqueue " + std::to_string(rows.size()) + " deliveries", connection);
  }
  return exec(connection, "NOTIFY statusstack_deliveries", "cannot notify the instances");
}

// In one transaction under the migration lock: creates the schema, or checks the one in place.
Result<void> migrate(pg_conn* connection) {
  if (auto begun = exec(connection, "BEGIN", "cannot begin"); !begun) return begun;
  auto failed = [connection](Error error) {
    static_cast<void>(exec(connection, "ROLLBACK", "rollback"));
    return error;
  };
  const std::string lock = std::string("SELECT pg_advisory_xact_lock(") + migration_lock + ")";
  if (auto locked = exec(connection, lock.c_str(), "cannot take the migration lock"); !locked) {
    return failed(locked.error());
  }
  if (auto made = exec(connection, "CREATE TABLE IF NOT EXISTS statusstack_schema (version integer NOT NULL)",
                       "cannot create the schema table");
      !made) {
    return failed(made.error());
  }
  const PgResult found(PQexec(connection, "SELECT max(version) FROM statusstack_schema"));
  if (!found.ok()) return failed(pg_error("cannot read the schema version", connection));
  const int version = PQgetisnull(found.get(), 0, 0) ? 0 : static_cast<int>(found.integer(0, 0));
  if (version > schema_version) {
    return failed(Error{ErrorCode::store_error,
                        "postgresql: the database has schema version " + std::to_string(version) +
                            ", newer than this library's (" + std::to_string(schema_version) +
                            "): upgrade the library",
                        "store"});
  }
  if (version < 1) {
    if (auto made = exec(connection, schema_v1, "cannot create the deliveries table"); !made) {
      return failed(made.error());
    }
    if (auto noted = exec(connection, "INSERT INTO statusstack_schema VALUES (1)", "cannot note the schema");
        !noted) {
      return failed(noted.error());
    }
  }
  return exec(connection, "COMMIT", "cannot commit the schema");
}

// The statements an instance runs for every batch, on a new (or reset) connection.
Result<void> prepare(pg_conn* connection) {
  const std::string claim = std::string(claim_sql) + claimed_columns;
  const std::array<std::pair<const char*, const char*>, 3> statements{
      {{claim_statement, claim.c_str()}, {finish_statement, finish_sql}, {retry_statement, retry_sql}}};
  for (const auto& [name, sql] : statements) {
    const PgResult prepared(PQprepare(connection, name, sql, 0, nullptr));
    if (!prepared.ok()) return pg_error(std::string("cannot prepare ") + name, connection);
  }
  return {};
}

}  // namespace

Result<std::unique_ptr<Queue>> Queue::open(const std::string& conninfo) {
  pg_conn* connection = PQconnectdb(conninfo.c_str());
  std::unique_ptr<Queue> queue(new Queue(connection));
  if (connection == nullptr || PQstatus(connection) != CONNECTION_OK)
    return pg_error("cannot connect", connection);
  // Quiet: the server's notices (NOTICE: relation exists) are not the host's business.
  PQsetNoticeProcessor(
      connection, [](void*, const char*) {}, nullptr);
  if (auto migrated = migrate(connection); !migrated) return migrated.error();
  if (auto prepared = prepare(connection); !prepared) return prepared.error();
  return queue;
}

Queue::~Queue() { PQfinish(connection_); }

Result<void> Queue::enqueue(const std::vector<NewRow>& rows) {
  if (auto begun = exec(connection_, "BEGIN", "cannot begin"); !begun) return begun;
  if (auto inserted = insert_rows(connection_, rows); !inserted) {
    static_cast<void>(exec(connection_, "ROLLBACK", "rollback"));
    return inserted;
  }
  return exec(connection_, "COMMIT", "cannot commit the deliveries");
}

Result<std::vector<ClaimedRow>> Queue::claim(std::size_t limit, std::int64_t now, std::int64_t lease_ms,
                                             const std::string& owner,
                                             const std::vector<std::string>* endpoints, bool only_lapsed) {
  TextArray names;
  if (endpoints != nullptr) {
    for (const std::string& name : *endpoints) names.add(name);
  }
  const std::array<std::string, 6> values{std::to_string(now),   std::to_string(lease_ms),
                                          std::to_string(limit), owner,
                                          names.done(),          only_lapsed ? "true" : "false"};
  auto pointers = parameters(values);
  if (endpoints == nullptr) pointers[4] = nullptr;  // NULL: any endpoint
  const PgResult result(
      PQexecPrepared(connection_, claim_statement, 6, pointers.data(), nullptr, nullptr, 0));
  if (!result.ok()) return pg_error("cannot claim deliveries", connection_);
  return read_claimed(result);
}

Result<std::vector<std::string>> Queue::renew(const std::vector<Held>& held, std::int64_t until) {
  if (held.empty()) return std::vector<std::string>{};
  std::array<TextArray, 2> columns;
  for (const Held& row : held) {
    columns[0].add(row.id);
    columns[1].add(row.claim);
  }
  const PgResult result(
      run<3>(connection_, renew_sql, {columns[0].done(), columns[1].done(), std::to_string(until)}));
  if (!result.ok()) return pg_error("cannot renew the leases", connection_);
  return missing(held, result);
}

Result<void> Queue::release(const std::vector<Held>& held, std::int64_t now) {
  if (held.empty()) return {};
  std::array<TextArray, 2> columns;
  for (const Held& row : held) {
    columns[0].add(row.id);
    columns[1].add(row.claim);
  }
  const PgResult result(
      run<3>(connection_, release_sql, {columns[0].done(), columns[1].done(), std::to_string(now)}));
  if (!result.ok()) return pg_error("cannot give deliveries back", connection_);
  return {};
}

Result<std::vector<std::string>> Queue::finish(const std::vector<FinalRow>& finals, std::int64_t now,
                                               bool remove_delivered) {
  if (finals.empty()) return std::vector<std::string>{};
  std::array<TextArray, 11> columns;
  for (const FinalRow& final : finals) {
    columns[0].add(final.id);
    columns[1].add(final.claim);
    columns[2].add(final.delivered ? 2 : 1);
    add_outcome(columns, 3, final.outcome);
    columns[9].add(final.reason);
    columns[10].add(final.detail);
  }
  const PgResult result(run_prepared<13>(
      connection_, finish_statement,
      {columns[0].done(), columns[1].done(), columns[2].done(), columns[3].done(), columns[4].done(),
       columns[5].done(), columns[6].done(), columns[7].done(), columns[8].done(), std::to_string(now),
       remove_delivered ? "true" : "false", columns[9].done(), columns[10].done()}));
  if (!result.ok())
    return pg_error("cannot finish " + std::to_string(finals.size()) + " deliveries", connection_);
  return missing(finals, result);
}

Result<bool> Queue::finish(const std::string& id, std::int64_t claim, bool delivered, const Outcome& outcome,
                           std::int64_t now) {
  auto fenced = finish(std::vector<FinalRow>{FinalRow{id, claim, delivered, outcome, {}, {}}}, now);
  if (!fenced) return fenced.error();
  return fenced->empty();
}

Result<std::vector<std::string>> Queue::retry(const std::vector<RetryRow>& retries) {
  if (retries.empty()) return std::vector<std::string>{};
  std::array<TextArray, 9> columns;
  for (const RetryRow& retry : retries) {
    columns[0].add(retry.id);
    columns[1].add(retry.claim);
    columns[2].add(retry.due_at);
    add_outcome(columns, 3, retry.outcome);
  }
  const PgResult result(run_prepared<9>(
      connection_, retry_statement,
      {columns[0].done(), columns[1].done(), columns[2].done(), columns[3].done(), columns[4].done(),
       columns[5].done(), columns[6].done(), columns[7].done(), columns[8].done()}));
  if (!result.ok())
    return pg_error("cannot reschedule " + std::to_string(retries.size()) + " deliveries", connection_);
  return missing(retries, result);
}

Result<bool> Queue::retry_at(const std::string& id, std::int64_t claim, std::int64_t due_at,
                             const Outcome& outcome) {
  auto fenced = retry(std::vector<RetryRow>{RetryRow{id, claim, due_at, outcome}});
  if (!fenced) return fenced.error();
  return fenced->empty();
}

Result<bool> Queue::redeliver(const std::string& id, std::int64_t now) {
  const PgResult result(run<2>(connection_, redeliver_sql, {id, std::to_string(now)}));
  if (!result.ok()) return pg_error("cannot redeliver " + id, connection_);
  return result.changed() == 1;
}

Result<std::vector<ClaimedRow>> Queue::redeliver_claimed(const std::vector<std::string>& ids,
                                                         std::int64_t now, std::int64_t lease_ms,
                                                         const std::string& owner) {
  TextArray listed;
  for (const std::string& id : ids) listed.add(id);
  const std::string sql = std::string(redeliver_claimed_sql) + claimed_columns;
  const PgResult result(run<4>(connection_, sql.c_str(),
                               {listed.done(), std::to_string(now), std::to_string(lease_ms), owner}));
  if (!result.ok()) return pg_error("cannot redeliver", connection_);
  return read_claimed(result);
}

Result<std::vector<StoredDelivery>> Queue::list(const DeliveryQuery& query) {
  Filter filter(query);
  const std::string sql =
      std::string(listed_columns) + filter.where + " ORDER BY seq LIMIT " + std::to_string(query.limit);
  const PgResult result(filter.run(connection_, sql));
  if (!result.ok()) return pg_error("cannot list deliveries", connection_);
  std::vector<StoredDelivery> rows;
  rows.reserve(static_cast<std::size_t>(PQntuples(result.get())));
  for (int r = 0; r < PQntuples(result.get()); ++r) rows.push_back(read_stored(result, r));
  return rows;
}

Result<std::optional<StoredDelivery>> Queue::find(const std::string& id) {
  const std::string sql = std::string(listed_columns) + " WHERE id = $1";
  const PgResult result(run<1>(connection_, sql.c_str(), {id}));
  if (!result.ok()) return pg_error("cannot read delivery " + id, connection_);
  if (PQntuples(result.get()) == 0) return std::optional<StoredDelivery>();
  return std::optional<StoredDelivery>(read_stored(result, 0));
}

Result<std::vector<std::string>> Queue::failed_ids(const DeliveryQuery& query) {
  DeliveryQuery failed = query;
  failed.state = DeliveryState::failed;
  Filter filter(failed);
  const std::string sql = "SELECT id FROM statusstack_deliveries" + filter.where + " ORDER BY seq LIMIT " +
                          std::to_string(failed.limit);
  const PgResult result(filter.run(connection_, sql));
  if (!result.ok()) return pg_error("cannot list deliveries", connection_);
  std::vector<std::string> ids;
  ids.reserve(static_cast<std::size_t>(PQntuples(result.get())));
  for (int r = 0; r < PQntuples(result.get()); ++r) ids.push_back(result.text(r, 0));
  return ids;
}

Result<StoreCounts> Queue::counts() {
  const PgResult result(PQexec(
      connection_,
      "SELECT (SELECT count(*) FROM statusstack_deliveries WHERE state = 0), "
      "(SELECT count(*) FROM statusstack_deliveries WHERE state = 1), "
      "(SELECT count(*) FROM statusstack_deliveries WHERE state = 2), "
      "pg_total_relation_size('statusstack_deliveries'), "
      "COALESCE((SELECT string_agg(name, ',' ORDER BY name) FROM statusstack_endpoints WHERE gone), ''), "
      "COALESCE((SELECT string_agg(name, ',' ORDER BY name) FROM statusstack_endpoints "
      "WHERE breaker = 'disabled'), '')"));
  if (!result.ok()) return pg_error("cannot count deliveries", connection_);
  StoreCounts counts;
  counts.pending = static_cast<std::uint64_t>(result.integer(0, 0));
  counts.failed = static_cast<std::uint64_t>(result.integer(0, 1));
  counts.delivered = static_cast<std::uint64_t>(result.integer(0, 2));
  counts.file_bytes = static_cast<std::uint64_t>(result.integer(0, 3));
  counts.paused_endpoints = split_names(result.text(0, 4));
  counts.disabled_endpoints = split_names(result.text(0, 5));
  return counts;
}

Result<std::int64_t> Queue::prune(std::int64_t delivered_before, std::int64_t failed_before,
                                  std::size_t limit) {
  const PgResult result(
      run<3>(connection_, prune_sql,
             {std::to_string(delivered_before), std::to_string(failed_before), std::to_string(limit)}));
  if (!result.ok()) return pg_error("cannot remove old deliveries", connection_);
  return result.changed();
}

Result<std::int64_t> Queue::save_endpoint(const EndpointRow& row) {
  const PgResult result(
      run<8>(connection_, save_endpoint_sql,
             {row.name, row.gone ? "true" : "false", row.breaker, std::to_string(row.failures),
              std::to_string(row.opened), std::to_string(row.failing_since), std::to_string(row.open_until),
              row.last_error}));
  if (!result.ok()) return pg_error("cannot keep the state of endpoint " + row.name, connection_);
  return result.integer(0, 0);
}

Result<std::vector<EndpointRow>> Queue::endpoints() {
  const PgResult result(PQexec(connection_,
                               "SELECT name, gone, breaker, failures, opened, failing_since, open_until, "
                               "last_error, version FROM statusstack_endpoints ORDER BY name"));
  if (!result.ok()) return pg_error("cannot read the endpoints' states", connection_);
  std::vector<EndpointRow> rows(static_cast<std::size_t>(PQntuples(result.get())));
  for (std::size_t i = 0; i < rows.size(); ++i) {
    const int r = static_cast<int>(i);
    rows[i].name = result.text(r, 0);
    rows[i].gone = result.text(r, 1) == "t";
    rows[i].breaker = result.text(r, 2);
    rows[i].failures = static_cast<int>(result.integer(r, 3));
    rows[i].opened = static_cast<int>(result.integer(r, 4));
    rows[i].failing_since = result.integer(r, 5);
    rows[i].open_until = result.integer(r, 6);
    rows[i].last_error = result.text(r, 7);
    rows[i].version = result.integer(r, 8);
  }
  return rows;
}

Result<void> Queue::listen() {
  listening_ = true;
  return exec(connection_, "LISTEN statusstack_deliveries", "cannot listen");
}

Result<void> Queue::begin() { return exec(connection_, "BEGIN", "cannot begin"); }
Result<void> Queue::commit() { return exec(connection_, "COMMIT", "cannot commit"); }
void Queue::rollback() { static_cast<void>(exec(connection_, "ROLLBACK", "rollback")); }
Result<void> Queue::insert(const std::vector<NewRow>& rows) { return insert_rows(connection_, rows); }
Result<void> Queue::notify() {
  return exec(connection_, "NOTIFY statusstack_deliveries", "cannot notify the instances");
}

Result<bool> Queue::drained() {
  const PgResult result(
      PQexec(connection_, "SELECT NOT EXISTS (SELECT 1 FROM statusstack_deliveries WHERE state = 0)"));
  if (!result.ok()) return pg_error("cannot look at the queue", connection_);
  return result.text(0, 0) == "t";
}

Result<int> Queue::heartbeat(const std::string& owner, std::int64_t now, std::int64_t alive_ms) {
  const PgResult result(
      run<3>(connection_, heartbeat_sql, {owner, std::to_string(now), std::to_string(alive_ms)}));
  if (!result.ok()) return pg_error("cannot count the instances", connection_);
  return static_cast<int>(result.integer(0, 0)) + 1;
}

Result<void> Queue::leave(const std::string& owner) {
  const PgResult result(run<1>(connection_, "DELETE FROM statusstack_instances WHERE owner = $1", {owner}));
  if (!result.ok()) return pg_error("cannot leave the instances", connection_);
  return {};
}

bool Queue::broken() const { return PQstatus(connection_) != CONNECTION_OK; }

Result<void> Queue::reconnect() {
  PQreset(connection_);
  if (PQstatus(connection_) != CONNECTION_OK) return pg_error("cannot connect again", connection_);
  if (auto prepared = prepare(connection_); !prepared) return prepared;
  if (listening_) return listen();
  return {};
}

Result<bool> Queue::wait_for_news(int timeout_ms, int wake_fd) {
  // Drains what has arrived; true when it held a notification.
  auto drain = [this]() -> Result<bool> {
    if (PQconsumeInput(connection_) == 0) return pg_error("cannot read notifications", connection_);
    bool heard = false;
    while (PGnotify* notification = PQnotifies(connection_)) {
      heard = true;
      PQfreemem(notification);
    }
    return heard;
  };
  // Until the deadline: a readable socket may carry other messages, or part of one.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  for (;;) {
    auto heard = drain();
    if (!heard || *heard) return heard;
    const auto left =
        std::chrono::ceil<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return false;
    std::array<pollfd, 2> watched{{{PQsocket(connection_), POLLIN, 0}, {wake_fd, POLLIN, 0}}};
    const int ready = ::poll(watched.data(), wake_fd >= 0 ? 2 : 1, static_cast<int>(left.count()));
    if (ready < 0 && errno != EINTR) {
      return Error{ErrorCode::store_error, "postgresql: cannot wait for notifications: poll failed", "store"};
    }
    if (wake_fd >= 0 && (watched[1].revents & POLLIN) != 0) {
      std::uint64_t count = 0;
      static_cast<void>(::read(wake_fd, &count, sizeof count));
      return true;
    }
  }
}

Result<void> enqueue_in(pg_conn* host, const std::vector<NewRow>& rows) {
  if (host == nullptr || PQstatus(host) != CONNECTION_OK) {
    return Error{ErrorCode::store_error, "postgresql: the host's connection is not open", "store"};
  }
  if (PQtransactionStatus(host) != PQTRANS_INTRANS) {
    return Error{ErrorCode::store_error,
                 "postgresql: enqueue_in needs the host's connection inside a transaction (BEGIN first): "
                 "outside one the deliveries would not share the fate of the host's own writes",
                 "store"};
  }
  // A failed insert leaves the host's transaction aborted: the host rolls it back, its own writes
  // with it, which is the point.
  return insert_rows(host, rows);
}

}  // namespace statusstack::webhooks::detail::pg
