#pragma once

// One I/O loop: the deliveries of its lanes, from the moment dispatch() hands them over to their
// final report. Runs on its own thread (or, in tests, turn by turn on the test's).

#include "dispatch/core.hpp"
#include "dispatch/endpoints.hpp"
#include "dispatch/transport.hpp"

#include <memory>
#include <mutex>
#include <random>
#include <vector>

namespace statusstack::webhooks::detail {

class IoLoop {
 public:
  IoLoop(Core& core, std::size_t index, std::unique_ptr<Transport> transport);
  IoLoop(const IoLoop&) = delete;
  IoLoop& operator=(const IoLoop&) = delete;

  /// Hands a new delivery to the loop; any thread.
  void enqueue(std::unique_ptr<Delivery> delivery);
  /// A delivery the store gave back at start (before the loop runs): ready, or due at `due`.
  void resume(std::unique_ptr<Delivery> delivery, SteadyTime due);
  /// Final deliveries whose state the store has written: their reports come next; any thread.
  void committed(std::vector<Final>& finals);
  /// Wakes the loop from its sleep; any thread.
  void wake() { transport_->wake(); }
  /// One turn: take new deliveries, apply endpoint changes, fire due retries, start what may
  /// start, collect finished attempts and decide what follows them; then, with `sleep`, sleep until
  /// something needs the loop. False once the Dispatcher stops and the loop has nothing left.
  bool turn(bool sleep);

 private:
  struct Timer {
    SteadyTime due;
    std::unique_ptr<Delivery> delivery;
  };
  struct TimerLater {
    bool operator()(const Timer& a, const Timer& b) const noexcept { return a.due > b.due; }
  };

  Lane& lane(const Delivery& delivery) const { return delivery.endpoint->lanes[index_]; }
  const EndpointConfig& config(Lane& lane, const EndpointSlot& slot) const;
  bool take_inbox();  // true when there was something to take
  void sweep_removed();
  void admit(std::unique_ptr<Delivery> delivery);
  void make_ready(std::unique_ptr<Delivery> delivery);
  void fire_timers(SteadyTime now);
  void start_ready(SteadyTime now);
  void start_attempt(std::unique_ptr<Delivery> delivery, Lane& lane);
  void collect();
  void after_attempt(std::unique_ptr<Delivery> delivery);
  bool judge_endpoint(Delivery& delivery, SteadyTime now);
  void end(std::unique_ptr<Delivery> delivery, bool delivered, FailureReason reason, bool holds_key = true);
  void report_committed();
  void release_key(EndpointSlot& slot, const std::string& key);
  void park(std::unique_ptr<Delivery> delivery, bool counted = true);
  void park_everything();
  template <class Predicate>
  std::vector<std::unique_ptr<Delivery>> take_timers_if(Predicate takes);
  void sleep_until_needed(milliseconds wait);
  void end_everything(FailureReason reason);
  milliseconds sleep_time(SteadyTime now);
  bool idle() const { return running_.empty() && timers_.empty() && listed_.empty() && awaiting_ == 0; }
  void wake_if_sleeping() {
    if (sleeping_.exchange(false, std::memory_order_seq_cst)) wake();
  }

  Core& core_;
  const std::size_t index_;  // which lane of every endpoint is this loop's
  std::unique_ptr<Transport> transport_;

  std::mutex inbox_mutex_;
  std::vector<std::unique_ptr<Delivery>> inbox_;
  std::vector<Final> committed_;       // written by the store, to be reported
  std::atomic<bool> sleeping_{false};  // in (or about to enter) the transport's sleep

  // Loop-only state.
  std::vector<std::unique_ptr<Delivery>> taken_;
  std::vector<std::shared_ptr<EndpointSlot>> listed_;   // slots whose lane here has ready deliveries
  std::vector<std::shared_ptr<EndpointSlot>> holding_;  // slots whose lane here holds order keys
  std::vector<Timer> timers_;                           // a min-heap on `due`
  std::vector<std::unique_ptr<Delivery>> running_;      // attempts on the wire (Delivery::running_slot)
  std::vector<Finished> finished_;
  std::vector<Final> reporting_;
  std::size_t awaiting_ = 0;           // final deliveries handed to a durable store, not yet back
  std::uint64_t seen_generation_ = 1;  // Core::generation starts at 1: nothing to sweep at first
  bool stop_seen_ = false;
  bool ending_all_ = false;
  bool left_ = false;  // the deadline passed: everything was ended or parked
  std::mt19937_64 random_;
  // The nap before the deep sleep (sleep_until_needed()): what a dispatch() finding the loop asleep
  // costs in delivery latency at most, and how long after its last work the loop keeps napping.
  static constexpr milliseconds nap{1};
  static constexpr std::chrono::milliseconds linger{50};
  std::chrono::steady_clock::time_point last_busy_{};
};

}  // namespace statusstack::webhooks::detail
