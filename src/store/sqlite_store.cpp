// The SQLite store: every accepted delivery is a row until it is final, so a Dispatcher opened on
// the same file after a crash or a shutdown resumes what was left.
//
// One writer thread owns the connection. Whatever queued while it was writing (admitted
// deliveries, retries, final states, endpoint states) goes into the next transaction: callers of
// dispatch() share commits (group commit, no linger), and a commit's cost is spread over every
// delivery in it. dispatch() waits for the commit of its own rows; final states go back to their I/O
// loop after their commit, so a report is never given for a state that a crash could undo.
// Everything else the connection does (resume, queries, redelivery, pruning) runs on the same thread
// as a task between transactions.

#include "dispatch/core.hpp"
#include "dispatch/endpoints.hpp"
#include "dispatch/store.hpp"
#include "store/sqlite_db.hpp"

#include <algorithm>
#include <array>
#include <condition_variable>
#include <limits>
#include <mutex>
#include <thread>

namespace statusstack::webhooks::detail {

namespace {

using sqlite::from_ms;
using sqlite::Stmt;
using sqlite::to_ms;

constexpr std::int64_t prune_batch = 500;  // rows per pruning transaction: never a long write lock
constexpr auto prune_every = std::chrono::minutes(1);

// A retry's facts, copied: the delivery itself belongs to its loop again once reschedule() returns.
struct Retry {
  std::string id;
  int attempts = 0;
  std::int64_t due = 0, signed_at = 0, first_attempt = 0, last_attempt = 0;
  int status = 0;
  std::string outcome;
};

class SqliteStore final : public DeliveryStore {
 public:
  SqliteStore(sqlite::OwnerLock lock, std::unique_ptr<sqlite::Db> db, const StoreOptions& options,
              std::shared_ptr<const Clock> clock)
      : lock_(std::in_place, std::move(lock)),
        db_(std::move(db)),
        options_(options),
        clock_(std::move(clock)) {
    prepare();
    // Checkpoints (copying the log into the file, with its fsync) run on a thread of their own, so a
    // commit never waits for one. Without that connection SQLite checkpoints inside commits.
    if (auto checkpointer = sqlite::Db::connect(db_->path()); checkpointer) {
      checkpointer_db_ = std::move(*checkpointer);
      sqlite3_wal_hook(db_->handle(), &SqliteStore::wal_grew, this);
      checkpointer_ = std::thread([this] { checkpoints(); });
    }
    // The writer starts after resume(), which reads on the caller's thread: the deliveries it makes
    // are the caller's memory (a new thread's first allocations cost more).
  }
  ~SqliteStore() override { close(); }
  SqliteStore(const SqliteStore&) = delete;
  SqliteStore& operator=(const SqliteStore&) = delete;

  bool durable() const noexcept override { return true; }
  Result<std::vector<Resumed>> resume() override;
  std::vector<EndpointState> endpoint_states() override;
  Result<void> admit(const std::vector<std::unique_ptr<Delivery>>& deliveries) override;
  void reschedule(const Delivery& delivery, WallTime due) override;
  void finish(Final final) override;
  void save_endpoint(const EndpointState& state) override;
  Result<std::vector<StoredDelivery>> query(const DeliveryQuery& query) override {
    return run_task([&] { return sqlite::list(*db_, query); });
  }
  Result<std::vector<Resumed>> redeliver(const std::vector<std::string>& ids) override;
  Result<std::vector<std::string>> failed_ids(const DeliveryQuery& query) override {
    return run_task([&] { return sqlite::failed_ids(*db_, query); });
  }
  void prune() override {
    auto pruned = run_task([this] {
      while (prune_step() == prune_batch) {
      }
      return Result<void>{};
    });
    if (!pruned) errors_.fetch_add(1, std::memory_order_relaxed);
  }
  void close() override;
  Result<std::string> load_event(std::size_t reader, std::int64_t row) override;
  std::uint64_t errors() const noexcept override { return errors_.load(std::memory_order_relaxed); }

