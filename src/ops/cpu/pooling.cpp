// Pooling kernels, split over threads by image.
#include "citadel/ops/pooling.hpp"

#include <algorithm>

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

// Routes pending[c] to target[c] where value[c] is the maximum, once per channel. The
// restrict-qualified, branch-free form lets the compiler vectorize it.
void route_to_maximum(const float* __restrict value, const float* __restrict maximum, float* __restrict target,
                      float* __restrict pending, int64_t width) {
  for (int64_t c = 0; c < width; ++c) {
    const float hit = value[c] == maximum[c] ? 1.0f : 0.0f;
    target[c] += hit * pending[c];
    pending[c] -= hit * pending[c];
  }
}

int64_t image_grain(const Pool2DGeometry& g) {
  return 1 + 16384 / std::max<int64_t>(1, g.out_h * g.out_w * g.channels * g.pool_h * g.pool_w);
}

}  // namespace

void max_pool2d_forward(ConstTensorView x, const Pool2DGeometry& g, TensorView y) {
  const int64_t C = g.channels;
  detail::parallel_for(g.batch, image_grain(g), [&](int64_t begin, int64_t end) {
    for (int64_t n = begin; n < end; ++n) {
      for (int64_t oh = 0; oh < g.out_h; ++oh) {
        for (int64_t ow = 0; ow < g.out_w; ++ow) {
          const Window win = window(g, oh, ow);
          float* best = y.data() + ((n * g.out_h + oh) * g.out_w + ow) * C;
          std::copy_n(x.data() + ((n * g.in_h + win.h0) * g.in_w + win.w0) * C, C, best);
          for (int64_t h = win.h0; h < win.h1; ++h)
            for (int64_t w = win.w0; w < win.w1; ++w) {
              const float* pixel = x.data() + ((n * g.in_h + h) * g.in_w + w) * C;
              for (int64_t c = 0; c < C; ++c) best[c] = std::max(best[c], pixel[c]);
            }
        }
      }
    }
  });
}

void max_pool2d_backward(ConstTensorView x, ConstTensorView y, ConstTensorView dy, const Pool2DGeometry& g,
                         TensorView dx) {
  const int64_t C = g.channels, in_size = g.in_h * g.in_w * C;
  constexpr int64_t kBlock = 256;  // channels handled at once; `pending` lives on the stack
  // Each image's maxima lie in that image, so images scatter independently.
  detail::parallel_for(g.batch, image_grain(g), [&](int64_t begin, int64_t end) {
    float pending[kBlock];  // the gradient still to route, per channel of the block
    std::fill(dx.data() + begin * in_size, dx.data() + end * in_size, 0.0f);
    for (int64_t n = begin; n < end; ++n) {
      for (int64_t oh = 0; oh < g.out_h; ++oh) {
        for (int64_t ow = 0; ow < g.out_w; ++ow) {
          const Window win = window(g, oh, ow);
          const int64_t out = ((n * g.out_h + oh) * g.out_w + ow) * C;
          for (int64_t c0 = 0; c0 < C; c0 += kBlock) {
            const int64_t width = std::min(kBlock, C - c0);
            std::copy_n(dy.data() + out + c0, width, pending);
            const float* maximum = y.data() + out + c0;
            // In row-major order the first pixel equal to the maximum takes the gradient;
            // written branch-free so that the channel loop vectorizes.
            for (int64_t h = win.h0; h < win.h1; ++h)
              for (int64_t w = win.w0; w < win.w1; ++w) {
                const int64_t in = ((n * g.in_h + h) * g.in_w + w) * C + c0;
                route_to_maximum(x.data() + in, maximum, dx.data() + in, pending, width);
              }
          }
        }
      }
    }
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
