// Ed25519 (crypto_sign_detached) over whole files, keys and signatures as labelled
// base64 lines so a file of the wrong kind is recognised rather than misused.
#include "citadel/io/signing.hpp"

#include <sodium.h>

#include <filesystem>
#include <vector>

#include "citadel/core/atomic_file.hpp"
#include "citadel/core/error.hpp"
#include "citadel/io/model_file.hpp"

namespace citadel {
namespace {

constexpr const char* kPublicLabel = "citadel-ed25519-public";
constexpr const char* kSecretLabel = "citadel-ed25519-secret";
constexpr const char* kSignatureLabel = "citadel-ed25519-signature";

void ensure_sodium() {
  CITADEL_CHECK(sodium_init() >= 0, SecurityError, "libsodium could not be initialised");
}

std::string encode(const char* label, const unsigned char* data, size_t size) {
  std::vector<char> text(sodium_base64_encoded_len(size, sodium_base64_VARIANT_ORIGINAL));
  sodium_bin2base64(text.data(), text.size(), data, size, sodium_base64_VARIANT_ORIGINAL);
  return std::string(label) + " " + text.data() + "\n";
}

// The `size` bytes a labelled key or signature file holds.
std::vector<unsigned char> decode(const std::string& path, const char* label, size_t size) {
  std::string text = read_file_bytes(path);
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.pop_back();
  const std::string prefix = std::string(label) + " ";
  CITADEL_CHECK(text.rfind(prefix, 0) == 0, IoError, path, ": not a ", label, " file");
  std::vector<unsigned char> bytes(size);
  size_t decoded = 0;
  const std::string base64 = text.substr(prefix.size());
  CITADEL_CHECK(sodium_base642bin(bytes.data(), size, base64.data(), base64.size(), nullptr, &decoded, nullptr,
                                  sodium_base64_VARIANT_ORIGINAL) == 0 &&
                    decoded == size,
                IoError, path, ": the ", label, " is not ", size, " bytes of base64");
  return bytes;
}

}  // namespace

void generate_signing_keys(const std::string& public_key_path, const std::string& secret_key_path) {
  ensure_sodium();
  unsigned char public_key[crypto_sign_PUBLICKEYBYTES], secret_key[crypto_sign_SECRETKEYBYTES];
  crypto_sign_keypair(public_key, secret_key);
  write_file_atomically(secret_key_path, encode(kSecretLabel, secret_key, sizeof secret_key), 0600);
  write_file_atomically(public_key_path, encode(kPublicLabel, public_key, sizeof public_key));
  sodium_memzero(secret_key, sizeof secret_key);
}

std::string signature_path_for(const std::string& path) { return path + ".sig"; }

void sign_file(const std::string& path, const std::string& secret_key_path, const std::string& signature_path) {
  ensure_sodium();
  const std::string bytes = read_file_bytes(path);
  std::vector<unsigned char> secret_key = decode(secret_key_path, kSecretLabel, crypto_sign_SECRETKEYBYTES);
  unsigned char signature[crypto_sign_BYTES];
  crypto_sign_detached(signature, nullptr, reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size(),
                       secret_key.data());
  sodium_memzero(secret_key.data(), secret_key.size());
  write_file_atomically(signature_path.empty() ? signature_path_for(path) : signature_path,
                        encode(kSignatureLabel, signature, sizeof signature));
}

bool signature_is_valid(std::string_view bytes, const std::string& signature_path, const std::string& public_key_path) {
  ensure_sodium();
  const auto public_key = decode(public_key_path, kPublicLabel, crypto_sign_PUBLICKEYBYTES);
  const auto signature = decode(signature_path, kSignatureLabel, crypto_sign_BYTES);
  return crypto_sign_verify_detached(signature.data(), reinterpret_cast<const unsigned char*>(bytes.data()),
                                     bytes.size(), public_key.data()) == 0;
}

void require_valid_signature(std::string_view bytes, const std::string& path, const std::string& public_key_path) {
  const std::string signature = signature_path_for(path);
  CITADEL_CHECK(std::filesystem::exists(signature), SecurityError, path, ": no signature (", signature,
                ") and a public key was given; refusing an unsigned model");
  CITADEL_CHECK(signature_is_valid(bytes, signature, public_key_path), SecurityError, path,
                ": the signature does not match (the file was changed, or signed with another key); refusing it");
}

}  // namespace citadel
