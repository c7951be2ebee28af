// Gaussian noise in parallel chunks: chunk c draws from keystream nonce (first + c), so
// the noise depends on the key alone, not on the thread count.
#include "citadel/ops/noise.hpp"

#include <array>
#include <cmath>

#include "parallel.hpp"

namespace citadel::ops {
namespace {

constexpr int64_t kChunk = 16384;  // values per nonce: fixed, so results do not depend on threads
constexpr size_t kWords = 512;     // keystream words fetched at a time (64 ChaCha20 blocks)

class ChunkStream {
 public:
  ChunkStream(const SecureRng& rng, uint64_t nonce) : rng_(rng), nonce_(nonce) {}
  ~ChunkStream() { words_.fill(0); }
  uint64_t next() {
    if (position_ == kWords) {
      rng_.keystream(nonce_, block_, words_);
      block_ += kWords / 8;
      position_ = 0;
    }
    return words_[position_++];
  }

 private:
  const SecureRng& rng_;
  uint64_t nonce_, block_ = 0;
  std::array<uint64_t, kWords> words_{};
  size_t position_ = kWords;
};

void fill_chunk(float* values, int64_t count, double stddev, const SecureRng& rng, uint64_t nonce) {
  ChunkStream stream(rng, nonce);
  double z0 = 0, z1 = 0;
  for (int64_t i = 0; i < count; i += 2) {
    while (!polar_gaussian_pair(stream.next(), stream.next(), z0, z1)) {
    }
    values[i] += static_cast<float>(stddev * z0);
    if (i + 1 < count) values[i + 1] += static_cast<float>(stddev * z1);
  }
}

}  // namespace

bool polar_gaussian_pair(uint64_t a, uint64_t b, double& z0, double& z1) {
  // Uniform on [-1, 1) with 53 bits: the smallest non-zero |u| is 2^-52, so |z| reaches ~12σ.
  const double u = static_cast<double>(a >> 11) * 0x1.0p-52 - 1.0;
  const double v = static_cast<double>(b >> 11) * 0x1.0p-52 - 1.0;
  const double s = u * u + v * v;
  if (s >= 1.0 || s == 0.0) return false;
  const double factor = std::sqrt(-2.0 * std::log(s) / s);
  z0 = u * factor;
  z1 = v * factor;
  return true;
}

void add_gaussian_noise(std::span<float> values, double stddev, SecureRng& rng) {
  const int64_t count = static_cast<int64_t>(values.size());
  const int64_t chunks = (count + kChunk - 1) / kChunk;
  uint64_t first = 0;
  for (int64_t c = 0; c < chunks; ++c) {
    const uint64_t nonce = rng.reserve_nonce();
    if (c == 0) first = nonce;
  }
  const SecureRng& shared = rng;
  detail::parallel_for(chunks, 2, [&](int64_t begin, int64_t end) {
    for (int64_t c = begin; c < end; ++c) {
      const int64_t offset = c * kChunk;
      fill_chunk(values.data() + offset, std::min(kChunk, count - offset), stddev, shared,
                 first + static_cast<uint64_t>(c));
    }
  });
}

}  // namespace citadel::ops
