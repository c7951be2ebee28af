// Kernels of 2-D convolution over channels-last (NHWC) images. Two routes to the same
// result: direct (oneDNN's convolution primitives on the images where they lie, the fast
// path for training and inference), and GEMM on the unfolded input (im2col): each output
// pixel's receptive field becomes one row of a (N·OH·OW, KH·KW·C) matrix, and the Keras
// kernel (KH, KW, C, F) is already the (KH·KW·C, F) matrix it multiplies. The unfolded
// input is what per-example gradients need, and what the bf16 products take.
#pragma once

#include <cstdint>
#include <span>

#include "citadel/core/tensor.hpp"

namespace citadel::ops {

// Output length and leading padding along one axis, as TensorFlow pads: "valid" pads
// nothing; "same" gives ceil(in / stride) outputs, with any odd padding at the end.
struct AxisGeometry {
  int64_t out = 0;
  int64_t pad_before = 0;
};
AxisGeometry axis_geometry(int64_t in, int64_t kernel, int64_t stride, int64_t dilation, bool same);

struct Conv2DGeometry {
  int64_t batch = 0, in_h = 0, in_w = 0, in_c = 0;
  int64_t kernel_h = 1, kernel_w = 1, stride_h = 1, stride_w = 1, dilation_h = 1, dilation_w = 1;
  int64_t pad_top = 0, pad_left = 0, out_h = 0, out_w = 0, filters = 0;

  int64_t patch() const { return kernel_h * kernel_w * in_c; }  // columns of the unfolded input
  int64_t rows() const { return batch * out_h * out_w; }         // rows of the unfolded input
};

// cols (rows, patch) = the receptive fields of x (N, H, W, C); padding reads as zero.
void im2col(const float* x, const Conv2DGeometry& g, float* cols);
// dx (N, H, W, C) = Σ of cols scattered back to where im2col read them (overwrites dx).
void col2im(const float* cols, const Conv2DGeometry& g, float* dx);

// y (N, OH, OW, F) = unfold(x) · kernel + bias. `cols` is scratch, resized as needed
// and kept for the backward pass.
void conv2d_forward(ConstTensorView x, ConstTensorView kernel, ConstTensorView bias,
                    const Conv2DGeometry& g, Tensor& cols, TensorView y);
// From dy (N, OH, OW, F) and the forward's cols: dkernel += colsᵀ·dy, dbias += Σ dy
// (accumulate; each skipped when empty); dx = fold(dy·kernelᵀ) (overwrites; skipped
// when dx is empty). `dcols` is scratch.
void conv2d_backward(ConstTensorView cols, ConstTensorView kernel, ConstTensorView dy,
                     const Conv2DGeometry& g, Tensor& dcols, TensorView dx, TensorView dkernel,
                     TensorView dbias);

// Direct convolution (conv2d_direct.cpp), the same contracts as the two above without
// the unfolded input: y = conv(x, kernel) + bias (overwrites); dkernel += and dbias +=
// their gradients from x and dy (each skipped when empty), dx = the input gradient
// (overwrites; skipped when empty). Primitives are cached per geometry and thread.
void conv2d_direct_forward(ConstTensorView x, ConstTensorView kernel, ConstTensorView bias,
                           const Conv2DGeometry& g, TensorView y);
void conv2d_direct_backward(ConstTensorView x, ConstTensorView kernel, ConstTensorView dy,
                            const Conv2DGeometry& g, TensorView dx, TensorView dkernel, TensorView dbias);

// Each example's share of the kernel and bias gradients, from the forward's cols and dy
// (N, positions, F): with a sink (N, patch·F [+ F]) added into the example's row (a layer
// called more than once sums its calls), otherwise its squared L2 norm written to
// squared_norms[n] (DP-SGD's clipping). `scratch` holds one example's (patch, F) gradient.
void conv_per_example_gradients(ConstTensorView cols, ConstTensorView dy, const Conv2DGeometry& g, bool use_bias,
                                Tensor& scratch, TensorView sink, std::span<double> squared_norms);

}  // namespace citadel::ops
