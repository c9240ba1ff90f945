#pragma once

// The I/O loop's view of HTTP: start a request, drive what is on the wire, collect what finished,
// sleep until there is something to do. The real one is libcurl's multi interface
// (curl_transport.cpp); tests put in one that answers at once, on their own clock.

#include <statusstack/webhooks/client.hpp>
#include <statusstack/webhooks/export.hpp>

#include "dispatch/clock.hpp"
#include "dispatch/endpoints.hpp"
#include "network_guard.hpp"

#include <memory>
#include <vector>

namespace statusstack::webhooks::detail {

/// One finished attempt: the token start() was given, and the facts of what happened.
struct Finished {
  void* token = nullptr;
  Outcome outcome;
};

/// Used by one I/O loop (its own thread), except wake(), which any thread may call.
class STATUSSTACK_WEBHOOKS_EXPORT Transport {
 public:
  virtual ~Transport();
  /// Starts a request. Its outcome comes out of drive() later, with `token`, even when it could
  /// not start at all.
  virtual void start(void* token, PreparedRequest request) = 0;
  /// Moves the requests on the wire along without blocking and appends those that finished.
  virtual void drive(std::vector<Finished>& finished) = 0;
  /// How long the transport may sleep before it needs drive() again (its own timeouts).
  virtual milliseconds next_timeout() = 0;
  /// Sleeps up to `timeout`, less when a request has something to do or wake() is called.
  virtual void sleep(milliseconds timeout) = 0;
  /// Ends sleep() early; thread-safe.
  virtual void wake() = 0;
  /// Drops every request on the wire (the shutdown deadline) and appends their tokens.
  virtual void abandon(std::vector<void*>& tokens) = 0;
};

/// The libcurl transport: one multi handle, its connections kept alive, easy handles reused; every
/// connection checked against `policy` (DispatcherOptions::network).
STATUSSTACK_WEBHOOKS_EXPORT std::unique_ptr<Transport> make_curl_transport(
    NetworkPolicyPtr policy = default_network_policy());

}  // namespace statusstack::webhooks::detail
