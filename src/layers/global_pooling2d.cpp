// Global pooling: one average or maximum per image and channel.
#include "citadel/layers/global_pooling2d.hpp"

#include <algorithm>

#include "citadel/core/error.hpp"
#include "citadel/layers/layer_config.hpp"

namespace citadel {

std::optional<Shape> GlobalPooling2D::declared_input_shape() const {
  if (options_.input_shape.empty()) return std::nullopt;
  return Shape(options_.input_shape);
}

Shape GlobalPooling2D::build(const Shape& input_shape, ParameterStore&) {
  CITADEL_CHECK(input_shape.rank() == 3 && input_shape.numel() > 0, ShapeError, name_, " (", type(),
                "): expected images (height, width, channels), got ", input_shape.batch_str());
  if (auto declared = declared_input_shape())
    CITADEL_CHECK(*declared == input_shape, ShapeError, name_, " (", type(), "): declared input shape ",
                  *declared, " but the previous layer gives ", input_shape);
  input_shape_ = input_shape;
  return Shape{input_shape[2]};
}

void GlobalPooling2D::check_input(ConstTensorView x) const {
  CITADEL_CHECK(x.rank() == 4 && x.shape().without_batch() == input_shape_, ShapeError, name_, " (", type(),
                "): expected input ", input_shape_.batch_str(), ", got ", x.shape());
}

void GlobalAveragePooling2D::forward(ConstTensorView x, Tensor& y, Mode) {
  check_input(x);
  const int64_t N = x.shape(0), P = pixels(), C = channels();
  y.resize(Shape{N, C});
  std::fill_n(y.data(), y.numel(), 0.0f);
  for (int64_t n = 0; n < N; ++n)
    for (int64_t p = 0; p < P; ++p)
      for (int64_t c = 0; c < C; ++c) y[n * C + c] += x[(n * P + p) * C + c];
  const float inverse = 1.0f / static_cast<float>(P);
  for (int64_t i = 0; i < y.numel(); ++i) y[i] *= inverse;
}

void GlobalAveragePooling2D::backward(ConstTensorView dy, Tensor& dx) {
  const int64_t N = dy.shape(0), P = pixels(), C = channels();
  dx.resize(input_shape_.with_batch(N));
  const float inverse = 1.0f / static_cast<float>(P);
  for (int64_t n = 0; n < N; ++n)
    for (int64_t p = 0; p < P; ++p)
      for (int64_t c = 0; c < C; ++c) dx[(n * P + p) * C + c] = dy[n * C + c] * inverse;
}

void GlobalMaxPooling2D::forward(ConstTensorView x, Tensor& y, Mode) {
  check_input(x);
  const int64_t N = x.shape(0), P = pixels(), C = channels();
  y.resize(Shape{N, C});
  argmax_.assign(static_cast<size_t>(N * C), 0);
  for (int64_t n = 0; n < N; ++n) {
    for (int64_t c = 0; c < C; ++c) y[n * C + c] = x[n * P * C + c];
    for (int64_t p = 1; p < P; ++p)
      for (int64_t c = 0; c < C; ++c)
        if (x[(n * P + p) * C + c] > y[n * C + c]) {
          y[n * C + c] = x[(n * P + p) * C + c];
          argmax_[static_cast<size_t>(n * C + c)] = p;
        }
  }
}

void GlobalMaxPooling2D::backward(ConstTensorView dy, Tensor& dx) {
  const int64_t N = dy.shape(0), P = pixels(), C = channels();
  dx.resize(input_shape_.with_batch(N));
  std::fill_n(dx.data(), dx.numel(), 0.0f);
  for (int64_t n = 0; n < N; ++n)
    for (int64_t c = 0; c < C; ++c) dx[(n * P + argmax_[static_cast<size_t>(n * C + c)]) * C + c] = dy[n * C + c];
}

namespace {

template <typename Pooling>
std::unique_ptr<Layer> global_pooling2d_from_config(const LayerConfigReader& config) {
  config.check_keys({"data_format", "keepdims"});
  config.require("data_format", "channels_last");
  config.require("keepdims", false);
  return std::make_unique<Pooling>(GlobalPooling2DOptions{config.input_shape()});
}

}  // namespace

std::unique_ptr<Layer> GlobalAveragePooling2D::from_config(const LayerConfigReader& config) {
  return global_pooling2d_from_config<GlobalAveragePooling2D>(config);
}

std::unique_ptr<Layer> GlobalMaxPooling2D::from_config(const LayerConfigReader& config) {
  return global_pooling2d_from_config<GlobalMaxPooling2D>(config);
}

}  // namespace citadel
