// Encrypted model files (libsodium): XChaCha20-Poly1305 in streaming form (secretstream),
// keyed by a 32-byte key file or a passphrase through Argon2id. Decryption happens in
// memory, so the plaintext never touches the disk; any changed byte is an error.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace citadel {

struct EncryptionKey {
  std::string key_file;    // a file from generate_encryption_key, or
  std::string passphrase;  // a passphrase (Argon2id, with the salt and limits stored in the file)
};

// Writes a new random 32-byte key as a one-line text file with mode 0600.
void generate_encryption_key(const std::string& path);

// Whether bytes start like an encrypted citadel file.
bool is_encrypted(std::string_view bytes);

// Encrypts `plaintext` into the encrypted format.
std::string encrypt_bytes(std::string_view plaintext, const EncryptionKey& key);
// Decrypts; throws SecurityError for a wrong key or any modification, IoError for a
// malformed or truncated file. `source` names it in messages.
std::string decrypt_bytes(std::string_view ciphertext, const EncryptionKey& key, const std::string& source);

// File forms of the above; the output is written atomically.
void encrypt_file(const std::string& input, const std::string& output, const EncryptionKey& key);
void decrypt_file(const std::string& input, const std::string& output, const EncryptionKey& key);

}  // namespace citadel
