// libFuzzer target: the two signature verifiers on arbitrary header values and bodies.
//
// Input: four lines, then the body (what follows the fourth '\n'):
//   1. the X-StatusStack-Signature value; "{sig}" in it becomes the correct signature of the body
//   2. the webhook-id value
//   3. the webhook-timestamp value (the verifier's clock is fixed at 1700000000)
//   4. the webhook-signature value; "{sig}" in it becomes the base64 of the correct MAC
// "{sig<NN}" and "{sig>NN}" become the first or last NN characters of that signature: near misses.
// A missing line is a missing header. Secrets are fixed.
//
// Checked (differentially: the expected signatures come from the StatusStack Signer and this
// file's own base64, not from the code under test):
// - Verifier: verify() passes exactly when the value is the correct 64 lowercase hex characters;
//   otherwise the error is malformed_signature (not 64 lowercase hex) or signature_mismatch, and
//   says so; a Verifier with a second (rotation) secret agrees; verify_request() on the header
//   (any case of its name, spaces and tabs around the value) agrees with verify() on the trimmed
//   value, and an absent header is missing_signature.
// - StandardWebhooksVerifier: a pass needs a decimal timestamp within the tolerance and a "v1,"
//   entry whose base64 decodes to the correct MAC (over id "." timestamp-as-received "." body);
//   a correct canonical "v1," entry with such a timestamp always passes; the rotation verifier and
//   verify_request() agree; the error codes are the documented ones; StandardWebhooksSigner gives
//   the same signature as the differential computation.

#include "fuzz_check.hpp"

#include <statusstack/webhooks/error.hpp>
#include <statusstack/webhooks/signature.hpp>

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace ssw = statusstack::webhooks;
using ssw_fuzz::check;

namespace {

constexpr std::string_view secret = "fuzzing-secret-of-the-statusstack-scheme";
constexpr std::string_view other_secret = "an-older-secret-still-accepted";
// The Standard Webhooks key as raw bytes; the verifier gets it as "whsec_" + base64.
constexpr std::string_view sw_key = "standard-webhooks-fuzz-key-24";
constexpr std::string_view sw_other_key = "another standard webhooks key";
constexpr std::int64_t now_unix = 1'700'000'000;
constexpr std::int64_t tolerance = 300;

constexpr std::string_view alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

std::string base64(std::string_view bytes) {
  std::string out;
  std::size_t i = 0;
  for (; i + 3 <= bytes.size(); i += 3) {
    const unsigned n = static_cast<unsigned>(static_cast<unsigned char>(bytes[i])) << 16 |
                       static_cast<unsigned>(static_cast<unsigned char>(bytes[i + 1])) << 8 |
                       static_cast<unsigned char>(bytes[i + 2]);
    for (int shift = 18; shift >= 0; shift -= 6) out += alphabet[(n >> shift) & 63];
  }
  const std::size_t left = bytes.size() - i;
  if (left > 0) {
    unsigned n = static_cast<unsigned>(static_cast<unsigned char>(bytes[i])) << 16;
    if (left == 2) n |= static_cast<unsigned>(static_cast<unsigned char>(bytes[i + 1])) << 8;
    out += alphabet[(n >> 18) & 63];
    out += alphabet[(n >> 12) & 63];
    out += left == 2 ? alphabet[(n >> 6) & 63] : '=';
    out += '=';
  }
  return out;
}

// Standard base64 (RFC 4648 alphabet), read leniently as the verifier reads it: '=' padding
// optional, unused low bits of the last character ignored. nullopt for anything else.
std::optional<std::string> unbase64(std::string_view text) {
  std::size_t padding = 0;
  while (padding < 2 && !text.empty() && text.back() == '=') {
    text.remove_suffix(1);
    ++padding;
  }
  if (text.size() % 4 == 1) return std::nullopt;
  if (padding != 0 && (text.size() + padding) % 4 != 0) return std::nullopt;
  std::string out;
  unsigned buffer = 0;
  int bits = 0;
  for (char c : text) {
    const std::size_t value = alphabet.find(c);
    if (value == std::string_view::npos) return std::nullopt;
    buffer = (buffer << 6 | static_cast<unsigned>(value)) & 0xffffff;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>((buffer >> bits) & 0xff);
    }
  }
  return out;
}

std::string unhex(std::string_view hex) {
  std::string out;
  for (std::size_t i = 0; i + 1 < hex.size(); i += 2) {
    const auto nibble = [](char c) { return c <= '9' ? c - '0' : c - 'a' + 10; };
    out += static_cast<char>(nibble(hex[i]) << 4 | nibble(hex[i + 1]));
  }
  return out;
}

