// Model files and checkpoints as they are stored: optionally encrypted and signed. Reading
// opens the file once: the signature is checked on the bytes read, those same bytes are
// decrypted in memory, and only they are parsed, so no file swapped in between is used.
#pragma once

#include <string>

#include "citadel/io/encryption.hpp"

namespace citadel {

// How to open a protected file: with `public_key`, a file without a valid signature for
// the expected purpose is refused; an encrypted file needs `key`.
struct ModelAccess {
  std::string public_key;
  EncryptionKey key;
};

// How to write one: encrypted with `key` when given, then signed with `secret_key` when
// given (the signature covers the bytes as stored); `mode` as for AtomicFileWriter.
struct ModelProtection {
  std::string secret_key;
  EncryptionKey key;
  unsigned mode = ~0u;  // kDefaultMode
};

// The plaintext of `path` (its bytes, verified and decrypted as `access` asks); `purpose`
// is kPurposeModel or kPurposeCheckpoint. Callers wipe_bytes() it when done.
// `was_encrypted`, when given, tells whether the stored file was encrypted.
std::string read_protected_file(const std::string& path, const ModelAccess& access, const std::string& purpose,
                                bool* was_encrypted = nullptr);

// Writes `plaintext` to `path` atomically, protected as asked.
void write_protected_file(const std::string& path, std::string plaintext, const ModelProtection& protection,
                          const std::string& purpose);

}  // namespace citadel
