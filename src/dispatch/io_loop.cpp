#include "dispatch/io_loop.hpp"

#include "dispatch/decide.hpp"

#include <algorithm>
#include <utility>

namespace statusstack::webhooks::detail {

IoLoop::IoLoop(Core& core, std::size_t index, std::unique_ptr<Transport> transport)
    : core_(core), index_(index), transport_(std::move(transport)), random_(std::random_device{}()) {}

void IoLoop::enqueue(std::unique_ptr<Delivery> delivery) {
  {
    const std::lock_guard<std::mutex> lock(inbox_mutex_);
    inbox_.push_back(std::move(delivery));
  }
  // A loop that is awake takes its inbox before it sleeps again (see turn()): only a sleeping one
  // needs the wake-up system call.
  wake_if_sleeping();
}

void IoLoop::resume(std::unique_ptr<Delivery> delivery, SteadyTime due) {
  if (delivery->endpoint->removed.load(std::memory_order_acquire)) {
    end(std::move(delivery), false, FailureReason::endpoint_removed, false);
    return;
  }
  if (delivery->order.keyed()) {
    Lane& ours = lane(*delivery);
    auto [held, first] = ours.held.try_emplace(delivery->order.get());
    if (!first) {
      held->second.push_back(std::move(delivery));
      return;
    }
    if (!ours.holding_listed) {
      ours.holding_listed = true;
      holding_.push_back(delivery->endpoint);
    }
  }
  if (due > core_.clock->now()) {
    timers_.push_back(Timer{due, std::move(delivery)});
    std::push_heap(timers_.begin(), timers_.end(), TimerLater{});
  } else {
    make_ready(std::move(delivery));
  }
}

void IoLoop::committed(std::vector<Final>& finals) {
  {
    const std::lock_guard<std::mutex> lock(inbox_mutex_);
    for (Final& final : finals) {
      if (final.delivery && final.loop == index_) committed_.push_back(std::move(final));
    }
  }
  wake_if_sleeping();
}

void IoLoop::report_committed() {
  {
    const std::lock_guard<std::mutex> lock(inbox_mutex_);
    if (committed_.empty()) return;
    reporting_.swap(committed_);
  }
  for (Final& final : reporting_) {
    --awaiting_;
    if (final.fenced) {
      // Another instance took it over: its report is that instance's.
      core_.counters.taken_over.fetch_add(1, std::memory_order_relaxed);
      const std::shared_ptr<EndpointSlot> slot = final.delivery->endpoint;
      const std::string key = final.delivery->order.get();
      core_.park(std::move(final.delivery), false);
      if (final.holds_key) release_key(*slot, key);
      continue;
    }
    if (!final.holds_key) {
      core_.report(std::move(final.delivery), final.delivered, final.reason);
      continue;
    }
    const std::shared_ptr<EndpointSlot> slot = final.delivery->endpoint;
    const std::string key = final.delivery->order.get();
    core_.report(std::move(final.delivery), final.delivered, final.reason);
    release_key(*slot, key);
  }
  reporting_.clear();
}

bool IoLoop::turn(bool sleep) {
  // New deliveries, or requests on the wire: the loop is busy, and naps rather than sleeps deeply.
  const bool busy = take_inbox() || !running_.empty();
  if (sleep && busy) last_busy_ = std::chrono::steady_clock::now();
  report_committed();
  if (const auto generation = core_.generation.load(std::memory_order_acquire);
      generation != seen_generation_) {
    seen_generation_ = generation;
    sweep_removed();
  }
  SteadyTime now = core_.clock->now();
  fire_timers(now);

  if (core_.shutting_down.load(std::memory_order_acquire)) {
    const SteadyTime deadline = core_.deadline();
    if (!stop_seen_) {
      // Retries due after the deadline will never get their attempt: end (or park) them now.
      stop_seen_ = true;
      for (auto& late : take_timers_if([deadline](const Timer& timer) { return timer.due > deadline; })) {
        if (core_.durable) {
          park(std::move(late));
        } else {
          end(std::move(late), false, FailureReason::shutdown);
        }
      }
    }
    if (now >= deadline) {
      if (!left_) {
        left_ = true;
        if (core_.durable) {
          park_everything();
        } else {
          end_everything(FailureReason::shutdown);
        }
      }
      // Final states the store is still writing: their reports come before the loop ends.
      if (awaiting_ == 0) return false;
      if (sleep) sleep_until_needed(milliseconds(1000));
      return true;
    }
    if (idle()) {
      const std::lock_guard<std::mutex> lock(inbox_mutex_);
      return !inbox_.empty();
    }
  }

  start_ready(now);
  collect();
  if (sleep) sleep_until_needed(sleep_time(core_.clock->now()));
  return true;
}

// A loop that had work within the last `linger` naps in slices of at most `nap` without announcing
// it: a dispatch() meanwhile makes no system call to wake it (the loop finds the delivery at the
// end of the slice, or at once when a transfer needs it). Idle for longer, it announces a deep
// sleep before its last look at the inboxes: a dispatch() or a commit that arrives after that look
// sees the flag and wakes the loop.
void IoLoop::sleep_until_needed(milliseconds wait) {
  const auto now = std::chrono::steady_clock::now();
  if (now - last_busy_ < linger) {
    transport_->sleep(std::min(wait, nap));
    return;
  }
  sleeping_.store(true, std::memory_order_seq_cst);
  {
    const std::lock_guard<std::mutex> lock(inbox_mutex_);
    if (!inbox_.empty() || !committed_.empty()) wait = milliseconds::zero();
  }
  transport_->sleep(wait);
  sleeping_.store(false, std::memory_order_relaxed);
}

// Until the transport, the next retry, a rate token or the shutdown deadline needs the loop.
milliseconds IoLoop::sleep_time(SteadyTime now) {
  milliseconds wait = std::min(transport_->next_timeout(), milliseconds(1000));
  if (!timers_.empty()) wait = std::min(wait, std::chrono::ceil<milliseconds>(timers_.front().due - now));
  if (core_.shutting_down.load(std::memory_order_acquire)) {
    // Nothing left: go round once more to leave at once instead of sleeping first.
    wait = idle() ? milliseconds::zero()
                  : std::min(wait, std::chrono::ceil<milliseconds>(core_.deadline() - now));
  }
  for (const auto& slot : listed_) {
    const Lane& ours = slot->lanes[index_];
    if (ours.config && ours.in_flight >= ours.config->lane_max_in_flight[index_]) continue;
    // Room to start another: at once, or when the rate limit gives the next token and the breaker
    // lets deliveries go (a breaker whose probe is out lets the 1 s cap above decide).
    const SteadyTime go = std::max(ours.next_token_at, slot->breaker.waits_until());
    if (go == SteadyTime::max()) continue;
    wait = std::min(wait, std::chrono::ceil<milliseconds>(std::max(go - now, SteadyTime::duration{})));
  }
  return std::max(wait, milliseconds::zero());
}

const EndpointConfig& IoLoop::config(Lane& lane, const EndpointSlot& slot) const {
  if (!lane.config || lane.config_generation != seen_generation_) {
    lane.config = slot.current();
    lane.config_generation = seen_generation_;
  }
  return *lane.config;
}

bool IoLoop::take_inbox() {
  {
    const std::lock_guard<std::mutex> lock(inbox_mutex_);
    taken_.swap(inbox_);
  }
  if (taken_.empty()) return false;
  for (auto& delivery : taken_) admit(std::move(delivery));
  taken_.clear();
  return true;
}

// A new delivery: ready at once, unless an earlier one with its order key is still under way.
void IoLoop::admit(std::unique_ptr<Delivery> delivery) {
  if (delivery->endpoint->removed.load(std::memory_order_acquire)) {
    end(std::move(delivery), false, FailureReason::endpoint_removed, false);
    return;
  }
  if (delivery->order.keyed()) {
    Lane& ours = lane(*delivery);
    auto [held, first] = ours.held.try_emplace(delivery->order.get());
    if (!first) {
      held->second.push_back(std::move(delivery));
      return;
    }
    if (!ours.holding_listed) {
      ours.holding_listed = true;
      holding_.push_back(delivery->endpoint);
    }
  }
  make_ready(std::move(delivery));
}

void IoLoop::make_ready(std::unique_ptr<Delivery> delivery) {
  Lane& ours = lane(*delivery);
  if (!ours.listed) {
    ours.listed = true;
    listed_.push_back(delivery->endpoint);
  }
  ours.ready.push_back(std::move(delivery));
}

// After endpoints changed: end what waits here for endpoints that were removed (requests on the
// wire finish first), so that flush() never waits for an endpoint that is gone.
void IoLoop::sweep_removed() {
  const auto ended = [](const EndpointSlot& slot) {
    return slot.removed.load(std::memory_order_acquire) || slot.disabled.load(std::memory_order_acquire);
  };
  std::vector<std::unique_ptr<Delivery>> removed;
  for (const auto& slot : listed_) {
    if (!ended(*slot)) continue;
    Lane& ours = slot->lanes[index_];
    for (auto& delivery : ours.ready) removed.push_back(std::move(delivery));
    ours.ready.clear();
  }
  for (auto& delivery :
       take_timers_if([&ended](const Timer& timer) { return ended(*timer.delivery->endpoint); })) {
    removed.push_back(std::move(delivery));
  }
  for (auto& delivery : removed) {
    const FailureReason reason = delivery->endpoint->removed.load(std::memory_order_acquire)
                                     ? FailureReason::endpoint_removed
                                     : FailureReason::endpoint_disabled;
    end(std::move(delivery), false, reason);
  }
  holding_.erase(std::remove_if(holding_.begin(), holding_.end(),
                                [this](const std::shared_ptr<EndpointSlot>& slot) {
                                  Lane& ours = slot->lanes[index_];
                                  const bool done =
                                      slot->removed.load(std::memory_order_acquire) && ours.held.empty();
                                  if (done) ours.holding_listed = false;
                                  return done;
                                }),
                 holding_.end());
}

void IoLoop::fire_timers(SteadyTime now) {
  while (!timers_.empty() && timers_.front().due <= now) {
    std::pop_heap(timers_.begin(), timers_.end(), TimerLater{});
    std::unique_ptr<Delivery> delivery = std::move(timers_.back().delivery);
    timers_.pop_back();
    make_ready(std::move(delivery));
  }
}

void IoLoop::start_ready(SteadyTime now) {
  for (std::size_t i = 0; i < listed_.size();) {
    EndpointSlot& slot = *listed_[i];
    Lane& ours = slot.lanes[index_];
    const EndpointConfig& settings = config(ours, slot);
    const std::size_t max_in_flight = settings.lane_max_in_flight[index_];
    while (!ours.ready.empty() && ours.in_flight < max_in_flight) {
      const Delivery& next = *ours.ready.front();
      std::optional<FailureReason> ends;
      Breaker::Gate gate = Breaker::Gate::pass;
      if (slot.removed.load(std::memory_order_acquire)) {
        ends = FailureReason::endpoint_removed;
      } else if (slot.gone.load(std::memory_order_relaxed)) {
        ends = FailureReason::receiver_gone;
      } else if (slot.disabled.load(std::memory_order_acquire)) {
        ends = FailureReason::endpoint_disabled;
      } else if (elapsed(next.accepted_steady, now) > settings.max_age) {
        ends = FailureReason::too_old;
      } else if (gate = slot.breaker.gate(now); gate == Breaker::Gate::wait) {
        break;  // the breaker is open: wait without spending an attempt (sleep_time knows until when)
      } else if (const auto wait = ours.bucket.take(
                     now, settings.lane_per_minute / core_.instances.load(std::memory_order_relaxed))) {
        if (gate == Breaker::Gate::probe) slot.breaker.return_probe();
        ours.next_token_at = now + *wait;  // rate limited: wait for the token, do not fail
        break;
      }
      std::unique_ptr<Delivery> delivery = std::move(ours.ready.front());
      ours.ready.pop_front();
      if (ends) {
        end(std::move(delivery), false, *ends);
      } else {
        delivery->probe = gate == Breaker::Gate::probe;
        start_attempt(std::move(delivery), ours);
      }
    }
    if (ours.ready.empty()) {
      ours.listed = false;
      listed_[i] = std::move(listed_.back());
      listed_.pop_back();
    } else {
      ++i;
    }
  }
}

void IoLoop::start_attempt(std::unique_ptr<Delivery> delivery, Lane& ours) {
  const WallTime now = core_.clock->wall();
  if (delivery->attempts == 0) delivery->first_attempt_at = now;
  delivery->last_attempt_at = now;
  ++delivery->attempts;
  if (delivery->stored_row != 0 && delivery->event->json.empty()) {
    // Resumed from a store without its body: read it now, for this and the later attempts.
    auto json = core_.store->load_event(index_, delivery->stored_row);
    if (!json) {
      Outcome& outcome = delivery->record_attempt().outcome;
      outcome.error = TransportError::other;  // retried: the file may be readable later
      outcome.error_message = json.error().message;
      core_.counters.attempts.fetch_add(1, std::memory_order_relaxed);
      after_attempt(std::move(delivery));
      return;
    }
    auto loaded = std::make_shared<EventRecord>();
    loaded->type = delivery->event->type;
    loaded->json = std::move(*json);
    delivery->event = std::move(loaded);
  }
  auto request = prepare_request(ours.config, *delivery, now);
  if (!request) {
    // The event cannot be made into a request for this endpoint: an attempt refused at once.
    Outcome& outcome = delivery->record_attempt().outcome;
    outcome.error = TransportError::invalid_request;
    outcome.error_message = request.error().message;
    core_.counters.attempts.fetch_add(1, std::memory_order_relaxed);
    after_attempt(std::move(delivery));
    return;
  }
  ++ours.in_flight;
  core_.counters.in_flight.fetch_add(1, std::memory_order_relaxed);
  Delivery* token = delivery.get();
  delivery->running_slot = static_cast<std::uint32_t>(running_.size());  // bounded by max_in_flight
  running_.push_back(std::move(delivery));
  transport_->start(token, std::move(*request));
}

void IoLoop::collect() {
  finished_.clear();
  transport_->drive(finished_);
  for (Finished& finished : finished_) {
    const std::size_t slot = static_cast<Delivery*>(finished.token)->running_slot;
    std::unique_ptr<Delivery> delivery = std::move(running_[slot]);
    if (slot + 1 != running_.size()) {
      running_[slot] = std::move(running_.back());
      running_[slot]->running_slot = static_cast<std::uint32_t>(slot);
    }
    running_.pop_back();

    AttemptResult& result = delivery->record_attempt();
    result.outcome = std::move(finished.outcome);
    Lane& ours = lane(*delivery);
    if (const auto read_answer = ours.config->profile.read_answer; read_answer != nullptr) {
      const Outcome& outcome = result.outcome;
      result.answer = read_answer(outcome.status, outcome.content_type, outcome.body);
      keep_response(result.outcome, ours.config->endpoint.options.max_response_body);
    }
    --ours.in_flight;
    core_.counters.in_flight.fetch_sub(1, std::memory_order_relaxed);
    core_.counters.attempts.fetch_add(1, std::memory_order_relaxed);
    after_attempt(std::move(delivery));
  }
}

// The retry rules (decide()) applied to a finished attempt: the final report, or a retry timer.
void IoLoop::after_attempt(std::unique_ptr<Delivery> delivery) {
  const SteadyTime now = core_.clock->now();
  EndpointSlot& slot = *delivery->endpoint;
  const EndpointConfig& settings = config(lane(*delivery), slot);
  std::optional<milliseconds> shutdown_in;
  if (core_.shutting_down.load(std::memory_order_acquire)) {
    shutdown_in = std::chrono::floor<milliseconds>(core_.deadline() - now);
  }
  if (judge_endpoint(*delivery, now)) {
    // Its endpoint was just disabled: this delivery ends with the others.
    core_.notify_attempt(*delivery, std::nullopt);
    end(std::move(delivery), false, FailureReason::endpoint_disabled);
    return;
  }
  const Decision decision =
      decide(AttemptFacts{delivery->last(), delivery->attempts, elapsed(delivery->accepted_steady, now),
                          settings.max_age, shutdown_in},
             settings.retry, std::uniform_real_distribution<double>(0.0, 1.0)(random_));
  switch (decision.next) {
    case Decision::Next::delivered: end(std::move(delivery), true, FailureReason::none); return;
    case Decision::Next::fail:
      if (decision.reason == FailureReason::shutdown && core_.durable) {
        // Its retry would come after the shutdown deadline: with a store it waits in the file for
        // the next Dispatcher, due when it would have been.
        core_.store->reschedule(*delivery, core_.clock->wall() + decision.delay);
        core_.notify_attempt(*delivery, decision.delay);
        park(std::move(delivery));
        return;
      }
      if (decision.pause_endpoint) {
        slot.gone.store(true, std::memory_order_relaxed);
        core_.store->save_endpoint(slot.state(now, core_.clock->wall()));
      }
      core_.notify_attempt(*delivery, std::nullopt);
      end(std::move(delivery), false, decision.reason);
      return;
    case Decision::Next::retry:
      if (slot.removed.load(std::memory_order_acquire)) {
        core_.notify_attempt(*delivery, std::nullopt);
        end(std::move(delivery), false, FailureReason::endpoint_removed);
        return;
      }
      if (slot.disabled.load(std::memory_order_acquire)) {
        // On the wire when its endpoint was disabled: it ends with the others, not at its retry.
        core_.notify_attempt(*delivery, std::nullopt);
        end(std::move(delivery), false, FailureReason::endpoint_disabled);
        return;
      }
      core_.store->reschedule(*delivery, core_.clock->wall() + decision.delay);
      core_.notify_attempt(*delivery, decision.delay);
      core_.counters.retries.fetch_add(1, std::memory_order_relaxed);
      if (core_.shared) {
        // Back to the shared queue: whichever instance claims it when it is due makes the attempt.
        park(std::move(delivery), false);
        return;
      }
      timers_.push_back(Timer{later(now, decision.delay), std::move(delivery)});
      std::push_heap(timers_.begin(), timers_.end(), TimerLater{});
      return;
  }
}

// What the attempt just made says of its endpoint, for the breaker; true when the endpoint is now
// disabled. A change of the breaker's state is saved in the store; disabling also ends every
// delivery of the endpoint (each loop sweeps its own) and tells the host.
bool IoLoop::judge_endpoint(Delivery& delivery, SteadyTime now) {
  EndpointSlot& slot = *delivery.endpoint;
  const Outcome& outcome = delivery.last();
  const Breaker::Verdict verdict = Breaker::judge(outcome);
  const bool probe = std::exchange(delivery.probe, false);
  const std::string error = verdict == Breaker::Verdict::failed ? outcome.describe() : std::string();
  const WallTime wall = core_.clock->wall();
  const Breaker::Change change = slot.breaker.record(verdict, probe, error, now, wall, core_.breaker);
  if (!change.changed) return false;
  if (change.disabled) slot.disabled.store(true, std::memory_order_release);
  core_.store->save_endpoint(slot.state(now, wall));
  if (!change.disabled) return false;
  core_.generation.fetch_add(1, std::memory_order_acq_rel);
  core_.notify_disabled(slot.health(now, wall));
  return true;
}

// A delivery is final: its report (with a durable store, once its state is written), then the next
// delivery with its order key gets its turn. `holds_key`: false for one that never took its key.
void IoLoop::end(std::unique_ptr<Delivery> delivery, bool delivered, FailureReason reason, bool holds_key) {
  holds_key = holds_key && delivery->order.keyed() && !ending_all_;
  if (core_.durable) {
    ++awaiting_;
    core_.store->finish(Final{std::move(delivery), delivered, reason, index_, holds_key});
    return;
  }
  if (!holds_key) {
    core_.report(std::move(delivery), delivered, reason);
    return;
  }
  const std::shared_ptr<EndpointSlot> slot = delivery->endpoint;
  const std::string key = delivery->order.get();
  core_.report(std::move(delivery), delivered, reason);
  release_key(*slot, key);
}

void IoLoop::release_key(EndpointSlot& slot, const std::string& key) {
  Lane& ours = slot.lanes[index_];
  for (;;) {
    const auto held = ours.held.find(key);
    if (held == ours.held.end()) return;
    if (held->second.empty()) {
      ours.held.erase(held);
      return;
    }
    std::unique_ptr<Delivery> next = std::move(held->second.front());
    held->second.pop_front();
    if (!slot.removed.load(std::memory_order_acquire)) {
      make_ready(std::move(next));
      return;
    }
    if (core_.durable) {
      end(std::move(next), false, FailureReason::endpoint_removed);  // its commit releases the key again
      return;
    }
    core_.report(std::move(next), false, FailureReason::endpoint_removed);
  }
}

// Takes out every delivery waiting for its retry for which `takes` says so; the others keep their
// timers.
template <class Predicate>
std::vector<std::unique_ptr<Delivery>> IoLoop::take_timers_if(Predicate takes) {
  std::vector<std::unique_ptr<Delivery>> taken;
  std::vector<Timer> keep;
  for (Timer& timer : timers_) {
    if (takes(timer)) {
      taken.push_back(std::move(timer.delivery));
    } else {
      keep.push_back(std::move(timer));
    }
  }
  timers_ = std::move(keep);
  std::make_heap(timers_.begin(), timers_.end(), TimerLater{});
  return taken;
}

// Left pending in the store for the next Dispatcher, with the deliveries held behind its order key.
void IoLoop::park(std::unique_ptr<Delivery> delivery, bool counted) {
  if (delivery->order.keyed()) {
    Lane& ours = lane(*delivery);
    if (const auto held = ours.held.find(delivery->order.get()); held != ours.held.end()) {
      for (auto& next : held->second) core_.park(std::move(next), counted);
      ours.held.erase(held);
    }
  }
  core_.park(std::move(delivery), counted);
}

// The shutdown deadline with a durable store: whatever is not final stays pending in the file.
// Attempts on the wire are abandoned; the next Dispatcher makes them again.
void IoLoop::park_everything() {
  std::vector<void*> abandoned;
  transport_->abandon(abandoned);
  for (void* token : abandoned) {
    const std::size_t slot = static_cast<Delivery*>(token)->running_slot;
    --lane(*running_[slot]).in_flight;
    core_.counters.in_flight.fetch_sub(1, std::memory_order_relaxed);
    core_.park(std::move(running_[slot]));
  }
  running_.clear();
  for (Timer& timer : timers_) core_.park(std::move(timer.delivery));
  timers_.clear();
  for (auto& slot : listed_) {
    Lane& ours = slot->lanes[index_];
    for (auto& delivery : ours.ready) core_.park(std::move(delivery));
    ours.ready.clear();
    ours.listed = false;
  }
  listed_.clear();
  for (auto& slot : holding_) {
    Lane& ours = slot->lanes[index_];
    for (auto& [key, waiting] : ours.held) {
      for (auto& delivery : waiting) core_.park(std::move(delivery));
    }
    ours.held.clear();
    ours.holding_listed = false;
  }
  holding_.clear();
  {
    const std::lock_guard<std::mutex> lock(inbox_mutex_);
    taken_.swap(inbox_);
  }
  for (auto& delivery : taken_) core_.park(std::move(delivery));
  taken_.clear();
}

// The shutdown deadline: every delivery of this loop ends now, on the wire or not.
void IoLoop::end_everything(FailureReason reason) {
  ending_all_ = true;
  std::vector<void*> abandoned;
  transport_->abandon(abandoned);
  for (void* token : abandoned) {
    const std::size_t slot = static_cast<Delivery*>(token)->running_slot;
    std::unique_ptr<Delivery> delivery = std::move(running_[slot]);
    --lane(*delivery).in_flight;
    core_.counters.in_flight.fetch_sub(1, std::memory_order_relaxed);
    Outcome& outcome = delivery->record_attempt().outcome;
    outcome.error = TransportError::timeout;
    outcome.error_message = "attempt abandoned at the shutdown deadline";
    core_.report(std::move(delivery), false, reason);
  }
  running_.clear();
  for (Timer& timer : timers_) core_.report(std::move(timer.delivery), false, reason);
  timers_.clear();
  for (auto& slot : listed_) {
    Lane& ours = slot->lanes[index_];
    for (auto& delivery : ours.ready) core_.report(std::move(delivery), false, reason);
    ours.ready.clear();
    ours.listed = false;
  }
  listed_.clear();
  for (auto& slot : holding_) {
    Lane& ours = slot->lanes[index_];
    for (auto& [key, waiting] : ours.held) {
      for (auto& delivery : waiting) core_.report(std::move(delivery), false, reason);
    }
    ours.held.clear();
    ours.holding_listed = false;
  }
  holding_.clear();
  {
    const std::lock_guard<std::mutex> lock(inbox_mutex_);
    taken_.swap(inbox_);
  }
  for (auto& delivery : taken_) core_.report(std::move(delivery), false, reason);
  taken_.clear();
}

}  // namespace statusstack::webhooks::detail
