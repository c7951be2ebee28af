// A ChaCha20 keystream read forward: the original ChaCha20 (64-bit nonce, 64-bit block
// counter, as libsodium's crypto_stream_chacha20), positioned at any block and then read
// in pieces of any size without setting it up again. OpenSSL computes it: its AVX-512
// code gives the same bits as libsodium's at twice the speed here, and the noise of
// private training is mostly this stream.
#pragma once

#include <array>
#include <cstdint>
#include <span>

struct evp_cipher_ctx_st;

namespace citadel {

class Keystream {
 public:
  Keystream(const std::array<unsigned char, 32>& key, uint64_t nonce, uint64_t first_block);
  Keystream(Keystream&& other) noexcept;
  Keystream& operator=(Keystream&& other) noexcept;
  Keystream(const Keystream&) = delete;
  Keystream& operator=(const Keystream&) = delete;
  ~Keystream();  // frees the cipher context, which wipes the key inside it

  // The next words.size() words of the stream.
  void read(std::span<uint64_t> words);

 private:
  evp_cipher_ctx_st* context_ = nullptr;
};

}  // namespace citadel
