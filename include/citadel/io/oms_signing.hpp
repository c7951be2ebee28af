// Signing and verifying models in OpenSSF model signing's private-key mode: an ECDSA
// signature (P-256, P-384, P-521) of an in-toto statement listing the model's files, in a
// Sigstore bundle that `python -m model_signing verify key` accepts, and that citadel
// checks as strictly as its own format (what the bundle holds: oms_bundle.hpp).
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "citadel/io/ec_keys.hpp"
#include "citadel/io/oms_bundle.hpp"

namespace citadel {

// What a verified bundle vouches for.
struct OmsVerified {
  std::string subject_name;  // the model's name, as signed
  std::string root_digest;   // hex
  size_t files = 0;
  std::string file_sha256;  // the single file's digest (empty for a directory)
  std::optional<OmsCitadelClaim> citadel;
  EcCurve curve = EcCurve::kP256;
};

// Signs `bytes` as the single file `path` for `purpose` with the PEM private key at
// `secret_key_path`, and writes the bundle atomically to `signature_path`. The resource is
// named "." as the Python client names it (and verifies it).
void oms_sign_bytes(std::string_view bytes, const std::string& path, const std::string& purpose,
                    const std::string& secret_key_path, const std::string& signature_path);

// Signs the directory `path`: every file below it except git's files at its top (as the
// client does) and the bundle itself when it is written inside.
void oms_sign_directory(const std::string& path, const std::string& purpose, const std::string& secret_key_path,
                        const std::string& signature_path);

// Checks the bundle text `bundle` (read from `signature_path`) with the PEM public key at
// `public_key_path` for the single file `path` whose bytes, as read, are `bytes`: the key's
// signature of the statement, the statement's consistency, one resource named "." or the
// file's name with the bytes' SHA-256, and citadel's claim (purpose and name) when present.
// An empty `purpose` accepts any; a bundle without citadel's claim is accepted as a model
// (what another tool signs) and never as a checkpoint. SecurityError saying what failed.
OmsVerified oms_verify_bytes(std::string_view bytes, const std::string& path, std::string_view bundle,
                             const std::string& signature_path, const std::string& public_key_path,
                             const std::string& purpose);

// The same for the directory `path`: its files (less the statement's ignored paths and the
// bundle itself) must be exactly those listed, with the listed digests.
OmsVerified oms_verify_directory(const std::string& path, std::string_view bundle, const std::string& signature_path,
                                 const std::string& public_key_path, const std::string& purpose);

}  // namespace citadel
