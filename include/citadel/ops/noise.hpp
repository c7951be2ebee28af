// Gaussian noise for private training: the DP-SGD step adds σ·C-scaled noise to every
// trainable gradient, hundreds of thousands of draws per step. They are drawn in double
// precision from a cryptographic keystream by the ziggurat method (Marsaglia and Tsang
// 2000; 256 layers, 53-bit uniforms, the exact tail algorithm beyond r ≈ 3.65σ), so the
// tails are Gaussian far beyond any δ that matters, on several threads, each chunk from
// its own nonce, and added in float.
#pragma once

#include <cstdint>
#include <span>

#include "citadel/core/secure_random.hpp"

namespace citadel::ops {

// values[i] += stddev · N(0, 1), independently for every i. The same key gives the same
// noise whatever the thread count.
void add_gaussian_noise(std::span<float> values, double stddev, SecureRng& rng);

// One try of the ziggurat's tail algorithm (Marsaglia 1964) from two 64-bit random words:
// false when rejected (draw again); else z ≥ r, distributed as a normal beyond r. Exposed
// for the test of how far the tails reach.
bool gaussian_tail_step(uint64_t a, uint64_t b, double& z);

}  // namespace citadel::ops
