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

// A (M, K) read with strides: element (i, k) at A[i·row_step + k·k_step], so a transposed A
// (stored (K, M)) is read in place rather than copied first.
struct StridedA {
  const float* data;
  int64_t row_step, k_step;
  float at(int64_t i, int64_t k) const { return data[i * row_step + k * k_step]; }
};

// C = alpha·A·B + beta·C for small A and row-major B (K, N), the innermost loop running
// along C's row so that it vectorizes. Compiled for x86-64-v3 (AVX2 with FMA: a fused
// multiply-add per lane, where plain "avx2" left a multiply and an add) as well as the
// baseline and picked at run time, so the default build stays portable.
__attribute__((target_clones("arch=x86-64-v3", "default")))
void small_gemm_nn(int64_t M, int64_t N, int64_t K, float alpha, StridedA A, const float* B, int64_t ldb, float beta,
                   float* C, int64_t ldc) {
  for (int64_t i = 0; i < M; ++i) {
    float* __restrict row = C + i * ldc;
    if (beta == 0.0f) {
      for (int64_t j = 0; j < N; ++j) row[j] = 0.0f;
    } else if (beta != 1.0f) {
      for (int64_t j = 0; j < N; ++j) row[j] *= beta;
    }
    for (int64_t k = 0; k < K; ++k) {
      const float a = alpha * A.at(i, k);
      const float* __restrict b = B + k * ldb;
      for (int64_t j = 0; j < N; ++j) row[j] += a * b[j];
    }
  }
}

// C = alpha·A·B + beta·C when C has at most kNarrow columns: B is given padded to
// kNarrow columns, so each row of C accumulates in two vector registers (one when N ≤ 8).
constexpr int64_t kNarrow = 16;

using Vector8 = float __attribute__((vector_size(32)));  // GCC vector extension: ymm with AVX2

// Rows [0, R) of a narrow product, their accumulators side by side: one row's sum over k is a
// chain of dependent multiply-adds, bound by their latency; R rows give R independent
// chains. Each element is still summed over k in order, as one row alone would sum it.
template <int R, bool kWide>
__attribute__((always_inline)) inline void narrow_rows(int64_t N, int64_t K, float alpha, StridedA A,
                                                       const float* __restrict padded_b, float beta, float* C,
                                                       int64_t ldc) {
  Vector8 low[R] = {}, high[R] = {};
  for (int64_t k = 0; k < K; ++k) {
    Vector8 b_low, b_high;
    std::memcpy(&b_low, padded_b + k * kNarrow, sizeof b_low);
    if constexpr (kWide) std::memcpy(&b_high, padded_b + k * kNarrow + 8, sizeof b_high);
#pragma GCC unroll 4  // unrolled, the accumulators stay in registers
    for (int r = 0; r < R; ++r) {
      const float a = A.at(r, k);
      low[r] += a * b_low;
      if constexpr (kWide) high[r] += a * b_high;
    }
  }
#pragma GCC unroll 4
  for (int r = 0; r < R; ++r) {
    float sum[kNarrow];
    std::memcpy(sum, &low[r], sizeof low[r]);
    if constexpr (kWide) std::memcpy(sum + 8, &high[r], sizeof high[r]);
    float* row = C + r * ldc;
    for (int64_t j = 0; j < N; ++j) row[j] = alpha * sum[j] + (beta == 0.0f ? 0.0f : beta * row[j]);
  }
}

template <bool kWide>
__attribute__((always_inline)) inline void narrow_gemm_of_width(int64_t M, int64_t N, int64_t K, float alpha,
                                                                StridedA A, const float* __restrict padded_b,
                                                                float beta, float* C, int64_t ldc) {
  constexpr int kBlock = 4;
  int64_t i = 0;
  for (; i + kBlock <= M; i += kBlock)
    narrow_rows<kBlock, kWide>(N, K, alpha, {A.data + i * A.row_step, A.row_step, A.k_step}, padded_b, beta,
                               C + i * ldc, ldc);
  for (; i < M; ++i)
    narrow_rows<1, kWide>(N, K, alpha, {A.data + i * A.row_step, A.row_step, A.k_step}, padded_b, beta, C + i * ldc,
                          ldc);
}

__attribute__((target_clones("arch=x86-64-v3", "default")))
void narrow_gemm(int64_t M, int64_t N, int64_t K, float alpha, StridedA A, const float* __restrict padded_b,
                 float beta, float* C, int64_t ldc) {
  if (N > 8) return narrow_gemm_of_width<true>(M, N, K, alpha, A, padded_b, beta, C, ldc);
  narrow_gemm_of_width<false>(M, N, K, alpha, A, padded_b, beta, C, ldc);
}

