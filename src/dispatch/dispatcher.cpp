// The Dispatcher, from dispatch() to the final report.
//
//   dispatch(event)  validates the event, writes its JSON once, takes room in the queue for every
//                    endpoint whose filter matches, and hands one Delivery per endpoint to an I/O
//                    loop (io_loop.cpp): the loop of the endpoint's lane for the delivery's order
//                    key, else round-robin. It never touches the network.
//   an I/O loop      (one thread each, io_threads of them) owns its lanes: it takes new deliveries,
//                    holds back those whose order key is busy, starts attempts within each lane's
//                    share of max_in_flight and the rate limit, and drives them on its transport
//                    (libcurl multi, curl_transport.cpp). Each attempt's request is made then, from
//                    the endpoint's settings of that moment (endpoints.cpp): body, keys, signature.
//   after an attempt decide() (decide.cpp) says delivered, retry after a delay (a timer in the
//                    loop's heap), or failed with a reason; with a durable store the final state is
//                    written first (store.hpp); then Core::report() counts it, calls on_report,
//                    and gives its room back, which wakes flush() and blocked producers.
//   shutdown()       stops admission, waits for dispatch() calls under way, lets the loops run to
//                    the deadline, then they end what is left as failed(shutdown), and joins them.
//
// Threads: dispatch() runs on the caller's thread and only touches a loop's inbox (a mutex) and
// atomics; everything else belongs to one loop's thread. Endpoints live in slots (one per name)
// that deliveries are bound to; upsert_endpoint() replaces a slot's settings and bumps a
// generation that the loops look at once per turn.

#include "dispatch/engine.hpp"

#include "dispatch/core.hpp"
#include "dispatch/endpoints.hpp"
#include "dispatch/io_loop.hpp"

#include <algorithm>

namespace statusstack::webhooks {

namespace detail {

Clock::~Clock() = default;
SteadyTime Clock::now() const { return std::chrono::steady_clock::now(); }
WallTime Clock::wall() const { return std::chrono::system_clock::now(); }

/// One endpoint as dispatch() sees it: its slot and the settings current when the list was made.
struct Engine::Registered {
  std::shared_ptr<EndpointSlot> slot;
  std::shared_ptr<const EndpointConfig> config;
};

namespace {

Error config_error(std::string message, std::string field) {
  return Error{ErrorCode::invalid_config, std::move(message), std::move(field)};
}

// Counts a dispatch() call between its look at `accepting` and its enqueue (see Engine::shutdown_now()).
class Admission {
 public:
  Admission(std::atomic<int>& dispatching, const std::atomic<bool>& accepting, Core& core)
      : dispatching_(dispatching), accepting_(accepting), core_(core) {
    enter();
  }
  ~Admission() { leave(); }
  Admission(const Admission&) = delete;
  Admission& operator=(const Admission&) = delete;

  void enter() {
    dispatching_.fetch_add(1, std::memory_order_seq_cst);
    inside_ = true;
  }
  void leave() {
    if (!inside_) return;
    inside_ = false;
    // The last call to leave after shutdown began tells the waiting shutdown().
    if (dispatching_.fetch_sub(1, std::memory_order_seq_cst) == 1 &&
        !accepting_.load(std::memory_order_seq_cst)) {
      { const std::lock_guard<std::mutex> lock(core_.wait_mutex); }
      core_.wait_cv.notify_all();
    }
  }

