// FusedActivation: the pre-activation buffers and the activation kernels around them.
#include "citadel/layers/fused_activation.hpp"

namespace citadel {

TensorView FusedActivation::linear_output(Tensor& y, const Shape& shape) {
  y.resize(shape);
  if (kind_ == ops::ActivationKind::kLinear) return y.view();
  z_.resize(shape);
  return z_.view();
}

void FusedActivation::apply(Tensor& y) {
  if (kind_ != ops::ActivationKind::kLinear) ops::activation_forward(kind_, z_, y);
  y_ = y;
}

ConstTensorView FusedActivation::pre_activation() const {
  return kind_ == ops::ActivationKind::kLinear ? y_ : ConstTensorView(z_);
}

ConstTensorView FusedActivation::pre_activation_gradient(ConstTensorView dy) {
  if (kind_ == ops::ActivationKind::kLinear) return dy;
  dz_.resize(dy.shape());
  ops::activation_backward(kind_, pre_activation(), y_, dy, dz_);
  return dz_;
}

}  // namespace citadel
