#include <statusstack/webhooks/dispatcher.hpp>

#include "dispatch/decide.hpp"
#include "endpoint_signing.hpp"
#include "transfer.hpp"

#include <curl/curl.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <random>
#include <thread>

namespace statusstack::webhooks {

namespace {

using Clock = std::chrono::steady_clock;
using SystemClock = std::chrono::system_clock;
using std::chrono::milliseconds;

struct Delivery;

// Time arithmetic saturates: milliseconds::max() means "forever", and no sum may overflow.
Clock::time_point later(Clock::time_point from, milliseconds delay) noexcept {
  if (delay <= milliseconds::zero()) return from;
  if (delay >= std::chrono::duration_cast<milliseconds>(Clock::time_point::max() - from)) {
    return Clock::time_point::max();
  }
  return from + delay;
}

// Whole milliseconds from `since` to `now` (steady clock: never negative).
milliseconds elapsed(Clock::time_point since, Clock::time_point now) noexcept {
  return std::chrono::duration_cast<milliseconds>(now - since);
}

// cv.wait_for(lock, timeout, ready) that takes milliseconds::max() (or any timeout too long for the
// clock) as "no timeout" instead of overflowing into one that has already passed.
template <class Ready>
bool wait_for(std::condition_variable& cv, std::unique_lock<std::mutex>& lock, milliseconds timeout,
              Ready ready) {
  const Clock::time_point until = later(Clock::now(), timeout);
  if (until == Clock::time_point::max()) {
    cv.wait(lock, ready);
    return true;
  }
  return cv.wait_until(lock, until, ready);
}

// Requests per minute for one lane: refills continuously, holds at most a quarter of a minute's
// worth (at least one). The rate is passed at each take(), so an endpoint whose settings were
// replaced keeps the tokens it had and continues at its new rate.
class TokenBucket {
 public:
  /// Takes a token if one is there; otherwise returns how long until one will be. 0: no limit.
  std::optional<Clock::duration> take(Clock::time_point now, double per_minute) {
    if (!(per_minute > 0)) return std::nullopt;
    const double per_second = per_minute / 60.0;
    const double capacity = std::max(1.0, per_minute / 4.0);
    if (!started_) {
      started_ = true;
      tokens_ = capacity;
    } else {
      const double seconds = std::chrono::duration<double>(now - last_).count();
      tokens_ = std::min(capacity, tokens_ + seconds * per_second);
    }
    last_ = now;
    if (tokens_ >= 1.0) {
      tokens_ -= 1.0;
      return std::nullopt;
    }
    return std::chrono::duration_cast<Clock::duration>(
        std::chrono::duration<double>((1.0 - tokens_) / per_second));
  }

 private:
  bool started_ = false;
  double tokens_ = 0;
  Clock::time_point last_{};
};

// What one lane of an endpoint has in use: requests on the wire and rate-limit tokens. Owned by the
// lane's I/O thread, and shared by every version of the endpoint: replacing an endpoint (a
// configuration reload) neither starts its rate limit afresh nor lets its max_in_flight be exceeded
// by requests of the version it replaced.
struct LaneUse {
  std::size_t in_flight = 0;
  TokenBucket bucket;
};
using LaneUses = std::deque<LaneUse>;  // one per I/O thread; a deque so elements never move

// One I/O thread's share of an endpoint, owned by that thread: its queue, its part of max_in_flight
// and of the rate limit. An endpoint has one lane per I/O thread, so a busy endpoint uses every loop
// (and core) the Dispatcher has.
struct Lane {
  Lane(std::size_t max, double rate, LaneUse& used) : max_in_flight(max), per_minute(rate), use(&used) {}

  std::deque<std::unique_ptr<Delivery>> ready;
  std::size_t max_in_flight;
  double per_minute;
  LaneUse* use;
  bool listed = false;                // in the thread's list of endpoints with ready deliveries
  Clock::time_point next_token_at{};  // while out of tokens: when the next one comes
};

// One endpoint's configuration as the I/O threads use it. Replacing an endpoint creates a new state
// and retires the old one, pointing it at its successor; removing retires it with no successor.
struct EndpointState {
  /// `previous_uses`: what the lanes of the version this one replaces have in use; null when new.
  EndpointState(Endpoint endpoint, std::size_t threads, milliseconds policy_max_age,
                std::shared_ptr<LaneUses> previous_uses)
      : config(std::move(endpoint)),
        url(effective_url(config)),
        signer(config),
        // Datadog refuses events whose date_happened is more than 18 hours old.
        max_age(config.format.format == Format::datadog
                    ? std::min<milliseconds>(policy_max_age, std::chrono::hours(18))
                    : policy_max_age),
        used_lanes(std::min(threads, config.max_in_flight)),
        uses(previous_uses ? std::move(previous_uses) : std::make_shared<LaneUses>(threads)) {
    // max_in_flight and the rate are split between the lanes that get deliveries.
    const double rate = effective_rate_limit(config) / static_cast<double>(used_lanes);
    for (std::size_t i = 0; i < threads; ++i) {
      const std::size_t share =
          config.max_in_flight / used_lanes + (i < config.max_in_flight % used_lanes ? 1 : 0);
      // A lane dispatch() does not use still takes one at a time: deliveries of a replaced endpoint
      // move to its successor on the thread they are on, whatever the successor's max_in_flight.
      lanes.emplace_back(i < used_lanes ? share : 1, rate, (*uses)[i]);
    }
  }

  // The thread that takes the next delivery: round-robin over the lanes in use.
  std::size_t pick_lane() noexcept {
    return used_lanes == 1 ? 0 : next_lane.fetch_add(1, std::memory_order_relaxed) % used_lanes;
  }

  const Endpoint config;
  const std::string url;
  const detail::EndpointSigner signer;
  const milliseconds max_age;
  const std::size_t used_lanes;
  const std::shared_ptr<LaneUses> uses;  // lanes[i].use points at (*uses)[i]
  std::atomic<std::size_t> next_lane{0};

