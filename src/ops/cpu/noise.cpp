// Gaussian noise in parallel chunks: chunk c draws from keystream nonce (first + c), so
// the noise depends on the key alone, not on the thread count. The ziggurat needs one
// 64-bit word per value about 99 % of the time (8 bits pick the layer, 1 the sign, 53 the
// uniform), which keeps the keystream, not the arithmetic, the cost.
#include "citadel/ops/noise.hpp"

#include <array>
#include <cmath>

#include "parallel.hpp"

namespace citadel::ops {
namespace {

constexpr int64_t kChunk = 16384;  // values per nonce: fixed, so results do not depend on threads
constexpr size_t kWords = 512;     // keystream words fetched at a time (64 ChaCha20 blocks)
constexpr int kLayers = 256;
constexpr double kR = 3.6541528853610088;       // where the tail starts, for 256 layers
constexpr double kArea = 4.92867323399e-3;      // each layer's area (Marsaglia and Tsang 2000)

double density(double x) { return std::exp(-0.5 * x * x); }  // unnormalized: the layers use it alike
double uniform53(uint64_t word) { return static_cast<double>(word >> 11) * 0x1.0p-53; }

// Layer edges x[0] (the base strip's width, tail included) > x[1] = r > ... > x[256] = 0,
// and the density at each.
struct Ziggurat {
  std::array<double, kLayers + 1> x{}, f{};
  Ziggurat() {
    x[0] = kArea / density(kR);
    x[1] = kR;
    for (int i = 1; i < kLayers - 1; ++i) x[i + 1] = std::sqrt(-2.0 * std::log(kArea / x[i] + density(x[i])));
    x[kLayers] = 0.0;
    for (int i = 0; i <= kLayers; ++i) f[i] = density(x[i]);
  }
};

const Ziggurat& ziggurat() {
  static const Ziggurat table;
  return table;
}

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

double standard_normal(ChunkStream& stream, const Ziggurat& z) {
  while (true) {
    const uint64_t word = stream.next();
    const int layer = static_cast<int>(word & 0xFF);
    const bool negative = (word >> 8) & 1;
    const double x = uniform53(word) * z.x[layer];
    if (x < z.x[layer + 1]) return negative ? -x : x;  // inside the layer above: under the curve
    if (layer == 0) {                                  // the base strip beyond r: the exact tail
      double tail = 0;
      while (!gaussian_tail_step(stream.next(), stream.next(), tail)) {
      }
      return negative ? -tail : tail;
    }
    // The wedge between the layer's box and the curve.
    const double y = z.f[layer] + uniform53(stream.next()) * (z.f[layer + 1] - z.f[layer]);
    if (y < density(x)) return negative ? -x : x;
  }
}

void fill_chunk(float* values, int64_t count, double stddev, const SecureRng& rng, uint64_t nonce) {
  ChunkStream stream(rng, nonce);
  const Ziggurat& z = ziggurat();
  for (int64_t i = 0; i < count; ++i) values[i] += static_cast<float>(stddev * standard_normal(stream, z));
}

}  // namespace

bool gaussian_tail_step(uint64_t a, uint64_t b, double& z) {
  // u in (0, 1]: -log(u) is finite. The largest accepted z is r + sqrt(2·53·ln 2) ≈ 12.2σ.
  const double u1 = static_cast<double>((a >> 11) + 1) * 0x1.0p-53;
  const double u2 = static_cast<double>((b >> 11) + 1) * 0x1.0p-53;
  const double x = -std::log(u1) / kR, y = -std::log(u2);
  if (2.0 * y < x * x) return false;
  z = kR + x;
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
  (void)ziggurat();  // built once, before the threads
  detail::parallel_for(chunks, 2, [&](int64_t begin, int64_t end) {
    for (int64_t c = begin; c < end; ++c) {
      const int64_t offset = c * kChunk;
      fill_chunk(values.data() + offset, std::min(kChunk, count - offset), stddev, shared,
                 first + static_cast<uint64_t>(c));
    }
  });
}

}  // namespace citadel::ops
