// Gaussian noise in parallel chunks; the chunks' seeds come from the caller's stream, so
// the noise is reproducible for a given seed and thread-count independent.
#include "citadel/ops/noise.hpp"

#include <cmath>
#include <numbers>
#include <vector>

#include "parallel.hpp"

namespace citadel::ops {
namespace {

constexpr int64_t kChunk = 16384;  // values per stream: fixed, so results do not depend on threads

void fill_chunk(float* values, int64_t count, float stddev, uint64_t seed) {
  Rng rng(seed);
  const float two_pi = 2.0f * std::numbers::pi_v<float>;
  int64_t i = 0;
  for (; i + 1 < count; i += 2) {
    // (0, 1] for the logarithm: 24 random bits, offset by one.
    const float u1 = (static_cast<float>(rng.next_u64() >> 40) + 1.0f) * 0x1p-24f;
    const float u2 = static_cast<float>(rng.next_u64() >> 40) * 0x1p-24f;
    const float radius = stddev * std::sqrt(-2.0f * std::log(u1));
    values[i] += radius * std::cos(two_pi * u2);
    values[i + 1] += radius * std::sin(two_pi * u2);
  }
  if (i < count) values[i] += stddev * static_cast<float>(rng.normal());
}

}  // namespace

void add_gaussian_noise(std::span<float> values, double stddev, Rng& rng) {
  const int64_t count = static_cast<int64_t>(values.size());
  const int64_t chunks = (count + kChunk - 1) / kChunk;
  std::vector<uint64_t> seeds(static_cast<size_t>(chunks));
  for (auto& seed : seeds) seed = rng.next_u64();
  detail::parallel_for(chunks, 2, [&](int64_t begin, int64_t end) {
    for (int64_t c = begin; c < end; ++c) {
      const int64_t first = c * kChunk;
      fill_chunk(values.data() + first, std::min(kChunk, count - first), static_cast<float>(stddev),
                 seeds[static_cast<size_t>(c)]);
    }
  });
}

}  // namespace citadel::ops
