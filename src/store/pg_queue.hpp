#pragma once

// The shared queue in PostgreSQL, as SQL (issue 17, first part): one table of deliveries that any
// number of instances enqueue into and claim from. Internal: the Dispatcher's PostgreSQL store is
// built on it. libpq stays in this file's source and its tests.
//
//   enqueue      inserts rows (and NOTIFY statusstack_deliveries, delivered at commit); or, with
//                enqueue_in(), on the host's own connection inside the host's transaction
//   claim        takes up to N due rows with SELECT ... FOR UPDATE SKIP LOCKED in one short
//                statement: each gets a lease (its due time moved to now + lease) and a new claim
//                number. A row whose holder dies becomes due again when the lease ends: no reaper.
//   finish,      the outcome of an attempt, fenced: written only when the row still carries the
//   retry_at     claim number the writer got, so an instance that lost its lease cannot overwrite
//                the outcome of the one that took over
//
// Times are Unix milliseconds given by the caller (the tests give their own).

#include <statusstack/webhooks/error.hpp>
#include <statusstack/webhooks/store.hpp>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

struct pg_conn;  // libpq's PGconn

namespace statusstack::webhooks::detail::pg {

/// The schema this code writes and reads.
inline constexpr int schema_version = 1;

/// A delivery as enqueued.
struct NewRow {
  std::string id;
  std::string endpoint;
  std::string event_type;
  std::string event;                     ///< the event's JSON
  std::optional<std::string> order_key;  ///< none: any order
  std::int64_t accepted_at = 0;
  std::int64_t due_at = 0;
};

/// What an attempt's end writes: final (delivered or failed) or due again at `due_at`.
struct Outcome {
  int attempts = 0;
  int last_status = 0;
  std::string last_error;
  std::int64_t signed_at = 0;
  std::int64_t first_attempt_at = 0;
  std::int64_t last_attempt_at = 0;
};

/// A delivery as claimed: what the attempt needs, and the claim number that fences its outcome.
struct ClaimedRow {
  std::string id;
  std::string endpoint;
  std::string event_type;
  std::string event;
  std::string order_key;
  std::int64_t claim = 0;
  std::int64_t accepted_at = 0;
  std::int64_t budget_from = 0;
  Outcome outcome;     ///< of the attempts so far
  bool keyed = false;  ///< it has an order key (`order_key`, which may be empty)
};

/// A claimed row, named by its id and the claim number that holds it.
struct Held {
  std::string id;
  std::int64_t claim = 0;
};

/// An attempt's final outcome, for Queue::finish.
struct FinalRow {
  std::string id;
  std::int64_t claim = 0;
  bool delivered = false;
  Outcome outcome;
  std::string reason;  ///< failed: FailureReason's name
  std::string detail;  ///< failed: the report's detail
};

/// An attempt that will be retried, for Queue::retry: pending again, due at `due_at`, for any
/// instance to claim.
struct RetryRow {
  std::string id;
  std::int64_t claim = 0;
  std::int64_t due_at = 0;
  Outcome outcome;
};

/// An endpoint's state shared by every instance: its 410 pause and its circuit breaker (the
/// Dispatcher's EndpointState, as stored).
struct EndpointRow {
  std::string name;
  bool gone = false;
  std::string breaker = "closed";  ///< closed, open, half_open or disabled
  int failures = 0;
  int opened = 0;
  std::int64_t failing_since = 0;  ///< 0: not failing
  std::int64_t open_until = 0;
  std::string last_error;
  std::int64_t version = 0;  ///< read: bumped by every write of the row
};

/// One connection to the queue's database, the schema in place. Not thread-safe: one per thread.
class Queue {
 public:
  /// Connects (a libpq URI or key=value string) and creates or migrates the schema under an
  /// advisory lock, so instances starting at once on an empty database all come up. A database
  /// whose schema is newer than this code is refused.
  static Result<std::unique_ptr<Queue>> open(const std::string& conninfo);
  ~Queue();
  Queue(const Queue&) = delete;
  Queue& operator=(const Queue&) = delete;

