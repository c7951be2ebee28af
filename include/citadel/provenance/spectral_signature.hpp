// Spectral signatures (Tran, Li and Madry, NeurIPS 2018) and the robust whitening that SPECTRE
// (Hayase et al., ICML 2021) puts before them: a small poisoned sub-population shifted by δ
// adds ε(1−ε)·δδᵀ to a class's covariance, so the top singular vector of the centred
// representations points at it; whitened by the covariance of the class's typical rows, any
// direction the clean rows already vary along no longer competes with it.
#pragma once

#include <cstdint>
#include <vector>

#include "citadel/core/tensor.hpp"

namespace citadel {

// A class's representations (N, U) as rows of doubles, row-major.
struct RowMatrix {
  int64_t rows = 0, cols = 0;
  std::vector<double> values;
  double* row(int64_t r) { return values.data() + r * cols; }
  const double* row(int64_t r) const { return values.data() + r * cols; }
};

struct RobustWhiteningOptions {
  double core_share = 0.75;  // the share of rows (closest by Mahalanobis distance) each refit uses
  int refits = 5;            // MCD-style concentration steps, starting from all rows
  double ridge = 1e-3;       // added to the covariance's diagonal, times its mean diagonal entry
};

// z = L⁻¹(r − μ) for every row, where μ and L·Lᵀ (Cholesky) are the mean and the ridged
// covariance of the core rows: after each refit the core is the core_share of rows with the
// smallest distance ‖L⁻¹(r − μ)‖. Units that never vary become 0. ValueError for fewer than 2
// rows or a value that is not finite (naming the row and column).
RowMatrix robust_whiten(const RowMatrix& representations, const RobustWhiteningOptions& options = {});

struct SingularDirection {
  std::vector<double> vector;  // unit length, (U)
  double singular_value = 0;   // of the centred rows
  int iterations = 0;
};

// The top right singular vector of the rows centred on their mean (the top eigenvector of
// their scatter matrix), by power iteration from a seeded start until the direction moves by
// less than `tolerance` (at most max_iterations). Its sign is arbitrary.
SingularDirection top_singular_vector(const RowMatrix& rows, uint64_t seed = 0, int max_iterations = 1000,
                                      double tolerance = 1e-10);

// Each row's projection on `direction` after centring on the rows' mean: the spectral
// signature score before squaring.
std::vector<double> centred_projections(const RowMatrix& rows, const std::vector<double>& direction);

}  // namespace citadel
