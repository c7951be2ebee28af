// The one entry point for matrix products; the BLAS library behind it is chosen in
// src/ops/cpu/gemm.cpp and nowhere else.
#pragma once

#include <cstdint>

namespace citadel::ops {

enum class Transpose { kNo, kYes };

// C = alpha · op(A) · op(B) + beta · C, all row-major.
// op(A): (M, K), op(B): (K, N), C: (M, N); lda/ldb/ldc are the row strides as stored.
// In float32, or through gemm_bfloat16 under a mixed_bfloat16 PrecisionScope
// (citadel/ops/precision.hpp) when the product is large enough to pay for it.
void gemm(Transpose transpose_a, Transpose transpose_b, int64_t M, int64_t N, int64_t K,
          float alpha, const float* A, int64_t lda, const float* B, int64_t ldb, float beta,
          float* C, int64_t ldc);

// The same product with A and B rounded to bf16 (to nearest, ties to even) and float32
// accumulation and output: oneDNN's AMX or AVX512-BF16 kernels where the processor has
// them, oneDNN's emulation on other AVX-512 processors, rounding then sgemm elsewhere —
// equal results everywhere but for the order of the sums (a product of two bf16 values
// is exact in float32).
void gemm_bfloat16(Transpose transpose_a, Transpose transpose_b, int64_t M, int64_t N, int64_t K, float alpha,
                   const float* A, int64_t lda, const float* B, int64_t ldb, float beta, float* C, int64_t ldc);

// float32 → bf16 bit patterns, rounded to nearest, ties to even; NaN stays NaN.
void to_bfloat16(const float* values, uint16_t* out, int64_t n);

// Name and version of the BLAS library in use (for reports and benchmarks).
const char* gemm_backend();

}  // namespace citadel::ops
