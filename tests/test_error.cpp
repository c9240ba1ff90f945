#include <statusstack/webhooks/error.hpp>
#include <statusstack/webhooks/version.hpp>

#include <catch2/catch.hpp>

#include <string>

using namespace statusstack::webhooks;

TEST_CASE("a Result holds either a value or an error", "[unit][error]") {
  Result<int> ok = 42;
  REQUIRE(ok.has_value());
  REQUIRE(static_cast<bool>(ok));
  CHECK(*ok == 42);
  CHECK(ok.value_or(7) == 42);

  Result<int> bad =
      Error{ErrorCode::missing_field, "component.id: required field is missing", "component.id"};
  REQUIRE_FALSE(bad.has_value());
  CHECK(bad.error().code == ErrorCode::missing_field);
  CHECK(bad.error().field == "component.id");
  CHECK(bad.value_or(7) == 7);
}

TEST_CASE("value() on an error throws BadResultAccess carrying the error", "[unit][error]") {
  Result<std::string> bad = Error{ErrorCode::invalid_json, "not JSON", ""};
  try {
    (void)bad.value();
    FAIL("value() did not throw");
  } catch (const BadResultAccess& e) {
    CHECK(e.error().code == ErrorCode::invalid_json);
    CHECK(std::string(e.what()) == "Result holds an error: not JSON");
  }
  Result<void> failed = Error{ErrorCode::queue_full, "queue is full", ""};
  CHECK_FALSE(failed);
  CHECK_THROWS_AS(failed.value(), BadResultAccess);
  CHECK(Result<void>{}.has_value());
}

TEST_CASE("every error code has a stable name", "[unit][error]") {
  CHECK(std::string(to_string(ErrorCode::invalid_json)) == "invalid_json");
  CHECK(std::string(to_string(ErrorCode::signature_mismatch)) == "signature_mismatch");
  CHECK(std::string(to_string(ErrorCode::timestamp_out_of_tolerance)) == "timestamp_out_of_tolerance");
  CHECK(std::string(to_string(ErrorCode::shut_down)) == "shut_down");
}

TEST_CASE("the linked library reports the version the headers were built with", "[unit][version]") {
  CHECK(std::string(version()) == STATUSSTACK_WEBHOOKS_VERSION_STRING);
}

#include <statusstack/webhooks/headers.hpp>

#include "detail/text.hpp"

TEST_CASE("header lookup ignores ASCII case and returns the first match", "[unit][headers]") {
  const Headers headers{{"Content-Type", "application/json"},
                        {"X-StatusStack-Signature", "abc"},
                        {"x-statusstack-signature", "second"}};
  REQUIRE(find_header(headers, "x-STATUSSTACK-signature") != nullptr);
  CHECK(*find_header(headers, "x-STATUSSTACK-signature") == "abc");
  CHECK(find_header(headers, "X-StatusStack-Delivery") == nullptr);
  CHECK(detail::iequals("Retry-After", "retry-after"));
  CHECK_FALSE(detail::iequals("Retry-After", "Retry-Afte"));
}
