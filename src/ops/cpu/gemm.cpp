// ops::gemm over oneDNN's row-major sgemm. oneDNN picks its kernel from the processor's
// instruction sets at run time (AVX2, AVX-512, AMX), so no core-type detection of a BLAS
// library can slow it down (Debian's OpenBLAS 0.3.21 does not know recent Xeons and falls
// back to an SSE3 kernel 5-10 times slower). Its OpenMP team is sized from citadel's one
// thread setting and is shared with citadel's own parallel loops. docs/DESIGN.md records
// the measurements behind the choice.
#include "citadel/ops/gemm.hpp"

#include <dnnl.h>

#include <atomic>
#include <string>

#include "citadel/core/error.hpp"
#include "citadel/core/threads.hpp"

#ifdef _OPENMP
#include <omp.h>
#endif

namespace citadel::ops {
namespace {

void apply_thread_setting() {
#ifdef _OPENMP
  static std::atomic<int> applied{0};
  const int wanted = num_threads();
  if (applied.load(std::memory_order_relaxed) != wanted) {
    omp_set_num_threads(wanted);
    applied.store(wanted, std::memory_order_relaxed);
  }
#endif
}

}  // namespace

void gemm(Transpose transpose_a, Transpose transpose_b, int64_t M, int64_t N, int64_t K,
          float alpha, const float* A, int64_t lda, const float* B, int64_t ldb, float beta,
          float* C, int64_t ldc) {
  if (M == 0 || N == 0) return;
  apply_thread_setting();
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
