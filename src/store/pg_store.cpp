// The PostgreSQL store: one queue of deliveries that every instance of the host shares (the SQL is
// in pg_queue.cpp). A Dispatcher on it works like this:
//
//   dispatch()   the writer thread inserts the rows (group commit, like the SQLite store) and
//                NOTIFY wakes idle instances; nothing is handed to this instance's loops. The
//                writer also renews the leases of what this instance holds, every third of a lease
//   claimer      its own thread and connection: claims due rows in batches (up to max_claimed
//                held at once, and only for endpoints this instance has), hands them to the loops
//                (on_claimed), reads endpoint states others wrote and counts the live instances
//                every second, and sleeps on LISTEN, the poll interval, or a wake-up when room frees
//   an attempt   ends in finish() (fenced by the claim number: a delivery another instance took
//                over comes back fenced, without a report here), or reschedule() (back to the
//                queue as a pending row, due at its retry, for any instance)
//   shutdown     what the loops still hold is given back (due now) for the other instances
//
// Times in the table are Unix milliseconds of the Engine's wall clock.

#include <statusstack/webhooks/postgres.hpp>

#include "dispatch/core.hpp"
#include "dispatch/endpoints.hpp"
#include "dispatch/store.hpp"
#include "store/pg_queue.hpp"

#include <libpq-fe.h>

#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <condition_variable>
#include <limits>
#include <mutex>
#include <random>
#include <thread>
#include <unordered_map>