  // Written under Impl::config_mutex before `retired` is released; read after acquiring it.
  std::shared_ptr<EndpointState> successor;
  std::atomic<bool> retired{false};
  std::atomic<bool> gone{false};  // answered 410 Gone: paused until replaced

  std::deque<Lane> lanes;  // lanes[i] is owned by I/O thread i (a deque: Lanes never move)
};

// The request body for one or more deliveries of an event: the StatusStack JSON is shared by all
// endpoints of that format; a vendor format's body belongs to its endpoint.
struct Payload {
  std::string body;
  EventType type;
  Headers format_headers;  // e.g. DD-API-KEY
};

// One (event, endpoint) pair on its way to a final report.
struct Delivery {
  std::string id;
  std::shared_ptr<EndpointState> endpoint;
  std::shared_ptr<const Payload> payload;
  std::string signature;  // for `endpoint`, at `signed_at`
  std::int64_t signed_at = 0;
  bool resign = false;  // the endpoint changed since signing
  SystemClock::time_point accepted_at;
  Clock::time_point accepted_steady;
  int attempts = 0;
  SystemClock::time_point first_attempt_at;
  SystemClock::time_point last_attempt_at;
  Outcome last;
  VendorAnswer answer;  // what a PagerDuty/Datadog endpoint said to the last attempt
};

struct Timer {
  Clock::time_point due;
  std::unique_ptr<Delivery> delivery;
};
struct TimerLater {
  bool operator()(const Timer& a, const Timer& b) const noexcept { return a.due > b.due; }
};

// The Dispatcher whose I/O thread this is (null on every other thread): flush() and shutdown() called
// from one of its callbacks would wait for the very thread they run on.
thread_local const void* io_thread_owner = nullptr;

// An attempt that libcurl could not run: the multi interface itself failed.
Outcome curl_failure(const char* call, CURLMcode code) {
  Outcome outcome;
  outcome.error = TransportError::other;
  outcome.error_message = std::string(call) + " failed: " + curl_multi_strerror(code);
  return outcome;
}

// Up to `limit` bytes of a receiver's answer for a report's detail: control characters become
// spaces, and a multi-byte UTF-8 character is never cut in two.
std::string excerpt(std::string_view body, std::size_t limit) {
  std::size_t size = std::min(body.size(), limit);
  if (size < body.size()) {
    while (size > 0 && (static_cast<unsigned char>(body[size]) & 0xC0U) == 0x80U) --size;
  }
  std::string text(body.substr(0, size));
  for (char& c : text) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = ' ';
  }
  if (size < body.size()) text += "...";
  return text;
}

// Why a delivery that never had an attempt ended.
const char* not_attempted_because(FailureReason reason) noexcept {
  switch (reason) {
    case FailureReason::endpoint_gone: return "the endpoint is paused since it answered 410 Gone";
    case FailureReason::too_old: return "max_age passed before the first attempt could start";
    case FailureReason::endpoint_removed: return "the endpoint was removed";
    case FailureReason::shutdown: return "the dispatcher shut down before the first attempt";
    case FailureReason::none:
    case FailureReason::rejected:
    case FailureReason::attempts_exhausted: break;
  }
  return "it was refused";
}

struct Counters {
  std::atomic<std::uint64_t> accepted{0}, delivered{0}, failed{0}, rejected_calls{0}, attempts{0}, retries{0},
      in_flight{0}, callback_errors{0}, latency_sum_us{0};
  std::array<std::atomic<std::uint64_t>, 7> failed_by_reason{};
  std::array<std::atomic<std::uint64_t>, 15> latency_buckets{};
};

}  // namespace

struct Dispatcher::Impl {
  class IoThread;

  explicit Impl(DispatcherOptions opts);
  ~Impl();

  std::shared_ptr<EndpointState> make_state(Endpoint endpoint,
                                            std::shared_ptr<LaneUses> uses = nullptr) const;
  std::shared_ptr<const std::vector<std::shared_ptr<EndpointState>>> snapshot() const {
    const std::lock_guard<std::mutex> lock(config_mutex);
    return endpoints;
  }
  bool reserve(std::size_t count);
  /// Gives back room in the queue (a delivery became final, or a reservation was not used) and
  /// wakes flush() and blocked dispatch() calls.
  void release(std::size_t count);
  void finish(std::unique_ptr<Delivery> delivery, bool delivered, FailureReason reason);
  void notify_attempt(const Delivery& delivery, std::optional<milliseconds> retry_in);
  static std::string explain(const Delivery& delivery, FailureReason reason);
  /// How much of a receiver's 4xx body a report's detail quotes.
  static constexpr std::size_t max_detail_body = 512;
  void stop(milliseconds deadline);
  /// Throws ConfigError when called on one of this Dispatcher's I/O threads (from a callback).
  void refuse_on_io_thread(const char* call) const {
    if (io_thread_owner == this) {
      throw ConfigError(Error{ErrorCode::invalid_config,
                              std::string(call) +
                                  " called from an on_report or on_attempt callback: it would wait for the "
                                  "I/O thread that runs the callback",
                              ""});
    }
  }

  RetryPolicy retry;
  std::size_t max_pending;
  OverflowPolicy overflow;
  milliseconds block_timeout;
  std::function<void(const DeliveryReport&)> on_report;
  std::function<void(const AttemptReport&)> on_attempt;

  mutable std::mutex config_mutex;
  std::shared_ptr<const std::vector<std::shared_ptr<EndpointState>>> endpoints;
  std::atomic<std::uint64_t> generation{0};

  std::vector<std::unique_ptr<IoThread>> threads;

  std::atomic<bool> accepting{true};
  std::atomic<int> dispatching{0};  // dispatch() calls between their accepting check and their enqueue
  std::atomic<bool> stopping{false};
  std::atomic<Clock::rep> stop_deadline{0};
  std::mutex shutdown_mutex;
  bool shut_down = false;

  std::atomic<std::size_t> pending{0};  // accepted, not yet final
  std::atomic<int> waiters{0};          // flush() and blocked dispatch() calls
  std::mutex wait_mutex;
  std::condition_variable wait_cv;

