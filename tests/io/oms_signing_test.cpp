// OpenSSF model signing: bundles made by the reference client (tests/io/oms_fixtures, made
// by its make_fixtures.py) verify, and are refused after any changed byte, an added or
// removed file, another key, a wrong root digest, a wrong media type; citadel's own bundles
// bind purpose and name; hostile bundles are IoErrors naming the file and the field.
#include <gtest/gtest.h>
#include <sodium.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <functional>
#include <nlohmann/json.hpp>

#include "citadel/core/error.hpp"
#include "citadel/io/ec_keys.hpp"
#include "citadel/io/model_file.hpp"
#include "citadel/io/oms_bundle.hpp"
#include "citadel/io/oms_manifest.hpp"
#include "citadel/io/signing.hpp"

namespace oms_signing_test {

using namespace citadel;
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

const fs::path kFixtures = fs::path(CITADEL_TEST_SOURCE_DIR) / "io" / "oms_fixtures";

// A Python-made Ed25519 key and a secp256k1 key: PEM public keys the format does not allow.
constexpr const char* kEd25519Pem =
    "-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEAMVCony/fYyVLYAZFb/9ogsk6uVxc3Tf7opNUW8b8lss=\n-----END PUBLIC KEY-----\n";
constexpr const char* kSecp256k1Pem =
    "-----BEGIN PUBLIC KEY-----\nMFYwEAYHKoZIzj0CAQYFK4EEAAoDQgAEV+/ggKoxQOKoCBZbjHT3+laVbE2illbW\n"
    "DlfNkk8dWucE0mU5FGhLQWxxV1Edyu0/lFEXupXIfo0vUOEmP9EcnA==\n-----END PUBLIC KEY-----\n";

std::string read(const fs::path& path) { return read_file_bytes(path.string()); }
void write(const fs::path& path, const std::string& bytes) { std::ofstream(path, std::ios::binary) << bytes; }

// A fresh copy of the fixtures, so that tests may change them.
class OmsSigning : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("citadel_oms_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    fs::copy(kFixtures, dir_, fs::copy_options::recursive);
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::string path(const std::string& name) const { return (dir_ / name).string(); }

  // Checks that `bundle` (a file name here) vouches for `bytes` as the file `file` for `purpose`.
  void verify(const std::string& bytes, const std::string& file, const std::string& bundle,
              const std::string& public_key = "p256.pub", const std::string& purpose = kPurposeModel) const {
    require_valid_signature(bytes, path(file), path(public_key), purpose, path(bundle));
  }
  bool accepted(const std::string& bytes, const std::string& file, const std::string& bundle,
                const std::string& public_key = "p256.pub", const std::string& purpose = kPurposeModel) const {
    try {
      verify(bytes, file, bundle, public_key, purpose);
      return true;
    } catch (const SecurityError&) {
      return false;
    }
  }
  // The SecurityError's message (the test fails when there is none).
  std::string refusal(const std::function<void()>& verify) const {
    try {
      verify();
    } catch (const SecurityError& e) {
      return e.what();
    }
    ADD_FAILURE() << "accepted";
    return "";
  }
  bool directory_accepted(const std::string& directory, const std::string& bundle,
                          const std::string& public_key = "p256.pub") const {
    try {
      require_valid_signature_of_path(path(directory), path(public_key), kPurposeModel, path(bundle));
      return true;
    } catch (const SecurityError&) {
      return false;
    }
  }
  std::string model_bytes() const { return read(path("model.bin")); }

  // A bundle of `payload` (statement text of any shape) signed by `key`, as the client signs.
  std::string bundle_of(const std::string& payload, const std::string& key) const {
    const EcPrivateKey private_key = EcPrivateKey::load(path(key));
    OmsEnvelope envelope;
    envelope.payload = payload;
    envelope.signature = private_key.sign(dsse_pae(envelope.payload_type, payload));
    envelope.key_hint = private_key.public_key().hint();
    return oms_bundle_json(envelope);
  }
  // The client's single-file bundle as JSON, and its statement.
  json client_bundle() const { return json::parse(read(path("model.bin.sig"))); }
  json client_statement() const {
    return json::parse(
        parse_oms_bundle(read(path("model.bin.sig")), "model.bin.sig").payload);
  }
  void make_test_key(const std::string& name, EcCurve curve = EcCurve::kP256) const {
    generate_ec_signing_keys(path(name + ".pub"), path(name + ".key"), curve, true);
  }

  fs::path dir_;
};

std::string libsodium_sha256_hex(const std::string& bytes) {
  unsigned char digest[crypto_hash_sha256_BYTES];
  crypto_hash_sha256(digest, reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size());
  char hex[2 * crypto_hash_sha256_BYTES + 1];
  sodium_bin2hex(hex, sizeof hex, digest, sizeof digest);
  return hex;
}

}  // namespace

