// Robust whitening (Cholesky of the core rows' covariance, MCD-style concentration steps) and the
// top singular vector by power iteration on the U×U scatter matrix: representations are a few
// hundred units wide, so the dense U×U work is small beside the N×U×U scatter.
#include "citadel/provenance/spectral_signature.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "citadel/core/error.hpp"
#include "citadel/core/random.hpp"

namespace citadel {
namespace {

void check_finite(const RowMatrix& m, const char* what) {
  CITADEL_CHECK(m.rows >= 2, ValueError, what, ": needs at least 2 rows, got ", m.rows);
  CITADEL_CHECK(m.cols >= 1 && int64_t(m.values.size()) == m.rows * m.cols, ValueError, what, ": ", m.rows, "x", m.cols,
                " matrix holds ", m.values.size(), " values");
  for (int64_t r = 0; r < m.rows; ++r)
    for (int64_t c = 0; c < m.cols; ++c)
      CITADEL_CHECK(std::isfinite(m.row(r)[c]), ValueError, what, ": row ", r, " column ", c, " is ", m.row(r)[c]);
}

std::vector<double> column_means(const RowMatrix& m, const std::vector<int64_t>& rows) {
  std::vector<double> mean(size_t(m.cols), 0.0);
  for (int64_t r : rows)
    for (int64_t c = 0; c < m.cols; ++c) mean[size_t(c)] += m.row(r)[c];
  for (double& v : mean) v /= double(rows.size());
  return mean;
}

// Lower-triangular L with L·Lᵀ = covariance of `rows` + ridge; units without variance get a
// unit diagonal (their centred values are 0, so they whiten to 0).
std::vector<double> ridged_cholesky(const RowMatrix& m, const std::vector<int64_t>& rows,
                                    const std::vector<double>& mean, double ridge_share) {
  const auto U = size_t(m.cols);
  std::vector<double> cov(U * U, 0.0), centred(U);
  for (int64_t r : rows) {
    for (size_t c = 0; c < U; ++c) centred[c] = m.row(r)[c] - mean[c];
    for (size_t i = 0; i < U; ++i) {
      const double a = centred[i];
      if (a == 0) continue;
      for (size_t j = 0; j <= i; ++j) cov[i * U + j] += a * centred[j];
    }
  }
  double trace = 0;
  for (size_t i = 0; i < U; ++i) trace += cov[i * U + i] / double(rows.size());
  const double ridge = ridge_share * trace / double(U) + 1e-12;
  for (size_t i = 0; i < U; ++i)
    for (size_t j = 0; j <= i; ++j) cov[i * U + j] /= double(rows.size());
  for (size_t i = 0; i < U; ++i) cov[i * U + i] = cov[i * U + i] > 0 ? cov[i * U + i] + ridge : 1.0;
  for (size_t j = 0; j < U; ++j) {
    double d = cov[j * U + j];
    for (size_t k = 0; k < j; ++k) d -= cov[j * U + k] * cov[j * U + k];
    CITADEL_ASSERT(d > 0, "robust_whiten: ridged covariance not positive definite at unit ", j);
    const double root = std::sqrt(d);
    cov[j * U + j] = root;
    for (size_t i = j + 1; i < U; ++i) {
      double s = cov[i * U + j];
      for (size_t k = 0; k < j; ++k) s -= cov[i * U + k] * cov[j * U + k];
      cov[i * U + j] = s / root;
    }
  }
  return cov;  // lower triangle holds L
}

// out = L⁻¹(row − mean) by forward substitution.
void whiten_row(const double* row, const std::vector<double>& mean, const std::vector<double>& L, size_t U,
                double* out) {
  for (size_t i = 0; i < U; ++i) {
    double s = row[i] - mean[i];
    for (size_t k = 0; k < i; ++k) s -= L[i * U + k] * out[k];
    out[i] = s / L[i * U + i];
  }
}

}  // namespace

RowMatrix robust_whiten(const RowMatrix& representations, const RobustWhiteningOptions& options) {
  check_finite(representations, "robust_whiten");
  CITADEL_CHECK(options.core_share > 0 && options.core_share <= 1, ValueError,
                "robust_whiten: core_share must be in (0, 1], got ", options.core_share);
  CITADEL_CHECK(options.ridge >= 0 && options.refits >= 0, ValueError, "robust_whiten: ridge and refits must be >= 0");
  const int64_t N = representations.rows;
  const auto U = size_t(representations.cols);
  RowMatrix white{N, int64_t(U), std::vector<double>(size_t(N) * U)};
  std::vector<int64_t> core(static_cast<size_t>(N));
  std::iota(core.begin(), core.end(), 0);
  const auto core_rows = std::max<int64_t>(2, int64_t(std::ceil(options.core_share * double(N))));
  std::vector<double> distance(static_cast<size_t>(N));
  for (int refit = 0;; ++refit) {
    const std::vector<double> mean = column_means(representations, core);
    const std::vector<double> L = ridged_cholesky(representations, core, mean, options.ridge);
    for (int64_t r = 0; r < N; ++r) {
      whiten_row(representations.row(r), mean, L, U, white.row(r));
      distance[size_t(r)] = std::inner_product(white.row(r), white.row(r) + U, white.row(r), 0.0);
    }
    if (refit == options.refits || core_rows == N) break;
    core.resize(static_cast<size_t>(N));
    std::iota(core.begin(), core.end(), 0);
    std::stable_sort(core.begin(), core.end(),
                     [&](int64_t a, int64_t b) { return distance[size_t(a)] < distance[size_t(b)]; });
    core.resize(size_t(core_rows));
  }
  return white;
}

SingularDirection top_singular_vector(const RowMatrix& rows, uint64_t seed, int max_iterations, double tolerance) {
  check_finite(rows, "top_singular_vector");
  const auto U = size_t(rows.cols);
  std::vector<int64_t> all(size_t(rows.rows));
  std::iota(all.begin(), all.end(), 0);
  const std::vector<double> mean = column_means(rows, all);
  std::vector<double> scatter(U * U, 0.0), centred(U);
  for (int64_t r = 0; r < rows.rows; ++r) {
    for (size_t c = 0; c < U; ++c) centred[c] = rows.row(r)[c] - mean[c];
    for (size_t i = 0; i < U; ++i)
      for (size_t j = 0; j <= i; ++j) scatter[i * U + j] += centred[i] * centred[j];
  }
  for (size_t i = 0; i < U; ++i)
    for (size_t j = 0; j < i; ++j) scatter[j * U + i] = scatter[i * U + j];
  SingularDirection result;
  Rng rng(seed);
  std::vector<double> v(U), next(U);
  for (double& x : v) x = rng.normal();
  double eigenvalue = 0;
  for (int it = 0; it < max_iterations; ++it) {
    const double norm_v = std::sqrt(std::inner_product(v.begin(), v.end(), v.begin(), 0.0));
    for (double& x : v) x /= norm_v;
    for (size_t i = 0; i < U; ++i)
      next[i] = std::inner_product(v.begin(), v.end(), scatter.begin() + ptrdiff_t(i * U), 0.0);
    eigenvalue = std::sqrt(std::inner_product(next.begin(), next.end(), next.begin(), 0.0));
    result.iterations = it + 1;
    if (eigenvalue == 0) break;  // every row equal: any direction is as good
    double change = 0;
    for (size_t i = 0; i < U; ++i) change += (next[i] / eigenvalue - v[i]) * (next[i] / eigenvalue - v[i]);
    v = next;
    if (change < tolerance * tolerance) break;
  }
  const double norm_v = std::sqrt(std::inner_product(v.begin(), v.end(), v.begin(), 0.0));
  for (double& x : v) x /= norm_v;
  result.vector = v;
  result.singular_value = std::sqrt(eigenvalue);
  return result;
}

std::vector<double> centred_projections(const RowMatrix& rows, const std::vector<double>& direction) {
  CITADEL_CHECK(int64_t(direction.size()) == rows.cols, ValueError, "centred_projections: direction of ",
                direction.size(), " values for rows of ", rows.cols);
  std::vector<int64_t> all(size_t(rows.rows));
  std::iota(all.begin(), all.end(), 0);
  const std::vector<double> mean = column_means(rows, all);
  const double offset = std::inner_product(mean.begin(), mean.end(), direction.begin(), 0.0);
  std::vector<double> projection(size_t(rows.rows));
  for (int64_t r = 0; r < rows.rows; ++r)
    projection[size_t(r)] = std::inner_product(direction.begin(), direction.end(), rows.row(r), 0.0) - offset;
  return projection;
}

}  // namespace citadel