  Counters counters;
};

// One curl multi loop on its own thread: takes deliveries from its inbox, runs their attempts, keeps
// retry timers in a heap, and reports what is final. Everything but the inbox is touched only here.
class Dispatcher::Impl::IoThread {
 public:
  IoThread(Impl& owner, std::size_t index) : owner_(owner), index_(index), random_(std::random_device{}()) {
    detail::ensure_curl_initialized();
    multi_ = curl_multi_init();
    if (multi_ == nullptr) throw std::bad_alloc();
    // Keep idle keep-alive connections: by default the cache shrinks with the number of handles.
    curl_multi_setopt(multi_, CURLMOPT_MAXCONNECTS, 256L);
    thread_ = std::thread([this] { run(); });
  }

  ~IoThread() {
    if (thread_.joinable()) thread_.join();
    for (auto& active : running_) curl_multi_remove_handle(multi_, active->transfer->handle());
    running_.clear();
    idle_.clear();
    curl_multi_cleanup(multi_);
  }

  IoThread(const IoThread&) = delete;
  IoThread& operator=(const IoThread&) = delete;

  void enqueue(std::unique_ptr<Delivery> delivery) {
    {
      const std::lock_guard<std::mutex> lock(inbox_mutex_);
      inbox_.push_back(std::move(delivery));
    }
    // A loop that is awake drains the inbox before it sleeps again (see run()): only a sleeping one
    // needs the wake-up syscall.
    if (sleeping_.exchange(false, std::memory_order_seq_cst)) wake();
  }

  void wake() { curl_multi_wakeup(multi_); }
  void join() {
    if (thread_.joinable()) thread_.join();
  }

 private:
  struct Active {
    std::unique_ptr<detail::Transfer> transfer;
    std::unique_ptr<Delivery> delivery;
    std::size_t slot;  // its index in running_
  };

  void run();
  void take_inbox();
  void sweep_endpoints();
  bool follow_successor(Delivery& delivery);
  void make_ready(std::unique_ptr<Delivery> delivery);
  void fire_timers(Clock::time_point now);
  template <class Predicate>
  void end_timers_if(Predicate ends, FailureReason reason);
  void start_transfers(Clock::time_point now);
  void start_attempt(std::unique_ptr<Delivery> delivery);
  void collect_finished();
  void abort_running(const Outcome& outcome);
  std::unique_ptr<Active> take_running(const Active& active);
  void after_attempt(std::unique_ptr<Delivery> delivery);
  void schedule(std::unique_ptr<Delivery> delivery, Clock::time_point due);
  void fail_everything(FailureReason reason);
  bool idle() const { return running_.empty() && timers_.empty() && listed_.empty(); }
  Clock::time_point deadline() const {
    return Clock::time_point(Clock::duration(owner_.stop_deadline.load(std::memory_order_acquire)));
  }

  Lane& lane(EndpointState& endpoint) const { return endpoint.lanes[index_]; }

  Impl& owner_;
  const std::size_t index_;  // which lane of every endpoint is ours
  CURLM* multi_ = nullptr;
  std::thread thread_;

  std::mutex inbox_mutex_;
  std::vector<std::unique_ptr<Delivery>> inbox_;
  std::atomic<bool> sleeping_{false};  // the loop is in (or about to enter) curl_multi_poll

  // Loop-only state.
  std::vector<std::unique_ptr<Delivery>> taken_;
  std::vector<std::shared_ptr<EndpointState>> listed_;  // endpoints with ready deliveries, round-robin
  std::vector<Timer> timers_;                           // a min-heap on `due`
  // Requests on the wire. Each easy handle's CURLOPT_PRIVATE points at its Active, which knows its
  // slot here: finding and removing a finished one costs no lookup.
  std::vector<std::unique_ptr<Active>> running_;
  std::vector<std::unique_ptr<detail::Transfer>> idle_;
  std::uint64_t seen_generation_ = 0;
  bool stop_seen_ = false;
  Headers header_buffer_;
  std::mt19937_64 random_;
};

void Dispatcher::Impl::IoThread::run() {
  io_thread_owner = &owner_;
  for (;;) {
    take_inbox();
    if (const auto generation = owner_.generation.load(std::memory_order_acquire);
        generation != seen_generation_) {
      seen_generation_ = generation;
      sweep_endpoints();
    }
    Clock::time_point now = Clock::now();
    fire_timers(now);

    if (owner_.stopping.load(std::memory_order_acquire)) {
      if (!stop_seen_) {
        // Backoffs that end after the deadline will never get their attempt: end them now.
        stop_seen_ = true;
        const Clock::time_point end = deadline();
        end_timers_if([end](Timer& timer) { return timer.due > end; }, FailureReason::shutdown);
      }
      if (now >= deadline()) {
        fail_everything(FailureReason::shutdown);
        return;
      }
      if (idle()) {
        const std::lock_guard<std::mutex> lock(inbox_mutex_);
        if (inbox_.empty()) return;
        continue;
      }
    }

    start_transfers(now);
    int still_running = 0;
    if (const CURLMcode code = curl_multi_perform(multi_, &still_running); code != CURLM_OK) {
      abort_running(curl_failure("curl_multi_perform", code));
    }
    collect_finished();

    // Sleep until curl, the next retry timer, the shutdown deadline or a wakeup needs us.
    now = Clock::now();
    long curl_wait = -1;
    curl_multi_timeout(multi_, &curl_wait);
    milliseconds wait(curl_wait >= 0 ? std::min<long>(curl_wait, 1000) : 1000);
    if (!timers_.empty()) {
      wait = std::min(wait, std::chrono::ceil<milliseconds>(timers_.front().due - now));
    }
    if (owner_.stopping.load(std::memory_order_acquire)) {
      // Nothing left: go round once more to leave at once instead of sleeping first.
      wait =
          idle() ? milliseconds::zero() : std::min(wait, std::chrono::ceil<milliseconds>(deadline() - now));
    }
    for (const auto& endpoint : listed_) {
      const Lane& ours = lane(*endpoint);
      if (ours.use->in_flight >= ours.max_in_flight) continue;
      // Room to start another: at once, or when the rate limit gives the next token.
      wait = std::min(
          wait, std::chrono::ceil<milliseconds>(std::max(ours.next_token_at - now, Clock::duration::zero())));
    }
    // Announce the sleep before the last look at the inbox: a dispatch() that enqueued after that
    // look sees the flag and wakes us.
    sleeping_.store(true, std::memory_order_seq_cst);
    {
      const std::lock_guard<std::mutex> lock(inbox_mutex_);
      if (!inbox_.empty()) wait = milliseconds::zero();
    }
    const int wait_ms = static_cast<int>(std::max(wait, milliseconds::zero()).count());
    if (const CURLMcode code = curl_multi_poll(multi_, nullptr, 0, wait_ms, nullptr); code != CURLM_OK) {
      // The transfers cannot be watched: end their attempts (they are retried), and pace the loop
      // so that it does not spin while the poll keeps failing.
      abort_running(curl_failure("curl_multi_poll", code));
      std::this_thread::sleep_for(std::min(wait, milliseconds(100)));
    }
    sleeping_.store(false, std::memory_order_relaxed);
  }
}

