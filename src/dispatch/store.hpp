#pragma once

// The store seam: where the Dispatcher's deliveries are kept between dispatch() and their final
// report. The I/O loops keep the schedule in memory (ready lanes, retry timers); a store sees each
// change of a delivery's state:
//
//   resume      at start: the deliveries a previous Dispatcher left pending (a crash, a shutdown)
//   admit       dispatch() accepted deliveries         a durable store commits them before dispatch()
//                                                       returns (one writer, group commit); an error
//                                                       refuses the whole dispatch() call
//   reschedule  an attempt failed; the next one is due  records the attempt count and the due time
//   finish      delivered, or failed with a reason      a durable store hands the delivery back
//                                                       (on_committed) once that is written: the
//                                                       report comes after, so a delivery reported
//                                                       delivered is never sent again
//   park        shutdown() left it pending             nothing to write: it stays pending
//
// The memory store keeps nothing: the Dispatcher as it has always been. The SQLite file (one owner,
// sqlite_store.cpp) adds what a restart needs. A shared store (PostgreSQL, pg_store.cpp, several
// instances on one queue) changes the flow: admit only writes; the store claims due deliveries for
// this instance and hands them over (on_claimed); a retry goes back to the queue (reschedule, then
// release) for whichever instance claims it when it is due; a final state whose claim another
// instance took over comes back `fenced`, without a report here. A store sees deliveries as plain
// data (delivery.hpp) and keeps the endpoint's name, never its secrets: bodies and signatures are
// made at each attempt.

#include <statusstack/webhooks/dispatcher.hpp>

#include "dispatch/breaker.hpp"
#include "dispatch/clock.hpp"
#include "dispatch/delivery.hpp"

#include <statusstack/webhooks/export.hpp>

#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace statusstack::webhooks::detail {

/// A pending delivery given back by the store at start; the Engine binds it to its endpoint.
struct Resumed {
  std::unique_ptr<Delivery> delivery;  ///< without its endpoint slot
  std::string endpoint;
  WallTime budget_from;  ///< max_age counts from here
  WallTime due;          ///< its next attempt
};

/// A final delivery, on its way to its report.
struct Final {
  std::unique_ptr<Delivery> delivery;
  bool delivered = false;
  FailureReason reason = FailureReason::none;
  std::size_t loop = 0;    ///< the I/O loop that reports it
  bool holds_key = false;  ///< its order key passes to the next delivery after the report
  /// Shared store: not written, since another instance took the delivery over when its lease ended;
  /// that instance reports it.
  bool fenced = false;
};

class STATUSSTACK_WEBHOOKS_EXPORT DeliveryStore {
 public:
  virtual ~DeliveryStore() = default;
  /// False: finish() writes nothing and the report is given at once (the memory store).
  virtual bool durable() const noexcept = 0;
  /// True: several Dispatchers share the store's queue (see above).
  virtual bool shared() const noexcept { return false; }
  /// Shared: starts claiming (the Engine is ready for on_claimed), and stops claiming when the
  /// Dispatcher shuts down: on_claimed is not called once stop_claiming() returns.
  virtual void start() {}
  virtual void stop_claiming() {}
  /// A delivery leaves this instance without a final state: shutdown parked it, or (shared) its
  /// retry went back to the queue.
  virtual void release(const Delivery& /*delivery*/) {}
  /// Shared: true when no delivery is pending anywhere in the queue (what flush() waits for).
  virtual Result<bool> drained() { return true; }
  /// The pending deliveries, in dispatch order, and the endpoints' kept states: 410 pauses and
  /// breakers (once each, at start).
  virtual Result<std::vector<Resumed>> resume() { return std::vector<Resumed>{}; }
  virtual std::vector<EndpointState> endpoint_states() { return {}; }
  /// Keeps newly accepted deliveries; an error refuses them all (dispatch() returns it).
  virtual Result<void> admit(const std::vector<std::unique_ptr<Delivery>>& deliveries) = 0;
  /// The delivery waits for its next attempt, due at `due`.
  virtual void reschedule(const Delivery& delivery, WallTime due) = 0;
  /// A durable store writes the final state, then passes it to on_committed (set before any
  /// finish()), from its own thread.
  virtual void finish(Final final) = 0;
  /// An endpoint's state changed: paused by a 410 Gone, its breaker opened, closed or disabled, or
  /// enabled again by its replacement.
  virtual void save_endpoint(const EndpointState& state) = 0;
  /// The stored deliveries that match.
  virtual Result<std::vector<StoredDelivery>> query(const DeliveryQuery& query) = 0;
  /// Makes failed deliveries pending again and gives them back to be scheduled.
  virtual Result<std::vector<Resumed>> redeliver(const std::vector<std::string>& ids) = 0;
  virtual Result<std::vector<std::string>> failed_ids(const DeliveryQuery& query) = 0;
  /// The event JSON of a row a resumed delivery points to (EventRecord::stored_row). Called by
  /// I/O loop `reader` only, from its own thread.
  virtual Result<std::string> load_event(std::size_t /*reader*/, std::int64_t /*row*/) {
    return Error{ErrorCode::store_error, "this store keeps no event bodies", "store"};
  }
  /// Removes failed and delivered records past their retention now (a durable store also does it
  /// by itself, a little at a time).
  virtual void prune() {}
  /// Writes what is queued, then lets the file go (another Dispatcher may open it after this).
  virtual void close() {}
  /// Writes the store could not make.
  virtual std::uint64_t errors() const noexcept { return 0; }

  std::function<void(std::vector<Final>&)> on_committed;
  /// Shared store, from its own thread: deliveries claimed for this instance; how many more it may
  /// take now; the endpoints it may claim for; endpoint states another instance wrote; how many
  /// instances are alive (rate limits are split between them).
  std::function<void(std::vector<Resumed>&)> on_claimed;
  std::function<std::size_t()> room;
  std::function<std::vector<std::string>()> endpoint_names;
  std::function<void(const std::vector<EndpointState>&)> on_endpoint_states;
  std::function<void(unsigned)> on_instances;
};

/// The last attempt's outcome from what a store keeps of it: the status, or the transport error as
/// Outcome::describe() wrote it ("refused: Connection refused").
STATUSSTACK_WEBHOOKS_EXPORT Outcome restored_outcome(int status, std::string_view text);

/// Keeps nothing: deliveries live in the I/O loops until they are final.
class MemoryStore final : public DeliveryStore {
 public:
  bool durable() const noexcept override { return false; }
  Result<void> admit(const std::vector<std::unique_ptr<Delivery>>&) override { return {}; }
  void reschedule(const Delivery&, WallTime) override {}
  void finish(Final) override {}
  void save_endpoint(const EndpointState&) override {}
  Result<std::vector<StoredDelivery>> query(const DeliveryQuery&) override { return no_store(); }
  Result<std::vector<Resumed>> redeliver(const std::vector<std::string>&) override { return no_store(); }
  Result<std::vector<std::string>> failed_ids(const DeliveryQuery&) override { return no_store(); }

 private:
  static Error no_store() {
    return Error{ErrorCode::store_error,
                 "this Dispatcher keeps its deliveries in memory: set DispatcherOptions::store.path to keep "
                 "them (and failed ones for redelivery)",
                 "store.path"};
  }
};

/// The SQLite store on `options.path` (sqlite_store.cpp). Errors: the file cannot be owned, opened,
/// read or written.
Result<std::unique_ptr<DeliveryStore>> open_sqlite_store(const StoreOptions& options,
                                                         std::shared_ptr<const Clock> clock);

}  // namespace statusstack::webhooks::detail
