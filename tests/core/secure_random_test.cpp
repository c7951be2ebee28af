// The cryptographic stream behind DP-SGD's noise and sampling: OpenSSL's ChaCha20 against
// libsodium's (an independent implementation of the same cipher), at block counters that
// cross the 32-bit boundary, read in pieces; and Poisson sampling by integer comparison
// against the plain `uniform_double() < rate` on a twin stream.
#include "citadel/core/secure_random.hpp"

#include "citadel/core/error.hpp"

#include <gtest/gtest.h>
#include <sodium.h>

#include <cmath>
#include <cstring>
#include <vector>

namespace secure_random_test {

using namespace citadel;

namespace {

std::vector<uint64_t> libsodium_keystream(const std::array<unsigned char, 32>& key, uint64_t nonce, uint64_t block,
                                          size_t words) {
  std::vector<uint64_t> out(words, 0);
  unsigned char nonce_bytes[crypto_stream_chacha20_NONCEBYTES];
  std::memcpy(nonce_bytes, &nonce, sizeof nonce_bytes);
  auto* bytes = reinterpret_cast<unsigned char*>(out.data());
  crypto_stream_chacha20_xor_ic(bytes, bytes, words * 8, nonce_bytes, block, key.data());
  return out;
}

}  // namespace

TEST(Keystream, EqualsLibsodiumsChaCha20EvenAcrossThe32BitCounter) {
  ASSERT_GE(sodium_init(), 0);
  std::array<unsigned char, 32> key{};
  randombytes_buf(key.data(), key.size());
  const uint64_t starts[] = {0, 7, (uint64_t{1} << 32) - 3, (uint64_t{1} << 33) - 1, ~uint64_t{0} - 40};
  for (uint64_t start : starts) {
    const uint64_t nonce = 0x0123456789abcdefULL ^ start;
    const std::vector<uint64_t> expected = libsodium_keystream(key, nonce, start, 1000);
    Keystream stream(key, nonce, start);
    std::vector<uint64_t> got(1000);
    // Uneven pieces: a read that stops inside a 64-byte block continues there.
    size_t done = 0;
    for (size_t piece : {3, 1, 200, 13, 783}) {
      stream.read(std::span<uint64_t>(got).subspan(done, piece));
      done += piece;
    }
    ASSERT_EQ(done, got.size());
    EXPECT_EQ(got, expected) << "first block " << start;
  }
}

TEST(SecureRng, SampleEachMatchesOneUniformPerRowAndStaysInStep) {
  for (double rate : {0.0, 1.0, 256.0 / 60000.0, 0.5, 0x1.0p-53, 0.3}) {
    SecureRng bulk = SecureRng::from_seed(11, 5), plain = SecureRng::from_seed(11, 5);
    for (int round = 0; round < 3; ++round) {
      const int64_t rows = 1000 + 777 * round;  // not a multiple of the buffer: rounds start mid-buffer
      std::vector<int64_t> chosen, expected;
      bulk.sample_each(rate, rows, chosen);
      for (int64_t r = 0; r < rows; ++r)
        if (plain.uniform_double() < rate) expected.push_back(r);
      EXPECT_EQ(chosen, expected) << "rate " << rate << " round " << round;
    }
    EXPECT_EQ(bulk.next_u64(), plain.next_u64()) << "rate " << rate;  // the same words consumed
  }
  SecureRng rng = SecureRng::from_seed(1, 1);
  std::vector<int64_t> chosen;
  EXPECT_THROW(rng.sample_each(1.5, 10, chosen), ValueError);
  EXPECT_THROW(rng.sample_each(std::nan(""), 10, chosen), ValueError);
}

TEST(SecureRng, ParallelKeystreamsDifferByNonceAndMatchTheirReader) {
  SecureRng rng = SecureRng::from_seed(3, 4);
  std::vector<uint64_t> whole(300), a(300), b(300);
  rng.keystream(5, 2, whole);
  Keystream reader = rng.open_keystream(5, 2);
  reader.read(std::span<uint64_t>(a).first(100));
  reader.read(std::span<uint64_t>(a).subspan(100));
  EXPECT_EQ(a, whole);
  rng.keystream(6, 2, b);
  EXPECT_NE(a, b);
}

}  // namespace secure_random_test
