// Pooling layers: argument and shape checks around the ops::*_pool2d kernels.
#include "citadel/layers/pooling2d.hpp"

#include "citadel/core/error.hpp"
#include "citadel/layers/layer_config.hpp"
#include "citadel/ops/conv2d.hpp"

namespace citadel {

Pooling2D::Pooling2D(std::array<int64_t, 2> pool_size, const Pooling2DOptions& options, const char* type)
    : pool_size_(pool_size), options_(options) {
  for (int axis = 0; axis < 2; ++axis) {
    CITADEL_CHECK(pool_size[axis] > 0, ValueError, type, ": pool_size must be positive, got (", pool_size[0],
                  ", ", pool_size[1], ")");
    CITADEL_CHECK(options.strides[axis] >= 0, ValueError, type, ": strides must be positive, got (",
                  options.strides[0], ", ", options.strides[1], ")");
  }
  CITADEL_CHECK((options.strides[0] == 0) == (options.strides[1] == 0), ValueError, type,
                ": give both strides or neither");
  if (options_.strides[0] == 0) options_.strides = pool_size;
  CITADEL_CHECK(options.padding == "valid" || options.padding == "same", ValueError, type,
                ": padding must be \"valid\" or \"same\", got \"", options.padding, "\"");
}

std::optional<Shape> Pooling2D::declared_input_shape() const {
  if (options_.input_shape.empty()) return std::nullopt;
  return Shape(options_.input_shape);
}

Shape Pooling2D::build(const Shape& input_shape, ParameterStore&) {
  CITADEL_CHECK(input_shape.rank() == 3, ShapeError, name_, " (", type(),
                "): expected images (height, width, channels), got ", input_shape.batch_str());
  if (auto declared = declared_input_shape())
    CITADEL_CHECK(*declared == input_shape, ShapeError, name_, " (", type(), "): declared input shape ",
                  *declared, " but the previous layer gives ", input_shape);
  const bool same = options_.padding == "same";
  const auto rows = ops::axis_geometry(input_shape[0], pool_size_[0], options_.strides[0], 1, same);
  const auto cols = ops::axis_geometry(input_shape[1], pool_size_[1], options_.strides[1], 1, same);
  CITADEL_CHECK(rows.out > 0 && cols.out > 0, ShapeError, name_, " (", type(), "): a ", pool_size_[0], "x",
                pool_size_[1], " pool does not fit in a ", input_shape[0], "x", input_shape[1],
                " input with padding \"valid\"");
  geometry_ = {.in_h = input_shape[0], .in_w = input_shape[1], .channels = input_shape[2],
               .pool_h = pool_size_[0], .pool_w = pool_size_[1],
               .stride_h = options_.strides[0], .stride_w = options_.strides[1],
               .pad_top = rows.pad_before, .pad_left = cols.pad_before, .out_h = rows.out, .out_w = cols.out};
  return Shape{rows.out, cols.out, input_shape[2]};
}

Shape Pooling2D::input_shape() const {
  return Shape{geometry_.batch, geometry_.in_h, geometry_.in_w, geometry_.channels};
}

Shape Pooling2D::output_shape() const {
  return Shape{geometry_.batch, geometry_.out_h, geometry_.out_w, geometry_.channels};
}

void Pooling2D::check_input(ConstTensorView x) {
  const Shape expected{geometry_.in_h, geometry_.in_w, geometry_.channels};
  CITADEL_CHECK(x.rank() == 4 && x.shape().without_batch() == expected, ShapeError, name_, " (", type(),
                "): expected input ", expected.batch_str(), ", got ", x.shape());
  geometry_.batch = x.shape(0);
}

void MaxPooling2D::forward(ConstTensorView x, Tensor& y, Mode) {
  check_input(x);
  y.resize(output_shape());
  ops::max_pool2d_forward(x, geometry_, y);
  x_ = x;
  y_ = y;
}

void MaxPooling2D::backward(ConstTensorView dy, Tensor& dx) {
  CITADEL_CHECK(dy.shape() == output_shape(), ShapeError, name_, " (MaxPooling2D): gradient shape ",
                dy.shape(), " does not match output shape ", output_shape());
  dx.resize(input_shape());
  ops::max_pool2d_backward(x_, y_, dy, geometry_, dx);
}

void AveragePooling2D::forward(ConstTensorView x, Tensor& y, Mode) {
  check_input(x);
  y.resize(output_shape());
  ops::average_pool2d_forward(x, geometry_, y);
}

void AveragePooling2D::backward(ConstTensorView dy, Tensor& dx) {
  CITADEL_CHECK(dy.shape() == output_shape(), ShapeError, name_, " (AveragePooling2D): gradient shape ",
                dy.shape(), " does not match output shape ", output_shape());
  dx.resize(input_shape());
  ops::average_pool2d_backward(dy, geometry_, dx);
}

namespace {

template <typename Pooling>
std::unique_ptr<Layer> pooling2d_from_config(const LayerConfigReader& config) {
  config.check_keys({"pool_size", "strides", "padding", "data_format"});
  config.require("data_format", "channels_last");
  Pooling2DOptions options;
  options.input_shape = config.input_shape();
  const std::array<int64_t, 2> pool_size = config.pair("pool_size", {2, 2});
  options.strides = config.pair("strides", pool_size);
  options.padding = config.string("padding", "valid");
  return std::make_unique<Pooling>(pool_size, options);
}

}  // namespace

std::unique_ptr<Layer> MaxPooling2D::from_config(const LayerConfigReader& config) {
  return pooling2d_from_config<MaxPooling2D>(config);
}

std::unique_ptr<Layer> AveragePooling2D::from_config(const LayerConfigReader& config) {
  return pooling2d_from_config<AveragePooling2D>(config);
}

void Pooling2D::get_config(LayerConfigWriter& config) const {
  config.set_list("pool_size", pool_size_);
  config.set_list("strides", options_.strides);
  config.set_string("padding", options_.padding);
}

}  // namespace citadel
