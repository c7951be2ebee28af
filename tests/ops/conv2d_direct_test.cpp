// The direct convolution (oneDNN's primitives) against a plain loop for the forward, and
// against the im2col + GEMM path for the gradients, on geometries that exercise strides,
// "same" and "valid" padding, dilation, 1x1 and non-square kernels, odd batches and
// batch 1, with and without bias, at one and two threads.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

#include "citadel/core/random.hpp"
#include "citadel/core/threads.hpp"
#include "citadel/ops/conv2d.hpp"

namespace conv2d_direct_test {

using namespace citadel;

namespace {

struct Case {
  int64_t batch, height, width, channels, kernel_h, kernel_w, stride, dilation;
  bool same;
  int64_t filters;
  bool bias;
};

const Case kCases[] = {
    {1, 5, 7, 3, 3, 3, 1, 1, false, 4, true},     // batch 1, valid
    {3, 8, 8, 2, 3, 3, 2, 1, true, 5, false},     // odd batch, strided same
    {2, 9, 6, 4, 1, 1, 1, 1, false, 16, true},    // 1x1
    {5, 10, 10, 3, 3, 2, 1, 2, true, 7, true},    // dilated, non-square kernel
    {7, 7, 7, 32, 3, 3, 1, 1, true, 64, true},    // wide enough for oneDNN's blocked kernels
    {2, 6, 5, 1, 5, 5, 3, 1, true, 3, false},     // kernel as large as the image, stride 3
    {4, 14, 14, 16, 1, 1, 2, 1, false, 32, false},  // strided 1x1 projection
    {3, 11, 9, 5, 4, 4, 2, 1, false, 6, true},    // even kernel, strided valid with a leftover
};

ops::Conv2DGeometry geometry_of(const Case& c) {
  const auto rows = ops::axis_geometry(c.height, c.kernel_h, c.stride, c.dilation, c.same);
  const auto cols = ops::axis_geometry(c.width, c.kernel_w, c.stride, c.dilation, c.same);
  return {.batch = c.batch, .in_h = c.height, .in_w = c.width, .in_c = c.channels,
          .kernel_h = c.kernel_h, .kernel_w = c.kernel_w, .stride_h = c.stride, .stride_w = c.stride,
          .dilation_h = c.dilation, .dilation_w = c.dilation, .pad_top = rows.pad_before,
          .pad_left = cols.pad_before, .out_h = rows.out, .out_w = cols.out, .filters = c.filters};
}

// y[n, oh, ow, f] = b[f] + Σ x[n, ih, iw, c]·k[kh, kw, c, f], straight from the definition.
Tensor naive_forward(const Tensor& x, const Tensor& k, const Tensor* b, const ops::Conv2DGeometry& g) {
  Tensor y(Shape{g.batch, g.out_h, g.out_w, g.filters});
  for (int64_t n = 0; n < g.batch; ++n)
    for (int64_t oh = 0; oh < g.out_h; ++oh)
      for (int64_t ow = 0; ow < g.out_w; ++ow)
        for (int64_t f = 0; f < g.filters; ++f) {
          double sum = b == nullptr ? 0.0 : (*b)[f];
          for (int64_t kh = 0; kh < g.kernel_h; ++kh)
            for (int64_t kw = 0; kw < g.kernel_w; ++kw) {
              const int64_t ih = oh * g.stride_h - g.pad_top + kh * g.dilation_h;
              const int64_t iw = ow * g.stride_w - g.pad_left + kw * g.dilation_w;
              if (ih < 0 || ih >= g.in_h || iw < 0 || iw >= g.in_w) continue;
              for (int64_t c = 0; c < g.in_c; ++c)
                sum += double(x[((n * g.in_h + ih) * g.in_w + iw) * g.in_c + c]) *
                       k[((kh * g.kernel_w + kw) * g.in_c + c) * g.filters + f];
            }
          y[((n * g.out_h + oh) * g.out_w + ow) * g.filters + f] = static_cast<float>(sum);
        }
  return y;
}

void expect_close(const Tensor& actual, const Tensor& expected, const char* what) {
  ASSERT_EQ(actual.shape(), expected.shape()) << what;
  float largest = 1.0f;
  for (int64_t i = 0; i < expected.numel(); ++i) largest = std::max(largest, std::abs(expected[i]));
  for (int64_t i = 0; i < expected.numel(); ++i)
    ASSERT_NEAR(actual[i], expected[i], 2e-5f * largest) << what << " at " << i;
}

class Conv2DDirectTest : public ::testing::TestWithParam<std::tuple<int, int>> {};

TEST_P(Conv2DDirectTest, MatchesTheDefinitionAndTheUnfoldedPath) {
  const auto [index, threads] = GetParam();
  const Case& c = kCases[index];
  const ops::Conv2DGeometry g = geometry_of(c);
  ASSERT_GT(g.out_h, 0);
  ASSERT_GT(g.out_w, 0);
  const int previous = num_threads();
  set_num_threads(threads);
  const Tensor x = random::normal({g.batch, g.in_h, g.in_w, g.in_c});
  const Tensor kernel = random::normal({g.kernel_h, g.kernel_w, g.in_c, g.filters});
  const Tensor bias = c.bias ? random::normal({g.filters}) : Tensor();
  const Tensor dy = random::normal({g.batch, g.out_h, g.out_w, g.filters});

  Tensor direct(Shape{g.batch, g.out_h, g.out_w, g.filters});
  ops::conv2d_direct_forward(x, kernel, bias, g, direct);
  expect_close(direct, naive_forward(x, kernel, c.bias ? &bias : nullptr, g), "forward");

  // The gradients accumulate onto what is there; the input gradient overwrites.
  const Tensor dkernel_start = random::normal(kernel.shape()), dbias_start = random::normal({g.filters});
  Tensor cols, dcols, unfolded_y(direct.shape());
  ops::conv2d_forward(x, kernel, bias, g, cols, unfolded_y);
  Tensor dx_expected = random::normal(x.shape()), dkernel_expected = dkernel_start, dbias_expected = dbias_start;
  ops::conv2d_backward(cols, kernel, dy, g, dcols, dx_expected, dkernel_expected,
                       c.bias ? TensorView(dbias_expected) : TensorView());
  Tensor dx = random::normal(x.shape()), dkernel = dkernel_start, dbias = dbias_start;
  ops::conv2d_direct_backward(x, kernel, dy, g, dx, dkernel, c.bias ? TensorView(dbias) : TensorView());
  expect_close(dx, dx_expected, "input gradient");
  expect_close(dkernel, dkernel_expected, "kernel gradient");
  expect_close(dbias, dbias_expected, "bias gradient");

  // Each output on its own: parameter gradients without the input gradient, and back.
  Tensor dkernel_only = dkernel_start;
  ops::conv2d_direct_backward(x, kernel, dy, g, TensorView(), dkernel_only, TensorView());
  expect_close(dkernel_only, dkernel_expected, "kernel gradient alone");
  Tensor dx_only(x.shape());
  ops::conv2d_direct_backward(x, kernel, dy, g, dx_only, TensorView(), TensorView());
  expect_close(dx_only, dx_expected, "input gradient alone");
  set_num_threads(previous);
}

INSTANTIATE_TEST_SUITE_P(Geometries, Conv2DDirectTest,
                         ::testing::Combine(::testing::Range(0, int(std::size(kCases))), ::testing::Values(1, 2)));

// A batch smaller than the one the primitives were made for (the last batch of an epoch)
// gets primitives of its own, and the first geometry's still give the same result after.
TEST(Conv2DDirect, BatchSizesThatComeAndGoKeepTheirResults) {
  const Case c{6, 9, 9, 8, 3, 3, 1, 1, true, 16, true};
  ops::Conv2DGeometry g = geometry_of(c);
  const Tensor x = random::normal({g.batch, g.in_h, g.in_w, g.in_c});
  const Tensor kernel = random::normal({3, 3, 8, 16}), bias = random::normal({16});
  Tensor y(Shape{g.batch, g.out_h, g.out_w, g.filters});
  ops::conv2d_direct_forward(x, kernel, bias, g, y);
  const Tensor first = y;
  ops::Conv2DGeometry small = g;
  small.batch = 1;
  Tensor y_small(Shape{1, g.out_h, g.out_w, g.filters});
  ops::conv2d_direct_forward(ConstTensorView(x.data(), Shape{1, g.in_h, g.in_w, g.in_c}), kernel, bias, small,
                             y_small);
  for (int64_t i = 0; i < y_small.numel(); ++i) ASSERT_FLOAT_EQ(y_small[i], first[i]);
  ops::conv2d_direct_forward(x, kernel, bias, g, y);
  for (int64_t i = 0; i < y.numel(); ++i) ASSERT_FLOAT_EQ(y[i], first[i]);
}

}  // namespace

}  // namespace conv2d_direct_test
