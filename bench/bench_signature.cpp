// Signatures per second next to raw OpenSSL HMAC-SHA256 over the same bodies, in the same run.
//
// Baselines (raw = no hex encoding, no pool, no checks):
//   OpenSSL_HMAC_oneshot   HMAC(EVP_sha256(), key, ...) per body: what a naive signer calls
//   OpenSSL_EVP_MAC_reused one EVP_MAC_CTX keyed once and re-initialised per body: the floor
//                          for a single thread (it cannot be shared between threads)
// Design alternatives for a thread-safe pre-keyed signer:
//   OpenSSL_EVP_MAC_dup    EVP_MAC_CTX_dup of a keyed template per body
//   OpenSSL_HMAC_CTX_copy  HMAC_CTX_copy of a keyed template (deprecated in OpenSSL 3)
// Ours:
//   Signer_sign (std::string), Signer_sign_into (no allocation), Verifier_verify, StandardWebhooks_sign

// Only to measure the deprecated HMAC_CTX alternative; the library itself does not use it.
#define OPENSSL_SUPPRESS_DEPRECATED

#include <statusstack/webhooks/signature.hpp>

#include <benchmark/benchmark.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/params.h>

#include <cstdint>
#include <random>
#include <string>

namespace ssw = statusstack::webhooks;

namespace {

const std::string secret = "bench-secret-0123456789abcdef0123456789";

std::string make_body(std::int64_t size) {
  std::mt19937_64 rng(static_cast<std::uint64_t>(size));
  std::string body(static_cast<std::size_t>(size), '\0');
  for (auto& c : body) c = static_cast<char>(rng() & 0xff);
  return body;
}

const unsigned char* bytes(const std::string& s) { return reinterpret_cast<const unsigned char*>(s.data()); }

void count(benchmark::State& state) {
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(state.iterations() * state.range(0));
}

EVP_MAC_CTX* keyed_evp_mac() {
  EVP_MAC* mac = EVP_MAC_fetch(nullptr, "HMAC", nullptr);
  EVP_MAC_CTX* ctx = EVP_MAC_CTX_new(mac);
  EVP_MAC_free(mac);
  char digest[] = "SHA256";
  const OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
                               OSSL_PARAM_construct_end()};
  EVP_MAC_init(ctx, bytes(secret), secret.size(), params);
  return ctx;
}

void OpenSSL_HMAC_oneshot(benchmark::State& state) {
  const std::string body = make_body(state.range(0));
  unsigned char out[32];
  unsigned int length = 0;
  for (auto _ : state) {
    HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()), bytes(body), body.size(), out,
         &length);
    benchmark::DoNotOptimize(out);
  }
  count(state);
}

void OpenSSL_EVP_MAC_reused(benchmark::State& state) {
  const std::string body = make_body(state.range(0));
  EVP_MAC_CTX* ctx = keyed_evp_mac();
  unsigned char out[32];
  std::size_t length = 0;
  for (auto _ : state) {
    EVP_MAC_init(ctx, nullptr, 0, nullptr);
    EVP_MAC_update(ctx, bytes(body), body.size());
    EVP_MAC_final(ctx, out, &length, sizeof out);
    benchmark::DoNotOptimize(out);
  }
  EVP_MAC_CTX_free(ctx);
  count(state);
}

void OpenSSL_EVP_MAC_dup(benchmark::State& state) {
  const std::string body = make_body(state.range(0));
  EVP_MAC_CTX* keyed = keyed_evp_mac();
  unsigned char out[32];
  std::size_t length = 0;
  for (auto _ : state) {
    EVP_MAC_CTX* ctx = EVP_MAC_CTX_dup(keyed);
    EVP_MAC_update(ctx, bytes(body), body.size());
    EVP_MAC_final(ctx, out, &length, sizeof out);
    EVP_MAC_CTX_free(ctx);
    benchmark::DoNotOptimize(out);
  }
  EVP_MAC_CTX_free(keyed);
  count(state);
}

void OpenSSL_HMAC_CTX_copy(benchmark::State& state) {
  const std::string body = make_body(state.range(0));
  HMAC_CTX* keyed = HMAC_CTX_new();
  HMAC_Init_ex(keyed, secret.data(), static_cast<int>(secret.size()), EVP_sha256(), nullptr);
  HMAC_CTX* ctx = HMAC_CTX_new();
  unsigned char out[32];
  unsigned int length = 0;
  for (auto _ : state) {
    HMAC_CTX_copy(ctx, keyed);
    HMAC_Update(ctx, bytes(body), body.size());
    HMAC_Final(ctx, out, &length);
    benchmark::DoNotOptimize(out);
  }
  HMAC_CTX_free(ctx);
  HMAC_CTX_free(keyed);
  count(state);
}

void Signer_sign(benchmark::State& state) {
  const std::string body = make_body(state.range(0));
  const ssw::Signer signer(secret);
  for (auto _ : state) benchmark::DoNotOptimize(signer.sign(body));
  count(state);
}

// Shared by all threads of a multi-threaded run, as the Dispatcher shares one Signer per endpoint.
const ssw::Signer& shared_signer() {
  static const ssw::Signer signer(secret);
  return signer;
}

void Signer_sign_into(benchmark::State& state) {
  const std::string body = make_body(state.range(0));
  const ssw::Signer& signer = shared_signer();
  char out[64];
  for (auto _ : state) {
    signer.sign_into(body, out);
    benchmark::DoNotOptimize(out);
  }
  count(state);
}

void Verifier_verify(benchmark::State& state) {
  const std::string body = make_body(state.range(0));
  const ssw::Verifier verifier(secret);
  const std::string signature = ssw::Signer(secret).sign(body);
  for (auto _ : state) benchmark::DoNotOptimize(verifier.verify(body, signature));
  count(state);
}

void StandardWebhooks_sign(benchmark::State& state) {
  const std::string body = make_body(state.range(0));
  const ssw::StandardWebhooksSigner signer("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw");
  for (auto _ : state)
    benchmark::DoNotOptimize(signer.sign("msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, body));
  count(state);
}

}  // namespace

#define SSW_SIZES Arg(256)->Arg(1024)->Arg(16384)
BENCHMARK(OpenSSL_HMAC_oneshot)->SSW_SIZES;
BENCHMARK(OpenSSL_EVP_MAC_reused)->SSW_SIZES;
BENCHMARK(OpenSSL_EVP_MAC_dup)->SSW_SIZES;
BENCHMARK(OpenSSL_HMAC_CTX_copy)->SSW_SIZES;
BENCHMARK(Signer_sign)->SSW_SIZES;
BENCHMARK(Signer_sign_into)->SSW_SIZES;
BENCHMARK(Signer_sign_into)->Arg(1024)->Threads(2)->UseRealTime();
BENCHMARK(Verifier_verify)->SSW_SIZES;
BENCHMARK(StandardWebhooks_sign)->SSW_SIZES;

BENCHMARK_MAIN();
