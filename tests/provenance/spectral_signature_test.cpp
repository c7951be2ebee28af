// Spectral signatures' building blocks against closed forms: the top singular vector of 2-D rows
// (the principal axis angle ½·atan2(2·Sxy, Sxx − Syy) of their scatter matrix) and robust
// whitening that leaves the core rows with an identity covariance.
#include "citadel/provenance/spectral_signature.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "citadel/core/error.hpp"
#include "citadel/core/random.hpp"

namespace spectral_signature_test {

using namespace citadel;

namespace {

RowMatrix gaussian_rows(int64_t n, int64_t d, uint64_t seed) {
  Rng rng(seed);
  RowMatrix m{n, d, std::vector<double>(size_t(n * d))};
  for (double& v : m.values) v = rng.normal();
  return m;
}

TEST(SpectralSignature, TopSingularVectorMatchesClosedFormIn2D) {
  Rng rng(4);
  RowMatrix m{500, 2, std::vector<double>(1000)};
  const double angle = 0.6;
  for (int64_t r = 0; r < m.rows; ++r) {  // stretched 3:1 along `angle`, plus an offset
    const double a = 3 * rng.normal(), b = rng.normal();
    m.row(r)[0] = 5 + a * std::cos(angle) - b * std::sin(angle);
    m.row(r)[1] = -2 + a * std::sin(angle) + b * std::cos(angle);
  }
  double mx = 0, my = 0;
  for (int64_t r = 0; r < m.rows; ++r) mx += m.row(r)[0] / 500, my += m.row(r)[1] / 500;
  double sxx = 0, syy = 0, sxy = 0;
  for (int64_t r = 0; r < m.rows; ++r) {
    const double dx = m.row(r)[0] - mx, dy = m.row(r)[1] - my;
    sxx += dx * dx, syy += dy * dy, sxy += dx * dy;
  }
  const double theta = 0.5 * std::atan2(2 * sxy, sxx - syy);
  const double largest = (sxx + syy) / 2 + std::sqrt((sxx - syy) * (sxx - syy) / 4 + sxy * sxy);
  const SingularDirection top = top_singular_vector(m, 7);
  EXPECT_NEAR(std::abs(top.vector[0] * std::cos(theta) + top.vector[1] * std::sin(theta)), 1.0, 1e-9);
  EXPECT_NEAR(top.singular_value, std::sqrt(largest), 1e-6 * std::sqrt(largest));
  // The projections are centred: they sum to 0, and their sum of squares is the eigenvalue.
  const std::vector<double> p = centred_projections(m, top.vector);
  double sum = 0, squares = 0;
  for (double v : p) sum += v, squares += v * v;
  EXPECT_NEAR(sum, 0.0, 1e-8);
  EXPECT_NEAR(squares, largest, 1e-6 * largest);
}

TEST(SpectralSignature, PlantedShiftIsTheTopDirection) {
  // 3 % of the rows shifted by 8 along unit 3 of 6: ε(1−ε)·64 ≈ 1.9 beats unit variance.
  RowMatrix m = gaussian_rows(1000, 6, 1);
  for (int64_t r = 0; r < 30; ++r) m.row(r)[3] += 8;
  const SingularDirection top = top_singular_vector(m, 2);
  EXPECT_GT(std::abs(top.vector[3]), 0.95);
}

TEST(SpectralSignature, WhitenedCoreHasIdentityCovariance) {
  RowMatrix m = gaussian_rows(400, 3, 3);
  for (int64_t r = 0; r < m.rows; ++r) m.row(r)[1] = 2 * m.row(r)[0] + 0.5 * m.row(r)[1] + 4;  // correlated, offset
  const RowMatrix z = robust_whiten(m, {.core_share = 1.0, .refits = 0, .ridge = 0});
  for (int i = 0; i < 3; ++i)
    for (int j = 0; j < 3; ++j) {
      double mean_i = 0, mean_j = 0, c = 0;
      for (int64_t r = 0; r < z.rows; ++r) mean_i += z.row(r)[i] / 400, mean_j += z.row(r)[j] / 400;
      for (int64_t r = 0; r < z.rows; ++r) c += (z.row(r)[i] - mean_i) * (z.row(r)[j] - mean_j) / 400;
      EXPECT_NEAR(c, i == j ? 1.0 : 0.0, 1e-9) << i << "," << j;
      EXPECT_NEAR(mean_i, 0.0, 1e-9);
    }
}

TEST(SpectralSignature, RobustWhiteningIgnoresPlantedRowsInItsScale) {
  // With the core at 75 %, 5 % planted rows far away do not inflate the scale along their shift.
  RowMatrix m = gaussian_rows(1000, 4, 5);
  for (int64_t r = 0; r < 50; ++r) m.row(r)[0] += 30;
  const RowMatrix z = robust_whiten(m);
  double planted = 0;
  for (int64_t r = 0; r < 50; ++r) planted += z.row(r)[0] / 50;
  EXPECT_GT(planted, 20.0);  // plain whitening would leave them about 4.4 deviations out
}

TEST(SpectralSignature, RefusesTooFewRowsAndNonFiniteValues) {
  EXPECT_THROW(robust_whiten(gaussian_rows(1, 3, 1)), ValueError);
  EXPECT_THROW(top_singular_vector(RowMatrix{0, 3, {}}), ValueError);
  RowMatrix m = gaussian_rows(10, 3, 1);
  m.row(3)[1] = std::numeric_limits<double>::quiet_NaN();
  try {
    robust_whiten(m);
    FAIL() << "NaN accepted";
  } catch (const ValueError& e) {
    EXPECT_NE(std::string(e.what()).find("row 3 column 1"), std::string::npos) << e.what();
  }
  EXPECT_THROW(top_singular_vector(m), ValueError);
  EXPECT_THROW(centred_projections(gaussian_rows(10, 3, 1), {1.0, 0.0}), ValueError);
}

}  // namespace

}  // namespace spectral_signature_test
