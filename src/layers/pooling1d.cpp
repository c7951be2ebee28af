// 1-D pooling layers: argument and shape checks around the ops::*_pool2d kernels, with a
// height of 1.
#include "citadel/layers/pooling1d.hpp"

#include "citadel/core/error.hpp"
#include "citadel/layers/layer_config.hpp"
#include "citadel/ops/conv2d.hpp"

namespace citadel {

Pooling1D::Pooling1D(int64_t pool_size, const Pooling1DOptions& options, const char* type)
    : pool_size_(pool_size), options_(options) {
  CITADEL_CHECK(pool_size > 0, ValueError, type, ": pool_size must be positive, got ", pool_size);
  CITADEL_CHECK(options.strides >= 0, ValueError, type, ": strides must be positive, got ", options.strides);
  if (options_.strides == 0) options_.strides = pool_size;
  CITADEL_CHECK(options.padding == "valid" || options.padding == "same", ValueError, type,
                ": padding must be \"valid\" or \"same\", got \"", options.padding, "\"");
}

std::optional<Shape> Pooling1D::declared_input_shape() const {
  if (options_.input_shape.empty()) return std::nullopt;
  return Shape(options_.input_shape);
}

Shape Pooling1D::build(const Shape& input_shape, ParameterStore&) {
  CITADEL_CHECK(input_shape.rank() == 2 && input_shape.numel() > 0, ShapeError, name_, " (", type(),
                "): expected sequences (steps, channels), got ", input_shape.batch_str());
  if (auto declared = declared_input_shape())
    CITADEL_CHECK(*declared == input_shape, ShapeError, name_, " (", type(), "): declared input shape ", *declared,
                  " but the previous layer gives ", input_shape);
  const auto steps = ops::axis_geometry(input_shape[0], pool_size_, options_.strides, 1, options_.padding == "same");
  CITADEL_CHECK(steps.out > 0, ShapeError, name_, " (", type(), "): a pool of ", pool_size_, " does not fit in ",
                input_shape[0], " steps with padding \"valid\"");
  geometry_ = {.in_h = 1, .in_w = input_shape[0], .channels = input_shape[1], .pool_h = 1, .pool_w = pool_size_,
               .stride_h = 1, .stride_w = options_.strides, .pad_top = 0, .pad_left = steps.pad_before,
               .out_h = 1, .out_w = steps.out};
  return Shape{steps.out, input_shape[1]};
}

void Pooling1D::check_input(ConstTensorView x) {
  const Shape expected{geometry_.in_w, geometry_.channels};
  CITADEL_CHECK(x.rank() == 3 && x.shape().without_batch() == expected, ShapeError, name_, " (", type(),
                "): expected input ", expected.batch_str(), ", got ", x.shape());
  geometry_.batch = x.shape(0);
}

void MaxPooling1D::forward(ConstTensorView x, Tensor& y, Mode) {
  check_input(x);
  y.resize(output_shape());
  ops::max_pool2d_forward(x, geometry_, y);
  x_ = x;
  y_ = y;
}

void MaxPooling1D::backward(ConstTensorView dy, Tensor& dx) {
  CITADEL_CHECK(dy.shape() == output_shape(), ShapeError, name_, " (MaxPooling1D): gradient shape ", dy.shape(),
                " does not match output shape ", output_shape());
  dx.resize(input_shape());
  ops::max_pool2d_backward(x_, y_, dy, geometry_, dx);
}

void AveragePooling1D::forward(ConstTensorView x, Tensor& y, Mode) {
  check_input(x);
  y.resize(output_shape());
  ops::average_pool2d_forward(x, geometry_, y);
}

void AveragePooling1D::backward(ConstTensorView dy, Tensor& dx) {
  CITADEL_CHECK(dy.shape() == output_shape(), ShapeError, name_, " (AveragePooling1D): gradient shape ", dy.shape(),
                " does not match output shape ", output_shape());
  dx.resize(input_shape());
  ops::average_pool2d_backward(dy, geometry_, dx);
}

namespace {

template <typename Pooling>
std::unique_ptr<Layer> pooling1d_from_config(const LayerConfigReader& config) {
  config.check_keys({"pool_size", "strides", "padding", "data_format"});
  config.require("data_format", "channels_last");
  Pooling1DOptions options;
  options.input_shape = config.input_shape();
  const int64_t pool_size = config.single("pool_size", 2);
  options.strides = config.single("strides", pool_size);
  options.padding = config.string("padding", "valid");
  return std::make_unique<Pooling>(pool_size, options);
}

}  // namespace

std::unique_ptr<Layer> MaxPooling1D::from_config(const LayerConfigReader& config) {
  return pooling1d_from_config<MaxPooling1D>(config);
}

std::unique_ptr<Layer> AveragePooling1D::from_config(const LayerConfigReader& config) {
  return pooling1d_from_config<AveragePooling1D>(config);
}

void Pooling1D::get_config(LayerConfigWriter& config) const {
  const int64_t pool[1] = {pool_size_}, strides[1] = {options_.strides};
  config.set_list("pool_size", pool);
  config.set_list("strides", strides);
  config.set_string("padding", options_.padding);
}

}  // namespace citadel
