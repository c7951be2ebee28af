// ECDSA key files and signatures through OpenSSL's EVP interface (see ec_keys.hpp). Key
// files are read once, bounded, and a private key's text is wiped once parsed.
#include "citadel/io/ec_keys.hpp"

#include <openssl/bio.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/pem.h>

#include <filesystem>
#include <fstream>

#include "citadel/core/atomic_file.hpp"
#include "citadel/core/error.hpp"
#include "citadel/io/digest.hpp"
#include "openssl_md_context.hpp"

namespace citadel {
namespace {

constexpr size_t kMaxKeyFileBytes = 64 * 1024;

struct BioFree {
  void operator()(BIO* bio) const { BIO_free(bio); }
};
using Bio = std::unique_ptr<BIO, BioFree>;

// OpenSSL's latest error as text (and the queue emptied, so it never leaks into a later call).
std::string openssl_error() {
  const unsigned long code = ERR_get_error();
  ERR_clear_error();
  if (code == 0) return "no detail from OpenSSL";
  char text[256];
  ERR_error_string_n(code, text, sizeof text);
  return text;
}

const char* group_of(EcCurve curve) {
  switch (curve) {
    case EcCurve::kP256: return "prime256v1";
    case EcCurve::kP384: return "secp384r1";
    case EcCurve::kP521: return "secp521r1";
  }
  return "";
}

// The hash the format pairs with each curve (as model_signing's get_ec_key_hash does).
const EVP_MD* digest_for(EcCurve curve) {
  switch (curve) {
    case EcCurve::kP256: return EVP_sha256();
    case EcCurve::kP384: return EVP_sha384();
    case EcCurve::kP521: return EVP_sha512();
  }
  return nullptr;
}

// The curve of an EC key, or an IoError naming what kind of key it is instead.
EcCurve curve_of(EVP_PKEY* key, const std::string& source) {
  const int type = EVP_PKEY_get_base_id(key);
  CITADEL_CHECK(type != EVP_PKEY_ED25519, IoError, source,
                ": an Ed25519 key; OpenSSF model signing uses ECDSA keys (P-256, P-384, P-521): make one with "
                "`citadel keygen --type p256`");
  CITADEL_CHECK(type == EVP_PKEY_EC, IoError, source, ": a ", OBJ_nid2sn(type),
                " key; OpenSSF model signing uses ECDSA keys (P-256, P-384, P-521)");
  char group[64] = {};
  size_t length = 0;
  CITADEL_CHECK(EVP_PKEY_get_utf8_string_param(key, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof group, &length) == 1,
                IoError, source, ": the key's curve cannot be read (", openssl_error(), ")");
  const std::string name(group, length);
  for (EcCurve curve : {EcCurve::kP256, EcCurve::kP384, EcCurve::kP521})
    if (name == group_of(curve)) return curve;
  throw IoError(source + ": an ECDSA key on curve " + name +
                "; OpenSSF model signing allows P-256, P-384 and P-521 only");
}

// A key file's text, refused when it is too large to be one.
std::string read_key_text(const std::string& path) {
  std::ifstream file(path, std::ios::binary);
  CITADEL_CHECK(file.is_open(), IoError, path, ": cannot open the key file (does it exist?)");
  std::string text(kMaxKeyFileBytes + 1, '\0');
  file.read(text.data(), std::streamsize(text.size()));
  text.resize(size_t(file.gcount()));
  CITADEL_CHECK(text.size() <= kMaxKeyFileBytes, IoError, path, ": larger than ", kMaxKeyFileBytes,
                " bytes; not a key file");
  return text;
}

std::string pem_of(EVP_PKEY* key, bool private_key) {
  Bio bio(BIO_new(BIO_s_mem()));
  CITADEL_CHECK(bio != nullptr, IoError, "cannot allocate an OpenSSL buffer");
  const int written = private_key ? PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr)
                                  : PEM_write_bio_PUBKEY(bio.get(), key);
  CITADEL_CHECK(written == 1, IoError, "cannot write the key as PEM (", openssl_error(), ")");
  char* data = nullptr;
  const long size = BIO_get_mem_data(bio.get(), &data);
  std::string pem(data, size_t(size));
  OPENSSL_cleanse(data, size_t(size));
  return pem;
}

// No passphrase is ever supplied: an encrypted key fails to load rather than prompting.
int no_passphrase(char*, int, int, void*) { return -1; }

}  // namespace

void EvpKeyFree::operator()(EVP_PKEY* key) const { EVP_PKEY_free(key); }

EcCurve ec_curve_named(std::string_view name) {
  if (name == "p256") return EcCurve::kP256;
  if (name == "p384") return EcCurve::kP384;
  if (name == "p521") return EcCurve::kP521;
  throw ValueError("unknown curve '" + std::string(name) + "': p256, p384 or p521");
}

std::string ec_curve_name(EcCurve curve) {
  switch (curve) {
    case EcCurve::kP256: return "P-256";
    case EcCurve::kP384: return "P-384";
    case EcCurve::kP521: return "P-521";
  }
  return "?";
}

bool is_pem_text(std::string_view text) {
  const size_t start = text.find_first_not_of(" \t\r\n");
  return start != std::string_view::npos && text.substr(start, 11) == "-----BEGIN ";
}

