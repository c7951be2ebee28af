// ChaCha20 through OpenSSL's EVP interface. OpenSSL's 16-byte IV is the cipher's state
// words 12-15: the block counter's two halves, then the nonce, which is the layout of the
// original ChaCha20 (a counter carried from word 12 into word 13 past 2^32 blocks; the
// tests compare both across that boundary with libsodium).
#include "citadel/core/keystream.hpp"

#include <openssl/evp.h>

#include <algorithm>
#include <cstring>
#include <utility>

#include "citadel/core/error.hpp"

namespace citadel {

Keystream::Keystream(const std::array<unsigned char, 32>& key, uint64_t nonce, uint64_t first_block)
    : context_(EVP_CIPHER_CTX_new()) {
  CITADEL_CHECK(context_ != nullptr, SecurityError, "keystream: OpenSSL could not allocate a cipher context");
  unsigned char iv[16];
  std::memcpy(iv, &first_block, 8);  // little-endian, as the cipher's words are
  std::memcpy(iv + 8, &nonce, 8);
  const int ok = EVP_EncryptInit_ex(context_, EVP_chacha20(), nullptr, key.data(), iv);
  if (ok != 1) EVP_CIPHER_CTX_free(context_);
  CITADEL_CHECK(ok == 1, SecurityError, "keystream: OpenSSL refused to set up ChaCha20");
}

Keystream::Keystream(Keystream&& other) noexcept : context_(std::exchange(other.context_, nullptr)) {}

Keystream& Keystream::operator=(Keystream&& other) noexcept {
  if (this != &other) {
    EVP_CIPHER_CTX_free(context_);
    context_ = std::exchange(other.context_, nullptr);
  }
  return *this;
}

Keystream::~Keystream() { EVP_CIPHER_CTX_free(context_); }

void Keystream::read(std::span<uint64_t> words) {
  CITADEL_ASSERT(context_ != nullptr, "keystream: read after move");
  // The keystream is what encrypting zeros gives; reading the zeros from a constant block
  // spares clearing the output first.
  static constexpr unsigned char kZeros[4096] = {};
  auto* bytes = reinterpret_cast<unsigned char*>(words.data());
  for (size_t done = 0; done < words.size_bytes();) {
    const int piece = static_cast<int>(std::min(words.size_bytes() - done, sizeof kZeros));
    int written = 0;
    const int ok = EVP_EncryptUpdate(context_, bytes + done, &written, kZeros, piece);
    CITADEL_CHECK(ok == 1 && written == piece, SecurityError, "keystream: OpenSSL's ChaCha20 failed");
    done += static_cast<size_t>(piece);
  }
}

}  // namespace citadel