// `line` with the markers replaced by (parts of) the correct signature `sig`: "{sig}" by all of it,
// "{sig<NN}" by its first NN characters and "{sig>NN}" by its last NN (NN: two decimal digits), so
// that inputs can hold near misses that differ from the signature in one character.
std::string expand(std::string_view line, std::string_view sig) {
  std::string out;
  while (!line.empty()) {
    const std::size_t at = line.find("{sig");
    out.append(line.substr(0, at));
    if (at == std::string_view::npos) break;
    line.remove_prefix(at);
    if (line.substr(4, 1) == "}") {
      out.append(sig);
      line.remove_prefix(5);
      continue;
    }
    const std::string_view spec = line.substr(4, 4);
    const auto digit = [](char c) { return c >= '0' && c <= '9'; };
    if (spec.size() == 4 && (spec[0] == '<' || spec[0] == '>') && digit(spec[1]) && digit(spec[2]) &&
        spec[3] == '}') {
      const auto n =
          std::min<std::size_t>(static_cast<std::size_t>((spec[1] - '0') * 10 + (spec[2] - '0')), sig.size());
      out.append(spec[0] == '<' ? sig.substr(0, n) : sig.substr(sig.size() - n));
      line.remove_prefix(8);
      continue;
    }
    out.append(line.substr(0, 4));
    line.remove_prefix(4);
  }
  return out;
}

std::string_view trim(std::string_view value) {
  while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.remove_prefix(1);
  while (!value.empty() && (value.back() == ' ' || value.back() == '\t')) value.remove_suffix(1);
  return value;
}

