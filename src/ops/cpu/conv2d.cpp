// Convolution as im2col + GEMM. The unfold and fold loops are split over threads by
// output rows (im2col) and by image (col2im, whose images never overlap).
#include "citadel/ops/conv2d.hpp"

#include <algorithm>
#include <cstring>
#include <type_traits>

#include "citadel/ops/gemm.hpp"
#include "parallel.hpp"

namespace citadel::ops {

AxisGeometry axis_geometry(int64_t in, int64_t kernel, int64_t stride, int64_t dilation, bool same) {
  const int64_t span = (kernel - 1) * dilation + 1;
  if (!same) return {in >= span ? (in - span) / stride + 1 : 0, 0};
  const int64_t out = (in + stride - 1) / stride;
  const int64_t total_pad = std::max<int64_t>((out - 1) * stride + span - in, 0);
  return {out, total_pad / 2};
}

namespace {

// Copies (or, with kFold, adds back) one output pixel's receptive field.
enum class Direction { kUnfold, kFold };

template <Direction direction>
void visit_receptive_field(const Conv2DGeometry& g, int64_t n, int64_t oh, int64_t ow,
                           std::conditional_t<direction == Direction::kUnfold, const float*, float*> image,
                           std::conditional_t<direction == Direction::kUnfold, float*, const float*> row) {
  const int64_t C = g.in_c;
  const int64_t iw0 = ow * g.stride_w - g.pad_left;
  for (int64_t kh = 0; kh < g.kernel_h; ++kh) {
    const int64_t ih = oh * g.stride_h - g.pad_top + kh * g.dilation_h;
    if constexpr (direction == Direction::kUnfold) {
      // An undilated kernel row inside the image is one contiguous run of KW·C values.
      if (g.dilation_w == 1 && ih >= 0 && ih < g.in_h && iw0 >= 0 && iw0 + g.kernel_w <= g.in_w) {
        std::memcpy(row, image + ((n * g.in_h + ih) * g.in_w + iw0) * C, g.kernel_w * C * sizeof(float));
        row += g.kernel_w * C;
        continue;
      }
    }
    for (int64_t kw = 0; kw < g.kernel_w; ++kw, row += C) {
      const int64_t iw = iw0 + kw * g.dilation_w;
      const bool inside = ih >= 0 && ih < g.in_h && iw >= 0 && iw < g.in_w;
      if constexpr (direction == Direction::kUnfold) {
        if (inside)
          std::memcpy(row, image + ((n * g.in_h + ih) * g.in_w + iw) * C, C * sizeof(float));
        else
          std::memset(row, 0, C * sizeof(float));
      } else if (inside) {
        float* target = image + ((n * g.in_h + ih) * g.in_w + iw) * C;
        for (int64_t c = 0; c < C; ++c) target[c] += row[c];
      }
    }
  }
}

}  // namespace

void im2col(const float* x, const Conv2DGeometry& g, float* cols) {
  const int64_t pixels = g.out_h * g.out_w, patch = g.patch();
  detail::parallel_for(g.rows(), 4096 / std::max<int64_t>(1, patch) + 1, [&](int64_t begin, int64_t end) {
    for (int64_t r = begin; r < end; ++r) {
      const int64_t n = r / pixels, oh = (r % pixels) / g.out_w, ow = r % g.out_w;
      visit_receptive_field<Direction::kUnfold>(g, n, oh, ow, x, cols + r * patch);
    }
  });
}

void col2im(const float* cols, const Conv2DGeometry& g, float* dx) {
  const int64_t pixels = g.out_h * g.out_w, patch = g.patch();
  const int64_t image_size = g.in_h * g.in_w * g.in_c;
  detail::parallel_for(g.batch, 1 + 4096 / std::max<int64_t>(1, pixels * patch), [&](int64_t begin, int64_t end) {
    std::fill(dx + begin * image_size, dx + end * image_size, 0.0f);
    for (int64_t n = begin; n < end; ++n)
      for (int64_t p = 0; p < pixels; ++p)
        visit_receptive_field<Direction::kFold>(g, n, p / g.out_w, p % g.out_w, dx,
                                                cols + (n * pixels + p) * patch);
  });
}

void conv2d_forward(ConstTensorView x, ConstTensorView kernel, ConstTensorView bias,
                    const Conv2DGeometry& g, Tensor& cols, TensorView y) {
  const int64_t rows = g.rows(), patch = g.patch(), F = g.filters;
  cols.resize(Shape{rows, patch});
  im2col(x.data(), g, cols.data());
  float beta = 0.0f;
  if (!bias.empty()) {  // seed y with the bias, then accumulate the product onto it
    detail::parallel_for(rows, 16384 / F + 1, [&](int64_t begin, int64_t end) {
      for (int64_t r = begin; r < end; ++r) std::memcpy(y.data() + r * F, bias.data(), F * sizeof(float));
    });
    beta = 1.0f;
  }
  gemm(Transpose::kNo, Transpose::kNo, rows, F, patch, 1.0f, cols.data(), patch, kernel.data(), F,
       beta, y.data(), F);
}

void conv2d_backward(ConstTensorView cols, ConstTensorView kernel, ConstTensorView dy,
                     const Conv2DGeometry& g, Tensor& dcols, TensorView dx, TensorView dkernel,
                     TensorView dbias) {
  const int64_t rows = g.rows(), patch = g.patch(), F = g.filters;
  if (!dkernel.empty())
    gemm(Transpose::kYes, Transpose::kNo, patch, F, rows, 1.0f, cols.data(), patch, dy.data(), F, 1.0f,
         dkernel.data(), F);
  if (!dbias.empty()) {
    for (int64_t r = 0; r < rows; ++r) {
      const float* row = dy.data() + r * F;
      for (int64_t f = 0; f < F; ++f) dbias[f] += row[f];
    }
  }
  if (dx.empty()) return;
  dcols.resize(Shape{rows, patch});
  gemm(Transpose::kNo, Transpose::kYes, rows, patch, F, 1.0f, dy.data(), F, kernel.data(), F, 0.0f,
       dcols.data(), patch);
  col2im(dcols.data(), g, dx.data());
}

void conv_per_example_gradients(ConstTensorView cols_all, ConstTensorView dy_all, const Conv2DGeometry& g,
                                bool use_bias, Tensor& scratch, TensorView sink, std::span<double> squared_norms) {
  const int64_t N = g.batch, P = g.out_h * g.out_w, patch = g.patch(), F = g.filters;
  scratch.resize(Shape{patch, F});
  for (int64_t n = 0; n < N; ++n) {
    const float* cols = cols_all.data() + n * P * patch;
    const float* dy = dy_all.data() + n * P * F;
    gemm(Transpose::kYes, Transpose::kNo, patch, F, P, 1.0f, cols, patch, dy, F, 0.0f, scratch.data(), F);
    if (!sink.empty()) {
      float* row = sink.data() + n * sink.shape(1);
      for (int64_t i = 0; i < patch * F; ++i) row[i] += scratch[i];
      if (use_bias)
        for (int64_t f = 0; f < F; ++f)
          for (int64_t p = 0; p < P; ++p) row[patch * F + f] += dy[p * F + f];
      continue;
    }
    double total = 0;
    for (int64_t i = 0; i < patch * F; ++i) total += double(scratch[i]) * scratch[i];
    if (use_bias)
      for (int64_t f = 0; f < F; ++f) {
        double bias = 0;
        for (int64_t p = 0; p < P; ++p) bias += dy[p * F + f];
        total += bias * bias;
      }
    squared_norms[size_t(n)] = total;
  }
}

}  // namespace citadel::ops