TEST_F(OmsSigning, ClientBundlesOfOneFileVerifyWithP256AndP384) {
  const std::string bytes = model_bytes();
  const SignedStatement p256 =
      require_valid_signature(bytes, path("model.bin"), path("p256.pub"), kPurposeModel, path("model.bin.sig"));
  EXPECT_EQ(p256.sha256, libsodium_sha256_hex(bytes));  // an independent SHA-256
  EXPECT_EQ(p256.bytes, int64_t(bytes.size()));
  EXPECT_EQ(p256.purpose, "");  // the client states none
  EXPECT_EQ(p256.file_name, "model.bin");
  EXPECT_NE(p256.text().find("ECDSA P-256"), std::string::npos) << p256.text();
  const SignedStatement p384 =
      require_valid_signature(bytes, path("model.bin"), path("p384.pub"), kPurposeModel, path("model.bin.p384.sig"));
  EXPECT_NE(p384.text().find("ECDSA P-384"), std::string::npos) << p384.text();
  // The client names the one resource "."; the fixture is what it wrote.
  EXPECT_EQ(client_statement()["predicate"]["resources"][0]["name"], ".");
}

TEST_F(OmsSigning, EveryChangedByteOfTheFileIsRefused) {
  const std::string bytes = model_bytes();
  ASSERT_TRUE(accepted(bytes, "model.bin", "model.bin.sig"));
  for (size_t i = 0; i < bytes.size(); ++i) {
    std::string changed = bytes;
    changed[i] = char(changed[i] ^ 0x01);
    ASSERT_FALSE(accepted(changed, "model.bin", "model.bin.sig")) << "byte " << i;
  }
  EXPECT_FALSE(accepted(bytes + "x", "model.bin", "model.bin.sig"));
  EXPECT_FALSE(accepted(bytes.substr(0, bytes.size() - 1), "model.bin", "model.bin.sig"));
  const std::string message = refusal([&] { verify(bytes + "x", "model.bin", "model.bin.sig"); });
  EXPECT_NE(message.find("changed since it was signed"), std::string::npos) << message;
}

TEST_F(OmsSigning, TheBytesGivenAreCheckedNotTheFileReadAgain) {
  const std::string bytes = model_bytes();
  write(path("model.bin"), "swapped after the read");
  EXPECT_TRUE(accepted(bytes, "model.bin", "model.bin.sig"));
  EXPECT_FALSE(accepted(read(path("model.bin")), "model.bin", "model.bin.sig"));
}

TEST_F(OmsSigning, ClientBundleOfADirectoryVerifies) {
  const SignedStatement statement =
      require_valid_signature_of_path(path("model_dir"), path("p256.pub"), kPurposeModel, path("model_dir.sig"));
  EXPECT_EQ(statement.files, 3);  // config.json and two weights files; .gitignore is left out
  EXPECT_TRUE(statement.directory);
  EXPECT_EQ(statement.file_name, "model_dir");
}

