// A webhook receiver written the way StatusStack's guide tells customers to write one:
//   1. verify X-StatusStack-Signature over the raw body bytes (401 when it fails),
//   2. parse the event (400 when it is not one: the sender does not retry a 4xx),
//   3. deduplicate on X-StatusStack-Delivery (the same on every retry of a delivery),
//   4. answer 200 at once and handle the event on another thread (senders wait at most 5 s).
//
// Usage: receiver [--port N] [--host ADDR] [--secret S]... [--expect N] [--timeout SECONDS]
//   --port 0 (the default) takes any free port. The first line printed is always
//   "listening on http://HOST:PORT", so scripts can read the port from it.
//   --secret may repeat (secret rotation: any one of them verifies); default
//   $STATUSSTACK_WEBHOOK_SECRET.
//   --expect N exits 0 once N events were handled, or 1 when --timeout (default 60 s) passes first.
// Without --expect it runs until SIGINT or SIGTERM.
//
// Each event handled prints one line:
//   accepted <delivery id> <path> <event type> <what happened>
// and each request refused prints "rejected <status> <path> <reason>" (duplicates: "duplicate").

#include <statusstack/webhooks/events.hpp>
#include <statusstack/webhooks/receiver.hpp>
#include <statusstack/webhooks/signature.hpp>

#include <httplib.h>

#include <signal.h>
#include <sys/socket.h>

#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <deque>
#include <iostream>
#include <mutex>
#include <string>
#include <thread>
#include <type_traits>
#include <unordered_set>
#include <variant>
#include <vector>

namespace ssw = statusstack::webhooks;
using namespace std::chrono_literals;

namespace {

// One line per event: what a real receiver would act on (page someone, update a dashboard...).
std::string describe(const ssw::Event& event) {
  return std::visit(
      [](const auto& e) -> std::string {
        using T = std::decay_t<decltype(e)>;
        if constexpr (std::is_same_v<T, ssw::ComponentStatusChanged>) {
          return e.component.name + ": " + std::string(e.component.previous_status.to_string()) + " -> " +
                 std::string(e.component.current_status.to_string());
        } else if constexpr (std::is_same_v<T, ssw::MonitorDown>) {
          return e.monitor.name + " is down: " + e.monitor.error.value_or("no error given");
        } else if constexpr (std::is_same_v<T, ssw::MonitorRecovered>) {
          return e.monitor.name + " is up again after " + std::to_string(e.downtime.duration.count()) + " s";
        } else if constexpr (std::is_same_v<T, ssw::MaintenanceScheduled>) {
          return e.maintenance.title + " from " + ssw::format_rfc3339(e.maintenance.scheduled_start);
        } else {  // the three incident events
          return e.incident.title + " (" + std::string(e.incident.status.to_string()) + ", impact " +
                 std::string(e.incident.impact.to_string()) + ")";
        }
      },
      event);
}

// Work handed from the request threads to the worker thread.
struct Job {
  std::string delivery_id;
  std::string path;
  ssw::Event event;
};

class Receiver {
 public:
  Receiver(std::vector<std::string> secrets, long expect) : verifier_(std::move(secrets)), expect_(expect) {}

  // Runs on httplib's request threads: verify, parse, deduplicate, queue, answer.
  void handle(const httplib::Request& req, httplib::Response& res) {
    ssw::Headers headers;
    for (const auto& [name, value] : req.headers) headers.push_back({name, value});

    // The signature over the raw body, exactly as received (never a re-serialised parse of it),
    // then the body parsed: a bad signature is 401, a bad body 400.
    auto event = ssw::verify_and_parse(verifier_, headers, req.body);
    if (!event) {
      return refuse(res, ssw::is_signature_error(event.error()) ? 401 : 400, req.path, event.error().message);
    }
    const std::string* delivery_id = ssw::find_header(headers, "X-StatusStack-Delivery");
    if (delivery_id == nullptr || delivery_id->empty()) {
      return refuse(res, 400, req.path, "X-StatusStack-Delivery: header is missing");
    }

    {
      const std::lock_guard<std::mutex> lock(mutex_);
      // A retry of something already handled: answer 200 again so the sender stops, do nothing.
      // (A real receiver keeps these ids in its database for longer than the sender retries: 24 h.)
      if (!seen_.insert(*delivery_id).second) {
        log("duplicate " + *delivery_id + " " + req.path + " (already handled)");
        res.set_content("ok (duplicate)\n", "text/plain");
        return;
      }
      jobs_.push_back(Job{*delivery_id, req.path, std::move(*event)});
    }
    changed_.notify_all();
    res.set_content("ok\n", "text/plain");  // 200: received; the work happens on the worker thread
  }

  // The worker thread: handles queued events one at a time until stop() and the queue is empty.
  void work() {
    std::unique_lock<std::mutex> lock(mutex_);
    for (;;) {
      changed_.wait(lock, [this] { return !jobs_.empty() || stopping_; });
      if (jobs_.empty()) return;
      Job job = std::move(jobs_.front());
      jobs_.pop_front();
      lock.unlock();
      log("accepted " + job.delivery_id + " " + job.path + " " + ssw::to_string(ssw::type_of(job.event)) +
          " " + describe(job.event));
      lock.lock();
      ++handled_;
      changed_.notify_all();
    }
  }

