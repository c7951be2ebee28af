// RDP accountant of the sampled Gaussian mechanism, in log space throughout so that
// large orders and tiny sampling rates neither overflow nor underflow.
#include "citadel/privacy/accountant.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

#include "citadel/core/error.hpp"

namespace citadel {
namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

double log_add(double a, double b) {
  if (a == -kInf) return b;
  if (b == -kInf) return a;
  const double high = std::max(a, b);
  return high + std::log1p(std::exp(std::min(a, b) - high));
}

// log(exp(a) − exp(b)) for a >= b.
double log_sub(double a, double b) {
  if (b == -kInf) return a;
  if (a <= b) return -kInf;  // rounding: the difference vanished
  return a + std::log1p(-std::exp(b - a));
}

// log(erfc(x)), accurate where erfc underflows (asymptotic series for large x).
double log_erfc(double x) {
  if (x < 20) return std::log(std::erfc(x));
  const double r = 1.0 / (x * x);
  return -x * x - std::log(x) - 0.5 * std::log(M_PI) + std::log1p(-0.5 * r + 0.75 * r * r - 1.875 * r * r * r);
}

// log A_α for integer α: Σ_k C(α, k) (1 − q)^(α−k) q^k exp((k² − k) / (2σ²)).
double log_a_integer(double q, double sigma, int64_t alpha) {
  double total = -kInf;
  for (int64_t k = 0; k <= alpha; ++k) {
    const double log_binomial = std::lgamma(double(alpha) + 1) - std::lgamma(double(k) + 1) -
                                std::lgamma(double(alpha - k) + 1);
    const double term = log_binomial + double(k) * std::log(q) + double(alpha - k) * std::log1p(-q) +
                        double(k * k - k) / (2 * sigma * sigma);
    total = log_add(total, term);
  }
  return total;
}

// log A_α for fractional α: the two series of Mironov, Talwar and Zhang (2019), §3.3,
// split at z0 = σ² log(1/q − 1) + 1/2, summed until their terms are negligible.
double log_a_fractional(double q, double sigma, double alpha) {
  double log_a0 = -kInf, log_a1 = -kInf;
  const double z0 = sigma * sigma * std::log(1 / q - 1) + 0.5;
  double coefficient = 1.0;  // the generalized binomial C(α, i), carried as a product
  for (int64_t i = 0;; ++i) {
    if (i > 0) coefficient *= (alpha - double(i) + 1) / double(i);
    const double log_coefficient = std::log(std::fabs(coefficient));
    const double j = alpha - double(i);
    const double log_t0 = log_coefficient + double(i) * std::log(q) + j * std::log1p(-q);
    const double log_t1 = log_coefficient + j * std::log(q) + double(i) * std::log1p(-q);
    const double log_e0 = std::log(0.5) + log_erfc((double(i) - z0) / (std::sqrt(2.0) * sigma));
    const double log_e1 = std::log(0.5) + log_erfc((z0 - j) / (std::sqrt(2.0) * sigma));
    const double log_s0 = log_t0 + (double(i) * double(i) - double(i)) / (2 * sigma * sigma) + log_e0;
    const double log_s1 = log_t1 + (j * j - j) / (2 * sigma * sigma) + log_e1;
    if (coefficient > 0) {
      log_a0 = log_add(log_a0, log_s0);
      log_a1 = log_add(log_a1, log_s1);
    } else {
      log_a0 = log_sub(log_a0, log_s0);
      log_a1 = log_sub(log_a1, log_s1);
    }
    if (std::max(log_s0, log_s1) < -30 || i > 100000) break;
  }
  return log_add(log_a0, log_a1);
}

}  // namespace

const std::vector<double>& default_rdp_orders() {
  static const std::vector<double> orders = [] {
    std::vector<double> values;
    for (int x = 1; x < 100; ++x) values.push_back(1 + x / 10.0);
    for (int x = 12; x < 64; ++x) values.push_back(x);
    return values;
  }();
  return orders;
}

double sampled_gaussian_rdp(double q, double noise_multiplier, double order) {
  CITADEL_CHECK(q >= 0 && q <= 1, ValueError, "privacy accountant: the sampling rate must lie in [0, 1], got ", q);
  CITADEL_CHECK(order > 1, ValueError, "privacy accountant: RDP orders must be > 1, got ", order);
  CITADEL_CHECK(noise_multiplier >= 0, ValueError, "privacy accountant: the noise multiplier must be >= 0, got ",
                noise_multiplier);
  if (q == 0) return 0;
  if (noise_multiplier == 0) return kInf;
  if (q == 1) return order / (2 * noise_multiplier * noise_multiplier);  // the plain Gaussian mechanism
  const double log_a = std::floor(order) == order ? log_a_integer(q, noise_multiplier, static_cast<int64_t>(order))
                                                  : log_a_fractional(q, noise_multiplier, order);
  return log_a / (order - 1);
}

PrivacySpent dp_sgd_epsilon(double q, double noise_multiplier, int64_t steps, double delta,
                            const std::vector<double>& orders) {
  CITADEL_CHECK(delta > 0 && delta < 1, ValueError, "privacy accountant: delta must lie in (0, 1), got ", delta);
  CITADEL_CHECK(steps >= 0, ValueError, "privacy accountant: steps must be >= 0, got ", steps);
  if (steps == 0) return {0, 0};  // nothing released yet
  PrivacySpent best{kInf, 0};
  for (double order : orders) {
    const double rdp = double(steps) * sampled_gaussian_rdp(q, noise_multiplier, order);
    // Balle et al. 2020, Theorem 21.
    const double epsilon =
        rdp + std::log1p(-1 / order) - (std::log(delta) + std::log(order)) / (order - 1);
    if (epsilon < best.epsilon) best = {std::max(0.0, epsilon), order};
  }
  return best;
}

double dp_sgd_noise_multiplier(double q, int64_t steps, double delta, double target_epsilon,
                               const std::vector<double>& orders) {
  CITADEL_CHECK(target_epsilon > 0, ValueError, "privacy accountant: the target epsilon must be positive, got ",
                target_epsilon);
  double low = 0.0, high = 1000.0;
  CITADEL_CHECK(dp_sgd_epsilon(q, high, steps, delta, orders).epsilon <= target_epsilon, ValueError,
                "privacy accountant: no noise multiplier up to 1000 reaches epsilon ", target_epsilon,
                " in ", steps, " steps at sampling rate ", q, "; train fewer steps or sample less");
  while (high - low > 1e-3 * high) {  // ε falls as σ grows
    const double middle = (low + high) / 2;
    (dp_sgd_epsilon(q, middle, steps, delta, orders).epsilon <= target_epsilon ? high : low) = middle;
  }
  return high;
}

}  // namespace citadel
