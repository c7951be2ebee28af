// Flatten: a copy with a new shape (the data is already contiguous, row-major).
#include "citadel/layers/flatten.hpp"

#include <algorithm>

#include "citadel/core/error.hpp"
#include "citadel/layers/layer_config.hpp"

namespace citadel {

std::optional<Shape> Flatten::declared_input_shape() const {
  if (options_.input_shape.empty()) return std::nullopt;
  return Shape(options_.input_shape);
}

Shape Flatten::build(const Shape& input_shape, ParameterStore&) {
  CITADEL_CHECK(input_shape.rank() >= 1, ShapeError, name_, " (Flatten): needs an input with features");
  input_shape_ = input_shape;
  return Shape{input_shape.numel()};
}

void Flatten::forward(ConstTensorView x, Tensor& y, Mode) {
  CITADEL_CHECK(x.rank() >= 2 && x.shape().without_batch() == input_shape_, ShapeError, name_,
                " (Flatten): expected input ", input_shape_.batch_str(), ", got ", x.shape());
  y.resize(Shape{x.shape(0), input_shape_.numel()});
  std::copy_n(x.data(), x.numel(), y.data());
}

void Flatten::backward(ConstTensorView dy, Tensor& dx) {
  dx.resize(input_shape_.with_batch(dy.shape(0)));
  std::copy_n(dy.data(), dy.numel(), dx.data());
}

std::unique_ptr<Layer> Flatten::from_config(const LayerConfigReader& config) {
  config.check_keys({"data_format"});
  config.require("data_format", "channels_last");
  return std::make_unique<Flatten>(FlattenOptions{config.input_shape()});
}

}  // namespace citadel
