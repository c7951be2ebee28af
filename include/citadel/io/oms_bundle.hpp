// OpenSSF model signing (spec v1.0, as the `model-signing` 1.1.1 client writes it) as JSON:
// a Sigstore bundle v0.3 holding a DSSE envelope, whose payload is an in-toto statement
// listing the model's files and their SHA-256 digests. Reading is bounded (size, depth,
// counts) and every refusal names the file and the field; no cryptography happens here.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace citadel {

inline constexpr const char* kOmsBundleMediaType = "application/vnd.dev.sigstore.bundle.v0.3+json";
inline constexpr const char* kInTotoPayloadType = "application/vnd.in-toto+json";
inline constexpr const char* kInTotoStatementType = "https://in-toto.io/Statement/v1";
inline constexpr const char* kOmsPredicateType = "https://model_signing/signature/v1.0";

// Bounds on what a bundle may make the reader hold.
struct OmsBundleLimits {
  size_t max_bundle_bytes = size_t(8) << 20;  // the bundle file (and so its payload)
  int max_depth = 16;                         // JSON nesting (bundles and statements need 6)
  size_t max_resources = 100000;              // files listed
  size_t max_name_bytes = 4096;               // a file name, the model's name
  size_t max_ignore_paths = 1024;
};

// The bundle's envelope, decoded; nothing in it is authenticated yet.
struct OmsEnvelope {
  std::string media_type = kOmsBundleMediaType;
  std::string key_hint;  // hex SHA-256 of the signer's PEM public key; empty when absent
  std::string payload_type = kInTotoPayloadType;
  std::string payload;    // the statement's JSON bytes, as signed
  std::string signature;  // DER ECDSA signature of dsse_pae(payload_type, payload)
};

// One file and its digest. `name` is the path below the model's directory, or "." (what
// the Python client writes) or the file's own name (what the spec says) for a single file.
struct OmsResource {
  std::string name;
  std::string sha256;  // 64 lowercase hex digits
};

// citadel's binding, an extra predicate field ("citadel") that other verifiers ignore.
struct OmsCitadelClaim {
  std::string purpose;    // kPurposeModel or kPurposeCheckpoint
  std::string name;       // the signed file's or directory's name
  std::string signed_at;  // UTC, ISO 8601
};

// The in-toto statement (predicate type v1.0, "files" serialization, SHA-256).
struct OmsStatement {
  std::string subject_name;  // the model's name (informative to the Python client)
  std::string root_digest;   // hex SHA-256 of the resources' raw digests, in listed order
  bool allow_symlinks = false;
  std::vector<std::string> ignore_paths;  // relative to the model's directory
  std::vector<OmsResource> resources;
  std::optional<OmsCitadelClaim> citadel;
};

// Whether a signature file's text is JSON, so a bundle (citadel's own lines start with a word).
bool looks_like_oms_bundle(std::string_view text);

// The bundle's envelope. IoError for malformed JSON, a missing field or a wrong type;
// SecurityError for a media type, payload type or form citadel does not verify.
OmsEnvelope parse_oms_bundle(std::string_view text, const std::string& source, const OmsBundleLimits& limits = {});

// The statement in an envelope's payload, checked for consistency: the root digest must be
// that of the resources (SecurityError otherwise), names unique and relative.
OmsStatement parse_oms_statement(std::string_view payload, const std::string& source,
                                 const OmsBundleLimits& limits = {});

// The hex root digest of `resources` (SHA-256 over their raw digests, in order).
std::string oms_root_digest(const std::vector<OmsResource>& resources);

// DSSE's pre-authentication encoding: "DSSEv1 <len> <type> <len> <payload>".
std::string dsse_pae(std::string_view payload_type, std::string_view payload);

// JSON text of a statement (as given: root_digest is not recomputed) and of a bundle.
std::string oms_statement_json(const OmsStatement& statement);
std::string oms_bundle_json(const OmsEnvelope& envelope);

}  // namespace citadel
