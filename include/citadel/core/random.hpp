// Seeded random streams. Rng is xoshiro256** seeded through splitmix64: fast, portable
// and the same on every platform, unlike the std:: distributions.
#pragma once

#include <cstdint>
#include <vector>

#include "citadel/core/tensor.hpp"

namespace citadel {

class Rng {
 public:
  explicit Rng(uint64_t seed = 0);

  uint64_t next_u64();
  // Uniform in [0, 1) with 24 random bits (exactly representable as float).
  float uniform();
  // Uniform in [0, 1) with 53 random bits.
  double uniform_double();
  // Standard normal (Box-Muller).
  double normal();
  // Uniform integer in [0, bound), without modulo bias.
  uint64_t below(uint64_t bound);
  // An independent stream derived from this one's seed and `stream`.
  Rng fork(uint64_t stream) const;
  uint64_t seed() const { return seed_; }
  // The whole state as 7 words (seed, the four state words, the spare normal), for
  // checkpoints; from_words restores it exactly.
  std::vector<uint64_t> to_words() const;
  static Rng from_words(const std::vector<uint64_t>& words);

 private:
  uint64_t seed_;
  uint64_t state_[4];
  bool has_spare_normal_ = false;
  double spare_normal_ = 0.0;
};

namespace random {

// Reseeds the global generator used by the helpers below and by models that are not
// given a seed of their own (as keras.utils.set_random_seed). The default seed is 0,
// so programs are reproducible unless they ask otherwise.
void set_seed(uint64_t seed);
// The global generator.
Rng& global();

// Tensors drawn from the global generator.
Tensor uniform(const Shape& shape, float low = 0.0f, float high = 1.0f);
Tensor normal(const Shape& shape, float mean = 0.0f, float stddev = 1.0f);
// Integers in [low, high), stored as floats (as labels are).
Tensor randint(int64_t low, int64_t high, const Shape& shape);

}  // namespace random
}  // namespace citadel