 private:
  std::atomic<int>& dispatching_;
  const std::atomic<bool>& accepting_;
  Core& core_;
  bool inside_ = false;
};

}  // namespace

Engine::Engine(DispatcherOptions options, EngineParts parts)
    : overflow_(options.overflow), block_timeout_(options.block_timeout), threaded_(parts.threads) {
  if (auto valid = options.retry.validate(); !valid) throw ConfigError(valid.error());
  if (auto valid = options.breaker.validate(); !valid) throw ConfigError(valid.error());
  if (options.io_threads > 64) {
    throw ConfigError(
        config_error("io_threads: must be between 1 and 64 (0: one per hardware thread)", "io_threads"));
  }
  if (options.max_pending == 0)
    throw ConfigError(config_error("max_pending: must be at least 1", "max_pending"));
  if (options.max_event_bytes == 0)
    throw ConfigError(config_error("max_event_bytes: must be at least 1", "max_event_bytes"));
  if (options.max_pending_bytes < options.max_event_bytes + Dispatcher::delivery_overhead_bytes) {
    throw ConfigError(config_error(
        "max_pending_bytes: must hold at least one event of max_event_bytes (" +
            std::to_string(options.max_event_bytes + Dispatcher::delivery_overhead_bytes) + " bytes)",
        "max_pending_bytes"));
  }
  if (options.block_timeout < milliseconds::zero()) {
    throw ConfigError(config_error(
        "block_timeout: must not be negative (milliseconds::max() waits without limit)", "block_timeout"));
  }
  auto network = make_network_policy(options.network);
  if (!network) {
    Error error = std::move(network).error();
    error.message.insert(0, "network.");
    error.field.insert(0, "network.");
    throw ConfigError(std::move(error));
  }
  network_ = std::move(network).value();
  // By default one loop per hardware thread (up to max_default_io_threads); one when turned by hand.
  const std::size_t loops = options.io_threads != 0 ? options.io_threads
                            : parts.threads ? std::clamp<std::size_t>(std::thread::hardware_concurrency(), 1,
                                                                      max_default_io_threads)
                                            : 1;
  auto clock = parts.clock ? parts.clock : std::make_shared<const Clock>();
  if (!parts.store && (options.store.backend || !options.store.path.empty())) {
    auto opened = open_store(options.store, clock);
    if (!opened) throw ConfigError(opened.error());
    parts.store = std::move(*opened);
  }
  core_ = std::make_unique<Core>(options, clock,
                                 parts.store ? std::move(parts.store) : std::make_unique<MemoryStore>());
  auto registered = std::make_shared<std::vector<Registered>>();
  for (Endpoint& endpoint : options.endpoints) {
    for (const Registered& existing : *registered) {
      if (existing.slot->name == endpoint.name) {
        throw ConfigError(config_error("endpoint \"" + endpoint.name + "\": name is used twice", "name"));
      }
    }
    auto config = std::make_shared<const EndpointConfig>(std::move(endpoint), core_->retry, loops);
    check_proxy(config->endpoint);
    registered->push_back(Registered{std::make_shared<EndpointSlot>(config, loops), config});
  }
  endpoints_ = std::move(registered);
  // What the store kept of each endpoint: a 410 pause, its breaker.
  apply_states(core_->store->endpoint_states());
  for (std::size_t i = 0; i < loops; ++i) {
    loops_.push_back(std::make_unique<IoLoop>(
        *core_, i, parts.transport ? parts.transport() : make_curl_transport(network_)));
  }
  // A durable store's final states come back to their loop once written, for the report.
  core_->store->on_committed = [this](std::vector<Final>& finals) {
    for (auto& loop : loops_) loop->committed(finals);
  };
  if (core_->shared) {
    DeliveryStore& store = *core_->store;
    store.on_claimed = [this](std::vector<Resumed>& claimed) {
      core_->counters.claimed.fetch_add(claimed.size(), std::memory_order_relaxed);
      place(std::move(claimed), true);
    };
    store.room = [this]() -> std::size_t {
      if (core_->shutting_down.load(std::memory_order_acquire)) return 0;
      const std::size_t pending = core_->pending.load(std::memory_order_acquire);
      return pending < core_->max_pending ? core_->max_pending - pending : 0;
    };
    store.endpoint_names = [this] {
      std::vector<std::string> names;
      for (const Registered& endpoint : *snapshot()) names.push_back(endpoint.slot->name);
      return names;
    };
    store.on_endpoint_states = [this](const std::vector<EndpointState>& states) { apply_states(states); };
    store.on_instances = [this](unsigned instances) {
      core_->instances.store(std::max(instances, 1U), std::memory_order_relaxed);
    };
  }
  auto resumed = core_->store->resume();
  if (!resumed) {
    core_->store->close();
    throw ConfigError(resumed.error());
  }
  core_->counters.recovered.fetch_add(resumed->size(), std::memory_order_relaxed);
  place(std::move(*resumed), false);
  if (threaded_) {
    for (auto& loop : loops_) {
      threads_.emplace_back([this, current = loop.get()] {
        io_loop_owner() = this;
        while (current->turn(true)) {
        }
      });
    }
  }
  core_->store->start();
}

Result<std::unique_ptr<DeliveryStore>> Engine::open_store(const StoreOptions& options,
                                                          std::shared_ptr<const Clock> clock) {
  if (options.backend) return options.backend->open(options, std::move(clock));
  for (const char* scheme : {"postgresql://", "postgres://"}) {
    if (options.path.rfind(scheme, 0) == 0) {
      return config_error(
          "store.path: a PostgreSQL URI needs the PostgreSQL store: link StatusStack::webhooks_postgres "
          "(find_package(StatusStackWebhooks COMPONENTS postgres)) and set store = "
          "statusstack::webhooks::postgres::store(uri)",
          "store.path");
    }
  }
  return open_sqlite_store(options, std::move(clock));
}

// Endpoint states a store kept (at start) or another instance wrote (shared): a 410 pause, the
// breaker. An endpoint disabled here ends its deliveries (the loops sweep on a new generation).
void Engine::apply_states(const std::vector<EndpointState>& states) {
  if (states.empty()) return;
  const auto registered = snapshot();
  bool disabled = false;
  for (const EndpointState& saved : states) {
    for (const Registered& endpoint : *registered) {
      EndpointSlot& slot = *endpoint.slot;
      if (slot.name != saved.name) continue;
      const bool off = saved.breaker == BreakerState::disabled;
      slot.gone.store(saved.gone, std::memory_order_relaxed);
      const bool was_off = slot.disabled.exchange(off, std::memory_order_acq_rel);
      if (off && !was_off) disabled = true;
      slot.breaker.restore(saved, core_->clock->now(), core_->clock->wall());
    }
  }
  if (disabled) {
    core_->generation.fetch_add(1, std::memory_order_acq_rel);
    for (auto& loop : loops_) loop->wake();
  }
}

Engine::~Engine() {
  // Normally shutdown() ran already: then this does nothing.
  shutdown_now(milliseconds::zero());
  if (!threaded_) {
    // Turned by hand: whatever is left ends now, whatever deadline shutdown() was given, and the
    // store's last writes come back for their reports.
    core_->shutdown_deadline.store(core_->clock->now().time_since_epoch().count(), std::memory_order_release);
    const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (turn() && std::chrono::steady_clock::now() < give_up) std::this_thread::yield();
  }
  core_->store->close();
}

std::shared_ptr<const std::vector<Engine::Registered>> Engine::snapshot() const {
  const std::lock_guard<std::mutex> lock(config_mutex_);
  return endpoints_;
}

void Engine::refuse_on_io_thread(const char* call) const {
  if (io_loop_owner() == this) {
    throw ConfigError(config_error(
        std::string(call) + " called from an on_report or on_attempt callback: it would wait for the "
                            "I/O thread that runs the callback",
        ""));
  }
}

Result<Accepted> Engine::dispatch(const Event& event) {
  Accepted accepted;
  if (auto done = accept(&event, 1, &accepted); !done) return done.error();
  return accepted;
}

Result<std::vector<Accepted>> Engine::dispatch_many(const std::vector<Event>& events) {
  std::vector<Accepted> accepted(events.size());
  if (events.empty()) return accepted;
  if (auto done = accept(events.data(), events.size(), accepted.data()); !done) return done.error();
  return accepted;
}

// Accepts `count` events (all or none): their deliveries are kept by the store, then handed to the
// loops; accepted[i] says what became of events[i].
Result<void> Engine::accept(const Event* events, std::size_t count, Accepted* accepted) {
  Core& core = *core_;
  Admission admission(dispatching_, accepting_, core);
  auto refused = [&core](Error error) {
    core.counters.refused_calls.fetch_add(1, std::memory_order_relaxed);
    return error;
  };
  if (!accepting_.load(std::memory_order_seq_cst)) {
    return refused(Error{ErrorCode::shut_down, "dispatcher is shut down: the event was not accepted", ""});
  }
  // An event a receiver would reject is refused here, where the caller can still fix it.
  for (std::size_t i = 0; i < count; ++i) {
    if (auto valid = validate_event(events[i]); !valid) {
      if (count == 1) return refused(valid.error());
      Error error = valid.error();
      const std::string at = "events[" + std::to_string(i) + "]";
      error.message = at + ": " + error.message + " (no event of the batch was accepted)";
      error.field = error.field.empty() ? at : at + "." + error.field;
      return refused(std::move(error));
    }
  }

  const auto endpoints = snapshot();
  struct Match {
    std::size_t event;
    const Registered* endpoint;
  };
  std::vector<Match> matching;
  matching.reserve(endpoints->size() * count);
  for (std::size_t i = 0; i < count; ++i) {
    const EventType type = type_of(events[i]);
    for (const Registered& endpoint : *endpoints) {
      if (endpoint.config->endpoint.events.matches(type)) matching.push_back(Match{i, &endpoint});
    }
  }
  if (matching.empty()) return {};

  // The JSON of each event that goes somewhere, written once and shared by its deliveries.
  std::vector<std::shared_ptr<const EventRecord>> records(count);
  std::size_t bytes = 0;
  for (const Match& match : matching) {
    auto& record = records[match.event];
    if (!record) {
      auto made = std::make_shared<EventRecord>();
      made->type = type_of(events[match.event]);
      made->json = to_json(events[match.event]);
      if (made->json.size() > core.max_event_bytes) {
        std::string at = count == 1 ? "event" : "events[" + std::to_string(match.event) + "]";
        return refused(Error{ErrorCode::event_too_large,
                             at + ": " + std::to_string(made->json.size()) +
                                 " bytes of JSON, more than max_event_bytes (" +
                                 std::to_string(core.max_event_bytes) + "): the event was not accepted",
                             "max_event_bytes"});
      }
      // Queued deliveries keep the JSON for minutes or hours: not the writer's spare capacity.
      if (made->json.capacity() > made->json.size() + 128) made->json.shrink_to_fit();
      record = std::move(made);
    }
    bytes += record->json.size() + Dispatcher::delivery_overhead_bytes;
  }

  // A shared queue keeps the deliveries in the database, not here: no room to take.
  if (Core::Room first = core.shared ? Core::Room::taken : core.reserve(matching.size(), bytes);
      first != Core::Room::taken) {
    bool room = false;  // reserved: the room is ours, to use or to give back
    // On an I/O thread (from a callback) waiting for room would hold up the thread that makes it.
    if (overflow_ == OverflowPolicy::block && io_loop_owner() != this) {
      admission.leave();  // a blocked caller must not hold up shutdown()
      core.waiters.fetch_add(1, std::memory_order_seq_cst);
      {
        std::unique_lock<std::mutex> lock(core.wait_mutex);
        // Woken by shutdown() without room, or with room: only the second reserved anything.
        wait_for(core.wait_cv, lock, block_timeout_, [&] {
          first = core.reserve(matching.size(), bytes);
          room = first == Core::Room::taken;
          return room || !accepting_.load(std::memory_order_seq_cst);
        });
      }
      core.waiters.fetch_sub(1, std::memory_order_seq_cst);
      admission.enter();
      if (!accepting_.load(std::memory_order_seq_cst)) {
        if (room) core.release(matching.size(), bytes);  // reserved just as shutdown began: give it back
        return refused(
            Error{ErrorCode::shut_down, "dispatcher is shut down: the event was not accepted", ""});
      }
    }
    if (!room) {
      const std::string limit = first == Core::Room::no_bytes
                                    ? "max_pending_bytes " + std::to_string(core.max_pending_bytes)
                                    : "max_pending " + std::to_string(core.max_pending);
      return refused(
          Error{ErrorCode::queue_full, "queue is full (" + limit + "): the event was not accepted", ""});
    }
  }

  const WallTime now = core.clock->wall();
  const SteadyTime now_steady = core.clock->now();
  std::vector<std::unique_ptr<Delivery>> deliveries;
  deliveries.reserve(matching.size());
  for (const Match& match : matching) {
    auto delivery = std::make_unique<Delivery>();
    delivery->id = new_delivery_id();
    delivery->endpoint = match.endpoint->slot;
    delivery->event = records[match.event];
    delivery->charged_bytes = delivery->event->json.size() + Dispatcher::delivery_overhead_bytes;
    delivery->accepted_at = now;
    delivery->accepted_steady = now_steady;
    assign_order_key(*match.endpoint->config, events[match.event], *delivery);
    deliveries.push_back(std::move(delivery));
  }
  // With a durable store: committed before the caller hears of them.
  if (auto kept = core.store->admit(deliveries); !kept) {
    if (!core.shared) core.release(matching.size(), bytes);
    return refused(kept.error());
  }
  // Counted before a loop can report them: stats() never shows more final than accepted.
  core.counters.accepted.fetch_add(matching.size(), std::memory_order_relaxed);
  for (std::size_t m = 0; m < matching.size(); ++m) {
    const Registered& endpoint = *matching[m].endpoint;
    accepted[matching[m].event].deliveries.push_back({endpoint.slot->name, deliveries[m]->id.str()});
    if (core.shared) continue;  // an instance claims them from the queue
    const std::size_t loop = endpoint.slot->pick_lane(*endpoint.config, *deliveries[m]);
    endpoint.slot->queued.fetch_add(1, std::memory_order_relaxed);
    loops_[loop]->enqueue(std::move(deliveries[m]));
  }
  return {};
}

// Deliveries the store gives back (at start, or redelivered): bound to their endpoint by name (one
// that no longer exists ends as endpoint_removed), with max_age counting from `budget_from`.
void Engine::place(std::vector<Resumed> resumed, bool started) {
  if (resumed.empty()) return;
  Core& core = *core_;
  // Beyond max_pending and max_pending_bytes if need be: nothing in the file is dropped. A resumed
  // delivery's body stays in the file until its attempt; a claimed one carries it.
  std::size_t bytes = 0;
  for (const Resumed& r : resumed) {
    r.delivery->charged_bytes = Dispatcher::delivery_overhead_bytes + r.delivery->event->json.size();
    bytes += r.delivery->charged_bytes;
  }
  core.pending.fetch_add(resumed.size(), std::memory_order_acq_rel);
  core.pending_bytes.fetch_add(bytes, std::memory_order_acq_rel);
  const auto registered = snapshot();
  const WallTime now = core.clock->wall();
  const SteadyTime now_steady = core.clock->now();
  std::vector<std::shared_ptr<EndpointSlot>> removed;
  for (Resumed& r : resumed) {
    const Registered* endpoint = nullptr;
    for (const Registered& candidate : *registered) {
      if (candidate.slot->name == r.endpoint) endpoint = &candidate;
    }
    Delivery& delivery = *r.delivery;
    delivery.accepted_steady = now_steady - std::max(now - r.budget_from, WallTime::duration::zero());
    std::size_t loop = 0;
    if (endpoint != nullptr) {
      delivery.endpoint = endpoint->slot;
      loop = endpoint->slot->pick_lane(*endpoint->config, delivery);
    } else {
      auto known =
          std::find_if(removed.begin(), removed.end(),
                       [&](const std::shared_ptr<EndpointSlot>& slot) { return slot->name == r.endpoint; });
      if (known == removed.end()) {
        removed.push_back(std::make_shared<EndpointSlot>(r.endpoint, loops_.size()));
        known = removed.end() - 1;
      }
      delivery.endpoint = *known;
    }
    delivery.endpoint->queued.fetch_add(1, std::memory_order_relaxed);
    if (started) {
      loops_[loop]->enqueue(std::move(r.delivery));
    } else {
      const auto wait =
          std::chrono::duration_cast<SteadyTime::duration>(std::max(r.due - now, WallTime::duration::zero()));
      loops_[loop]->resume(std::move(r.delivery), now_steady + wait);
    }
  }
}

void Engine::prune() { core_->store->prune(); }

Result<std::vector<StoredDelivery>> Engine::deliveries(const DeliveryQuery& query) const {
  return core_->store->query(query);
}

Result<std::size_t> Engine::redeliver(const std::vector<std::string>& ids) {
  Admission admission(dispatching_, accepting_, *core_);
  if (!accepting_.load(std::memory_order_seq_cst)) {
    return Error{ErrorCode::shut_down, "dispatcher is shut down: nothing was redelivered", ""};
  }
  auto again = core_->store->redeliver(ids);
  if (!again) return again.error();
  const std::size_t count = again->size();
  core_->counters.redelivered.fetch_add(count, std::memory_order_relaxed);
  place(std::move(*again), true);
  return count;
}

Result<std::size_t> Engine::redeliver(const DeliveryQuery& query) {
  auto ids = core_->store->failed_ids(query);
  if (!ids) return ids.error();
  return redeliver(*ids);
}

void Engine::check_proxy(const Endpoint& endpoint) const {
  if (auto allowed = check_proxy_allowed(endpoint.options, *network_); !allowed) {
    Error error = allowed.error();
    error.message = "endpoint \"" + endpoint.name + "\": " + error.message;
    throw ConfigError(std::move(error));
  }
}

void Engine::upsert_endpoint(Endpoint endpoint) {
  auto config = std::make_shared<const EndpointConfig>(std::move(endpoint), core_->retry, loops_.size());
  check_proxy(config->endpoint);
  {
    const std::lock_guard<std::mutex> lock(config_mutex_);
    auto next = std::make_shared<std::vector<Registered>>(*endpoints_);
    bool replaced = false;
    for (Registered& existing : *next) {
      if (existing.slot->name != config->endpoint.name) continue;
      // Deliveries stay bound to the slot: their later attempts use the new settings. A slot paused
      // by a 410 Gone resumes; one disabled by its breaker starts afresh.
      EndpointSlot& slot = *existing.slot;
      slot.replace(config);
      const bool was_gone = slot.gone.exchange(false, std::memory_order_relaxed);
      const bool was_disabled = slot.disabled.load(std::memory_order_relaxed);
      if (was_disabled) {
        slot.breaker.reset();
        slot.disabled.store(false, std::memory_order_release);
      }
      if (was_gone || was_disabled) {
        core_->store->save_endpoint(slot.state(core_->clock->now(), core_->clock->wall()));
      }
      existing.config = config;
      replaced = true;
    }
    if (!replaced) next->push_back(Registered{std::make_shared<EndpointSlot>(config, loops_.size()), config});
    endpoints_ = std::move(next);
  }
  core_->generation.fetch_add(1, std::memory_order_acq_rel);
  for (auto& loop : loops_) loop->wake();
}

bool Engine::remove_endpoint(std::string_view name) {
  {
    const std::lock_guard<std::mutex> lock(config_mutex_);
    auto next = std::make_shared<std::vector<Registered>>();
    bool found = false;
    for (const Registered& existing : *endpoints_) {
      if (existing.slot->name == name) {
        existing.slot->removed.store(true, std::memory_order_release);
        found = true;
      } else {
        next->push_back(existing);
      }
    }
    if (!found) return false;
    endpoints_ = std::move(next);
  }
  core_->generation.fetch_add(1, std::memory_order_acq_rel);
  for (auto& loop : loops_) loop->wake();
  return true;
}

std::vector<Endpoint> Engine::endpoints() const {
  const auto registered = snapshot();
  std::vector<Endpoint> result;
  result.reserve(registered->size());
  for (const Registered& endpoint : *registered) result.push_back(endpoint.config->endpoint);
  return result;
}

bool Engine::flush(milliseconds timeout) {
  refuse_on_io_thread("flush()");
  Core& core = *core_;
  if (core.shared) return flush_shared(timeout);
  core.waiters.fetch_add(1, std::memory_order_seq_cst);
  bool done = false;
  {
    std::unique_lock<std::mutex> lock(core.wait_mutex);
    done = wait_for(core.wait_cv, lock, timeout,
                    [&] { return core.pending.load(std::memory_order_acquire) == 0; });
  }
  core.waiters.fetch_sub(1, std::memory_order_seq_cst);
  return done;
}

// A shared queue is flushed when nothing is pending in it, whichever instance holds what: this
// instance's deliveries are looked at as they end, the queue every few milliseconds.
bool Engine::flush_shared(milliseconds timeout) {
  const auto give_up = later(std::chrono::steady_clock::now(), timeout);
  constexpr milliseconds look_every{20};
  for (;;) {
    if (core_->pending.load(std::memory_order_acquire) == 0) {
      if (auto drained = core_->store->drained(); drained && *drained) return true;
    }
    const auto now = std::chrono::steady_clock::now();
    if (now >= give_up) return false;
    std::this_thread::sleep_for(std::min<std::chrono::steady_clock::duration>(look_every, give_up - now));
  }
}

void Engine::shutdown(milliseconds deadline) {
  refuse_on_io_thread("shutdown()");
  shutdown_now(deadline);
}

void Engine::shutdown_now(milliseconds deadline) {
  Core& core = *core_;
  const std::lock_guard<std::mutex> guard(shutdown_mutex_);
  if (shut_down_) return;
  shut_down_ = true;
  accepting_.store(false, std::memory_order_seq_cst);
  core.store->stop_claiming();  // a shared store claims nothing more
  {
    // A dispatch() that saw `accepting_` true is about to enqueue: let it, so that nothing is lost.
    // Blocked producers wake up (and leave) too.
    std::unique_lock<std::mutex> lock(core.wait_mutex);
    core.wait_cv.notify_all();
    core.wait_cv.wait(lock, [&] { return dispatching_.load(std::memory_order_seq_cst) == 0; });
  }
  core.shutdown_deadline.store(later(core.clock->now(), deadline).time_since_epoch().count(),
                               std::memory_order_release);
  core.shutting_down.store(true, std::memory_order_release);
  // Turned by hand, the loops go on as the caller turns them (until turn() returns false).
  if (threaded_) {
    for (auto& loop : loops_) loop->wake();
    for (auto& thread : threads_) thread.join();
    core.store->close();  // the file is free for the next Dispatcher
  }
  { const std::lock_guard<std::mutex> lock(core.wait_mutex); }
  core.wait_cv.notify_all();
}

bool Engine::turn() {
  bool busy = false;
  for (auto& loop : loops_) busy = loop->turn(false) || busy;
  return busy;
}

DispatcherStats Engine::stats() const {
  const Counters& c = core_->counters;
  DispatcherStats stats;
  stats.accepted = c.accepted.load(std::memory_order_relaxed);
  stats.delivered = c.delivered.load(std::memory_order_relaxed);
  stats.failed = c.failed.load(std::memory_order_relaxed);
  for (std::size_t i = 0; i < stats.failed_by_reason.size(); ++i) {
    stats.failed_by_reason[i] = c.failed_by_reason[i].load(std::memory_order_relaxed);
  }
  stats.refused_calls = c.refused_calls.load(std::memory_order_relaxed);
  stats.attempts = c.attempts.load(std::memory_order_relaxed);
  stats.retries = c.retries.load(std::memory_order_relaxed);
  stats.in_flight = c.in_flight.load(std::memory_order_relaxed);
  const std::uint64_t pending = core_->pending.load(std::memory_order_relaxed);
  stats.queued = pending > stats.in_flight ? pending - stats.in_flight : 0;
  stats.pending_bytes = core_->pending_bytes.load(std::memory_order_relaxed);
  stats.callback_errors = c.callback_errors.load(std::memory_order_relaxed);
  stats.recovered = c.recovered.load(std::memory_order_relaxed);
  stats.redelivered = c.redelivered.load(std::memory_order_relaxed);
  stats.parked = c.parked.load(std::memory_order_relaxed);
  stats.claimed = c.claimed.load(std::memory_order_relaxed);
  stats.taken_over = c.taken_over.load(std::memory_order_relaxed);
  stats.instances = core_->instances.load(std::memory_order_relaxed);
  stats.store_errors = core_->store->errors();
  stats.io_threads = static_cast<unsigned>(loops_.size());
  for (std::size_t i = 0; i < stats.latency_buckets.size(); ++i) {
    stats.latency_buckets[i] = c.latency_buckets[i].load(std::memory_order_relaxed);
  }
  stats.latency_sum_ms = static_cast<double>(c.latency_sum_us.load(std::memory_order_relaxed)) / 1000.0;
  const auto registered = snapshot();
  const SteadyTime now = core_->clock->now();
  const WallTime wall = core_->clock->wall();
  stats.endpoints.reserve(registered->size());
  for (const Registered& endpoint : *registered) stats.endpoints.push_back(endpoint.slot->health(now, wall));
  return stats;
}

std::optional<EndpointHealth> Engine::health(std::string_view name) const {
  const auto registered = snapshot();
  for (const Registered& endpoint : *registered) {
    if (endpoint.slot->name == name) return endpoint.slot->health(core_->clock->now(), core_->clock->wall());
  }
  return std::nullopt;
}

}  // namespace detail

struct Dispatcher::Impl {
  explicit Impl(DispatcherOptions options) : engine(std::move(options), detail::EngineParts{}) {}
  detail::Engine engine;
};

Dispatcher::Dispatcher(DispatcherOptions options) : impl_(std::make_unique<Impl>(std::move(options))) {}
Dispatcher::~Dispatcher() { shutdown(); }
Result<Accepted> Dispatcher::dispatch(const Event& event) { return impl_->engine.dispatch(event); }
Result<std::vector<Accepted>> Dispatcher::dispatch_many(const std::vector<Event>& events) {
  return impl_->engine.dispatch_many(events);
}
Result<std::vector<StoredDelivery>> Dispatcher::deliveries(const DeliveryQuery& query) const {
  return impl_->engine.deliveries(query);
}
Result<std::size_t> Dispatcher::redeliver(const std::vector<std::string>& ids) {
  return impl_->engine.redeliver(ids);
}
Result<std::size_t> Dispatcher::redeliver(const DeliveryQuery& query) {
  return impl_->engine.redeliver(query);
}
void Dispatcher::upsert_endpoint(Endpoint endpoint) { impl_->engine.upsert_endpoint(std::move(endpoint)); }
bool Dispatcher::remove_endpoint(std::string_view name) { return impl_->engine.remove_endpoint(name); }
std::vector<Endpoint> Dispatcher::endpoints() const { return impl_->engine.endpoints(); }
bool Dispatcher::flush(std::chrono::milliseconds timeout) { return impl_->engine.flush(timeout); }
void Dispatcher::shutdown(std::chrono::milliseconds deadline) { impl_->engine.shutdown(deadline); }
DispatcherStats Dispatcher::stats() const { return impl_->engine.stats(); }
std::optional<EndpointHealth> Dispatcher::health(std::string_view endpoint) const {
  return impl_->engine.health(endpoint);
}

}  // namespace statusstack::webhooks
