// Ed25519 signatures of model files (libsodium): a key pair, a detached signature over the
// whole file (FILE.sig), and verification before anything in the file is parsed.
#pragma once

#include <string>
#include <string_view>

namespace citadel {

// Writes a new key pair: the public key (mode 0644) and the secret key (mode 0600), as
// one-line text files ("citadel-ed25519-public <base64>").
void generate_signing_keys(const std::string& public_key_path, const std::string& secret_key_path);

// The signature file of `path` unless another is given: path + ".sig".
std::string signature_path_for(const std::string& path);

// Signs the bytes of `path` with the secret key; writes the signature file atomically.
void sign_file(const std::string& path, const std::string& secret_key_path, const std::string& signature_path = "");

// Whether `bytes` carry a valid signature (in signature_path) by the public key. Throws
// IoError when a key or signature file cannot be read or is malformed.
bool signature_is_valid(std::string_view bytes, const std::string& signature_path, const std::string& public_key_path);

// Throws SecurityError unless `bytes` (the contents of `path`) carry a valid signature by
// the public key; a missing signature file is a SecurityError too.
void require_valid_signature(std::string_view bytes, const std::string& path, const std::string& public_key_path);

}  // namespace citadel
