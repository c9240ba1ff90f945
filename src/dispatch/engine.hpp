#pragma once

// The Dispatcher's machinery behind its public face (include/statusstack/webhooks/dispatcher.hpp),
// with its clock and transport replaceable: tests drive it turn by turn, on a manual clock, with a
// transport that answers at once. Internal: not installed.

#include <statusstack/webhooks/dispatcher.hpp>
#include <statusstack/webhooks/export.hpp>

#include "dispatch/clock.hpp"
#include "dispatch/store.hpp"
#include "dispatch/transport.hpp"

#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <string_view>
#include <thread>
#include <vector>

namespace statusstack::webhooks::detail {

struct Core;
class IoLoop;
struct EndpointSlot;
struct EndpointConfig;

/// What the Engine runs on. The defaults: the system's clocks, libcurl, one thread per I/O loop.
struct EngineParts {
  std::shared_ptr<const Clock> clock;                     ///< null: the system's clocks
  std::function<std::unique_ptr<Transport>()> transport;  ///< one per I/O loop; empty: libcurl
  std::unique_ptr<DeliveryStore> store;  ///< null: the SQLite store of options.store.path, or MemoryStore
  /// false: no threads; the caller turns the loops with turn() (tests). shutdown() then only
  /// starts the shutdown: turn() returns false once the loops are done; the destructor ends the rest.
  bool threads = true;
};

class STATUSSTACK_WEBHOOKS_EXPORT Engine {
 public:
  Engine(DispatcherOptions options, EngineParts parts);
  ~Engine();
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  Result<Accepted> dispatch(const Event& event);
  Result<std::vector<Accepted>> dispatch_many(const std::vector<Event>& events);
  Result<std::vector<StoredDelivery>> deliveries(const DeliveryQuery& query) const;
  Result<std::size_t> redeliver(const std::vector<std::string>& ids);
  Result<std::size_t> redeliver(const DeliveryQuery& query);
  /// The store's pruning, now (tests).
  void prune();
  void upsert_endpoint(Endpoint endpoint);
  bool remove_endpoint(std::string_view name);
  std::vector<Endpoint> endpoints() const;
  bool flush(milliseconds timeout);
  void shutdown(milliseconds deadline);
  DispatcherStats stats() const;
  std::optional<EndpointHealth> health(std::string_view name) const;

  /// Without threads: one turn of every loop, without sleeping. True while any loop has work.
  bool turn();

 private:
  struct Registered;
  std::shared_ptr<const std::vector<Registered>> snapshot() const;
  void refuse_on_io_thread(const char* call) const;
  /// Throws ConfigError when a (validated) endpoint has a proxy that DispatcherOptions::network does
  /// not allow.
  void check_proxy(const Endpoint& endpoint) const;
  /// shutdown() without its check of the calling thread: the destructor's path.
  void shutdown_now(milliseconds deadline);
  Result<void> accept(const Event* events, std::size_t count, Accepted* accepted);
  void place(std::vector<Resumed> resumed, bool started);
  static Result<std::unique_ptr<DeliveryStore>> open_store(const StoreOptions& options,
                                                           std::shared_ptr<const Clock> clock);
  void apply_states(const std::vector<EndpointState>& states);
  bool flush_shared(milliseconds timeout);

  NetworkPolicyPtr network_;  // DispatcherOptions::network, parsed once, shared by every transfer
  std::unique_ptr<Core> core_;
  const OverflowPolicy overflow_;
  const milliseconds block_timeout_;
  const bool threaded_;

  mutable std::mutex config_mutex_;
  std::shared_ptr<const std::vector<Registered>> endpoints_;

  std::vector<std::unique_ptr<IoLoop>> loops_;
  std::vector<std::thread> threads_;

  // Admission: dispatch() calls between their look at `accepting_` and their enqueue are counted,
  // and shutdown() waits (on core's wait_cv) until none is left before the loops may finish.
  std::atomic<bool> accepting_{true};
  std::atomic<int> dispatching_{0};
  std::mutex shutdown_mutex_;
  bool shut_down_ = false;
};

}  // namespace statusstack::webhooks::detail