TEST_F(OmsSigning, DirectoryWithAChangedAddedOrRemovedFileIsRefused) {
  ASSERT_TRUE(directory_accepted("model_dir", "model_dir.sig"));
  for (const std::string name : {"config.json", "weights/part-1.bin", "weights/part-2.bin"}) {
    const std::string original = read(path("model_dir/" + name));
    for (size_t i : {size_t(0), original.size() / 2, original.size() - 1}) {
      std::string changed = original;
      changed[i] = char(changed[i] ^ 0x80);
      write(path("model_dir/" + name), changed);
      EXPECT_FALSE(directory_accepted("model_dir", "model_dir.sig")) << name << " byte " << i;
    }
    write(path("model_dir/" + name), original);
  }
  ASSERT_TRUE(directory_accepted("model_dir", "model_dir.sig"));

  write(path("model_dir/weights/part-3.bin"), "an added file");
  const std::string added = refusal([&] {
    require_valid_signature_of_path(path("model_dir"), path("p256.pub"), kPurposeModel, path("model_dir.sig"));
  });
  EXPECT_NE(added.find("1 not signed (weights/part-3.bin)"), std::string::npos) << added;
  fs::remove(path("model_dir/weights/part-3.bin"));

  fs::rename(path("model_dir/config.json"), path("model_dir/config.moved"));
  EXPECT_FALSE(directory_accepted("model_dir", "model_dir.sig"));
  fs::remove(path("model_dir/config.moved"));
  const std::string removed = refusal([&] {
    require_valid_signature_of_path(path("model_dir"), path("p256.pub"), kPurposeModel, path("model_dir.sig"));
  });
  EXPECT_NE(removed.find("1 missing (config.json)"), std::string::npos) << removed;
}

TEST_F(OmsSigning, PathsTheSignerIgnoredStayIgnored) {
  // The client's bundle lists .git, .gitignore, ...: files there are not part of the model.
  fs::create_directories(path("model_dir/.git"));
  write(path("model_dir/.git/HEAD"), "ref: refs/heads/main\n");
  write(path("model_dir/.gitignore"), "changed\n");
  EXPECT_TRUE(directory_accepted("model_dir", "model_dir.sig"));
  // Only at the top: a .gitignore further down is a file of the model.
  write(path("model_dir/weights/.gitignore"), "*\n");
  EXPECT_FALSE(directory_accepted("model_dir", "model_dir.sig"));
}

TEST_F(OmsSigning, AnotherKeyIsRefused) {
  make_test_key("other");
  const std::string bytes = model_bytes();
  const std::string by_hint = refusal([&] { verify(bytes, "model.bin", "model.bin.sig", "other.pub"); });
  EXPECT_NE(by_hint.find("signed with another key"), std::string::npos) << by_hint;
  // Without the (unsigned) key hint, the ECDSA check itself refuses it.
  json bundle = client_bundle();
  bundle["verificationMaterial"].erase("publicKey");
  write(path("no_hint.sig"), bundle.dump());
  EXPECT_TRUE(accepted(bytes, "model.bin", "no_hint.sig"));
  const std::string by_signature = refusal([&] { verify(bytes, "model.bin", "no_hint.sig", "other.pub"); });
  EXPECT_NE(by_signature.find("does not match"), std::string::npos) << by_signature;
  // The P-384 key does not verify the P-256 bundle, nor the reverse.
  EXPECT_FALSE(accepted(bytes, "model.bin", "model.bin.sig", "p384.pub"));
  EXPECT_FALSE(accepted(bytes, "model.bin", "model.bin.p384.sig", "p256.pub"));
}

TEST_F(OmsSigning, WrongRootDigestIsRefusedThoughSigned) {
  const std::string message = refusal([&] { verify(model_bytes(), "model.bin", "wrong_root.sig"); });
  EXPECT_NE(message.find("subject[0].digest.sha256"), std::string::npos) << message;
  EXPECT_NE(message.find("root digest"), std::string::npos) << message;
}