void Dispatcher::Impl::IoThread::take_inbox() {
  {
    const std::lock_guard<std::mutex> lock(inbox_mutex_);
    taken_.swap(inbox_);
  }
  for (auto& delivery : taken_) make_ready(std::move(delivery));
  taken_.clear();
}

// Moves a delivery on to the current version of its endpoint. False when the endpoint was removed.
bool Dispatcher::Impl::IoThread::follow_successor(Delivery& delivery) {
  while (delivery.endpoint->retired.load(std::memory_order_acquire)) {
    std::shared_ptr<EndpointState> next = delivery.endpoint->successor;
    if (!next) return false;
    delivery.endpoint = std::move(next);
    delivery.resign = true;
  }
  return true;
}

void Dispatcher::Impl::IoThread::make_ready(std::unique_ptr<Delivery> delivery) {
  if (!follow_successor(*delivery)) {
    owner_.finish(std::move(delivery), false, FailureReason::endpoint_removed);
    return;
  }
  Lane& ours = lane(*delivery->endpoint);
  if (!ours.listed) {
    ours.listed = true;
    listed_.push_back(delivery->endpoint);
  }
  ours.ready.push_back(std::move(delivery));
}

// After endpoints changed: move waiting deliveries of replaced endpoints to their successors, and
// end those of removed ones, so flush() never waits for an endpoint that is gone.
void Dispatcher::Impl::IoThread::sweep_endpoints() {
  std::vector<std::unique_ptr<Delivery>> moved;
  for (const auto& endpoint : listed_) {
    if (!endpoint->retired.load(std::memory_order_acquire)) continue;
    Lane& ours = lane(*endpoint);
    for (auto& delivery : ours.ready) moved.push_back(std::move(delivery));
    ours.ready.clear();
  }
  for (auto& delivery : moved) make_ready(std::move(delivery));
  end_timers_if([this](Timer& timer) { return !follow_successor(*timer.delivery); },
                FailureReason::endpoint_removed);
}

// Ends every backing-off delivery for which `ends` says so; the others keep their timers.
template <class Predicate>
void Dispatcher::Impl::IoThread::end_timers_if(Predicate ends, FailureReason reason) {
  std::vector<Timer> keep;
  for (Timer& timer : timers_) {
    if (ends(timer)) {
      owner_.finish(std::move(timer.delivery), false, reason);
    } else {
      keep.push_back(std::move(timer));
    }
  }
  timers_ = std::move(keep);
  std::make_heap(timers_.begin(), timers_.end(), TimerLater{});
}

void Dispatcher::Impl::IoThread::fire_timers(Clock::time_point now) {
  while (!timers_.empty() && timers_.front().due <= now) {
    std::pop_heap(timers_.begin(), timers_.end(), TimerLater{});
    std::unique_ptr<Delivery> delivery = std::move(timers_.back().delivery);
    timers_.pop_back();
    make_ready(std::move(delivery));
  }
}