// Padding B costs K·kNarrow stores, more than the product itself when it has a row or
// two (a single-row predict of the reference Keras network did little else). Up to this
// many rows, a narrow product reads B as stored: each row of B loaded whole-vector, the
// lanes past N (the next row's values) summed into lanes that are never stored; the last
// rows, where such a load would read past B's end, are summed lane by lane.
constexpr int64_t kFewRows = 3;

// narrow_rows' arithmetic, lane for lane: a row gives the same bits alone as in a batch.
template <bool kWide>
__attribute__((always_inline)) inline void narrow_row_unpadded(int64_t N, int64_t K, float alpha, StridedA A,
                                                               const float* __restrict B, int64_t ldb, float beta,
                                                               float* row) {
  constexpr int64_t kLoaded = kWide ? 16 : 8;
  const int64_t extent = (K - 1) * ldb + N;  // values of B that may be read
  int64_t whole = K;                          // rows of B loaded in place
  while (whole > 0 && (whole - 1) * ldb + kLoaded > extent) --whole;
  Vector8 low = {}, high = {};
  for (int64_t k = 0; k < whole; ++k) {
    // memcpy: an unaligned load either compiler keeps in registers (clang ignores an
    // under-aligned vector typedef, and its UBSan rightly calls the plain dereference misaligned).
    Vector8 b_low, b_high;
    std::memcpy(&b_low, B + k * ldb, sizeof b_low);
    if constexpr (kWide) std::memcpy(&b_high, B + k * ldb + 8, sizeof b_high);
    const float a = A.at(0, k);
    low += a * b_low;
    if constexpr (kWide) high += a * b_high;
  }
  float sum[kNarrow];
  std::memcpy(sum, &low, sizeof low);
  if constexpr (kWide) std::memcpy(sum + 8, &high, sizeof high);
  for (int64_t k = whole; k < K; ++k) {
    const float a = A.at(0, k);
    for (int64_t j = 0; j < N; ++j) sum[j] += a * B[k * ldb + j];
  }
  for (int64_t j = 0; j < N; ++j) row[j] = alpha * sum[j] + (beta == 0.0f ? 0.0f : beta * row[j]);
}

__attribute__((target_clones("arch=x86-64-v3", "default")))
void narrow_gemm_few_rows(int64_t M, int64_t N, int64_t K, float alpha, StridedA A, const float* __restrict B,
                          int64_t ldb, float beta, float* C, int64_t ldc) {
  for (int64_t i = 0; i < M; ++i) {
    const StridedA a_row{A.data + i * A.row_step, A.row_step, A.k_step};
    if (N > 8)
      narrow_row_unpadded<true>(N, K, alpha, a_row, B, ldb, beta, C + i * ldc);
    else
      narrow_row_unpadded<false>(N, K, alpha, a_row, B, ldb, beta, C + i * ldc);
  }
}

// A transposed A is read in place; a transposed B is copied untransposed into a per-thread
// buffer first (at most kSmallProduct values; the buffer grows once and is then reused).
void small_gemm(bool transpose_a, bool transpose_b, int64_t M, int64_t N, int64_t K, float alpha, const float* A,
                int64_t lda, const float* B, int64_t ldb, float beta, float* C, int64_t ldc) {
  thread_local std::vector<float> b_buffer;
  const StridedA a = transpose_a ? StridedA{A, 1, lda} : StridedA{A, lda, 1};  // transposed: stored (K, M)
  if (N <= kNarrow && M <= kFewRows && !transpose_b) return narrow_gemm_few_rows(M, N, K, alpha, a, B, ldb, beta, C, ldc);
  if (N <= kNarrow) {
    b_buffer.assign(static_cast<size_t>(K * kNarrow), 0.0f);
    for (int64_t k = 0; k < K; ++k)
      for (int64_t j = 0; j < N; ++j) b_buffer[k * kNarrow + j] = transpose_b ? B[j * ldb + k] : B[k * ldb + j];
    return narrow_gemm(M, N, K, alpha, a, b_buffer.data(), beta, C, ldc);
  }
  if (transpose_b) {  // B is stored (N, K)
    b_buffer.resize(static_cast<size_t>(K * N));
    for (int64_t j = 0; j < N; ++j)
      for (int64_t k = 0; k < K; ++k) b_buffer[k * N + j] = B[j * ldb + k];
    B = b_buffer.data(), ldb = N;
  }
  small_gemm_nn(M, N, K, alpha, a, B, ldb, beta, C, ldc);
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
