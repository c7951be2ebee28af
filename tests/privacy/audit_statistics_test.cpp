// The statistics behind the DP self-audit and LiRA's ε: Clopper–Pearson against a binomial
// tail summed by hand, the threshold and one-run bounds against hand-computed cases, and
// the confidence they claim checked by repetition (a bound that exceeds the true ε more
// often than 1 − confidence allows fails).
#include "citadel/privacy/audit_statistics.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "citadel/core/error.hpp"
#include "citadel/core/random.hpp"

namespace audit_statistics_test {

using namespace citadel;

namespace {

// P[Binomial(n, p) >= k] by direct summation in long double.
long double binomial_upper_tail(int n, int k, long double p) {
  long double total = 0;
  for (int j = k; j <= n; ++j)
    total += std::exp(std::lgamma((long double)n + 1) - std::lgamma((long double)j + 1) -
                      std::lgamma((long double)(n - j) + 1) + j * std::log(p) + (n - j) * std::log1p(-p));
  return total;
}

// The p with P[Binomial(n, p) >= k] = alpha (the one-sided lower Clopper–Pearson bound), by bisection.
double brute_force_lower(int k, int n, double alpha) {
  double low = 0, high = 1;
  for (int i = 0; i < 100; ++i) {
    const double middle = 0.5 * (low + high);
    (binomial_upper_tail(n, k, middle) < alpha ? low : high) = middle;
  }
  return 0.5 * (low + high);
}

}  // namespace

TEST(AuditStatistics, ClopperPearsonMatchesTheBinomialTail) {
  for (auto [k, n] : {std::pair{1, 10}, {5, 10}, {9, 10}, {37, 200}, {199, 200}})
    for (double alpha : {0.05, 0.0125}) {
      EXPECT_NEAR(clopper_pearson_lower(k, n, alpha), brute_force_lower(k, n, alpha), 1e-9) << k << "/" << n;
      // The upper bound is the lower bound of the failures, mirrored.
      EXPECT_NEAR(clopper_pearson_upper(k, n, alpha), 1.0 - brute_force_lower(n - k, n, alpha), 1e-9) << k << "/" << n;
    }
  EXPECT_EQ(clopper_pearson_lower(0, 10, 0.05), 0.0);
  EXPECT_EQ(clopper_pearson_upper(10, 10, 0.05), 1.0);
  // No successes in n: the upper bound solves (1 − p)^n = alpha.
  EXPECT_NEAR(clopper_pearson_upper(0, 100, 0.025), 1.0 - std::pow(0.025, 0.01), 1e-12);
  EXPECT_THROW(clopper_pearson_lower(11, 10, 0.05), ValueError);
}

TEST(AuditStatistics, SeparatedScoresGiveTheBoundOfTheirCounts) {
  // 200 in scores all above 200 out scores: whatever the split, the judged half holds 100 of
  // each, all right: TPR ≥ 0.025^(1/100), FPR ≤ 1 − 0.025^(1/100) (each side at α/2).
  std::vector<double> in, out;
  for (int i = 0; i < 200; ++i) in.push_back(10 + i), out.push_back(-10 - i);
  const EpsilonLowerBound bound = threshold_epsilon_lower_bound(in, out, 0.0, 0.95);
  const double rate = std::pow(0.025, 0.01);
  EXPECT_NEAR(bound.epsilon, std::log(rate / (1 - rate)), 1e-9);
  EXPECT_EQ(bound.true_positives, 100);
  EXPECT_EQ(bound.false_positives, 0);
  // δ comes off the true-positive rate.
  const EpsilonLowerBound with_delta = threshold_epsilon_lower_bound(in, out, 0.1, 0.95);
  EXPECT_NEAR(with_delta.epsilon, std::log((rate - 0.1) / (1 - rate)), 1e-9);
  // Half the out canaries far below everything, the other half among the in ones: only
  // "out" guesses (score below a threshold) are sure, and they are chosen: TNR about ½ with
  // no false negatives among 100 gives about log(0.4 / 0.036).
  std::vector<double> mixed_out;
  for (int i = 0; i < 200; ++i) mixed_out.push_back(i % 2 ? -1000.0 - i : 10.5 + i);
  const EpsilonLowerBound out_guesses = threshold_epsilon_lower_bound(in, mixed_out, 0.0, 0.95);
  EXPECT_TRUE(out_guesses.guessing_out);
  EXPECT_GT(out_guesses.epsilon, 1.8);
  EXPECT_LT(out_guesses.epsilon, 3.0);
  // Higher means "in": the same scores reversed prove nothing.
  EXPECT_EQ(threshold_epsilon_lower_bound(out, in, 0.0, 0.95).epsilon, 0.0);
}

TEST(AuditStatistics, TheThresholdBoundKeepsItsConfidence) {
  // Scores of a mechanism that is exactly ε0-DP (randomized response: the score tells the
  // truth with probability e^ε0 / (1 + e^ε0)), plus continuous jitter so that thresholds can
  // be chosen anywhere: the bound may exceed ε0 in at most 5 % of audits.
  const double epsilon0 = 1.0, truth = std::exp(epsilon0) / (1 + std::exp(epsilon0));
  Rng rng(5);
  int exceeded = 0, informative = 0;
  const int audits = 200;
  for (int audit = 0; audit < audits; ++audit) {
    std::vector<double> in, out;
    for (int i = 0; i < 300; ++i) {
      in.push_back((rng.uniform_double() < truth ? 1.0 : 0.0) + 1e-3 * rng.uniform_double());
      out.push_back((rng.uniform_double() < truth ? 0.0 : 1.0) + 1e-3 * rng.uniform_double());
    }
    const double bound = threshold_epsilon_lower_bound(in, out, 0.0, 0.95, audit + 1).epsilon;
    exceeded += bound > epsilon0;
    informative += bound > 0.3;
  }
  EXPECT_LE(exceeded, audits * 5 / 100 + 4);  // 5 % plus binomial slack (sd ≈ 3)
  EXPECT_GT(informative, audits / 2);         // and it is not vacuous
}

TEST(AuditStatistics, OneRunPValueByHand) {
  // No δ: P[Binomial(r, p) ≥ v], p = e^ε/(1 + e^ε). Four guesses, all right, ε = 1: p⁴.
  const double p = std::exp(1.0) / (1 + std::exp(1.0));
  EXPECT_NEAR(one_run_p_value(10, 4, 4, 1.0, 0.0), std::pow(p, 4), 1e-12);
  // ε = 0 is a fair coin: 3 or more right of 4 is 5/16.
  EXPECT_NEAR(one_run_p_value(10, 4, 3, 0.0, 0.0), 5.0 / 16.0, 1e-12);
  // The δ term: v = 1 of r = 1 at ε = 0: β = ½ plus 2mδ·P[Bin = 0] = 2·10·δ·½.
  EXPECT_NEAR(one_run_p_value(10, 1, 1, 0.0, 1e-3), 0.5 + 10 * 1e-3, 1e-12);
}

TEST(AuditStatistics, OneRunBoundKeepsItsConfidenceAndGrowsWithCanaries) {
  const double epsilon0 = 2.0, truth = std::exp(epsilon0) / (1 + std::exp(epsilon0));
  Rng rng(11);
  int exceeded = 0;
  double largest = 0;
  for (int audit = 0; audit < 60; ++audit) {
    std::vector<double> scores;
    std::vector<uint8_t> included;
    for (int i = 0; i < 1000; ++i) {
      const bool in = rng.uniform_double() < 0.5;
      const bool told = rng.uniform_double() < truth ? in : !in;
      included.push_back(in);
      scores.push_back((told ? 1.0 : 0.0) + rng.uniform_double() * 1e-3);
    }
    const double bound = one_run_epsilon_lower_bound(scores, included, 0.0, 0.95).epsilon;
    exceeded += bound > epsilon0;
    largest = std::max(largest, bound);
  }
  EXPECT_LE(exceeded, 3 + 4);  // 5 % of 60, plus binomial slack
  EXPECT_GT(largest, 1.0);     // 1,000 canaries of a 2-DP mechanism prove more than 1
}

}  // namespace audit_statistics_test
