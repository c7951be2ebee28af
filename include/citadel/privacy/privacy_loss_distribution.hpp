// The privacy of T Poisson-subsampled Gaussian steps from their privacy loss distribution
// (Meiser and Mohammadi 2018; Koskela, Jälkö and Honkela 2020): the loss of one step is
// discretized on a grid, the T-fold sum is one FFT raised to the T-th power, and δ(ε)
// follows from the sum's distribution. Unlike the RDP accountant, which bounds ε from
// above, this computes ε from below: every loss is rounded down, tails are dropped rather
// than kept, and what the FFT's wrap-around could add is bounded (Chernoff, on the
// discretized loss) and taken off. The self-audit compares a measured mechanism with it.
#pragma once

#include <cstdint>

namespace citadel {

struct LossDistributionOptions {
  // The grid step of the loss; 0: chosen so that rounding T losses down costs at most about
  // 0.02 in ε (0.04 / T), and at least what fits 2^23 grid points.
  double grid_step = 0;
};

// A lower bound on δ(ε) of `steps` Poisson-subsampled Gaussian steps (rate q, noise
// multiplier σ, sensitivity 1) for neighbouring data sets that differ by one row added or
// removed: the larger of the two directions.
double subsampled_gaussian_delta_lower(double sampling_rate, double noise_multiplier, int64_t steps, double epsilon,
                                       const LossDistributionOptions& options = {});

// A lower bound on the smallest ε for which those steps are (ε, δ)-DP (0 when δ(0) ≤ δ).
double subsampled_gaussian_epsilon_lower(double sampling_rate, double noise_multiplier, int64_t steps, double delta,
                                         const LossDistributionOptions& options = {});

}  // namespace citadel
