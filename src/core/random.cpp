// xoshiro256** (Blackman & Vigna, https://prng.di.unimi.it/) with splitmix64 seeding,
// plus the tensor helpers of citadel::random.
#include "citadel/core/random.hpp"

#include <cmath>
#include <cstring>
#include <numbers>

#include "citadel/core/error.hpp"
#include "unbiased_below.hpp"

namespace citadel {
namespace {

uint64_t splitmix64(uint64_t& state) {
  uint64_t z = (state += 0x9E3779B97F4A7C15ULL);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

uint64_t rotate_left(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

}  // namespace

Rng::Rng(uint64_t seed) : seed_(seed) {
  uint64_t mixer = seed;
  for (auto& word : state_) word = splitmix64(mixer);
}

uint64_t Rng::next_u64() {
  const uint64_t result = rotate_left(state_[1] * 5, 7) * 9;
  const uint64_t t = state_[1] << 17;
  state_[2] ^= state_[0];
  state_[3] ^= state_[1];
  state_[1] ^= state_[2];
  state_[0] ^= state_[3];
  state_[2] ^= t;
  state_[3] = rotate_left(state_[3], 45);
  return result;
}

float Rng::uniform() { return static_cast<float>(next_u64() >> 40) * 0x1.0p-24f; }

double Rng::uniform_double() { return static_cast<double>(next_u64() >> 11) * 0x1.0p-53; }

double Rng::normal() {
  if (has_spare_normal_) {
    has_spare_normal_ = false;
    return spare_normal_;
  }
  double u1 = 0.0;
  while (u1 == 0.0) u1 = uniform_double();  // log(0) would be -inf
  const double u2 = uniform_double();
  const double radius = std::sqrt(-2.0 * std::log(u1));
  const double angle = 2.0 * std::numbers::pi * u2;
  spare_normal_ = radius * std::sin(angle);
  has_spare_normal_ = true;
  return radius * std::cos(angle);
}

uint64_t Rng::below(uint64_t bound) {
  return detail::unbiased_below(bound, [this] { return next_u64(); });
}

Rng Rng::fork(uint64_t stream) const {
  uint64_t mixer = seed_ ^ (0xD1B54A32D192ED03ULL * (stream + 1));
  return Rng(splitmix64(mixer));
}

std::vector<uint64_t> Rng::to_words() const {
  uint64_t spare = 0;
  std::memcpy(&spare, &spare_normal_, sizeof spare);
  return {seed_, state_[0], state_[1], state_[2], state_[3], has_spare_normal_ ? 1u : 0u, spare};
}

Rng Rng::from_words(const std::vector<uint64_t>& words) {
  CITADEL_CHECK(words.size() == 7, ValueError, "Rng state needs 7 words, got ", words.size());
  Rng rng(words[0]);
  for (int i = 0; i < 4; ++i) rng.state_[i] = words[1 + i];
  rng.has_spare_normal_ = words[5] != 0;
  std::memcpy(&rng.spare_normal_, &words[6], sizeof rng.spare_normal_);
  return rng;
}

namespace random {

Rng& global() {
  static Rng generator(0);
  return generator;
}

void set_seed(uint64_t seed) { global() = Rng(seed); }

Tensor uniform(const Shape& shape, float low, float high) {
  CITADEL_CHECK(low < high, ValueError, "random::uniform needs low < high, got ", low, " and ", high);
  Tensor tensor(shape);
  for (int64_t i = 0; i < tensor.numel(); ++i) tensor[i] = low + (high - low) * global().uniform();
  return tensor;
}

Tensor normal(const Shape& shape, float mean, float stddev) {
  CITADEL_CHECK(stddev >= 0, ValueError, "random::normal needs stddev >= 0, got ", stddev);
  Tensor tensor(shape);
  for (int64_t i = 0; i < tensor.numel(); ++i)
    tensor[i] = static_cast<float>(mean + stddev * global().normal());
  return tensor;
}

Tensor randint(int64_t low, int64_t high, const Shape& shape) {
  CITADEL_CHECK(low < high, ValueError, "random::randint needs low < high, got ", low, " and ", high);
  Tensor tensor(shape);
  const auto span = static_cast<uint64_t>(high - low);
  for (int64_t i = 0; i < tensor.numel(); ++i)
    tensor[i] = static_cast<float>(low + static_cast<int64_t>(global().below(span)));
  return tensor;
}

}  // namespace random
}  // namespace citadel