TEST_F(OmsSigning, WrongMediaTypeOrPayloadTypeIsRefused) {
  for (const std::string media_type :
       {"application/vnd.dev.sigstore.bundle+json;version=0.2", "application/vnd.dev.sigstore.bundle.v0.4+json", ""}) {
    json bundle = client_bundle();
    bundle["mediaType"] = media_type;
    write(path("media.sig"), bundle.dump());
    const std::string message = refusal([&] { verify(model_bytes(), "model.bin", "media.sig"); });
    EXPECT_NE(message.find("mediaType"), std::string::npos) << message;
    EXPECT_NE(message.find("media.sig"), std::string::npos) << message;
  }
  json bundle = client_bundle();
  bundle["dsseEnvelope"]["payloadType"] = "application/json";
  write(path("payload_type.sig"), bundle.dump());
  EXPECT_NE(refusal([&] { verify(model_bytes(), "model.bin", "payload_type.sig"); }).find("payloadType"),
            std::string::npos);
}

TEST_F(OmsSigning, ChangedStatementOrSignatureIsRefused) {
  // The statement edited to list the changed file's digest, without the key: refused.
  std::string changed = model_bytes();
  changed[0] = 'X';
  json statement = client_statement();
  const std::string changed_digest = libsodium_sha256_hex(changed);
  statement["predicate"]["resources"][0]["digest"] = changed_digest;
  statement["subject"][0]["digest"]["sha256"] = oms_root_digest({OmsResource{".", changed_digest}});
  json bundle = client_bundle();
  std::string payload = statement.dump();
  std::vector<char> encoded(sodium_base64_encoded_len(payload.size(), sodium_base64_VARIANT_ORIGINAL));
  sodium_bin2base64(encoded.data(), encoded.size(), reinterpret_cast<const unsigned char*>(payload.data()),
                    payload.size(), sodium_base64_VARIANT_ORIGINAL);
  bundle["dsseEnvelope"]["payload"] = std::string(encoded.data());
  write(path("edited.sig"), bundle.dump());
  EXPECT_FALSE(accepted(changed, "model.bin", "edited.sig"));
  EXPECT_FALSE(accepted(model_bytes(), "model.bin", "edited.sig"));
  // Each byte of the DER signature changed.
  const OmsEnvelope envelope = parse_oms_bundle(read(path("model.bin.sig")), "model.bin.sig");
  for (size_t i = 0; i < envelope.signature.size(); ++i) {
    OmsEnvelope broken = envelope;
    broken.signature[i] = char(broken.signature[i] ^ 0x04);
    write(path("broken.sig"), oms_bundle_json(broken));
    ASSERT_FALSE(accepted(model_bytes(), "model.bin", "broken.sig")) << "signature byte " << i;
  }
}

TEST_F(OmsSigning, SingleFileResourceNamedDotOrByTheFileName) {
  const std::string bytes = model_bytes();
  // The spec's naming (the file's name), signed by the client's key: accepted too.
  EXPECT_TRUE(accepted(bytes, "model.bin", "spec_name.sig"));
  // A file's name binds it: the same bytes under another name are refused...
  const std::string message = refusal([&] { verify(bytes, "renamed.bin", "spec_name.sig"); });
  EXPECT_NE(message.find("named 'model.bin', not 'renamed.bin'"), std::string::npos) << message;
  // ...where "." (the client's naming) binds no name, as for the client.
  EXPECT_TRUE(accepted(bytes, "renamed.bin", "model.bin.sig"));
  // A directory's bundle is not one file's.
  const std::string directory = refusal([&] { verify(bytes, "model.bin", "model_dir.sig"); });
  EXPECT_NE(directory.find("signs 3 files"), std::string::npos) << directory;
}

