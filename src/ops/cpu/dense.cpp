// Fully connected layer kernels: two GEMMs and a bias reduction.
#include "citadel/ops/dense.hpp"

#include "citadel/ops/gemm.hpp"

namespace citadel::ops {

void dense_forward(ConstTensorView x, ConstTensorView w, ConstTensorView b, TensorView y) {
  const int64_t N = x.shape(0), D = x.shape(1), U = w.shape(1);
  float beta = 0.0f;
  if (!b.empty()) {  // seed y with the bias, then accumulate x·W onto it
    for (int64_t n = 0; n < N; ++n) {
      float* row = y.data() + n * U;
      for (int64_t u = 0; u < U; ++u) row[u] = b[u];
    }
    beta = 1.0f;
  }
  gemm(Transpose::kNo, Transpose::kNo, N, U, D, 1.0f, x.data(), D, w.data(), U, beta, y.data(), U);
}

void dense_backward(ConstTensorView x, ConstTensorView w, ConstTensorView dy, TensorView dx,
                    TensorView dw, TensorView db) {
  const int64_t N = x.shape(0), D = x.shape(1), U = w.shape(1);
  if (!dx.empty())
    gemm(Transpose::kNo, Transpose::kYes, N, D, U, 1.0f, dy.data(), U, w.data(), U, 0.0f,
         dx.data(), D);
  if (!dw.empty())
    gemm(Transpose::kYes, Transpose::kNo, D, U, N, 1.0f, x.data(), D, dy.data(), U, 1.0f, dw.data(), U);
  if (!db.empty()) {
    for (int64_t n = 0; n < N; ++n) {
      const float* row = dy.data() + n * U;
      for (int64_t u = 0; u < U; ++u) db[u] += row[u];
    }
  }
}

}  // namespace citadel::ops
