// Activation layer: a thin wrapper over the activation kernels.
#include "citadel/layers/activation.hpp"

#include <algorithm>

#include "citadel/core/error.hpp"
#include "citadel/layers/layer_config.hpp"
#include "citadel/layers/activations.hpp"

namespace citadel {

Activation::Activation(const std::string& activation, const ActivationOptions& options)
    : kind_(activation_from_name(activation)), options_(options) {}

std::optional<Shape> Activation::declared_input_shape() const {
  if (options_.input_shape.empty()) return std::nullopt;
  return Shape(options_.input_shape);
}

Shape Activation::build(const Shape& input_shape, ParameterStore&) {
  CITADEL_CHECK(input_shape.rank() >= 1, ShapeError, name_, " (Activation): needs an input with features");
  input_shape_ = input_shape;
  return input_shape;
}

void Activation::forward(ConstTensorView x, Tensor& y, Mode) {
  CITADEL_CHECK(x.rank() >= 2 && x.shape().without_batch() == input_shape_, ShapeError, name_,
                " (Activation): expected input ", input_shape_.batch_str(), " with any batch, got ",
                x.shape());
  y.resize(x.shape());
  ops::activation_forward(kind_, x, y);
  x_ = x;
  y_ = y;
}

void Activation::backward(ConstTensorView dy, Tensor& dx) {
  CITADEL_ASSERT(!x_.empty(), name_, ": backward() called before forward()");
  dx.resize(x_.shape());
  ops::activation_backward(kind_, x_, y_, dy, dx);
}

void Activation::backward_from_pre_activation(ConstTensorView dz, Tensor& dx) {
  dx.resize(dz.shape());
  std::copy_n(dz.data(), dz.numel(), dx.data());
}

std::unique_ptr<Layer> Activation::from_config(const LayerConfigReader& config) {
  config.check_keys({"activation"});
  const std::string activation = config.string("activation");
  return std::make_unique<Activation>(activation, ActivationOptions{config.input_shape()});
}

void Activation::get_config(LayerConfigWriter& config) const {
  config.set_string("activation", activation_name(kind_));
}

}  // namespace citadel
