// The (ε, δ) curve of composed Gaussian mechanisms in closed form: the reference both
// privacy-loss-distribution implementations are checked against (q = 1).
#pragma once

#include <cmath>

namespace citadel::testing {

inline double standard_normal_cdf(double x) { return 0.5 * std::erfc(-x / std::sqrt(2.0)); }

// δ(ε) of T Gaussian steps of sensitivity 1 and noise σ: one Gaussian of μ = √T/σ (Balle
// and Wang 2018, Theorem 8).
inline double gaussian_delta(double mu, double epsilon) {
  return standard_normal_cdf(-epsilon / mu + mu / 2) - std::exp(epsilon) * standard_normal_cdf(-epsilon / mu - mu / 2);
}

// The ε at which gaussian_delta falls to δ, by bisection (to the last bit).
inline double gaussian_epsilon(double mu, double delta) {
  double low = 0, high = 100;
  for (int i = 0; i < 200; ++i) {
    const double middle = 0.5 * (low + high);
    (gaussian_delta(mu, middle) > delta ? low : high) = middle;
  }
  return high;
}

}  // namespace citadel::testing