bool lowercase_hex64(std::string_view value) {
  if (value.size() != ssw::signature_hex_length) return false;
  for (char c : value) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

// Same outcome: both pass, or both fail with the same code.
bool same(const ssw::Result<void>& a, const ssw::Result<void>& b) {
  if (a.has_value() != b.has_value()) return false;
  return a.has_value() || a.error().code == b.error().code;
}

std::string describe(const ssw::Result<void>& result) {
  return result ? std::string("ok") : result.error().message;
}

struct Verifiers {
  ssw::Signer signer{secret};
  ssw::Verifier one{secret};
  ssw::Verifier rotation{std::vector<std::string>{std::string(other_secret), std::string(secret)}};
  ssw::Signer sw_mac{sw_key};  // HMAC-SHA256 under the raw Standard Webhooks key
  ssw::StandardWebhooksSigner sw_signer{"whsec_" + base64(sw_key)};
  ssw::StandardWebhooksVerifier sw_one{"whsec_" + base64(sw_key), std::chrono::seconds(tolerance)};
  ssw::StandardWebhooksVerifier sw_rotation{
      std::vector<std::string>{base64(sw_other_key), "whsec_" + base64(sw_key)},
      std::chrono::seconds(tolerance)};
};

const Verifiers& verifiers() {
  static const Verifiers instance;
  return instance;
}

void check_statusstack(const Verifiers& v, std::optional<std::string_view> line, std::string_view body) {
  const std::string expected = v.signer.sign(body);
  check(lowercase_hex64(expected), "Signer::sign is not 64 lowercase hex characters", expected);
  ssw::Headers headers;
  if (line) headers.push_back({"x-StatusStack-signature", expand(*line, expected)});
  const auto by_header = v.one.verify_request(headers, body);
  if (!line) {
    check(!by_header && by_header.error().code == ssw::ErrorCode::missing_signature,
          "an absent X-StatusStack-Signature is not missing_signature", describe(by_header));
    return;
  }
  const std::string_view value = trim(headers.front().value);
  const auto result = v.one.verify(body, value);
  const std::string shown = "value \"" + std::string(value) + "\": " + describe(result);
  check(result.has_value() == (value == expected), "X-StatusStack-Signature verified wrongly", shown);
  if (!result) {
    const ssw::ErrorCode code = result.error().code;
    check(code == (lowercase_hex64(value) ? ssw::ErrorCode::signature_mismatch
                                          : ssw::ErrorCode::malformed_signature),
          "wrong error code for X-StatusStack-Signature", shown);
    check(!result.error().message.empty(), "an error without a message", shown);
  }
  check(same(result, v.rotation.verify(body, value)), "the rotation Verifier disagrees", shown);
  check(same(result, by_header), "verify_request disagrees with verify on the trimmed value",
        shown + " / " + describe(by_header));
}

// The timestamp as the verifier must read it: 1 to 18 decimal digits, within the tolerance.
bool timestamp_acceptable(std::string_view timestamp) {
  if (timestamp.empty() || timestamp.size() > 18) return false;
  std::int64_t value = 0;
  for (char c : timestamp) {
    if (c < '0' || c > '9') return false;
    value = value * 10 + (c - '0');
  }
  return value >= now_unix - tolerance && value <= now_unix + tolerance;
}

void check_standard_webhooks(const Verifiers& v, const std::vector<std::string_view>& lines,
                             std::string_view body) {
  const std::optional<std::string_view> id = lines.size() > 1 ? std::optional(lines[1]) : std::nullopt;
  const std::optional<std::string_view> timestamp = lines.size() > 2 ? std::optional(lines[2]) : std::nullopt;
  const std::optional<std::string_view> signature = lines.size() > 3 ? std::optional(lines[3]) : std::nullopt;

  ssw::Headers headers;
  if (id) headers.push_back({"Webhook-Id", std::string(*id)});
  if (timestamp) headers.push_back({"WEBHOOK-TIMESTAMP", std::string(*timestamp)});
  if (!id || !timestamp) {
    if (signature) headers.push_back({"webhook-signature", std::string(*signature)});
    const auto missing = v.sw_one.verify_request(headers, body, now_unix);
    check(!missing && missing.error().code == ssw::ErrorCode::missing_signature,
          "an absent Standard Webhooks header is not missing_signature", describe(missing));
    return;
  }
  const std::string_view id_value = trim(*id);
  const std::string_view timestamp_value = trim(*timestamp);
  // The correct MAC over exactly what the verifier signs, from the StatusStack Signer keyed with
  // the raw key: HMAC-SHA256(key, id "." timestamp "." body).
  std::string content(id_value);
  content += '.';
  content += timestamp_value;
  content += '.';
  content += body;
  const std::string mac = unhex(v.sw_mac.sign(content));
  const std::string canonical = base64(mac);

  std::int64_t parsed = 0;
  const bool canonical_timestamp =
      timestamp_acceptable(timestamp_value) && (timestamp_value.size() == 1 || timestamp_value[0] != '0');
  if (canonical_timestamp) {
    for (char c : timestamp_value) parsed = parsed * 10 + (c - '0');
    const std::string signed_value = v.sw_signer.sign(id_value, parsed, body);
    check(signed_value == "v1," + canonical, "StandardWebhooksSigner differs from HMAC + base64",
          signed_value + " vs v1," + canonical);
  }

  if (!signature) {
    const auto missing = v.sw_one.verify_request(headers, body, now_unix);
    check(!missing && missing.error().code == ssw::ErrorCode::missing_signature,
          "an absent webhook-signature is not missing_signature", describe(missing));
    return;
  }
  headers.push_back({"webhook-signature", expand(*signature, canonical)});
  const std::string_view signature_value = trim(headers.back().value);

  const auto result = v.sw_one.verify(id_value, timestamp_value, signature_value, body, now_unix);
  const std::string shown = "id \"" + std::string(id_value) + "\" timestamp \"" +
                            std::string(timestamp_value) + "\" signature \"" + std::string(signature_value) +
                            "\": " + describe(result);

  // Every space-separated entry: one that decodes to the MAC, and the exact canonical one.
  bool decodes_to_mac = false;
  bool has_canonical = false;
  bool has_well_formed = false;
  std::string_view rest = signature_value;
  while (!rest.empty()) {
    const std::size_t space = rest.find(' ');
    const std::string_view entry = rest.substr(0, space);
    rest = space == std::string_view::npos ? std::string_view{} : rest.substr(space + 1);
    if (entry.substr(0, 3) != "v1,") continue;
    const auto decoded = unbase64(entry.substr(3));
    if (decoded && decoded->size() == mac.size()) has_well_formed = true;
    if (decoded && *decoded == mac) decodes_to_mac = true;
    if (entry.substr(3) == canonical) has_canonical = true;
  }

  if (result) {
    check(timestamp_acceptable(timestamp_value), "verified with an unacceptable timestamp", shown);
    check(decodes_to_mac, "verified without an entry of the correct MAC", shown);
  } else {
    const ssw::ErrorCode code = result.error().code;
    check(code == ssw::ErrorCode::invalid_value || code == ssw::ErrorCode::timestamp_out_of_tolerance ||
              code == ssw::ErrorCode::malformed_signature || code == ssw::ErrorCode::signature_mismatch,
          "an undocumented error code", shown);
    if (timestamp_acceptable(timestamp_value)) {
      check(!has_canonical, "the correct signature was refused", shown);
      check(code ==
                (has_well_formed ? ssw::ErrorCode::signature_mismatch : ssw::ErrorCode::malformed_signature),
            "wrong error code for the webhook-signature entries", shown);
    } else {
      const bool digits = !timestamp_value.empty() && timestamp_value.size() <= 18 &&
                          timestamp_value.find_first_not_of("0123456789") == std::string_view::npos;
      check(code == (digits ? ssw::ErrorCode::timestamp_out_of_tolerance : ssw::ErrorCode::invalid_value),
            "wrong error code for the webhook-timestamp", shown);
    }
  }
  check(same(result, v.sw_rotation.verify(id_value, timestamp_value, signature_value, body, now_unix)),
        "the rotation StandardWebhooksVerifier disagrees", shown);
  const auto by_headers = v.sw_one.verify_request(headers, body, now_unix);
  check(same(result, by_headers), "verify_request disagrees with verify on the trimmed values",
        shown + " / " + describe(by_headers));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  std::string_view body;
  const std::vector<std::string_view> lines = ssw_fuzz::take_lines(input, 4, body);
  const Verifiers& v = verifiers();
  check_statusstack(v, lines.empty() ? std::nullopt : std::optional(lines[0]), body);
  check_standard_webhooks(v, lines, body);
  return 0;
}
