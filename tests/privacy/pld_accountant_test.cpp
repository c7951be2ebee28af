// The PLD accountant (an upper bound on ε) against computations that share none of its
// code: the closed form of composed Gaussian mechanisms (q = 1), the audit's lower-bound
// loss distribution (privacy_loss_distribution.cpp: a different discretization, rounding
// every loss down), and the RDP accountant. The truth lies between the lower and the upper
// bound, so the two meeting within a few percent shows both are close to it.
#include "citadel/privacy/pld_accountant.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <tuple>

#include "citadel/core/error.hpp"
#include "citadel/privacy/accountant.hpp"
#include "citadel/privacy/privacy_loss_distribution.hpp"
#include "gaussian_mechanism.hpp"

namespace pld_accountant_test {

using namespace citadel;
using citadel::testing::gaussian_delta;
using citadel::testing::gaussian_epsilon;

TEST(PldAccountant, GaussianCompositionIsBoundedFromAboveByLittle) {
  for (auto [sigma, steps] : {std::pair{1.0, int64_t(1)}, {2.0, int64_t(10)}, {5.0, int64_t(100)}, {0.8, int64_t(3)}}) {
    const double exact = gaussian_epsilon(std::sqrt(double(steps)) / sigma, 1e-5);
    const double upper = dp_sgd_pld_epsilon(1.0, sigma, steps, 1e-5, 1e-3);
    EXPECT_GE(upper, exact - 1e-9) << "sigma " << sigma << ", " << steps << " steps";
    EXPECT_LE(upper, exact * 1.01 + 1e-3) << "sigma " << sigma << ", " << steps << " steps";
    // δ at the exact ε is at least the true δ: pessimistic at every ε, not only at the answer.
    const PrivacyLossDistribution one = PrivacyLossDistribution::poisson_gaussian(1.0, sigma, true, 1e-3, 1e-15);
    const PrivacyLossDistribution all = one.self_compose(steps, 1e-15);
    for (double epsilon : {0.1, 0.5, 1.0, 2.0})
      EXPECT_GE(all.delta_for_epsilon(epsilon), gaussian_delta(std::sqrt(double(steps)) / sigma, epsilon) - 1e-12)
          << "sigma " << sigma << ", " << steps << " steps, epsilon " << epsilon;
  }
}

TEST(PldAccountant, LiesJustAboveTheLowerBoundAndBelowTheRdpAccountant) {
  // TF Privacy's MNIST tutorial, a small-noise run, a large-noise one (where RDP over
  // Opacus's orders overstates ε most), and a few steps at a high rate.
  // (The table in docs/SECURITY.md also has σ 4 over 14,062 steps: bench-sized, 0.433 / 0.454 /
  // 0.498.)
  for (auto [q, sigma, steps] : {std::tuple{256.0 / 60000, 1.1, int64_t(2344)}, {0.01, 0.8, int64_t(1000)},
                                 {0.1, 2.0, int64_t(200)}, {0.3, 1.0, int64_t(5)}}) {
    const double lower = subsampled_gaussian_epsilon_lower(q, sigma, steps, 1e-5);
    const double upper = dp_sgd_pld_epsilon(q, sigma, steps, 1e-5, 1e-4);
    const double rdp = dp_sgd_rdp_epsilon(q, sigma, steps, 1e-5).epsilon;
    const double opacus = dp_sgd_rdp_epsilon(q, sigma, steps, 1e-5, opacus_rdp_orders()).epsilon;
    EXPECT_LE(lower, upper) << q << " " << sigma << " " << steps;
    EXPECT_LE(upper, lower * 1.03 + 0.01) << q << " " << sigma << " " << steps;
    EXPECT_LT(upper, rdp) << q << " " << sigma << " " << steps;
    EXPECT_LE(rdp, opacus + 1e-12) << "more orders can only lower the RDP accountant's ε";
    std::printf("q %.4f sigma %.2f steps %lld: lower %.4f, PLD %.4f, RDP %.4f, RDP (Opacus's orders) %.4f\n", q,
                sigma, static_cast<long long>(steps), lower, upper, rdp, opacus);
  }
}

TEST(PldAccountant, TheReportedEpsilonIsTheTighterSoundOne) {
  const double q = 0.01, sigma = 2.0;
  const int64_t steps = 1000;
  const PrivacySpent spent = dp_sgd_epsilon(q, sigma, steps, 1e-5);
  EXPECT_EQ(spent.epsilon, std::min(spent.rdp_epsilon, spent.pld_epsilon));
  EXPECT_STREQ(spent.accountant, "PLD");
  EXPECT_EQ(dp_sgd_epsilon(q, sigma, steps, 1e-5, Accountant::kRdp).epsilon, spent.rdp_epsilon);
  EXPECT_GE(spent.epsilon, subsampled_gaussian_epsilon_lower(q, sigma, steps, 1e-5));
  // The noise for a target: enough by the tighter accountant, and less than RDP asks for.
  const double target = 1.0;
  const double rdp_sigma = dp_sgd_noise_multiplier(q, steps, 1e-5, target, Accountant::kRdp);
  const double sigma_needed = dp_sgd_noise_multiplier(q, steps, 1e-5, target);
  EXPECT_LT(sigma_needed, rdp_sigma);
  EXPECT_LE(dp_sgd_epsilon(q, sigma_needed, steps, 1e-5).epsilon, target);
  EXPECT_GE(subsampled_gaussian_epsilon_lower(q, sigma_needed * 0.99, steps, 1e-5), target * 0.97)
      << "the noise found is not much more than any sound accountant needs";
}

TEST(PldAccountant, EpochByEpochEqualsComposingFromScratch) {
  const double q = 0.01, sigma = 1.0;
  const int64_t per_epoch = 100;
  const std::vector<PrivacySpent> epochs = dp_sgd_epsilon_by_epoch(q, sigma, per_epoch, 5, 1e-5);
  ASSERT_EQ(epochs.size(), 5u);
  for (size_t e = 0; e < epochs.size(); ++e) {
    const PrivacySpent whole = dp_sgd_epsilon(q, sigma, per_epoch * int64_t(e + 1), 1e-5);
    EXPECT_NEAR(epochs[e].epsilon, whole.epsilon, 1e-3 * whole.epsilon) << "epoch " << e + 1;
    if (e > 0) {
      EXPECT_GT(epochs[e].epsilon, epochs[e - 1].epsilon);
    }
  }
}

TEST(PldAccountant, RejectsBadArgumentsAndAnswersTheEdges) {
  EXPECT_THROW(dp_sgd_pld_epsilon(1.5, 1.0, 10, 1e-5), ValueError);
  EXPECT_THROW(dp_sgd_pld_epsilon(0.1, 1.0, -1, 1e-5), ValueError);
  EXPECT_THROW(dp_sgd_pld_epsilon(0.1, 1.0, 10, 0.0), ValueError);
  EXPECT_THROW(PrivacyLossDistribution::poisson_gaussian(0.1, -1.0, true, 1e-4, 1e-12), ValueError);
  EXPECT_THROW(PrivacyLossDistribution::poisson_gaussian(0.1, 1.0, true, 0.0, 1e-12), ValueError);
  // A grid far too fine for the loss's range is refused, not allocated.
  EXPECT_THROW(PrivacyLossDistribution::poisson_gaussian(0.5, 0.05, true, 1e-9, 1e-12), ValueError);
  EXPECT_EQ(dp_sgd_pld_epsilon(0.1, 1.0, 0, 1e-5), 0.0);
  EXPECT_TRUE(std::isinf(dp_sgd_pld_epsilon(0.1, 0.0, 10, 1e-5)));
  // Where the PLD's grid would be too large, the RDP accountant still answers.
  const PrivacySpent tiny_noise = dp_sgd_epsilon(0.5, 0.05, 10, 1e-5);
  EXPECT_TRUE(std::isfinite(tiny_noise.epsilon));
  EXPECT_STREQ(tiny_noise.accountant, "RDP");
}

TEST(PldAccountant, RdpOrdersPast63TightenSmallEpsilons) {
  // At small ε the best Rényi order is in the hundreds or thousands: Opacus's orders (up to
  // 63) overstate ε there many times; both figures stay above the lower bound.
  for (auto [q, sigma, steps] : {std::tuple{0.001, 10.0, int64_t(100)}, {0.004, 4.0, int64_t(100)}}) {
    const PrivacySpent rdp = dp_sgd_rdp_epsilon(q, sigma, steps, 1e-5);
    const double opacus = dp_sgd_rdp_epsilon(q, sigma, steps, 1e-5, opacus_rdp_orders()).epsilon;
    const double lower = subsampled_gaussian_epsilon_lower(q, sigma, steps, 1e-5, {.grid_step = 1e-5});
    EXPECT_GT(rdp.order, 63);
    EXPECT_LT(rdp.epsilon, 0.5 * opacus) << q << " " << sigma;
    EXPECT_LE(lower, rdp.epsilon) << q << " " << sigma;
    EXPECT_LE(lower, dp_sgd_pld_epsilon(q, sigma, steps, 1e-5, 1e-5)) << q << " " << sigma;
  }
}

}  // namespace pld_accountant_test
