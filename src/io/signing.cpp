// Ed25519 (crypto_sign_detached) over a signed statement; keys and signature files as
// labelled base64 lines so a file of the wrong kind is recognised rather than misused.
// PEM keys and JSON bundles go to OpenSSF model signing (oms_signing.cpp).
#include "citadel/core/sodium_init.hpp"
#include "citadel/io/signing.hpp"

#include <sodium.h>

#include <ctime>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <vector>

#include "citadel/core/atomic_file.hpp"
#include "citadel/core/error.hpp"
#include "citadel/io/ec_keys.hpp"
#include "citadel/io/encryption.hpp"
#include "citadel/io/model_file.hpp"
#include "citadel/io/oms_signing.hpp"

namespace citadel {
namespace {

constexpr const char* kPublicLabel = "citadel-ed25519-public";
constexpr const char* kSecretLabel = "citadel-ed25519-secret";
constexpr const char* kSignatureLabel = "citadel-signed-statement-v2";
// Signed before the statement: an Ed25519 signature made for anything else never verifies.
constexpr std::string_view kDomain("citadel signed statement v2\n", 28);
constexpr size_t kMaxSignatureFileBytes = 64 * 1024;
constexpr size_t kMaxSigningKeyFileBytes = 64 * 1024;

std::string base64(const unsigned char* data, size_t size) {
  std::vector<char> text(sodium_base64_encoded_len(size, sodium_base64_VARIANT_ORIGINAL));
  sodium_bin2base64(text.data(), text.size(), data, size, sodium_base64_VARIANT_ORIGINAL);
  return text.data();
}

std::vector<unsigned char> unbase64(std::string_view text, size_t max_size, const std::string& path, const char* what) {
  std::vector<unsigned char> bytes(max_size);
  size_t decoded = 0;
  CITADEL_CHECK(sodium_base642bin(bytes.data(), bytes.size(), text.data(), text.size(), nullptr, &decoded, nullptr,
                                  sodium_base64_VARIANT_ORIGINAL) == 0,
                IoError, path, ": the ", what, " is not valid base64");
  bytes.resize(decoded);
  return bytes;
}

// The `size` bytes a labelled key file holds.
std::vector<unsigned char> read_key(const std::string& path, const char* label, size_t size) {
  std::string text = read_file_bytes(path);
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.pop_back();
  const std::string prefix = std::string(label) + " ";
  const bool labelled = text.rfind(prefix, 0) == 0;
  std::vector<unsigned char> bytes;
  if (labelled) bytes = unbase64(std::string_view(text).substr(prefix.size()), size, path, label);
  sodium_memzero(text.data(), text.size());
  CITADEL_CHECK(labelled, IoError, path, ": not a ", label, " file");
  CITADEL_CHECK(bytes.size() == size, IoError, path, ": the ", label, " is not ", size, " bytes of base64");
  return bytes;
}

std::string hex_sha256(std::string_view bytes) {
  unsigned char digest[crypto_hash_sha256_BYTES];
  crypto_hash_sha256(digest, reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size());
  char hex[2 * crypto_hash_sha256_BYTES + 1];
  sodium_bin2hex(hex, sizeof hex, digest, sizeof digest);
  return hex;
}

std::string utc_now() {
  const std::time_t now = std::time(nullptr);
  std::tm parts{};
  gmtime_r(&now, &parts);
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &parts);
  return text;
}

std::string file_name_of(const std::string& path) { return std::filesystem::path(path).filename().string(); }

// At most `limit` bytes of `path` (refused when there are more), read once.
std::string read_bounded(const std::string& path, size_t limit, const char* what) {
  std::ifstream file(path, std::ios::binary);
  CITADEL_CHECK(file.is_open(), IoError, path, ": cannot open the ", what);
  std::string text(limit + 1, '\0');
  file.read(text.data(), std::streamsize(text.size()));
  text.resize(size_t(file.gcount()));
  CITADEL_CHECK(!file.bad(), IoError, path, ": read error");
  CITADEL_CHECK(text.size() <= limit, IoError, path, ": too large to be a ", what);
  return text;
}

std::string curve_words(EcCurve curve) { return "OpenSSF model signing, ECDSA " + ec_curve_name(curve); }

SignedStatement statement_of(const OmsVerified& verified, int64_t bytes, bool directory) {
  SignedStatement statement;
  statement.purpose = verified.citadel ? verified.citadel->purpose : "";
  statement.file_name = verified.citadel ? verified.citadel->name : verified.subject_name;
  statement.sha256 = directory ? verified.root_digest : verified.file_sha256;
  statement.bytes = bytes;
  statement.created = verified.citadel ? verified.citadel->signed_at : "";
  statement.format = curve_words(verified.curve);
  statement.files = int64_t(verified.files);
  statement.directory = directory;
  return statement;
}

// The signature file's text, and whether it is an OpenSSF bundle; a key of the other
// format is refused here, naming both files.
std::string signature_text(const std::string& path, const std::string& signature_path,
                           const std::string& public_key_path, const std::string& purpose, bool& is_bundle) {
  CITADEL_CHECK(std::filesystem::exists(signature_path), SecurityError, path, ": no signature (", signature_path,
                ") and a public key was given; refusing an unsigned ", purpose.empty() ? "file" : purpose);
  std::string text = read_bounded(signature_path, OmsBundleLimits{}.max_bundle_bytes, "signature file");
  is_bundle = looks_like_oms_bundle(text);
  const bool pem_key = signature_format_of_key(public_key_path) == SignatureFormat::kOms;
  CITADEL_CHECK(is_bundle == pem_key, SecurityError, path, ": ", signature_path, " is ",
                is_bundle ? "an OpenSSF model-signing bundle (ECDSA)" : "a citadel Ed25519 signature", " but ",
                public_key_path, " is ", pem_key ? "a PEM (ECDSA) key" : "a citadel Ed25519 key",
                ": not signed by this key; refusing it");
  return text;
}

}  // namespace

