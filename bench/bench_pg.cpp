// bench_pg: the PostgreSQL store's figures (issue 17), on a private PostgreSQL cluster this program
// starts (initdb in a fresh temp dir under --dir, /var/tmp by default: the same disk as the SQLite
// store's file; the server's defaults, so fsync on and synchronous_commit on) and removes at the end.
//
//   delivery  N events (--events, 30,000; --payload-bytes, 600-byte JSON) to one HTTP receiver on
//             loopback (--url, nginx from bench/run.sh), dispatch_many() in batches of 100 from one
//             process, timed from the first dispatch until every delivery is final: with the
//             in-memory Dispatcher, the SQLite store (a file in --dir) and the PostgreSQL store with
//             1, 2 and 3 instances. Instances past the first are processes of their own (this
//             program again, with a hidden --instance role) that only deliver; the first one
//             dispatches everything and its flush() waits until nothing is pending in the whole
//             queue. Delivered rows are deleted (delivered_retention 0). A fresh database per run.
//   queue     the internal pg::Queue alone, no HTTP: enqueue() in batches of 100 into an empty
//             table, then claim(50) + finish() of every row (delivered, rows deleted) with 1 and
//             with 3 worker threads, each with its own connection. The prototype of issue 17 did
//             58-64 k rows/s enqueue and 34-47 k claims + finishes/s with 3 workers.
//
// Rounds (--rounds, 3) alternate the order of the delivery configurations, so that none always runs
// on a warmer (or busier) machine. Each run also records where the CPU went: the dispatching
// processes' CPU per event, the PostgreSQL server's (postmaster, live backends and the ones it
// reaped) and how busy the whole machine was. One line per run, a summary (best .. worst and the
// ratio to the in-memory Dispatcher of the same round) and one JSON line (`{"tool":"bench_pg",...}`)
// for bench/run.sh. About 2 minutes with the defaults on 2 cores.
//
//   bench_pg --url http://127.0.0.1:PORT/hook [--dir /var/tmp] [--rounds 3] [--events 30000]
//            [--queue-rows 30000] [--only dq]
//
// As root, initdb and postgres run as the `postgres` user (initdb refuses root). Every wait is
// bounded; only 127.0.0.1 is connected to. SIGINT and SIGTERM stop the server and remove its files.

#include "bench_payload.hpp"
#include "bench_util.hpp"
#include "store/pg_queue.hpp"

#include <statusstack/webhooks.hpp>
#include <statusstack/webhooks/postgres.hpp>

#include <dirent.h>
#include <fcntl.h>
#include <libpq-fe.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <atomic>
#include <cerrno>
#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>
#include <sstream>
#include <system_error>
#include <thread>

namespace ssw = statusstack::webhooks;
namespace pgq = statusstack::webhooks::detail::pg;
using Clock = std::chrono::steady_clock;

