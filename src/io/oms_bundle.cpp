// Reading and writing OpenSSF model-signing bundles and statements (see oms_bundle.hpp).
// Every field is reached through a Field, which knows its JSON path, so a refusal reads
// "model.sig: dsseEnvelope.signatures[0].sig: not base64".
#include "citadel/io/oms_bundle.hpp"

#include <sodium.h>

#include <nlohmann/json.hpp>
#include <set>

#include "citadel/core/error.hpp"
#include "citadel/core/json_limits.hpp"
#include "citadel/io/digest.hpp"

namespace citadel {
namespace {

using nlohmann::json;

// A JSON value with its path and file, for errors that name both.
struct Field {
  const json& value;
  std::string path;
  const std::string& source;

  [[noreturn]] void fail(const std::string& what) const {
    throw IoError(source + ": " + (path.empty() ? "the top level" : path) + ": " + what);
  }
  [[noreturn]] void refuse(const std::string& what) const {
    throw SecurityError(source + ": " + path + ": " + what + "; refusing it");
  }
  std::string child_path(const std::string& key) const { return path.empty() ? key : path + "." + key; }

  bool has(const char* key) const { return value.contains(key); }
  Field at(const char* key) const {
    const auto found = value.find(key);
    if (found == value.end()) Field{value, child_path(key), source}.fail("missing");
    return {*found, child_path(key), source};
  }
  Field element(size_t index) const { return {value[index], path + "[" + std::to_string(index) + "]", source}; }

