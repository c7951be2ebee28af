// Ed25519 signatures: valid ones verify; any changed byte, another key, or no signature
// is refused.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>

#include "citadel/core/error.hpp"
#include "citadel/io/model_file.hpp"
#include "citadel/io/signing.hpp"

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
  generate_signing_keys(keys.public_key, keys.secret_key);
  return keys;
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
  EXPECT_NO_THROW(require_valid_signature(read_file_bytes(model.string()), model.string(), keys.public_key));
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
    require_valid_signature("model bytes", model.string(), other.public_key);
    FAIL();
  } catch (const SecurityError& e) {
    EXPECT_NE(std::string(e.what()).find("does not match"), std::string::npos);
  }
  fs::remove(model.string() + ".sig");
  try {
    require_valid_signature("model bytes", model.string(), keys.public_key);
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
