// Initializers: ranges and variances from Keras's formulas.
#include <gtest/gtest.h>

#include <cmath>

#include "citadel/core/error.hpp"
#include "citadel/layers/initializers.hpp"

namespace initializers_test {

using namespace citadel;

namespace {

struct Moments {
  double mean, variance, max_abs;
};

Moments moments_of(const std::string& name, const Shape& shape) {
  Tensor w(shape);
  Rng rng(7);
  initialize(name, w, rng);
  double sum = 0, sum_sq = 0, max_abs = 0;
  for (int64_t i = 0; i < w.numel(); ++i) {
    sum += w[i];
    sum_sq += double(w[i]) * w[i];
    max_abs = std::max(max_abs, double(std::fabs(w[i])));
  }
  const double n = double(w.numel());
  return {sum / n, sum_sq / n - (sum / n) * (sum / n), max_abs};
}

}  // namespace

TEST(Initializers, GlorotUniformHasLimitAndVariance) {
  // fan_in 200, fan_out 300: limit sqrt(6 / 500), variance limit² / 3 = 2 / 500.
  const Moments m = moments_of("glorot_uniform", Shape{200, 300});
  EXPECT_LE(m.max_abs, std::sqrt(6.0 / 500));
  EXPECT_NEAR(m.variance, 2.0 / 500, 0.0001);
  EXPECT_NEAR(m.mean, 0.0, 0.001);
}

TEST(Initializers, NormalVariantsHaveTheirVariance) {
  EXPECT_NEAR(moments_of("he_normal", Shape{200, 300}).variance, 2.0 / 200, 0.0003);
  EXPECT_NEAR(moments_of("glorot_normal", Shape{200, 300}).variance, 2.0 / 500, 0.0001);
  EXPECT_NEAR(moments_of("lecun_normal", Shape{200, 300}).variance, 1.0 / 200, 0.0002);
  EXPECT_NEAR(moments_of("he_uniform", Shape{200, 300}).variance, 2.0 / 200, 0.0003);
  // Truncated at two standard deviations of the untruncated normal.
  EXPECT_LE(moments_of("he_normal", Shape{200, 300}).max_abs, 2 * std::sqrt(2.0 / 200) / 0.87962566103423978);
}

TEST(Initializers, ConstantsAndSmallRandom) {
  EXPECT_EQ(moments_of("zeros", Shape{3, 3}).max_abs, 0.0);
  EXPECT_EQ(moments_of("ones", Shape{3, 3}).mean, 1.0);
  EXPECT_LE(moments_of("random_uniform", Shape{50, 50}).max_abs, 0.05);
  EXPECT_NEAR(std::sqrt(moments_of("random_normal", Shape{200, 200}).variance), 0.05, 0.002);
}

TEST(Initializers, UnknownNameIsAnError) {
  Tensor w(Shape{2});
  Rng rng(1);
  EXPECT_THROW(initialize("xavier", w, rng), ValueError);
}

// Orthogonal: the fewer of rows and columns are orthonormal; a (3, 3, 4) kernel is read as
// (9, 4), as Keras flattens it.
TEST(Initializers, OrthogonalGivesOrthonormalRowsOrColumns) {
  for (const Shape& shape : {Shape{4, 16}, Shape{16, 4}, Shape{5, 5}, Shape{3, 3, 4}}) {
    Tensor w(shape);
    Rng rng(7);
    initialize("orthogonal", w, rng);
    const int64_t cols = shape[shape.rank() - 1], rows = w.numel() / cols;
    const bool by_rows = rows <= cols;
    const int64_t count = by_rows ? rows : cols, length = by_rows ? cols : rows;
    auto at = [&](int64_t vector, int64_t k) { return double(by_rows ? w[vector * cols + k] : w[k * cols + vector]); };
    for (int64_t a = 0; a < count; ++a)
      for (int64_t b = 0; b < count; ++b) {
        double dot = 0;
        for (int64_t k = 0; k < length; ++k) dot += at(a, k) * at(b, k);
        EXPECT_NEAR(dot, a == b ? 1.0 : 0.0, 1e-5) << shape << " " << a << ", " << b;
      }
  }
}

}  // namespace initializers_test