 private:
  // One dispatch() call's deliveries, waiting for their commit.
  struct Admission {
    const std::vector<std::unique_ptr<Delivery>>* deliveries;
    bool done = false;
    std::optional<Error> error;
    std::condition_variable committed;  // only this caller wakes for its commit
  };
  // Work waiting for the writer: swapped out whole at the start of each transaction.
  struct Queue {
    std::vector<Admission*> admissions;
    std::vector<Retry> retries;
    std::vector<Final> finals;
    std::vector<EndpointState> endpoints;
    std::vector<std::function<void()>> tasks;
    bool empty() const {
      return admissions.empty() && retries.empty() && finals.empty() && endpoints.empty() && tasks.empty();
    }
  };

  void prepare();
  void run();
  void checkpoints();
  static int wal_grew(void* self, sqlite3* db, const char* name, int pages);
  Result<void> write(Queue& work, bool with_admissions);
  Result<void> write_admission(const Admission& admission);
  Result<void> write_changes(const Queue& work);
  std::int64_t prune_step();
  Resumed read_resumed(const Stmt& row);
  void restore_outcome(Delivery& delivery);

  // Runs `task` on the writer thread and returns its result.
  void start_writer() {
    std::call_once(writer_once_, [this] {
      writer_ = std::thread([this] { run(); });
      writer_started_ = true;
    });
  }

  template <class Task>
  auto run_task(Task task) -> decltype(task()) {
    start_writer();
    std::optional<decltype(task())> result;
    bool done = false;
    {
      std::unique_lock<std::mutex> lock(mutex_);
      if (closed_) return Error{ErrorCode::shut_down, "store " + db_path_ + ": closed", "store"};
      queue_.tasks.emplace_back([&] {
        auto value = task();
        const std::lock_guard<std::mutex> guard(mutex_);
        result.emplace(std::move(value));
        done = true;
      });
      work_cv_.notify_one();
      done_cv_.wait(lock, [&] { return done; });
    }
    return std::move(*result);
  }

  std::optional<sqlite::OwnerLock> lock_;
  std::unique_ptr<sqlite::Db> db_;
  const StoreOptions options_;
  const std::shared_ptr<const Clock> clock_;
  const std::string db_path_ = db_ ? db_->path() : std::string();
  Stmt insert_, retry_, remove_, keep_delivered_, fail_, pause_, prune_failed_, prune_delivered_, outcome_;
  std::array<std::shared_ptr<const EventRecord>, all_event_types.size()> bodiless_;  // resume()'s

  std::mutex mutex_;
  std::condition_variable work_cv_;  // the writer waits for work
  std::condition_variable done_cv_;  // callers of run_task() wait for their task
  Queue queue_;
  bool closing_ = false;
  bool closed_ = false;
  std::thread writer_;
  std::once_flag writer_once_;
  std::atomic<bool> writer_started_{false};
  std::atomic<std::uint64_t> errors_{0};

  // The checkpointer: its own connection and thread, woken when the log has grown.
  std::unique_ptr<sqlite::Db> checkpointer_db_;
  std::thread checkpointer_;
  std::mutex checkpoint_mutex_;
  std::condition_variable checkpoint_cv_;
  bool checkpoint_due_ = false;
  bool checkpointer_stop_ = false;

