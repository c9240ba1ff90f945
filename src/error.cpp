#include <statusstack/webhooks/error.hpp>

namespace statusstack::webhooks {

const char* to_string(ErrorCode code) noexcept {
  switch (code) {
    case ErrorCode::invalid_json: return "invalid_json";
    case ErrorCode::missing_field: return "missing_field";
    case ErrorCode::wrong_type: return "wrong_type";
    case ErrorCode::invalid_value: return "invalid_value";
    case ErrorCode::unknown_event_type: return "unknown_event_type";
    case ErrorCode::invalid_secret: return "invalid_secret";
    case ErrorCode::missing_signature: return "missing_signature";
    case ErrorCode::malformed_signature: return "malformed_signature";
    case ErrorCode::signature_mismatch: return "signature_mismatch";
    case ErrorCode::timestamp_out_of_tolerance: return "timestamp_out_of_tolerance";
    case ErrorCode::invalid_url: return "invalid_url";
    case ErrorCode::invalid_header: return "invalid_header";
    case ErrorCode::invalid_config: return "invalid_config";
    case ErrorCode::queue_full: return "queue_full";
    case ErrorCode::shut_down: return "shut_down";
    case ErrorCode::store_error: return "store_error";
    case ErrorCode::event_too_large: return "event_too_large";
  }
  return "unknown";
}

ConfigError::ConfigError(Error error) : std::invalid_argument(error.message), error_(std::move(error)) {}

BadResultAccess::BadResultAccess(Error error)
    : std::logic_error("Result holds an error: " + error.message), error_(std::move(error)) {}

}  // namespace statusstack::webhooks