namespace {

constexpr const char* secret = "bench-secret-0123456789abcdef0123456789";

/// errno's message (std::strerror is not thread-safe).
std::string last_error() { return std::system_category().message(errno); }

void check(bool ok, const std::string& what) {
  if (!ok) throw std::runtime_error(what);
}

std::int64_t wall_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string load_average() {
  std::ifstream loadavg("/proc/loadavg");
  std::string one, five, fifteen;
  loadavg >> one >> five >> fifteen;
  return one + " " + five + " " + fifteen;
}

// --- processes ----------------------------------------------------------------------------------

/// What SIGINT or SIGTERM must undo: the server and the instances this program started, and the
/// server's directory. Guarded, because the signal thread may clean up while main is mid-run.
struct Started {
  std::mutex mutex;
  pid_t server = 0;
  std::string server_dir;
  std::vector<pid_t> instances;
};
Started started;

/// Waits (polling, at most `timeout`) for `pid` to end. Its wait status, or nullopt when it still runs.
std::optional<int> wait_for(pid_t pid, std::chrono::milliseconds timeout) {
  const Clock::time_point give_up = Clock::now() + timeout;
  for (;;) {
    int status = 0;
    const pid_t done = ::waitpid(pid, &status, WNOHANG);
    if (done == pid) return status;
    if (done < 0 && errno != EINTR) return 0;  // not ours any more (reaped): nothing to wait for
    if (Clock::now() >= give_up) return std::nullopt;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

/// Signals `pid`, waits up to `grace`, then SIGKILLs it and waits (bounded) again.
void end_process(pid_t pid, int signal, std::chrono::milliseconds grace) {
  if (pid <= 0) return;
  ::kill(pid, signal);
  if (wait_for(pid, grace)) return;
  ::kill(pid, SIGKILL);
  static_cast<void>(wait_for(pid, std::chrono::seconds(5)));
}

/// fork() + exec of `argv`, with stdin, stdout and stderr on the given descriptors (-1: /dev/null).
/// `die_with_parent`: SIGKILL when this program dies (an instance must not outlive a killed bench).
/// Everything the child does before exec is async-signal-safe: the parent has threads.
pid_t spawn(const std::vector<std::string>& argv, int in, int out, int err, bool die_with_parent) {
  std::vector<char*> args;
  for (const std::string& arg : argv) args.push_back(const_cast<char*>(arg.c_str()));
  args.push_back(nullptr);
  const int null_fd = ::open("/dev/null", O_RDWR | O_CLOEXEC);
  check(null_fd >= 0, "cannot open /dev/null: " + last_error());
  const pid_t pid = ::fork();
  if (pid == 0) {
    // The parent blocks SIGINT and SIGTERM for its signal thread: the child must get them.
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    if (die_with_parent) ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    ::dup2(in >= 0 ? in : null_fd, 0);
    ::dup2(out >= 0 ? out : null_fd, 1);
    ::dup2(err >= 0 ? err : null_fd, 2);
    ::execvp(args[0], args.data());
    ::_exit(127);
  }
  const int fork_errno = errno;
  ::close(null_fd);
  errno = fork_errno;
  check(pid > 0, "fork: " + last_error());
  return pid;
}

/// Runs `argv` to its end (at most `timeout`: then it is killed), its output into `log`. Exit code,
/// or -1 when killed or timed out.
int run_to_end(const std::vector<std::string>& argv, const std::string& log,
               std::chrono::milliseconds timeout) {
  const int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  check(fd >= 0, "cannot create " + log + ": " + last_error());
  const pid_t pid = spawn(argv, -1, fd, fd, true);
  ::close(fd);
  std::optional<int> status = wait_for(pid, timeout);
  if (!status) {
    ::kill(pid, SIGKILL);
    static_cast<void>(wait_for(pid, std::chrono::seconds(5)));
    return -1;
  }
  return WIFEXITED(*status) ? WEXITSTATUS(*status) : -1;
}

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

/// CPU (user + system) of `pid` from /proc/PID/stat, in clock ticks; with `reaped`, also what its
/// children that ended and were waited for used. `ppid` gets its parent. False: no such process.
bool process_ticks(pid_t pid, bool reaped, long long& ticks, pid_t& ppid) {
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string text;
  if (!std::getline(stat, text)) return false;
  const std::size_t paren = text.rfind(')');  // the command name may hold spaces and parentheses
  if (paren == std::string::npos) return false;
  std::istringstream fields(text.substr(paren + 2));
  std::vector<std::string> field;  // field[0] is stat's 3rd field (state)
  for (std::string f; fields >> f && field.size() < 15;) field.push_back(f);
  if (field.size() < 15) return false;
  ppid = static_cast<pid_t>(std::stol(field[1]));
  ticks = std::stoll(field[11]) + std::stoll(field[12]);               // utime, stime
  if (reaped) ticks += std::stoll(field[13]) + std::stoll(field[14]);  // cutime, cstime
  return true;
}

/// CPU the PostgreSQL server used so far, in microseconds: the postmaster, its live children (the
/// backends, the checkpointer, the WAL writer...) and the children it reaped (backends that ended).
double server_cpu_us(pid_t postmaster) {
  long long total = 0;
  pid_t ppid = 0;
  if (!process_ticks(postmaster, true, total, ppid)) return 0;
  if (DIR* proc = ::opendir("/proc")) {
    while (const dirent* entry = ::readdir(proc)) {
      const pid_t pid = static_cast<pid_t>(std::atol(entry->d_name));
      long long ticks = 0;
      if (pid > 0 && process_ticks(pid, false, ticks, ppid) && ppid == postmaster) total += ticks;
    }
    ::closedir(proc);
  }
  return static_cast<double>(total) * 1e6 / static_cast<double>(::sysconf(_SC_CLK_TCK));
}

/// The whole machine's CPU time so far (/proc/stat, in ticks summed over the cores): to tell how
/// busy the cores were during a run, and how much of it they waited for the disk.
struct MachineTicks {
  long long total = 0, idle = 0, iowait = 0;
  static MachineTicks now() {
    std::ifstream stat("/proc/stat");
    std::string cpu;
    long long user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0, steal = 0;
    stat >> cpu >> user >> nice >> system >> idle >> iowait >> irq >> softirq >> steal;
    return {user + nice + system + idle + iowait + irq + softirq + steal, idle, iowait};
  }
};

/// Busy share of all cores between two readings, and the share waiting for I/O: percent.
std::pair<double, double> busy_and_iowait(const MachineTicks& before, const MachineTicks& after) {
  const double total = static_cast<double>(std::max(1LL, after.total - before.total));
  const double idle = static_cast<double>(after.idle - before.idle);
  const double iowait = static_cast<double>(after.iowait - before.iowait);
  return {(total - idle - iowait) / total * 100, iowait / total * 100};
}

/// fdatasync() after an 8 KiB write, overwriting a 4 MiB file in turn (as PostgreSQL reuses its WAL
/// segments), in `dir`: the floor under every commit the server makes there (fsync on). Milliseconds.
std::vector<double> fdatasync_latency(const std::string& dir, int samples) {
  const std::string file = dir + "/probe";
  const int fd = ::open(file.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  check(fd >= 0, "cannot create " + file + ": " + last_error());
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
    ms.push_back(bench::seconds_since(start) * 1000);
  }
  ::close(fd);
  ::unlink(file.c_str());
  check(written, "cannot write " + file + ": " + last_error());
  return ms;
}

// --- the private PostgreSQL cluster -------------------------------------------------------------

/// The newest /usr/lib/postgresql/<version>/bin that has initdb and postgres, or "".
std::string server_bin() {
  namespace fs = std::filesystem;
  std::error_code ignored;
  int best = -1;
  std::string found;
  for (const auto& entry : fs::directory_iterator("/usr/lib/postgresql", ignored)) {
    const std::string version = entry.path().filename().string();
    const fs::path bin = entry.path() / "bin";
    if (!version.empty() && version.find_first_not_of("0123456789") == std::string::npos &&
        fs::exists(bin / "initdb", ignored) && fs::exists(bin / "postgres", ignored) &&
        std::stoi(version) > best) {
      best = std::stoi(version);
      found = bin.string();
    }
  }
  return found;
}

/// A loopback port nobody listens on now (closed again: the server binds it next).
int free_loopback_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  check(fd >= 0, "socket: " + last_error());
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof address;
  const bool bound = ::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0 &&
                     ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) == 0;
  ::close(fd);
  check(bound, "no free port on 127.0.0.1");
  return ntohs(address.sin_port);
}

/// As root the server's programs run as `postgres` (setpriv execs them: the pid is the program's
/// own, so signals reach it).
std::vector<std::string> as_server_user(std::vector<std::string> argv) {
  if (::geteuid() != 0) return argv;
  std::vector<std::string> wrapped = {"setpriv", "--reuid=postgres", "--regid=postgres", "--init-groups",
                                      "--"};
  wrapped.insert(wrapped.end(), argv.begin(), argv.end());
  return wrapped;
}

/// Removes the server's directory (as root it holds files of the postgres user: root may).
void remove_tree(const std::string& path) {
  std::error_code ignored;
  if (!path.empty()) std::filesystem::remove_all(path, ignored);
}

/// A PostgreSQL cluster of its own in a fresh temp dir under `base`, listening on 127.0.0.1 on a free
/// port (its unix socket in that dir); stopped (SIGINT: fast shutdown) and removed by the destructor.
class Cluster {
 public:
  explicit Cluster(const std::string& base) : bin_(server_bin()) {
    check(!bin_.empty(), "PostgreSQL's server is not installed (apt-get install postgresql)");
    std::string pattern = base + "/ssw-pg-bench.XXXXXX";
    check(::mkdtemp(pattern.data()) != nullptr, "mkdtemp in " + base + ": " + last_error());
    dir_ = pattern;
    {
      const std::lock_guard<std::mutex> lock(started.mutex);
      started.server_dir = dir_;
    }
    try {
      start();
    } catch (...) {
      stop();
      throw;
    }
  }
  ~Cluster() { stop(); }
  Cluster(const Cluster&) = delete;
  Cluster& operator=(const Cluster&) = delete;