TEST_F(OmsSigning, CitadelBundlesRoundTripOnEveryCurve) {
  const std::string bytes = model_bytes();
  for (EcCurve curve : {EcCurve::kP256, EcCurve::kP384, EcCurve::kP521}) {
    make_test_key("k", curve);
    struct stat info {};
    ASSERT_EQ(::stat(path("k.key").c_str(), &info), 0);
    EXPECT_EQ(info.st_mode & 0777, 0600u);
    EXPECT_EQ(signature_format_of_key(path("k.key")), SignatureFormat::kOms);
    sign_bytes(bytes, path("model.bin"), kPurposeModel, path("k.key"), path("mine.sig"));
    const SignedStatement statement =
        require_valid_signature(bytes, path("model.bin"), path("k.pub"), kPurposeModel, path("mine.sig"));
    EXPECT_EQ(statement.purpose, kPurposeModel);
    EXPECT_EQ(statement.sha256, libsodium_sha256_hex(bytes));
    EXPECT_NE(statement.text().find(ec_curve_name(curve)), std::string::npos) << statement.text();
    EXPECT_FALSE(statement.created.empty());
    std::string changed = bytes;
    changed[7] = char(changed[7] ^ 0x10);
    EXPECT_FALSE(accepted(changed, "model.bin", "mine.sig", "k.pub"));
    // The bundle has what the client checks: its media type, key hint and "." resource.
    const json bundle = json::parse(read(path("mine.sig")));
    EXPECT_EQ(bundle["mediaType"], "application/vnd.dev.sigstore.bundle.v0.3+json");
    EXPECT_EQ(bundle["verificationMaterial"]["publicKey"]["hint"], libsodium_sha256_hex(read(path("k.pub"))));
    const json statement_json = json::parse(parse_oms_bundle(read(path("mine.sig")), "mine.sig").payload);
    EXPECT_EQ(statement_json["predicate"]["resources"][0]["name"], ".");
    EXPECT_EQ(statement_json["predicateType"], "https://model_signing/signature/v1.0");
  }
}

TEST_F(OmsSigning, CitadelBundlesBindPurposeAndName) {
  make_test_key("k");
  const std::string bytes = model_bytes();
  sign_bytes(bytes, path("model.bin"), kPurposeCheckpoint, path("k.key"), path("checkpoint.sig"));
  EXPECT_TRUE(accepted(bytes, "model.bin", "checkpoint.sig", "k.pub", kPurposeCheckpoint));
  const std::string as_model = refusal([&] { verify(bytes, "model.bin", "checkpoint.sig", "k.pub"); });
  EXPECT_NE(as_model.find("vouches for a checkpoint, not a model"), std::string::npos) << as_model;
  sign_bytes(bytes, path("model.bin"), kPurposeModel, path("k.key"), path("model.sig"));
  EXPECT_FALSE(accepted(bytes, "model.bin", "model.sig", "k.pub", kPurposeCheckpoint));
  // The claim names the file, so a copy under another name is refused (re-sign it).
  const std::string renamed = refusal([&] { verify(bytes, "other.bin", "model.sig", "k.pub"); });
  EXPECT_NE(renamed.find("is for 'model.bin', not 'other.bin'"), std::string::npos) << renamed;
  // Another tool's bundle states no purpose: a model, never a checkpoint.
  EXPECT_TRUE(accepted(bytes, "model.bin", "model.bin.sig"));
  const std::string checkpoint =
      refusal([&] { verify(bytes, "model.bin", "model.bin.sig", "p256.pub", kPurposeCheckpoint); });
  EXPECT_NE(checkpoint.find("states no purpose"), std::string::npos) << checkpoint;
}

TEST_F(OmsSigning, CitadelSignsDirectoriesLikeTheClient) {
  make_test_key("k");
  // Same files as the client signed: the same root digest, so the same list in the same order.
  sign_directory(path("model_dir"), path("k.key"), kPurposeModel, path("mine_dir.sig"));
  const auto mine = parse_oms_statement(parse_oms_bundle(read(path("mine_dir.sig")), "mine").payload, "mine");
  const auto theirs = parse_oms_statement(parse_oms_bundle(read(path("model_dir.sig")), "theirs").payload, "theirs");
  EXPECT_EQ(mine.root_digest, theirs.root_digest);
  EXPECT_EQ(mine.resources.size(), 3u);
  EXPECT_TRUE(directory_accepted("model_dir", "mine_dir.sig", "k.pub"));
  // A bundle written inside the directory is left out of it, as the client leaves it out.
  sign_directory(path("model_dir"), path("k.key"), kPurposeModel, path("model_dir/model.sig"));
  EXPECT_TRUE(directory_accepted("model_dir", "model_dir/model.sig", "k.pub"));
  write(path("model_dir/weights/new.bin"), "new");
  EXPECT_FALSE(directory_accepted("model_dir", "model_dir/model.sig", "k.pub"));
  // citadel's own Ed25519 keys sign one file only.
  generate_signing_keys(path("ed.pub"), path("ed.key"), true);
  EXPECT_THROW(sign_directory(path("model_dir"), path("ed.key")), ValueError);
}

