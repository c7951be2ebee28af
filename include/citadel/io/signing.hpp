// Signatures of model files and checkpoints, in two formats found by their contents:
// citadel's own (Ed25519, libsodium) and OpenSSF model signing (ECDSA, oms_signing.hpp). A
// signature vouches for a small statement, not for bare bytes: what the file is for (a
// model or a checkpoint), its name, its SHA-256 and size, and when it was signed, so a
// signed checkpoint cannot pass for a model, nor one signed model for another of a
// different name.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace citadel {

inline constexpr const char* kPurposeModel = "model";
inline constexpr const char* kPurposeCheckpoint = "checkpoint";

// The two formats. Keys tell them apart: citadel's are labelled lines
// ("citadel-ed25519-public ..."), OpenSSF model signing's are PEM ECDSA keys.
enum class SignatureFormat { kCitadel, kOms };
// The format a key file (public or secret) signs or verifies; IoError when it cannot be read.
SignatureFormat signature_format_of_key(const std::string& key_path);

// Writes a new key pair: the public key (the umask's mode) and the secret key (0600), as
// one-line text files ("citadel-ed25519-public <base64>"). Existing files are refused
// unless `overwrite`.
void generate_signing_keys(const std::string& public_key_path, const std::string& secret_key_path,
                           bool overwrite = false);

// The signature file of `path` (a file or a directory) unless another is given:
// path + ".sig", trailing slashes dropped.
std::string signature_path_for(const std::string& path);

// What a signature vouches for (signed as its JSON, after a domain string).
struct SignedStatement {
  std::string purpose;    // kPurposeModel or kPurposeCheckpoint
  std::string file_name;  // the file's name without its directory
  std::string sha256;     // of the file's bytes, hex
  int64_t bytes = 0;
  std::string created;    // UTC, ISO 8601; empty when not recorded (another tool's bundle)
  std::string format;     // empty for citadel's own; "OpenSSF model signing, ECDSA P-256", ...
  int64_t files = 1;      // a directory's signature: its file count; sha256 is its root digest
  bool directory = false;
  // A plaintext model file's trigger-set watermark commitment (`train --watermark-trigger-set`),
  // copied from its metadata when citadel's own format signed it; empty otherwise. The file's
  // hash binds it anyway: here it is shown with the signed time.
  std::string watermark_commitment;
  std::string text() const;  // one line for people
};

// Signs `bytes`, the contents of `path`, for `purpose`, in the format of the secret key
// (an OpenSSF bundle for a PEM ECDSA key); writes the signature file atomically.
void sign_bytes(std::string_view bytes, const std::string& path, const std::string& purpose,
                const std::string& secret_key_path, const std::string& signature_path = "");
// Reads `path` and signs it.
void sign_file(const std::string& path, const std::string& secret_key_path, const std::string& purpose = kPurposeModel,
               const std::string& signature_path = "");

// Signs the directory `path` (OpenSSF model signing only: citadel's own format signs one
// file) with the PEM ECDSA key at `secret_key_path`.
void sign_directory(const std::string& path, const std::string& secret_key_path,
                    const std::string& purpose = kPurposeModel, const std::string& signature_path = "");

// Checks the signature file of `path` against the public key and `bytes`: the statement
// must be signed by the key, name `path`'s file and `purpose`, and hold the bytes' hash.
// Returns the statement; throws SecurityError saying what failed (a missing signature
// included), IoError when a key or signature file cannot be read or is malformed.
// An empty `purpose` accepts any (the `verify` command prints it). The signature file's
// contents say its format (a JSON bundle or citadel's lines); a key of the other format is a
// SecurityError saying so. An OpenSSF bundle without citadel's claim vouches for a model,
// never for a checkpoint, and binds no name beyond its resource's (".": any).
SignedStatement require_valid_signature(std::string_view bytes, const std::string& path,
                                        const std::string& public_key_path, const std::string& purpose,
                                        const std::string& signature_path = "");

// `citadel verify`: a file as above (read once), or a directory against its OpenSSF bundle.
SignedStatement require_valid_signature_of_path(const std::string& path, const std::string& public_key_path,
                                                const std::string& purpose, const std::string& signature_path = "");

}  // namespace citadel
