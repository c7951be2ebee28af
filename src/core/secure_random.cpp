// ChaCha20 keystream as random numbers: the original ChaCha20 (64-bit nonce, 64-bit block
// counter) so that a keystream can start at any block, which makes parallel noise chunks
// independent of the thread count. libsodium supplies the operating system's randomness,
// BLAKE2b and locked memory; OpenSSL the cipher (keystream.cpp).
#include "citadel/core/secure_random.hpp"

#include <sodium.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <utility>

#include "citadel/core/error.hpp"
#include "citadel/core/sodium_init.hpp"
#include "unbiased_below.hpp"

namespace citadel {
namespace {

// The sequential stream has a nonce of its own that reserve_nonce() never hands out.
constexpr uint64_t kSequentialNonce = std::numeric_limits<uint64_t>::max();

}  // namespace

SecureRng::SecureRng(const unsigned char* key, bool reproducible) : reproducible_(reproducible) {
  std::memcpy(key_.data(), key, key_.size());
  sodium_mlock(key_.data(), key_.size());  // best effort: keep the key out of swap
}

SecureRng SecureRng::from_os() {
  ensure_sodium();
  unsigned char key[crypto_stream_chacha20_KEYBYTES];
  randombytes_buf(key, sizeof key);
  SecureRng rng(key, false);
  sodium_memzero(key, sizeof key);
  return rng;
}

SecureRng SecureRng::from_seed(uint64_t seed, uint64_t stream) {
  ensure_sodium();
  const char domain[] = "citadel reproducible noise v1";
  unsigned char input[sizeof domain + 16];
  std::memcpy(input, domain, sizeof domain);
  std::memcpy(input + sizeof domain, &seed, 8);
  std::memcpy(input + sizeof domain + 8, &stream, 8);
  unsigned char key[crypto_stream_chacha20_KEYBYTES];
  crypto_generichash(key, sizeof key, input, sizeof input, nullptr, 0);
  return SecureRng(key, true);
}

SecureRng SecureRng::from_shared_key(const std::array<uint64_t, 4>& key) {
  ensure_sodium();
  static_assert(sizeof key == crypto_stream_chacha20_KEYBYTES);
  unsigned char bytes[crypto_stream_chacha20_KEYBYTES];
  std::memcpy(bytes, key.data(), sizeof bytes);
  SecureRng rng(bytes, false);
  sodium_memzero(bytes, sizeof bytes);
  return rng;
}

SecureRng::SecureRng(SecureRng&& other) noexcept
    : key_(other.key_), reproducible_(other.reproducible_), next_nonce_(other.next_nonce_),
      sequential_(std::move(other.sequential_)), buffer_(other.buffer_), position_(other.position_) {
  other.sequential_.reset();
  sodium_memzero(other.key_.data(), other.key_.size());
  sodium_memzero(other.buffer_.data(), sizeof other.buffer_);
}

SecureRng& SecureRng::operator=(SecureRng&& other) noexcept {
  if (this == &other) return *this;
  key_ = other.key_;
  reproducible_ = other.reproducible_;
  next_nonce_ = other.next_nonce_;
  sequential_ = std::move(other.sequential_);
  other.sequential_.reset();
  buffer_ = other.buffer_;
  position_ = other.position_;
  sodium_memzero(other.key_.data(), other.key_.size());
  sodium_memzero(other.buffer_.data(), sizeof other.buffer_);
  return *this;
}

SecureRng::~SecureRng() {
  sodium_munlock(key_.data(), key_.size());  // also wipes it
  sodium_memzero(buffer_.data(), sizeof buffer_);
}

void SecureRng::keystream(uint64_t nonce, uint64_t first_block, std::span<uint64_t> words) const {
  open_keystream(nonce, first_block).read(words);
}

Keystream SecureRng::open_keystream(uint64_t nonce, uint64_t first_block) const {
  return Keystream(key_, nonce, first_block);
}

uint64_t SecureRng::reserve_nonce() {
  CITADEL_ASSERT(next_nonce_ < kSequentialNonce, "SecureRng: nonces exhausted");
  return next_nonce_++;
}

void SecureRng::refill() {
  if (!sequential_) sequential_.emplace(key_, kSequentialNonce, 0);
  sequential_->read(buffer_);
  position_ = 0;
}

uint64_t SecureRng::next_u64() {
  if (position_ == buffer_.size()) refill();
  const uint64_t word = buffer_[position_];
  buffer_[position_++] = 0;
  return word;
}

double SecureRng::uniform_double() { return static_cast<double>(next_u64() >> 11) * 0x1.0p-53; }

void SecureRng::sample_each(double rate, int64_t count, std::vector<int64_t>& chosen) {
  CITADEL_CHECK(rate >= 0 && rate <= 1, ValueError, "sample_each: the rate must be in [0, 1], got ", rate);
  // k · 2^-53 < rate  ⇔  k < rate · 2^53 (exact: a power of two)  ⇔  k < ⌈rate · 2^53⌉.
  const uint64_t threshold = static_cast<uint64_t>(std::ceil(rate * 0x1.0p53));
  for (int64_t i = 0; i < count;) {
    if (position_ == buffer_.size()) refill();
    const int64_t take = std::min<int64_t>(count - i, static_cast<int64_t>(buffer_.size() - position_));
    const uint64_t* words = buffer_.data() + position_;
    for (int64_t k = 0; k < take; ++k)
      if ((words[k] >> 11) < threshold) chosen.push_back(i + k);
    std::fill_n(buffer_.begin() + static_cast<std::ptrdiff_t>(position_), take, 0);  // used words are not kept
    position_ += static_cast<size_t>(take);
    i += take;
  }
}

uint64_t SecureRng::below(uint64_t bound) {
  return detail::unbiased_below(bound, [this] { return next_u64(); });
}

}  // namespace citadel
