// Kernels of the fully connected layer.
#pragma once

#include "citadel/core/tensor.hpp"

namespace citadel::ops {

// y = x·W + b.  x: (N, D), W: (D, U), b: (U) or empty, y: (N, U).
void dense_forward(ConstTensorView x, ConstTensorView w, ConstTensorView b, TensorView y);

// dx = dy·Wᵀ (overwrites; skipped when dx is empty).  dW += xᵀ·dy, db += Σ_n dy
// (accumulate; dW and db skipped when empty).  x: (N, D), dy: (N, U).
void dense_backward(ConstTensorView x, ConstTensorView w, ConstTensorView dy, TensorView dx,
                    TensorView dw, TensorView db);

}  // namespace citadel::ops
