// Kernels of 2-D pooling over channels-last (NHWC) images. Padding ("same") is never a
// value: max pooling ignores it and average pooling divides by the pixels inside the
// image, as Keras (TensorFlow) does.
#pragma once

#include <cstdint>

#include "citadel/core/tensor.hpp"

namespace citadel::ops {

struct Pool2DGeometry {
  int64_t batch = 0, in_h = 0, in_w = 0, channels = 0;
  int64_t pool_h = 2, pool_w = 2, stride_h = 2, stride_w = 2;
  int64_t pad_top = 0, pad_left = 0, out_h = 0, out_w = 0;
};

// y (N, OH, OW, C) = the maximum of each window (a branch-free, vectorized loop; the
// positions of the maxima are found again by the backward pass, which training alone needs).
void max_pool2d_forward(ConstTensorView x, const Pool2DGeometry& g, TensorView y);
// dx = dy routed to each window's maximum, the first one in row-major order on ties
// (overwrites dx). x and y are the forward's input and output.
void max_pool2d_backward(ConstTensorView x, ConstTensorView y, ConstTensorView dy, const Pool2DGeometry& g,
                         TensorView dx);

void average_pool2d_forward(ConstTensorView x, const Pool2DGeometry& g, TensorView y);
void average_pool2d_backward(ConstTensorView dy, const Pool2DGeometry& g, TensorView dx);

}  // namespace citadel::ops
