// Shapiro–Wilk W against what is known about it independently of this implementation: the
// exact n = 3 case, the percentage points Shapiro and Wilk (1965) tabulated for normal
// samples (reproduced here by simulation), invariance, and samples far from normal.
#include "citadel/metrics/normality.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>

#include "citadel/core/error.hpp"

namespace normality_test {

using namespace citadel;

TEST(NormalQuantile, InvertsTheNormalDistributionFunction) {
  for (double p : {1e-300, 1e-12, 1e-4, 0.01, 0.02425, 0.1, 0.3, 0.5, 0.7, 0.975, 0.99, 1 - 1e-9}) {
    const double x = normal_quantile(p);
    const double back = 0.5 * std::erfc(-x / std::sqrt(2.0));  // Φ(x), computed independently
    EXPECT_NEAR(back, p, 1e-13 * std::max(p, 1e-3)) << p;
  }
  EXPECT_NEAR(normal_quantile(0.975), 1.959963984540054, 1e-13);
  EXPECT_EQ(normal_quantile(0.5), 0.0);
  EXPECT_THROW(normal_quantile(0), ValueError);
  EXPECT_THROW(normal_quantile(1), ValueError);
}

TEST(ShapiroWilk, ThreeValuesHaveTheExactCoefficients) {
  const std::vector<double> x{4, 1, 2};
  const double mean = 7.0 / 3, spread = (1 - mean) * (1 - mean) + (2 - mean) * (2 - mean) + (4 - mean) * (4 - mean);
  EXPECT_NEAR(shapiro_wilk_w(x), (4 - 1) * (4 - 1) / 2.0 / spread, 1e-12);
}

TEST(ShapiroWilk, ItIsUnchangedByScaleAndShift) {
  std::mt19937_64 rng(1);
  std::normal_distribution<double> normal;
  std::vector<double> x(200), y(200);
  for (size_t i = 0; i < x.size(); ++i) x[i] = normal(rng), y[i] = 1e3 - 7.5 * x[i];
  EXPECT_NEAR(shapiro_wilk_w(x), shapiro_wilk_w(y), 1e-12);
}

// Normal samples of 20: the 1 % and 5 % points of W in Shapiro and Wilk's table (0.868 and
// 0.905), from 20,000 simulated samples.
TEST(ShapiroWilk, NormalSamplesMatchThePublishedPercentagePoints) {
  std::mt19937_64 rng(7);
  std::normal_distribution<double> normal;
  std::vector<double> w;
  for (int s = 0; s < 20'000; ++s) {
    std::vector<double> sample(20);
    for (double& v : sample) v = normal(rng);
    w.push_back(shapiro_wilk_w(sample));
  }
  std::sort(w.begin(), w.end());
  EXPECT_NEAR(w[200], 0.868, 0.004);
  EXPECT_NEAR(w[1000], 0.905, 0.003);
}

// For normal samples the p-value is uniform: about 1 %, 5 % and 50 % of them fall below
// those levels, for small and large n alike.
TEST(ShapiroWilk, PValuesOfNormalSamplesAreUniform) {
  std::mt19937_64 rng(11);
  std::normal_distribution<double> normal;
  for (const int n : {20, 50, 400}) {
    const int samples = n == 400 ? 4'000 : 20'000;
    int below[3] = {0, 0, 0};
    for (int s = 0; s < samples; ++s) {
      std::vector<double> sample(static_cast<size_t>(n));
      for (double& v : sample) v = normal(rng);
      const double p = shapiro_wilk_p_value(shapiro_wilk_w(sample), sample.size());
      below[0] += p < 0.01, below[1] += p < 0.05, below[2] += p < 0.5;
    }
    const double levels[3] = {0.01, 0.05, 0.5};
    for (int k = 0; k < 3; ++k) {
      const double share = double(below[k]) / samples, sd = std::sqrt(levels[k] * (1 - levels[k]) / samples);
      EXPECT_NEAR(share, levels[k], 5 * sd + 0.15 * levels[k]) << "n = " << n << ", level " << levels[k];
    }
  }
  EXPECT_THROW(shapiro_wilk_p_value(0.9, 11), ValueError);
}

TEST(ShapiroWilk, SamplesFarFromNormalScoreLow) {
  std::mt19937_64 rng(3);
  std::uniform_real_distribution<double> uniform;
  std::exponential_distribution<double> exponential;
  std::normal_distribution<double> normal;
  std::vector<double> flat(500), skewed(500), bimodal(500), gaussian(500);
  for (size_t i = 0; i < 500; ++i) {
    flat[i] = uniform(rng), skewed[i] = exponential(rng), gaussian[i] = normal(rng);
    bimodal[i] = normal(rng) * 0.1 + (i % 2 ? 3 : 0);
  }
  EXPECT_GT(shapiro_wilk_w(gaussian), 0.99);
  EXPECT_LT(shapiro_wilk_w(flat), 0.97);
  EXPECT_LT(shapiro_wilk_w(skewed), 0.9);
  EXPECT_LT(shapiro_wilk_w(bimodal), 0.8);
}

TEST(ShapiroWilk, TooFewOrEqualValuesAreAnError) {
  EXPECT_THROW(shapiro_wilk_w({1, 2}), ValueError);
  EXPECT_THROW(shapiro_wilk_w({2, 2, 2, 2}), ValueError);
  EXPECT_THROW(shapiro_wilk_w(std::vector<double>(5001, 1.0)), ValueError);
}

}  // namespace normality_test
