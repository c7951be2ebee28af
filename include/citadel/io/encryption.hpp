// Encrypted model files (libsodium): XChaCha20-Poly1305 in streaming form (secretstream),
// keyed by a 32-byte key file or a passphrase through Argon2id. Decryption happens in
// memory, so the plaintext never touches the disk; any changed byte is an error.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace citadel {

struct EncryptionKey {
  std::string key_file = "";    // a file from generate_encryption_key, or
  std::string passphrase = "";  // a passphrase (Argon2id MODERATE, with the salt and limits stored in the file)
  ~EncryptionKey();        // wipes the passphrase
  bool empty() const { return key_file.empty() && passphrase.empty(); }
};

// Writes a new random 32-byte key as a one-line text file with mode 0600. An existing
// file is refused unless `overwrite`: it may be the only key to earlier encrypted files.
void generate_encryption_key(const std::string& path, bool overwrite = false);

// Whether bytes (or the file at `path`) start like an encrypted citadel file.
bool is_encrypted(std::string_view bytes);
bool is_encrypted_file(const std::string& path);

// Encrypts `plaintext` into the encrypted format.
std::string encrypt_bytes(std::string_view plaintext, const EncryptionKey& key);
// Decrypts; throws SecurityError for a wrong key or any modification, IoError for a
// malformed or truncated file. `source` names it in messages.
std::string decrypt_bytes(std::string_view ciphertext, const EncryptionKey& key, const std::string& source);

// File forms of the above, streaming 64 KiB at a time (a large file is never held twice
// in memory); the output is written atomically, a decrypted one with mode 0600.
void encrypt_file(const std::string& input, const std::string& output, const EncryptionKey& key);
void decrypt_file(const std::string& input, const std::string& output, const EncryptionKey& key);
// Decrypts a file straight into memory (the plaintext never touches the disk).
std::string decrypt_file_to_memory(const std::string& path, const EncryptionKey& key);
// Overwrites a buffer that held plaintext or key material, then empties it.
void wipe_bytes(std::string& bytes);

}  // namespace citadel