  std::string uri(const std::string& database) const {
    return "postgresql://postgres@127.0.0.1:" + std::to_string(port_) + "/" + database +
           "?connect_timeout=10";
  }
  pid_t pid() const { return pid_; }
  const std::string& dir() const { return dir_; }

 private:
  void start() {
    if (::geteuid() == 0) {
      // NOLINTNEXTLINE(concurrency-mt-unsafe): called before any other thread looks up users
      const passwd* user = ::getpwnam("postgres");
      check(user != nullptr, "running as root, and there is no postgres user to run the server as");
      check(::chown(dir_.c_str(), user->pw_uid, user->pw_gid) == 0, "chown " + dir_ + ": " + last_error());
    }
    const std::string data = dir_ + "/data";
    const std::string log = dir_ + "/initdb.log";
    const int made =
        run_to_end(as_server_user({bin_ + "/initdb", "--pgdata=" + data, "--username=postgres",
                                   "--auth=trust", "--encoding=UTF8", "--no-locale", "--no-sync"}),
                   log, std::chrono::seconds(120));
    check(made == 0, "initdb failed:\n" + read_file(log));
    // A port taken between free_loopback_port() and the server's bind: another one (bounded).
    for (int attempt = 0; attempt < 3; ++attempt) {
      port_ = free_loopback_port();
      const std::string server_log = dir_ + "/server.log";
      const int fd = ::open(server_log.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
      check(fd >= 0, "cannot create " + server_log + ": " + last_error());
      pid_ = spawn(as_server_user({bin_ + "/postgres", "-D", data, "-p", std::to_string(port_), "-c",
                                   "listen_addresses=127.0.0.1", "-c", "unix_socket_directories=" + dir_,
                                   "-c", "logging_collector=off"}),
                   -1, fd, fd, false);
      ::close(fd);
      {
        const std::lock_guard<std::mutex> lock(started.mutex);
        started.server = pid_;
      }
      const Clock::time_point give_up = Clock::now() + std::chrono::seconds(30);
      bool ended = false;
      while (Clock::now() < give_up) {
        const int ready = run_to_end(
            {bin_ + "/pg_isready", "--host=127.0.0.1", "--port=" + std::to_string(port_), "--timeout=1"},
            dir_ + "/isready.log", std::chrono::seconds(5));
        if (ready == 0) return;
        if (wait_for(pid_, std::chrono::milliseconds(100))) {
          ended = true;
          break;
        }
      }
      const std::string why = read_file(server_log);
      if (!ended) throw std::runtime_error("PostgreSQL not ready after 30 s:\n" + why);
      pid_ = 0;
      if (attempt == 2) throw std::runtime_error("PostgreSQL ended at start:\n" + why);
    }
  }

  void stop() {
    const std::lock_guard<std::mutex> lock(started.mutex);
    if (started.server > 0) end_process(started.server, SIGINT, std::chrono::seconds(10));
    started.server = 0;
    remove_tree(started.server_dir);
    started.server_dir.clear();
    pid_ = 0;
  }

  std::string bin_;
  std::string dir_;
  int port_ = 0;
  pid_t pid_ = 0;
};

/// One libpq connection for the bench's own statements (databases, settings).
class Connection {
 public:
  explicit Connection(const std::string& conninfo) : connection_(PQconnectdb(conninfo.c_str())) {
    if (PQstatus(connection_) != CONNECTION_OK) {
      const std::string message = PQerrorMessage(connection_);
      PQfinish(connection_);
      throw std::runtime_error("cannot connect to PostgreSQL: " + message);
    }
  }
  ~Connection() { PQfinish(connection_); }
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  /// The first column of the first row ("" when none); throws when the statement fails.
  std::string value(const std::string& sql) {
    PGresult* result = PQexec(connection_, sql.c_str());
    const ExecStatusType status = PQresultStatus(result);
    std::string text;
    if (status == PGRES_TUPLES_OK && PQntuples(result) > 0) text = PQgetvalue(result, 0, 0);
    const bool ok = status == PGRES_TUPLES_OK || status == PGRES_COMMAND_OK;
    const std::string message = ok ? "" : PQresultErrorMessage(result);
    PQclear(result);
    check(ok, sql + ": " + message);
    return text;
  }

 private:
  PGconn* connection_;
};

/// A database made for one run (an empty queue and no dead rows of earlier runs to skip), dropped
/// afterwards, connections and all.
class Database {
 public:
  Database(const Cluster& cluster, std::string name) : cluster_(cluster), name_(std::move(name)) {
    Connection(cluster_.uri("postgres")).value("CREATE DATABASE " + name_);
  }
  ~Database() {
    try {
      Connection(cluster_.uri("postgres")).value("DROP DATABASE IF EXISTS " + name_ + " WITH (FORCE)");
    } catch (const std::exception& error) {
      std::fprintf(stderr, "bench_pg: %s\n", error.what());
    }
  }
  Database(const Database&) = delete;
  Database& operator=(const Database&) = delete;

  std::string uri() const { return cluster_.uri(name_); }

