// One read, then verify, decrypt and hand over that buffer (see protected_file.hpp).
#include "citadel/io/protected_file.hpp"

#include "citadel/core/atomic_file.hpp"
#include "citadel/core/error.hpp"
#include "citadel/io/model_file.hpp"
#include "citadel/io/signing.hpp"

namespace citadel {

std::string read_protected_file(const std::string& path, const ModelAccess& access, const std::string& purpose,
                                bool* was_encrypted) {
  std::string stored = read_file_bytes(path);
  if (!access.public_key.empty()) require_valid_signature(stored, path, access.public_key, purpose);
  if (was_encrypted) *was_encrypted = is_encrypted(stored);
  if (!is_encrypted(stored)) return stored;
  CITADEL_CHECK(!access.key.empty(), SecurityError, path, ": the ", purpose,
                " is encrypted; give --key-file or --passphrase-env");
  return decrypt_bytes(stored, access.key, path);
}

void write_protected_file(const std::string& path, std::string plaintext, const ModelProtection& protection,
                          const std::string& purpose) {
  std::string stored = protection.key.empty() ? std::move(plaintext) : encrypt_bytes(plaintext, protection.key);
  if (!protection.key.empty()) wipe_bytes(plaintext);
  write_file_atomically(path, stored, protection.mode);
  if (!protection.secret_key.empty()) sign_bytes(stored, path, purpose, protection.secret_key);
}

}  // namespace citadel