SignatureFormat signature_format_of_key(const std::string& key_path) {
  std::string text = read_bounded(key_path, kMaxSigningKeyFileBytes, "key file");
  const bool pem = is_pem_text(text);
  sodium_memzero(text.data(), text.size());
  return pem ? SignatureFormat::kOms : SignatureFormat::kCitadel;
}

namespace {

// The trigger-set watermark commitment a plaintext model file records (`train
// --watermark-trigger-set`), or "" (none, an encrypted file, not a model file).
std::string watermark_commitment_of(std::string_view bytes, const std::string& path) {
  if (is_encrypted(bytes)) return "";
  try {
    const ModelFileSummary summary = inspect_model_file(bytes, path);
    const auto found = summary.metadata.find("trigger_set_watermark");
    if (found == summary.metadata.end()) return "";
    const nlohmann::json record = nlohmann::json::parse(found->second, nullptr, false);
    if (!record.is_object() || !record.contains("commitment") || !record["commitment"].is_string()) return "";
    const std::string commitment = record["commitment"].get<std::string>();
    const bool hex = commitment.size() == 64 && commitment.find_first_not_of("0123456789abcdef") == std::string::npos;
    return hex ? commitment : "";
  } catch (const std::exception&) {
    return "";
  }
}

}  // namespace

std::string SignedStatement::text() const {
  const std::string commitment =
      watermark_commitment.empty() ? "" : ", trigger-set watermark commitment " + watermark_commitment;
  if (format.empty())
    return purpose + " '" + file_name + "', " + std::to_string(bytes) + " bytes, SHA-256 " + sha256 + commitment +
           ", signed " + created;
  const std::string what = purpose.empty() ? "files (no citadel purpose: signed by another tool)" : purpose;
  const std::string size = directory ? std::to_string(files) + " files, root digest " + sha256
                                     : std::to_string(bytes) + " bytes, SHA-256 " + sha256;
  return what + " '" + file_name + "', " + size + (created.empty() ? "" : ", signed " + created) + " (" + format +
         ")";
}

