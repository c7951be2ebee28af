// Pooling kernels, split over threads by image.
#include "citadel/ops/pooling.hpp"

#include <algorithm>
#include <limits>

#include "parallel.hpp"

namespace citadel::ops {
namespace {

struct Window {
  int64_t h0, h1, w0, w1;  // the window's rows and columns inside the image, [h0, h1)
};

Window window(const Pool2DGeometry& g, int64_t oh, int64_t ow) {
  const int64_t h = oh * g.stride_h - g.pad_top, w = ow * g.stride_w - g.pad_left;
  return {std::max<int64_t>(h, 0), std::min(h + g.pool_h, g.in_h), std::max<int64_t>(w, 0),
          std::min(w + g.pool_w, g.in_w)};
}

int64_t image_grain(const Pool2DGeometry& g) {
  return 1 + 16384 / std::max<int64_t>(1, g.out_h * g.out_w * g.channels * g.pool_h * g.pool_w);
}

}  // namespace

void max_pool2d_forward(ConstTensorView x, const Pool2DGeometry& g, TensorView y,
                        std::vector<int64_t>& argmax) {
  const int64_t C = g.channels;
  argmax.resize(static_cast<size_t>(y.numel()));
  detail::parallel_for(g.batch, image_grain(g), [&](int64_t begin, int64_t end) {
    for (int64_t n = begin; n < end; ++n) {
      for (int64_t oh = 0; oh < g.out_h; ++oh) {
        for (int64_t ow = 0; ow < g.out_w; ++ow) {
          const Window win = window(g, oh, ow);
          const int64_t out = ((n * g.out_h + oh) * g.out_w + ow) * C;
          float* best = y.data() + out;
          int64_t* where = argmax.data() + out;
          std::fill_n(best, C, -std::numeric_limits<float>::infinity());
          std::fill_n(where, C, ((n * g.in_h + win.h0) * g.in_w + win.w0) * C);
          for (int64_t c = 0; c < C; ++c) where[c] += c;
          for (int64_t h = win.h0; h < win.h1; ++h) {
            for (int64_t w = win.w0; w < win.w1; ++w) {
              const int64_t in = ((n * g.in_h + h) * g.in_w + w) * C;
              const float* pixel = x.data() + in;
              for (int64_t c = 0; c < C; ++c) {
                if (pixel[c] > best[c]) {
                  best[c] = pixel[c];
                  where[c] = in + c;
                }
              }
            }
          }
        }
      }
    }
  });
}

void max_pool2d_backward(ConstTensorView dy, const Pool2DGeometry& g, const std::vector<int64_t>& argmax,
                         TensorView dx) {
  // Each image's maxima lie in that image, so images scatter independently.
  const int64_t in_size = g.in_h * g.in_w * g.channels, out_size = g.out_h * g.out_w * g.channels;
  detail::parallel_for(g.batch, image_grain(g), [&](int64_t begin, int64_t end) {
    std::fill(dx.data() + begin * in_size, dx.data() + end * in_size, 0.0f);
    for (int64_t i = begin * out_size; i < end * out_size; ++i) dx[argmax[static_cast<size_t>(i)]] += dy[i];
  });
}

void average_pool2d_forward(ConstTensorView x, const Pool2DGeometry& g, TensorView y) {
  const int64_t C = g.channels;
  detail::parallel_for(g.batch, image_grain(g), [&](int64_t begin, int64_t end) {
    for (int64_t n = begin; n < end; ++n) {
      for (int64_t oh = 0; oh < g.out_h; ++oh) {
        for (int64_t ow = 0; ow < g.out_w; ++ow) {
          const Window win = window(g, oh, ow);
          float* sum = y.data() + ((n * g.out_h + oh) * g.out_w + ow) * C;
          std::fill_n(sum, C, 0.0f);
          for (int64_t h = win.h0; h < win.h1; ++h)
            for (int64_t w = win.w0; w < win.w1; ++w) {
              const float* pixel = x.data() + ((n * g.in_h + h) * g.in_w + w) * C;
              for (int64_t c = 0; c < C; ++c) sum[c] += pixel[c];
            }
          const float inverse = 1.0f / static_cast<float>((win.h1 - win.h0) * (win.w1 - win.w0));
          for (int64_t c = 0; c < C; ++c) sum[c] *= inverse;
        }
      }
    }
  });
}

void average_pool2d_backward(ConstTensorView dy, const Pool2DGeometry& g, TensorView dx) {
  const int64_t C = g.channels;
  detail::parallel_for(g.batch, image_grain(g), [&](int64_t begin, int64_t end) {
    std::fill(dx.data() + begin * g.in_h * g.in_w * C, dx.data() + end * g.in_h * g.in_w * C, 0.0f);
    for (int64_t n = begin; n < end; ++n) {
      for (int64_t oh = 0; oh < g.out_h; ++oh) {
        for (int64_t ow = 0; ow < g.out_w; ++ow) {
          const Window win = window(g, oh, ow);
          const float* grad = dy.data() + ((n * g.out_h + oh) * g.out_w + ow) * C;
          const float inverse = 1.0f / static_cast<float>((win.h1 - win.h0) * (win.w1 - win.w0));
          for (int64_t h = win.h0; h < win.h1; ++h)
            for (int64_t w = win.w0; w < win.w1; ++w) {
              float* pixel = dx.data() + ((n * g.in_h + h) * g.in_w + w) * C;
              for (int64_t c = 0; c < C; ++c) pixel[c] += grad[c] * inverse;
            }
        }
      }
    }
  });
}

}  // namespace citadel::ops