 private:
  const Cluster& cluster_;
  std::string name_;
};

// --- delivery throughput ------------------------------------------------------------------------

/// One endpoint at `url` with `concurrency` connections; room for every delivery of a run; one
/// attempt each (a failure is a failed run, not a retry that would blur the figure).
ssw::DispatcherOptions options_for(const std::string& url, std::size_t concurrency) {
  ssw::DispatcherOptions options;
  ssw::Endpoint endpoint;
  endpoint.name = "bench";
  endpoint.url = url;
  endpoint.secret = secret;
  endpoint.max_in_flight = concurrency;
  endpoint.options.allow_http = true;
  endpoint.options.allow_private_network = true;
  endpoint.options.timeout = std::chrono::seconds(60);
  options.endpoints = {endpoint};
  options.retry.max_attempts = 1;
  options.max_pending = 2'000'000;
  return options;
}

/// The PostgreSQL store with QueueSettings' defaults (what a user gets), rows deleted when delivered.
ssw::StoreOptions pg_store(const std::string& conninfo) {
  ssw::postgres::QueueSettings settings;
  settings.conninfo = conninfo;
  ssw::StoreOptions store = ssw::postgres::store(settings);
  store.delivered_retention = std::chrono::hours(0);
  return store;
}

enum class Kind { memory, sqlite, postgres };

/// One run's figures.
struct Run {
  double rate = 0;           // deliveries per second, first dispatch to all final
  double dispatch_s = 0;     // until the last dispatch_many() returned
  double cpu_us = 0;         // the Dispatchers' processes, per event
  double server_cpu_us = 0;  // PostgreSQL, per event
  double busy = 0, iow = 0;  // the machine's cores: percent busy, percent waiting for the disk
  std::string split;         // deliveries per instance
};

/// An instance of its own: this program with --instance, its stdin and stdout on pipes. It says
/// "ready" once its Dispatcher is on the queue, and stops when told (or when its stdin closes).
class Instance {
 public:
  Instance(const std::string& conninfo, const std::string& url, std::size_t concurrency) {
    int to_child[2], from_child[2];
    check(::pipe2(to_child, O_CLOEXEC) == 0 && ::pipe2(from_child, O_CLOEXEC) == 0, "pipe: " + last_error());
    pid_ = spawn({"/proc/self/exe", "--instance", conninfo, url, std::to_string(concurrency)}, to_child[0],
                 from_child[1], 2, true);
    ::close(to_child[0]);
    ::close(from_child[1]);
    to_ = to_child[1];
    from_ = from_child[0];
    const std::lock_guard<std::mutex> lock(started.mutex);
    started.instances.push_back(pid_);
  }
  ~Instance() {
    if (to_ >= 0) ::close(to_);
    if (from_ >= 0) ::close(from_);
    end_process(pid_, SIGKILL, std::chrono::seconds(5));
    const std::lock_guard<std::mutex> lock(started.mutex);
    started.instances.erase(std::remove(started.instances.begin(), started.instances.end(), pid_),
                            started.instances.end());
  }
  Instance(const Instance&) = delete;
  Instance& operator=(const Instance&) = delete;

  /// The next line it prints (without the newline), within `timeout`.
  std::string line(std::chrono::milliseconds timeout) {
    const Clock::time_point give_up = Clock::now() + timeout;
    for (;;) {
      const std::size_t end = buffer_.find('\n');
      if (end != std::string::npos) {
        std::string line = buffer_.substr(0, end);
        buffer_.erase(0, end + 1);
        return line;
      }
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(give_up - Clock::now());
      check(left.count() > 0, "an instance did not answer in time");
      pollfd wait{from_, POLLIN, 0};
      if (::poll(&wait, 1, static_cast<int>(left.count())) <= 0) continue;
      char chunk[512];
      const ssize_t got = ::read(from_, chunk, sizeof chunk);
      check(got > 0, "an instance ended (its messages are above)");
      buffer_.append(chunk, static_cast<std::size_t>(got));
    }
  }
  void stop() { check(::write(to_, "stop\n", 5) == 5, "cannot tell an instance to stop: " + last_error()); }
  /// Waits (bounded) for it to exit; its exit code.
  int join() {
    const std::optional<int> status = wait_for(pid_, std::chrono::seconds(30));
    check(status.has_value(), "an instance did not exit");
    pid_ = 0;
    return WIFEXITED(*status) ? WEXITSTATUS(*status) : -1;
  }

