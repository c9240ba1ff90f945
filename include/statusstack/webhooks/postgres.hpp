#pragma once

// The PostgreSQL store, an optional part of the package: find_package(StatusStackWebhooks
// COMPONENTS postgres), then link StatusStack::webhooks_postgres (it brings libpq). Several
// Dispatchers, on as many machines, share one queue of deliveries in a database: each claims due
// deliveries with a lease, so that a dead instance's are taken over by the others; and a host can
// enqueue a webhook inside its own transaction (the transactional outbox), so that a committed
// write always has its webhook and a rolled-back one never does. docs/durability.md tells how.

#include <statusstack/webhooks/dispatcher.hpp>
#include <statusstack/webhooks/error.hpp>
#include <statusstack/webhooks/events.hpp>
#include <statusstack/webhooks/store.hpp>

#include <chrono>
#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <vector>

struct pg_conn;  // libpq's PGconn (libpq-fe.h: typedef struct pg_conn PGconn)

namespace statusstack::webhooks::postgres {

/// How a Dispatcher works the shared queue.
struct QueueSettings {
  /// A libpq connection string: a URI (postgresql://user@host:5432/dbname) or key=value pairs.
  std::string conninfo;
  /// How long a claimed delivery stays this instance's. Renewed every third of it while the
  /// instance lives; when it ends (the instance died or hung) any instance claims the delivery
  /// again. Make it longer than every endpoint's timeout; at least 1 s.
  std::chrono::milliseconds lease{30000};
  /// Deliveries per claim, and at most this many claimed by this instance and not yet final (also
  /// bounded by DispatcherOptions::max_pending). What a killed instance held is delivered again
  /// (same ids) after its lease: at most max_claimed duplicates.
  std::size_t claim_batch = 100;
  std::size_t max_claimed = 1000;
  /// How often an idle instance looks for due deliveries. New ones wake it at once (LISTEN/NOTIFY);
  /// retries coming due and leases running out are found by this look.
  std::chrono::milliseconds poll{500};
};

/// DispatcherOptions::store for the shared queue in `settings.conninfo`. The schema is created (or
/// migrated) by the first Dispatcher to start; its tables are named statusstack_*. The retention
/// fields of the result can be changed; max_bytes must stay 0 (the database's own limits apply).
/// Errors come when the Dispatcher opens it (ConfigError: cannot connect, a newer schema).
StoreOptions store(QueueSettings settings);
StoreOptions store(std::string conninfo);

/// The transactional outbox: inserts the deliveries of `event` for the `endpoints` whose filters
/// match (their ids, order keys and the event's JSON, as dispatch() makes them) on the host's own
/// libpq connection, inside the transaction the host opened with BEGIN. They become visible to the
/// Dispatchers on the queue when the host commits, and vanish if it rolls back. Pass the endpoints
/// the Dispatchers have (Dispatcher::endpoints()): a delivery is claimed only by an instance that
/// has its endpoint. Errors: the connection is not inside a transaction, the event or an endpoint
/// is invalid, the event's JSON is larger than `max_event_bytes`, the schema is not in place (a
/// Dispatcher creates it) or the insert failed (the host's transaction is then aborted: roll it
/// back). Blocks for one round trip.
Result<Accepted> enqueue(pg_conn* connection, const Event& event, const std::vector<Endpoint>& endpoints,
                         std::size_t max_event_bytes = std::size_t{256} * 1024);

/// The queue read from outside a Dispatcher (the CLI, an admin tool): what StoreFile is to a SQLite
/// file. Any number may be open while Dispatchers run; redelivered dead letters are claimed by them.
/// Not thread-safe; movable.
class QueueAdmin {
 public:
  /// Connects; the schema must be in place. Errors (store_error): cannot connect, no schema.
  static Result<QueueAdmin> open(const std::string& conninfo);
  ~QueueAdmin();
  QueueAdmin(QueueAdmin&&) noexcept;
  QueueAdmin& operator=(QueueAdmin&&) noexcept;

  Result<std::vector<StoredDelivery>> list(const DeliveryQuery& query) const;
  /// The delivery with this id; nullopt when the queue has none.
  Result<std::optional<StoredDelivery>> find(const std::string& id) const;
  /// By state; file_bytes is the table's size on disk.
  Result<StoreCounts> counts() const;
  /// Makes failed deliveries pending again (same id, a fresh attempt budget); returns how many.
  Result<std::size_t> redeliver(const std::vector<std::string>& ids);
  Result<std::size_t> redeliver(const DeliveryQuery& query);

 private:
  struct Impl;
  explicit QueueAdmin(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

/// True for a string that names a PostgreSQL database (postgresql:// or postgres://), not a file:
/// what the CLI's --store takes either way.
bool is_postgres_uri(const std::string& text) noexcept;

/// The connection string without its password (for messages and logs).
std::string redact_conninfo(const std::string& conninfo);

}  // namespace statusstack::webhooks::postgres
