// TestCertificates: a throwaway CA and server certificates made with the OpenSSL 3 C API.

#include "support/servers.hpp"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <cstdint>
#include <initializer_list>
#include <memory>
#include <stdexcept>

namespace statusstack::webhooks::testing {
namespace {

struct KeyFree {
  void operator()(EVP_PKEY* key) const { EVP_PKEY_free(key); }
};
struct CertFree {
  void operator()(X509* cert) const { X509_free(cert); }
};
using Key = std::unique_ptr<EVP_PKEY, KeyFree>;
using Cert = std::unique_ptr<X509, CertFree>;

[[noreturn]] void fail(const std::string& what) {
  char detail[256] = "no OpenSSL error queued";
  if (const unsigned long code = ERR_get_error()) ERR_error_string_n(code, detail, sizeof detail);
  throw std::runtime_error("TestCertificates: " + what + ": " + detail);
}

void check(int ok, const char* what) {
  if (ok != 1) fail(what);
}

Key make_key() {
  Key key(EVP_EC_gen("P-256"));
  if (!key) fail("EC key generation");
  return key;
}

void add_extension(X509* cert, X509* issuer, int nid, const char* value) {
  X509V3_CTX ctx;
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_nconf_nid(nullptr, &ctx, nid, value);
  if (!ext) fail(std::string("extension ") + OBJ_nid2sn(nid) + "=" + value);
  const int added = X509_add_ext(cert, ext, -1);
  X509_EXTENSION_free(ext);
  check(added, "X509_add_ext");
}

struct Extension {
  int nid;
  const char* value;
};

// A certificate for `key` named `common_name`, signed by issuer/issuer_key (self-signed when
// issuer is null), carrying a subject key identifier plus `extensions`.
Cert make_cert(EVP_PKEY* key, const char* common_name, X509* issuer, EVP_PKEY* issuer_key,
               std::initializer_list<Extension> extensions) {
  Cert cert(X509_new());
  if (!cert) fail("X509_new");
  check(X509_set_version(cert.get(), X509_VERSION_3), "X509_set_version");

  // A random positive 63-bit serial: no two certificates of a run share issuer and serial.
  std::uint64_t serial = 0;
  check(RAND_bytes(reinterpret_cast<unsigned char*>(&serial), sizeof serial), "RAND_bytes");
  check(ASN1_INTEGER_set_uint64(X509_get_serialNumber(cert.get()), serial >> 1), "serial");

  if (!X509_gmtime_adj(X509_getm_notBefore(cert.get()), -60 * 60) ||
      !X509_gmtime_adj(X509_getm_notAfter(cert.get()), 24 * 60 * 60)) {
    fail("validity");
  }
  X509_NAME* name = X509_get_subject_name(cert.get());
  check(X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                                   reinterpret_cast<const unsigned char*>(common_name), -1, -1, 0),
        "subject CN");
  check(X509_set_issuer_name(cert.get(), issuer ? X509_get_subject_name(issuer) : name), "issuer name");
  check(X509_set_pubkey(cert.get(), key), "X509_set_pubkey");

  X509* signer = issuer ? issuer : cert.get();
  add_extension(cert.get(), signer, NID_subject_key_identifier, "hash");
  for (const Extension& ext : extensions) add_extension(cert.get(), signer, ext.nid, ext.value);
  if (X509_sign(cert.get(), issuer ? issuer_key : key, EVP_sha256()) <= 0) fail("X509_sign");
  return cert;
}

Cert make_server_cert(EVP_PKEY* key, const char* subject_alt_name, X509* ca, EVP_PKEY* ca_key) {
  return make_cert(key, "statusstack-webhooks test server", ca, ca_key,
                   {{NID_basic_constraints, "critical,CA:FALSE"},
                    {NID_key_usage, "critical,digitalSignature"},
                    {NID_ext_key_usage, "serverAuth"},
                    {NID_subject_alt_name, subject_alt_name},
                    {NID_authority_key_identifier, "keyid:always"}});
}

using Bio = std::unique_ptr<BIO, decltype(&BIO_free)>;

std::string drain(const Bio& bio) {
  char* data = nullptr;
  const long size = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<std::size_t>(size));
}

std::string cert_pem(const Cert& cert) {
  Bio bio(BIO_new(BIO_s_mem()), &BIO_free);
  if (!bio) fail("BIO_new");
  check(PEM_write_bio_X509(bio.get(), cert.get()), "PEM_write_bio_X509");
  return drain(bio);
}

// PKCS#8, unencrypted.
std::string key_pem(const Key& key) {
  Bio bio(BIO_new(BIO_s_mem()), &BIO_free);
  if (!bio) fail("BIO_new");
  check(PEM_write_bio_PrivateKey(bio.get(), key.get(), nullptr, nullptr, 0, nullptr, nullptr),
        "PEM_write_bio_PrivateKey");
  return drain(bio);
}

}  // namespace

TestCertificates::TestCertificates() {
  const Key ca_key = make_key();
  const Cert ca = make_cert(
      ca_key.get(), "statusstack-webhooks test CA", nullptr, nullptr,
      {{NID_basic_constraints, "critical,CA:TRUE"}, {NID_key_usage, "critical,keyCertSign,cRLSign"}});
  ca_pem_ = cert_pem(ca);
  dir_.write("ca.pem", ca_pem_);

  const Key key = make_key();
  dir_.write("server.pem",
             cert_pem(make_server_cert(key.get(), "IP:127.0.0.1,DNS:localhost", ca.get(), ca_key.get())));
  dir_.write("server.key", key_pem(key));

  const Key wrong_key = make_key();
  dir_.write("wrong-host.pem",
             cert_pem(make_server_cert(wrong_key.get(), "DNS:wrong.example", ca.get(), ca_key.get())));
  dir_.write("wrong-host.key", key_pem(wrong_key));
}

TestCertificates::~TestCertificates() = default;

}  // namespace statusstack::webhooks::testing
