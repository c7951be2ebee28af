// Signed feature hashing of a query; the hash of each position is recomputed per query
// (a few nanoseconds each) rather than stored, which would cost as much as one query.
#include "citadel/serving/query_sketch.hpp"

#include <algorithm>

#include "citadel/core/error.hpp"

namespace citadel::serving {

namespace {

// splitmix64's finaliser: every input bit moves about half of the output bits.
uint64_t mix(uint64_t z) {
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

}  // namespace

QuerySketch::QuerySketch(int64_t slots, uint64_t seed) : slots_(slots), seed_(seed) {
  CITADEL_CHECK(slots >= 1, ValueError, "query sketch: ", slots, " slots");
}

void QuerySketch::apply(std::span<const float> query, std::span<float> out) const {
  CITADEL_CHECK(static_cast<int64_t>(out.size()) == slots_, ValueError, "query sketch: ", out.size(),
                " numbers for ", slots_, " slots");
  std::fill(out.begin(), out.end(), 0.0f);
  const auto slots = static_cast<uint64_t>(slots_);
  for (size_t i = 0; i < query.size(); ++i) {
    const uint64_t h = mix(seed_ + 0x9e3779b97f4a7c15ULL * (i + 1));
    const float value = (h >> 63) != 0 ? -query[i] : query[i];
    out[(h & 0x7fffffffffffffffULL) % slots] += value;
  }
}

}  // namespace citadel::serving
