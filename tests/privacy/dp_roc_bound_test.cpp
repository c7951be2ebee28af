// The (ε, δ)-DP region of ROC curves against an independent computation: the largest TPR
// that satisfies both hypothesis-testing inequalities, found by bisection on TPR itself.
#include "citadel/privacy/dp_roc_bound.hpp"

#include <gtest/gtest.h>

#include <cmath>

#include "citadel/core/error.hpp"

namespace dp_roc_bound_test {

using namespace citadel;

namespace {

// The largest t in [0, 1] with t ≤ e^ε·f + δ and (1 − f) ≤ e^ε·(1 − t) + δ: both inequalities
// are monotone in t, so bisection on "does t satisfy both" finds it without the closed form.
double brute_force_bound(double f, double epsilon, double delta) {
  auto allowed = [&](double t) {
    return t <= std::exp(epsilon) * f + delta + 1e-15 && (1 - f) <= std::exp(epsilon) * (1 - t) + delta + 1e-15;
  };
  if (!allowed(0)) return 0;
  double low = 0, high = 1;
  if (allowed(1)) return 1;
  for (int i = 0; i < 200; ++i) {
    const double middle = 0.5 * (low + high);
    (allowed(middle) ? low : high) = middle;
  }
  return low;
}

}  // namespace

TEST(DpRocBound, MatchesTheLargestRateBothInequalitiesAllow) {
  for (double epsilon : {0.0, 0.1, 0.5, 1.0, 2.0, 4.0, 8.0})
    for (double delta : {0.0, 1e-5, 1e-3, 0.05})
      for (double f : {0.0, 1e-6, 1e-4, 0.001, 0.01, 0.05, 0.1, 0.2, 0.3, 0.5, 0.7, 0.9, 0.99, 1.0})
        EXPECT_NEAR(dp_true_positive_rate_bound(f, epsilon, delta), brute_force_bound(f, epsilon, delta), 1e-12)
            << "ε " << epsilon << " δ " << delta << " FPR " << f;
  // Hand-computed: ε = log 2, δ = 0.1 at FPR 0.2: min(2·0.2 + 0.1, 1 − ½·(1 − 0.1 − 0.2)) = min(0.5, 0.65).
  EXPECT_NEAR(dp_true_positive_rate_bound(0.2, std::log(2.0), 0.1), 0.5, 1e-15);
  // ε = 0, δ = 0: no test does better than chance.
  EXPECT_DOUBLE_EQ(dp_true_positive_rate_bound(0.3, 0, 0), 0.3);
  EXPECT_THROW(dp_true_positive_rate_bound(0.3, -1, 0), ValueError);
}

TEST(DpRocBound, TheCurveHasTheCornersAndReachesTheSmallestRate) {
  const double epsilon = 1.0, delta = 1e-5;
  const DpRocBound curve = dp_roc_bound(epsilon, delta, 1e-3, 4);
  ASSERT_EQ(curve.false_positive_rate.size(), curve.true_positive_rate.size());
  EXPECT_EQ(curve.false_positive_rate.front(), 0);
  EXPECT_DOUBLE_EQ(curve.true_positive_rate.front(), delta);
  EXPECT_EQ(curve.false_positive_rate.back(), 1);
  EXPECT_EQ(curve.true_positive_rate.back(), 1);
  EXPECT_DOUBLE_EQ(curve.false_positive_rate[1], 1e-3);  // the log-spaced points start there
  const double kink = (1 - delta) / (1 + std::exp(epsilon));
  bool has_kink = false;
  for (size_t i = 0; i < curve.false_positive_rate.size(); ++i) {
    if (i > 0) {
      EXPECT_LT(curve.false_positive_rate[i - 1], curve.false_positive_rate[i]);
    }
    has_kink = has_kink || curve.false_positive_rate[i] == kink;
    EXPECT_NEAR(curve.true_positive_rate[i], brute_force_bound(curve.false_positive_rate[i], epsilon, delta), 1e-12);
  }
  EXPECT_TRUE(has_kink);
}

TEST(DpRocBound, CountsTheMeasuredPointsAboveIt) {
  RocCurve roc;
  roc.false_positive_rate = {0, 0, 0.1, 0.5, 1};
  roc.true_positive_rate = {0, 0.01, 0.2, 0.9, 1};  // at ε = log 2, δ = 0: bounds 0, 0, 0.2, 0.75, 1
  EXPECT_EQ(roc_points_above_dp_bound(roc, std::log(2.0), 0), 2);  // (0, 0.01) and (0.5, 0.9)
  EXPECT_EQ(roc_points_above_dp_bound(roc, 10, 0), 1);  // at FPR 0 only δ is allowed, whatever ε
  EXPECT_EQ(roc_points_above_dp_bound(roc, 10, 0.02), 0);
}

}  // namespace dp_roc_bound_test