TEST_F(OmsSigning, ComponentOrderAsTheClientSorts) {
  EXPECT_TRUE(oms_name_less("a/b", "a-c"));  // components: "a" < "a-c"
  EXPECT_FALSE(oms_name_less("a-c", "a/b"));
  EXPECT_TRUE(oms_name_less("a", "a/b"));
  fs::create_directories(path("ordered/a"));
  write(path("ordered/a-c"), "1");
  write(path("ordered/a/b"), "2");
  const auto resources = oms_directory_resources(path("ordered"), {});
  ASSERT_EQ(resources.size(), 2u);
  EXPECT_EQ(resources[0].name, "a/b");
  EXPECT_EQ(resources[1].name, "a-c");
}

TEST_F(OmsSigning, LinksAndSpecialFilesInADirectoryAreRefused) {
  make_test_key("k");
  fs::create_symlink(path("model.bin"), path("model_dir/link.bin"));
  try {
    sign_directory(path("model_dir"), path("k.key"), kPurposeModel, path("d.sig"));
    ADD_FAILURE() << "a link was signed";
  } catch (const IoError& e) {
    EXPECT_NE(std::string(e.what()).find("link.bin: a symbolic link"), std::string::npos) << e.what();
  }
  EXPECT_THROW(require_valid_signature_of_path(path("model_dir"), path("p256.pub"), kPurposeModel,
                                               path("model_dir.sig")),
               IoError);
  fs::remove(path("model_dir/link.bin"));
  ASSERT_EQ(::mkfifo(path("model_dir/pipe").c_str(), 0600), 0);
  EXPECT_THROW(require_valid_signature_of_path(path("model_dir"), path("p256.pub"), kPurposeModel,
                                               path("model_dir.sig")),
               IoError);  // never opened: reading it would block
}

TEST_F(OmsSigning, KeysOfTheOtherFormatOrOfOtherKindsAreNamed) {
  const std::string bytes = model_bytes();
  generate_signing_keys(path("ed.pub"), path("ed.key"), true);
  const std::string citadel_key = refusal([&] { verify(bytes, "model.bin", "model.bin.sig", "ed.pub"); });
  EXPECT_NE(citadel_key.find("is a citadel Ed25519 key"), std::string::npos) << citadel_key;
  sign_bytes(bytes, path("model.bin"), kPurposeModel, path("ed.key"), path("ed.sig"));
  const std::string pem_key = refusal([&] { verify(bytes, "model.bin", "ed.sig", "p256.pub"); });
  EXPECT_NE(pem_key.find("is a PEM (ECDSA) key"), std::string::npos) << pem_key;
  for (const auto& [pem, says] : {std::pair{kEd25519Pem, "an Ed25519 key"}, {kSecp256k1Pem, "curve secp256k1"}}) {
    write(path("odd.pub"), pem);
    try {
      accepted(bytes, "model.bin", "model.bin.sig", "odd.pub");
      ADD_FAILURE() << says;
    } catch (const IoError& e) {
      EXPECT_NE(std::string(e.what()).find(says), std::string::npos) << e.what();
    }
  }
  EXPECT_THROW(EcPrivateKey::load(path("p256.pub")), IoError);  // a public key where a private one belongs
  EXPECT_THROW(EcPublicKey::load(path("ed.key")), IoError);
}

