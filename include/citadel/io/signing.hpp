// Ed25519 signatures of model files and checkpoints (libsodium). A signature vouches for a
// small statement, not for bare bytes: what the file is for (a model or a checkpoint), its
// name, its SHA-256 and size, and when it was signed, so a signed checkpoint cannot pass
// for a model, nor one signed model for another of a different name.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace citadel {

inline constexpr const char* kPurposeModel = "model";
inline constexpr const char* kPurposeCheckpoint = "checkpoint";

// Writes a new key pair: the public key (the umask's mode) and the secret key (0600), as
// one-line text files ("citadel-ed25519-public <base64>"). Existing files are refused
// unless `overwrite`.
void generate_signing_keys(const std::string& public_key_path, const std::string& secret_key_path,
                           bool overwrite = false);

// The signature file of `path` unless another is given: path + ".sig".
std::string signature_path_for(const std::string& path);

// What a signature vouches for (signed as its JSON, after a domain string).
struct SignedStatement {
  std::string purpose;    // kPurposeModel or kPurposeCheckpoint
  std::string file_name;  // the file's name without its directory
  std::string sha256;     // of the file's bytes, hex
  int64_t bytes = 0;
  std::string created;    // UTC, ISO 8601
  std::string text() const;  // one line for people
};

// Signs `bytes`, the contents of `path`, for `purpose`; writes the signature file atomically.
void sign_bytes(std::string_view bytes, const std::string& path, const std::string& purpose,
                const std::string& secret_key_path, const std::string& signature_path = "");
// Reads `path` and signs it.
void sign_file(const std::string& path, const std::string& secret_key_path, const std::string& purpose = kPurposeModel,
               const std::string& signature_path = "");

// Checks the signature file of `path` against the public key and `bytes`: the statement
// must be signed by the key, name `path`'s file and `purpose`, and hold the bytes' hash.
// Returns the statement; throws SecurityError saying what failed (a missing signature
// included), IoError when a key or signature file cannot be read or is malformed.
// An empty `purpose` accepts any (the `verify` command prints it).
SignedStatement require_valid_signature(std::string_view bytes, const std::string& path,
                                        const std::string& public_key_path, const std::string& purpose,
                                        const std::string& signature_path = "");

}  // namespace citadel
