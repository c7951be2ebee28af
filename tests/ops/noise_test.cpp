// DP-SGD's Gaussian noise: its tails against the normal distribution over 10⁸ draws, how
// far the sampler can reach at all, and independence from the thread count.
#include "citadel/ops/noise.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <vector>

using namespace citadel;

namespace {

// P(|Z| > t) for a standard normal.
double two_sided_tail(double t) { return std::erfc(t / std::sqrt(2.0)); }

}  // namespace

TEST(GaussianNoise, TailsMatchTheNormalDistributionOver1e8Draws) {
  SecureRng rng = SecureRng::from_os();
  const std::vector<double> thresholds{2.0, 3.0, 4.0, 4.5, 5.0, 6.0};
  std::vector<int64_t> beyond(thresholds.size(), 0);
  std::vector<float> values(10'000'000);
  const int64_t rounds = 10;
  double sum = 0, squares = 0;
  for (int64_t round = 0; round < rounds; ++round) {
    std::fill(values.begin(), values.end(), 0.0f);
    ops::add_gaussian_noise(values, 1.0, rng);
    for (float v : values) {
      const double magnitude = std::fabs(double(v));
      sum += v;
      squares += double(v) * v;
      for (size_t t = 0; t < thresholds.size(); ++t) beyond[t] += magnitude > thresholds[t];
    }
  }
  const double draws = double(rounds) * double(values.size());
  EXPECT_NEAR(sum / draws, 0.0, 5.0 / std::sqrt(draws));
  EXPECT_NEAR(squares / draws, 1.0, 5.0 * std::sqrt(2.0 / draws));
  for (size_t t = 0; t < thresholds.size(); ++t) {
    const double expected = draws * two_sided_tail(thresholds[t]);  // 6σ: 0.2 expected
    const double allowed = 5.0 * std::sqrt(expected) + 3.0;         // 5 Poisson standard deviations
    EXPECT_NEAR(double(beyond[t]), expected, allowed) << "beyond " << thresholds[t] << "σ";
  }
}

// Float Box-Muller over 24-bit uniforms stops at 5.77σ; the polar method over 53-bit
// uniforms reaches about 12σ, so no tail that matters against δ is cut off.
TEST(GaussianNoise, PolarMethodReachesFarIntoTheTails) {
  const uint64_t centre = uint64_t(1) << 63;  // u = 0 exactly
  double z0 = 0, z1 = 0;
  ASSERT_TRUE(ops::polar_gaussian_pair(centre + (uint64_t(1) << 11), centre, z0, z1));  // u = 2^-52, v = 0
  EXPECT_GT(std::fabs(z0), 11.5);
  EXPECT_EQ(z1, 0.0);
  EXPECT_FALSE(ops::polar_gaussian_pair(centre, centre, z0, z1));  // s = 0 is redrawn
  EXPECT_FALSE(ops::polar_gaussian_pair(0, 0, z0, z1));            // (-1, -1) lies outside the disc
}

TEST(GaussianNoise, SameKeySameNoiseOtherKeyOtherNoise) {
  std::vector<float> a(50'000, 0.0f), b(50'000, 0.0f), c(50'000, 0.0f);
  SecureRng first = SecureRng::from_seed(1, 2), again = SecureRng::from_seed(1, 2), other = SecureRng::from_os();
  ops::add_gaussian_noise(a, 2.0, first);
  ops::add_gaussian_noise(b, 2.0, again);
  ops::add_gaussian_noise(c, 2.0, other);
  EXPECT_EQ(a, b);
  EXPECT_NE(a, c);
  EXPECT_FALSE(first.reproducible() == other.reproducible());
}