void generate_ec_signing_keys(const std::string& public_key_path, const std::string& secret_key_path, EcCurve curve,
                              bool overwrite) {
  for (const auto& path : {secret_key_path, public_key_path})
    CITADEL_CHECK(overwrite || !std::filesystem::exists(path), IoError, path,
                  ": the file exists; refusing to replace a key (files signed with it would no longer verify). "
                  "Give another name, or --force");
  std::unique_ptr<EVP_PKEY, EvpKeyFree> key(EVP_EC_gen(group_of(curve)));
  CITADEL_CHECK(key != nullptr, IoError, "cannot generate an ", ec_curve_name(curve), " key (", openssl_error(), ")");
  std::string secret = pem_of(key.get(), true);
  try {
    write_file_atomically(secret_key_path, secret, 0600, overwrite);
  } catch (...) {
    OPENSSL_cleanse(secret.data(), secret.size());
    throw;
  }
  OPENSSL_cleanse(secret.data(), secret.size());
  write_file_atomically(public_key_path, pem_of(key.get(), false), kDefaultMode, overwrite);
}

EcPublicKey EcPublicKey::from_pem(std::string_view pem, const std::string& source) {
  CITADEL_CHECK(pem.find("PRIVATE KEY") == std::string_view::npos, IoError, source,
                ": a private key; give the public key (the secret key stays with the signer)");
  Bio bio(BIO_new_mem_buf(pem.data(), int(pem.size())));
  CITADEL_CHECK(bio != nullptr, IoError, "cannot allocate an OpenSSL buffer");
  EcPublicKey result;
  result.key_.reset(PEM_read_bio_PUBKEY(bio.get(), nullptr, no_passphrase, nullptr));
  CITADEL_CHECK(result.key_ != nullptr, IoError, source, ": not a PEM public key (", openssl_error(), ")");
  result.curve_ = curve_of(result.key_.get(), source);
  return result;
}

EcPublicKey EcPublicKey::load(const std::string& path) { return from_pem(read_key_text(path), path); }

std::string EcPublicKey::pem() const { return pem_of(key_.get(), false); }

std::string EcPublicKey::hint() const { return sha256_hex(pem()); }

bool EcPublicKey::verify(std::string_view message, std::string_view der_signature) const {
  MdContext context(EVP_MD_CTX_new());
  CITADEL_CHECK(context != nullptr, IoError, "cannot allocate an OpenSSL digest context");
  CITADEL_CHECK(EVP_DigestVerifyInit(context.get(), nullptr, digest_for(curve_), nullptr, key_.get()) == 1, IoError,
                "cannot start an ECDSA verification (", openssl_error(), ")");
  // 1: valid; 0: not this key's signature of this message; < 0: not even a DER signature.
  const int verdict = EVP_DigestVerify(context.get(), reinterpret_cast<const unsigned char*>(der_signature.data()),
                                       der_signature.size(), reinterpret_cast<const unsigned char*>(message.data()),
                                       message.size());
  ERR_clear_error();
  return verdict == 1;
}

EcPrivateKey EcPrivateKey::load(const std::string& path) {
  std::string text = read_key_text(path);
  const bool encrypted = text.find("ENCRYPTED") != std::string::npos;
  const bool is_public = text.find("PUBLIC KEY-----") != std::string::npos;
  EcPrivateKey result;
  result.source_ = path;
  if (!encrypted && !is_public) {
    Bio bio(BIO_new_mem_buf(text.data(), int(text.size())));
    if (bio) result.key_.reset(PEM_read_bio_PrivateKey(bio.get(), nullptr, no_passphrase, nullptr));
  }
  OPENSSL_cleanse(text.data(), text.size());
  CITADEL_CHECK(!encrypted, IoError, path,
                ": an encrypted private key; citadel signs with unencrypted PEM keys (mode 0600), such as "
                "`citadel keygen --type p256` writes");
  CITADEL_CHECK(!is_public, IoError, path, ": a public key; signing needs the private key");
  CITADEL_CHECK(result.key_ != nullptr, IoError, path, ": not a PEM private key (", openssl_error(), ")");
  result.curve_ = curve_of(result.key_.get(), path);
  return result;
}

EcPublicKey EcPrivateKey::public_key() const {
  return EcPublicKey::from_pem(pem_of(key_.get(), false), source_ + " (its public half)");
}

std::string EcPrivateKey::sign(std::string_view message) const {
  MdContext context(EVP_MD_CTX_new());
  CITADEL_CHECK(context != nullptr, IoError, "cannot allocate an OpenSSL digest context");
  CITADEL_CHECK(EVP_DigestSignInit(context.get(), nullptr, digest_for(curve_), nullptr, key_.get()) == 1, IoError,
                source_, ": cannot start an ECDSA signature (", openssl_error(), ")");
  size_t size = 0;
  const auto* data = reinterpret_cast<const unsigned char*>(message.data());
  CITADEL_CHECK(EVP_DigestSign(context.get(), nullptr, &size, data, message.size()) == 1, IoError, source_,
                ": cannot sign (", openssl_error(), ")");
  std::string signature(size, '\0');
  CITADEL_CHECK(EVP_DigestSign(context.get(), reinterpret_cast<unsigned char*>(signature.data()), &size, data,
                               message.size()) == 1,
                IoError, source_, ": cannot sign (", openssl_error(), ")");
  signature.resize(size);
  return signature;
}

}  // namespace citadel