  // Connections that read event bodies for the I/O loops, one per loop (each used by its thread).
  struct Reader {
    std::unique_ptr<sqlite::Db> db;
    Stmt select;
  };
  std::mutex readers_mutex_;
  std::vector<std::unique_ptr<Reader>> readers_;
  WallTime next_prune_{};
};

void SqliteStore::prepare() {
  insert_ = db_->prepare(
      "INSERT INTO deliveries (id, endpoint, event_type, event, order_key, state, accepted_at, budget_from, "
      "due_at) VALUES (?1, ?2, ?3, ?4, ?5, 0, ?6, ?6, ?6)");
  retry_ = db_->prepare(
      "UPDATE deliveries SET attempts = ?2, due_at = ?3, signed_at = ?4, first_attempt_at = ?5, "
      "last_attempt_at = ?6, last_status = ?7, last_error = ?8 WHERE id = ?1");
  remove_ = db_->prepare("DELETE FROM deliveries WHERE id = ?1");
  keep_delivered_ = db_->prepare(
      "UPDATE deliveries SET state = 2, event = NULL, attempts = ?2, finished_at = ?3, first_attempt_at = "
      "?4, "
      "last_attempt_at = ?5, last_status = ?6, last_error = ?7 WHERE id = ?1");
  fail_ = db_->prepare(
      "UPDATE deliveries SET state = 1, attempts = ?2, finished_at = ?3, first_attempt_at = ?4, "
      "last_attempt_at = ?5, last_status = ?6, last_error = ?7, reason = ?8, detail = ?9 WHERE id = ?1");
  outcome_ = db_->prepare("SELECT last_status, last_error FROM deliveries WHERE id = ?1");
  pause_ = db_->prepare(
      "INSERT OR REPLACE INTO endpoint_state (name, gone, breaker, failures, opened, failing_since, "
      "open_until, last_error) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)");
  // `state != 0` as written in the partial index's condition, so that SQLite uses the index.
  prune_failed_ = db_->prepare(
      "DELETE FROM deliveries WHERE seq IN (SELECT seq FROM deliveries WHERE state != 0 AND state = 1 AND "
      "finished_at < ?1 LIMIT ?2)");
  prune_delivered_ = db_->prepare(
      "DELETE FROM deliveries WHERE seq IN (SELECT seq FROM deliveries WHERE state != 0 AND state = 2 AND "
      "finished_at < ?1 LIMIT ?2)");
}

Result<void> SqliteStore::admit(const std::vector<std::unique_ptr<Delivery>>& deliveries) {
  start_writer();
  Admission admission{&deliveries, false, std::nullopt, {}};
  std::unique_lock<std::mutex> lock(mutex_);
  if (closed_) return Error{ErrorCode::shut_down, "store " + db_path_ + ": closed", "store"};
  queue_.admissions.push_back(&admission);
  work_cv_.notify_one();
  admission.committed.wait(lock, [&] { return admission.done; });
  if (admission.error) return *admission.error;
  return {};
}

void SqliteStore::reschedule(const Delivery& delivery, WallTime due) {
  start_writer();
  Retry retry{delivery.id.str(),
              delivery.attempts,
              to_ms(due),
              delivery.signed_at,
              to_ms(delivery.first_attempt_at),
              to_ms(delivery.last_attempt_at),
              delivery.last().status,
              delivery.last().describe()};
  const std::lock_guard<std::mutex> lock(mutex_);
  queue_.retries.push_back(std::move(retry));
  work_cv_.notify_one();
}

void SqliteStore::finish(Final final) {
  start_writer();
  const std::lock_guard<std::mutex> lock(mutex_);
  queue_.finals.push_back(std::move(final));
  work_cv_.notify_one();
}

void SqliteStore::save_endpoint(const EndpointState& state) {
  start_writer();
  const std::lock_guard<std::mutex> lock(mutex_);
  queue_.endpoints.push_back(state);
  work_cv_.notify_one();
}

void SqliteStore::close() {
  {
    const std::lock_guard<std::mutex> lock(mutex_);
    if (closed_) return;
    closing_ = true;
    work_cv_.notify_one();
  }
  if (writer_.joinable()) writer_.join();  // it writes what is queued first
  {
    const std::lock_guard<std::mutex> lock(mutex_);
    closed_ = true;
  }
  if (checkpointer_.joinable()) {
    {
      const std::lock_guard<std::mutex> lock(checkpoint_mutex_);
      checkpointer_stop_ = true;
    }
    checkpoint_cv_.notify_one();
    checkpointer_.join();
    checkpointer_db_.reset();
  }
  {
    const std::lock_guard<std::mutex> lock(readers_mutex_);
    readers_.clear();
  }
  // Checkpoint the log into the file, then let the file go to the next owner.
  sqlite3_wal_checkpoint_v2(db_->handle(), nullptr, SQLITE_CHECKPOINT_TRUNCATE, nullptr, nullptr);
  for (Stmt* stmt :
       {&insert_, &retry_, &remove_, &keep_delivered_, &fail_, &pause_, &prune_failed_, &prune_delivered_}) {
    *stmt = Stmt();  // statements first: the connection closes only without them
  }
  db_.reset();
  lock_.reset();
}

// Called by SQLite after each commit on the writer's connection, with the log's size in pages.
int SqliteStore::wal_grew(void* self, sqlite3* /*db*/, const char* /*name*/, int pages) {
  constexpr int checkpoint_pages = 1000;  // SQLite's own default: about 4 MB of log
  if (pages >= checkpoint_pages) {
    auto* store = static_cast<SqliteStore*>(self);
    {
      const std::lock_guard<std::mutex> lock(store->checkpoint_mutex_);
      store->checkpoint_due_ = true;
    }
    store->checkpoint_cv_.notify_one();
  }
  return SQLITE_OK;
}

void SqliteStore::checkpoints() {
  std::unique_lock<std::mutex> lock(checkpoint_mutex_);
  for (;;) {
    checkpoint_cv_.wait(lock, [this] { return checkpoint_due_ || checkpointer_stop_; });
    if (checkpointer_stop_) return;
    checkpoint_due_ = false;
    lock.unlock();
    // PASSIVE: copies what no reader needs, without blocking the writer; the log starts over at the
    // next commit once all of it is in the file.
    if (sqlite3_wal_checkpoint_v2(checkpointer_db_->handle(), nullptr, SQLITE_CHECKPOINT_PASSIVE, nullptr,
                                  nullptr) != SQLITE_OK) {
      errors_.fetch_add(1, std::memory_order_relaxed);
    }
    lock.lock();
  }
}

Result<std::string> SqliteStore::load_event(std::size_t reader, std::int64_t row) {
  Reader* mine = nullptr;
  {
    const std::lock_guard<std::mutex> lock(readers_mutex_);
    if (readers_.size() <= reader) readers_.resize(reader + 1);
    if (!readers_[reader]) {
      auto db = sqlite::Db::connect(db_path_);
      if (!db) return db.error();
      auto made = std::make_unique<Reader>();
      made->select = (*db)->prepare("SELECT event FROM deliveries WHERE seq = ?1");
      made->db = std::move(*db);
      if (!made->select.ok()) return made->db->error("cannot read an event");
      readers_[reader] = std::move(made);
    }
    mine = readers_[reader].get();
  }
  mine->select.bind(1, row);
  const int rc = mine->select.step();
  std::string json = rc == SQLITE_ROW ? mine->select.text(0) : std::string();
  mine->select.reset();
  if (rc != SQLITE_ROW) return mine->db->error("cannot read the event of a resumed delivery");
  if (json.empty()) {
    return Error{ErrorCode::store_error, "store " + db_path_ + ": a resumed delivery's event is missing",
                 "store"};
  }
  return json;
}

void SqliteStore::run() {
  std::unique_lock<std::mutex> lock(mutex_);
  for (;;) {
    work_cv_.wait_for(lock, std::chrono::seconds(1), [&] { return closing_ || !queue_.empty(); });
    if (queue_.empty() && closing_) return;
    Queue work;
    std::swap(work, queue_);
    lock.unlock();

    for (auto& task : work.tasks) task();
    const bool changes =
        !work.admissions.empty() || !work.retries.empty() || !work.finals.empty() || !work.endpoints.empty();
    if (changes) {
      if (auto written = write(work, true); !written) {
        // Nothing of the transaction is in the file. Each dispatch() call's rows get their own
        // transaction now, so that one that cannot be written refuses only its own call.
        errors_.fetch_add(1, std::memory_order_relaxed);
        for (Admission* admission : work.admissions) {
          if (auto alone = write_admission(*admission); !alone) admission->error = alone.error();
        }
        if (auto rest = write(work, false); !rest) errors_.fetch_add(1, std::memory_order_relaxed);
      }
    }
    lock.lock();
    for (Admission* admission : work.admissions) {
      admission->done = true;
      admission->committed.notify_one();
    }
    if (!work.tasks.empty()) done_cv_.notify_all();
    if (!work.finals.empty() && on_committed) {
      lock.unlock();
      on_committed(work.finals);
      lock.lock();
    }
    if (queue_.empty() && clock_->wall() >= next_prune_) {
      lock.unlock();
      const bool more = prune_step() == prune_batch;
      next_prune_ = more ? clock_->wall() : clock_->wall() + prune_every;
      lock.lock();
    }
  }
}

// One transaction: the queued admissions (when `with_admissions`), retries, final states and pauses.
Result<void> SqliteStore::write(Queue& work, bool with_admissions) {
  if (auto begin = db_->exec("BEGIN IMMEDIATE"); !begin) return begin;
  auto failed = [this](std::string_view doing) {
    Error error = db_->error(doing);
    db_->rollback();
    return error;
  };
  if (with_admissions) {
    for (const Admission* admission : work.admissions) {
      for (const auto& delivery : *admission->deliveries) {
        insert_.bind(1, delivery->id.view())
            .bind(2, std::string_view(delivery->endpoint->name))
            .bind(3, std::string_view(to_string(delivery->event->type)))
            .bind(4, std::string_view(delivery->event->json))
            .bind(6, to_ms(delivery->accepted_at));
        if (delivery->order.keyed()) insert_.bind(5, std::string_view(delivery->order.get()));
        const int rc = insert_.step();
        insert_.reset();
        if (rc != SQLITE_DONE) return failed("cannot keep a delivery");
      }
    }
  }
  if (auto changed = write_changes(work); !changed) {
    db_->rollback();
    return changed;
  }
  if (db_->exec("COMMIT").has_value()) return {};
  return failed("cannot commit");
}

Result<void> SqliteStore::write_admission(const Admission& admission) {
  Queue alone;
  alone.admissions.push_back(const_cast<Admission*>(&admission));
  return write(alone, true);
}

Result<void> SqliteStore::write_changes(const Queue& work) {
  auto step = [this](Stmt& stmt, std::string_view doing) -> Result<void> {
    const int rc = stmt.step();
    stmt.reset();
    if (rc != SQLITE_DONE) return db_->error(doing);
    return {};
  };
  for (const Retry& retry : work.retries) {
    retry_.bind(1, std::string_view(retry.id))
        .bind(2, retry.attempts)
        .bind(3, retry.due)
        .bind(4, retry.signed_at)
        .bind(5, retry.first_attempt)
        .bind(6, retry.last_attempt)
        .bind(7, retry.status)
        .bind(8, std::string_view(retry.outcome));
    if (auto done = step(retry_, "cannot record a retry"); !done) return done;
  }
  const std::int64_t now = to_ms(clock_->wall());
  for (const Final& final : work.finals) {
    // A resumed delivery that ends before another attempt: its report tells the last one's outcome.
    if (final.delivery->attempts > 0 && !final.delivery->result) restore_outcome(*final.delivery);
    const Delivery& d = *final.delivery;
    if (final.delivered && options_.delivered_retention.count() <= 0) {
      remove_.bind(1, d.id.view());
      if (auto done = step(remove_, "cannot remove a delivered delivery"); !done) return done;
      continue;
    }
    Stmt& stmt = final.delivered ? keep_delivered_ : fail_;
    stmt.bind(1, d.id.view())
        .bind(2, d.attempts)
        .bind(3, now)
        .bind(4, to_ms(d.first_attempt_at))
        .bind(5, to_ms(d.last_attempt_at))
        .bind(6, d.last().status)
        .bind(7, d.attempts > 0 ? std::string_view(d.last().describe()) : std::string_view());
    if (!final.delivered) {
      stmt.bind(8, std::string_view(to_string(final.reason)))
          .bind(9, std::string_view(Core::explain(d, final.reason)));
    }
    if (auto done = step(stmt, "cannot record a final state"); !done) return done;
  }
  for (const EndpointState& state : work.endpoints) {
    pause_.bind(1, std::string_view(state.name))
        .bind(2, state.gone ? 1 : 0)
        .bind(3, std::string_view(to_string(state.breaker)))
        .bind(4, state.failures)
        .bind(5, state.opened)
        .bind(6, state.failing_since == WallTime{} ? 0 : to_ms(state.failing_since))
        .bind(7, state.open_until == WallTime{} ? 0 : to_ms(state.open_until))
        .bind(8, std::string_view(state.last_error));
    if (auto done = step(pause_, "cannot record an endpoint's state"); !done) return done;
  }
  return {};
}

std::int64_t SqliteStore::prune_step() {
  const WallTime now = clock_->wall();
  std::int64_t removed = 0;
  auto prune = [&](Stmt& stmt, std::chrono::hours retention) {
    stmt.bind(1, to_ms(now - retention)).bind(2, prune_batch - removed);
    if (stmt.step() == SQLITE_DONE) {
      removed += sqlite3_changes(db_->handle());
    } else {
      errors_.fetch_add(1, std::memory_order_relaxed);
    }
    stmt.reset();
  };
  prune(prune_failed_, options_.failed_retention);
  if (removed < prune_batch) prune(prune_delivered_, options_.delivered_retention);
  return removed;
}

constexpr const char* resume_columns =
    "SELECT id, endpoint, event_type, seq, order_key, attempts, accepted_at, budget_from, due_at, "
    "signed_at, first_attempt_at, last_attempt_at FROM deliveries";

void SqliteStore::restore_outcome(Delivery& delivery) {
  outcome_.bind(1, delivery.id.view());
  if (outcome_.step() == SQLITE_ROW) {
    delivery.record_attempt().outcome =
        restored_outcome(static_cast<int>(outcome_.integer(0)), outcome_.view(1));
  }
  outcome_.reset();
}

Resumed SqliteStore::read_resumed(const Stmt& row) {
  Resumed resumed;
  auto delivery = std::make_unique<Delivery>();
  delivery->id = row.view(0);
  resumed.endpoint = row.text(1);
  // The body stays in the file until an attempt needs it: until then the delivery shares an empty
  // record of its type.
  const EventType type = parse_event_type(row.view(2)).value_or(EventType{});
  auto& shared = bodiless_[static_cast<std::size_t>(type)];
  if (!shared) {
    auto record = std::make_shared<EventRecord>();
    record->type = type;
    shared = std::move(record);
  }
  delivery->event = shared;
  delivery->stored_row = row.integer(3);
  if (!row.is_null(4)) delivery->order.set(row.text(4));
  // A count from the file, read so that the next attempt cannot overflow it (a damaged file may
  // hold anything).
  delivery->attempts =
      static_cast<int>(std::clamp<std::int64_t>(row.integer(5), 0, std::numeric_limits<int>::max() - 1));
  delivery->accepted_at = from_ms(row.integer(6));
  resumed.budget_from = from_ms(row.integer(7));
  resumed.due = from_ms(row.integer(8));
  delivery->signed_at = row.integer(9);
  delivery->first_attempt_at = from_ms(row.integer(10));
  delivery->last_attempt_at = from_ms(row.integer(11));
  // The last outcome stays in the file too: a report reads it back if the delivery ends before
  // another attempt (write_changes()).
  resumed.delivery = std::move(delivery);
  return resumed;
}

Result<std::vector<Resumed>> SqliteStore::resume() {
  // Before the writer runs: the connection is this thread's until start_writer().
  auto read = [this]() -> Result<std::vector<Resumed>> {
    Stmt count = db_->prepare("SELECT count(*) FROM deliveries WHERE state = 0");
    Stmt stmt = db_->prepare(std::string(resume_columns) + " WHERE state = 0 ORDER BY seq");
    if (!count.ok() || !stmt.ok() || count.step() != SQLITE_ROW)
      return db_->error("cannot read pending deliveries");
    std::vector<Resumed> pending;
    pending.reserve(static_cast<std::size_t>(count.integer(0)));
    int rc = 0;
    while ((rc = stmt.step()) == SQLITE_ROW) pending.push_back(read_resumed(stmt));
    if (rc != SQLITE_DONE) return db_->error("cannot read pending deliveries");
    return pending;
  };
  if (writer_started_) return run_task(read);
  // The scan reads every row's page: mapped, SQLite reads them without a system call per page.
  static_cast<void>(db_->exec("PRAGMA mmap_size = 1073741824"));
  auto pending = read();
  static_cast<void>(db_->exec("PRAGMA mmap_size = 0"));
  start_writer();
  return pending;
}

std::vector<EndpointState> SqliteStore::endpoint_states() {
  auto read = [this]() -> Result<std::vector<EndpointState>> {
    Stmt stmt = db_->prepare(
        "SELECT name, gone, breaker, failures, opened, failing_since, open_until, last_error FROM "
        "endpoint_state");
    if (!stmt.ok()) return db_->error("cannot read endpoint states");
    std::vector<EndpointState> states;
    while (stmt.step() == SQLITE_ROW) {
      EndpointState state;
      state.name = stmt.text(0);
      state.gone = stmt.integer(1) != 0;
      state.breaker = breaker_state_from_string(stmt.view(2)).value_or(BreakerState::closed);
      state.failures = static_cast<int>(std::clamp<std::int64_t>(stmt.integer(3), 0, 1'000'000'000));
      state.opened = static_cast<int>(std::clamp<std::int64_t>(stmt.integer(4), 0, 1'000'000));
      if (const std::int64_t ms = stmt.integer(5); ms > 0) state.failing_since = sqlite::from_ms(ms);
      if (const std::int64_t ms = stmt.integer(6); ms > 0) state.open_until = sqlite::from_ms(ms);
      state.last_error = stmt.text(7);
      states.push_back(std::move(state));
    }
    return states;
  };
  auto states = writer_started_ ? run_task(read) : read();  // before the writer: this thread's
  return states ? std::move(*states) : std::vector<EndpointState>{};
}

Result<std::vector<Resumed>> SqliteStore::redeliver(const std::vector<std::string>& ids) {
  return run_task([&]() -> Result<std::vector<Resumed>> {
    auto taken = sqlite::redeliver(*db_, ids, clock_->wall());
    if (!taken) return taken.error();
    Stmt stmt = db_->prepare(std::string(resume_columns) + " WHERE id = ?1");
    if (!stmt.ok()) return db_->error("cannot read redelivered deliveries");
    std::vector<Resumed> again;
    for (const std::string& id : *taken) {
      stmt.bind(1, std::string_view(id));
      if (stmt.step() == SQLITE_ROW) again.push_back(read_resumed(stmt));
      stmt.reset();
    }
    return again;
  });
}

}  // namespace

Result<std::unique_ptr<DeliveryStore>> open_sqlite_store(const StoreOptions& options,
                                                         std::shared_ptr<const Clock> clock) {
  auto lock = sqlite::OwnerLock::take(options.path);
  if (!lock) return lock.error();
  auto db = sqlite::Db::open(options.path, true, options.durability, options.max_bytes);
  if (!db) return db.error();
  return std::unique_ptr<DeliveryStore>(
      std::make_unique<SqliteStore>(std::move(*lock), std::move(*db), options, std::move(clock)));
}

}  // namespace statusstack::webhooks::detail
