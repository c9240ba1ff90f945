// bench_store: the durable store's figures (issue 14), each next to its target. A store file in a
// fresh temp dir on the machine's disk (--dir, /var/tmp by default), 600-byte events, synchronous FULL
// (Durability::power_loss) unless a line says otherwise:
//
//   a  committed throughput, 1 thread, dispatch_many() in batches of 100 and of 1000 (time until the
//      calls return)
//   b  committed throughput, 64 threads each calling dispatch() for 2 s
//   c  dispatch() call latency with the store and without it, producers paced at 20,000 calls/s in
//      all on absolute deadlines. 64 producers by default (each 312.5/s, one call every 3.2 ms): a
//      producer waits for its own commit, so with fewer producers a commit slower than their interval
//      turns the paced run into a closed loop that no longer offers 20,000/s (--latency-threads 8
//      shows that: the rate achieved is printed, and the share of calls that started late)
//   d  delivery throughput (dispatch N in batches of 1000 with at most --window undelivered, then
//      flush) with the store next to the in-memory Dispatcher, alternating, on the same loopback HTTP
//      receiver (--url, or the small epoll receiver in here)
//   e  time for the Dispatcher's constructor on a file holding 100,000 pending deliveries (each failed
//      once against a refused port and waits an hour for its retry), then how long StoreFile takes
//      for the same file's count by state and for reading the pending rows (where the time goes)
//   f  bytes on disk (database + log after the shutdown's checkpoint) per pending delivery
//
// a-c dispatch to an endpoint that accepts connections and never answers, so deliveries stay queued
// and the figures are the store's commits (and the queue's memory) alone. With --compare-normal 1,
// a-c are also measured with Durability::process_crash (synchronous NORMAL: no fsync per commit).
// First the machine, the temp dir's filesystem and fdatasync's own latency there (the floor under
// every FULL commit); then one line per round, one summary line per figure, and one JSON line
// (`{"tool":"bench_store",...}`) for bench/run.sh. About 90 s; --only a..e runs some.
//
//   bench_store [--dir /var/tmp] [--rounds 3] [--url http://127.0.0.1:PORT/] [--only abcde]
//               [--pending-file PATH]   (keeps e's file there, for a look with the sqlite3 shell)

#include "bench_payload.hpp"
#include "bench_util.hpp"

#include <statusstack/webhooks.hpp>

#include <fcntl.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>

#include <atomic>
#include <cctype>
#include <cerrno>
#include <climits>
#include <cstdlib>
#include <memory>
#include <sstream>
#include <system_error>
#include <thread>
#include <unordered_map>

namespace ssw = statusstack::webhooks;
using Clock = std::chrono::steady_clock;

namespace {

constexpr const char* secret = "bench-secret-0123456789abcdef0123456789";

/// errno's message (std::strerror is not thread-safe).
std::string last_error() { return std::system_category().message(errno); }

double ms_since(Clock::time_point start) {
  return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

/// A directory made under `base` for one store file; removed with what it holds.
class TempDir {
 public:
  explicit TempDir(const std::string& base) {
    std::string pattern = base + "/ssw-store-bench.XXXXXX";
    if (::mkdtemp(pattern.data()) == nullptr) {
      throw std::runtime_error("mkdtemp in " + base + ": " + last_error());
    }
    path_ = pattern;
  }
  ~TempDir() {
    for (const char* name : {"/store.db", "/store.db-wal", "/store.db-shm", "/store.db.lock", "/probe"}) {
      ::unlink((path_ + name).c_str());
    }
    ::rmdir(path_.c_str());
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  std::string store() const { return path_ + "/store.db"; }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

/// The mount that holds `path` (the longest mount point that is a prefix of its real path), as
/// "ext4 on /dev/vda mounted at /".
std::string filesystem_of(const std::string& path) {
  char resolved[PATH_MAX];
  if (::realpath(path.c_str(), resolved) == nullptr) return "unknown";
  const std::string real = resolved;
  std::ifstream mounts("/proc/self/mounts");
  std::string line, best_point, best;
  while (std::getline(mounts, line)) {
    std::istringstream fields(line);
    std::string device, point, type;
    fields >> device >> point >> type;
    const bool holds = point == "/" || real == point || real.rfind(point + "/", 0) == 0;
    if (holds && point.size() >= best_point.size()) {
      best_point = point;
      best = type;
      best += " on " + device;
      best += " mounted at " + point;
    }
  }
  return best.empty() ? "unknown" : best;
}

/// fdatasync() after an 8 KiB write, overwriting a 4 MiB file in turn (as a write-ahead log is
/// reused after a checkpoint): what one synchronous FULL commit costs at least. Milliseconds.
std::vector<double> fdatasync_latency(const std::string& dir, int samples) {
  const std::string file = dir + "/probe";
  const int fd = ::open(file.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) throw std::runtime_error("cannot create " + file + ": " + last_error());
  std::vector<char> block(8192, 'x');
  constexpr int blocks = 512;
  bool written = true;
  for (int i = 0; i < blocks; ++i) written = ::write(fd, block.data(), block.size()) == 8192 && written;
  written = ::fsync(fd) == 0 && written;
  std::vector<double> ms;
  for (int i = 0; i < samples && written; ++i) {
    written = ::pwrite(fd, block.data(), block.size(), static_cast<off_t>(i % blocks) * 8192) == 8192;
    const Clock::time_point start = Clock::now();
    written = ::fdatasync(fd) == 0 && written;
    ms.push_back(ms_since(start));
  }
  ::close(fd);
  ::unlink(file.c_str());
  if (!written) throw std::runtime_error("cannot write " + file + ": " + last_error());
  return ms;
}

/// A loopback port where connections are refused: bound, never listening.
class RefusedPort {
 public:
  RefusedPort() {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd_ < 0 || ::bind(fd_, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) {
      throw std::runtime_error("cannot bind a port on 127.0.0.1");
    }
    socklen_t length = sizeof address;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&address), &length);
    port_ = ntohs(address.sin_port);
  }
  ~RefusedPort() { ::close(fd_); }
  RefusedPort(const RefusedPort&) = delete;
  RefusedPort& operator=(const RefusedPort&) = delete;

  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_) + "/hook"; }

