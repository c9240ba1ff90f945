#pragma once

// One (event, endpoint) pair on its way to a final report, as plain data: what a store keeps of it.

#include <statusstack/webhooks/client.hpp>
#include <statusstack/webhooks/events.hpp>
#include <statusstack/webhooks/formats.hpp>

#include "dispatch/clock.hpp"
#include "formats/profile.hpp"

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

namespace statusstack::webhooks::detail {

struct EndpointSlot;

/// The event as accepted: its canonical JSON, shared by every delivery dispatch() made of it.
/// Bodies are made from it at each attempt, for the endpoint's settings of that moment.
struct EventRecord {
  EventType type{};
  std::string json;  ///< empty for a delivery resumed from a store until its first attempt there
};

/// What came back from an attempt.
struct AttemptResult {
  Outcome outcome;
  formats::VendorAnswer answer;  ///< what a PagerDuty/Datadog endpoint said
};

/// A delivery's id, without an allocation per delivery: the 30 characters of every id the library
/// makes are kept inline; a longer text (only ever read back from a damaged store file) on the heap.
class DeliveryId {
 public:
  DeliveryId& operator=(std::string_view text) {
    if (text.size() <= inline_.size()) {
      text.copy(inline_.data(), text.size());
      size_ = static_cast<unsigned char>(text.size());
      long_.reset();
    } else {
      long_ = std::make_unique<std::string>(text);
    }
    return *this;
  }
  std::string_view view() const noexcept {
    return long_ ? std::string_view(*long_) : std::string_view(inline_.data(), size_);
  }
  std::string str() const { return std::string(view()); }

 private:
  std::array<char, 31> inline_{};
  unsigned char size_ = 0;
  std::unique_ptr<std::string> long_;
};

/// A delivery's place in its endpoint's order: deliveries of one endpoint with the same key go one at
/// a time, in dispatch order (PagerDuty's dedup_key, Datadog's aggregation_key, one key for
/// everything of an `ordered` endpoint). Most deliveries have none, and keep no room for one.
class OrderKey {
 public:
  bool keyed() const noexcept { return key_ != nullptr; }
  /// The key; empty when there is none.
  const std::string& get() const noexcept {
    static const std::string none;
    return key_ ? *key_ : none;
  }
  void set(std::string key) { key_ = std::make_unique<std::string>(std::move(key)); }

 private:
  std::unique_ptr<std::string> key_;
};

// Members in an order that leaves no padding: a queued delivery's size is what a backlog costs.
struct Delivery {
  DeliveryId id;                           ///< X-StatusStack-Delivery: the same on every attempt
  std::shared_ptr<EndpointSlot> endpoint;  ///< bound by name: the slot outlives replacements
  std::shared_ptr<const EventRecord> event;
  OrderKey order;
  WallTime accepted_at;        ///< when dispatch() accepted it (survives a restart)
  SteadyTime accepted_steady;  ///< the same on the steady clock: max_age counts from it
  std::int64_t signed_at = 0;  ///< the StatusStack timestamp, fixed at the first attempt
  WallTime first_attempt_at;
  WallTime last_attempt_at;
  /// The last attempt's outcome; made when the first attempt ends, so that the (many) deliveries
  /// that wait for their first attempt keep no room for one.
  std::unique_ptr<AttemptResult> result;
  /// Resumed from a store: the row that holds its event's JSON, read at its first attempt (a
  /// backlog costs no memory for bodies, or outcomes, until then). 0 otherwise.
  std::int64_t stored_row = 0;
  std::size_t charged_bytes = 0;  ///< what it counts against max_pending_bytes
  int attempts = 0;
  std::uint32_t running_slot = 0;  ///< while in flight: its index in the I/O loop's list
  bool probe = false;              ///< its attempt under way is its endpoint's half-open breaker's probe

  /// The last attempt's outcome (an empty one before the first).
  const Outcome& last() const noexcept {
    static const Outcome none;
    return result ? result->outcome : none;
  }
  /// Room for the outcome of the attempt that just ended; the previous one's is dropped.
  AttemptResult& record_attempt() {
    if (result) {
      *result = AttemptResult{};
    } else {
      result = std::make_unique<AttemptResult>();
    }
    return *result;
  }
};

}  // namespace statusstack::webhooks::detail
