// Encrypted file layout (all integers little-endian):
//   "CTDLENC1"  magic                     8 bytes
//   kdf         0 = key file, 1 = Argon2id 1 byte
//   salt, opslimit (u64), memlimit (u64)  Argon2id only
//   secretstream header                   24 bytes
//   chunks: u32 length + ciphertext of up to 64 KiB, the last tagged FINAL
// The bytes before the stream header are authenticated as the first chunk's additional
// data, so the KDF settings cannot be swapped either. Both directions stream.
#include "citadel/core/sodium_init.hpp"
#include "citadel/io/encryption.hpp"

#include <sodium.h>

#include <cstring>
#include <fstream>
#include <functional>
#include <sstream>
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
// Passphrases are stretched with Argon2id at libsodium's MODERATE settings (256 MiB, 3
// passes). A file's header is read before anything is authenticated, so a hostile one may
// ask for no more than that: it cannot make loading take more time or memory.
constexpr uint64_t kOpsLimit = crypto_pwhash_OPSLIMIT_MODERATE;
constexpr uint64_t kMemLimit = crypto_pwhash_MEMLIMIT_MODERATE;
constexpr uint64_t kMaxOpsLimit = kOpsLimit;
constexpr uint64_t kMaxMemLimit = kMemLimit;
constexpr size_t kABytes = crypto_secretstream_xchacha20poly1305_ABYTES;

// Key bytes, locked in memory where the system allows and wiped when released.
class Key {
 public:
  Key() : bytes_(crypto_secretstream_xchacha20poly1305_KEYBYTES) { sodium_mlock(bytes_.data(), bytes_.size()); }
  Key(const Key&) = delete;
  Key& operator=(const Key&) = delete;
  ~Key() { sodium_munlock(bytes_.data(), bytes_.size()); }  // munlock wipes too
  unsigned char* data() { return bytes_.data(); }
  size_t size() const { return bytes_.size(); }

 private:
  std::vector<unsigned char> bytes_;
};
using Sink = std::function<void(std::string_view)>;
// Fills up to `size` bytes; returns how many (0 at the end).
using Source = std::function<size_t(char* out, size_t size)>;

void read_key_file(const std::string& path, Key& key) {
  std::string text = read_file_bytes(path);
  const auto wipe_text = [&] { sodium_memzero(text.data(), text.size()); };
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.pop_back();
  const std::string prefix = std::string(kKeyLabel) + " ";
  size_t decoded = 0;
  const bool labelled = text.rfind(prefix, 0) == 0;
  const bool ok = labelled && sodium_base642bin(key.data(), key.size(), text.data() + prefix.size(),
                                                text.size() - prefix.size(), nullptr, &decoded, nullptr,
                                                sodium_base64_VARIANT_ORIGINAL) == 0 &&
                  decoded == key.size();
  wipe_text();
  CITADEL_CHECK(labelled, IoError, path, ": not a ", kKeyLabel, " file");
  CITADEL_CHECK(ok, IoError, path, ": the key is not 32 bytes of base64");
}

void derive_key(const std::string& passphrase, const unsigned char* salt, uint64_t opslimit, uint64_t memlimit,
                Key& key) {
  CITADEL_CHECK(crypto_pwhash(key.data(), key.size(), passphrase.data(), passphrase.size(), salt, opslimit,
                              static_cast<size_t>(memlimit), crypto_pwhash_ALG_ARGON2ID13) == 0,
                SecurityError, "Argon2id key derivation failed (out of memory?)");
}

void check_key_choice(const EncryptionKey& key) {
  CITADEL_CHECK(key.key_file.empty() != key.passphrase.empty(), ValueError,
                "give exactly one of a key file and a passphrase");
}

// Reads exactly `size` bytes, or fails with `what` naming the source.
void read_exactly(const Source& in, char* out, size_t size, const std::string& source, const char* what) {
  size_t got = 0;
  while (got < size) {
    const size_t n = in(out + got, size - got);
    if (n == 0) break;
    got += n;
  }
  CITADEL_CHECK(got == size, SecurityError, source, ": ", what);
}

// Reads up to kChunk bytes; returns how many.
size_t read_chunk(const Source& in, std::vector<char>& buffer) {
  size_t got = 0;
  while (got < buffer.size()) {
    const size_t n = in(buffer.data() + got, buffer.size() - got);
    if (n == 0) break;
    got += n;
  }
  return got;
}

Source stream_source(std::istream& in) {
  return [&in](char* out, size_t size) {
    in.read(out, static_cast<std::streamsize>(size));
    return static_cast<size_t>(in.gcount());
  };
}

Source memory_source(std::string_view& bytes) {
  return [&bytes](char* out, size_t size) {
    const size_t n = std::min(size, bytes.size());
    std::memcpy(out, bytes.data(), n);
    bytes.remove_prefix(n);
    return n;
  };
}

