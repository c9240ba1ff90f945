#include <statusstack/webhooks/signature.hpp>

#include "support/docs.hpp"
#include "support/files.hpp"
#include "support/process.hpp"

#include <catch2/catch.hpp>

#include <unistd.h>

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <type_traits>
#include <vector>

using namespace statusstack::webhooks;
using statusstack::webhooks::testing::lines_of;
using statusstack::webhooks::testing::ProcessResult;
using statusstack::webhooks::testing::read_file;
using statusstack::webhooks::testing::run_process;
namespace fs = std::filesystem;

namespace {

// --- helpers ---------------------------------------------------------------------------------------

bool is_lower_hex(const std::string& s) {
  if (s.size() != 64) return false;
  for (const char c : s) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

std::string to_hex(std::string_view bytes) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string out;
  for (const char c : bytes) {
    const auto u = static_cast<unsigned char>(c);
    out += digits[u >> 4];
    out += digits[u & 15];
  }
  return out;
}

// A private temporary folder, removed with everything in it when the test ends.
struct TempDir {
  fs::path path;
  TempDir() {
    static std::atomic<int> counter{0};
    path = fs::temp_directory_path() /
           ("ssw-signature-" + std::to_string(::getpid()) + "-" + std::to_string(counter++));
    fs::create_directories(path);
  }
  ~TempDir() {
    std::error_code ignored;
    fs::remove_all(path, ignored);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  fs::path write(const std::string& name, std::string_view bytes) const {
    const fs::path file = path / name;
    std::ofstream out(file, std::ios::binary);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    REQUIRE(out.good());
    return file;
  }
};

std::string random_bytes(std::mt19937_64& rng, std::size_t size) {
  std::string out(size, '\0');
  for (auto& c : out) c = static_cast<char>(rng() & 0xff);
  return out;
}

// A secret a person or a config file would hold: UTF-8 text, never NUL, sometimes beyond ASCII.
std::string random_text_secret(std::mt19937_64& rng, std::size_t characters) {
  static const std::vector<std::string> pieces = {"é",  "ß", "漢", "字", "🔑", " ",
                                                  "\"", "'", "\\", "$",  "-", "="};
  std::string out;
  for (std::size_t i = 0; i < characters; ++i) {
    if (rng() % 8 == 0) {
      out += pieces[rng() % pieces.size()];
    } else {
      out += static_cast<char>('!' + rng() % 94);  // printable ASCII
    }
  }
  return out;
}

Error error_of(const Result<void>& result) {
  REQUIRE_FALSE(result.has_value());
  return result.error();
}

std::string flip_bit(std::string s, std::size_t bit) {
  s[bit / 8] = static_cast<char>(s[bit / 8] ^ (1 << (bit % 8)));
  return s;
}

const std::string source_dir = SSW_SOURCE_DIR;

}  // namespace

// --- Signer ----------------------------------------------------------------------------------------

TEST_CASE("a signature is the lowercase hex HMAC-SHA256 of the exact body bytes (RFC 4231 vectors)",
          "[unit][signature]") {
  CHECK(Signer("Jefe").sign("what do ya want for nothing?") ==
        "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
  CHECK(Signer(std::string(20, '\x0b')).sign("Hi There") ==
        "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
  // A key longer than SHA-256's 64-byte block is hashed first.
  CHECK(Signer(std::string(131, '\xaa')).sign("Test Using Larger Than Block-Size Key - Hash Key First") ==
        "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54");
  // Binary bytes, including NUL, are signed as they are.
  const std::string binary_body("\0\x01\xff\r\n", 5);
  CHECK(is_lower_hex(Signer(std::string("k\0y", 3)).sign(binary_body)));
  CHECK(Signer(std::string("k\0y", 3)).sign(binary_body) != Signer("k").sign(binary_body));
}

TEST_CASE("an empty secret is a configuration error that names it", "[unit][signature]") {
  try {
    Signer signer("");
    FAIL("no ConfigError");
  } catch (const ConfigError& e) {
    CHECK(e.error().code == ErrorCode::invalid_secret);
    CHECK(std::string(e.what()) == "secret: must not be empty");
    CHECK(e.error().field == "secret");
  }
  CHECK_THROWS_AS(Verifier(""), ConfigError);
  CHECK_THROWS_WITH(Verifier(std::vector<std::string>{}), "secrets: at least one secret is required");
  CHECK_THROWS_WITH(Verifier(std::vector<std::string>{"a", ""}), "secrets[1]: must not be empty");
}

TEST_CASE("sign, sign_into and sign_hex agree, call after call and across copies", "[unit][signature]") {
  const Signer signer("whsec-like-secret");
  const std::string first = signer.sign("{\"event\":\"component.status_changed\"}");
  REQUIRE(is_lower_hex(first));
  char buffer[64];
  signer.sign_into("{\"event\":\"component.status_changed\"}", buffer);
  CHECK(std::string(buffer, 64) == first);
  const SignatureHex fixed = signer.sign_hex("{\"event\":\"component.status_changed\"}");
  CHECK(std::string(fixed.begin(), fixed.end()) == first);
  for (int i = 0; i < 20; ++i) CHECK(signer.sign("{\"event\":\"component.status_changed\"}") == first);

  Signer copy = signer;
  CHECK(copy.sign("{\"event\":\"component.status_changed\"}") == first);
  Signer moved = std::move(copy);
  CHECK(moved.sign("{\"event\":\"component.status_changed\"}") == first);
  CHECK(signer.sign("") == Signer("whsec-like-secret").sign(std::string_view()));
}

TEST_CASE("one Signer signs correctly from many threads at once", "[integration][signature][threads]") {
  const Signer signer("shared secret");
  std::vector<std::string> bodies;
  std::vector<std::string> expected;
  for (int i = 0; i < 16; ++i) {
    bodies.push_back(std::string(static_cast<std::size_t>(i) * 97, static_cast<char>('a' + i)));
    expected.push_back(Signer("shared secret").sign(bodies.back()));
  }
  std::atomic<int> wrong{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 12; ++t) {  // more threads than the pool keeps idle contexts for
    threads.emplace_back([&, t] {
      for (int round = 0; round < 200; ++round) {
        const std::size_t i = static_cast<std::size_t>(t + round) % bodies.size();
        char out[64];
        signer.sign_into(bodies[i], out);
        if (std::string_view(out, 64) != expected[i]) ++wrong;
      }
    });
  }
  for (auto& thread : threads) thread.join();
  CHECK(wrong == 0);
}

// --- Secret ----------------------------------------------------------------------------------------

TEST_CASE("a Secret prints as *** and converts to a string only through reveal()",
          "[unit][signature][secret]") {
  static_assert(!std::is_convertible_v<Secret, std::string>);
  static_assert(!std::is_convertible_v<Secret, std::string_view>);
  static_assert(!std::is_convertible_v<std::string, Secret>);  // explicit construction only
  const Secret secret("hunter2");
  std::ostringstream out;
  out << secret;
  CHECK(out.str() == "***");
  CHECK(secret.reveal() == "hunter2");
  CHECK(secret.size() == 7);

  Secret copy = secret;
  CHECK(copy == secret);
  CHECK(copy != Secret("hunter3"));
  CHECK(copy != Secret("hunter"));
  Secret moved = std::move(copy);
  CHECK(moved.reveal() == "hunter2");
  // NOLINTNEXTLINE(bugprone-use-after-move,clang-analyzer-cplusplus.Move): a moved-from Secret holds nothing
  CHECK(copy.empty());
  CHECK(copy.reveal().empty());  // NOLINT(bugprone-use-after-move,clang-analyzer-cplusplus.Move)
  copy = moved;
  CHECK(copy.reveal() == "hunter2");
  CHECK(Signer(secret).sign("x") == Signer("hunter2").sign("x"));
}

TEST_CASE("a Secret is set from a literal, a std::string or a string_view by assignment",
          "[unit][signature][secret]") {
  static_assert(std::is_assignable_v<Secret&, const char*>);
  static_assert(std::is_assignable_v<Secret&, std::string>);
  static_assert(std::is_assignable_v<Secret&, std::string_view>);
  Secret secret;
  CHECK(secret.empty());
  secret = "from a literal";
  CHECK(secret.reveal() == "from a literal");
  secret = std::string("from a std::string");
  CHECK(secret.reveal() == "from a std::string");
  secret = std::string_view("from a string_view, cut here").substr(0, 18);
  CHECK(secret.reveal() == "from a string_view");
  secret = secret.reveal().substr(5);  // the text may point into the secret itself
  CHECK(secret.reveal() == "a string_view");
  secret = "";
  CHECK(secret.empty());
  secret = "again";
  secret.clear();
  CHECK(secret.empty());
  CHECK(secret.reveal().empty());

  // The verifiers and signers take a Secret as they take its text.
  const Secret key("a key of the test, 32 bytes long");
  const std::string body = "{}";
  CHECK(Verifier(key).verify(body, Signer(key).sign(body)));
  const Secret whsec("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw");
  const std::string header = StandardWebhooksSigner(whsec).sign("msg_1", 1700000000, body);
  CHECK(header == StandardWebhooksSigner(whsec.reveal()).sign("msg_1", 1700000000, body));
  CHECK(StandardWebhooksVerifier(whsec).verify("msg_1", "1700000000", header, body, 1700000000));
}

// --- Verifier --------------------------------------------------------------------------------------

TEST_CASE("a signature made with the secret verifies", "[unit][signature][verify]") {
  const Verifier verifier("s3cr3t");
  const std::string body = "{\"event\":\"monitor.down\"}";
  CHECK(verifier.verify(body, Signer("s3cr3t").sign(body)).has_value());
  CHECK(verifier.verify("", Signer("s3cr3t").sign("")).has_value());
  CHECK(verifier.secret_count() == 1);
}

TEST_CASE("one flipped bit in the body, the signature or the secret fails", "[unit][signature][verify]") {
  std::mt19937_64 rng(4);
  const std::string secret = random_bytes(rng, 32);
  const std::string body = random_bytes(rng, 300);
  const std::string signature = Signer(secret).sign(body);
  const Verifier verifier(secret);
  REQUIRE(verifier.verify(body, signature).has_value());

  for (std::size_t bit = 0; bit < body.size() * 8; bit += 7) {
    const Error e = error_of(verifier.verify(flip_bit(body, bit), signature));
    CHECK(e.code == ErrorCode::signature_mismatch);
  }
  for (std::size_t bit = 0; bit < secret.size() * 8; ++bit) {
    CHECK(error_of(Verifier(flip_bit(secret, bit)).verify(body, signature)).code ==
          ErrorCode::signature_mismatch);
  }
  // A flipped bit in a hex character gives either another hex digit (mismatch) or no hex digit at all
  // (malformed); it never passes.
  for (std::size_t bit = 0; bit < signature.size() * 8; ++bit) {
    const Error e = error_of(verifier.verify(body, flip_bit(signature, bit)));
    CHECK((e.code == ErrorCode::signature_mismatch || e.code == ErrorCode::malformed_signature));
  }
  CHECK(error_of(verifier.verify(body, flip_bit(signature, 0))).message ==
        "signature: does not match the body");
}

TEST_CASE("every malformed signature fails cleanly, saying what is wrong", "[unit][signature][verify]") {
  const Verifier verifier("s3cr3t");
  const std::string body = "{}";
  const std::string good = Signer("s3cr3t").sign(body);
  std::string upper = good;
  for (auto& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  REQUIRE(upper != good);

  struct Case {
    std::string signature;
    std::string message;
  };
  const std::vector<Case> cases = {
      {"", "signature: is empty"},
      {good.substr(0, 63), "signature: must be 64 lowercase hex characters (got 63 characters)"},
      {good + "0", "signature: must be 64 lowercase hex characters (got 65 characters)"},
      {good + good, "signature: must be 64 lowercase hex characters (got 128 characters)"},
      {"sha256=" + good, "signature: must be the 64 hex characters alone, without a \"sha256=\" prefix"},
      {"SHA256=" + good, "signature: must be the 64 hex characters alone, without a \"sha256=\" prefix"},
      {upper,
       "signature: must be lowercase hex, as the documented receiver code compares it (got uppercase hex "
       "digits)"},
      {" " + good.substr(1),
       "signature: must be 64 lowercase hex characters (got a character that is not hex)"},
      {good.substr(0, 63) + "g",
       "signature: must be 64 lowercase hex characters (got a character that is not hex)"},
      {good.substr(0, 63) + std::string(1, '\0'),
       "signature: must be 64 lowercase hex characters (got a character that is not hex)"},
      {good.substr(0, 62) + "é",
       "signature: must be 64 lowercase hex characters (got a character that is not hex)"},
      {" " + good, "signature: must be 64 lowercase hex characters (got 65 characters)"},
      {std::string(64, 'z'),
       "signature: must be 64 lowercase hex characters (got a character that is not hex)"},
      {std::string(100000, 'a'), "signature: must be 64 lowercase hex characters (got 100000 characters)"},
  };
  for (const auto& c : cases) {
    INFO("signature: \"" << c.signature.substr(0, 80) << "\"");
    const Error e = error_of(verifier.verify(body, c.signature));
    CHECK(e.code == ErrorCode::malformed_signature);
    CHECK(e.message == c.message);
    CHECK(e.field == "signature");
  }
  // Well-formed but wrong: a mismatch, not malformed.
  const Error zeros = error_of(verifier.verify(body, std::string(64, '0')));
  CHECK(zeros.code == ErrorCode::signature_mismatch);
}

TEST_CASE("with several secrets (rotation) a signature by any one of them passes",
          "[unit][signature][verify]") {
  const Verifier verifier(std::vector<std::string>{"old secret", "new secret"});
  CHECK(verifier.secret_count() == 2);
  const std::string body = "{\"event\":\"incident.resolved\"}";
  CHECK(verifier.verify(body, Signer("old secret").sign(body)).has_value());
  CHECK(verifier.verify(body, Signer("new secret").sign(body)).has_value());
  const Error e = error_of(verifier.verify(body, Signer("other secret").sign(body)));
  CHECK(e.code == ErrorCode::signature_mismatch);
  CHECK(e.message == "signature: does not match the body under any of the configured secrets");

  const Verifier from_secrets(std::vector<Secret>{Secret("old secret"), Secret("new secret")});
  CHECK(from_secrets.verify(body, Signer("new secret").sign(body)).has_value());
}

TEST_CASE("verify_request reads X-StatusStack-Signature whatever the case of its name",
          "[unit][signature][verify]") {
  const Verifier verifier("s3cr3t");
  const std::string body = "{\"event\":\"monitor.recovered\"}";
  const std::string signature = Signer("s3cr3t").sign(body);

  CHECK(verifier
            .verify_request({{"Content-Type", "application/json"}, {"X-StatusStack-Signature", signature}},
                            body)
            .has_value());
  CHECK(verifier.verify_request({{"x-statusstack-signature", signature}}, body).has_value());
  CHECK(verifier.verify_request({{"X-STATUSSTACK-SIGNATURE", " " + signature + "\t"}}, body).has_value());

  const Error missing = error_of(verifier.verify_request({{"Content-Type", "application/json"}}, body));
  CHECK(missing.code == ErrorCode::missing_signature);
  CHECK(missing.message == "X-StatusStack-Signature: header is missing");
  CHECK(missing.field == "X-StatusStack-Signature");

  const Error wrong = error_of(verifier.verify_request({{"X-StatusStack-Signature", signature}}, body + " "));
  CHECK(wrong.code == ErrorCode::signature_mismatch);
  CHECK(wrong.message == "X-StatusStack-Signature: does not match the body");

  const Error prefixed =
      error_of(verifier.verify_request({{"X-StatusStack-Signature", "sha256=" + signature}}, body));
  CHECK(prefixed.code == ErrorCode::malformed_signature);
  CHECK(prefixed.message ==
        "X-StatusStack-Signature: must be the 64 hex characters alone, without a \"sha256=\" prefix");

  const Error empty = error_of(verifier.verify_request({{"X-StatusStack-Signature", ""}}, body));
  CHECK(empty.code == ErrorCode::malformed_signature);
  CHECK(empty.message == "X-StatusStack-Signature: is empty");
}

TEST_CASE("signature schemes have stable names", "[unit][signature]") {
  CHECK(std::string(to_string(SignatureScheme::statusstack)) == "statusstack");
  CHECK(std::string(to_string(SignatureScheme::standard_webhooks)) == "standard_webhooks");
  CHECK(signature_header == "X-StatusStack-Signature");
}

// --- Standard Webhooks -----------------------------------------------------------------------------

namespace {
const std::string sw_secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
const std::string sw_id = "msg_p5jXN8AQM9LWM0D4loKWxJek";
const std::int64_t sw_timestamp = 1614265330;
const std::string sw_body = "{\"test\": 2432232314}";
const std::string sw_signature = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=";
}  // namespace

TEST_CASE("the Standard Webhooks signer reproduces the published vector",
          "[unit][signature][standard-webhooks]") {
  CHECK(StandardWebhooksSigner(sw_secret).sign(sw_id, sw_timestamp, sw_body) == sw_signature);
  // The whsec_ prefix is optional.
  CHECK(StandardWebhooksSigner(sw_secret.substr(6)).sign(sw_id, sw_timestamp, sw_body) == sw_signature);
}

TEST_CASE("the Standard Webhooks verifier accepts the published vector within the tolerance",
          "[unit][signature][standard-webhooks]") {
  const StandardWebhooksVerifier verifier(sw_secret);
  CHECK(verifier.tolerance() == std::chrono::seconds(300));
  CHECK(verifier.verify(sw_id, "1614265330", sw_signature, sw_body, sw_timestamp).has_value());
  CHECK(verifier.verify(sw_id, "1614265330", sw_signature, sw_body, sw_timestamp + 300).has_value());
  CHECK(verifier.verify(sw_id, "1614265330", sw_signature, sw_body, sw_timestamp - 300).has_value());

  const Headers headers = {
      {"Webhook-Id", sw_id}, {"Webhook-Timestamp", "1614265330"}, {"WEBHOOK-SIGNATURE", sw_signature}};
  CHECK(verifier.verify_request(headers, sw_body, sw_timestamp + 10).has_value());
}

TEST_CASE("a Standard Webhooks timestamp outside the tolerance fails",
          "[unit][signature][standard-webhooks]") {
  const StandardWebhooksVerifier verifier(sw_secret);
  const Error past =
      error_of(verifier.verify(sw_id, "1614265330", sw_signature, sw_body, sw_timestamp + 301));
  CHECK(past.code == ErrorCode::timestamp_out_of_tolerance);
  CHECK(past.message == "webhook-timestamp: 301 s in the past, more than the 300 s tolerance");
  CHECK(past.field == "webhook-timestamp");
  const Error future =
      error_of(verifier.verify(sw_id, "1614265330", sw_signature, sw_body, sw_timestamp - 301));
  CHECK(future.code == ErrorCode::timestamp_out_of_tolerance);
  CHECK(future.message == "webhook-timestamp: 301 s in the future, more than the 300 s tolerance");

  // The real clock is years past the vector's timestamp.
  const Headers headers = {
      {"webhook-id", sw_id}, {"webhook-timestamp", "1614265330"}, {"webhook-signature", sw_signature}};
  CHECK(error_of(verifier.verify_request(headers, sw_body)).code == ErrorCode::timestamp_out_of_tolerance);

  const StandardWebhooksVerifier strict(sw_secret, std::chrono::seconds(5));
  CHECK(strict.verify(sw_id, "1614265330", sw_signature, sw_body, sw_timestamp + 5).has_value());
  CHECK(error_of(strict.verify(sw_id, "1614265330", sw_signature, sw_body, sw_timestamp + 6)).message ==
        "webhook-timestamp: 6 s in the past, more than the 5 s tolerance");
  const StandardWebhooksVerifier lenient(sw_secret, std::chrono::hours(24 * 365 * 100));
  CHECK(lenient.verify_request(headers, sw_body).has_value());
  const StandardWebhooksVerifier unbounded(sw_secret, std::chrono::seconds::max());
  CHECK(unbounded.verify(sw_id, "1614265330", sw_signature, sw_body, 0).has_value());
  // Extreme clocks are refused, not overflowed.
  CHECK(error_of(verifier.verify(sw_id, "1614265330", sw_signature, sw_body, INT64_MIN)).code ==
        ErrorCode::timestamp_out_of_tolerance);
  CHECK(error_of(verifier.verify(sw_id, "1614265330", sw_signature, sw_body, INT64_MAX)).code ==
        ErrorCode::timestamp_out_of_tolerance);
  CHECK_THROWS_WITH(StandardWebhooksVerifier(sw_secret, std::chrono::seconds(-1)),
                    "tolerance: must not be negative (got -1 s)");
}

TEST_CASE("a Standard Webhooks timestamp must be decimal unix seconds",
          "[unit][signature][standard-webhooks]") {
  const StandardWebhooksVerifier verifier(sw_secret);
  for (const std::string bad : {"", "-1614265330", "+1614265330", "1614265330.0", "0x60378af2", " 1614265330",
                                "99999999999999999999"}) {
    INFO("timestamp \"" << bad << "\"");
    const Error e = error_of(verifier.verify(sw_id, bad, sw_signature, sw_body, sw_timestamp));
    CHECK(e.code == ErrorCode::invalid_value);
    CHECK(e.message == "webhook-timestamp: must be unix seconds in decimal digits");
  }
}

TEST_CASE("any matching v1 entry among several signatures passes, and other versions are ignored",
          "[unit][signature][standard-webhooks]") {
  const StandardWebhooksVerifier verifier(sw_secret);
  const std::string other = "v1," + std::string(43, 'A') + "=";
  CHECK(verifier.verify(sw_id, "1614265330", other + " " + sw_signature, sw_body, sw_timestamp).has_value());
  CHECK(verifier.verify(sw_id, "1614265330", "v2,abc " + sw_signature + " v1,!!", sw_body, sw_timestamp)
            .has_value());

  const Error mismatch = error_of(verifier.verify(sw_id, "1614265330", other, sw_body, sw_timestamp));
  CHECK(mismatch.code == ErrorCode::signature_mismatch);
  CHECK(mismatch.message == "webhook-signature: no v1 signature matches the body");
  CHECK(error_of(verifier.verify(sw_id + "x", "1614265330", sw_signature, sw_body, sw_timestamp)).code ==
        ErrorCode::signature_mismatch);
  CHECK(error_of(verifier.verify(sw_id, "1614265331", sw_signature, sw_body, sw_timestamp)).code ==
        ErrorCode::signature_mismatch);
  CHECK(error_of(verifier.verify(sw_id, "1614265330", sw_signature, sw_body + " ", sw_timestamp)).code ==
        ErrorCode::signature_mismatch);

  for (const std::string& malformed :
       std::vector<std::string>{"", "v2," + sw_signature.substr(3), sw_signature.substr(3), "v1,", "v1,abc",
                                "v1," + sw_signature.substr(3, 40), "V1," + sw_signature.substr(3)}) {
    INFO("webhook-signature \"" << malformed << "\"");
    const Error e = error_of(verifier.verify(sw_id, "1614265330", malformed, sw_body, sw_timestamp));
    CHECK(e.code == ErrorCode::malformed_signature);
    CHECK(e.message == "webhook-signature: no well-formed \"v1,<base64 of 32 bytes>\" entry");
  }
}

TEST_CASE("Standard Webhooks rotation, request headers and secrets",
          "[integration][signature][standard-webhooks]") {
  const std::string second = "whsec_" + std::string("c2Vjb25kIHNlY3JldCBieXRlcyBmb3Igcm90YXRpb24=");
  const StandardWebhooksVerifier verifier(std::vector<std::string>{second, sw_secret});
  CHECK(verifier.verify(sw_id, "1614265330", sw_signature, sw_body, sw_timestamp).has_value());
  const std::string by_second = StandardWebhooksSigner(second).sign(sw_id, sw_timestamp, sw_body);
  CHECK(verifier.verify(sw_id, "1614265330", by_second, sw_body, sw_timestamp).has_value());
  CHECK(error_of(
            StandardWebhooksVerifier(sw_secret).verify(sw_id, "1614265330", by_second, sw_body, sw_timestamp))
            .code == ErrorCode::signature_mismatch);

  const Error missing = error_of(verifier.verify_request(
      {{"webhook-id", sw_id}, {"webhook-signature", sw_signature}}, sw_body, sw_timestamp));
  CHECK(missing.code == ErrorCode::missing_signature);
  CHECK(missing.message == "webhook-timestamp: header is missing");

  CHECK_THROWS_WITH(StandardWebhooksSigner("whsec_not base64!"),
                    "secret: must be base64 after the optional \"whsec_\" prefix");
  CHECK_THROWS_WITH(StandardWebhooksSigner("whsec_"), "secret: decodes to an empty key");
  CHECK_THROWS_WITH(StandardWebhooksVerifier(std::vector<std::string>{sw_secret, "whsec_A"}),
                    "secrets[1]: must be base64 after the optional \"whsec_\" prefix");
  try {
    StandardWebhooksSigner signer("");
    FAIL("no ConfigError");
  } catch (const ConfigError& e) {
    CHECK(e.error().code == ErrorCode::invalid_secret);
  }
}

// --- Cross-checks against independent implementations ---------------------------------------------

namespace {

struct CrossCase {
  std::string secret;
  bool text_secret = false;  // UTF-8 text without NUL: what the Node.js receiver holds as a string
  fs::path body_file;
  std::size_t body_size = 0;
  std::string signature;  // ours
};

// Bodies: empty, around SHA-256's 64-byte block, random sizes, and 1 MiB; every byte value occurs.
std::vector<CrossCase> make_cross_cases(const TempDir& dir, std::mt19937_64& rng) {
  const std::vector<std::size_t> body_sizes = {0, 1, 55, 56, 63, 64, 65, 127, 128, 600, 1024, 4096, 1 << 20};
  const std::vector<std::size_t> secret_sizes = {1, 2, 16, 32, 63, 64, 65, 100, 131, 200};
  std::vector<CrossCase> cases;
  for (int s = 0; s < 24; ++s) {
    CrossCase base;
    base.text_secret = s % 2 == 0;
    const std::size_t length = s < 20 ? secret_sizes[static_cast<std::size_t>(s) % secret_sizes.size()]
                                      : 1 + static_cast<std::size_t>(rng() % 300);
    base.secret = base.text_secret ? random_text_secret(rng, length) : random_bytes(rng, length);
    const Signer signer(base.secret);
    for (int b = 0; b < 4; ++b) {
      CrossCase c = base;
      std::size_t size = 0;
      const std::size_t index = static_cast<std::size_t>(s) * 4 + static_cast<std::size_t>(b);
      if (index < body_sizes.size() * 2) {
        size = body_sizes[index % body_sizes.size()];
      } else {
        size = static_cast<std::size_t>(rng() % 5000);
      }
      const std::string body = random_bytes(rng, size);
      c.body_file = dir.write("body-" + std::to_string(index), body);
      c.body_size = size;
      c.signature = signer.sign(body);
      cases.push_back(std::move(c));
    }
  }
  return cases;
}

}  // namespace

TEST_CASE("signatures match openssl dgst, Python's hmac and the documented Node.js receiver code",
          "[integration][signature][crosscheck]") {
  TempDir dir;
  std::mt19937_64 rng(20240604);
  const std::vector<CrossCase> cases = make_cross_cases(dir, rng);
  REQUIRE(cases.size() == 96);
  std::size_t one_mib = 0;
  for (const auto& c : cases) one_mib += c.body_size == (1u << 20) ? 1 : 0;
  REQUIRE(one_mib == 2);

  SECTION("openssl dgst -sha256 -hmac (text secrets) and -mac HMAC -macopt hexkey: (binary secrets)") {
    // One openssl run per secret, over all of that secret's bodies: 24 runs.
    for (std::size_t i = 0; i < cases.size(); i += 4) {
      std::vector<std::string> argv = {"openssl", "dgst", "-sha256", "-r"};
      if (cases[i].text_secret) {
        argv.insert(argv.end(), {"-hmac", cases[i].secret});
      } else {
        argv.insert(argv.end(), {"-mac", "HMAC", "-macopt", "hexkey:" + to_hex(cases[i].secret)});
      }
      for (std::size_t j = i; j < i + 4; ++j) argv.push_back(cases[j].body_file.string());
      const ProcessResult run = run_process(argv);
      INFO("openssl stderr: " << run.err);
      REQUIRE(run.exit_code == 0);
      const auto lines = lines_of(run.out);
      REQUIRE(lines.size() == 4);
      for (std::size_t j = 0; j < 4; ++j) {
        INFO("case " << i + j << ", body of " << cases[i + j].body_size << " bytes");
        CHECK(lines[j].substr(0, 64) == cases[i + j].signature);
      }
    }
  }

  SECTION("Python's hmac module, every case in one run") {
    std::string manifest;
    for (const auto& c : cases) manifest += to_hex(c.secret) + " " + c.body_file.string() + "\n";
    const fs::path manifest_file = dir.write("manifest.txt", manifest);
    const char* script =
        "import hashlib, hmac, sys\n"
        "for line in open(sys.argv[1]):\n"
        "    key_hex, path = line.rstrip('\\n').split(' ', 1)\n"
        "    body = open(path, 'rb').read()\n"
        "    print(hmac.new(bytes.fromhex(key_hex), body, hashlib.sha256).hexdigest())\n";
    const ProcessResult run = run_process({"python3", "-c", script, manifest_file.string()});
    INFO("python3 stderr: " << run.err);
    REQUIRE(run.exit_code == 0);
    const auto lines = lines_of(run.out);
    REQUIRE(lines.size() == cases.size());
    for (std::size_t i = 0; i < cases.size(); ++i) {
      INFO("case " << i << ", body of " << cases[i].body_size << " bytes");
      CHECK(lines[i] == cases[i].signature);
    }
  }

  SECTION("the documented Node.js receiver code accepts every signature and rejects altered ones") {
    // Node holds the secret as a JavaScript string (UTF-8 when hashed): text secrets only.
    std::vector<std::string> argv = {"node", source_dir + "/tests/receiver_check.js"};
    std::vector<std::string> expected;
    for (const auto& c : cases) {
      if (!c.text_secret) continue;
      argv.insert(argv.end(), {c.secret, c.body_file.string(), c.signature});
      expected.emplace_back("valid");
      // The same body with the signature's last hex digit changed: the receiver must say no.
      std::string altered = c.signature;
      altered.back() = altered.back() == '0' ? '1' : '0';
      argv.insert(argv.end(), {c.secret, c.body_file.string(), altered});
      expected.emplace_back("invalid");
    }
    REQUIRE(expected.size() == 96);
    const ProcessResult run = run_process(argv);
    INFO("node stderr: " << run.err);
    REQUIRE(run.exit_code == 0);
    const auto lines = lines_of(run.out);
    REQUIRE(lines.size() == expected.size());
    for (std::size_t i = 0; i < expected.size(); ++i) {
      INFO("node case " << i);
      CHECK(lines[i] == expected[i]);
    }
  }

  SECTION("our Verifier accepts exactly what the others computed") {
    for (const auto& c : cases) {
      const std::string body = read_file(c.body_file);
      CHECK(Verifier(c.secret).verify(body, c.signature).has_value());
    }
  }
}

TEST_CASE("Standard Webhooks signatures match Python's hmac over id.timestamp.body",
          "[integration][signature][crosscheck]") {
  TempDir dir;
  std::mt19937_64 rng(7);
  std::string manifest;
  std::size_t count = 0;
  for (int i = 0; i < 16; ++i) {
    const std::string key = random_bytes(rng, 24 + static_cast<std::size_t>(rng() % 41));
    const std::string body = random_bytes(rng, static_cast<std::size_t>(rng() % 3000));
    const std::string id = "msg_" + std::to_string(rng());
    const auto timestamp = static_cast<std::int64_t>(1600000000 + rng() % 100000000);
    const fs::path body_file = dir.write("sw-body-" + std::to_string(i), body);
    manifest += to_hex(key) + " " + id + " " + std::to_string(timestamp) + " " + body_file.string() + "\n";
    ++count;
  }
  const fs::path manifest_file = dir.write("sw-manifest.txt", manifest);
  const char* script =
      "import base64, hashlib, hmac, sys\n"
      "for line in open(sys.argv[1]):\n"
      "    key_hex, msg_id, ts, path = line.rstrip('\\n').split(' ', 3)\n"
      "    key = bytes.fromhex(key_hex)\n"
      "    signed = msg_id.encode() + b'.' + ts.encode() + b'.' + open(path, 'rb').read()\n"
      "    mac = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()\n"
      "    print('whsec_' + base64.b64encode(key).decode(), msg_id, ts, path, 'v1,' + mac)\n";
  const ProcessResult run = run_process({"python3", "-c", script, manifest_file.string()});
  INFO("python3 stderr: " << run.err);
  REQUIRE(run.exit_code == 0);
  const auto lines = lines_of(run.out);
  REQUIRE(lines.size() == count);
  for (const auto& line : lines) {
    std::istringstream fields(line);
    std::string secret, id, ts, path, expected;
    fields >> secret >> id >> ts >> path >> expected;
    const std::string body = read_file(path);
    INFO(line);
    CHECK(StandardWebhooksSigner(secret).sign(id, std::stoll(ts), body) == expected);
    CHECK(StandardWebhooksVerifier(secret).verify(id, ts, expected, body, std::stoll(ts)).has_value());
  }
}

// --- The command-line tool -------------------------------------------------------------------------

#ifdef SSW_CLI_PATH

TEST_CASE("statusstack-webhook sign prints the signature of the exact bytes of a file or standard input",
          "[integration][signature][cli]") {
  TempDir dir;
  const std::string body("{\"a\":1}\n\0\xff\r\n", 12);  // a trailing newline and binary bytes are kept
  const fs::path body_file = dir.write("body", body);
  const std::string expected = Signer("cli secret, long enough").sign(body) + "\n";

  const ProcessResult from_file =
      run_process({SSW_CLI_PATH, "sign", "--secret", "cli secret, long enough", body_file});
  CHECK(from_file.exit_code == 0);
  CHECK(from_file.out == expected);
  const ProcessResult from_stdin =
      run_process({SSW_CLI_PATH, "sign", "--secret", "cli secret, long enough", "-"}, {}, body_file);
  CHECK(from_stdin.out == expected);
  const ProcessResult from_env =
      run_process({SSW_CLI_PATH, "sign"}, {"STATUSSTACK_WEBHOOK_SECRET=cli secret, long enough"}, body_file);
  CHECK(from_env.exit_code == 0);
  CHECK(from_env.out == expected);

  const ProcessResult no_secret =
      run_process({SSW_CLI_PATH, "sign", body_file}, {"STATUSSTACK_WEBHOOK_SECRET="}, body_file);
  CHECK(no_secret.exit_code == 2);
  CHECK(no_secret.err == "statusstack-webhook: secret: must not be empty\n");

  const ProcessResult standard =
      run_process({SSW_CLI_PATH, "sign", "--standard-webhooks", "--secret", sw_secret, "--id", sw_id,
                   "--timestamp", "1614265330", dir.write("sw", sw_body)});
  CHECK(standard.exit_code == 0);
  CHECK(standard.out == sw_signature + "\n");
}

TEST_CASE("statusstack-webhook verify exits 0 when valid and 1 when not, saying why on stderr",
          "[integration][signature][cli]") {
  TempDir dir;
  const std::string body = "{\"event\":\"maintenance.scheduled\"}";
  const fs::path body_file = dir.write("body", body);
  const std::string signature = Signer("new secret, rotated in").sign(body);

  const ProcessResult valid =
      run_process({SSW_CLI_PATH, "verify", "--secret", "old secret, rotated out", "--secret",
                   "new secret, rotated in", "--signature", signature, body_file});
  CHECK(valid.exit_code == 0);
  CHECK(valid.out == "valid\n");

  const ProcessResult from_env =
      run_process({SSW_CLI_PATH, "verify", "--signature", signature},
                  {"STATUSSTACK_WEBHOOK_SECRET=new secret, rotated in"}, body_file);
  CHECK(from_env.exit_code == 0);

  const ProcessResult mismatch = run_process(
      {SSW_CLI_PATH, "verify", "--secret", "old secret, rotated out", "--signature", signature, body_file});
  CHECK(mismatch.exit_code == 1);
  CHECK(mismatch.out.empty());
  CHECK(mismatch.err ==
        "statusstack-webhook: invalid (signature_mismatch): signature: does not match the body\n");

  const ProcessResult malformed = run_process({SSW_CLI_PATH, "verify", "--secret", "new secret, rotated in",
                                               "--signature", "sha256=" + signature, body_file});
  CHECK(malformed.exit_code == 1);
  CHECK(malformed.err ==
        "statusstack-webhook: invalid (malformed_signature): signature: must be the 64 hex characters alone, "
        "without a \"sha256=\" prefix\n");

  const ProcessResult no_secret = run_process({"env", "-u", "STATUSSTACK_WEBHOOK_SECRET", SSW_CLI_PATH,
                                               "verify", "--signature", signature, body_file});
  CHECK(no_secret.exit_code == 2);
  CHECK(no_secret.err == "statusstack-webhook: no secret: pass --secret or set STATUSSTACK_WEBHOOK_SECRET\n");

  const ProcessResult stale =
      run_process({SSW_CLI_PATH, "verify", "--standard-webhooks", "--secret", sw_secret, "--id", sw_id,
                   "--timestamp", "1614265330", "--signature", sw_signature, dir.write("sw", sw_body)});
  CHECK(stale.exit_code == 1);
  CHECK(stale.err.find("invalid (timestamp_out_of_tolerance): webhook-timestamp: ") != std::string::npos);
}

#endif

// --- The receiver snippets in docs/signatures.md ---------------------------------------------------

namespace {

// The fenced block of docs/signatures.md whose first line is `first_line` (support/docs.hpp).
std::string doc_snippet(const std::string& first_line) {
  return statusstack::webhooks::testing::doc_block("docs/signatures.md", first_line);
}

}  // namespace

TEST_CASE("the Node.js and Python receiver snippets in docs/signatures.md accept our signatures",
          "[integration][signature][docs]") {
  TempDir dir;
  const fs::path node_script =
      dir.write("verify.js", doc_snippet("// verify.js: node verify.js SIGNATURE < body"));
  const fs::path python_script =
      dir.write("verify.py", doc_snippet("# verify.py: python3 verify.py SIGNATURE < body"));
  const std::string secret = "receiver secret é";
  const std::string body = "{\"event\":\"component.status_changed\",\"stack\":{\"name\":\"Ünïcode\"}}\n";
  const fs::path body_file = dir.write("body", body);
  const std::string signature = Signer(secret).sign(body);
  std::string altered = signature;
  altered[10] = altered[10] == 'a' ? 'b' : 'a';
  std::string upper = signature;
  for (auto& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));

  struct Case {
    std::string signature;
    bool valid;
  };
  const std::vector<Case> cases = {{signature, true},
                                   {altered, false},
                                   {upper, false},
                                   {"sha256=" + signature, false},
                                   {signature.substr(1), false},
                                   {"", false}};
  for (const auto& [program, script] : {std::pair<std::string, fs::path>{"node", node_script},
                                        std::pair<std::string, fs::path>{"python3", python_script}}) {
    for (const auto& c : cases) {
      INFO(program << " with signature \"" << c.signature << "\"");
      const ProcessResult run = run_process({program, script.string(), c.signature},
                                            {"STATUSSTACK_WEBHOOK_SECRET=" + secret}, body_file.string());
      INFO("stderr: " << run.err);
      CHECK(run.out == (c.valid ? "valid\n" : "invalid\n"));
      CHECK(run.exit_code == (c.valid ? 0 : 1));
    }
  }
}