 private:
  int fd_ = -1;
  int port_ = 0;
};

/// An HTTP/1.1 keep-alive receiver on 127.0.0.1 answering 200 (empty body) to every request: one
/// epoll thread, bodies read and dropped. Requests must carry Content-Length (the library's do).
class Receiver {
 public:
  Receiver() {
    listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (listen_fd_ < 0 || ::bind(listen_fd_, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 ||
        ::listen(listen_fd_, 1024) != 0) {
      throw std::runtime_error("receiver: cannot listen on 127.0.0.1");
    }
    socklen_t length = sizeof address;
    ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&address), &length);
    port_ = ntohs(address.sin_port);
    epoll_fd_ = ::epoll_create1(EPOLL_CLOEXEC);
    stop_fd_ = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (epoll_fd_ < 0 || stop_fd_ < 0) throw std::runtime_error("receiver: epoll or eventfd failed");
    watch(listen_fd_, EPOLLIN, EPOLL_CTL_ADD);
    watch(stop_fd_, EPOLLIN, EPOLL_CTL_ADD);
    thread_ = std::thread([this] { run(); });
  }
  ~Receiver() {
    const std::uint64_t one = 1;
    if (::write(stop_fd_, &one, sizeof one) != sizeof one) std::fprintf(stderr, "receiver: cannot stop\n");
    thread_.join();
    for (const auto& connection : connections_) ::close(connection.first);
    ::close(listen_fd_);
    ::close(stop_fd_);
    ::close(epoll_fd_);
  }
  Receiver(const Receiver&) = delete;
  Receiver& operator=(const Receiver&) = delete;

  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_) + "/hook"; }
  std::uint64_t requests() const { return requests_.load(std::memory_order_relaxed); }

 private:
  struct Connection {
    std::string in;
    std::string out;
    bool continued = false;  // "100 Continue" sent for the request being read
    bool writing = false;    // EPOLLOUT wanted
  };

  void watch(int fd, std::uint32_t events, int op) const {
    epoll_event event{};
    event.events = events;
    event.data.fd = fd;
    ::epoll_ctl(epoll_fd_, op, fd, &event);
  }

  void run() {
    std::vector<epoll_event> events(256);
    for (;;) {
      const int ready = ::epoll_wait(epoll_fd_, events.data(), static_cast<int>(events.size()), 1000);
      for (int i = 0; i < ready; ++i) {
        const int fd = events[static_cast<std::size_t>(i)].data.fd;
        if (fd == stop_fd_) return;
        if (fd == listen_fd_) {
          accept_all();
          continue;
        }
        auto found = connections_.find(fd);
        if (found == connections_.end()) continue;
        if (!serve(fd, found->second)) {
          ::close(fd);
          connections_.erase(found);
        }
      }
    }
  }

  void accept_all() {
    for (;;) {
      const int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
      if (fd < 0) return;
      connections_.emplace(fd, Connection{});
      watch(fd, EPOLLIN, EPOLL_CTL_ADD);
    }
  }

  // Reads what arrived, answers every complete request, writes what it can. False: close.
  bool serve(int fd, Connection& connection) {
    char buffer[16384];
    for (;;) {
      const ssize_t got = ::read(fd, buffer, sizeof buffer);
      if (got > 0) {
        connection.in.append(buffer, static_cast<std::size_t>(got));
        continue;
      }
      if (got == 0) return false;
      if (errno == EAGAIN || errno == EWOULDBLOCK) break;
      if (errno != EINTR) return false;
    }
    std::size_t start = 0;
    for (;;) {
      const std::size_t end = connection.in.find("\r\n\r\n", start);
      if (end == std::string::npos) break;
      std::string head = connection.in.substr(start, end - start);
      for (char& c : head) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      std::size_t length = 0;
      if (const std::size_t at = head.find("\r\ncontent-length:"); at != std::string::npos) {
        length = std::strtoull(head.c_str() + at + 17, nullptr, 10);
      }
      if (connection.in.size() < end + 4 + length) {
        if (!connection.continued && head.find("\r\nexpect: 100-continue") != std::string::npos) {
          connection.out += "HTTP/1.1 100 Continue\r\n\r\n";
          connection.continued = true;
        }
        break;
      }
      start = end + 4 + length;
      connection.continued = false;
      connection.out += "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n";
      requests_.fetch_add(1, std::memory_order_relaxed);
    }
    connection.in.erase(0, start);
    while (!connection.out.empty()) {
      const ssize_t sent = ::write(fd, connection.out.data(), connection.out.size());
      if (sent > 0) {
        connection.out.erase(0, static_cast<std::size_t>(sent));
      } else if (sent < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
        break;
      } else if (sent < 0 && errno == EINTR) {
        continue;
      } else {
        return false;
      }
    }
    const bool want_out = !connection.out.empty();
    if (want_out != connection.writing) {
      connection.writing = want_out;
      watch(fd, want_out ? EPOLLIN | EPOLLOUT : EPOLLIN, EPOLL_CTL_MOD);
    }
    return true;
  }

  int listen_fd_ = -1;
  int epoll_fd_ = -1;
  int stop_fd_ = -1;
  int port_ = 0;
  std::unordered_map<int, Connection> connections_;  // the receiver thread's only
  std::atomic<std::uint64_t> requests_{0};
  std::thread thread_;
};

