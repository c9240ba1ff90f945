#pragma once

// Errors as values: what every fallible call of the library returns instead of throwing.

#include <statusstack/webhooks/export.hpp>

#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>
#include <variant>

namespace statusstack::webhooks {

/// What kind of thing went wrong; stable, so callers can switch on it.
enum class ErrorCode {
  // Input that is not what it should be (event JSON, signatures, configuration).
  invalid_json,        ///< not JSON at all, truncated, invalid UTF-8, too deeply nested
  missing_field,       ///< a required field is absent
  wrong_type,          ///< a field has the wrong JSON type
  invalid_value,       ///< right type, unacceptable value (bad timestamp, empty id, out of range)
  unknown_event_type,  ///< the "event" field names no type this library knows
  // Signatures.
  invalid_secret,              ///< empty secret, or a `whsec_` secret that is not base64
  missing_signature,           ///< the request carries no signature header
  malformed_signature,         ///< the signature is not in the expected form (length, hex, prefix)
  signature_mismatch,          ///< well-formed, but no secret produces it
  timestamp_out_of_tolerance,  ///< a signed timestamp too far in the past or the future
  // Requests and configuration.
  invalid_url,     ///< not an absolute http(s) URL with a host, http:// where it is not allowed, a bad proxy
  invalid_header,  ///< a name that is not a token, a control byte in a value, a name or value too long
  invalid_config,  ///< any other configuration value that cannot work
  // Dispatching.
  queue_full,       ///< the Dispatcher's bounded queue has no room (max_pending, max_pending_bytes)
  event_too_large,  ///< the event's JSON is larger than the Dispatcher's max_event_bytes
  shut_down,        ///< the Dispatcher no longer accepts work
  // Durable store.
  store_error,  ///< the store file cannot be opened, read or written (in use, corrupt, read-only, full)
};

/// The code's stable snake_case name, e.g. "missing_field".
STATUSSTACK_WEBHOOKS_EXPORT const char* to_string(ErrorCode code) noexcept;

/// A failure: a code to switch on and a message for people that names the field and what was wrong.
struct Error {
  ErrorCode code{ErrorCode::invalid_value};
  std::string message;
  std::string field;  ///< dotted path of the offending field ("component.current_status"), or empty
};

/// Thrown for misuse and invalid configuration only (never for network or input outcomes).
/// The message names the setting, e.g. `endpoint "ops": url must be https:// (got "http://x/")`.
class STATUSSTACK_WEBHOOKS_EXPORT ConfigError : public std::invalid_argument {
 public:
  explicit ConfigError(Error error);
  const Error& error() const noexcept { return error_; }

 private:
  Error error_;
};

/// Thrown by Result::value() when the Result holds an error (like std::bad_expected_access).
class STATUSSTACK_WEBHOOKS_EXPORT BadResultAccess : public std::logic_error {
 public:
  explicit BadResultAccess(Error error);
  const Error& error() const noexcept { return error_; }

 private:
  Error error_;
};

/// A value or an Error, named after std::expected (has_value, value, error) so it can become one.
/// [[nodiscard]]: a dropped Result is a dropped error (a refused dispatch() loses the event).
template <class T>
class [[nodiscard]] Result {
  static_assert(!std::is_same_v<std::decay_t<T>, Error>, "Result<Error> is ambiguous");

 public:
  // Implicit on purpose, like std::expected: `return value;` and `return Error{...};` both work.
  // NOLINTNEXTLINE(google-explicit-constructor)
  Result(T value) : state_(std::in_place_index<0>, std::move(value)) {}
  // NOLINTNEXTLINE(google-explicit-constructor)
  Result(Error error) : state_(std::in_place_index<1>, std::move(error)) {}

  bool has_value() const noexcept { return state_.index() == 0; }
  explicit operator bool() const noexcept { return has_value(); }

  T& value() & {
    check();
    return std::get<0>(state_);
  }
  const T& value() const& {
    check();
    return std::get<0>(state_);
  }
  T&& value() && {
    check();
    return std::get<0>(std::move(state_));
  }

  /// The error; only meaningful when !has_value().
  const Error& error() const& { return std::get<1>(state_); }
  Error&& error() && { return std::get<1>(std::move(state_)); }

  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

  template <class U>
  T value_or(U&& fallback) const& {
    return has_value() ? std::get<0>(state_) : static_cast<T>(std::forward<U>(fallback));
  }

 private:
  void check() const {
    if (!has_value()) throw BadResultAccess(std::get<1>(state_));
  }
  std::variant<T, Error> state_;
};

/// Success without a value, or an Error.
template <>
class [[nodiscard]] Result<void> {
 public:
  Result() = default;
  Result(Error error) : error_(std::move(error)), failed_(true) {}  // NOLINT(google-explicit-constructor)

  bool has_value() const noexcept { return !failed_; }
  explicit operator bool() const noexcept { return has_value(); }
  void value() const {
    if (failed_) throw BadResultAccess(error_);
  }
  const Error& error() const& { return error_; }

 private:
  Error error_;
  bool failed_ = false;
};

}  // namespace statusstack::webhooks
