// Global pooling over time: one average (over the kept steps) or maximum per sequence and
// channel.
#include "citadel/layers/global_pooling1d.hpp"

#include <algorithm>

#include "citadel/core/error.hpp"
#include "citadel/layers/layer_config.hpp"

namespace citadel {

std::optional<Shape> GlobalPooling1D::declared_input_shape() const {
  if (options_.input_shape.empty()) return std::nullopt;
  return Shape(options_.input_shape);
}

Shape GlobalPooling1D::build(const Shape& input_shape, ParameterStore&) {
  CITADEL_CHECK(input_shape.rank() == 2 && input_shape.numel() > 0, ShapeError, name_, " (", type(),
                "): expected sequences (steps, channels), got ", input_shape.batch_str());
  if (auto declared = declared_input_shape())
    CITADEL_CHECK(*declared == input_shape, ShapeError, name_, " (", type(), "): declared input shape ", *declared,
                  " but the previous layer gives ", input_shape);
  input_shape_ = input_shape;
  return Shape{input_shape[1]};
}

void GlobalPooling1D::check_input(ConstTensorView x) const {
  CITADEL_CHECK(x.rank() == 3 && x.shape().without_batch() == input_shape_, ShapeError, name_, " (", type(),
                "): expected input ", input_shape_.batch_str(), ", got ", x.shape());
}

float GlobalAveragePooling1D::weight(int64_t n, int64_t t) const {
  const float count = kept_counts_[size_t(n)];
  if (count == 0.0f) return 0.0f;  // no step kept: zeros, as Keras's 0/0 guarded sum gives
  return (mask_.empty() ? 1.0f : mask_[n * steps() + t]) / count;
}

void GlobalAveragePooling1D::forward(ConstTensorView x, Tensor& y, Mode) {
  check_input(x);
  const int64_t N = x.shape(0), T = steps(), C = channels();
  CITADEL_CHECK(mask_.empty() || mask_.shape() == Shape({N, T}), ShapeError, name_,
                " (GlobalAveragePooling1D): mask of shape ", mask_.shape(), " for input ", x.shape());
  kept_counts_.assign(size_t(N), float(T));
  if (!mask_.empty())
    for (int64_t n = 0; n < N; ++n) kept_counts_[size_t(n)] = float(std::count(mask_.data() + n * T, mask_.data() + (n + 1) * T, 1.0f));
  y.resize(Shape{N, C});
  std::fill_n(y.data(), y.numel(), 0.0f);
  for (int64_t n = 0; n < N; ++n)
    for (int64_t t = 0; t < T; ++t) {
      const float w = weight(n, t);
      if (w == 0.0f) continue;
      for (int64_t c = 0; c < C; ++c) y[n * C + c] += x[(n * T + t) * C + c] * w;
    }
}

void GlobalAveragePooling1D::backward(ConstTensorView dy, Tensor& dx) {
  const int64_t N = dy.shape(0), T = steps(), C = channels();
  CITADEL_CHECK(int64_t(kept_counts_.size()) == N && dy.shape() == Shape({N, C}), ShapeError, name_,
                " (GlobalAveragePooling1D): gradient shape ", dy.shape(), " does not match the last forward's");
  dx.resize(input_shape_.with_batch(N));
  for (int64_t n = 0; n < N; ++n)
    for (int64_t t = 0; t < T; ++t) {
      const float w = weight(n, t);
      for (int64_t c = 0; c < C; ++c) dx[(n * T + t) * C + c] = dy[n * C + c] * w;
    }
}

void GlobalMaxPooling1D::forward(ConstTensorView x, Tensor& y, Mode) {
  check_input(x);
  const int64_t N = x.shape(0), T = steps(), C = channels();
  y.resize(Shape{N, C});
  argmax_.assign(size_t(N * C), 0);
  for (int64_t n = 0; n < N; ++n) {
    for (int64_t c = 0; c < C; ++c) y[n * C + c] = x[n * T * C + c];
    for (int64_t t = 1; t < T; ++t)
      for (int64_t c = 0; c < C; ++c)
        if (x[(n * T + t) * C + c] > y[n * C + c]) {
          y[n * C + c] = x[(n * T + t) * C + c];
          argmax_[size_t(n * C + c)] = t;
        }
  }
}

void GlobalMaxPooling1D::backward(ConstTensorView dy, Tensor& dx) {
  const int64_t N = dy.shape(0), T = steps(), C = channels();
  CITADEL_CHECK(int64_t(argmax_.size()) == N * C, ShapeError, name_, " (GlobalMaxPooling1D): gradient shape ",
                dy.shape(), " does not match the last forward's");
  dx.resize(input_shape_.with_batch(N));
  std::fill_n(dx.data(), dx.numel(), 0.0f);
  for (int64_t n = 0; n < N; ++n)
    for (int64_t c = 0; c < C; ++c) dx[(n * T + argmax_[size_t(n * C + c)]) * C + c] = dy[n * C + c];
}

namespace {

template <typename Pooling>
std::unique_ptr<Layer> global_pooling1d_from_config(const LayerConfigReader& config) {
  config.check_keys({"data_format", "keepdims"});
  config.require("data_format", "channels_last");
  config.require("keepdims", false);
  return std::make_unique<Pooling>(GlobalPooling1DOptions{config.input_shape()});
}

}  // namespace

std::unique_ptr<Layer> GlobalAveragePooling1D::from_config(const LayerConfigReader& config) {
  return global_pooling1d_from_config<GlobalAveragePooling1D>(config);
}

std::unique_ptr<Layer> GlobalMaxPooling1D::from_config(const LayerConfigReader& config) {
  return global_pooling1d_from_config<GlobalMaxPooling1D>(config);
}

}  // namespace citadel