  // Waits until --expect events were handled, a signal arrived, or the timeout passed (with
  // --expect). True when the receiver should exit 0.
  bool wait_until_done(const sigset_t& signals, std::chrono::seconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
      {
        const std::lock_guard<std::mutex> lock(mutex_);
        if (expect_ > 0 && handled_ >= expect_) return true;
      }
      const timespec tick{0, 100'000'000};  // look at the count ten times a second
      if (sigtimedwait(&signals, nullptr, &tick) > 0) return expect_ == 0;
      if (expect_ > 0 && std::chrono::steady_clock::now() >= deadline) {
        const std::lock_guard<std::mutex> lock(mutex_);
        std::cerr << "receiver: timed out after " << timeout.count() << " s with " << handled_ << " of "
                  << expect_ << " events\n";
        return false;
      }
    }
  }

  void stop() {
    {
      const std::lock_guard<std::mutex> lock(mutex_);
      stopping_ = true;
    }
    changed_.notify_all();
  }

 private:
  void refuse(httplib::Response& res, int status, const std::string& path, const std::string& why) {
    log("rejected " + std::to_string(status) + " " + path + " " + why);
    res.status = status;
    res.set_content(why + "\n", "text/plain");
  }
  void log(const std::string& line) {
    const std::lock_guard<std::mutex> lock(output_);
    std::cout << line << std::endl;  // flushed at once: scripts read it as it happens
  }

  const ssw::Verifier verifier_;
  const long expect_;
  std::mutex mutex_;
  std::condition_variable changed_;
  std::unordered_set<std::string> seen_;
  std::deque<Job> jobs_;
  long handled_ = 0;
  bool stopping_ = false;
  std::mutex output_;
};

[[noreturn]] void usage(const std::string& problem) {
  std::cerr << "receiver: " << problem << "\n"
            << "usage: receiver [--port N] [--host ADDR] [--secret S]... [--expect N] [--timeout SECONDS]\n";
  std::exit(2);
}

long number(const std::string& option, const char* text) {
  char* end = nullptr;
  const long value = std::strtol(text, &end, 10);
  if (*text == '\0' || *end != '\0' || value < 0) usage(option + ": expected a non-negative integer");
  return value;
}

}  // namespace

int main(int argc, char** argv) {
  std::string host = "127.0.0.1";
  long port = 0;
  long expect = 0;
  long timeout_s = 60;
  std::vector<std::string> secrets;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (i + 1 >= argc) usage(arg + ": expected a value after it");
    const char* value = argv[++i];
    if (arg == "--port")
      port = number(arg, value);
    else if (arg == "--host")
      host = value;
    else if (arg == "--secret")
      secrets.emplace_back(value);
    else if (arg == "--expect")
      expect = number(arg, value);
    else if (arg == "--timeout")
      timeout_s = number(arg, value);
    else
      usage("unknown option " + arg);
  }
  if (secrets.empty()) {
    const char* env = std::getenv("STATUSSTACK_WEBHOOK_SECRET");
    if (env == nullptr || *env == '\0') usage("no secret: pass --secret or set STATUSSTACK_WEBHOOK_SECRET");
    secrets.emplace_back(env);
  }
  if (port > 65535) usage("--port: expected 0 to 65535");

  // SIGINT and SIGTERM are taken by wait_until_done (sigtimedwait), not by a handler: block them
  // before any thread starts, so every thread inherits the mask.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  Receiver receiver(std::move(secrets), expect);
  httplib::Server server;
  // httplib serves each connection on one pool thread and keeps an idle keep-alive connection
  // for up to 5 s: with its default 8 threads, a sender holding more connections than that would
  // wait. Give every connection a thread (the dispatcher opens at most max_in_flight per endpoint).
  server.new_task_queue = [] { return new httplib::ThreadPool(32); };
  server.set_keep_alive_timeout(2);
  const auto route = [&receiver](const httplib::Request& req, httplib::Response& res) {
    receiver.handle(req, res);
  };
  server.Post(".*", route);  // POST is what StatusStack sends; an endpoint may choose PUT or PATCH
  server.Put(".*", route);
  server.Patch(".*", route);

  // Debian's httplib listens with a backlog of 5: a sender opening a dozen connections at once
  // would see some of its SYNs dropped and retried a second later. Keep the listening socket and
  // listen() on it again with the system's maximum once it is bound (Linux updates the backlog).
  int listening_socket = -1;
  server.set_socket_options([&listening_socket](socket_t sock) {
    httplib::default_socket_options(sock);
    listening_socket = sock;
  });
  const int bound = port == 0
                        ? server.bind_to_any_port(host)
                        : (server.bind_to_port(host, static_cast<int>(port)) ? static_cast<int>(port) : -1);
  if (bound <= 0) {
    std::cerr << "receiver: cannot listen on " << host << ":" << port << "\n";
    return 2;
  }
  ::listen(listening_socket, SOMAXCONN);
  std::cout << "listening on http://" << host << ":" << bound << std::endl;

  std::thread worker([&receiver] { receiver.work(); });
  std::thread listener([&server] { server.listen_after_bind(); });
  // server.stop() does nothing before the accept loop runs: wait for it (bounded).
  for (int i = 0; i < 10000 && !server.is_running(); ++i) std::this_thread::sleep_for(1ms);
  const bool ok = receiver.wait_until_done(signals, std::chrono::seconds(timeout_s));
  server.stop();
  listener.join();
  receiver.stop();  // handles what is still queued, then the worker ends
  worker.join();
  return ok ? 0 : 1;
}
