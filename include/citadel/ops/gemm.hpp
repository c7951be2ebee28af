// The one entry point for matrix products; the BLAS library behind it is chosen in
// src/ops/cpu/gemm.cpp and nowhere else.
#pragma once

#include <cstdint>

namespace citadel::ops {

enum class Transpose { kNo, kYes };

// C = alpha · op(A) · op(B) + beta · C, all row-major.
// op(A): (M, K), op(B): (K, N), C: (M, N); lda/ldb/ldc are the row strides as stored.
void gemm(Transpose transpose_a, Transpose transpose_b, int64_t M, int64_t N, int64_t K,
          float alpha, const float* A, int64_t lda, const float* B, int64_t ldb, float beta,
          float* C, int64_t ldc);

// Name and version of the BLAS library in use (for reports and benchmarks).
const char* gemm_backend();

}  // namespace citadel::ops
