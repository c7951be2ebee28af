// Gaussian noise for private training: the DP-SGD step adds σ·C-scaled noise to every
// trainable gradient, hundreds of thousands of draws per step. They are drawn in double
// precision (Marsaglia's polar method over 53-bit uniforms, so the tails are Gaussian far
// beyond any δ that matters) from a cryptographic keystream, on several threads, each
// chunk from its own nonce, and added in float.
#pragma once

#include <cstdint>
#include <span>

#include "citadel/core/secure_random.hpp"

namespace citadel::ops {

// values[i] += stddev · N(0, 1), independently for every i. The same key gives the same
// noise whatever the thread count.
void add_gaussian_noise(std::span<float> values, double stddev, SecureRng& rng);

// One step of the polar method on two 64-bit random words: false when the point falls
// outside the unit disc (draw again); else two independent N(0, 1) values. Exposed for the
// test of how far its tails reach.
bool polar_gaussian_pair(uint64_t a, uint64_t b, double& z0, double& z1);

}  // namespace citadel::ops