  /// Inserts the rows, in one statement and one transaction.
  Result<void> enqueue(const std::vector<NewRow>& rows);
  /// Claims up to `limit` rows due at `now`, oldest due first, each leased to `owner` until now +
  /// lease_ms. A row with an order key waits until every earlier pending row of its endpoint with
  /// that key is final: one delivery per key at a time, in enqueue order, across every instance.
  /// Only rows of `endpoints` when given (an instance claims for the endpoints it has); with
  /// `only_lapsed`, only rows whose holder let its lease run out (it died or hung: finishing,
  /// retrying and releasing clear the owner).
  Result<std::vector<ClaimedRow>> claim(std::size_t limit, std::int64_t now, std::int64_t lease_ms,
                                        const std::string& owner = {},
                                        const std::vector<std::string>* endpoints = nullptr,
                                        bool only_lapsed = false);
  /// Pushes the leases of rows still held to `until`; returns the ids no longer held (fenced out).
  Result<std::vector<std::string>> renew(const std::vector<Held>& held, std::int64_t until);
  /// Gives held rows back, due at `now`, for any instance (a shutdown's unfinished deliveries).
  Result<void> release(const std::vector<Held>& held, std::int64_t now);
  /// Final outcomes, in one statement: delivered (the body dropped; the row removed when
  /// `remove_delivered`) or failed. Returns the ids that were not written because their claim was
  /// lost (fenced out).
  Result<std::vector<std::string>> finish(const std::vector<FinalRow>& finals, std::int64_t now,
                                          bool remove_delivered = false);
  /// The same for one delivery: false when fenced out.
  Result<bool> finish(const std::string& id, std::int64_t claim, bool delivered, const Outcome& outcome,
                      std::int64_t now);
  /// Not final: pending again, due at `due_at`, unclaimed. Returns the fenced-out ids.
  Result<std::vector<std::string>> retry(const std::vector<RetryRow>& retries);
  /// The same for one delivery: false when the claim was lost.
  Result<bool> retry_at(const std::string& id, std::int64_t claim, std::int64_t due_at,
                        const Outcome& outcome);

  /// A failed delivery made pending again, due at `now` with a fresh attempt budget (same id). False
  /// when `id` is not a failed delivery that still has its body.
  Result<bool> redeliver(const std::string& id, std::int64_t now);
  /// The same for several, each claimed at once by `owner` (leased until now + lease_ms): the
  /// Dispatcher that redelivers makes the attempts.
  Result<std::vector<ClaimedRow>> redeliver_claimed(const std::vector<std::string>& ids, std::int64_t now,
                                                    std::int64_t lease_ms, const std::string& owner);
  /// The stored deliveries that match (oldest first), the failed ones' ids, counts by state.
  Result<std::vector<StoredDelivery>> list(const DeliveryQuery& query);
  Result<std::optional<StoredDelivery>> find(const std::string& id);
  Result<std::vector<std::string>> failed_ids(const DeliveryQuery& query);
  Result<StoreCounts> counts();
  /// Removes up to `limit` delivered rows finished before `delivered_before` and failed ones
  /// finished before `failed_before` (retention, a batch at a time); returns how many.
  Result<std::int64_t> prune(std::int64_t delivered_before, std::int64_t failed_before, std::size_t limit);

  /// Writes an endpoint's state (the last writer wins; returns the row's new version), and reads
  /// them all.
  Result<std::int64_t> save_endpoint(const EndpointRow& row);
  Result<std::vector<EndpointRow>> endpoints();

  /// From now on, this connection hears of new deliveries (LISTEN): wait_for_news() can sleep until
  /// another instance, or a host's committed transaction, enqueues.
  Result<void> listen();
  /// Sleeps until a notification of new deliveries arrives, `wake_fd` (an eventfd) becomes readable
  /// (it is read) or `timeout_ms` passes (an idle instance polls anyway: notifications are an
  /// optimisation, not the source of truth). True when one came; every notification that arrived
  /// meanwhile is consumed.
  Result<bool> wait_for_news(int timeout_ms, int wake_fd = -1);

  /// A transaction around several of the calls above (the store's group commit), and the insert of
  /// enqueue() without one.
  Result<void> begin();
  Result<void> commit();
  void rollback();
  Result<void> insert(const std::vector<NewRow>& rows);
  /// Wakes the idle instances (delivered at commit inside a transaction).
  Result<void> notify();
  /// True when no delivery is pending.
  Result<bool> drained();
  /// This instance (`owner`) is alive at `now`: returns how many are, counting those seen within
  /// `alive_ms`. leave() removes it.
  Result<int> heartbeat(const std::string& owner, std::int64_t now, std::int64_t alive_ms);
  Result<void> leave(const std::string& owner);
  /// The connection was lost; reconnect() makes it again (statements prepared, LISTEN again).
  bool broken() const;
  Result<void> reconnect();

 private:
  explicit Queue(pg_conn* connection) : connection_(connection) {}
  pg_conn* connection_;
  bool listening_ = false;
};

/// The transactional outbox: inserts the rows on the host's own connection, inside the transaction
/// the host opened (refused otherwise, and when the schema is not in place). They become visible
/// to the instances when the host commits, and vanish if it rolls back.
Result<void> enqueue_in(pg_conn* host, const std::vector<NewRow>& rows);

}  // namespace statusstack::webhooks::detail::pg
