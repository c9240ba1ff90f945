#pragma once

// The durable store: where a Dispatcher keeps every accepted delivery until it is final, so that a
// crash or a restart loses none (an embedded SQLite file, or a PostgreSQL database several
// Dispatchers share; see docs/durability.md). StoreOptions turns it on; StoreFile reads a store
// file from outside its Dispatcher (the CLI, an admin tool).

#include <statusstack/webhooks/error.hpp>
#include <statusstack/webhooks/events.hpp>
#include <statusstack/webhooks/export.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace statusstack::webhooks {

namespace detail {
class Clock;
class DeliveryStore;
}  // namespace detail

struct StoreOptions;

/// A store other than a SQLite file, made by an optional component: postgres::store() of
/// <statusstack/webhooks/postgres.hpp> (target StatusStack::webhooks_postgres). The Dispatcher
/// opens it; nothing else needs to call it.
class StoreBackend {
 public:
  virtual ~StoreBackend() = default;
  /// What it is, for messages and logs (a URI shows no password).
  virtual std::string describe() const = 0;
  /// Opens the store for one Dispatcher (internal interface between the library's parts).
  virtual Result<std::unique_ptr<detail::DeliveryStore>> open(
      const StoreOptions& options, std::shared_ptr<const detail::Clock> clock) const = 0;
};

/// Why a delivery ended without a 2xx.
enum class FailureReason {
  none,                ///< delivered
  rejected,            ///< a non-retryable answer (4xx other than 408/425/429, 3xx) or request
  attempts_exhausted,  ///< every allowed attempt failed retryably
  too_old,             ///< max_age passed before another attempt could start
  endpoint_removed,    ///< the endpoint was removed before the delivery was done
  shutdown,            ///< the Dispatcher shut down before the delivery was done (without a store)
  receiver_gone,       ///< the receiver answered 410 Gone: the endpoint is paused until it is replaced
  /// the endpoint kept failing for longer than CircuitBreakerPolicy::disable_after: it is disabled
  /// until upsert_endpoint() enables it again
  endpoint_disabled,
};

/// How many FailureReason values there are (none included): the size of arrays indexed by one.
inline constexpr std::size_t failure_reason_count = 8;

/// The reason's stable snake_case name, e.g. "attempts_exhausted".
STATUSSTACK_WEBHOOKS_EXPORT const char* to_string(FailureReason reason) noexcept;
/// The reason of a name to_string() gives; nullopt for any other text.
STATUSSTACK_WEBHOOKS_EXPORT std::optional<FailureReason> failure_reason_from_string(
    std::string_view name) noexcept;

/// What a committed delivery survives: the cost of a commit against the risk taken.
enum class Durability {
  /// SQLite synchronous=FULL (the default): every commit waits for the disk (one fsync, ~0.2 ms on
  /// an SSD); a delivery dispatch() accepted survives power loss and an operating system crash.
  power_loss,
  /// synchronous=NORMAL: commits reach the operating system, fsync happens at checkpoints; survives
  /// the process's crash or SIGKILL, but the last commits can be lost with the machine.
  process_crash,
};

/// Where a Dispatcher keeps its deliveries. An empty path (and no backend) keeps them in memory (as
/// without a store).
struct StoreOptions {
  /// A SQLite file, created when missing. One Dispatcher owns it at a time; StoreFile can read it.
  /// (postgres::store() sets the database's URI here, without its password, for messages.)
  std::string path;
  /// Set: the store is this one (postgres::store()), not a SQLite file at `path`.
  std::shared_ptr<const StoreBackend> backend;
  Durability durability = Durability::power_loss;
  /// Failed deliveries (dead letters) are kept this long after they failed, for redelivery.
  std::chrono::hours failed_retention{24 * 7};
  /// 0: a delivered row is removed when it is done. More: a record without its body is kept this
  /// long (for `deliveries show` and audits).
  std::chrono::hours delivered_retention{0};
  /// 0: no limit. Otherwise the file never grows beyond this many bytes: dispatch() then returns
  /// store_error and accepts nothing until pruning or deliveries make room.
  std::uint64_t max_bytes = 0;
};