/// What every measurement shares.
struct Setup {
  std::string dir;  // where temp dirs for store files are made
  ssw::Event event;
  std::string silent_url;  // accepts connections, never answers
};

const char* durability_name(ssw::Durability durability) {
  return durability == ssw::Durability::power_loss ? "power_loss (synchronous FULL)"
                                                   : "process_crash (synchronous NORMAL)";
}

/// One endpoint at `url`; a store at `store_path` (empty: in memory). Room for every delivery a
/// measurement makes; a failed attempt is not tried again unless the caller says otherwise.
ssw::DispatcherOptions options_for(const std::string& url, const std::string& store_path,
                                   ssw::Durability durability, std::size_t max_in_flight) {
  ssw::DispatcherOptions options;
  ssw::Endpoint endpoint;
  endpoint.name = "bench";
  endpoint.url = url;
  endpoint.secret = secret;
  endpoint.max_in_flight = max_in_flight;
  endpoint.options.allow_http = true;
  endpoint.options.allow_private_network = true;
  endpoint.options.timeout = std::chrono::seconds(60);
  options.endpoints = {endpoint};
  options.retry.max_attempts = 1;
  options.max_pending = 2'000'000;
  options.store.path = store_path;
  options.store.durability = durability;
  return options;
}

void check(bool ok, const std::string& what) {
  if (!ok) throw std::runtime_error(what);
}

// --- a: dispatch_many from one thread -------------------------------------------------------------

/// Deliveries committed per second from one thread handing over `batch` events per call.
double batched_throughput(const Setup& setup, ssw::Durability durability, std::size_t batch,
                          std::size_t total) {
  const TempDir dir(setup.dir);
  ssw::Dispatcher dispatcher(options_for(setup.silent_url, dir.store(), durability, 1));
  const std::vector<ssw::Event> events(batch, setup.event);
  const Clock::time_point start = Clock::now();
  for (std::size_t sent = 0; sent < total; sent += batch) {
    auto accepted = dispatcher.dispatch_many(events);
    check(accepted.has_value(), "dispatch_many: " + (accepted ? std::string() : accepted.error().message));
  }
  const double seconds = bench::seconds_since(start);
  dispatcher.shutdown(std::chrono::milliseconds(0));
  return static_cast<double>(total) / seconds;
}

// --- b: dispatch() from many threads --------------------------------------------------------------

/// Deliveries committed per second from `threads` threads calling dispatch() for `seconds`.
double concurrent_throughput(const Setup& setup, ssw::Durability durability, int threads, double seconds) {
  const TempDir dir(setup.dir);
  ssw::Dispatcher dispatcher(options_for(setup.silent_url, dir.store(), durability, 1));
  std::atomic<int> ready{0};
  std::atomic<bool> go{false};
  std::atomic<std::uint64_t> calls{0};
  std::atomic<std::uint64_t> errors{0};
  Clock::time_point start;
  std::vector<std::thread> producers;
  producers.reserve(static_cast<std::size_t>(threads));
  for (int t = 0; t < threads; ++t) {
    producers.emplace_back([&] {
      ready.fetch_add(1);
      while (!go.load()) std::this_thread::yield();
      std::uint64_t mine = 0;
      while (bench::seconds_since(start) < seconds) {
        if (dispatcher.dispatch(setup.event)) {
          ++mine;
        } else {
          errors.fetch_add(1);
        }
      }
      calls.fetch_add(mine);
    });
  }
  while (ready.load() < threads) std::this_thread::yield();
  start = Clock::now();
  go.store(true);
  for (auto& producer : producers) producer.join();
  const double elapsed = bench::seconds_since(start);  // until the last call returned
  dispatcher.shutdown(std::chrono::milliseconds(0));
  check(errors.load() == 0, "dispatch() refused " + std::to_string(errors.load()) + " events");
  return static_cast<double>(calls.load()) / elapsed;
}