void generate_signing_keys(const std::string& public_key_path, const std::string& secret_key_path, bool overwrite) {
  ensure_sodium();
  for (const auto& path : {secret_key_path, public_key_path})
    CITADEL_CHECK(overwrite || !std::filesystem::exists(path), IoError, path,
                  ": the file exists; refusing to replace a key (files signed with it would no longer verify). "
                  "Give another name, or --force");
  unsigned char public_key[crypto_sign_PUBLICKEYBYTES], secret_key[crypto_sign_SECRETKEYBYTES];
  crypto_sign_keypair(public_key, secret_key);
  std::string secret_line = std::string(kSecretLabel) + " " + base64(secret_key, sizeof secret_key) + "\n";
  sodium_memzero(secret_key, sizeof secret_key);
  write_file_atomically(secret_key_path, secret_line, 0600, overwrite);
  sodium_memzero(secret_line.data(), secret_line.size());
  write_file_atomically(public_key_path, std::string(kPublicLabel) + " " + base64(public_key, sizeof public_key) + "\n",
                        kDefaultMode, overwrite);
}

std::string signature_path_for(const std::string& path) {
  std::string trimmed = path;
  while (trimmed.size() > 1 && trimmed.back() == '/') trimmed.pop_back();
  return trimmed + ".sig";
}

void sign_bytes(std::string_view bytes, const std::string& path, const std::string& purpose,
                const std::string& secret_key_path, const std::string& signature_path) {
  if (signature_format_of_key(secret_key_path) == SignatureFormat::kOms)
    return oms_sign_bytes(bytes, path, purpose, secret_key_path,
                          signature_path.empty() ? signature_path_for(path) : signature_path);
  ensure_sodium();
  CITADEL_CHECK(purpose == kPurposeModel || purpose == kPurposeCheckpoint, ValueError, "sign: purpose '", purpose,
                "' is neither ", kPurposeModel, " nor ", kPurposeCheckpoint);
  nlohmann::json statement{{"domain", "citadel-signature-v2"}, {"purpose", purpose},
                                 {"file", file_name_of(path)},       {"sha256", hex_sha256(bytes)},
                                 {"bytes", bytes.size()},            {"created", utc_now()}};
  if (const std::string commitment = watermark_commitment_of(bytes, path); !commitment.empty())
    statement["watermark_commitment"] = commitment;
  const std::string text = statement.dump();
  std::string message = std::string(kDomain) + text;
  std::vector<unsigned char> secret_key = read_key(secret_key_path, kSecretLabel, crypto_sign_SECRETKEYBYTES);
  unsigned char signature[crypto_sign_BYTES];
  crypto_sign_detached(signature, nullptr, reinterpret_cast<const unsigned char*>(message.data()), message.size(),
                       secret_key.data());
  sodium_memzero(secret_key.data(), secret_key.size());
  write_file_atomically(signature_path.empty() ? signature_path_for(path) : signature_path,
                        std::string(kSignatureLabel) + "\n" +
                            base64(reinterpret_cast<const unsigned char*>(text.data()), text.size()) + "\n" +
                            base64(signature, sizeof signature) + "\n");
}

void sign_file(const std::string& path, const std::string& secret_key_path, const std::string& purpose,
               const std::string& signature_path) {
  sign_bytes(read_file_bytes(path), path, purpose, secret_key_path, signature_path);
}

void sign_directory(const std::string& path, const std::string& secret_key_path, const std::string& purpose,
                    const std::string& signature_path) {
  CITADEL_CHECK(signature_format_of_key(secret_key_path) == SignatureFormat::kOms, ValueError, path,
                ": a directory is signed in OpenSSF model signing's format, with an ECDSA key (`citadel keygen --type "
                "p256`); ",
                secret_key_path, " is a citadel Ed25519 key, whose signatures cover one file");
  oms_sign_directory(path, purpose, secret_key_path, signature_path.empty() ? signature_path_for(path) : signature_path);
}

SignedStatement require_valid_signature_of_path(const std::string& path, const std::string& public_key_path,
                                                const std::string& purpose, const std::string& signature_path_given) {
  if (!std::filesystem::is_directory(path))
    return require_valid_signature(read_file_bytes(path), path, public_key_path, purpose, signature_path_given);
  const std::string signature_path = signature_path_given.empty() ? signature_path_for(path) : signature_path_given;
  bool is_bundle = false;
  const std::string text = signature_text(path, signature_path, public_key_path, purpose, is_bundle);
  CITADEL_CHECK(is_bundle, IoError, path, ": a directory; citadel's own signatures cover one file (",
                signature_path, " is one): sign directories with `citadel sign --format oms`");
  return statement_of(oms_verify_directory(path, text, signature_path, public_key_path, purpose), 0, true);
}

