// A cryptographic random stream for what must stay secret from anyone who knows the
// model's seed: DP-SGD's noise and its batch sampling. ChaCha20 (citadel/core/keystream.hpp)
// keyed from the operating system, or, for reproducible runs only, from a seed (then it is
// not secret).
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "citadel/core/keystream.hpp"

namespace citadel {

class SecureRng {
 public:
  // A fresh 256-bit key from the operating system's generator (randombytes_buf).
  static SecureRng from_os();
  // A key derived from (seed, stream) with BLAKE2b: reproducible, hence NOT secret.
  static SecureRng from_seed(uint64_t seed, uint64_t stream);
  // A stream the processes of one data-parallel job share (so that they sample the same
  // batches): from a 256-bit key one of them drew with from_os().next_u64() and sent to
  // the others. Secret as long as the key stays within the job.
  static SecureRng from_shared_key(const std::array<uint64_t, 4>& key);

  SecureRng(const SecureRng&) = delete;
  SecureRng& operator=(const SecureRng&) = delete;
  SecureRng(SecureRng&& other) noexcept;
  SecureRng& operator=(SecureRng&& other) noexcept;
  ~SecureRng();  // wipes the key and the buffered keystream

  bool reproducible() const { return reproducible_; }

  // The sequential stream: 64 random bits; a uniform double in [0, 1) with 53 bits.
  uint64_t next_u64();
  double uniform_double();
  // Uniform integer in [0, bound), without modulo bias.
  uint64_t below(uint64_t bound);
  // Poisson sampling: appends to `chosen` each of 0 .. count-1 independently with
  // probability `rate`, exactly as `uniform_double() < rate` asked of each in turn (the
  // same words, compared as integers, a buffer at a time).
  void sample_each(double rate, int64_t count, std::vector<int64_t>& chosen);

  // Independent keystream for parallel work: a new nonce per call of reserve_nonce(), and
  // words from block `first_block` of that nonce's stream. Const, so threads may share it;
  // open_keystream gives a reader that continues where it stopped (cheaper for many reads).
  uint64_t reserve_nonce();
  void keystream(uint64_t nonce, uint64_t first_block, std::span<uint64_t> words) const;
  Keystream open_keystream(uint64_t nonce, uint64_t first_block) const;

 private:
  SecureRng(const unsigned char* key, bool reproducible);
  void refill();

  std::array<unsigned char, 32> key_{};
  bool reproducible_ = false;
  uint64_t next_nonce_ = 0;       // nonces 0, 1, ... for parallel keystreams
  std::optional<Keystream> sequential_;  // the sequential stream (a nonce of its own), opened at first use
  std::array<uint64_t, 512> buffer_{};   // 4 KiB: fewer, longer reads of the cipher
  size_t position_ = 512;
};

}  // namespace citadel
