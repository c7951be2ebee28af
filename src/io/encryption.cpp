// Encrypted file layout (all integers little-endian):
//   "CTDLENC1"  magic                     8 bytes
//   kdf         0 = key file, 1 = Argon2id 1 byte
//   salt, opslimit (u64), memlimit (u64)  Argon2id only
//   secretstream header                   24 bytes
//   chunks: u32 length + ciphertext of up to 64 KiB, the last tagged FINAL
// The bytes before the stream header are authenticated as the first chunk's additional
// data, so the KDF settings cannot be swapped either.
#include "citadel/io/encryption.hpp"

#include <sodium.h>

#include <cstring>
#include <vector>

#include "citadel/core/atomic_file.hpp"
#include "citadel/core/error.hpp"
#include "citadel/io/model_file.hpp"

namespace citadel {
namespace {

constexpr char kMagic[8] = {'C', 'T', 'D', 'L', 'E', 'N', 'C', '1'};
constexpr size_t kChunk = 64 * 1024;
constexpr const char* kKeyLabel = "citadel-xchacha20-key";
constexpr unsigned char kKdfKeyFile = 0, kKdfArgon2id = 1;
// Limits a hostile file may not raise: Argon2id work within what encryption itself uses
// at most (SENSITIVE), so a file cannot make loading take unbounded time or memory.
constexpr uint64_t kMaxOpsLimit = crypto_pwhash_OPSLIMIT_SENSITIVE;
constexpr uint64_t kMaxMemLimit = crypto_pwhash_MEMLIMIT_SENSITIVE;

using Key = std::vector<unsigned char>;

void ensure_sodium() { CITADEL_CHECK(sodium_init() >= 0, SecurityError, "libsodium could not be initialised"); }

void put_u64(std::string& out, uint64_t value) { out.append(reinterpret_cast<const char*>(&value), 8); }
uint64_t get_u64(const char* p) {
  uint64_t value;
  std::memcpy(&value, p, 8);
  return value;
}

Key read_key_file(const std::string& path) {
  std::string text = read_file_bytes(path);
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.pop_back();
  const std::string prefix = std::string(kKeyLabel) + " ";
  CITADEL_CHECK(text.rfind(prefix, 0) == 0, IoError, path, ": not a ", kKeyLabel, " file");
  Key key(crypto_secretstream_xchacha20poly1305_KEYBYTES);
  size_t decoded = 0;
  CITADEL_CHECK(sodium_base642bin(key.data(), key.size(), text.data() + prefix.size(), text.size() - prefix.size(),
                                  nullptr, &decoded, nullptr, sodium_base64_VARIANT_ORIGINAL) == 0 &&
                    decoded == key.size(),
                IoError, path, ": the key is not 32 bytes of base64");
  return key;
}

Key derive_key(const std::string& passphrase, const unsigned char* salt, uint64_t opslimit, uint64_t memlimit) {
  Key key(crypto_secretstream_xchacha20poly1305_KEYBYTES);
  CITADEL_CHECK(crypto_pwhash(key.data(), key.size(), passphrase.data(), passphrase.size(), salt, opslimit,
                              static_cast<size_t>(memlimit), crypto_pwhash_ALG_ARGON2ID13) == 0,
                SecurityError, "Argon2id key derivation failed (out of memory?)");
  return key;
}

void check_key_choice(const EncryptionKey& key) {
  CITADEL_CHECK(key.key_file.empty() != key.passphrase.empty(), ValueError,
                "give exactly one of a key file and a passphrase");
}

}  // namespace

void generate_encryption_key(const std::string& path) {
  ensure_sodium();
  Key key(crypto_secretstream_xchacha20poly1305_KEYBYTES);
  crypto_secretstream_xchacha20poly1305_keygen(key.data());
  std::vector<char> text(sodium_base64_encoded_len(key.size(), sodium_base64_VARIANT_ORIGINAL));
  sodium_bin2base64(text.data(), text.size(), key.data(), key.size(), sodium_base64_VARIANT_ORIGINAL);
  sodium_memzero(key.data(), key.size());
  write_file_atomically(path, std::string(kKeyLabel) + " " + text.data() + "\n", 0600);
}

bool is_encrypted(std::string_view bytes) {
  return bytes.size() >= sizeof kMagic && std::memcmp(bytes.data(), kMagic, sizeof kMagic) == 0;
}

std::string encrypt_bytes(std::string_view plaintext, const EncryptionKey& choice) {
  ensure_sodium();
  check_key_choice(choice);
  std::string out(kMagic, sizeof kMagic);
  Key key;
  if (!choice.key_file.empty()) {
    out += static_cast<char>(kKdfKeyFile);
    key = read_key_file(choice.key_file);
  } else {
    out += static_cast<char>(kKdfArgon2id);
    unsigned char salt[crypto_pwhash_SALTBYTES];
    randombytes_buf(salt, sizeof salt);
    const uint64_t opslimit = crypto_pwhash_OPSLIMIT_INTERACTIVE, memlimit = crypto_pwhash_MEMLIMIT_INTERACTIVE;
    out.append(reinterpret_cast<const char*>(salt), sizeof salt);
    put_u64(out, opslimit);
    put_u64(out, memlimit);
    key = derive_key(choice.passphrase, salt, opslimit, memlimit);
  }
  const std::string associated = out;  // everything so far is authenticated with the first chunk
  crypto_secretstream_xchacha20poly1305_state state;
  unsigned char header[crypto_secretstream_xchacha20poly1305_HEADERBYTES];
  crypto_secretstream_xchacha20poly1305_init_push(&state, header, key.data());
  sodium_memzero(key.data(), key.size());
  out.append(reinterpret_cast<const char*>(header), sizeof header);
  size_t position = 0;
  bool first = true;
  do {
    const size_t length = std::min(kChunk, plaintext.size() - position);
    const bool last = position + length == plaintext.size();
    std::vector<unsigned char> cipher(length + crypto_secretstream_xchacha20poly1305_ABYTES);
    unsigned long long cipher_length = 0;
    crypto_secretstream_xchacha20poly1305_push(
        &state, cipher.data(), &cipher_length, reinterpret_cast<const unsigned char*>(plaintext.data() + position),
        length, first ? reinterpret_cast<const unsigned char*>(associated.data()) : nullptr,
        first ? associated.size() : 0,
        last ? crypto_secretstream_xchacha20poly1305_TAG_FINAL : crypto_secretstream_xchacha20poly1305_TAG_MESSAGE);
    const uint32_t size = static_cast<uint32_t>(cipher_length);
    out.append(reinterpret_cast<const char*>(&size), 4);
    out.append(reinterpret_cast<const char*>(cipher.data()), cipher_length);
    position += length;
    first = false;
  } while (position < plaintext.size());
  return out;
}

std::string decrypt_bytes(std::string_view bytes, const EncryptionKey& choice, const std::string& source) {
  ensure_sodium();
  check_key_choice(choice);
  CITADEL_CHECK(is_encrypted(bytes), IoError, source, ": not an encrypted citadel file");
  size_t position = sizeof kMagic;
  CITADEL_CHECK(bytes.size() > position, IoError, source, ": truncated encryption header");
  const unsigned char kdf = static_cast<unsigned char>(bytes[position++]);
  Key key;
  if (kdf == kKdfKeyFile) {
    CITADEL_CHECK(!choice.key_file.empty(), SecurityError, source, ": encrypted with a key file; give --key-file");
    key = read_key_file(choice.key_file);
  } else {
    CITADEL_CHECK(kdf == kKdfArgon2id, IoError, source, ": unknown key derivation ", int(kdf));
    CITADEL_CHECK(!choice.passphrase.empty(), SecurityError, source,
                  ": encrypted with a passphrase; give --passphrase-env");
    CITADEL_CHECK(bytes.size() >= position + crypto_pwhash_SALTBYTES + 16, IoError, source,
                  ": truncated encryption header");
    const auto* salt = reinterpret_cast<const unsigned char*>(bytes.data() + position);
    position += crypto_pwhash_SALTBYTES;
    const uint64_t opslimit = get_u64(bytes.data() + position), memlimit = get_u64(bytes.data() + position + 8);
    position += 16;
    CITADEL_CHECK(opslimit >= crypto_pwhash_OPSLIMIT_MIN && opslimit <= kMaxOpsLimit &&
                      memlimit >= crypto_pwhash_MEMLIMIT_MIN && memlimit <= kMaxMemLimit,
                  IoError, source, ": Argon2id limits out of range (ops ", opslimit, ", memory ", memlimit, ")");
    key = derive_key(choice.passphrase, salt, opslimit, memlimit);
  }
  const std::string_view associated = bytes.substr(0, position);
  CITADEL_CHECK(bytes.size() >= position + crypto_secretstream_xchacha20poly1305_HEADERBYTES, IoError, source,
                ": truncated encryption header");
  crypto_secretstream_xchacha20poly1305_state state;
  const bool ready = crypto_secretstream_xchacha20poly1305_init_pull(
                         &state, reinterpret_cast<const unsigned char*>(bytes.data() + position), key.data()) == 0;
  sodium_memzero(key.data(), key.size());
  CITADEL_CHECK(ready, SecurityError, source, ": invalid encryption header");
  position += crypto_secretstream_xchacha20poly1305_HEADERBYTES;

  std::string plaintext;
  bool first = true, final = false;
  while (!final) {
    CITADEL_CHECK(bytes.size() >= position + 4, SecurityError, source,
                  ": the encrypted data ends early (truncated or modified)");
    uint32_t length;
    std::memcpy(&length, bytes.data() + position, 4);
    position += 4;
    CITADEL_CHECK(length >= crypto_secretstream_xchacha20poly1305_ABYTES &&
                      length <= kChunk + crypto_secretstream_xchacha20poly1305_ABYTES &&
                      bytes.size() - position >= length,
                  SecurityError, source, ": a chunk of the encrypted data is malformed (truncated or modified)");
    std::vector<unsigned char> clear(length - crypto_secretstream_xchacha20poly1305_ABYTES);
    unsigned long long clear_length = 0;
    unsigned char tag = 0;
    CITADEL_CHECK(crypto_secretstream_xchacha20poly1305_pull(
                      &state, clear.data(), &clear_length, &tag,
                      reinterpret_cast<const unsigned char*>(bytes.data() + position), length,
                      first ? reinterpret_cast<const unsigned char*>(associated.data()) : nullptr,
                      first ? associated.size() : 0) == 0,
                  SecurityError, source, ": decryption failed: wrong key, or the file was modified");
    plaintext.append(reinterpret_cast<const char*>(clear.data()), clear_length);
    sodium_memzero(clear.data(), clear.size());
    position += length;
    first = false;
    final = tag == crypto_secretstream_xchacha20poly1305_TAG_FINAL;
  }
  CITADEL_CHECK(position == bytes.size(), SecurityError, source, ": ", bytes.size() - position,
                " bytes follow the end of the encrypted data (modified)");
  return plaintext;
}

void encrypt_file(const std::string& input, const std::string& output, const EncryptionKey& key) {
  write_file_atomically(output, encrypt_bytes(read_file_bytes(input), key));
}

void decrypt_file(const std::string& input, const std::string& output, const EncryptionKey& key) {
  write_file_atomically(output, decrypt_bytes(read_file_bytes(input), key, input), 0600);
}

}  // namespace citadel
