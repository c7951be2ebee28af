// Statistics computed the slow, obvious way, as the independent side of tests of the
// library's closed forms: binomial tails summed term by term, bounds and quantiles by bisection.
#pragma once

#include <cmath>
#include <cstdint>

namespace citadel::testkit {

// P[X ≥ k] for X ~ Binomial(n, p), summed term by term in long double.
inline long double binomial_upper_tail(int64_t k, int64_t n, long double p) {
  if (k <= 0) return 1.0L;
  if (p <= 0) return 0.0L;
  if (p >= 1) return 1.0L;
  long double total = 0;
  for (int64_t j = k; j <= n; ++j)
    total += std::exp(std::lgamma((long double)(n + 1)) - std::lgamma((long double)(j + 1)) -
                      std::lgamma((long double)(n - j + 1)) + j * std::log(p) + (n - j) * std::log1p(-p));
  return total;
}

// The one-sided Clopper–Pearson lower bound by bisection: the p at which P[X ≥ k] = α.
inline double clopper_pearson_lower_by_bisection(int64_t k, int64_t n, double alpha) {
  if (k == 0) return 0;
  long double low = 0, high = 1;
  for (int i = 0; i < 200; ++i) {
    const long double middle = (low + high) / 2;
    (binomial_upper_tail(k, n, middle) < alpha ? low : high) = middle;
  }
  return double((low + high) / 2);
}

// Φ⁻¹ by bisection on the standard normal CDF.
inline double normal_quantile_by_bisection(double p) {
  double low = -40, high = 40;
  for (int i = 0; i < 200; ++i) {
    const double middle = (low + high) / 2;
    (0.5 * std::erfc(-middle / std::sqrt(2.0)) < p ? low : high) = middle;
  }
  return (low + high) / 2;
}

}  // namespace citadel::testkit
