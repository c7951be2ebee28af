// Gaussian noise for private training: the DP-SGD step adds σ·C-scaled noise to every
// trainable gradient, hundreds of thousands of draws per step, so it is drawn in float
// pairs (Box-Muller) on several threads, each chunk from its own stream seeded by `rng`.
#pragma once

#include <span>

#include "citadel/core/random.hpp"

namespace citadel::ops {

// values[i] += stddev · N(0, 1), independently for every i.
void add_gaussian_noise(std::span<float> values, double stddev, Rng& rng);

}  // namespace citadel::ops
