// Encryption: round trips with a key file and a passphrase; a wrong key, any changed
// byte, truncation or trailing bytes are errors and nothing decrypted is returned.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>

#include "citadel/core/error.hpp"
#include "citadel/io/encryption.hpp"
#include "scratch_folder.hpp"

namespace encryption_test {

using namespace citadel;
namespace fs = std::filesystem;

namespace {

std::string key_file(const std::string& name) {
  const auto path = (citadel::testing::scratch_folder() / name).string();
  generate_encryption_key(path);
  return path;
}

// 200 KiB: several 64 KiB chunks, the last one partial.
std::string plaintext() {
  std::string text;
  for (int i = 0; i < 200 * 1024; ++i) text += static_cast<char>((i * 31) ^ (i >> 8));
  return text;
}

}  // namespace

TEST(Encryption, KeyFileRoundTripAndPrivateKey) {
  const std::string key = key_file("a.key");
  struct stat info {};
  ASSERT_EQ(::stat(key.c_str(), &info), 0);
  EXPECT_EQ(info.st_mode & 0777, 0600u);
  const std::string text = plaintext();
  const std::string sealed = encrypt_bytes(text, {.key_file = key});
  EXPECT_TRUE(is_encrypted(sealed));
  EXPECT_EQ(sealed.find(text.substr(1000, 64)), std::string::npos);  // no plaintext shows through
  EXPECT_EQ(decrypt_bytes(sealed, {.key_file = key}, "m.enc"), text);
  EXPECT_EQ(decrypt_bytes(encrypt_bytes("", {.key_file = key}), {.key_file = key}, "empty"), "");
}

TEST(Encryption, PassphraseRoundTripAndWrongPassphrase) {
  const std::string sealed = encrypt_bytes("weights", {.passphrase = "correct horse"});
  EXPECT_EQ(decrypt_bytes(sealed, {.passphrase = "correct horse"}, "m.enc"), "weights");
  EXPECT_THROW(decrypt_bytes(sealed, {.passphrase = "wrong horse"}, "m.enc"), SecurityError);
  EXPECT_THROW(decrypt_bytes(sealed, {.key_file = key_file("b.key")}, "m.enc"), SecurityError);
}

TEST(Encryption, WrongKeyIsRefused) {
  const std::string sealed = encrypt_bytes(plaintext(), {.key_file = key_file("c.key")});
  try {
    decrypt_bytes(sealed, {.key_file = key_file("d.key")}, "m.enc");
    FAIL();
  } catch (const SecurityError& e) {
    EXPECT_NE(std::string(e.what()).find("wrong key, or the file was modified"), std::string::npos);
  }
}

TEST(Encryption, FilesStreamAndFailedDecryptionWritesNothing) {
  const std::string key = key_file("f.key");
  const fs::path plain = citadel::testing::scratch_folder() / "plain";
  const fs::path sealed = plain.string() + ".enc", back = plain.string() + ".back";
  const std::string text = plaintext();
  { std::ofstream(plain, std::ios::binary) << text; }
  encrypt_file(plain.string(), sealed.string(), {.key_file = key});
  EXPECT_TRUE(is_encrypted_file(sealed.string()));
  EXPECT_FALSE(is_encrypted_file(plain.string()));
  decrypt_file(sealed.string(), back.string(), {.key_file = key});
  std::ifstream file(back, std::ios::binary);
  EXPECT_EQ(std::string(std::istreambuf_iterator<char>(file), {}), text);
  EXPECT_EQ(decrypt_file_to_memory(sealed.string(), {.key_file = key}), text);
  // A wrong key leaves no output file behind, not even a partial one.
  const fs::path refused = plain.string() + ".refused";
  EXPECT_THROW(decrypt_file(sealed.string(), refused.string(), {.key_file = key_file("g.key")}), SecurityError);
  EXPECT_FALSE(fs::exists(refused));
}

TEST(Encryption, AnyChangedByteIsRefused) {
  const std::string key = key_file("e.key");
  const std::string sealed = encrypt_bytes(plaintext(), {.key_file = key});
  int checked = 0;
  for (size_t position = 0; position < sealed.size(); position += 997) {
    std::string changed = sealed;
    changed[position] = static_cast<char>(changed[position] ^ 0x04);
    EXPECT_THROW(decrypt_bytes(changed, {.key_file = key}, "m.enc"), Error) << position;
    ++checked;
  }
  EXPECT_GT(checked, 200);
  for (size_t length : {size_t(0), size_t(8), size_t(40), sealed.size() / 2, sealed.size() - 1})
    EXPECT_THROW(decrypt_bytes(sealed.substr(0, length), {.key_file = key}, "m.enc"), Error) << length;
  EXPECT_THROW(decrypt_bytes(sealed + "x", {.key_file = key}, "m.enc"), SecurityError);
}

}  // namespace encryption_test