// --- c: dispatch() latency, paced -----------------------------------------------------------------

struct Latency {
  double p50_ms = 0, p90_ms = 0, p99_ms = 0, max_ms = 0;
  double rate = 0;  // calls per second achieved
  double late = 0;  // share of calls that started more than 1 ms after their planned time
};

/// dispatch() call durations from `threads` producers, each on an absolute schedule, together
/// `rate` calls per second for `seconds`. An empty store path: the in-memory Dispatcher.
Latency paced_latency(const Setup& setup, bool with_store, ssw::Durability durability, int threads,
                      double rate, double seconds) {
  const TempDir dir(setup.dir);
  ssw::Dispatcher dispatcher(options_for(setup.silent_url, with_store ? dir.store() : "", durability, 1));
  const double per_thread = rate / threads;
  const auto interval =
      std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(1.0 / per_thread));
  const auto calls = static_cast<std::size_t>(per_thread * seconds);
  std::vector<std::vector<double>> samples(static_cast<std::size_t>(threads));
  std::atomic<std::uint64_t> late{0};
  std::atomic<std::uint64_t> errors{0};
  const Clock::time_point start = Clock::now() + std::chrono::milliseconds(50);
  std::vector<std::thread> producers;
  producers.reserve(static_cast<std::size_t>(threads));
  for (int t = 0; t < threads; ++t) {
    producers.emplace_back([&, t] {
      auto& mine = samples[static_cast<std::size_t>(t)];
      mine.reserve(calls);
      // Threads start spread over one interval, so that calls do not come in bursts of `threads`.
      const Clock::time_point first = start + interval * t / threads;
      for (std::size_t i = 0; i < calls; ++i) {
        const Clock::time_point planned = first + interval * static_cast<Clock::rep>(i);
        std::this_thread::sleep_until(planned);
        const Clock::time_point before = Clock::now();
        if (before - planned > std::chrono::milliseconds(1)) late.fetch_add(1);
        const bool ok = dispatcher.dispatch(setup.event).has_value();
        mine.push_back(ms_since(before));
        if (!ok) errors.fetch_add(1);
      }
    });
  }
  for (auto& producer : producers) producer.join();
  const double elapsed = std::chrono::duration<double>(Clock::now() - start).count();
  dispatcher.shutdown(std::chrono::milliseconds(0));
  check(errors.load() == 0, "dispatch() refused " + std::to_string(errors.load()) + " events");
  std::vector<double> all;
  for (const auto& mine : samples) all.insert(all.end(), mine.begin(), mine.end());
  Latency result;
  result.rate = static_cast<double>(all.size()) / elapsed;
  result.late = static_cast<double>(late.load()) / static_cast<double>(std::max<std::size_t>(all.size(), 1));
  result.max_ms = all.empty() ? 0 : *std::max_element(all.begin(), all.end());
  result.p50_ms = bench::percentile(all, 0.50);
  result.p90_ms = bench::percentile(all, 0.90);
  result.p99_ms = bench::percentile(all, 0.99);
  return result;
}

// --- d: delivery throughput -----------------------------------------------------------------------

/// Events delivered per second: `total` dispatched in batches of 1000 with at most `window`
/// undelivered (a steady stream: a backlog of the whole run would make the in-memory Dispatcher pay
/// for first touching its memory, which the store's slower dispatch spreads out), then flushed. One
/// endpoint, `concurrency` connections to `url`. `cpu_us` gets the process's CPU time per event
/// (sender and, with the built-in receiver, receiver).
double delivery_throughput(const Setup& setup, const std::string& url, bool with_store,
                           ssw::Durability durability, std::size_t total, std::size_t concurrency,
                           std::size_t window, double& cpu_us) {
  const TempDir dir(setup.dir);
  ssw::DispatcherOptions options = options_for(url, with_store ? dir.store() : "", durability, concurrency);
  std::atomic<std::size_t> reported{0};
  options.on_report = [&reported](const ssw::DeliveryReport&) { reported.fetch_add(1); };
  ssw::Dispatcher dispatcher(std::move(options));
  const std::vector<ssw::Event> events(1000, setup.event);
  const double cpu_before = bench::process_cpu_us();
  const Clock::time_point start = Clock::now();
  for (std::size_t sent = 0; sent < total; sent += events.size()) {
    // Bounded polling: the reports come from the I/O thread.
    while (sent - reported.load() > window && bench::seconds_since(start) < 60) {
      std::this_thread::sleep_for(std::chrono::microseconds(200));
    }
    auto accepted = dispatcher.dispatch_many(events);
    check(accepted.has_value(), "dispatch_many: " + (accepted ? std::string() : accepted.error().message));
  }
  const bool flushed = dispatcher.flush(std::chrono::seconds(60));
  const double seconds = bench::seconds_since(start);
  cpu_us = (bench::process_cpu_us() - cpu_before) / static_cast<double>(total);
  const ssw::DispatcherStats stats = dispatcher.stats();
  dispatcher.shutdown(std::chrono::milliseconds(0));
  check(flushed && stats.delivered == total, "delivered " + std::to_string(stats.delivered) + " of " +
                                                 std::to_string(total) +
                                                 (flushed ? "" : " (flush timed out)"));
  return static_cast<double>(total) / seconds;
}

