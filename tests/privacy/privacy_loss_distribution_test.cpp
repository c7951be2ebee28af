// The lower ε of the subsampled Gaussian against computations that share none of its code:
// the closed form of the Gaussian mechanism's composition (q = 1), δ(ε) of one and two
// subsampled steps by numerical integration, and the RDP accountant's upper bound.
#include "citadel/privacy/privacy_loss_distribution.hpp"

#include <gtest/gtest.h>

#include <cmath>

#include "citadel/core/error.hpp"
#include "citadel/privacy/accountant.hpp"
#include "gaussian_mechanism.hpp"

namespace privacy_loss_distribution_test {

using namespace citadel;
using citadel::testing::gaussian_delta;
using citadel::testing::gaussian_epsilon;

namespace {

double density(double x, double mean, double sigma) {
  return std::exp(-0.5 * std::pow((x - mean) / sigma, 2)) / (sigma * std::sqrt(2 * M_PI));
}

// δ(ε) of `steps` (1 or 2) subsampled Gaussian steps, "remove" direction: ∫ (P − e^ε Q)₊ over
// R^steps by the midpoint rule (P, Q products of the one-step densities).
double integrated_delta(double q, double sigma, int steps, double epsilon) {
  const double low = -10 * sigma, high = 1 + 10 * sigma;
  const int cells = steps == 1 ? 400000 : 1500;
  const double width = (high - low) / cells;
  auto p = [&](double x) { return (1 - q) * density(x, 0, sigma) + q * density(x, 1, sigma); };
  auto qd = [&](double x) { return density(x, 0, sigma); };
  double total = 0;
  if (steps == 1) {
    for (int i = 0; i < cells; ++i) {
      const double x = low + (i + 0.5) * width;
      total += std::max(0.0, p(x) - std::exp(epsilon) * qd(x)) * width;
    }
    return total;
  }
  std::vector<double> ps(cells), qs(cells);
  for (int i = 0; i < cells; ++i) ps[i] = p(low + (i + 0.5) * width), qs[i] = qd(low + (i + 0.5) * width);
  for (int i = 0; i < cells; ++i)
    for (int j = 0; j < cells; ++j)
      total += std::max(0.0, ps[i] * ps[j] - std::exp(epsilon) * qs[i] * qs[j]) * width * width;
  return total;
}

}  // namespace

TEST(PrivacyLossDistribution, GaussianCompositionMatchesTheClosedForm) {
  for (auto [sigma, steps] : {std::pair{1.0, int64_t(1)}, {2.0, int64_t(10)}, {5.0, int64_t(100)}, {0.8, int64_t(3)}}) {
    const double exact = gaussian_epsilon(std::sqrt(double(steps)) / sigma, 1e-5);
    const double lower = subsampled_gaussian_epsilon_lower(1.0, sigma, steps, 1e-5);
    EXPECT_LE(lower, exact + 1e-9) << "sigma " << sigma << ", " << steps << " steps";
    EXPECT_GE(lower, exact - 0.05) << "sigma " << sigma << ", " << steps << " steps";
  }
}

TEST(PrivacyLossDistribution, SubsampledStepsMatchNumericalIntegration) {
  for (auto [q, sigma, steps, epsilon] : {std::tuple{0.1, 1.0, 1, 0.5}, {0.3, 0.8, 1, 1.0}, {0.2, 1.0, 2, 0.3},
                                         {0.05, 0.6, 2, 0.5}}) {
    const double integrated = integrated_delta(q, sigma, steps, epsilon);
    const double lower = subsampled_gaussian_delta_lower(q, sigma, steps, epsilon, {.grid_step = 1e-4});
    EXPECT_LE(lower, integrated * 1.001 + 1e-9) << q << " " << sigma << " " << steps;
    EXPECT_GE(lower, integrated * 0.97 - 1e-9) << q << " " << sigma << " " << steps;
  }
}

TEST(PrivacyLossDistribution, StaysBelowTheRdpAccountant) {
  // The accountant's ε is an upper bound on the same mechanism's; the loss distribution's
  // is a lower one, close to it (RDP's conversion loses 5-40 %).
  for (auto [q, sigma, steps] : {std::tuple{256.0 / 60000, 1.1, int64_t(2344)}, {0.01, 0.8, int64_t(1000)},
                                 {0.1, 2.0, int64_t(200)}}) {
    const double upper = dp_sgd_epsilon(q, sigma, steps, 1e-5).epsilon;
    const double lower = subsampled_gaussian_epsilon_lower(q, sigma, steps, 1e-5);
    EXPECT_LT(lower, upper) << q << " " << sigma << " " << steps;
    EXPECT_GT(lower, 0.6 * upper) << q << " " << sigma << " " << steps;
    std::printf("q %.4f sigma %.2f steps %lld: RDP %.3f, loss distribution (lower) %.3f\n", q, sigma,
                static_cast<long long>(steps), upper, lower);
  }
}

TEST(PrivacyLossDistribution, RejectsBadArguments) {
  EXPECT_THROW(subsampled_gaussian_epsilon_lower(0.0, 1.0, 10, 1e-5), ValueError);
  EXPECT_THROW(subsampled_gaussian_epsilon_lower(0.1, -1.0, 10, 1e-5), ValueError);
  EXPECT_THROW(subsampled_gaussian_epsilon_lower(0.1, 1.0, 0, 1e-5), ValueError);
  EXPECT_THROW(subsampled_gaussian_epsilon_lower(0.1, 1.0, 10, 0.0), ValueError);
}

}  // namespace privacy_loss_distribution_test
