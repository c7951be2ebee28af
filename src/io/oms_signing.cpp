// OpenSSF model signing, private-key mode (see oms_signing.hpp). Verification goes:
// bundle parsed (bounded) → key hint and ECDSA signature of the DSSE encoding checked →
// only then the statement parsed and checked → the files compared with it.
#include "citadel/io/oms_signing.hpp"

#include <filesystem>
#include <map>

#include "citadel/core/atomic_file.hpp"
#include "citadel/core/error.hpp"
#include "citadel/core/utc_time.hpp"
#include "citadel/io/digest.hpp"
#include "citadel/io/oms_manifest.hpp"
#include "citadel/io/signing.hpp"

namespace citadel {
namespace fs = std::filesystem;

namespace {

// The name the client gives a model: the last component of its path.
std::string model_name_of(const std::string& path) {
  std::string trimmed = path;
  while (trimmed.size() > 1 && trimmed.back() == '/') trimmed.pop_back();
  std::string name = fs::path(trimmed).filename().string();
  if (name.empty() || name == "." || name == "..") {
    std::error_code error;
    name = fs::weakly_canonical(trimmed, error).filename().string();
  }
  return name;
}

void check_purpose(const std::string& purpose, bool sign) {
  CITADEL_CHECK(purpose == kPurposeModel || purpose == kPurposeCheckpoint, ValueError, sign ? "sign" : "verify",
                ": purpose '", purpose, "' is neither ", kPurposeModel, " nor ", kPurposeCheckpoint);
}

void write_bundle(const OmsStatement& statement, const EcPrivateKey& key, const std::string& signature_path) {
  OmsEnvelope envelope;
  envelope.payload = oms_statement_json(statement);
  envelope.signature = key.sign(dsse_pae(envelope.payload_type, envelope.payload));
  envelope.key_hint = key.public_key().hint();
  write_file_atomically(signature_path, oms_bundle_json(envelope));
}

OmsStatement statement_for(const std::string& path, std::vector<OmsResource> resources,
                           std::vector<std::string> ignore_paths, const std::string& purpose) {
  OmsStatement statement;
  statement.subject_name = model_name_of(path);
  statement.resources = std::move(resources);
  statement.root_digest = oms_root_digest(statement.resources);
  statement.ignore_paths = std::move(ignore_paths);
  statement.citadel = OmsCitadelClaim{purpose, statement.subject_name, utc_timestamp()};
  return statement;
}

// The statement of `bundle` once the key's signature on it is checked; nothing unsigned is
// parsed beyond the envelope.
OmsStatement authenticate(std::string_view bundle, const std::string& path, const std::string& signature_path,
                          const std::string& public_key_path, EcCurve& curve) {
  const OmsEnvelope envelope = parse_oms_bundle(bundle, signature_path);
  const EcPublicKey key = EcPublicKey::load(public_key_path);
  curve = key.curve();
  CITADEL_CHECK(envelope.key_hint.empty() || envelope.key_hint == key.hint(), SecurityError, path,
                ": signed with another key (", signature_path, "'s key hint ", envelope.key_hint,
                " is not the SHA-256 of ", public_key_path, "); refusing it");
  CITADEL_CHECK(key.verify(dsse_pae(envelope.payload_type, envelope.payload), envelope.signature), SecurityError, path,
                ": the signature in ", signature_path, " does not match (not signed with ", public_key_path,
                ", or the statement was changed); refusing it");
  return parse_oms_statement(envelope.payload, signature_path);
}

// citadel's claim, when the bundle has one, must be for this use and this name.
void check_claim(const OmsStatement& statement, const std::string& path, const std::string& purpose) {
  const std::string name = model_name_of(path);
  if (!statement.citadel) {
    CITADEL_CHECK(purpose != kPurposeCheckpoint, SecurityError, path,
                  ": the bundle states no purpose (it was not made by citadel), so it cannot vouch for a checkpoint; "
                  "sign checkpoints with `citadel sign --format oms --purpose checkpoint`; refusing it");
    return;
  }
  CITADEL_CHECK(purpose.empty() || statement.citadel->purpose == purpose, SecurityError, path,
                ": the signature vouches for a ", statement.citadel->purpose, ", not a ", purpose, "; refusing it");
  CITADEL_CHECK(statement.citadel->name == name, SecurityError, path, ": the signature is for '",
                statement.citadel->name, "', not '", name, "'; refusing it (re-sign a renamed model)");
}

OmsVerified verified(const OmsStatement& statement, EcCurve curve) {
  return {statement.subject_name, statement.root_digest, statement.resources.size(), "", statement.citadel, curve};
}

// At most a few names, for messages.
std::string listed(const std::vector<std::string>& names) {
  std::string text;
  for (size_t i = 0; i < names.size() && i < 5; ++i) text += (i ? ", " : "") + names[i];
  if (names.size() > 5) text += ", ... (" + std::to_string(names.size()) + " in all)";
  return text;
}

}  // namespace

void oms_sign_bytes(std::string_view bytes, const std::string& path, const std::string& purpose,
                    const std::string& secret_key_path, const std::string& signature_path) {
  check_purpose(purpose, true);
  const EcPrivateKey key = EcPrivateKey::load(secret_key_path);
  write_bundle(statement_for(path, {{".", sha256_hex(bytes)}}, oms_default_ignore_paths(), purpose), key,
               signature_path);
}

void oms_sign_directory(const std::string& path, const std::string& purpose, const std::string& secret_key_path,
                        const std::string& signature_path) {
  check_purpose(purpose, true);
  const EcPrivateKey key = EcPrivateKey::load(secret_key_path);
  std::vector<std::string> ignored = oms_default_ignore_paths();
  const std::string bundle_inside = oms_path_inside(path, signature_path);
  if (!bundle_inside.empty()) ignored.push_back(bundle_inside);
  std::vector<OmsResource> resources = oms_directory_resources(path, ignored);
  CITADEL_CHECK(!resources.empty(), ValueError, path, ": no files to sign");
  write_bundle(statement_for(path, std::move(resources), std::move(ignored), purpose), key, signature_path);
}

OmsVerified oms_verify_bytes(std::string_view bytes, const std::string& path, std::string_view bundle,
                             const std::string& signature_path, const std::string& public_key_path,
                             const std::string& purpose) {
  EcCurve curve{};
  const OmsStatement statement = authenticate(bundle, path, signature_path, public_key_path, curve);
  const std::string name = model_name_of(path);
  CITADEL_CHECK(statement.resources.size() == 1, SecurityError, path, ": ", signature_path, " signs ",
                statement.resources.size(), " files (a directory: check it with `citadel verify DIRECTORY`), not ",
                "this one file; refusing it");
  const OmsResource& resource = statement.resources.front();
  CITADEL_CHECK(resource.name == "." || resource.name == name, SecurityError, path, ": the signature is for a file ",
                "named '", resource.name, "', not '", name, "'; refusing it");
  CITADEL_CHECK(resource.sha256 == sha256_hex(bytes), SecurityError, path,
                ": the file was changed since it was signed (its SHA-256 is not the one in ", signature_path,
                "); refusing it");
  check_claim(statement, path, purpose);
  OmsVerified result = verified(statement, curve);
  result.file_sha256 = resource.sha256;
  return result;
}

OmsVerified oms_verify_directory(const std::string& path, std::string_view bundle, const std::string& signature_path,
                                 const std::string& public_key_path, const std::string& purpose) {
  EcCurve curve{};
  const OmsStatement statement = authenticate(bundle, path, signature_path, public_key_path, curve);
  std::vector<std::string> ignored = statement.ignore_paths;
  const std::string bundle_inside = oms_path_inside(path, signature_path);
  if (!bundle_inside.empty()) ignored.push_back(bundle_inside);
  const std::vector<OmsResource> present = oms_directory_resources(path, ignored);
  std::map<std::string, std::string> signed_files;
  for (const auto& resource : statement.resources) signed_files[resource.name] = resource.sha256;
  std::vector<std::string> changed, added, missing;
  for (const auto& resource : present) {
    const auto found = signed_files.find(resource.name);
    if (found == signed_files.end()) added.push_back(resource.name);
    else if (found->second != resource.sha256) changed.push_back(resource.name);
    if (found != signed_files.end()) signed_files.erase(found);
  }
  for (const auto& [name, digest] : signed_files) missing.push_back(name);
  std::string problems;
  if (!changed.empty()) problems += std::to_string(changed.size()) + " changed (" + listed(changed) + ")";
  if (!added.empty()) problems += (problems.empty() ? "" : ", ") + std::to_string(added.size()) + " not signed (" +
                                  listed(added) + ")";
  if (!missing.empty()) problems += (problems.empty() ? "" : ", ") + std::to_string(missing.size()) + " missing (" +
                                    listed(missing) + ")";
  CITADEL_CHECK(problems.empty(), SecurityError, path, ": the files do not match ", signature_path, ": ", problems,
                "; refusing it");
  check_claim(statement, path, purpose);
  return verified(statement, curve);
}

}  // namespace citadel