// --- e, f: reopening a file with 100,000 pending deliveries -----------------------------------------

/// Fills `path` with `count` pending deliveries: each failed once against a refused port and waits
/// an hour for its retry; then the Dispatcher shuts down, which parks them in the file.
void fill_pending(const Setup& setup, const std::string& path, const std::string& url, std::size_t count) {
  ssw::DispatcherOptions options = options_for(url, path, ssw::Durability::power_loss, 8);
  options.retry.max_attempts = 8;
  options.retry.schedule = {std::chrono::hours(1)};
  // Every delivery makes its first attempt: an open breaker would keep all but the first few waiting
  // without one.
  options.breaker.failure_threshold = 0;
  ssw::Dispatcher dispatcher(std::move(options));
  const std::vector<ssw::Event> events(1000, setup.event);
  for (std::size_t sent = 0; sent < count; sent += events.size()) {
    auto accepted = dispatcher.dispatch_many(events);
    check(accepted.has_value(), "dispatch_many: " + (accepted ? std::string() : accepted.error().message));
  }
  // Every delivery had its first attempt (bounded wait: the refusals take a few seconds).
  const Clock::time_point start = Clock::now();
  while (dispatcher.stats().retries < count && bench::seconds_since(start) < 60) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  const ssw::DispatcherStats stats = dispatcher.stats();
  check(stats.retries == count && stats.failed == 0,
        "filling the store: " + std::to_string(stats.retries) + " of " + std::to_string(count) +
            " deliveries waiting for their retry, " + std::to_string(stats.failed) + " failed");
  dispatcher.shutdown(std::chrono::milliseconds(0));
}

/// Milliseconds the constructor of a Dispatcher on `path` takes (it resumes every pending delivery).
double reopen_ms(const std::string& path, const std::string& url, std::size_t expected) {
  ssw::DispatcherOptions options = options_for(url, path, ssw::Durability::power_loss, 8);
  options.retry.max_attempts = 8;
  options.retry.schedule = {std::chrono::hours(1)};
  const Clock::time_point start = Clock::now();
  ssw::Dispatcher dispatcher(std::move(options));
  const double ms = ms_since(start);
  const std::uint64_t recovered = dispatcher.stats().recovered;
  dispatcher.shutdown(std::chrono::milliseconds(0));  // parks them again: the next reopen finds the same
  check(recovered == expected, "resumed " + std::to_string(recovered) + " of " + std::to_string(expected));
  return ms;
}

// --- output ---------------------------------------------------------------------------------------

/// One figure over the rounds, with its target (when it has one).
struct Figure {
  std::string key;    // JSON name
  std::string label;  // what it is, in words
  std::string unit;
  double target = 0;  // 0: no target (for information)
  bool at_least = true;
  std::vector<double> values;

  double low() const { return values.empty() ? 0 : *std::min_element(values.begin(), values.end()); }
  double high() const { return values.empty() ? 0 : *std::max_element(values.begin(), values.end()); }
  bool meets(double value) const { return at_least ? value >= target : value <= target; }
  std::string verdict() const {
    if (target == 0 || values.empty()) return "info";
    const auto met = static_cast<std::size_t>(
        std::count_if(values.begin(), values.end(), [this](double v) { return meets(v); }));
    return met == values.size() ? "met"
           : met == 0           ? "missed"
                      : "met in " + std::to_string(met) + " of " + std::to_string(values.size()) + " rounds";
  }
};

std::string number(double value) {
  char text[64];
  if (value >= 1000) {
    std::snprintf(text, sizeof text, "%.0f", value);
  } else if (value >= 10) {
    std::snprintf(text, sizeof text, "%.1f", value);
  } else if (value >= 1) {
    std::snprintf(text, sizeof text, "%.2f", value);
  } else {
    std::snprintf(text, sizeof text, "%.3f", value);
  }
  return text;
}

