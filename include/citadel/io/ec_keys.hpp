// ECDSA keys (NIST P-256, P-384, P-521) as PEM files, through OpenSSL: what OpenSSF model
// signing's private-key mode signs with. The hash goes with the curve (SHA-256, -384, -512),
// as the format and its reference client do; signatures are DER, as they write them.
#pragma once

#include <memory>
#include <string>
#include <string_view>

typedef struct evp_pkey_st EVP_PKEY;

namespace citadel {

enum class EcCurve { kP256, kP384, kP521 };

// "p256", "p384" or "p521" (ValueError otherwise); and back, and as people name them.
EcCurve ec_curve_named(std::string_view name);
std::string ec_curve_name(EcCurve curve);  // "P-256"

// Writes a new key pair: the public key as PEM SubjectPublicKeyInfo (the umask's mode), the
// private key as unencrypted PEM PKCS#8 (0600). Existing files are refused unless `overwrite`.
void generate_ec_signing_keys(const std::string& public_key_path, const std::string& secret_key_path, EcCurve curve,
                              bool overwrite = false);

// Whether a key file's text is PEM ("-----BEGIN "): an ECDSA key rather than citadel's
// labelled Ed25519 lines.
bool is_pem_text(std::string_view text);

struct EvpKeyFree {
  void operator()(EVP_PKEY* key) const;
};

// A public key read from PEM; IoError naming `source` unless it is an EC key on one of the
// three curves (an Ed25519 or RSA key is named as such).
class EcPublicKey {
 public:
  static EcPublicKey from_pem(std::string_view pem, const std::string& source);
  static EcPublicKey load(const std::string& path);

  EcCurve curve() const { return curve_; }
  // The key as PEM SubjectPublicKeyInfo, as OpenSSL and Python's `cryptography` write it.
  std::string pem() const;
  // Hex SHA-256 of pem(): the key hint model-signing bundles carry.
  std::string hint() const;
  // Whether `der_signature` is this key's ECDSA signature of `message`.
  bool verify(std::string_view message, std::string_view der_signature) const;

 private:
  std::unique_ptr<EVP_PKEY, EvpKeyFree> key_;
  EcCurve curve_ = EcCurve::kP256;
};

// A private key read from an unencrypted PEM file (PKCS#8 or SEC 1 "EC PRIVATE KEY").
class EcPrivateKey {
 public:
  static EcPrivateKey load(const std::string& path);

  EcCurve curve() const { return curve_; }
  EcPublicKey public_key() const;
  // The DER ECDSA signature of `message`.
  std::string sign(std::string_view message) const;

 private:
  std::unique_ptr<EVP_PKEY, EvpKeyFree> key_;
  EcCurve curve_ = EcCurve::kP256;
  std::string source_;
};

}  // namespace citadel
