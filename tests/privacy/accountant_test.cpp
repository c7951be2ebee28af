// The RDP accountant against values computed independently of its code: the closed form
// of the unsampled Gaussian mechanism, numerical integration of the Rényi divergence of
// the sampled Gaussian mixture, and TensorFlow Privacy's published MNIST tutorial figure.
#include "citadel/privacy/accountant.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

#include "citadel/core/error.hpp"

namespace accountant_test {

using namespace citadel;

namespace {

// A_α = E_{z~N(0,σ²)}[((1 − q) + q·exp((2z − 1)/(2σ²)))^α], the Rényi moment of the mixture
// (1 − q)N(0, σ²) + qN(1, σ²) against N(0, σ²) (Mironov, Talwar, Zhang 2019, eq. for A_α),
// by the trapezoid rule over ±40σ; RDP = log A_α / (α − 1).
double rdp_by_integration(double q, double sigma, double alpha) {
  const double step = sigma / 2000.0, limit = 40 * sigma;
  double total = 0;
  for (double z = -limit; z <= limit; z += step) {
    const double density = std::exp(-z * z / (2 * sigma * sigma)) / (sigma * std::sqrt(2 * M_PI));
    const double ratio = (1 - q) + q * std::exp((2 * z - 1) / (2 * sigma * sigma));
    total += density * std::pow(ratio, alpha) * step;
  }
  return std::log(total) / (alpha - 1);
}

}  // namespace

TEST(RdpAccountant, UnsampledGaussianHasTheClosedForm) {
  // q = 1: the Gaussian mechanism, RDP α/(2σ²) (Mironov 2017, Proposition 7).
  for (double alpha : {1.5, 2.0, 8.0, 32.0})
    EXPECT_DOUBLE_EQ(sampled_gaussian_rdp(1.0, 2.0, alpha), alpha / 8.0);
  EXPECT_EQ(sampled_gaussian_rdp(0.0, 1.0, 4.0), 0.0);
}

TEST(RdpAccountant, MatchesNumericalIntegrationAtIntegerAndFractionalOrders) {
  for (double q : {0.01, 0.1, 0.5})
    for (double sigma : {0.8, 1.1, 2.0})
      for (double alpha : {1.5, 2.0, 3.0, 4.5, 10.0}) {
        const double expected = rdp_by_integration(q, sigma, alpha);
        EXPECT_NEAR(sampled_gaussian_rdp(q, sigma, alpha), expected, 1e-6 + 1e-4 * expected)
            << "q " << q << " sigma " << sigma << " alpha " << alpha;
      }
}

TEST(RdpAccountant, ReproducesTensorFlowPrivacysMnistTutorial) {
  // TensorFlow Privacy's MNIST DP-SGD tutorial (tutorials/README.md): 60,000 examples,
  // batch 256, noise multiplier 1.1, 60 epochs, δ = 1e-5 gives ε = 3.01 with the RDP
  // conversion it used then, ε = min_α (RDP_α − log δ / (α − 1)) (Mironov 2017, Prop. 3).
  const double q = 256.0 / 60000;
  const int64_t steps = 60 * 60000 / 256;
  double classic = 1e9;
  for (double alpha : default_rdp_orders())
    classic = std::min(classic, steps * sampled_gaussian_rdp(q, 1.1, alpha) - std::log(1e-5) / (alpha - 1));
  EXPECT_NEAR(classic, 3.01, 0.01);
  // The tighter conversion of Balle et al. 2020 (used by Opacus and current TF Privacy) is
  // lower, and never above the classic one.
  const PrivacySpent spent = dp_sgd_epsilon(q, 1.1, steps, 1e-5);
  EXPECT_LT(spent.epsilon, classic);
  EXPECT_GT(spent.epsilon, 2.0);
}

TEST(RdpAccountant, EpsilonGrowsWithStepsAndFallsWithNoise) {
  const double q = 0.01;
  EXPECT_LT(dp_sgd_epsilon(q, 1.0, 100, 1e-5).epsilon, dp_sgd_epsilon(q, 1.0, 1000, 1e-5).epsilon);
  EXPECT_GT(dp_sgd_epsilon(q, 0.8, 1000, 1e-5).epsilon, dp_sgd_epsilon(q, 1.5, 1000, 1e-5).epsilon);
  EXPECT_EQ(dp_sgd_epsilon(q, 1.0, 0, 1e-5).epsilon, 0.0);
}

TEST(RdpAccountant, FindsTheNoiseForABudget) {
  const double q = 256.0 / 60000;
  const int64_t steps = 15 * 234;
  const double sigma = dp_sgd_noise_multiplier(q, steps, 1e-5, 3.0);
  EXPECT_LE(dp_sgd_epsilon(q, sigma, steps, 1e-5).epsilon, 3.0);
  EXPECT_GT(dp_sgd_epsilon(q, sigma * 0.99, steps, 1e-5).epsilon, 3.0);  // and not much more noise than needed
  EXPECT_THROW(dp_sgd_noise_multiplier(1.0, 1000000, 1e-5, 0.001), ValueError);
  EXPECT_THROW(dp_sgd_epsilon(q, 1.0, 10, 0.0), ValueError);
}

// One StepRdp asked for many step counts in turn (its remembered integer orders past 256
// included: large noise puts the best order there) gives what a fresh computation gives.
TEST(RdpAccountant, OneStepRdpReusedAcrossStepCountsMatchesFreshComputations) {
  for (const auto& [q, sigma] : {std::pair{0.01, 1.1}, std::pair{0.004, 20.0}, std::pair{0.3, 0.7}}) {
    const StepRdp reused(q, sigma);
    bool refined = false;
    for (int64_t steps : {1, 10, 100, 1000, 250, 10000, 3}) {
      const PrivacySpent once = reused.spent(steps, 1e-5);
      const PrivacySpent fresh = dp_sgd_rdp_epsilon(q, sigma, steps, 1e-5);
      EXPECT_EQ(once.epsilon, fresh.epsilon) << q << " " << sigma << " " << steps;
      EXPECT_EQ(once.order, fresh.order);
      refined |= once.order > 256 && std::find(default_rdp_orders().begin(), default_rdp_orders().end(),
                                               once.order) == default_rdp_orders().end();
    }
    if (sigma == 20.0) {
      EXPECT_TRUE(refined) << "the large-noise case should search between the default orders";
    }
  }
  EXPECT_EQ(StepRdp(0.01, 1.0).spent(0, 1e-5).epsilon, 0.0);
  EXPECT_THROW(StepRdp(0.01, 1.0).spent(10, 0.0), ValueError);
}

}  // namespace accountant_test