SignedStatement require_valid_signature(std::string_view bytes, const std::string& path,
                                        const std::string& public_key_path, const std::string& purpose,
                                        const std::string& signature_path_given) {
  ensure_sodium();
  const std::string signature_path = signature_path_given.empty() ? signature_path_for(path) : signature_path_given;
  bool is_bundle = false;
  const std::string file = signature_text(path, signature_path, public_key_path, purpose, is_bundle);
  if (is_bundle)
    return statement_of(oms_verify_bytes(bytes, path, file, signature_path, public_key_path, purpose),
                        int64_t(bytes.size()), false);
  CITADEL_CHECK(file.size() <= kMaxSignatureFileBytes, IoError, signature_path, ": too large to be a signature file");
  const auto public_key = read_key(public_key_path, kPublicLabel, crypto_sign_PUBLICKEYBYTES);
  std::vector<std::string> lines;
  for (size_t start = 0; start < file.size();) {
    const size_t end = std::min(file.find('\n', start), file.size());
    lines.push_back(file.substr(start, end - start));
    start = end + 1;
  }
  CITADEL_CHECK(lines.empty() || lines[0].rfind("citadel-ed25519-signature ", 0) != 0, SecurityError, signature_path,
                ": a signature of an older citadel (over bare bytes, binding no purpose or name); re-sign the file "
                "with `citadel sign`");
  CITADEL_CHECK(lines.size() == 3 && lines[0] == kSignatureLabel, IoError, signature_path, ": not a ",
                kSignatureLabel, " file");
  const std::vector<unsigned char> text_bytes = unbase64(lines[1], lines[1].size(), signature_path, "statement");
  const std::vector<unsigned char> signature = unbase64(lines[2], crypto_sign_BYTES, signature_path, "signature");
  CITADEL_CHECK(signature.size() == crypto_sign_BYTES, IoError, signature_path, ": the signature is not ",
                crypto_sign_BYTES, " bytes");
  const std::string text(text_bytes.begin(), text_bytes.end());
  const std::string message = std::string(kDomain) + text;
  CITADEL_CHECK(crypto_sign_verify_detached(signature.data(), reinterpret_cast<const unsigned char*>(message.data()),
                                            message.size(), public_key.data()) == 0,
                SecurityError, path, ": the signature does not match (not signed with this key, or changed); refusing it");
  SignedStatement statement;
  try {
    const nlohmann::json json = nlohmann::json::parse(text);
    statement.purpose = json.at("purpose").get<std::string>();
    statement.file_name = json.at("file").get<std::string>();
    statement.sha256 = json.at("sha256").get<std::string>();
    statement.bytes = json.at("bytes").get<int64_t>();
    statement.created = json.at("created").get<std::string>();
    if (json.contains("watermark_commitment"))
      statement.watermark_commitment = json.at("watermark_commitment").get<std::string>();
    CITADEL_CHECK(json.at("domain") == "citadel-signature-v2", IoError, "unknown domain");
  } catch (const nlohmann::json::exception& e) {
    throw IoError(signature_path + ": the signed statement is malformed: " + e.what());
  }
  // The statement is authentic; now it must be about these bytes, this file, this use.
  CITADEL_CHECK(statement.sha256 == hex_sha256(bytes) && statement.bytes == int64_t(bytes.size()), SecurityError, path,
                ": the signature does not match (the file was changed since it was signed); refusing it");
  CITADEL_CHECK(statement.file_name == file_name_of(path), SecurityError, path, ": the signature is for a file named '",
                statement.file_name, "', not '", file_name_of(path), "'; refusing it (re-sign a renamed file)");
  CITADEL_CHECK(purpose.empty() || statement.purpose == purpose, SecurityError, path, ": the signature vouches for a ",
                statement.purpose, ", not a ", purpose, "; refusing it");
  return statement;
}

}  // namespace citadel
