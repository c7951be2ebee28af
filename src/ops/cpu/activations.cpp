// Activation kernels. Formulas follow Keras's definitions (keras.activations); GELU is
// the exact form x·Φ(x) (Hendrycks & Gimpel 2016), Keras's default.
#include "citadel/ops/activations.hpp"

#include "parallel.hpp"
#include "vector_activations.hpp"

#include <algorithm>
#include <cmath>
#include <numbers>

#include "citadel/core/error.hpp"

namespace citadel::ops {
namespace {

constexpr float kInvSqrt2 = 0.70710678118654752f;
constexpr float kInvSqrt2Pi = 0.39894228040143268f;

// Element-wise loops are split over threads only past this many elements (a convolution's
// output), so small models never pay for waking threads.
constexpr int64_t kElementsPerThread = 1 << 16;

template <typename Function>
void map(ConstTensorView z, TensorView y, Function function) {
  const float* in = z.data();
  float* out = y.data();
  detail::parallel_for(z.numel(), kElementsPerThread, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) out[i] = function(in[i]);
  });
}

// dz[i] = derivative(z[i], y[i]) * dy[i]
template <typename Derivative>
void chain(ConstTensorView z, ConstTensorView y, ConstTensorView dy, TensorView dz,
           Derivative derivative) {
  detail::parallel_for(z.numel(), kElementsPerThread, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) dz[i] = derivative(z[i], y[i]) * dy[i];
  });
}

void softmax_forward(ConstTensorView z, TensorView y) {
  const int64_t C = z.shape(z.rank() - 1);
  const int64_t rows = C == 0 ? 0 : z.numel() / C;
  for (int64_t r = 0; r < rows; ++r) {
    const float* in = z.data() + r * C;
    float* out = y.data() + r * C;
    const float peak = *std::max_element(in, in + C);  // shift for overflow safety
    float total = 0.0f;
    for (int64_t c = 0; c < C; ++c) total += out[c] = std::exp(in[c] - peak);
    const float scale = 1.0f / total;
    for (int64_t c = 0; c < C; ++c) out[c] *= scale;
  }
}

// dz = y ⊙ (dy − Σ_c dy_c y_c), the softmax Jacobian-vector product.
void softmax_backward(ConstTensorView y, ConstTensorView dy, TensorView dz) {
  const int64_t C = y.shape(y.rank() - 1);
  const int64_t rows = C == 0 ? 0 : y.numel() / C;
  for (int64_t r = 0; r < rows; ++r) {
    const float* out = y.data() + r * C;
    const float* grad = dy.data() + r * C;
    float dot = 0.0f;
    for (int64_t c = 0; c < C; ++c) dot += grad[c] * out[c];
    for (int64_t c = 0; c < C; ++c) dz[r * C + c] = out[c] * (grad[c] - dot);
  }
}

}  // namespace

float stable_sigmoid(float z) {
  if (z >= 0) return 1.0f / (1.0f + std::exp(-z));
  const float e = std::exp(z);
  return e / (1.0f + e);
}

float stable_softplus(float z) { return std::max(z, 0.0f) + std::log1p(std::exp(-std::fabs(z))); }

void activation_forward(ActivationKind kind, ConstTensorView z, TensorView y) {
  CITADEL_ASSERT(z.shape() == y.shape(), "activation shapes differ: ", z.shape(), " vs ", y.shape());
  switch (kind) {
    case ActivationKind::kLinear:
      if (y.data() != z.data()) std::copy_n(z.data(), z.numel(), y.data());
      return;
    case ActivationKind::kRelu:
      // Written so that NaN propagates (NaN < 0 is false): bad data must not vanish.
      return map(z, y, [](float v) { return v < 0 ? 0.0f : v; });
    case ActivationKind::kSigmoid:
      return map(z, y, stable_sigmoid);
    case ActivationKind::kTanh:  // eight values at a time (vector_activations.hpp), not glibc's tanhf each
      detail::parallel_for(z.numel(), kElementsPerThread, [&](int64_t begin, int64_t end) {
        if (y.data() != z.data()) std::copy(z.data() + begin, z.data() + end, y.data() + begin);
        detail::tanh_in_place(y.data() + begin, end - begin);
      });
      return;
    case ActivationKind::kSoftmax:
      return softmax_forward(z, y);
    case ActivationKind::kLeakyRelu:
      return map(z, y, [](float v) { return v < 0 ? kLeakyReluSlope * v : v; });
    case ActivationKind::kElu:
      return map(z, y, [](float v) { return v > 0 ? v : kEluAlpha * std::expm1(v); });
    case ActivationKind::kSelu:
      return map(z, y, [](float v) {
        return kSeluScale * (v > 0 ? v : kSeluAlpha * std::expm1(v));
      });
    case ActivationKind::kGelu:
      return map(z, y, [](float v) { return 0.5f * v * std::erfc(-v * kInvSqrt2); });
    case ActivationKind::kSoftplus:
      return map(z, y, stable_softplus);
    case ActivationKind::kSwish:
      return map(z, y, [](float v) { return v * stable_sigmoid(v); });
  }
  CITADEL_ASSERT(false, "unhandled activation kind");
}

void activation_backward(ActivationKind kind, ConstTensorView z, ConstTensorView y,
                         ConstTensorView dy, TensorView dz) {
  switch (kind) {
    case ActivationKind::kLinear:
      if (dz.data() != dy.data()) std::copy_n(dy.data(), dy.numel(), dz.data());
      return;
    case ActivationKind::kRelu:
      return chain(z, y, dy, dz, [](float v, float) { return v > 0 ? 1.0f : 0.0f; });
    case ActivationKind::kSigmoid:
      return chain(z, y, dy, dz, [](float, float out) { return out * (1.0f - out); });
    case ActivationKind::kTanh:
      return chain(z, y, dy, dz, [](float, float out) { return 1.0f - out * out; });
    case ActivationKind::kSoftmax:
      return softmax_backward(y, dy, dz);
    case ActivationKind::kLeakyRelu:
      return chain(z, y, dy, dz, [](float v, float) { return v > 0 ? 1.0f : kLeakyReluSlope; });
    case ActivationKind::kElu:  // α·e^z = y + α for z ≤ 0
      return chain(z, y, dy, dz, [](float v, float out) { return v > 0 ? 1.0f : out + kEluAlpha; });
    case ActivationKind::kSelu:  // λ·α·e^z = y + λ·α for z ≤ 0
      return chain(z, y, dy, dz, [](float v, float out) {
        return v > 0 ? kSeluScale : out + kSeluScale * kSeluAlpha;
      });
    case ActivationKind::kGelu:  // Φ(z) + z·φ(z)
      return chain(z, y, dy, dz, [](float v, float) {
        return 0.5f * std::erfc(-v * kInvSqrt2) + v * kInvSqrt2Pi * std::exp(-0.5f * v * v);
      });
    case ActivationKind::kSoftplus:
      return chain(z, y, dy, dz, [](float v, float) { return stable_sigmoid(v); });
    case ActivationKind::kSwish:  // s + z·s·(1 − s)
      return chain(z, y, dy, dz, [](float v, float) {
        const float s = stable_sigmoid(v);
        return s + v * s * (1.0f - s);
      });
  }
  CITADEL_ASSERT(false, "unhandled activation kind");
}

}  // namespace citadel::ops