  const json& object() const {
    if (!value.is_object()) fail(std::string("not an object but ") + value.type_name());
    return value;
  }
  const json& array(size_t max_size) const {
    if (!value.is_array()) fail(std::string("not an array but ") + value.type_name());
    if (value.size() > max_size) fail("more than " + std::to_string(max_size) + " entries");
    return value;
  }
  std::string text(size_t max_bytes) const {
    if (!value.is_string()) fail(std::string("not a string but ") + value.type_name());
    const auto& text = value.get_ref<const std::string&>();
    if (text.size() > max_bytes) fail("longer than " + std::to_string(max_bytes) + " bytes");
    return text;
  }
  bool boolean() const {
    if (!value.is_boolean()) fail(std::string("not true or false but ") + value.type_name());
    return value.get<bool>();
  }
  std::string hex_digest() const {
    std::string hex = text(64);
    if (hex.size() != 64 || hex.find_first_not_of("0123456789abcdef") != std::string::npos)
      fail("not a SHA-256 digest (64 lowercase hex digits)");
    return hex;
  }
  std::string base64(size_t max_decoded) const {
    const std::string encoded = text(max_decoded / 3 * 4 + 4);
    std::string decoded(encoded.size() / 4 * 3 + 3, '\0');
    size_t size = 0;
    const char* end = nullptr;
    if (sodium_base642bin(reinterpret_cast<unsigned char*>(decoded.data()), decoded.size(), encoded.data(),
                          encoded.size(), nullptr, &size, &end, sodium_base64_VARIANT_ORIGINAL) != 0 ||
        end != encoded.data() + encoded.size())
      fail("not base64");
    decoded.resize(size);
    return decoded;
  }
};

// Parses `text` as one JSON object, refusing it first when it is too large or too deep.
json parse_bounded(std::string_view text, const std::string& source, const char* what, const OmsBundleLimits& limits) {
  CITADEL_CHECK(text.size() <= limits.max_bundle_bytes, IoError, source, ": ", what, " is larger than ",
                limits.max_bundle_bytes, " bytes; refused");
  CITADEL_CHECK(json_nesting_depth(text) <= limits.max_depth, IoError, source, ": ", what, " is nested deeper than ",
                limits.max_depth, " levels; refused");
  try {
    return json::parse(text);
  } catch (const json::exception& e) {
    throw IoError(source + ": " + what + " is not JSON (" + e.what() + ")");
  }
}

// A resource or ignored path: relative, without "." or ".." parts or empty parts, so it
// names one place inside the model's directory.
bool is_clean_relative_path(const std::string& name) {
  if (name.empty() || name.front() == '/' || name.find('\0') != std::string::npos) return false;
  size_t start = 0;
  while (start <= name.size()) {
    const size_t end = std::min(name.find('/', start), name.size());
    const std::string_view part(name.data() + start, end - start);
    if (part.empty() || part == "." || part == "..") return false;
    start = end + 1;
  }
  return true;
}

}  // namespace

bool looks_like_oms_bundle(std::string_view text) {
  const size_t start = text.find_first_not_of(" \t\r\n");
  return start != std::string_view::npos && (text[start] == '{' || text[start] == '[');
}

OmsEnvelope parse_oms_bundle(std::string_view text, const std::string& source, const OmsBundleLimits& limits) {
  const json document = parse_bounded(text, source, "the bundle", limits);
  const Field bundle{document, "", source};
  bundle.object();
  OmsEnvelope envelope;
  const Field media_type = bundle.at("mediaType");
  envelope.media_type = media_type.text(256);
  if (envelope.media_type != kOmsBundleMediaType)
    media_type.refuse("'" + envelope.media_type + "' is not " + kOmsBundleMediaType +
                      " (the Sigstore bundle v0.3 that OpenSSF model signing writes)");

  const Field material = bundle.at("verificationMaterial");
  material.object();
  if (material.has("certificate") || material.has("x509CertificateChain"))
    material.refuse("a certificate bundle (Sigstore keyless or certificate mode); citadel verifies the private-key "
                    "mode, with the signer's public key");
  if (material.has("publicKey")) {
    const Field public_key = material.at("publicKey");
    public_key.object();
    if (public_key.has("hint") && !public_key.at("hint").value.is_null())
      envelope.key_hint = public_key.at("hint").hex_digest();
  }
  if (material.has("tlogEntries")) material.at("tlogEntries").array(64);

  if (bundle.has("messageSignature") && !bundle.has("dsseEnvelope"))
    bundle.at("messageSignature").refuse("a message signature; OpenSSF model signing bundles hold a DSSE envelope");
  const Field dsse = bundle.at("dsseEnvelope");
  dsse.object();
  envelope.payload = dsse.at("payload").base64(limits.max_bundle_bytes);
  const Field payload_type = dsse.at("payloadType");
  envelope.payload_type = payload_type.text(256);
  if (envelope.payload_type != kInTotoPayloadType)
    payload_type.refuse("'" + envelope.payload_type + "' is not " + kInTotoPayloadType);
  const Field signatures = dsse.at("signatures");
  if (signatures.array(16).size() != 1)
    signatures.fail("holds " + std::to_string(signatures.value.size()) + " signatures; citadel checks bundles of one");
  const Field signature = signatures.element(0);
  signature.object();
  envelope.signature = signature.at("sig").base64(512);
  if (envelope.signature.empty()) signature.at("sig").fail("empty");
  if (signature.has("keyid")) signature.at("keyid").text(256);
  return envelope;
}

OmsStatement parse_oms_statement(std::string_view payload, const std::string& source_file,
                                 const OmsBundleLimits& limits) {
  const std::string source = source_file + ": the signed statement";
  const json document = parse_bounded(payload, source_file, "the signed statement", limits);
  const Field root{document, "", source};
  root.object();
  const Field type = root.at("_type");
  if (type.text(256) != kInTotoStatementType) type.refuse("not " + std::string(kInTotoStatementType));
  const Field predicate_type = root.at("predicateType");
  const std::string predicate_name = predicate_type.text(256);
  if (predicate_name == "https://model_signing/Digests/v0.1")
    predicate_type.refuse("the predicate of model_signing 0.x (v0.1); re-sign with model_signing 1.x or citadel");
  if (predicate_name != kOmsPredicateType) predicate_type.refuse("'" + predicate_name + "' is not " + kOmsPredicateType);

  OmsStatement statement;
  const Field subjects = root.at("subject");
  if (subjects.array(16).size() != 1)
    subjects.fail("lists " + std::to_string(subjects.value.size()) + " subjects; the format has one (the model)");
  const Field subject = subjects.element(0);
  subject.object();
  statement.subject_name = subject.at("name").text(limits.max_name_bytes);
  const Field subject_digest = subject.at("digest");
  subject_digest.object();
  statement.root_digest = subject_digest.at("sha256").hex_digest();

  const Field predicate = root.at("predicate");
  predicate.object();
  const Field serialization = predicate.at("serialization");
  serialization.object();
  const Field method = serialization.at("method");
  const std::string method_name = method.text(64);
  if (method_name == "shards")
    method.fail("'shards' (model_signing's sharded hashing) is not supported; citadel verifies 'files' bundles");
  if (method_name != "files") method.fail("unknown serialization method '" + method_name + "'");
  const Field hash_type = serialization.at("hash_type");
  const std::string hash_name = hash_type.text(64);
  if (hash_name != "sha256") hash_type.fail("'" + hash_name + "' is not supported; citadel checks SHA-256 digests");
  statement.allow_symlinks = serialization.at("allow_symlinks").boolean();
  if (serialization.has("ignore_paths")) {
    const Field ignored = serialization.at("ignore_paths");
    ignored.array(limits.max_ignore_paths);
    for (size_t i = 0; i < ignored.value.size(); ++i) {
      const Field entry = ignored.element(i);
      std::string path = entry.text(limits.max_name_bytes);
      while (path.size() > 1 && path.back() == '/') path.pop_back();  // ".git/" names the same place as ".git"
      if (!is_clean_relative_path(path)) entry.fail("'" + path + "' is not a relative path inside the model");
      statement.ignore_paths.push_back(std::move(path));
    }
  }

  const Field resources = predicate.at("resources");
  resources.array(limits.max_resources);
  std::set<std::string> names;
  for (size_t i = 0; i < resources.value.size(); ++i) {
    const Field resource = resources.element(i);
    resource.object();
    OmsResource entry;
    const Field name = resource.at("name");
    entry.name = name.text(limits.max_name_bytes);
    if (entry.name != "." && !is_clean_relative_path(entry.name))
      name.fail("'" + entry.name + "' is not a relative path inside the model");
    if (!names.insert(entry.name).second) name.fail("'" + entry.name + "' is listed twice");
    const Field algorithm = resource.at("algorithm");
    if (algorithm.text(64) != "sha256") algorithm.fail("'" + algorithm.value.get<std::string>() + "' is not sha256");
    entry.sha256 = resource.at("digest").hex_digest();
    statement.resources.push_back(std::move(entry));
  }
  if (names.count(".") && names.size() > 1) resources.fail("'.' (a single file) is listed with other files");

  if (predicate.has("citadel")) {
    const Field claim = predicate.at("citadel");
    claim.object();
    OmsCitadelClaim citadel;
    const Field purpose = claim.at("purpose");
    citadel.purpose = purpose.text(32);
    if (citadel.purpose != "model" && citadel.purpose != "checkpoint")
      purpose.fail("'" + citadel.purpose + "' is neither model nor checkpoint");
    citadel.name = claim.at("name").text(limits.max_name_bytes);
    citadel.signed_at = claim.at("signed").text(64);
    statement.citadel = std::move(citadel);
  }

  // The subject's digest summarises the list; a statement where they disagree was not made
  // by a correct signer, whatever its signature says.
  if (oms_root_digest(statement.resources) != statement.root_digest)
    subject_digest.at("sha256").refuse("the root digest " + statement.root_digest +
                                       " is not the SHA-256 of the resources' digests (" +
                                       oms_root_digest(statement.resources) + "): an inconsistent statement");
  return statement;
}

std::string oms_root_digest(const std::vector<OmsResource>& resources) {
  std::string digests;
  digests.reserve(32 * resources.size());
  for (const auto& resource : resources) digests += hex_to_bytes(resource.sha256);
  return sha256_hex(digests);
}

std::string dsse_pae(std::string_view payload_type, std::string_view payload) {
  std::string encoding = "DSSEv1 ";
  encoding.append(std::to_string(payload_type.size())).append(" ").append(payload_type);
  encoding.append(" ").append(std::to_string(payload.size())).append(" ").append(payload);
  return encoding;
}

std::string oms_statement_json(const OmsStatement& statement) {
  json serialization{{"method", "files"}, {"hash_type", "sha256"}, {"allow_symlinks", statement.allow_symlinks}};
  if (!statement.ignore_paths.empty()) serialization["ignore_paths"] = statement.ignore_paths;
  json resources = json::array();
  for (const auto& resource : statement.resources)
    resources.push_back({{"name", resource.name}, {"algorithm", "sha256"}, {"digest", resource.sha256}});
  json predicate{{"serialization", serialization}, {"resources", resources}};
  if (statement.citadel)
    predicate["citadel"] = {{"purpose", statement.citadel->purpose},
                            {"name", statement.citadel->name},
                            {"signed", statement.citadel->signed_at}};
  const json document{{"_type", kInTotoStatementType},
                      {"subject", json::array({{{"name", statement.subject_name},
                                                {"digest", {{"sha256", statement.root_digest}}}}})},
                      {"predicateType", kOmsPredicateType},
                      {"predicate", predicate}};
  return document.dump(2);
}

std::string oms_bundle_json(const OmsEnvelope& envelope) {
  const auto encode = [](const std::string& bytes) {
    std::string text(sodium_base64_encoded_len(bytes.size(), sodium_base64_VARIANT_ORIGINAL), '\0');
    sodium_bin2base64(text.data(), text.size(), reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size(),
                      sodium_base64_VARIANT_ORIGINAL);
    text.resize(text.size() - 1);  // the terminating NUL
    return text;
  };
  json material{{"tlogEntries", json::array()}};
  if (!envelope.key_hint.empty()) material["publicKey"] = {{"hint", envelope.key_hint}};
  const json document{
      {"mediaType", envelope.media_type},
      {"verificationMaterial", material},
      {"dsseEnvelope",
       {{"payload", encode(envelope.payload)},
        {"payloadType", envelope.payload_type},
        {"signatures", json::array({{{"sig", encode(envelope.signature)}, {"keyid", ""}}})}}}};
  return document.dump() + "\n";
}

}  // namespace citadel