void encrypt_stream(const Source& in, const EncryptionKey& choice, const Sink& out) {
  ensure_sodium();
  check_key_choice(choice);
  std::string prefix(kMagic, sizeof kMagic);
  Key key;
  if (!choice.key_file.empty()) {
    prefix += static_cast<char>(kKdfKeyFile);
    read_key_file(choice.key_file, key);
  } else {
    prefix += static_cast<char>(kKdfArgon2id);
    unsigned char salt[crypto_pwhash_SALTBYTES];
    randombytes_buf(salt, sizeof salt);
    const uint64_t opslimit = kOpsLimit, memlimit = kMemLimit;
    prefix.append(reinterpret_cast<const char*>(salt), sizeof salt);
    prefix.append(reinterpret_cast<const char*>(&opslimit), 8);
    prefix.append(reinterpret_cast<const char*>(&memlimit), 8);
    derive_key(choice.passphrase, salt, opslimit, memlimit, key);
  }
  crypto_secretstream_xchacha20poly1305_state state;
  unsigned char header[crypto_secretstream_xchacha20poly1305_HEADERBYTES];
  crypto_secretstream_xchacha20poly1305_init_push(&state, header, key.data());
  sodium_memzero(key.data(), key.size());
  out(prefix);
  out(std::string_view(reinterpret_cast<const char*>(header), sizeof header));

  // One chunk of look-ahead tells which chunk is the last.
  std::vector<char> current(kChunk), next(kChunk);
  size_t current_size = read_chunk(in, current);
  std::vector<unsigned char> cipher(kChunk + kABytes);
  bool first = true;
  while (true) {
    const size_t next_size = current_size == kChunk ? read_chunk(in, next) : 0;
    const bool last = next_size == 0;
    unsigned long long cipher_length = 0;
    crypto_secretstream_xchacha20poly1305_push(
        &state, cipher.data(), &cipher_length, reinterpret_cast<const unsigned char*>(current.data()), current_size,
        first ? reinterpret_cast<const unsigned char*>(prefix.data()) : nullptr, first ? prefix.size() : 0,
        last ? crypto_secretstream_xchacha20poly1305_TAG_FINAL : crypto_secretstream_xchacha20poly1305_TAG_MESSAGE);
    const uint32_t length = static_cast<uint32_t>(cipher_length);
    out(std::string_view(reinterpret_cast<const char*>(&length), 4));
    out(std::string_view(reinterpret_cast<const char*>(cipher.data()), cipher_length));
    first = false;
    if (last) break;
    std::swap(current, next);
    current_size = next_size;
  }
  sodium_memzero(current.data(), current.size());
  sodium_memzero(next.data(), next.size());
  sodium_memzero(&state, sizeof state);
}

void decrypt_stream(const Source& in, const EncryptionKey& choice, const std::string& source, const Sink& out) {
  ensure_sodium();
  check_key_choice(choice);
  std::string prefix(sizeof kMagic + 1, '\0');
  size_t got = 0;
  while (got < prefix.size()) {
    const size_t n = in(prefix.data() + got, prefix.size() - got);
    if (n == 0) break;
    got += n;
  }
  CITADEL_CHECK(got == prefix.size() && is_encrypted(prefix), IoError, source, ": not an encrypted citadel file");
  const unsigned char kdf = static_cast<unsigned char>(prefix.back());
  Key key;
  if (kdf == kKdfKeyFile) {
    CITADEL_CHECK(!choice.key_file.empty(), SecurityError, source, ": encrypted with a key file; give --key-file");
    read_key_file(choice.key_file, key);
  } else {
    CITADEL_CHECK(kdf == kKdfArgon2id, IoError, source, ": unknown key derivation ", int(kdf));
    CITADEL_CHECK(!choice.passphrase.empty(), SecurityError, source,
                  ": encrypted with a passphrase; give --passphrase-env");
    std::string settings(crypto_pwhash_SALTBYTES + 16, '\0');
    read_exactly(in, settings.data(), settings.size(), source, "truncated encryption header");
    prefix += settings;
    uint64_t opslimit, memlimit;
    std::memcpy(&opslimit, settings.data() + crypto_pwhash_SALTBYTES, 8);
    std::memcpy(&memlimit, settings.data() + crypto_pwhash_SALTBYTES + 8, 8);
    CITADEL_CHECK(opslimit >= crypto_pwhash_OPSLIMIT_MIN && opslimit <= kMaxOpsLimit &&
                      memlimit >= crypto_pwhash_MEMLIMIT_MIN && memlimit <= kMaxMemLimit,
                  IoError, source, ": Argon2id limits out of range (ops ", opslimit, ", memory ", memlimit,
                  "; at most ", kMaxOpsLimit, " and ", kMaxMemLimit, " are accepted)");
    derive_key(choice.passphrase, reinterpret_cast<const unsigned char*>(settings.data()), opslimit, memlimit, key);
  }
  unsigned char header[crypto_secretstream_xchacha20poly1305_HEADERBYTES];
  read_exactly(in, reinterpret_cast<char*>(header), sizeof header, source, "truncated encryption header");
  crypto_secretstream_xchacha20poly1305_state state;
  const bool ready = crypto_secretstream_xchacha20poly1305_init_pull(&state, header, key.data()) == 0;
  CITADEL_CHECK(ready, SecurityError, source, ": invalid encryption header");

  std::vector<unsigned char> cipher(kChunk + kABytes), clear(kChunk);
  const auto wipe = [&] {
    sodium_memzero(clear.data(), clear.size());
    sodium_memzero(&state, sizeof state);
  };
  bool first = true, final = false;
  try {
    while (!final) {
      uint32_t length = 0;
      read_exactly(in, reinterpret_cast<char*>(&length), 4, source,
                   "the encrypted data ends early (truncated or modified)");
      CITADEL_CHECK(length >= kABytes && length <= kChunk + kABytes, SecurityError, source,
                    ": a chunk of the encrypted data is malformed (truncated or modified)");
      read_exactly(in, reinterpret_cast<char*>(cipher.data()), length, source,
                   "the encrypted data ends early (truncated or modified)");
      unsigned long long clear_length = 0;
      unsigned char tag = 0;
      CITADEL_CHECK(crypto_secretstream_xchacha20poly1305_pull(
                        &state, clear.data(), &clear_length, &tag, cipher.data(), length,
                        first ? reinterpret_cast<const unsigned char*>(prefix.data()) : nullptr,
                        first ? prefix.size() : 0) == 0,
                    SecurityError, source, ": decryption failed: wrong key, or the file was modified");
      out(std::string_view(reinterpret_cast<const char*>(clear.data()), clear_length));
      first = false;
      final = tag == crypto_secretstream_xchacha20poly1305_TAG_FINAL;
    }
    char extra = 0;
    CITADEL_CHECK(in(&extra, 1) == 0, SecurityError, source, ": bytes follow the end of the encrypted data (modified)");
  } catch (...) {
    wipe();
    throw;
  }
  wipe();
}

