#pragma once

// Local fakes of the PagerDuty Events API v2 and the Datadog Events API v1, on HttpTestServer, that
// answer as the vendors' specifications say (the request rules are those of tests/schemas/, unknown
// names ignored): 202 with PagerDuty's dedup_key or Datadog's event, 400 with error messages for a
// body that breaks the rules (missing required fields, wrong enums, the documented length limits),
// 403 for a missing Datadog API key, and 429 or any other status when a test says so. They record what they
// received and answered, and the PagerDuty fake keeps the alerts its events opened, acknowledged and
// resolved. Test-only code; every member function is thread-safe.

#include "support/servers.hpp"

#include <chrono>
#include <cstddef>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace statusstack::webhooks::testing {

/// One request a fake received and how it answered it.
struct VendorExchange {
  RecordedRequest request;
  int status = 0;  ///< the status it answered
  std::string content_type;
  std::string body;  ///< the body it answered
};

/// Status answers a test forces on the next requests (before any checking of the body).
struct ForcedAnswers {
  std::size_t count = 0;
  int status = 429;
  std::optional<int> retry_after_seconds;  ///< sends Retry-After when set
};

/// Shared machinery of the two fakes (not used directly by tests).
class VendorFake {
 public:
  virtual ~VendorFake();
  VendorFake(const VendorFake&) = delete;
  VendorFake& operator=(const VendorFake&) = delete;

  /// The URL to send events to (e.g. "http://127.0.0.1:PORT/v2/enqueue").
  std::string url() const;
  /// Every exchange so far, in order of arrival.
  std::vector<VendorExchange> exchanges() const;
  /// The statuses answered so far, in order.
  std::vector<int> statuses() const;
  /// Waits until at least `n` requests have been answered; false if `timeout` passed first.
  bool wait_for_answers(std::size_t n, std::chrono::milliseconds timeout) const;
  /// The next `count` requests get `status` (429 by default) with a JSON error body, whatever they
  /// carry; `retry_after_seconds` adds a Retry-After header.
  void fail_next(std::size_t count, int status = 429, std::optional<int> retry_after_seconds = std::nullopt);
  /// Answers 429 to events beyond `events` within any sliding `window` (per routing key for
  /// PagerDuty, per API key for Datadog), as a vendor's rate limit would. 0 events: no limit.
  void set_rate_limit(std::size_t events, std::chrono::milliseconds window);

 protected:
  struct Answer {
    Answer() = default;
    Answer(int status_, std::string body_, std::string content_type_ = "application/json")
        : status(status_), body(std::move(body_)), content_type(std::move(content_type_)) {}
    int status = 202;
    std::string body;
    std::string content_type = "application/json";
    Headers headers;
  };
  VendorFake(std::string path, const TestCertificates* certs);
  /// Decides the answer to a POST on the API's path; called under no lock, one request at a time.
  virtual Answer answer(const RecordedRequest& request) = 0;
  /// The body of a forced or rate-limited error answer.
  virtual std::string error_body(int status) const = 0;
  /// The rate limit's key for a request ("" when it has none).
  virtual std::string limit_key(const RecordedRequest& request) const = 0;
  virtual std::string error_content_type() const { return "application/json"; }
  /// Starts serving; the derived constructor calls it once it is ready to answer.
  void start();
  /// Stops serving (joins the server's threads); the derived destructor calls it first, so no
  /// request reaches a half-destroyed fake.
  void stop();

 private:
  Reply handle(const RecordedRequest& request);

  std::string path_;
  const TestCertificates* certs_;
  mutable std::mutex mutex_;
  std::mutex answer_mutex_;  // one answer at a time: the fakes' state changes in request order
  std::vector<VendorExchange> exchanges_;
  ForcedAnswers forced_;
  std::size_t limit_events_ = 0;
  std::chrono::milliseconds limit_window_{0};
  std::map<std::string, std::vector<std::chrono::steady_clock::time_point>> accepted_at_;
  std::unique_ptr<HttpTestServer> server_;  // last: stops (and stops calling us) before the rest goes
};

/// One PagerDuty alert as the fake keeps it, by dedup_key.
struct FakeAlert {
  std::string routing_key;
  std::string status;      ///< "triggered", "acknowledged" or "resolved"
  std::string summary;     ///< from the trigger that opened it
  std::string severity;    ///< from that trigger
  std::size_t events = 0;  ///< accepted events with this dedup_key
};

/// POST /v2/enqueue as PagerDuty's Events API v2 answers it. A valid event gets
/// 202 {"status":"success","message":"Event processed","dedup_key":...} (a trigger without one gets
/// a new key); an invalid one 400 {"status":"invalid event","message":"Event object is invalid",
/// "errors":[...]} naming each broken rule; a body that is not a JSON object 400 with
/// "Event object format is unrecognized". Checked: routing_key (32 characters), event_action,
/// dedup_key (required unless trigger, at most 255), payload with summary (at most 1024), source
/// and severity on a trigger, links' href, the 512 KB body limit. An acknowledge or resolve for a
/// key with no open alert is accepted and changes nothing, as PagerDuty does.
class FakePagerDuty : public VendorFake {
 public:
  FakePagerDuty();
  /// HTTPS with certs.cert_file() (the certificates must outlive the fake).
  explicit FakePagerDuty(const TestCertificates& certs);
  ~FakePagerDuty() override;

  /// The alert with that dedup_key, if an accepted trigger opened one.
  std::optional<FakeAlert> alert(const std::string& dedup_key) const;
  /// Every alert, by dedup_key.
  std::map<std::string, FakeAlert> alerts() const;

 protected:
  Answer answer(const RecordedRequest& request) override;
  std::string error_body(int status) const override;
  std::string limit_key(const RecordedRequest& request) const override;

 private:
  mutable std::mutex alerts_mutex_;
  std::map<std::string, FakeAlert> alerts_;
  std::size_t next_key_ = 1;
};

/// POST /api/v1/events as Datadog's Events API v1 answers it. Needs a DD-API-KEY header (else 403
/// {"errors":["Forbidden"]}; with expected_api_key set, that key). A valid event gets
/// 202 {"status":"ok","event":{"id":N,"id_str":"N",...}} with ids above 2^53 (so only id_str is
/// exact); an invalid one 400 {"errors":[...]} naming each broken rule (title and text required
/// strings, text at most 4000, aggregation_key at most 100, alert_type and priority enums,
/// date_happened an integer, tags strings). Error answers are labelled text/plain by default, as
/// Datadog sometimes does although they are JSON.
class FakeDatadog : public VendorFake {
 public:
  FakeDatadog();
  explicit FakeDatadog(const TestCertificates& certs);
  ~FakeDatadog() override;

  /// Only this key is accepted (default: any non-empty key).
  void set_expected_api_key(std::string key);
  /// Content-Type of error answers: "text/plain; charset=utf-8" (default) or "application/json".
  void set_error_content_type(std::string content_type);
  /// The id_str values given so far, in order.
  std::vector<std::string> event_ids() const;

 protected:
  Answer answer(const RecordedRequest& request) override;
  std::string error_body(int status) const override;
  std::string limit_key(const RecordedRequest& request) const override;
  std::string error_content_type() const override;

 private:
  mutable std::mutex mutex_;
  std::string expected_api_key_;
  std::string error_content_type_ = "text/plain; charset=utf-8";
  std::vector<std::string> event_ids_;
  unsigned long long next_id_ = 9007199254740993ULL;  // 2^53 + 1: not exact as a double
};

}  // namespace statusstack::webhooks::testing
