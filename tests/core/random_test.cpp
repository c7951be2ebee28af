// Seeded random streams: reproducible, and with the right distributions.
#include <gtest/gtest.h>

#include <cmath>
#include <set>

#include "citadel/core/error.hpp"
#include "citadel/core/random.hpp"

namespace random_test {

using namespace citadel;

TEST(Rng, SameSeedSameStreamDifferentSeedDifferentStream) {
  Rng a(5), b(5), c(6);
  for (int i = 0; i < 100; ++i) {
    const uint64_t va = a.next_u64();
    EXPECT_EQ(va, b.next_u64());
    EXPECT_NE(va, c.next_u64());
  }
}

TEST(Rng, ForkedStreamsDiffer) {
  Rng base(3);
  Rng first = base.fork(0), second = base.fork(1);
  EXPECT_NE(first.next_u64(), second.next_u64());
  EXPECT_EQ(base.fork(0).next_u64(), Rng(3).fork(0).next_u64());
}

TEST(Rng, UniformMomentsMatchTheDistribution) {
  Rng rng(11);
  const int n = 200000;
  double sum = 0, sum_sq = 0;
  for (int i = 0; i < n; ++i) {
    const float u = rng.uniform();
    ASSERT_GE(u, 0.0f);
    ASSERT_LT(u, 1.0f);
    sum += u;
    sum_sq += double(u) * u;
  }
  const double mean = sum / n, variance = sum_sq / n - mean * mean;
  EXPECT_NEAR(mean, 0.5, 0.005);
  EXPECT_NEAR(variance, 1.0 / 12.0, 0.002);
}

TEST(Rng, NormalMomentsMatchTheDistribution) {
  Rng rng(12);
  const int n = 200000;
  double sum = 0, sum_sq = 0;
  for (int i = 0; i < n; ++i) {
    const double z = rng.normal();
    sum += z;
    sum_sq += z * z;
  }
  EXPECT_NEAR(sum / n, 0.0, 0.01);
  EXPECT_NEAR(sum_sq / n, 1.0, 0.02);
}

TEST(Rng, BelowCoversEveryValueEvenly) {
  Rng rng(13);
  int counts[7] = {};
  for (int i = 0; i < 70000; ++i) ++counts[rng.below(7)];
  for (int c : counts) EXPECT_NEAR(c, 10000, 400);
}

TEST(RandomHelpers, ShapesRangesAndGlobalSeed) {
  random::set_seed(99);
  Tensor u = random::uniform({100, 3}, -2.0f, 2.0f);
  Tensor labels = random::randint(0, 2, {1000, 1});
  random::set_seed(99);
  Tensor u_again = random::uniform({100, 3}, -2.0f, 2.0f);
  EXPECT_EQ(u.shape(), (Shape{100, 3}));
  EXPECT_EQ(u.to_vector(), u_again.to_vector());
  std::set<float> seen;
  for (int64_t i = 0; i < labels.numel(); ++i) seen.insert(labels[i]);
  EXPECT_EQ(seen, (std::set<float>{0.0f, 1.0f}));
  for (int64_t i = 0; i < u.numel(); ++i) EXPECT_TRUE(u[i] >= -2.0f && u[i] < 2.0f);
  EXPECT_THROW(random::randint(3, 3, {2}), ValueError);
}

}  // namespace random_test
