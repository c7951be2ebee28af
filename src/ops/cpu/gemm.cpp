// ops::gemm over OpenBLAS's CBLAS interface. OpenBLAS's own thread pool is sized from
// citadel's one thread setting before each call, so BLAS and OpenMP never oversubscribe.
#include "citadel/ops/gemm.hpp"

#include <cblas.h>

#include <atomic>

#include "citadel/core/threads.hpp"

namespace citadel::ops {
namespace {

void apply_thread_setting() {
  static std::atomic<int> applied{0};
  const int wanted = num_threads();
  if (applied.load(std::memory_order_relaxed) != wanted) {
    openblas_set_num_threads(wanted);
    applied.store(wanted, std::memory_order_relaxed);
  }
}

CBLAS_TRANSPOSE to_cblas(Transpose transpose) {
  return transpose == Transpose::kYes ? CblasTrans : CblasNoTrans;
}

}  // namespace

void gemm(Transpose transpose_a, Transpose transpose_b, int64_t M, int64_t N, int64_t K,
          float alpha, const float* A, int64_t lda, const float* B, int64_t ldb, float beta,
          float* C, int64_t ldc) {
  if (M == 0 || N == 0) return;
  apply_thread_setting();
  cblas_sgemm(CblasRowMajor, to_cblas(transpose_a), to_cblas(transpose_b),
              static_cast<blasint>(M), static_cast<blasint>(N), static_cast<blasint>(K), alpha,
              A, static_cast<blasint>(lda), B, static_cast<blasint>(ldb), beta, C,
              static_cast<blasint>(ldc));
}

const char* gemm_backend() { return openblas_get_config(); }

}  // namespace citadel::ops