/// Where a stored delivery is.
enum class DeliveryState {
  pending,    ///< accepted, not final (waiting, on the wire, or waiting for its retry)
  delivered,  ///< a record kept after a 2xx (StoreOptions::delivered_retention)
  failed,     ///< a dead letter: final without a 2xx, kept for redelivery
};

/// The state's stable name: "pending", "delivered", "failed".
STATUSSTACK_WEBHOOKS_EXPORT const char* to_string(DeliveryState state) noexcept;

/// One delivery as the store file holds it.
struct StoredDelivery {
  std::string id;  ///< the X-StatusStack-Delivery value
  std::string endpoint;
  EventType event{};
  DeliveryState state = DeliveryState::pending;
  FailureReason reason = FailureReason::none;  ///< for a failed delivery
  int attempts = 0;
  std::chrono::system_clock::time_point accepted_at;
  std::chrono::system_clock::time_point next_attempt_at;  ///< pending: when its next attempt is due
  std::chrono::system_clock::time_point last_attempt_at;  ///< epoch when there was no attempt
  std::chrono::system_clock::time_point finished_at;      ///< final: when it became final
  int last_status = 0;                                    ///< the last attempt's HTTP status (0: no answer)
  std::string last_error;  ///< the last attempt's outcome described ("HTTP 503", "timeout: ...")
  std::string detail;      ///< failed: the report's detail
  std::string event_json;  ///< the event as accepted (empty in a delivered record)
};

/// Which stored deliveries a listing or a redelivery takes. Every field narrows the choice.
struct DeliveryQuery {
  std::optional<DeliveryState> state;  ///< nullopt: every state
  std::string endpoint;                ///< empty: every endpoint
  std::optional<FailureReason> reason;
  /// A window on when the delivery became final (failed, delivered) or was accepted (pending).
  std::optional<std::chrono::system_clock::time_point> since;
  std::optional<std::chrono::system_clock::time_point> until;
  std::size_t limit = 10000;  ///< at most this many, oldest first
};

/// How many deliveries a store file holds, by state.
struct StoreCounts {
  std::uint64_t pending = 0;
  std::uint64_t failed = 0;
  std::uint64_t delivered = 0;
  std::uint64_t file_bytes = 0;                 ///< the database file and its write-ahead log
  std::vector<std::string> paused_endpoints;    ///< paused by a 410 Gone
  std::vector<std::string> disabled_endpoints;  ///< disabled by their circuit breaker
};

/// A store file opened from outside the Dispatcher that owns it: list and show deliveries while it
/// runs; redeliver dead letters while no Dispatcher has the file open (they go at its next start).
/// Not thread-safe; movable.
class STATUSSTACK_WEBHOOKS_EXPORT StoreFile {
 public:
  /// Opens an existing store file. Errors (store_error): missing, not a store, unreadable.
  static Result<StoreFile> open(const std::string& path);
  ~StoreFile();
  StoreFile(StoreFile&&) noexcept;
  StoreFile& operator=(StoreFile&&) noexcept;

  Result<std::vector<StoredDelivery>> list(const DeliveryQuery& query) const;
  /// The delivery with this id; nullopt when the file has none.
  Result<std::optional<StoredDelivery>> find(const std::string& id) const;
  Result<StoreCounts> counts() const;
  /// Makes failed deliveries pending again (same id, a fresh attempt budget). Only failed ones are
  /// taken; returns how many. Error store_error when a Dispatcher has the file open (redeliver
  /// through Dispatcher::redeliver there).
  Result<std::size_t> redeliver(const std::vector<std::string>& ids);
  Result<std::size_t> redeliver(const DeliveryQuery& query);

 private:
  struct Impl;
  explicit StoreFile(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace statusstack::webhooks
