// ops::gemm over oneDNN's row-major sgemm. oneDNN picks its kernel from the processor's
// instruction sets at run time (AVX2, AVX-512, AMX), so no core-type detection of a BLAS
// library can slow it down (Debian's OpenBLAS 0.3.21 does not know recent Xeons and falls
// back to an SSE3 kernel 5-10 times slower). Its OpenMP team is sized from citadel's one
// thread setting and is shared with citadel's own parallel loops. docs/DESIGN.md records
// the measurements behind the choice. Under a mixed_bfloat16 PrecisionScope the larger
// products whose inputs are reused enough go to gemm_bfloat16 (gemm_bfloat16.cpp).
#include "citadel/ops/gemm.hpp"

#include <dnnl.h>

#include <atomic>
#include <cstring>
#include <string>
#include <vector>

#include "citadel/core/error.hpp"
#include "citadel/ops/precision.hpp"
#include "parallel.hpp"

namespace citadel::ops {
namespace {

// Below this many multiply-adds a call into oneDNN costs more than the arithmetic (the
// reference Keras network's products are 32x8x10), so a plain loop does them.
constexpr int64_t kSmallProduct = 16 * 1024;

// bf16 pays only where each rounded input value is used several times: a product rounds
// M·K + K·N values for M·N·K multiply-adds, about M·N / (M + N) per value. Below this (a
// batch of a few rows through a layer, a matrix-vector product bound by reading the
// weights) rounding costs more than the bf16 product saves: W2's batch-1 forward took 47 µs
// in bf16 against 14.5 µs in float32 on AVX512-BF16 (docs/PERFORMANCE.md). Such products
// stay float32, which is also the more accurate. (8 keeps W2's 10-unit output layer, at
// 9.3 uses a value, in bf16; its training ran as fast either way, within this machine's noise.)
constexpr int64_t kBFloat16MinimumReuse = 8;

bool worth_bfloat16(int64_t M, int64_t N) { return M * N >= kBFloat16MinimumReuse * (M + N); }

// Below this many multiply-adds a product runs on the calling thread alone: waking the team
// costs more than splitting saves. A recurrent layer's step on one sequence (1×128 · 128×512,
// 2^16) is such a product, 200 times in a row: oneDNN took 4.5 µs on one thread and 4.7 on
// two (3.3 and 4.0 at 1×128 · 128×384), while 4×128 · 128×384 (1.5·2^17) already ran 8.7 →
// 6.4 µs faster on two (AMD EPYC Zen 3, 2026-12-07).
constexpr int64_t kParallelProduct = 128 * 1024;

// C = alpha·A·B + beta·C for small row-major A (M, K) and B (K, N), the innermost loop
// running along C's row so that it vectorizes. Compiled for AVX2 as well as the baseline
// and picked at run time, so the default build stays portable.
__attribute__((target_clones("avx2", "default")))
void small_gemm_nn(int64_t M, int64_t N, int64_t K, float alpha, const float* A, int64_t lda, const float* B,
                   int64_t ldb, float beta, float* C, int64_t ldc) {
  for (int64_t i = 0; i < M; ++i) {
    float* __restrict row = C + i * ldc;
    if (beta == 0.0f) {
      for (int64_t j = 0; j < N; ++j) row[j] = 0.0f;
    } else if (beta != 1.0f) {
      for (int64_t j = 0; j < N; ++j) row[j] *= beta;
    }
    for (int64_t k = 0; k < K; ++k) {
      const float a = alpha * A[i * lda + k];
      const float* __restrict b = B + k * ldb;
      for (int64_t j = 0; j < N; ++j) row[j] += a * b[j];
    }
  }
}

// C = alpha·A·B + beta·C when C has at most kNarrow columns: B is given padded to
// kNarrow columns, so each row of C accumulates in two vector registers.
constexpr int64_t kNarrow = 16;

using Vector8 = float __attribute__((vector_size(32)));  // GCC vector extension: ymm with AVX2

__attribute__((target_clones("avx2", "default")))
void narrow_gemm(int64_t M, int64_t N, int64_t K, float alpha, const float* A, int64_t lda,
                 const float* __restrict padded_b, float beta, float* C, int64_t ldc) {
  for (int64_t i = 0; i < M; ++i) {
    Vector8 low = {}, high = {};
    const float* a = A + i * lda;
    for (int64_t k = 0; k < K; ++k) {
      Vector8 b_low, b_high;
      std::memcpy(&b_low, padded_b + k * kNarrow, sizeof b_low);
      std::memcpy(&b_high, padded_b + k * kNarrow + 8, sizeof b_high);
      low += a[k] * b_low;
      high += a[k] * b_high;
    }
    float sum[kNarrow];
    std::memcpy(sum, &low, sizeof low);
    std::memcpy(sum + 8, &high, sizeof high);
    float* row = C + i * ldc;
    for (int64_t j = 0; j < N; ++j) row[j] = alpha * sum[j] + (beta == 0.0f ? 0.0f : beta * row[j]);
  }
}

// Transposed operands are copied untransposed into per-thread buffers first (at most
// kSmallProduct values each; the buffers grow once and are then reused).
void small_gemm(bool transpose_a, bool transpose_b, int64_t M, int64_t N, int64_t K, float alpha, const float* A,
                int64_t lda, const float* B, int64_t ldb, float beta, float* C, int64_t ldc) {
  thread_local std::vector<float> a_buffer, b_buffer;
  if (transpose_a) {  // A is stored (K, M)
    a_buffer.resize(static_cast<size_t>(M * K));
    for (int64_t k = 0; k < K; ++k)
      for (int64_t i = 0; i < M; ++i) a_buffer[i * K + k] = A[k * lda + i];
    A = a_buffer.data(), lda = K;
  }
  if (N <= kNarrow) {
    b_buffer.assign(static_cast<size_t>(K * kNarrow), 0.0f);
    for (int64_t k = 0; k < K; ++k)
      for (int64_t j = 0; j < N; ++j) b_buffer[k * kNarrow + j] = transpose_b ? B[j * ldb + k] : B[k * ldb + j];
    return narrow_gemm(M, N, K, alpha, A, lda, b_buffer.data(), beta, C, ldc);
  }
  if (transpose_b) {  // B is stored (N, K)
    b_buffer.resize(static_cast<size_t>(K * N));
    for (int64_t j = 0; j < N; ++j)
      for (int64_t k = 0; k < K; ++k) b_buffer[k * N + j] = B[j * ldb + k];
    B = b_buffer.data(), ldb = N;
  }
  small_gemm_nn(M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}

}  // namespace

void gemm(Transpose transpose_a, Transpose transpose_b, int64_t M, int64_t N, int64_t K,
          float alpha, const float* A, int64_t lda, const float* B, int64_t ldb, float beta,
          float* C, int64_t ldc) {
  if (M == 0 || N == 0) return;
  if (M * N * K <= kSmallProduct)  // in every precision: too small for bf16 to pay
    return small_gemm(transpose_a == Transpose::kYes, transpose_b == Transpose::kYes, M, N, K, alpha, A, lda, B,
                      ldb, beta, C, ldc);
  if (current_precision() == Precision::kMixedBFloat16 && worth_bfloat16(M, N))
    return gemm_bfloat16(transpose_a, transpose_b, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
  detail::apply_thread_count(M * N * K < kParallelProduct ? 1 : detail::team_threads());
  const dnnl_status_t status =
      dnnl_sgemm(transpose_a == Transpose::kYes ? 'T' : 'N', transpose_b == Transpose::kYes ? 'T' : 'N', M, N,
                 K, alpha, A, lda, B, ldb, beta, C, ldc);
  CITADEL_CHECK(status == dnnl_success, InternalError, "oneDNN sgemm failed (status ", int(status), ") for M=", M,
                " N=", N, " K=", K);
}

const char* gemm_backend() {
  static const std::string name = [] {
    const dnnl_version_t* version = dnnl_version();
    return "oneDNN " + std::to_string(version->major) + "." + std::to_string(version->minor) + "." +
           std::to_string(version->patch) + " sgemm";
  }();
  return name.c_str();
}

}  // namespace citadel::ops
