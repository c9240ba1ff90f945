#pragma once

// The Dispatcher's engine (src/dispatch/engine.hpp) turned by hand for unit tests: a manual clock,
// a transport that records each request and answers when the test says, and a bench that holds
// them with a recorder of the reports. Nothing here touches the network or sleeps.

#include "dispatch/endpoints.hpp"
#include "dispatch/engine.hpp"

#include "support/reports.hpp"

#include <catch2/catch.hpp>

#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace statusstack::webhooks::testing {

using detail::Clock;
using detail::Engine;
using detail::EngineParts;
using detail::Finished;
using detail::PreparedRequest;
using detail::SteadyTime;
using detail::Transport;
using detail::WallTime;
using std::chrono::milliseconds;

// A clock the test moves. Starts at an arbitrary point, far from either clock's epoch.
class ManualClock final : public Clock {
 public:
  SteadyTime now() const override { return SteadyTime(std::chrono::hours(1000)) + offset_; }
  WallTime wall() const override {
    return WallTime(std::chrono::seconds(1'800'000'000)) +
           std::chrono::duration_cast<WallTime::duration>(offset_);
  }
  void advance(milliseconds by) { offset_ += by; }

 private:
  SteadyTime::duration offset_{};
};

// One request the engine started, as the transport saw it.
struct Sent {
  std::string endpoint;
  std::string body;
  Headers headers;
  std::string header(std::string_view name) const {
    const std::string* value = find_header(headers, name);
    return value != nullptr ? *value : std::string();
  }
};

// Records every request; each waits for the test's answer (answer_next / answer_all). Shared with
// the test through a shared_ptr, since the engine owns the Transport object.
struct FakeWire {
  std::vector<Sent> sent;
  std::deque<void*> waiting;           // started, not answered yet, in order
  std::deque<std::string> waiting_to;  // the endpoint of each
  std::vector<Finished> answered;
  std::vector<void*> abandoned;

  void answer_next(int status, std::optional<std::chrono::seconds> retry_after = std::nullopt) {
    REQUIRE_FALSE(waiting.empty());
    Outcome outcome;
    outcome.status = status;
    outcome.retry_after = retry_after;
    answered.push_back(Finished{waiting.front(), outcome});
    waiting.pop_front();
    waiting_to.pop_front();
  }
  void answer_error(TransportError error) {
    REQUIRE_FALSE(waiting.empty());
    Outcome outcome;
    outcome.error = error;
    outcome.error_message = std::string("fake ") + to_string(error);
    answered.push_back(Finished{waiting.front(), outcome});
    waiting.pop_front();
    waiting_to.pop_front();
  }
  void answer_last(int status) {
    REQUIRE_FALSE(waiting.empty());
    std::swap(waiting.front(), waiting.back());
    std::swap(waiting_to.front(), waiting_to.back());
    answer_next(status);
  }
  /// Answers every waiting request with what `answer` says for its endpoint.
  template <class Answer>
  void answer_each(Answer answer) {
    while (!waiting.empty()) {
      answered.push_back(Finished{waiting.front(), answer(waiting_to.front())});
      waiting.pop_front();
      waiting_to.pop_front();
    }
  }
  void answer_all(int status) {
    while (!waiting.empty()) answer_next(status);
  }
};

class FakeTransport final : public Transport {
 public:
  explicit FakeTransport(std::shared_ptr<FakeWire> wire) : wire_(std::move(wire)) {}
  void start(void* token, PreparedRequest request) override {
    wire_->sent.push_back(Sent{request.config->endpoint.name, std::string(request.body), request.headers});
    wire_->waiting.push_back(token);
    wire_->waiting_to.push_back(request.config->endpoint.name);
  }
  void drive(std::vector<Finished>& finished) override {
    for (Finished& done : wire_->answered) finished.push_back(std::move(done));
    wire_->answered.clear();
  }
  milliseconds next_timeout() override { return milliseconds::max(); }
  void sleep(milliseconds) override {}
  void wake() override {}
  void abandon(std::vector<void*>& tokens) override {
    for (void* token : wire_->waiting) tokens.push_back(token);
    wire_->waiting.clear();
    wire_->waiting_to.clear();
  }

 private:
  std::shared_ptr<FakeWire> wire_;
};

// An engine on a manual clock and the fake transport, with its reports recorded.
struct Bench {
  std::shared_ptr<ManualClock> clock = std::make_shared<ManualClock>();
  std::shared_ptr<FakeWire> wire = std::make_shared<FakeWire>();
  Recorder recorder;
  std::unique_ptr<Engine> engine;

  explicit Bench(DispatcherOptions options) {
    recorder.install(options);
    EngineParts parts;
    parts.clock = clock;
    parts.transport = [wire = wire] { return std::make_unique<FakeTransport>(wire); };
    parts.threads = false;
    engine = std::make_unique<Engine>(std::move(options), std::move(parts));
  }
  // Turns the loops until nothing changes (twice: a finished attempt may make room for the next).
  void settle() {
    for (int i = 0; i < 3; ++i) engine->turn();
  }
  void advance(milliseconds by) {
    clock->advance(by);
    settle();
  }
  std::vector<DeliveryReport> reports() const { return recorder.all(); }
};

}  // namespace statusstack::webhooks::testing
