// Element-wise activation functions and their derivatives (softmax over the last axis).
#pragma once

#include "citadel/core/tensor.hpp"

namespace citadel::ops {

enum class ActivationKind {
  kLinear, kRelu, kSigmoid, kTanh, kSoftmax, kLeakyRelu, kElu, kSelu, kGelu, kSoftplus, kSwish,
};

// Keras's constants: leaky_relu's negative slope, elu's alpha, selu's alpha and scale.
inline constexpr float kLeakyReluSlope = 0.2f;
inline constexpr float kEluAlpha = 1.0f;
inline constexpr float kSeluAlpha = 1.6732632423543772f;
inline constexpr float kSeluScale = 1.0507009873554805f;

// y = f(z). z, y: same shape, (N, ..., C) with softmax over C. y may be z's storage.
void activation_forward(ActivationKind kind, ConstTensorView z, TensorView y);

// dz = ∂L/∂z from dy = ∂L/∂y, with z the input and y = f(z) the output of forward.
void activation_backward(ActivationKind kind, ConstTensorView z, ConstTensorView y,
                         ConstTensorView dy, TensorView dz);

// Numerically stable scalar helpers, shared with the fused losses.
float stable_sigmoid(float z);
float stable_softplus(float z);  // log(1 + e^z)

}  // namespace citadel::ops
