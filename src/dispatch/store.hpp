#pragma once

// The store seam: where the Dispatcher's deliveries are kept between dispatch() and their final
// report. The I/O loops keep the schedule in memory (ready lanes, retry timers); a store sees each
// change of a delivery's state:
//
//   admit       dispatch() accepted deliveries         a durable store commits them before dispatch()
//                                                       returns (one writer, group commit); an error
//                                                       refuses the whole dispatch() call
//   reschedule  an attempt failed; the next one is due  records the attempt count and the due time
//   finish      delivered, or failed with a reason      the report is given once it returns, so a
//                                                       delivery reported delivered is never sent again
//
// The memory store keeps nothing: the Dispatcher as it has always been. A SQLite file (one owner)
// adds what a restart needs (resume the unfinished at open, park them at shutdown); a PostgreSQL
// table shared by several instances adds claims with a lease, through which deliveries become due
// in whichever instance claims them. A store sees deliveries as plain data (delivery.hpp) and keeps
// the endpoint's name, never its secrets: bodies and signatures are made at each attempt.

#include <statusstack/webhooks/dispatcher.hpp>

#include "dispatch/delivery.hpp"

#include <memory>
#include <vector>

namespace statusstack::webhooks::detail {

class DeliveryStore {
 public:
  virtual ~DeliveryStore() = default;
  /// Keeps newly accepted deliveries; an error refuses them all (dispatch() returns it).
  virtual Result<void> admit(const std::vector<const Delivery*>& deliveries) = 0;
  /// The delivery waits for its next attempt, due at `due`.
  virtual void reschedule(const Delivery& delivery, WallTime due) = 0;
  /// The delivery is final.
  virtual void finish(const Delivery& delivery, bool delivered, FailureReason reason) = 0;
};

/// Keeps nothing: deliveries live in the I/O loops until they are final.
class MemoryStore final : public DeliveryStore {
 public:
  Result<void> admit(const std::vector<const Delivery*>&) override { return {}; }
  void reschedule(const Delivery&, WallTime) override {}
  void finish(const Delivery&, bool, FailureReason) override {}
};

}  // namespace statusstack::webhooks::detail