std::string json_escape(const std::string& text) {
  std::string out;
  for (char c : text) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  const bench::Flags flags(argc, argv,
                           {{"dir", "/var/tmp"},
                            {"rounds", "3"},
                            {"payload-bytes", "600"},
                            {"url", ""},
                            {"threads", "64"},
                            {"throughput-seconds", "2"},
                            {"latency-threads", "64"},
                            {"latency-rate", "20000"},
                            {"latency-seconds", "2"},
                            {"deliveries", "40000"},
                            {"window", "8000"},
                            {"concurrency", "64"},
                            {"pending", "100000"},
                            {"compare-normal", "1"},
                            {"only", "abcde"},
                            {"pending-file", ""}});
  const int rounds = static_cast<int>(std::max(1LL, flags.integer("rounds")));
  Setup setup;
  setup.dir = flags.text("dir");
  setup.event = bench::event_of_size(static_cast<std::size_t>(flags.integer("payload-bytes")));
  const std::size_t payload_bytes = ssw::to_json(setup.event).size();
  const bench::SilentListener silent;
  setup.silent_url = silent.url();
  const bool compare_normal = flags.integer("compare-normal") != 0;
  // Which measurements run (letters of the figures; e includes f): to profile one at a time.
  const std::string only = flags.text("only");
  const auto runs = [&only](char figure) { return only.find(figure) != std::string::npos; };
  const int threads = static_cast<int>(flags.integer("threads"));
  const int latency_threads = static_cast<int>(flags.integer("latency-threads"));
  const double latency_rate = flags.real("latency-rate");
  const auto deliveries = static_cast<std::size_t>(flags.integer("deliveries"));
  const auto pending = static_cast<std::size_t>(flags.integer("pending"));
  constexpr auto full = ssw::Durability::power_loss;
  constexpr auto normal = ssw::Durability::process_crash;

  std::unique_ptr<Receiver> own_receiver;
  std::string receiver_url = flags.text("url");
  if (receiver_url.empty()) {
    own_receiver = std::make_unique<Receiver>();
    receiver_url = own_receiver->url();
  }

  const Clock::time_point run_start = Clock::now();
  const std::string filesystem = filesystem_of(setup.dir);
  std::string load;
  {
    std::ifstream loadavg("/proc/loadavg");
    std::string one, five, fifteen;
    loadavg >> one >> five >> fifteen;
    load = one + " " + five + " " + fifteen;
  }
  std::vector<double> sync_ms;
  {
    const TempDir probe_dir(setup.dir);
    sync_ms = fdatasync_latency(probe_dir.path(), 300);
  }
  const double sync_p50 = bench::percentile(sync_ms, 0.50);
  const double sync_p99 = bench::percentile(sync_ms, 0.99);
  std::printf("machine: %u cores, load average %s; store files in %s (%s); %zu-byte events; %s unless said\n",
              std::thread::hardware_concurrency(), load.c_str(), setup.dir.c_str(), filesystem.c_str(),
              payload_bytes, durability_name(full));
  std::printf("disk: fdatasync after an 8 KiB write p50 %.2f ms, p99 %.2f ms (the floor of a FULL commit)\n",
              sync_p50, sync_p99);
  std::printf("receiver for d: %s\n",
              own_receiver ? "this program's epoll HTTP/1.1 receiver" : receiver_url.c_str());
  std::fflush(stdout);

  Figure a100{"a_batch100", "a. committed, 1 thread, dispatch_many of 100", "deliveries/s", 50000, true, {}};
  Figure a1000{
      "a_batch1000", "a. committed, 1 thread, dispatch_many of 1000", "deliveries/s", 50000, true, {}};
  Figure b{"b_threads",    "b. committed, " + std::to_string(threads) + " threads calling dispatch()",
           "deliveries/s", 50000,
           true,           {}};
  Figure c50{"c_p50_ms", "c. dispatch() p50 with the store", "ms", 0, false, {}};
  Figure c90{"c_p90_ms", "c. dispatch() p90 with the store", "ms", 0, false, {}};
  Figure c99{"c_p99_ms", "c. dispatch() p99 with the store", "ms", 2, false, {}};
  Figure c_rate{"c_rate",  "c. calls/s achieved with the store (offered " + number(latency_rate) + ")",
                "calls/s", 0,
                true,      {}};
  Figure m50{"c_memory_p50_ms", "c. dispatch() p50 without a store", "ms", 0, false, {}};
  Figure m99{"c_memory_p99_ms", "c. dispatch() p99 without a store", "ms", 0, false, {}};
  Figure d_store{"d_store", "d. delivered with the store", "events/s", 0, true, {}};
  Figure d_memory{"d_memory", "d. delivered in memory", "events/s", 0, true, {}};
  Figure d_store_cpu{"d_store_cpu_us", "d. process CPU per event with the store", "us", 0, false, {}};
  Figure d_memory_cpu{"d_memory_cpu_us", "d. process CPU per event in memory", "us", 0, false, {}};
  Figure d_ratio{"d_ratio", "d. store / memory, same round", "x", 0.8, true, {}};
  // The target is for 100,000 pending deliveries: another --pending is for information.
  Figure e{"e_reopen_ms", "e. constructor on " + std::to_string(pending) + " pending",
           "ms",          pending == 100'000 ? 150.0 : 0.0,
           false,         {}};
  Figure f{"f_bytes", "f. bytes on disk per pending delivery", "bytes", 1024, false, {}};
  Figure bn{"b_threads_normal", "b. the same with process_crash (NORMAL)", "deliveries/s", 0, true, {}};
  Figure a1000n{"a_batch1000_normal",
                "a. dispatch_many of 1000 with process_crash (NORMAL)",
                "deliveries/s",
                0,
                true,
                {}};
  Figure c99n{"c_p99_ms_normal", "c. dispatch() p99 with process_crash (NORMAL)", "ms", 0, false, {}};
  Figure c50n{"c_p50_ms_normal", "c. dispatch() p50 with process_crash (NORMAL)", "ms", 0, false, {}};

  try {
    for (int round = 1; round <= rounds && (runs('a') || runs('b')); ++round) {
      if (runs('a')) {
        a100.values.push_back(batched_throughput(setup, full, 100, 20'000));
        a1000.values.push_back(batched_throughput(setup, full, 1000, 50'000));
        std::printf("round %d  a: batches of 100 %.0f/s, of 1000 %.0f/s\n", round, a100.values.back(),
                    a1000.values.back());
      }
      if (runs('b')) {
        b.values.push_back(concurrent_throughput(setup, full, threads, flags.real("throughput-seconds")));
        std::printf("round %d  b: %d threads %.0f/s\n", round, threads, b.values.back());
      }
      if (compare_normal && runs('a')) {
        a1000n.values.push_back(batched_throughput(setup, normal, 1000, 50'000));
        std::printf("round %d  (NORMAL) a: batches of 1000 %.0f/s\n", round, a1000n.values.back());
      }
      if (compare_normal && runs('b')) {
        bn.values.push_back(concurrent_throughput(setup, normal, threads, flags.real("throughput-seconds")));
        std::printf("round %d  (NORMAL) b: %d threads %.0f/s\n", round, threads, bn.values.back());
      }
      std::fflush(stdout);
    }
    const double latency_seconds = flags.real("latency-seconds");
    for (int round = 1; round <= rounds && runs('c'); ++round) {
      // Alternate which goes first, so that neither always runs on a warmer (or busier) machine.
      Latency with{}, without{};
      if (round % 2 == 1) {
        with = paced_latency(setup, true, full, latency_threads, latency_rate, latency_seconds);
        without = paced_latency(setup, false, full, latency_threads, latency_rate, latency_seconds);
      } else {
        without = paced_latency(setup, false, full, latency_threads, latency_rate, latency_seconds);
        with = paced_latency(setup, true, full, latency_threads, latency_rate, latency_seconds);
      }
      c50.values.push_back(with.p50_ms);
      c90.values.push_back(with.p90_ms);
      c99.values.push_back(with.p99_ms);
      c_rate.values.push_back(with.rate);
      m50.values.push_back(without.p50_ms);
      m99.values.push_back(without.p99_ms);
      std::printf(
          "round %d  c: %d threads paced at %.0f/s: store p50 %.3f p90 %.3f p99 %.3f max %.1f ms (%.0f "
          "calls/s, "
          "%.0f%% late); memory p50 %.3f p90 %.3f p99 %.3f max %.1f ms\n",
          round, latency_threads, latency_rate, with.p50_ms, with.p90_ms, with.p99_ms, with.max_ms, with.rate,
          with.late * 100, without.p50_ms, without.p90_ms, without.p99_ms, without.max_ms);
      if (compare_normal) {
        const Latency n = paced_latency(setup, true, normal, latency_threads, latency_rate, latency_seconds);
        c50n.values.push_back(n.p50_ms);
        c99n.values.push_back(n.p99_ms);
        std::printf("round %d  (NORMAL) c: store p50 %.3f p90 %.3f p99 %.3f max %.1f ms (%.0f calls/s)\n",
                    round, n.p50_ms, n.p90_ms, n.p99_ms, n.max_ms, n.rate);
      }
      std::fflush(stdout);
    }
    const auto concurrency = static_cast<std::size_t>(flags.integer("concurrency"));
    const auto window = static_cast<std::size_t>(flags.integer("window"));
    for (int round = 1; round <= rounds && runs('d'); ++round) {
      double store = 0, memory = 0, store_cpu = 0, memory_cpu = 0;
      if (round % 2 == 1) {
        memory = delivery_throughput(setup, receiver_url, false, full, deliveries, concurrency, window,
                                     memory_cpu);
        store =
            delivery_throughput(setup, receiver_url, true, full, deliveries, concurrency, window, store_cpu);
      } else {
        store =
            delivery_throughput(setup, receiver_url, true, full, deliveries, concurrency, window, store_cpu);
        memory = delivery_throughput(setup, receiver_url, false, full, deliveries, concurrency, window,
                                     memory_cpu);
      }
      d_store_cpu.values.push_back(store_cpu);
      d_memory_cpu.values.push_back(memory_cpu);
      d_store.values.push_back(store);
      d_memory.values.push_back(memory);
      d_ratio.values.push_back(store / memory);
      std::printf(
          "round %d  d: %zu events, %zu connections, at most %zu undelivered: store %.0f/s, memory %.0f/s, "
          "ratio %.2f; CPU per event: store %.1f us, memory %.1f us\n",
          round, deliveries, concurrency, window, store, memory, store / memory, store_cpu, memory_cpu);
      std::fflush(stdout);
    }
    if (runs('e')) {
      const TempDir dir(setup.dir);
      // --pending-file keeps the file for a look with the sqlite3 shell.
      const std::string path = flags.text("pending-file").empty() ? dir.store() : flags.text("pending-file");
      for (const char* suffix : {"", "-wal", "-shm", ".lock"}) ::unlink((path + suffix).c_str());
      const RefusedPort refused;
      const Clock::time_point fill_start = Clock::now();
      fill_pending(setup, path, refused.url(), pending);
      const double fill_seconds = bench::seconds_since(fill_start);
      auto file = ssw::StoreFile::open(path);
      check(file.has_value(), "StoreFile::open: " + (file ? std::string() : file.error().message));
      auto counts = file->counts();
      check(counts.has_value() && counts->pending == pending,
            "the file holds " + std::to_string(counts ? counts->pending : 0) + " pending deliveries, not " +
                std::to_string(pending));
      std::printf(
          "e/f: filled in %.1f s: %llu bytes on disk (database + log, after the shutdown's checkpoint)\n",
          fill_seconds, static_cast<unsigned long long>(counts->file_bytes));
      for (int round = 1; round <= rounds; ++round) {
        e.values.push_back(reopen_ms(path, refused.url(), pending));
        auto again = file->counts();
        check(again.has_value(), "counts: " + (again ? std::string() : again.error().message));
        f.values.push_back(static_cast<double>(again->file_bytes) / static_cast<double>(again->pending));
        std::printf("round %d  e: constructor on %zu pending %.1f ms; f: %.0f bytes per pending delivery\n",
                    round, pending, e.values.back(), f.values.back());
        std::fflush(stdout);
      }
      // Where the constructor's time goes, read from outside through StoreFile on the same file:
      // counts() is the query the constructor runs for the paused endpoints (a count by state),
      // list() of the pending rows reads what resume() reads.
      Clock::time_point start = Clock::now();
      const bool counted = file->counts().has_value();
      const double counts_ms = ms_since(start);
      ssw::DeliveryQuery query;
      query.state = ssw::DeliveryState::pending;
      query.limit = pending;
      start = Clock::now();
      auto listed = file->list(query);
      const double list_ms = ms_since(start);
      check(counted && listed.has_value() && listed->size() == pending,
            "StoreFile::list of the pending failed");
      std::printf(
          "e breakdown (StoreFile, same file, warm cache): counts() %.1f ms, list() of the %zu pending %.1f "
          "ms\n",
          counts_ms, pending, list_ms);
    }
  } catch (const std::exception& error) {
    std::fprintf(stderr, "bench_store: %s\n", error.what());
    return 1;
  }

  std::vector<const Figure*> figures;
  for (const Figure* figure :
       {&a100,     &a1000,   &b,           &c50,          &c90, &c99, &c_rate, &m50, &m99,  &d_store,
        &d_memory, &d_ratio, &d_store_cpu, &d_memory_cpu, &e,   &f,   &a1000n, &bn,  &c50n, &c99n}) {
    if (!figure->values.empty()) figures.push_back(figure);
  }
  std::printf("\n");
  for (const Figure* figure : figures) {
    std::string target = figure->target == 0 ? ""
                                             : (figure->at_least ? " (target >= " : " (target <= ") +
                                                   number(figure->target) + ": " + figure->verdict() + ")";
    std::printf("%-58s %s .. %s %s%s\n", figure->label.c_str(), number(figure->low()).c_str(),
                number(figure->high()).c_str(), figure->unit.c_str(), target.c_str());
  }
  std::printf("runtime %.0f s\n", bench::seconds_since(run_start));

  std::string json =
      "{\"tool\":\"bench_store\",\"cores\":" + std::to_string(std::thread::hardware_concurrency()) +
      ",\"dir\":\"" + json_escape(setup.dir) + "\",\"filesystem\":\"" + json_escape(filesystem) +
      "\",\"load\":\"" + load +
      "\",\"durability\":\"power_loss\",\"payload_bytes\":" + std::to_string(payload_bytes) +
      ",\"fdatasync_ms_p50\":" + number(sync_p50) + ",\"fdatasync_ms_p99\":" + number(sync_p99) +
      ",\"rounds\":" + std::to_string(rounds) + ",\"figures\":[";
  for (std::size_t i = 0; i < figures.size(); ++i) {
    const Figure& figure = *figures[i];
    json += std::string(i ? "," : "") + "{\"key\":\"" + figure.key + "\",\"label\":\"" +
            json_escape(figure.label) + "\",\"unit\":\"" + figure.unit +
            "\",\"low\":" + number(figure.low()) + ",\"high\":" + number(figure.high()) + ",\"target\":" +
            (figure.target == 0
                 ? std::string("null")
                 : "\"" + std::string(figure.at_least ? ">= " : "<= ") + number(figure.target) + "\"") +
            ",\"verdict\":\"" + figure.verdict() + "\"}";
  }
  json += "]}";
  std::printf("%s\n", json.c_str());
  return 0;
}