 private:
  pid_t pid_ = 0;
  int to_ = -1;
  int from_ = -1;
  std::string buffer_;
};

/// The --instance role: a Dispatcher on the queue that delivers what it claims. Prints "ready", waits
/// for a line on stdin (or its end: at most 10 minutes), shuts down and prints "done DELIVERED
/// FAILED TAKEN_OVER CPU_US" (CPU since ready).
int instance_main(const std::string& conninfo, const std::string& url, std::size_t concurrency) {
  try {
    ssw::DispatcherOptions options = options_for(url, concurrency);
    options.store = pg_store(conninfo);
    ssw::Dispatcher dispatcher(std::move(options));
    const double cpu_before = bench::process_cpu_us();
    std::printf("ready\n");
    std::fflush(stdout);
    pollfd wait{0, POLLIN, 0};
    ::poll(&wait, 1, 600'000);
    const double cpu = bench::process_cpu_us() - cpu_before;
    dispatcher.shutdown(std::chrono::seconds(10));
    const ssw::DispatcherStats stats = dispatcher.stats();
    std::printf("done %llu %llu %llu %.0f\n", static_cast<unsigned long long>(stats.delivered),
                static_cast<unsigned long long>(stats.failed),
                static_cast<unsigned long long>(stats.taken_over), cpu);
    std::fflush(stdout);
    return 0;
  } catch (const std::exception& error) {
    std::fprintf(stderr, "bench_pg --instance: %s\n", error.what());
    return 1;
  }
}

/// What every delivery run shares.
struct Setup {
  std::string dir;
  std::string url;
  std::size_t events = 0;
  std::size_t concurrency = 0;
  ssw::Event event;
  const Cluster* cluster = nullptr;
};

/// Delivers `setup.events` events: in memory, with a SQLite file, or with the PostgreSQL store and
/// `instances` instances (all but this process's own in processes of their own).
Run delivery_run(const Setup& setup, Kind kind, int instances, int round) {
  std::unique_ptr<Database> database;
  std::string sqlite_dir;
  ssw::DispatcherOptions options = options_for(setup.url, setup.concurrency);
  if (kind == Kind::postgres) {
    database = std::make_unique<Database>(
        *setup.cluster, "deliver_r" + std::to_string(round) + "_x" + std::to_string(instances));
    options.store = pg_store(database->uri());
  } else if (kind == Kind::sqlite) {
    std::string pattern = setup.dir + "/ssw-pg-bench-sqlite.XXXXXX";
    check(::mkdtemp(pattern.data()) != nullptr, "mkdtemp in " + setup.dir + ": " + last_error());
    sqlite_dir = pattern;
    options.store.path = sqlite_dir + "/store.db";
    options.store.delivered_retention = std::chrono::hours(0);
  }
  struct RemoveDir {
    std::string path;
    ~RemoveDir() { remove_tree(path); }
  } remove_sqlite{sqlite_dir};

  // The other instances first, all on the queue before the clock starts (their start-up is not
  // what is measured); this process's own Dispatcher makes or finds the schema like theirs.
  std::vector<std::unique_ptr<Instance>> others;
  for (int i = 1; i < instances; ++i) {
    others.push_back(std::make_unique<Instance>(database->uri(), setup.url, setup.concurrency));
  }
  for (auto& other : others) {
    check(other->line(std::chrono::seconds(60)) == "ready", "an instance did not start");
  }
  ssw::Dispatcher dispatcher(std::move(options));
  const std::vector<ssw::Event> batch(100, setup.event);
  const pid_t server = setup.cluster != nullptr ? setup.cluster->pid() : 0;
  const double server_before = kind == Kind::postgres ? server_cpu_us(server) : 0;
  const double cpu_before = bench::process_cpu_us();
  const MachineTicks machine_before = MachineTicks::now();
  const Clock::time_point start = Clock::now();
  for (std::size_t sent = 0; sent < setup.events; sent += batch.size()) {
    auto accepted = dispatcher.dispatch_many(batch);
    check(accepted.has_value(), "dispatch_many: " + (accepted ? std::string() : accepted.error().message));
  }
  Run run;
  run.dispatch_s = bench::seconds_since(start);
  // With the shared queue flush() returns when nothing is pending in the queue, whoever holds what.
  const bool flushed = dispatcher.flush(std::chrono::seconds(120));
  const double seconds = bench::seconds_since(start);
  const auto [busy, iow] = busy_and_iowait(machine_before, MachineTicks::now());
  double cpu = bench::process_cpu_us() - cpu_before;
  if (kind == Kind::postgres)
    run.server_cpu_us = (server_cpu_us(server) - server_before) / static_cast<double>(setup.events);
  check(flushed, "not every delivery was final after 120 s");

  std::uint64_t delivered = 0, failed = 0, taken_over = 0;
  std::vector<std::uint64_t> per_instance;
  for (auto& other : others) other->stop();
  for (auto& other : others) {
    unsigned long long d = 0, f = 0, t = 0;
    double other_cpu = 0;
    const std::string done = other->line(std::chrono::seconds(30));
    check(std::sscanf(done.c_str(), "done %llu %llu %llu %lf", &d, &f, &t, &other_cpu) == 4,
          "an instance said \"" + done + "\"");
    check(other->join() == 0, "an instance failed");
    per_instance.push_back(d);
    delivered += d;
    failed += f;
    taken_over += t;
    cpu += other_cpu;
  }
  dispatcher.shutdown(std::chrono::seconds(10));
  const ssw::DispatcherStats stats = dispatcher.stats();
  per_instance.insert(per_instance.begin(), stats.delivered);
  delivered += stats.delivered;
  failed += stats.failed;
  taken_over += stats.taken_over;
  check(delivered == setup.events && failed == 0,
        "delivered " + std::to_string(delivered) + " and failed " + std::to_string(failed) + " of " +
            std::to_string(setup.events) + " (taken over " + std::to_string(taken_over) + ")");
  for (std::size_t i = 0; i < per_instance.size(); ++i) {
    run.split += (i ? " + " : "") + std::to_string(per_instance[i]);
  }
  run.rate = static_cast<double>(setup.events) / seconds;
  run.cpu_us = cpu / static_cast<double>(setup.events);
  run.busy = busy;
  run.iow = iow;
  return run;
}

// --- the queue alone ----------------------------------------------------------------------------

/// `count` rows of `json`, in batches of 100, due now.
std::vector<std::vector<pgq::NewRow>> make_rows(std::size_t count, const std::string& json) {
  std::vector<std::vector<pgq::NewRow>> batches;
  const std::int64_t now = wall_ms();
  for (std::size_t i = 0; i < count; ++i) {
    if (i % 100 == 0) batches.emplace_back();
    pgq::NewRow row;
    char id[32];
    std::snprintf(id, sizeof id, "dlv_bench%012zu", i);
    row.id = id;
    row.endpoint = "bench";
    row.event_type = "incident.updated";
    row.event = json;
    row.accepted_at = now;
    row.due_at = now;
    batches.back().push_back(std::move(row));
  }
  return batches;
}

std::unique_ptr<pgq::Queue> open_queue(const std::string& conninfo) {
  auto queue = pgq::Queue::open(conninfo);
  check(queue.has_value(), "pg::Queue::open: " + (queue ? std::string() : queue.error().message));
  return std::move(*queue);
}

/// Rows per second enqueued into an empty table, one enqueue() (a statement and a commit) per batch.
double enqueue_rate(pgq::Queue& queue, const std::vector<std::vector<pgq::NewRow>>& batches,
                    std::size_t rows) {
  const Clock::time_point start = Clock::now();
  for (const auto& batch : batches) {
    auto done = queue.enqueue(batch);
    check(done.has_value(), "enqueue: " + (done ? std::string() : done.error().message));
  }
  return static_cast<double>(rows) / bench::seconds_since(start);
}

struct ClaimRun {
  double rate = 0;         // rows claimed and finished per second
  double claim_share = 0;  // of the workers' time, in claim() (the rest in finish())
  // The first worker's claim() and finish() call times, ms: median of the first and of the last
  // tenth of its claims (does a claim slow down as the table fills with deleted rows?), finish().
  double claim_first_ms = 0, claim_last_ms = 0, finish_ms = 0;
};

/// Every row of the queue claimed 50 at a time and finished as delivered (rows deleted, as the
/// Dispatcher does with delivered_retention 0) by `workers` threads, each on its own connection.
ClaimRun claim_finish_rate(const std::string& conninfo, int workers, std::size_t rows) {
  std::vector<std::unique_ptr<pgq::Queue>> queues;
  for (int w = 0; w < workers; ++w) queues.push_back(open_queue(conninfo));
  std::atomic<std::size_t> finished{0};
  std::atomic<bool> go{false};
  std::vector<double> claim_s(static_cast<std::size_t>(workers)), finish_s(static_cast<std::size_t>(workers));
  std::vector<std::string> errors(static_cast<std::size_t>(workers));
  std::vector<double> claim_ms, finish_ms;  // the first worker's
  std::vector<std::thread> threads;
  for (int w = 0; w < workers; ++w) {
    threads.emplace_back([&, w] {
      const auto me = static_cast<std::size_t>(w);
      pgq::Queue& queue = *queues[me];
      const std::string owner = "bench-worker-" + std::to_string(w);
      while (!go.load()) std::this_thread::yield();
      std::vector<pgq::FinalRow> finals;
      for (;;) {
        Clock::time_point before = Clock::now();
        auto claimed = queue.claim(50, wall_ms(), 30'000, owner);
        claim_s[me] += bench::seconds_since(before);
        if (me == 0) claim_ms.push_back(bench::seconds_since(before) * 1000);
        if (!claimed) {
          errors[me] = "claim: " + claimed.error().message;
          return;
        }
        // Empty: every row left is final or claimed by another worker (leased, so not due).
        if (claimed->empty()) return;
        finals.clear();
        const std::int64_t now = wall_ms();
        for (const pgq::ClaimedRow& row : *claimed) {
          pgq::FinalRow final;
          final.id = row.id;
          final.claim = row.claim;
          final.delivered = true;
          final.outcome.attempts = 1;
          final.outcome.last_status = 200;
          final.outcome.signed_at = now / 1000;
          final.outcome.first_attempt_at = now;
          final.outcome.last_attempt_at = now;
          finals.push_back(std::move(final));
        }
        before = Clock::now();
        auto fenced = queue.finish(finals, now, true);
        finish_s[me] += bench::seconds_since(before);
        if (me == 0) finish_ms.push_back(bench::seconds_since(before) * 1000);
        if (!fenced || !fenced->empty()) {
          errors[me] = fenced ? "finish: fenced out" : "finish: " + fenced.error().message;
          return;
        }
        finished.fetch_add(finals.size());
      }
    });
  }
  const Clock::time_point start = Clock::now();
  go.store(true);
  for (auto& thread : threads) thread.join();
  const double seconds = bench::seconds_since(start);
  for (const std::string& error : errors) check(error.empty(), error);
  check(finished.load() == rows,
        "claimed and finished " + std::to_string(finished.load()) + " of " + std::to_string(rows) + " rows");
  auto drained = queues.front()->drained();
  check(drained.has_value() && *drained, "rows left pending in the queue");
  double claiming = 0, total = 0;
  for (std::size_t w = 0; w < claim_s.size(); ++w) {
    claiming += claim_s[w];
    total += claim_s[w] + finish_s[w];
  }
  ClaimRun run;
  run.rate = static_cast<double>(rows) / seconds;
  run.claim_share = total > 0 ? claiming / total : 0;
  const std::size_t tenth = std::max<std::size_t>(1, claim_ms.size() / 10);
  std::vector<double> first(claim_ms.begin(), claim_ms.begin() + static_cast<std::ptrdiff_t>(tenth));
  std::vector<double> last(claim_ms.end() - static_cast<std::ptrdiff_t>(tenth), claim_ms.end());
  run.claim_first_ms = bench::percentile(first, 0.5);
  run.claim_last_ms = bench::percentile(last, 0.5);
  run.finish_ms = bench::percentile(finish_ms, 0.5);
  return run;
}

// --- output -------------------------------------------------------------------------------------

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

double median(std::vector<double> values) { return bench::percentile(values, 0.5); }
double lowest(const std::vector<double>& v) { return v.empty() ? 0 : *std::min_element(v.begin(), v.end()); }
double highest(const std::vector<double>& v) { return v.empty() ? 0 : *std::max_element(v.begin(), v.end()); }

/// One delivery configuration over the rounds.
struct Config {
  std::string key;
  std::string label;
  Kind kind;
  int instances;
  std::vector<Run> runs;
  std::vector<double> ratios;  // to the in-memory Dispatcher of the same round

  std::vector<double> of(double Run::*field) const {
    std::vector<double> values;
    for (const Run& run : runs) values.push_back(run.*field);
    return values;
  }
};

/// A queue figure over the rounds.
struct QueueFigure {
  std::string key;
  std::string label;
  std::string prototype;  // the prototype's range, for comparison ("" when none)
  std::vector<double> values;
  std::vector<double> claim_shares;
};

int bench_main(int argc, char** argv) {
  const bench::Flags flags(argc, argv,
                           {{"dir", "/var/tmp"},
                            {"rounds", "3"},
                            {"events", "30000"},
                            {"queue-rows", "30000"},
                            {"payload-bytes", "600"},
                            {"url", ""},
                            {"concurrency", "64"},
                            {"only", "dq"}});
  const int rounds = static_cast<int>(std::max(1LL, flags.integer("rounds")));
  const std::string only = flags.text("only");
  const bool deliveries = only.find('d') != std::string::npos;
  const bool queue_figures = only.find('q') != std::string::npos;
  Setup setup;
  setup.dir = flags.text("dir");
  setup.url = flags.text("url");
  setup.events = static_cast<std::size_t>(std::max(100LL, flags.integer("events"))) / 100 * 100;
  setup.concurrency = static_cast<std::size_t>(std::max(1LL, flags.integer("concurrency")));
  setup.event = bench::event_of_size(static_cast<std::size_t>(flags.integer("payload-bytes")));
  const std::string json = ssw::to_json(setup.event);
  const auto queue_rows = static_cast<std::size_t>(std::max(100LL, flags.integer("queue-rows"))) / 100 * 100;
  // The receiver must be on this machine's loopback: this program connects nowhere else.
  if (deliveries && setup.url.rfind("http://127.0.0.1:", 0) != 0) {
    std::fprintf(
        stderr,
        "bench_pg: the delivery figures need --url http://127.0.0.1:PORT/... (a receiver on loopback "
        "answering 200; bench/run.sh starts nginx), or --only q\n");
    return 2;
  }

  const Clock::time_point run_start = Clock::now();
  const std::string load_before = load_average();
  std::vector<Config> configs = {{"memory", "in memory", Kind::memory, 1, {}, {}},
                                 {"sqlite", "SQLite store", Kind::sqlite, 1, {}, {}},
                                 {"pg1", "PostgreSQL, 1 instance", Kind::postgres, 1, {}, {}},
                                 {"pg2", "PostgreSQL, 2 instances", Kind::postgres, 2, {}, {}},
                                 {"pg3", "PostgreSQL, 3 instances", Kind::postgres, 3, {}, {}}};
  QueueFigure enqueue{"enqueue", "queue: enqueue, batches of 100", "58-64 k", {}, {}};
  QueueFigure claim1{"claim1", "queue: claim 50 + finish, 1 worker", "", {}, {}};
  QueueFigure claim3{"claim3", "queue: claim 50 + finish, 3 workers", "34-47 k", {}, {}};
  std::string server_version, server_settings;
  double sync_p50 = 0, sync_p99 = 0;

  try {
    const Cluster cluster(setup.dir);
    setup.cluster = &cluster;
    {
      Connection connection(cluster.uri("postgres"));
      server_version = connection.value("SHOW server_version");
      server_settings = "fsync " + connection.value("SHOW fsync") + ", synchronous_commit " +
                        connection.value("SHOW synchronous_commit") + ", shared_buffers " +
                        connection.value("SHOW shared_buffers");
    }
    std::printf("machine: %u cores, load average %s; PostgreSQL %s (%s) in %s, pid %d\n",
                std::thread::hardware_concurrency(), load_before.c_str(), server_version.c_str(),
                server_settings.c_str(), cluster.dir().c_str(), static_cast<int>(cluster.pid()));
    std::vector<double> sync_ms = fdatasync_latency(cluster.dir(), 200);
    sync_p50 = bench::percentile(sync_ms, 0.5);
    sync_p99 = bench::percentile(sync_ms, 0.99);
    std::printf(
        "disk: fdatasync after an 8 KiB write there p50 %.2f ms, p99 %.2f ms (the floor of each commit; "
        "claim + finish commits twice per 50 rows: at most %.0f rows/s per worker at p50)\n",
        sync_p50, sync_p99, sync_p50 > 0 ? 50 / (2 * sync_p50 / 1000) : 0.0);
    if (deliveries) {
      std::printf(
          "deliveries: %zu events of %zu bytes to %s, %zu connections per instance, dispatch_many of 100\n",
          setup.events, json.size(), setup.url.c_str(), setup.concurrency);
    }
    std::fflush(stdout);

    for (int round = 1; round <= rounds && deliveries; ++round) {
      std::vector<std::size_t> order = {0, 1, 2, 3, 4};
      if (round % 2 == 0) std::reverse(order.begin(), order.end());
      std::vector<Run> this_round(configs.size());
      for (std::size_t index : order) {
        Config& config = configs[index];
        const Run run = delivery_run(setup, config.kind, config.instances, round);
        this_round[index] = run;
        config.runs.push_back(run);
        std::printf("round %d  %-24s %7.0f deliveries/s (dispatched in %.2f s); CPU per event %.1f us", round,
                    config.label.c_str(), run.rate, run.dispatch_s, run.cpu_us);
        if (config.kind == Kind::postgres) {
          std::printf(" + PostgreSQL %.1f us; delivered per instance %s", run.server_cpu_us,
                      run.split.c_str());
        }
        std::printf("; cores %.0f%% busy, %.0f%% iowait\n", run.busy, run.iow);
        std::fflush(stdout);
      }
      for (std::size_t i = 0; i < configs.size(); ++i) {
        configs[i].ratios.push_back(this_round[i].rate / this_round[0].rate);
      }
    }

    for (int round = 1; round <= rounds && queue_figures; ++round) {
      const auto batches = make_rows(queue_rows, json);
      ClaimRun one, three;
      double fill1 = 0, fill3 = 0;
      {
        const Database database(cluster, "queue_r" + std::to_string(round) + "_w1");
        auto queue = open_queue(database.uri());
        fill1 = enqueue_rate(*queue, batches, queue_rows);
        one = claim_finish_rate(database.uri(), 1, queue_rows);
      }
      {
        const Database database(cluster, "queue_r" + std::to_string(round) + "_w3");
        auto queue = open_queue(database.uri());
        fill3 = enqueue_rate(*queue, batches, queue_rows);
        three = claim_finish_rate(database.uri(), 3, queue_rows);
      }
      enqueue.values.push_back(fill1);
      enqueue.values.push_back(fill3);
      claim1.values.push_back(one.rate);
      claim1.claim_shares.push_back(one.claim_share);
      claim3.values.push_back(three.rate);
      claim3.claim_shares.push_back(three.claim_share);
      std::printf(
          "round %d  queue, %zu rows: enqueue %.0f and %.0f rows/s; claim + finish: 1 worker %.0f/s (%.0f%% "
          "of its time in claim), 3 workers %.0f/s (%.0f%%)\n",
          round, queue_rows, fill1, fill3, one.rate, one.claim_share * 100, three.rate,
          three.claim_share * 100);
      std::printf(
          "round %d  queue, call times (median, ms): 1 worker claim %.2f in its first tenth, %.2f in its "
          "last, finish %.2f; 3 workers (the first's) claim %.2f, %.2f, finish %.2f\n",
          round, one.claim_first_ms, one.claim_last_ms, one.finish_ms, three.claim_first_ms,
          three.claim_last_ms, three.finish_ms);
      std::fflush(stdout);
    }
  } catch (const std::exception& error) {
    std::fprintf(stderr, "bench_pg: %s\n", error.what());
    return 1;
  }
  const std::string load_after = load_average();

  std::printf("\n");
  for (const Config& config : configs) {
    if (config.runs.empty()) continue;
    const std::vector<double> rates = config.of(&Run::rate);
    std::printf("%-24s best %7.0f, worst %7.0f deliveries/s; / in memory %.2f .. %.2f; CPU per event %.1f us",
                config.label.c_str(), highest(rates), lowest(rates), highest(config.ratios),
                lowest(config.ratios), median(config.of(&Run::cpu_us)));
    if (config.kind == Kind::postgres)
      std::printf(" + PostgreSQL %.1f us", median(config.of(&Run::server_cpu_us)));
    std::printf(" (medians)\n");
  }
  for (const QueueFigure* figure : {&enqueue, &claim1, &claim3}) {
    if (figure->values.empty()) continue;
    std::printf("%-38s best %7.0f, worst %7.0f rows/s%s\n", figure->label.c_str(), highest(figure->values),
                lowest(figure->values),
                figure->prototype.empty() ? "" : (" (prototype: " + figure->prototype + ")").c_str());
  }
  std::printf("load average %s at the start, %s at the end; runtime %.0f s\n", load_before.c_str(),
              load_after.c_str(), bench::seconds_since(run_start));

  std::string out =
      "{\"tool\":\"bench_pg\",\"cores\":" + std::to_string(std::thread::hardware_concurrency()) +
      ",\"load_before\":\"" + load_before + "\",\"load_after\":\"" + load_after + "\",\"server\":\"" +
      json_escape(server_version) + "\",\"settings\":\"" + json_escape(server_settings) + "\",\"dir\":\"" +
      json_escape(setup.dir) + "\",\"fdatasync_ms_p50\":" + number(sync_p50) +
      ",\"fdatasync_ms_p99\":" + number(sync_p99) + ",\"events\":" + std::to_string(setup.events) +
      ",\"payload_bytes\":" + std::to_string(json.size()) + ",\"queue_rows\":" + std::to_string(queue_rows) +
      ",\"rounds\":" + std::to_string(rounds) + ",\"delivery\":[";
  bool first = true;
  for (const Config& config : configs) {
    if (config.runs.empty()) continue;
    const std::vector<double> rates = config.of(&Run::rate);
    out += std::string(first ? "" : ",") + "{\"key\":\"" + config.key + "\",\"label\":\"" + config.label +
           "\",\"best\":" + number(highest(rates)) + ",\"worst\":" + number(lowest(rates)) +
           ",\"ratio_best\":" + number(highest(config.ratios)) +
           ",\"ratio_worst\":" + number(lowest(config.ratios)) +
           ",\"cpu_us\":" + number(median(config.of(&Run::cpu_us))) +
           ",\"server_cpu_us\":" + number(median(config.of(&Run::server_cpu_us))) +
           ",\"busy_pct\":" + number(median(config.of(&Run::busy))) +
           ",\"iowait_pct\":" + number(median(config.of(&Run::iow))) + "}";
    first = false;
  }
  out += "],\"queue\":[";
  first = true;
  for (const QueueFigure* figure : {&enqueue, &claim1, &claim3}) {
    if (figure->values.empty()) continue;
    out += std::string(first ? "" : ",") + "{\"key\":\"" + figure->key + "\",\"label\":\"" + figure->label +
           "\",\"best\":" + number(highest(figure->values)) + ",\"worst\":" + number(lowest(figure->values)) +
           ",\"prototype\":\"" + figure->prototype + "\",\"claim_share\":" +
           (figure->claim_shares.empty() ? "null" : number(median(figure->claim_shares))) + "}";
    first = false;
  }
  out += "]}";
  std::printf("%s\n", out.c_str());
  return 0;
}

/// SIGINT and SIGTERM (run.sh's timeout) are taken by this thread rather than by whichever thread
/// they land on: the instances and the server are ended and the server's files removed, then exit.
void clean_up_on_signal(sigset_t signals) {
  std::thread([signals] {
    int signal = 0;
    if (sigwait(&signals, &signal) != 0) return;
    const std::lock_guard<std::mutex> lock(started.mutex);
    for (const pid_t pid : started.instances) ::kill(pid, SIGKILL);
    if (started.server > 0) end_process(started.server, SIGINT, std::chrono::seconds(10));
    remove_tree(started.server_dir);
    std::fprintf(stderr, "bench_pg: stopped by signal %d; PostgreSQL stopped and removed\n", signal);
    std::_Exit(128 + signal);
  }).detach();
}

}  // namespace

int main(int argc, char** argv) {
  // The hidden role of the instances past the first (see Instance): positional arguments, so that it
  // stays out of the flags --help lists.
  if (argc == 5 && std::string(argv[1]) == "--instance") {
    return instance_main(argv[2], argv[3], static_cast<std::size_t>(std::stoul(argv[4])));
  }
  // Blocked before any thread starts, so that every thread inherits the mask and the signals go to
  // the cleaning thread alone.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  clean_up_on_signal(signals);
  return bench_main(argc, argv);
}