// Envelope-level hostility: the message names the bundle file and the field.
TEST_F(OmsSigning, HostileBundlesAreIoErrorsNamingTheField) {
  const std::string bytes = model_bytes();
  const std::vector<std::pair<std::function<void(json&)>, std::string>> cases = {
      {[](json& b) { b.erase("mediaType"); }, "mediaType: missing"},
      {[](json& b) { b["mediaType"] = 3; }, "mediaType: not a string"},
      {[](json& b) { b["dsseEnvelope"]["payload"] = "not base64!"; }, "dsseEnvelope.payload: not base64"},
      {[](json& b) { b["dsseEnvelope"]["signatures"] = json::array(); }, "dsseEnvelope.signatures: holds 0"},
      {[](json& b) { b["dsseEnvelope"]["signatures"].push_back(b["dsseEnvelope"]["signatures"][0]); },
       "dsseEnvelope.signatures: holds 2"},
      {[](json& b) { b["dsseEnvelope"]["signatures"][0]["sig"] = "%%%"; }, "dsseEnvelope.signatures[0].sig: not base64"},
      {[](json& b) { b["dsseEnvelope"]["signatures"][0]["sig"] = ""; }, "dsseEnvelope.signatures[0].sig: empty"},
      {[](json& b) { b["dsseEnvelope"]["signatures"] = "x"; }, "dsseEnvelope.signatures: not an array"},
      {[](json& b) { b["verificationMaterial"]["publicKey"]["hint"] = "abc"; },
       "verificationMaterial.publicKey.hint: not a SHA-256 digest"},
      {[](json& b) { b.erase("dsseEnvelope"); }, "dsseEnvelope: missing"},
      {[](json& b) { b = json::array(); }, "the top level: not an object"},
  };
  for (const auto& [change, says] : cases) {
    json bundle = client_bundle();
    change(bundle);
    write(path("hostile.sig"), bundle.dump());
    try {
      accepted(bytes, "model.bin", "hostile.sig");
      ADD_FAILURE() << "accepted: " << says;
    } catch (const IoError& e) {
      EXPECT_NE(std::string(e.what()).find(says), std::string::npos) << e.what();
      EXPECT_NE(std::string(e.what()).find("hostile.sig"), std::string::npos) << e.what();
    }
  }
  for (const auto& [text, says] : std::vector<std::pair<std::string, std::string>>{
           {"{\"mediaType\": ", "the bundle is not JSON"},
           {std::string("{\"a\": ").append(200, '[').append(200, ']').append("}"), "nested deeper than 16"},
           {std::string("{").append(9 << 20, ' ').append("}"), "too large to be a signature file"}}) {
    write(path("hostile.sig"), text);
    try {
      accepted(bytes, "model.bin", "hostile.sig");
      ADD_FAILURE() << "accepted: " << says;
    } catch (const IoError& e) {
      EXPECT_NE(std::string(e.what()).find(says), std::string::npos) << e.what();
    }
  }
  json certificate = client_bundle();
  certificate["verificationMaterial"]["certificate"] = {{"rawBytes", "AAAA"}};
  write(path("hostile.sig"), certificate.dump());
  EXPECT_NE(refusal([&] { verify(bytes, "model.bin", "hostile.sig"); }).find("a certificate bundle"),
            std::string::npos);
}