std::ifstream open_input(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  CITADEL_CHECK(in.is_open(), IoError, path, ": cannot open the file (does it exist?)");
  return in;
}

}  // namespace

void generate_encryption_key(const std::string& path, bool overwrite) {
  ensure_sodium();
  Key key;
  crypto_secretstream_xchacha20poly1305_keygen(key.data());
  std::vector<char> text(sodium_base64_encoded_len(key.size(), sodium_base64_VARIANT_ORIGINAL));
  sodium_bin2base64(text.data(), text.size(), key.data(), key.size(), sodium_base64_VARIANT_ORIGINAL);
  sodium_memzero(key.data(), key.size());
  std::string line = std::string(kKeyLabel) + " " + text.data() + "\n";
  sodium_memzero(text.data(), text.size());
  write_file_atomically(path, line, 0600, overwrite);
  sodium_memzero(line.data(), line.size());
}

bool is_encrypted(std::string_view bytes) {
  return bytes.size() >= sizeof kMagic && std::memcmp(bytes.data(), kMagic, sizeof kMagic) == 0;
}

bool is_encrypted_file(const std::string& path) {
  std::ifstream in = open_input(path);
  char start[sizeof kMagic] = {};
  in.read(start, sizeof start);
  return is_encrypted(std::string_view(start, static_cast<size_t>(in.gcount())));
}

std::string encrypt_bytes(std::string_view plaintext, const EncryptionKey& key) {
  std::string out;
  encrypt_stream(memory_source(plaintext), key, [&](std::string_view bytes) { out.append(bytes); });
  return out;
}

std::string decrypt_bytes(std::string_view ciphertext, const EncryptionKey& key, const std::string& source) {
  std::string out;
  try {
    decrypt_stream(memory_source(ciphertext), key, source, [&](std::string_view bytes) { out.append(bytes); });
  } catch (...) {
    wipe_bytes(out);  // a partial plaintext is still plaintext
    throw;
  }
  return out;
}

void encrypt_file(const std::string& input, const std::string& output, const EncryptionKey& key) {
  std::ifstream in = open_input(input);
  AtomicFileWriter writer(output);
  encrypt_stream(stream_source(in), key, [&](std::string_view bytes) { writer.write(bytes); });
  CITADEL_CHECK(!in.bad(), IoError, input, ": read error");
  writer.commit();
}

void decrypt_file(const std::string& input, const std::string& output, const EncryptionKey& key) {
  std::ifstream in = open_input(input);
  AtomicFileWriter writer(output, 0600);  // nothing reaches `output` unless every chunk authenticates
  decrypt_stream(stream_source(in), key, input, [&](std::string_view bytes) { writer.write(bytes); });
  writer.commit();
}

std::string decrypt_file_to_memory(const std::string& path, const EncryptionKey& key) {
  return decrypt_bytes(read_file_bytes(path), key, path);
}

void wipe_bytes(std::string& bytes) {
  sodium_memzero(bytes.data(), bytes.size());
  bytes.clear();
}

EncryptionKey::~EncryptionKey() {
  sodium_memzero(passphrase.data(), passphrase.size());
}

}  // namespace citadel
