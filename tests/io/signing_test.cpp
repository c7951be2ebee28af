// Ed25519 signatures over signed statements: valid ones verify; any changed byte, another
// key, no signature, another purpose, another file name or an old bare-bytes signature is
// refused; keys are never overwritten silently.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>

#include "citadel/core/error.hpp"
#include "citadel/io/model_file.hpp"
#include "citadel/io/signing.hpp"

namespace signing_test {

using namespace citadel;
namespace fs = std::filesystem;

namespace {

fs::path scratch(const std::string& name) {
  return fs::temp_directory_path() / ("citadel_sign_" + std::to_string(::getpid()) + "_" + name);
}

void write(const fs::path& path, const std::string& bytes) { std::ofstream(path, std::ios::binary) << bytes; }

struct Keys {
  std::string public_key, secret_key;
};

Keys make_keys(const std::string& name) {
  Keys keys{scratch(name + ".pub").string(), scratch(name + ".key").string()};
  fs::remove(keys.public_key);
  fs::remove(keys.secret_key);
  generate_signing_keys(keys.public_key, keys.secret_key);
  return keys;
}

// Whether the signature file `signature` vouches for `bytes` as the model at `path`.
bool signature_is_valid(const std::string& bytes, const std::string& signature, const std::string& public_key,
                        const std::string& path = "", const std::string& purpose = kPurposeModel) {
  const std::string file = path.empty() ? signature.substr(0, signature.size() - 4) : path;
  try {
    require_valid_signature(bytes, file, public_key, purpose, signature);
    return true;
  } catch (const SecurityError&) {
    return false;
  }
}

}  // namespace

TEST(Signing, SecretKeyIsPrivateAndSignaturesVerify) {
  const Keys keys = make_keys("a");
  struct stat info {};
  ASSERT_EQ(::stat(keys.secret_key.c_str(), &info), 0);
  EXPECT_EQ(info.st_mode & 0777, 0600u);
  const fs::path model = scratch("model.bin");
  write(model, std::string(3000, 'm') + "end");
  sign_file(model.string(), keys.secret_key);
  EXPECT_TRUE(fs::exists(model.string() + ".sig"));
  EXPECT_TRUE(signature_is_valid(read_file_bytes(model.string()), model.string() + ".sig", keys.public_key));
  const SignedStatement statement =
      require_valid_signature(read_file_bytes(model.string()), model.string(), keys.public_key, kPurposeModel);
  EXPECT_EQ(statement.purpose, "model");
  EXPECT_EQ(statement.file_name, model.filename().string());
  EXPECT_EQ(statement.bytes, 3003);
  EXPECT_EQ(statement.sha256.size(), 64u);
}

TEST(Signing, AnyChangedByteFailsVerification) {
  const Keys keys = make_keys("b");
  const fs::path model = scratch("model2.bin");
  std::string bytes;
  for (int i = 0; i < 4096; ++i) bytes += static_cast<char>(i * 7 + 3);
  write(model, bytes);
  sign_file(model.string(), keys.secret_key);
  const std::string signature = model.string() + ".sig";
  int checked = 0;
  for (size_t position = 0; position < bytes.size(); position += 37) {
    std::string changed = bytes;
    changed[position] = static_cast<char>(changed[position] ^ 0x01);
    EXPECT_FALSE(signature_is_valid(changed, signature, keys.public_key)) << position;
    ++checked;
  }
  EXPECT_GT(checked, 100);
  EXPECT_FALSE(signature_is_valid(bytes + "x", signature, keys.public_key));
  EXPECT_FALSE(signature_is_valid(bytes.substr(1), signature, keys.public_key));
}

TEST(Signing, AnotherKeyOrNoSignatureIsRefused) {
  const Keys keys = make_keys("c"), other = make_keys("d");
  const fs::path model = scratch("model3.bin");
  write(model, "model bytes");
  sign_file(model.string(), keys.secret_key);
  EXPECT_FALSE(signature_is_valid("model bytes", model.string() + ".sig", other.public_key));
  try {
    require_valid_signature("model bytes", model.string(), other.public_key, kPurposeModel);
    FAIL();
  } catch (const SecurityError& e) {
    EXPECT_NE(std::string(e.what()).find("does not match"), std::string::npos);
  }
  fs::remove(model.string() + ".sig");
  try {
    require_valid_signature("model bytes", model.string(), keys.public_key, kPurposeModel);
    FAIL();
  } catch (const SecurityError& e) {
    EXPECT_NE(std::string(e.what()).find("no signature"), std::string::npos);
  }
}

TEST(Signing, MalformedKeysAreIoErrors) {
  const Keys keys = make_keys("e");
  const fs::path model = scratch("model4.bin");
  write(model, "x");
  // A secret key is not a public key, and garbage is neither.
  EXPECT_THROW(sign_file(model.string(), keys.public_key), IoError);
  const fs::path garbage = scratch("garbage.pub");
  write(garbage, "citadel-ed25519-public !!!notbase64\n");
  sign_file(model.string(), keys.secret_key);
  EXPECT_THROW(signature_is_valid("x", model.string() + ".sig", garbage.string()), IoError);
}

// A signature binds what the file is for and its name: a signed checkpoint does not pass
// for a model, a signed model copied under another name does not pass for that file, and
// an old signature over bare bytes (which bound neither) is refused.
TEST(Signing, StatementsBindPurposeAndNameAndOldSignaturesAreRefused) {
  const Keys keys = make_keys("f");
  const fs::path checkpoint = scratch("run.ckpt"), model = scratch("v2.safetensors");
  write(checkpoint, "checkpoint bytes");
  sign_file(checkpoint.string(), keys.secret_key, kPurposeCheckpoint);
  EXPECT_TRUE(signature_is_valid("checkpoint bytes", checkpoint.string() + ".sig", keys.public_key, "",
                                 kPurposeCheckpoint));
  try {
    require_valid_signature("checkpoint bytes", checkpoint.string(), keys.public_key, kPurposeModel);
    FAIL() << "a checkpoint signature verified as a model's";
  } catch (const SecurityError& e) {
    EXPECT_NE(std::string(e.what()).find("vouches for a checkpoint, not a model"), std::string::npos) << e.what();
  }
  // The old model and its signature, copied over the new model's name.
  const fs::path old_model = scratch("v1.safetensors");
  write(old_model, "old model");
  sign_file(old_model.string(), keys.secret_key);
  fs::copy_file(old_model.string() + ".sig", model.string() + ".sig", fs::copy_options::overwrite_existing);
  try {
    require_valid_signature("old model", model.string(), keys.public_key, kPurposeModel);
    FAIL() << "a signature for another file name verified";
  } catch (const SecurityError& e) {
    EXPECT_NE(std::string(e.what()).find("for a file named"), std::string::npos) << e.what();
  }
  write(model.string() + ".sig", "citadel-ed25519-signature AAAA\n");
  EXPECT_THROW(require_valid_signature("old model", model.string(), keys.public_key, kPurposeModel), SecurityError);
}

TEST(Signing, KeygenNeverReplacesAKeySilently) {
  const Keys keys = make_keys("g");
  const std::string before = read_file_bytes(keys.secret_key);
  EXPECT_THROW(generate_signing_keys(keys.public_key, keys.secret_key), IoError);
  EXPECT_EQ(read_file_bytes(keys.secret_key), before);
  generate_signing_keys(keys.public_key, keys.secret_key, true);
  EXPECT_NE(read_file_bytes(keys.secret_key), before);
}

}  // namespace signing_test