namespace statusstack::webhooks {

namespace detail::pg {

namespace {

constexpr std::size_t prune_batch = 500;
constexpr std::int64_t look_every_ms = 1000;  // endpoint states and the live instances
constexpr auto prune_every = std::chrono::minutes(1);

std::int64_t to_ms(WallTime time) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(time.time_since_epoch()).count();
}
WallTime from_ms(std::int64_t ms) { return WallTime(std::chrono::milliseconds(ms)); }

// What an attempt's end writes of a delivery.
Outcome outcome_of(const Delivery& delivery) {
  Outcome outcome;
  outcome.attempts = delivery.attempts;
  outcome.last_status = delivery.last().status;
  if (delivery.attempts > 0) outcome.last_error = delivery.last().describe();
  outcome.signed_at = delivery.signed_at;
  outcome.first_attempt_at = delivery.first_attempt_at == WallTime{} ? 0 : to_ms(delivery.first_attempt_at);
  outcome.last_attempt_at = delivery.last_attempt_at == WallTime{} ? 0 : to_ms(delivery.last_attempt_at);
  return outcome;
}

EndpointRow row_of(const EndpointState& state) {
  EndpointRow row;
  row.name = state.name;
  row.gone = state.gone;
  row.breaker = to_string(state.breaker);
  row.failures = state.failures;
  row.opened = state.opened;
  row.failing_since = state.failing_since == WallTime{} ? 0 : to_ms(state.failing_since);
  row.open_until = state.open_until == WallTime{} ? 0 : to_ms(state.open_until);
  row.last_error = state.last_error;
  return row;
}

EndpointState state_of(const EndpointRow& row) {
  EndpointState state;
  state.name = row.name;
  state.gone = row.gone;
  state.breaker = breaker_state_from_string(row.breaker).value_or(BreakerState::closed);
  state.failures = std::clamp(row.failures, 0, 1'000'000'000);
  state.opened = std::clamp(row.opened, 0, 1'000'000);
  if (row.failing_since > 0) state.failing_since = from_ms(row.failing_since);
  if (row.open_until > 0) state.open_until = from_ms(row.open_until);
  state.last_error = row.last_error;
  return state;
}

// A claimed row as the Engine takes it: the event's JSON in hand, the last outcome restored (a
// report of a delivery that ends before another attempt tells it).
Resumed resumed_of(ClaimedRow& row, WallTime now) {
  auto delivery = std::make_unique<Delivery>();
  delivery->id = row.id;
  auto record = std::make_shared<EventRecord>();
  record->type = parse_event_type(row.event_type).value_or(EventType{});
  record->json = std::move(row.event);
  delivery->event = std::move(record);
  if (row.keyed) delivery->order.set(std::move(row.order_key));
  delivery->attempts = std::clamp(row.outcome.attempts, 0, std::numeric_limits<int>::max() - 1);
  delivery->accepted_at = from_ms(row.accepted_at);
  delivery->signed_at = row.outcome.signed_at;
  if (row.outcome.first_attempt_at > 0) delivery->first_attempt_at = from_ms(row.outcome.first_attempt_at);
  if (row.outcome.last_attempt_at > 0) delivery->last_attempt_at = from_ms(row.outcome.last_attempt_at);
  if (delivery->attempts > 0) {
    delivery->record_attempt().outcome = restored_outcome(row.outcome.last_status, row.outcome.last_error);
  }
  Resumed resumed;
  resumed.delivery = std::move(delivery);
  resumed.endpoint = std::move(row.endpoint);
  resumed.budget_from = from_ms(row.budget_from);
  resumed.due = now;
  return resumed;
}

template <class Row>
void sort_by_id(std::vector<Row>& rows) {
  std::sort(rows.begin(), rows.end(), [](const Row& a, const Row& b) { return a.id < b.id; });
}

// This instance's name in the table: host, process and a random part (a restarted process with the
// same pid is another instance).
std::string make_owner() {
  std::array<char, 256> host{};
  if (::gethostname(host.data(), host.size() - 1) != 0) host[0] = '\0';
  std::random_device random;
  const auto tag = (static_cast<std::uint64_t>(random()) << 32U) ^ random();
  std::string owner = std::string(host.data()) + ":" + std::to_string(::getpid()) + ":";
  constexpr std::string_view hex = "0123456789abcdef";
  for (int shift = 0; shift < 32; shift += 4) owner += hex[(tag >> shift) & 0xFU];
  return owner;
}

class PgStore final : public DeliveryStore {
 public:
  PgStore(postgres::QueueSettings settings, const StoreOptions& options, std::shared_ptr<const Clock> clock,
          std::unique_ptr<Queue> writer, std::unique_ptr<Queue> claimer)
      : settings_(std::move(settings)),
        options_(options),
        clock_(std::move(clock)),
        owner_(make_owner()),
        writer_queue_(std::move(writer)),
        claimer_queue_(std::move(claimer)),
        wake_fd_(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) {}
  ~PgStore() override { close(); }
  PgStore(const PgStore&) = delete;
  PgStore& operator=(const PgStore&) = delete;

  bool durable() const noexcept override { return true; }
  bool shared() const noexcept override { return true; }
  std::vector<EndpointState> endpoint_states() override;
  void start() override;
  void stop_claiming() override;
  Result<void> admit(const std::vector<std::unique_ptr<Delivery>>& deliveries) override;
  void reschedule(const Delivery& delivery, WallTime due) override;
  void finish(Final final) override;
  void release(const Delivery& delivery) override;
  void save_endpoint(const EndpointState& state) override;
  Result<bool> drained() override {
    return run_task([this] { return writer_queue_->drained(); });
  }
  Result<std::vector<StoredDelivery>> query(const DeliveryQuery& query) override {
    return run_task([&] { return writer_queue_->list(query); });
  }
  Result<std::vector<std::string>> failed_ids(const DeliveryQuery& query) override {
    return run_task([&] { return writer_queue_->failed_ids(query); });
  }
  Result<std::vector<Resumed>> redeliver(const std::vector<std::string>& ids) override;
  void prune() override {
    auto pruned = run_task([this]() -> Result<void> {
      for (;;) {
        auto removed = prune_step();
        if (!removed) return removed.error();
        if (*removed < static_cast<std::int64_t>(prune_batch)) return {};
      }
    });
    if (!pruned) errors_.fetch_add(1, std::memory_order_relaxed);
  }
  void close() override;
  std::uint64_t errors() const noexcept override { return errors_.load(std::memory_order_relaxed); }

 private:
  // One dispatch() call's deliveries, waiting for their commit.
  struct Admission {
    const std::vector<std::unique_ptr<Delivery>>* deliveries;
    bool done = false;
    std::optional<Error> error;
    std::condition_variable committed;
  };
  // Work for the writer: swapped out whole at the start of each transaction.
  struct Work {
    std::vector<Admission*> admissions;
    std::vector<RetryRow> retries;
    std::vector<Final> finals;
    std::vector<FinalRow> final_rows;  // finals[i]'s row, or none (empty id) when it held no claim
    std::vector<Held> releases;
    std::vector<EndpointState> endpoints;
    std::vector<std::function<void()>> tasks;
    bool empty() const {
      return admissions.empty() && retries.empty() && finals.empty() && releases.empty() &&
             endpoints.empty() && tasks.empty();
    }
  };

  void write_loop();
  Result<void> write(Work& work, bool with_admissions);
  void claim_loop();
  bool claim_some(std::int64_t now);
  void look_around(std::int64_t now);
  void renew(std::int64_t now);
  Result<std::int64_t> prune_step();
  void wake_claimer() const {
    const std::uint64_t one = 1;
    static_cast<void>(::write(wake_fd_, &one, sizeof one));
  }
  // Takes this instance's claim on `id` away; 0 when it held none.
  std::int64_t take_claim(std::string_view id) {
    const auto found = held_.find(std::string(id));
    if (found == held_.end()) return 0;
    const std::int64_t claim = found->second;
    held_.erase(found);
    if (starved_.exchange(false, std::memory_order_acq_rel)) wake_claimer();
    return claim;
  }
  void queue_work() { work_cv_.notify_one(); }

  template <class Task>
  auto run_task(Task task) -> decltype(task()) {
    std::optional<decltype(task())> result;
    bool done = false;
    {
      std::unique_lock<std::mutex> lock(mutex_);
      if (closed_) return Error{ErrorCode::shut_down, "store " + options_.path + ": closed", "store"};
      work_.tasks.emplace_back([&] {
        auto value = task();
        const std::lock_guard<std::mutex> guard(mutex_);
        result.emplace(std::move(value));
        done = true;
      });
      queue_work();
      done_cv_.wait(lock, [&] { return done; });
    }
    return std::move(*result);
  }

  const postgres::QueueSettings settings_;
  const StoreOptions options_;
  const std::shared_ptr<const Clock> clock_;
  const std::string owner_;
  std::unique_ptr<Queue> writer_queue_;   // the writer thread's connection
  std::unique_ptr<Queue> claimer_queue_;  // the claimer thread's (it LISTENs)
  const int wake_fd_;

  std::mutex mutex_;
  std::condition_variable work_cv_;
  std::condition_variable done_cv_;
  Work work_;
  std::unordered_map<std::string, std::int64_t> held_;  // claimed here, not final: id -> claim number
  std::unordered_map<std::string, std::int64_t> written_versions_;  // endpoint states written here
  bool closing_ = false;
  bool closed_ = false;
  std::thread writer_;
  std::thread claimer_;
  std::atomic<bool> claiming_{false};
  std::atomic<bool> starved_{false};  // the claimer waits for room: the next final wakes it
  std::atomic<std::uint64_t> errors_{0};
  WallTime next_prune_{};

  std::int64_t next_renew_ = 0;  // the writer's

  // The claimer's own state.
  std::unordered_map<std::string, std::int64_t> seen_versions_;  // endpoint states applied
  std::int64_t next_look_ = 0;
};

std::vector<EndpointState> PgStore::endpoint_states() {
  // At start, before the threads: the writer's connection is this thread's.
  auto rows = writer_queue_->endpoints();
  if (!rows) {
    errors_.fetch_add(1, std::memory_order_relaxed);
    return {};
  }
  std::vector<EndpointState> states;
  for (const EndpointRow& row : *rows) {
    seen_versions_[row.name] = row.version;
    states.push_back(state_of(row));
  }
  return states;
}

void PgStore::start() {
  writer_ = std::thread([this] { write_loop(); });
  claiming_.store(true, std::memory_order_release);
  claimer_ = std::thread([this] { claim_loop(); });
}

void PgStore::stop_claiming() {
  if (!claimer_.joinable()) return;
  claiming_.store(false, std::memory_order_release);
  wake_claimer();
  claimer_.join();
}

Result<void> PgStore::admit(const std::vector<std::unique_ptr<Delivery>>& deliveries) {
  Admission admission{&deliveries, false, std::nullopt, {}};
  std::unique_lock<std::mutex> lock(mutex_);
  if (closed_ || !writer_.joinable()) {
    return Error{ErrorCode::shut_down, "store " + options_.path + ": closed", "store"};
  }
  work_.admissions.push_back(&admission);
  queue_work();
  admission.committed.wait(lock, [&] { return admission.done; });
  if (admission.error) return *admission.error;
  return {};
}

void PgStore::reschedule(const Delivery& delivery, WallTime due) {
  const std::lock_guard<std::mutex> lock(mutex_);
  const std::int64_t claim = take_claim(delivery.id.view());
  if (claim == 0) return;  // not ours any more: the instance that took it over retries it
  work_.retries.push_back(RetryRow{delivery.id.str(), claim, to_ms(due), outcome_of(delivery)});
  queue_work();
}

void PgStore::finish(Final final) {
  const Delivery& d = *final.delivery;
  FinalRow row;
  row.delivered = final.delivered;
  row.outcome = outcome_of(d);
  if (!final.delivered) {
    row.reason = to_string(final.reason);
    row.detail = Core::explain(d, final.reason);
  }
  const std::lock_guard<std::mutex> lock(mutex_);
  row.claim = take_claim(d.id.view());
  if (row.claim != 0) row.id = d.id.str();
  work_.final_rows.push_back(std::move(row));
  work_.finals.push_back(std::move(final));
  queue_work();
}

void PgStore::release(const Delivery& delivery) {
  const std::lock_guard<std::mutex> lock(mutex_);
  const std::int64_t claim = take_claim(delivery.id.view());
  if (claim == 0) return;
  work_.releases.push_back(Held{delivery.id.str(), claim});
  queue_work();
}

void PgStore::save_endpoint(const EndpointState& state) {
  const std::lock_guard<std::mutex> lock(mutex_);
  work_.endpoints.push_back(state);
  queue_work();
}

Result<std::vector<Resumed>> PgStore::redeliver(const std::vector<std::string>& ids) {
  return run_task([&]() -> Result<std::vector<Resumed>> {
    const WallTime now = clock_->wall();
    auto rows = writer_queue_->redeliver_claimed(ids, to_ms(now), settings_.lease.count(), owner_);
    if (!rows) return rows.error();
    std::vector<Resumed> again;
    const std::lock_guard<std::mutex> lock(mutex_);
    for (ClaimedRow& row : *rows) {
      held_[row.id] = row.claim;
      again.push_back(resumed_of(row, now));
    }
    return again;
  });
}

void PgStore::close() {
  stop_claiming();
  {
    const std::lock_guard<std::mutex> lock(mutex_);
    if (closed_) return;
    closing_ = true;
    queue_work();
  }
  if (writer_.joinable()) writer_.join();  // it writes what is queued first
  std::vector<Held> left;
  {
    const std::lock_guard<std::mutex> lock(mutex_);
    closed_ = true;
    for (const auto& [id, claim] : held_) left.push_back(Held{id, claim});
    held_.clear();
  }
  // Whatever is still held goes back to the queue at once, for the other instances.
  if (auto released = writer_queue_->release(left, to_ms(clock_->wall())); !released) {
    errors_.fetch_add(1, std::memory_order_relaxed);
  }
  static_cast<void>(writer_queue_->leave(owner_));
  writer_queue_.reset();
  claimer_queue_.reset();
  if (wake_fd_ >= 0) ::close(wake_fd_);
}

void PgStore::write_loop() {
  std::unique_lock<std::mutex> lock(mutex_);
  for (;;) {
    const auto until_renewal = std::chrono::milliseconds(
        std::clamp<std::int64_t>(next_renew_ - to_ms(clock_->wall()), 0, std::int64_t{1000}));
    work_cv_.wait_for(lock, until_renewal, [&] { return closing_ || !work_.empty(); });
    if (work_.empty() && closing_) return;
    if (to_ms(clock_->wall()) >= next_renew_) {
      lock.unlock();
      renew(to_ms(clock_->wall()));
      lock.lock();
    }
    Work work;
    std::swap(work, work_);
    lock.unlock();

    if (writer_queue_->broken() && !writer_queue_->reconnect())
      errors_.fetch_add(1, std::memory_order_relaxed);
    for (auto& task : work.tasks) task();
    const bool changes = !work.admissions.empty() || !work.retries.empty() || !work.finals.empty() ||
                         !work.releases.empty() || !work.endpoints.empty();
    if (changes) {
      if (auto written = write(work, true); !written) {
        // Nothing of the transaction is in the table. Each dispatch() call's rows get their own
        // transaction now, so that one that cannot be written refuses only its own call.
        errors_.fetch_add(1, std::memory_order_relaxed);
        for (Admission* admission : work.admissions) {
          Work alone;
          alone.admissions.push_back(admission);
          if (auto kept = write(alone, true); !kept) admission->error = kept.error();
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
    if (work_.empty() && clock_->wall() >= next_prune_) {
      lock.unlock();
      auto removed = prune_step();
      if (!removed) errors_.fetch_add(1, std::memory_order_relaxed);
      const bool more = removed && *removed == static_cast<std::int64_t>(prune_batch);
      next_prune_ = more ? clock_->wall() : clock_->wall() + prune_every;
      lock.lock();
    }
  }
}

// One transaction: the admissions (when `with_admissions`), retries, final states, releases and
// endpoint states. Final states another instance took over are marked fenced.
Result<void> PgStore::write(Work& work, bool with_admissions) {
  Queue& queue = *writer_queue_;
  if (auto begun = queue.begin(); !begun) return begun;
  auto failed = [&queue](Error error) -> Result<void> {
    queue.rollback();
    return error;
  };
  const std::int64_t now = to_ms(clock_->wall());
  if (with_admissions && !work.admissions.empty()) {
    std::vector<NewRow> rows;
    for (const Admission* admission : work.admissions) {
      for (const auto& delivery : *admission->deliveries) {
        NewRow row;
        row.id = delivery->id.str();
        row.endpoint = delivery->endpoint->name;
        row.event_type = to_string(delivery->event->type);
        row.event = delivery->event->json;
        if (delivery->order.keyed()) row.order_key = delivery->order.get();
        row.accepted_at = to_ms(delivery->accepted_at);
        row.due_at = row.accepted_at;
        rows.push_back(std::move(row));
      }
    }
    if (auto inserted = queue.insert(rows); !inserted) return failed(inserted.error());
  }
  // Rows in one order (by id) in every statement: instances whose batches overlap (a stalled one
  // and the one that took over) lock them in the same order, and cannot deadlock.
  sort_by_id(work.retries);
  sort_by_id(work.releases);
  if (auto retried = queue.retry(work.retries); !retried) return failed(retried.error());
  std::vector<FinalRow> claimed;
  for (const FinalRow& row : work.final_rows) {
    if (!row.id.empty()) claimed.push_back(row);
  }
  sort_by_id(claimed);
  auto fenced = queue.finish(claimed, now, options_.delivered_retention.count() <= 0);
  if (!fenced) return failed(fenced.error());
  if (auto released = queue.release(work.releases, now); !released) return failed(released.error());
  // A final keyed delivery lets the next one of its key be claimed, and a released one is due now:
  // the instances look at once rather than at their next poll (a key's deliveries would go one per
  // poll interval).
  const bool key_freed = std::any_of(work.finals.begin(), work.finals.end(),
                                     [](const Final& final) { return final.delivery->order.keyed(); });
  if (key_freed || !work.releases.empty()) {
    if (auto notified = queue.notify(); !notified) return failed(notified.error());
  }
  std::vector<std::pair<std::string, std::int64_t>> versions;
  for (const EndpointState& state : work.endpoints) {
    auto saved = queue.save_endpoint(row_of(state));
    if (!saved) return failed(saved.error());
    versions.emplace_back(state.name, *saved);
  }
  if (auto committed = queue.commit(); !committed) return failed(committed.error());
  {
    // This instance's own writes are not news to it (applied again, they would undo what its
    // breaker did since).
    const std::lock_guard<std::mutex> lock(mutex_);
    for (const auto& [name, version] : versions) written_versions_[name] = version;
  }
  for (std::size_t i = 0; i < work.finals.size(); ++i) {
    const std::string& id = work.final_rows[i].id;
    work.finals[i].fenced = id.empty() || std::find(fenced->begin(), fenced->end(), id) != fenced->end();
  }
  return {};
}

Result<std::int64_t> PgStore::prune_step() {
  const WallTime now = clock_->wall();
  return writer_queue_->prune(to_ms(now - options_.delivered_retention),
                              to_ms(now - options_.failed_retention), prune_batch);
}

void PgStore::claim_loop() {
  if (auto listening = claimer_queue_->listen(); !listening) errors_.fetch_add(1, std::memory_order_relaxed);
  while (claiming_.load(std::memory_order_acquire)) {
    if (claimer_queue_->broken() && !claimer_queue_->reconnect()) {
      errors_.fetch_add(1, std::memory_order_relaxed);
    }
    std::int64_t now = to_ms(clock_->wall());
    if (now >= next_look_) look_around(now);
    if (claim_some(now)) continue;  // a full batch: there may be more
    now = to_ms(clock_->wall());
    const std::int64_t wait = std::clamp<std::int64_t>(std::min(settings_.poll.count(), next_look_ - now), 0,
                                                       settings_.poll.count());
    if (!claiming_.load(std::memory_order_acquire)) break;
    if (auto waited = claimer_queue_->wait_for_news(static_cast<int>(wait), wake_fd_); !waited) {
      errors_.fetch_add(1, std::memory_order_relaxed);
      std::this_thread::sleep_for(std::chrono::milliseconds(std::max<std::int64_t>(wait, 10)));
    }
  }
}

// Claims what this instance has room for; true when it got a full batch.
bool PgStore::claim_some(std::int64_t now) {
  const std::size_t room_now = room ? room() : 0;
  std::size_t want = std::min(settings_.claim_batch, room_now);
  std::size_t held = 0;
  {
    const std::lock_guard<std::mutex> lock(mutex_);
    held = held_.size();
    want = std::min(want, held < settings_.max_claimed ? settings_.max_claimed - held : 0);
  }
  // Full, this instance still takes over what a dead one held (up to twice max_claimed): the dead
  // one's deliveries would otherwise wait behind this instance's own, long after its lease ended.
  const bool only_lapsed = want == 0 && room_now > 0 && held < 2 * settings_.max_claimed;
  if (only_lapsed) want = std::min({settings_.claim_batch, room_now, 2 * settings_.max_claimed - held});
  // Full: the next final wakes the claimer for more.
  if (want == 0 || only_lapsed) starved_.store(true, std::memory_order_release);
  if (want == 0) return false;
  const std::vector<std::string> names = endpoint_names ? endpoint_names() : std::vector<std::string>{};
  auto rows = claimer_queue_->claim(want, now, settings_.lease.count(), owner_, &names, only_lapsed);
  if (!rows) {
    errors_.fetch_add(1, std::memory_order_relaxed);
    return false;
  }
  if (rows->empty()) return false;
  std::vector<Resumed> claimed;
  claimed.reserve(rows->size());
  {
    const std::lock_guard<std::mutex> lock(mutex_);
    for (ClaimedRow& row : *rows) held_[row.id] = row.claim;
  }
  const WallTime wall = from_ms(now);
  for (ClaimedRow& row : *rows) claimed.push_back(resumed_of(row, wall));
  if (on_claimed) on_claimed(claimed);
  return rows->size() == want;
}

// Every second: this instance's heartbeat and the live instances' count, and the endpoint states
// another instance wrote since the last look.
void PgStore::look_around(std::int64_t now) {
  next_look_ = now + look_every_ms;
  if (auto alive = claimer_queue_->heartbeat(owner_, now, 3 * look_every_ms); alive) {
    if (on_instances) on_instances(static_cast<unsigned>(*alive));
  } else {
    errors_.fetch_add(1, std::memory_order_relaxed);
  }
  auto rows = claimer_queue_->endpoints();
  if (!rows) {
    errors_.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  std::vector<EndpointState> changed;
  {
    const std::lock_guard<std::mutex> lock(mutex_);
    for (const EndpointRow& row : *rows) {
      std::int64_t& seen = seen_versions_[row.name];
      if (row.version <= seen) continue;
      seen = row.version;
      const auto mine = written_versions_.find(row.name);
      if (mine == written_versions_.end() || mine->second != row.version) changed.push_back(state_of(row));
    }
  }
  if (!changed.empty() && on_endpoint_states) on_endpoint_states(changed);
}

// Every third of a lease, on the writer's connection: the leases of what this instance holds run
// on. (On another connection of the same instance, a renewal and a write of final states could lock
// the same rows in opposite orders: a deadlock, which the server breaks after a second by failing
// one of them, and leases were lost with the failed renewal.)
void PgStore::renew(std::int64_t now) {
  next_renew_ = now + std::max<std::int64_t>(settings_.lease.count() / 3, 1);
  std::vector<Held> held;
  {
    const std::lock_guard<std::mutex> lock(mutex_);
    held.reserve(held_.size());
    for (const auto& [id, claim] : held_) held.push_back(Held{id, claim});
  }
  sort_by_id(held);
  if (auto renewed = writer_queue_->renew(held, now + settings_.lease.count()); !renewed) {
    errors_.fetch_add(1, std::memory_order_relaxed);
  }
}

class PostgresBackend final : public StoreBackend {
 public:
  explicit PostgresBackend(postgres::QueueSettings settings) : settings_(std::move(settings)) {}
  std::string describe() const override { return postgres::redact_conninfo(settings_.conninfo); }
  Result<std::unique_ptr<DeliveryStore>> open(const StoreOptions& options,
                                              std::shared_ptr<const Clock> clock) const override {
    const std::string where = "store " + describe();
    if (options.max_bytes != 0) {
      return Error{ErrorCode::invalid_config,
                   "store.max_bytes: the PostgreSQL store has no byte limit of its own (the database's "
                   "limits apply): leave it 0",
                   "store.max_bytes"};
    }
    if (settings_.lease < std::chrono::seconds(1)) {
      return Error{ErrorCode::invalid_config,
                   "store lease: must be at least 1 s (longer than every endpoint's timeout)", "store.lease"};
    }
    if (settings_.claim_batch == 0 || settings_.max_claimed == 0 || settings_.poll <= milliseconds::zero()) {
      return Error{ErrorCode::invalid_config, "store: claim_batch, max_claimed and poll must be positive",
                   "store"};
    }
    auto writer = Queue::open(settings_.conninfo);
    if (!writer) return Error{ErrorCode::store_error, where + ": " + writer.error().message, "store"};
    auto claimer = Queue::open(settings_.conninfo);
    if (!claimer) return Error{ErrorCode::store_error, where + ": " + claimer.error().message, "store"};
    return std::unique_ptr<DeliveryStore>(std::make_unique<PgStore>(settings_, options, std::move(clock),
                                                                    std::move(*writer), std::move(*claimer)));
  }

 private:
  const postgres::QueueSettings settings_;
};

}  // namespace

}  // namespace detail::pg

namespace postgres {

StoreOptions store(QueueSettings settings) {
  StoreOptions options;
  options.path = redact_conninfo(settings.conninfo);
  options.backend = std::make_shared<const detail::pg::PostgresBackend>(std::move(settings));
  return options;
}

StoreOptions store(std::string conninfo) {
  QueueSettings settings;
  settings.conninfo = std::move(conninfo);
  return store(std::move(settings));
}

bool is_postgres_uri(const std::string& text) noexcept {
  return text.rfind("postgresql://", 0) == 0 || text.rfind("postgres://", 0) == 0;
}

std::string redact_conninfo(const std::string& conninfo) {
  char* message = nullptr;
  PQconninfoOption* options = PQconninfoParse(conninfo.c_str(), &message);
  if (options == nullptr) {
    PQfreemem(message);
    return "postgresql://(unreadable connection string)";
  }
  std::string user, host, port, dbname;
  for (const PQconninfoOption* option = options; option->keyword != nullptr; ++option) {
    if (option->val == nullptr) continue;
    const std::string_view keyword = option->keyword;
    if (keyword == "user") user = option->val;
    if (keyword == "host") host = option->val;
    if (keyword == "port") port = option->val;
    if (keyword == "dbname") dbname = option->val;
  }
  PQconninfoFree(options);
  std::string text = "postgresql://";
  if (!user.empty()) text += user + "@";
  text += host;
  if (!port.empty()) text += ":" + port;
  if (!dbname.empty()) text += "/" + dbname;
  return text;
}

Result<Accepted> enqueue(pg_conn* connection, const Event& event, const std::vector<Endpoint>& endpoints,
                         std::size_t max_event_bytes) {
  std::string json;
  auto planned = detail::plan_deliveries(event, endpoints, max_event_bytes, json);
  if (!planned) return planned.error();
  Accepted accepted;
  if (planned->empty()) return accepted;
  const std::int64_t now = detail::pg::to_ms(std::chrono::system_clock::now());
  std::vector<detail::pg::NewRow> rows;
  for (detail::PlannedDelivery& delivery : *planned) {
    detail::pg::NewRow row;
    row.id = delivery.id;
    row.endpoint = delivery.endpoint;
    row.event_type = to_string(type_of(event));
    row.event = json;
    row.order_key = std::move(delivery.order_key);
    row.accepted_at = now;
    row.due_at = now;
    rows.push_back(std::move(row));
    accepted.deliveries.push_back({std::move(delivery.endpoint), std::move(delivery.id)});
  }
  if (auto inserted = detail::pg::enqueue_in(connection, rows); !inserted) return inserted.error();
  return accepted;
}

struct QueueAdmin::Impl {
  std::unique_ptr<detail::pg::Queue> queue;
};

Result<QueueAdmin> QueueAdmin::open(const std::string& conninfo) {
  auto queue = detail::pg::Queue::open(conninfo);
  if (!queue) {
    return Error{ErrorCode::store_error, "store " + redact_conninfo(conninfo) + ": " + queue.error().message,
                 "store"};
  }
  auto impl = std::make_unique<Impl>();
  impl->queue = std::move(*queue);
  return QueueAdmin(std::move(impl));
}

QueueAdmin::QueueAdmin(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
QueueAdmin::~QueueAdmin() = default;
QueueAdmin::QueueAdmin(QueueAdmin&&) noexcept = default;
QueueAdmin& QueueAdmin::operator=(QueueAdmin&&) noexcept = default;

Result<std::vector<StoredDelivery>> QueueAdmin::list(const DeliveryQuery& query) const {
  return impl_->queue->list(query);
}
Result<std::optional<StoredDelivery>> QueueAdmin::find(const std::string& id) const {
  return impl_->queue->find(id);
}
Result<StoreCounts> QueueAdmin::counts() const { return impl_->queue->counts(); }

Result<std::size_t> QueueAdmin::redeliver(const std::vector<std::string>& ids) {
  const std::int64_t now = detail::pg::to_ms(std::chrono::system_clock::now());
  std::size_t count = 0;
  for (const std::string& id : ids) {
    auto again = impl_->queue->redeliver(id, now);
    if (!again) return again.error();
    if (*again) ++count;
  }
  return count;
}

Result<std::size_t> QueueAdmin::redeliver(const DeliveryQuery& query) {
  auto ids = impl_->queue->failed_ids(query);
  if (!ids) return ids.error();
  return redeliver(*ids);
}

}  // namespace postgres

}  // namespace statusstack::webhooks
