// The activation a Dense or Conv2D layer applies to its linear output, kept fused with it:
// forward writes the linear part into the pre-activation buffer (the output itself when
// the activation is linear) and applies the activation; backward turns ∂L/∂y into
// ∂L/∂(pre-activation). One helper, so every layer with an `activation` option shares it.
#pragma once

#include "citadel/core/tensor.hpp"
#include "citadel/ops/activations.hpp"

namespace citadel {

class FusedActivation {
 public:
  explicit FusedActivation(ops::ActivationKind kind) : kind_(kind) {}
  ops::ActivationKind kind() const { return kind_; }

  // Where the linear part writes its (N, ...) result of `shape`: y when linear, else the
  // pre-activation buffer. y is resized to `shape` too.
  TensorView linear_output(Tensor& y, const Shape& shape);
  // Applies the activation into y (nothing when linear) and remembers y for backward.
  void apply(Tensor& y);
  // The output before the activation, from the last forward.
  ConstTensorView pre_activation() const;
  // ∂L/∂(pre-activation) from dy = ∂L/∂y (dy itself when linear).
  ConstTensorView pre_activation_gradient(ConstTensorView dy);
  // The last forward's output.
  ConstTensorView output() const { return y_; }

 private:
  ops::ActivationKind kind_;
  ConstTensorView y_;  // owned by the model
  Tensor z_, dz_;      // pre-activation and its gradient; unused when linear
};

}  // namespace citadel