// Statement-level hostility, signed by a key (only a signed statement is ever parsed).
TEST_F(OmsSigning, HostileStatementsAreRefusedNamingTheField) {
  make_test_key("k");
  const std::string bytes = model_bytes();
  const json good = client_statement();
  const std::vector<std::tuple<std::function<void(json&)>, std::string, bool>> cases = {
      {[](json& s) { s["predicate"]["resources"][0]["name"] = "../model.bin"; },
       "predicate.resources[0].name: '../model.bin' is not a relative path", false},
      {[](json& s) { s["predicate"]["resources"][0]["name"] = "/etc/passwd"; }, "predicate.resources[0].name", false},
      {[](json& s) { s["predicate"]["resources"].push_back(s["predicate"]["resources"][0]); }, "listed twice", false},
      {[](json& s) { s["predicate"]["resources"][0]["digest"] = "ABC"; },
       "predicate.resources[0].digest: not a SHA-256 digest", false},
      {[](json& s) { s["predicate"]["resources"][0]["algorithm"] = "blake2"; },
       "predicate.resources[0].algorithm", false},
      {[](json& s) { s["predicate"]["serialization"]["method"] = "shards"; }, "predicate.serialization.method", false},
      {[](json& s) { s["predicate"]["serialization"]["hash_type"] = "blake3"; },
       "predicate.serialization.hash_type: 'blake3' is not supported", false},
      {[](json& s) { s["predicate"]["serialization"].erase("allow_symlinks"); },
       "predicate.serialization.allow_symlinks: missing", false},
      {[](json& s) { s["predicate"]["serialization"]["ignore_paths"] = {"../up"}; },
       "predicate.serialization.ignore_paths[0]", false},
      {[](json& s) { s["predicate"]["citadel"] = {{"purpose", "weights"}, {"name", "m"}, {"signed", "t"}}; },
       "predicate.citadel.purpose: 'weights'", false},
      {[](json& s) { s["subject"].push_back(s["subject"][0]); }, "subject: lists 2 subjects", false},
      {[](json& s) { s["predicateType"] = "https://model_signing/Digests/v0.1"; }, "model_signing 0.x", true},
      {[](json& s) { s["predicateType"] = "https://slsa.dev/provenance/v1"; }, "predicateType", true},
      {[](json& s) { s["_type"] = "https://in-toto.io/Statement/v0.1"; }, "_type", true},
  };
  for (const auto& [change, says, is_security] : cases) {
    json statement = good;
    change(statement);
    write(path("hostile.sig"), bundle_of(statement.dump(2), "k.key"));
    try {
      verify(bytes, "model.bin", "hostile.sig", "k.pub");
      ADD_FAILURE() << "accepted: " << says;
    } catch (const IoError& e) {
      EXPECT_FALSE(is_security) << e.what();
      EXPECT_NE(std::string(e.what()).find(says), std::string::npos) << e.what();
      EXPECT_NE(std::string(e.what()).find("hostile.sig: the signed statement"), std::string::npos) << e.what();
    } catch (const SecurityError& e) {
      EXPECT_TRUE(is_security) << e.what();
      EXPECT_NE(std::string(e.what()).find(says), std::string::npos) << e.what();
    }
  }
  write(path("hostile.sig"), bundle_of("not JSON", "k.key"));
  EXPECT_THROW(verify(bytes, "model.bin", "hostile.sig", "k.pub"), IoError);
}

TEST(OmsBundleLimits, CountsAndDepthAreBounded) {
  OmsStatement statement;
  statement.subject_name = "m";
  for (int i = 0; i < 20; ++i) statement.resources.push_back({std::to_string(i) + ".bin", std::string(64, 'a')});
  statement.root_digest = oms_root_digest(statement.resources);
  const std::string text = oms_statement_json(statement);
  EXPECT_EQ(parse_oms_statement(text, "s").resources.size(), 20u);
  OmsBundleLimits limits;
  limits.max_resources = 10;
  try {
    parse_oms_statement(text, "s", limits);
    ADD_FAILURE() << "20 resources passed a limit of 10";
  } catch (const IoError& e) {
    EXPECT_NE(std::string(e.what()).find("predicate.resources: more than 10 entries"), std::string::npos) << e.what();
  }
  limits = {};
  limits.max_depth = 3;
  EXPECT_THROW(parse_oms_statement(text, "s", limits), IoError);
  limits = {};
  limits.max_bundle_bytes = 100;
  EXPECT_THROW(parse_oms_statement(text, "s", limits), IoError);
}

TEST(OmsBundleFormat, PreAuthenticationEncodingIsDsseV1) {
  // DSSE v1.0's protocol: "DSSEv1" SP LEN(type) SP type SP LEN(body) SP body, lengths in decimal bytes.
  EXPECT_EQ(dsse_pae("application/vnd.in-toto+json", "{}"), "DSSEv1 28 application/vnd.in-toto+json 2 {}");
  EXPECT_EQ(dsse_pae("t", ""), "DSSEv1 1 t 0 ");
}

}  // namespace oms_signing_test