void Dispatcher::Impl::IoThread::start_transfers(Clock::time_point now) {
  for (std::size_t i = 0; i < listed_.size();) {
    EndpointState& endpoint = *listed_[i];
    Lane& ours = lane(endpoint);
    while (!ours.ready.empty() && ours.use->in_flight < ours.max_in_flight) {
      const bool gone = endpoint.gone.load(std::memory_order_relaxed);
      if (gone || elapsed(ours.ready.front()->accepted_steady, now) > endpoint.max_age) {
        owner_.finish(std::move(ours.ready.front()), false,
                      gone ? FailureReason::endpoint_gone : FailureReason::too_old);
        ours.ready.pop_front();
        continue;
      }
      if (const auto wait = ours.use->bucket.take(now, ours.per_minute)) {
        ours.next_token_at = now + *wait;  // rate limited: wait for the token, do not fail
        break;
      }
      std::unique_ptr<Delivery> delivery = std::move(ours.ready.front());
      ours.ready.pop_front();
      start_attempt(std::move(delivery));
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

void Dispatcher::Impl::IoThread::start_attempt(std::unique_ptr<Delivery> delivery) {
  EndpointState& endpoint = *delivery->endpoint;
  const Endpoint& config = endpoint.config;
  const Payload& payload = *delivery->payload;
  const SystemClock::time_point now = SystemClock::now();
  // Standard Webhooks receivers reject stale timestamps: sign again for every retry.
  if (delivery->resign ||
      (delivery->attempts > 0 && endpoint.signer.scheme() == SignatureScheme::standard_webhooks)) {
    delivery->signed_at = detail::unix_seconds(now);
    delivery->signature = endpoint.signer.sign(payload.body, delivery->id, delivery->signed_at);
    delivery->resign = false;
  }
  header_buffer_.clear();
  endpoint.signer.append_headers(header_buffer_, config, payload.format_headers, to_string(payload.type),
                                 delivery->id, delivery->signed_at, delivery->signature);

  std::unique_ptr<detail::Transfer> transfer;
  if (idle_.empty()) {
    transfer = std::make_unique<detail::Transfer>();
  } else {
    transfer = std::move(idle_.back());
    idle_.pop_back();
  }
  transfer->prepare(endpoint.url, config.method, header_buffer_, payload.body, config.options);

  if (delivery->attempts == 0) delivery->first_attempt_at = now;
  delivery->last_attempt_at = now;
  ++delivery->attempts;
  ++lane(endpoint).use->in_flight;
  owner_.counters.in_flight.fetch_add(1, std::memory_order_relaxed);

  CURL* handle = transfer->handle();
  running_.push_back(
      std::make_unique<Active>(Active{std::move(transfer), std::move(delivery), running_.size()}));
  curl_easy_setopt(handle, CURLOPT_PRIVATE, running_.back().get());
  if (const CURLMcode code = curl_multi_add_handle(multi_, handle); code != CURLM_OK) {
    // Not started: an attempt that failed at once, retried like a connection failure.
    std::unique_ptr<Active> active = take_running(*running_.back());
    idle_.push_back(std::move(active->transfer));
    --lane(endpoint).use->in_flight;
    owner_.counters.in_flight.fetch_sub(1, std::memory_order_relaxed);
    owner_.counters.attempts.fetch_add(1, std::memory_order_relaxed);
    active->delivery->last = curl_failure("curl_multi_add_handle", code);
    after_attempt(std::move(active->delivery));
  }
}

// Takes a finished request out of running_: the last one moves into its slot.
std::unique_ptr<Dispatcher::Impl::IoThread::Active> Dispatcher::Impl::IoThread::take_running(
    const Active& active) {
  const std::size_t slot = active.slot;
  std::unique_ptr<Active> taken = std::move(running_[slot]);
  if (slot + 1 != running_.size()) {
    running_[slot] = std::move(running_.back());
    running_[slot]->slot = slot;
  }
  running_.pop_back();
  return taken;
}

// Ends the attempt of every request on the wire with `outcome`: they go through the retry rules.
void Dispatcher::Impl::IoThread::abort_running(const Outcome& outcome) {
  std::vector<std::unique_ptr<Delivery>> aborted;
  for (auto& active : running_) {
    curl_multi_remove_handle(multi_, active->transfer->handle());
    idle_.push_back(std::move(active->transfer));
    aborted.push_back(std::move(active->delivery));
  }
  running_.clear();
  for (auto& delivery : aborted) {
    --lane(*delivery->endpoint).use->in_flight;
    owner_.counters.in_flight.fetch_sub(1, std::memory_order_relaxed);
    owner_.counters.attempts.fetch_add(1, std::memory_order_relaxed);
    delivery->last = outcome;
    after_attempt(std::move(delivery));
  }
}

void Dispatcher::Impl::IoThread::collect_finished() {
  int left = 0;
  while (CURLMsg* message = curl_multi_info_read(multi_, &left)) {
    if (message->msg != CURLMSG_DONE) continue;
    CURL* handle = message->easy_handle;
    const CURLcode code = message->data.result;
    void* owner = nullptr;
    curl_easy_getinfo(handle, CURLINFO_PRIVATE, &owner);
    if (owner == nullptr) continue;
    curl_multi_remove_handle(multi_, handle);
    std::unique_ptr<Active> active = take_running(*static_cast<Active*>(owner));

    std::unique_ptr<Delivery> delivery = std::move(active->delivery);
    delivery->last = active->transfer->finish(code);
    const Outcome& outcome = delivery->last;
    if (const Format format = delivery->endpoint->config.format.format; format != Format::statusstack) {
      delivery->answer = read_vendor_answer(format, outcome.status, outcome.content_type, outcome.body);
    }
    idle_.push_back(std::move(active->transfer));
    --lane(*delivery->endpoint).use->in_flight;
    owner_.counters.in_flight.fetch_sub(1, std::memory_order_relaxed);
    owner_.counters.attempts.fetch_add(1, std::memory_order_relaxed);

    after_attempt(std::move(delivery));
  }
}

// Applies the retry rules (decide()) to a finished attempt: final report, or a retry timer.
void Dispatcher::Impl::IoThread::after_attempt(std::unique_ptr<Delivery> delivery) {
  const Clock::time_point now = Clock::now();
  EndpointState& attempted = *delivery->endpoint;
  const bool removed = !follow_successor(*delivery);  // a retry goes to the endpoint's current version
  std::optional<milliseconds> shutdown_in;
  if (owner_.stopping.load(std::memory_order_acquire)) {
    shutdown_in = std::chrono::floor<milliseconds>(deadline() - now);
  }
  const detail::Decision decision = detail::decide(
      detail::AttemptFacts{delivery->last, delivery->attempts, elapsed(delivery->accepted_steady, now),
                           delivery->endpoint->max_age, shutdown_in},
      owner_.retry, std::uniform_real_distribution<double>(0.0, 1.0)(random_));
  switch (decision.next) {
    case detail::Decision::Next::delivered:
      owner_.finish(std::move(delivery), true, FailureReason::none);
      return;
    case detail::Decision::Next::fail:
      if (decision.pause_endpoint) attempted.gone.store(true, std::memory_order_relaxed);
      owner_.notify_attempt(*delivery, std::nullopt);
      owner_.finish(std::move(delivery), false, decision.reason);
      return;
    case detail::Decision::Next::retry:
      if (removed) {
        owner_.notify_attempt(*delivery, std::nullopt);
        owner_.finish(std::move(delivery), false, FailureReason::endpoint_removed);
        return;
      }
      owner_.notify_attempt(*delivery, decision.delay);
      owner_.counters.retries.fetch_add(1, std::memory_order_relaxed);
      schedule(std::move(delivery), later(now, decision.delay));
      return;
  }
}

void Dispatcher::Impl::IoThread::schedule(std::unique_ptr<Delivery> delivery, Clock::time_point due) {
  timers_.push_back(Timer{due, std::move(delivery)});
  std::push_heap(timers_.begin(), timers_.end(), TimerLater{});
}

void Dispatcher::Impl::IoThread::fail_everything(FailureReason reason) {
  for (auto& active : running_) {
    curl_multi_remove_handle(multi_, active->transfer->handle());
    --lane(*active->delivery->endpoint).use->in_flight;
    owner_.counters.in_flight.fetch_sub(1, std::memory_order_relaxed);
    Outcome& last = active->delivery->last;
    last = Outcome{};
    last.error = TransportError::timeout;
    last.error_message = "attempt abandoned at the shutdown deadline";
    owner_.finish(std::move(active->delivery), false, reason);
    idle_.push_back(std::move(active->transfer));
  }
  running_.clear();
  for (Timer& timer : timers_) owner_.finish(std::move(timer.delivery), false, reason);
  timers_.clear();
  for (auto& endpoint : listed_) {
    Lane& ours = lane(*endpoint);
    for (auto& delivery : ours.ready) owner_.finish(std::move(delivery), false, reason);
    ours.ready.clear();
    ours.listed = false;
  }
  listed_.clear();
  const std::lock_guard<std::mutex> lock(inbox_mutex_);
  for (auto& delivery : inbox_) owner_.finish(std::move(delivery), false, reason);
  inbox_.clear();
}

Dispatcher::Impl::Impl(DispatcherOptions opts)
    : retry(std::move(opts.retry)),
      max_pending(opts.max_pending),
      overflow(opts.overflow),
      block_timeout(opts.block_timeout),
      on_report(std::move(opts.on_report)),
      on_attempt(std::move(opts.on_attempt)) {
  if (auto valid = retry.validate(); !valid) throw ConfigError(valid.error());
  if (opts.io_threads == 0 || opts.io_threads > 64) {
    throw ConfigError(Error{ErrorCode::invalid_config, "io_threads: must be between 1 and 64", "io_threads"});
  }
  if (max_pending == 0) {
    throw ConfigError(Error{ErrorCode::invalid_config, "max_pending: must be at least 1", "max_pending"});
  }
  if (block_timeout < milliseconds::zero()) {
    throw ConfigError(Error{ErrorCode::invalid_config,
                            "block_timeout: must not be negative (milliseconds::max() waits without limit)",
                            "block_timeout"});
  }
  threads.resize(opts.io_threads);  // created below, after the endpoints are known to be valid
  auto states = std::make_shared<std::vector<std::shared_ptr<EndpointState>>>();
  for (Endpoint& endpoint : opts.endpoints) {
    for (const auto& existing : *states) {
      if (existing->config.name == endpoint.name) {
        throw ConfigError(Error{ErrorCode::invalid_config,
                                "endpoint \"" + endpoint.name + "\": name is used twice", "name"});
      }
    }
    states->push_back(make_state(std::move(endpoint)));
  }
  endpoints = std::move(states);
  for (std::size_t i = 0; i < threads.size(); ++i) threads[i] = std::make_unique<IoThread>(*this, i);
}

Dispatcher::Impl::~Impl() {
  // Normally stop() ran already; this only matters when the constructor failed half-way.
  stop_deadline.store(Clock::now().time_since_epoch().count(), std::memory_order_release);
  stopping.store(true, std::memory_order_release);
  for (auto& thread : threads) {
    if (thread) thread->wake();
  }
  threads.clear();
}

std::shared_ptr<EndpointState> Dispatcher::Impl::make_state(Endpoint endpoint,
                                                            std::shared_ptr<LaneUses> uses) const {
  if (auto valid = validate_endpoint(endpoint); !valid) throw ConfigError(valid.error());
  return std::make_shared<EndpointState>(std::move(endpoint), threads.size(), retry.max_age, std::move(uses));
}

bool Dispatcher::Impl::reserve(std::size_t count) {
  std::size_t current = pending.load(std::memory_order_relaxed);
  for (;;) {
    if (current + count > max_pending) return false;
    if (pending.compare_exchange_weak(current, current + count, std::memory_order_acq_rel)) return true;
  }
}

// A report's detail: the vendor's error messages; otherwise the last outcome described, with the
// receiver's explanation of a 4xx (its body, capped); or why there was no attempt at all.
std::string Dispatcher::Impl::explain(const Delivery& delivery, FailureReason reason) {
  if (!delivery.answer.error.empty()) return delivery.answer.error;
  if (delivery.attempts == 0) return std::string("not attempted: ") + not_attempted_because(reason);
  const Outcome& last = delivery.last;
  std::string text = last.describe();
  if (last.error == TransportError::none && last.status >= 400 && last.status < 500 && !last.body.empty()) {
    text += ": " + excerpt(last.body, max_detail_body);
  }
  return text;
}

void Dispatcher::Impl::notify_attempt(const Delivery& delivery, std::optional<milliseconds> retry_in) {
  if (!on_attempt) return;
  AttemptReport report{delivery.id,
                       delivery.endpoint->config.name,
                       delivery.payload->type,
                       delivery.attempts,
                       delivery.last,
                       explain(delivery, FailureReason::none),
                       retry_in};
  try {
    on_attempt(report);
  } catch (...) {
    counters.callback_errors.fetch_add(1, std::memory_order_relaxed);
  }
}

void Dispatcher::Impl::finish(std::unique_ptr<Delivery> delivery, bool delivered, FailureReason reason) {
  const auto latency =
      std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - delivery->accepted_steady);
  if (delivered) {
    counters.delivered.fetch_add(1, std::memory_order_relaxed);
    const double latency_ms = static_cast<double>(latency.count()) / 1000.0;
    const auto& bounds = DispatcherStats::latency_bounds_ms;
    const auto bucket =
        static_cast<std::size_t>(std::lower_bound(bounds.begin(), bounds.end(), latency_ms) - bounds.begin());
    counters.latency_buckets[bucket].fetch_add(1, std::memory_order_relaxed);
    counters.latency_sum_us.fetch_add(static_cast<std::uint64_t>(latency.count()), std::memory_order_relaxed);
  } else {
    counters.failed.fetch_add(1, std::memory_order_relaxed);
    counters.failed_by_reason[static_cast<std::size_t>(reason)].fetch_add(1, std::memory_order_relaxed);
  }
  if (on_report) {
    DeliveryReport report;
    report.delivery_id = std::move(delivery->id);
    report.endpoint = delivery->endpoint->config.name;
    report.event = delivery->payload->type;
    report.delivered = delivered;
    report.reason = reason;
    report.attempts = delivery->attempts;
    if (!delivered) report.detail = explain(*delivery, reason);
    report.last = std::move(delivery->last);
    report.receipt = std::move(delivery->answer.receipt);
    report.accepted_at = delivery->accepted_at;
    report.first_attempt_at = delivery->first_attempt_at;
    report.last_attempt_at = delivery->last_attempt_at;
    report.latency = std::chrono::duration_cast<milliseconds>(latency);
    try {
      on_report(report);
    } catch (...) {
      counters.callback_errors.fetch_add(1, std::memory_order_relaxed);
    }
  }
  delivery.reset();
  release(1);
}

void Dispatcher::Impl::release(std::size_t count) {
  pending.fetch_sub(count, std::memory_order_acq_rel);
  if (waiters.load(std::memory_order_seq_cst) > 0) {
    { const std::lock_guard<std::mutex> lock(wait_mutex); }
    wait_cv.notify_all();
  }
}

void Dispatcher::Impl::stop(milliseconds deadline) {
  const std::lock_guard<std::mutex> guard(shutdown_mutex);
  if (shut_down) return;
  shut_down = true;
  accepting.store(false, std::memory_order_seq_cst);
  // A dispatch() that saw `accepting` true is about to enqueue: let it, so nothing is lost.
  while (dispatching.load(std::memory_order_seq_cst) > 0) std::this_thread::yield();
  stop_deadline.store(later(Clock::now(), deadline).time_since_epoch().count(), std::memory_order_release);
  stopping.store(true, std::memory_order_release);
  for (auto& thread : threads) thread->wake();
  for (auto& thread : threads) thread->join();
  { const std::lock_guard<std::mutex> lock(wait_mutex); }
  wait_cv.notify_all();
}

Dispatcher::Dispatcher(DispatcherOptions options) : impl_(std::make_unique<Impl>(std::move(options))) {}

Dispatcher::~Dispatcher() { shutdown(); }

Result<Accepted> Dispatcher::dispatch(const Event& event) {
  Impl& impl = *impl_;
  struct Entered {
    std::atomic<int>& count;
    explicit Entered(std::atomic<int>& c) : count(c) { count.fetch_add(1, std::memory_order_seq_cst); }
    ~Entered() { count.fetch_sub(1, std::memory_order_seq_cst); }
    Entered(const Entered&) = delete;
    Entered& operator=(const Entered&) = delete;
  };
  std::optional<Entered> entered(std::in_place, impl.dispatching);
  if (!impl.accepting.load(std::memory_order_seq_cst)) {
    impl.counters.rejected_calls.fetch_add(1, std::memory_order_relaxed);
    return Error{ErrorCode::shut_down, "dispatcher is shut down: the event was not accepted", ""};
  }

  // An event a receiver would reject is refused here, where the caller can still fix it.
  if (auto valid = validate_event(event); !valid) {
    impl.counters.rejected_calls.fetch_add(1, std::memory_order_relaxed);
    return valid.error();
  }
  const EventType type = type_of(event);
  const auto endpoints = impl.snapshot();
  std::vector<const std::shared_ptr<EndpointState>*> matching;
  matching.reserve(endpoints->size());
  for (const auto& endpoint : *endpoints) {
    if (endpoint->config.events.matches(type)) matching.push_back(&endpoint);
  }
  Accepted accepted;
  if (matching.empty()) return accepted;

  if (!impl.reserve(matching.size())) {
    bool room = false;  // reserved: the room is ours and must be used or given back
    // On an I/O thread (from a callback) waiting for room would hold up the thread that makes it.
    if (impl.overflow == OverflowPolicy::block && io_thread_owner != &impl) {
      entered.reset();  // a blocked caller must not hold up shutdown()
      impl.waiters.fetch_add(1, std::memory_order_seq_cst);
      {
        std::unique_lock<std::mutex> lock(impl.wait_mutex);
        // Woken by shutdown() without room, or with room: only the second reserved anything.
        wait_for(impl.wait_cv, lock, impl.block_timeout, [&] {
          room = impl.reserve(matching.size());
          return room || !impl.accepting.load(std::memory_order_seq_cst);
        });
      }
      impl.waiters.fetch_sub(1, std::memory_order_seq_cst);
      entered.emplace(impl.dispatching);
      if (!impl.accepting.load(std::memory_order_seq_cst)) {
        if (room) impl.release(matching.size());  // reserved just as shutdown began: give it back
        impl.counters.rejected_calls.fetch_add(1, std::memory_order_relaxed);
        return Error{ErrorCode::shut_down, "dispatcher is shut down: the event was not accepted", ""};
      }
    }
    if (!room) {
      impl.counters.rejected_calls.fetch_add(1, std::memory_order_relaxed);
      return Error{
          ErrorCode::queue_full,
          "queue is full (max_pending " + std::to_string(impl.max_pending) + "): the event was not accepted",
          ""};
    }
  }

  std::string json = to_json(event);
  // Queued deliveries keep the body for minutes or hours: do not keep the writer's spare capacity.
  if (json.capacity() > json.size() + 128) json.shrink_to_fit();
  auto shared_payload = std::make_shared<Payload>(Payload{std::move(json), type, {}});
  // Vendor formats get their own body; build them all before queueing anything, so a failure
  // leaves nothing half-accepted.
  std::vector<std::shared_ptr<const Payload>> payloads;
  payloads.reserve(matching.size());
  for (const std::shared_ptr<EndpointState>* shared : matching) {
    const FormatSettings& settings = (*shared)->config.format;
    if (settings.format == Format::statusstack) {
      payloads.push_back(shared_payload);
      continue;
    }
    auto formatted = format_event(event, settings, shared_payload->body);
    if (!formatted) {
      impl.release(matching.size());
      impl.counters.rejected_calls.fetch_add(1, std::memory_order_relaxed);
      return formatted.error();
    }
    payloads.push_back(
        std::make_shared<Payload>(Payload{std::move(formatted->body), type, std::move(formatted->headers)}));
  }
  const SystemClock::time_point now = SystemClock::now();
  const Clock::time_point now_steady = Clock::now();
  const std::int64_t signed_at = detail::unix_seconds(now);
  accepted.deliveries.reserve(matching.size());
  for (std::size_t i = 0; i < matching.size(); ++i) {
    const std::shared_ptr<EndpointState>* shared = matching[i];
    EndpointState* endpoint = shared->get();
    const std::shared_ptr<const Payload>& payload = payloads[i];
    auto delivery = std::make_unique<Delivery>();
    delivery->id = new_delivery_id();
    delivery->signature = endpoint->signer.sign(payload->body, delivery->id, signed_at);
    delivery->signed_at = signed_at;
    delivery->payload = payload;
    delivery->accepted_at = now;
    delivery->accepted_steady = now_steady;
    delivery->endpoint = *shared;
    accepted.deliveries.push_back({endpoint->config.name, delivery->id});
    impl.threads[endpoint->pick_lane()]->enqueue(std::move(delivery));
  }
  impl.counters.accepted.fetch_add(matching.size(), std::memory_order_relaxed);
  return accepted;
}

void Dispatcher::upsert_endpoint(Endpoint endpoint) {
  Impl& impl = *impl_;
  // A replaced endpoint keeps what its lanes have in use (requests on the wire, rate tokens).
  std::shared_ptr<LaneUses> uses;
  for (const auto& existing : *impl.snapshot()) {
    if (existing->config.name == endpoint.name) uses = existing->uses;
  }
  std::shared_ptr<EndpointState> state = impl.make_state(std::move(endpoint), std::move(uses));
  {
    const std::lock_guard<std::mutex> lock(impl.config_mutex);
    auto next = std::make_shared<std::vector<std::shared_ptr<EndpointState>>>(*impl.endpoints);
    bool replaced = false;
    for (auto& existing : *next) {
      if (existing->config.name == state->config.name) {
        existing->successor = state;
        existing->retired.store(true, std::memory_order_release);
        existing = state;
        replaced = true;
      }
    }
    if (!replaced) next->push_back(state);
    impl.endpoints = std::move(next);
  }
  impl.generation.fetch_add(1, std::memory_order_acq_rel);
  for (auto& thread : impl.threads) thread->wake();
}

bool Dispatcher::remove_endpoint(std::string_view name) {
  Impl& impl = *impl_;
  {
    const std::lock_guard<std::mutex> lock(impl.config_mutex);
    auto next = std::make_shared<std::vector<std::shared_ptr<EndpointState>>>();
    bool found = false;
    for (const auto& existing : *impl.endpoints) {
      if (existing->config.name == name) {
        existing->retired.store(true, std::memory_order_release);
        found = true;
      } else {
        next->push_back(existing);
      }
    }
    if (!found) return false;
    impl.endpoints = std::move(next);
  }
  impl.generation.fetch_add(1, std::memory_order_acq_rel);
  for (auto& thread : impl.threads) thread->wake();
  return true;
}

std::vector<Endpoint> Dispatcher::endpoints() const {
  const auto states = impl_->snapshot();
  std::vector<Endpoint> result;
  result.reserve(states->size());
  for (const auto& state : *states) result.push_back(state->config);
  return result;
}

bool Dispatcher::flush(milliseconds timeout) {
  Impl& impl = *impl_;
  impl.refuse_on_io_thread("flush()");
  impl.waiters.fetch_add(1, std::memory_order_seq_cst);
  bool done = false;
  {
    std::unique_lock<std::mutex> lock(impl.wait_mutex);
    done = wait_for(impl.wait_cv, lock, timeout,
                    [&] { return impl.pending.load(std::memory_order_acquire) == 0; });
  }
  impl.waiters.fetch_sub(1, std::memory_order_seq_cst);
  return done;
}

void Dispatcher::shutdown(milliseconds deadline) {
  impl_->refuse_on_io_thread("shutdown()");
  impl_->stop(deadline);
}

DispatcherStats Dispatcher::stats() const {
  const Counters& c = impl_->counters;
  DispatcherStats stats;
  stats.accepted = c.accepted.load(std::memory_order_relaxed);
  stats.delivered = c.delivered.load(std::memory_order_relaxed);
  stats.failed = c.failed.load(std::memory_order_relaxed);
  for (std::size_t i = 0; i < stats.failed_by_reason.size(); ++i) {
    stats.failed_by_reason[i] = c.failed_by_reason[i].load(std::memory_order_relaxed);
  }
  stats.rejected_calls = c.rejected_calls.load(std::memory_order_relaxed);
  stats.attempts = c.attempts.load(std::memory_order_relaxed);
  stats.retries = c.retries.load(std::memory_order_relaxed);
  stats.in_flight = c.in_flight.load(std::memory_order_relaxed);
  const std::uint64_t pending = impl_->pending.load(std::memory_order_relaxed);
  stats.queued = pending > stats.in_flight ? pending - stats.in_flight : 0;
  stats.callback_errors = c.callback_errors.load(std::memory_order_relaxed);
  for (std::size_t i = 0; i < stats.latency_buckets.size(); ++i) {
    stats.latency_buckets[i] = c.latency_buckets[i].load(std::memory_order_relaxed);
  }
  stats.latency_sum_ms = static_cast<double>(c.latency_sum_us.load(std::memory_order_relaxed)) / 1000.0;
  return stats;
}

}  // namespace statusstack::webhooks
