// SpatialDropout1D: inverted dropout of whole channels, one mask per example shared by its steps.
#include "citadel/layers/spatial_dropout.hpp"

#include <algorithm>

#include "citadel/core/error.hpp"
#include "citadel/layers/layer_config.hpp"

namespace citadel {

SpatialDropout1D::SpatialDropout1D(float rate, const SpatialDropout1DOptions& options)
    : rate_(rate), options_(options) {
  CITADEL_CHECK(rate >= 0.0f && rate < 1.0f, ValueError, "SpatialDropout1D: rate must lie in [0, 1), got ", rate);
}

std::optional<Shape> SpatialDropout1D::declared_input_shape() const {
  if (options_.input_shape.empty()) return std::nullopt;
  return Shape(options_.input_shape);
}

Shape SpatialDropout1D::build(const Shape& input_shape, ParameterStore&) {
  CITADEL_CHECK(input_shape.rank() == 2, ShapeError, name_, " (SpatialDropout1D): expected an input (N, T, C), got ",
                input_shape.batch_str());
  if (auto declared = declared_input_shape())
    CITADEL_CHECK(*declared == input_shape, ShapeError, name_, " (SpatialDropout1D): declared input shape ", *declared,
                  " but the previous layer gives ", input_shape);
  input_shape_ = input_shape;
  return input_shape;
}

void SpatialDropout1D::forward(ConstTensorView x, Tensor& y, Mode mode) {
  CITADEL_CHECK(x.rank() == 3 && x.shape().without_batch() == input_shape_, ShapeError, name_,
                " (SpatialDropout1D): expected input ", input_shape_.batch_str(), ", got ", x.shape());
  y.resize(x.shape());
  last_was_training_ = mode == Mode::kTrain && rate_ > 0.0f;
  if (!last_was_training_) {
    std::copy_n(x.data(), x.numel(), y.data());
    return;
  }
  const int64_t n = x.shape()[0], steps = x.shape()[1], channels = x.shape()[2];
  mask_.resize(Shape{n, channels});
  const float keep_scale = 1.0f / (1.0f - rate_);
  for (int64_t i = 0; i < mask_.numel(); ++i) mask_[i] = rng_.uniform() >= rate_ ? keep_scale : 0.0f;
  for (int64_t b = 0; b < n; ++b)
    for (int64_t t = 0; t < steps; ++t) {
      const int64_t row = (b * steps + t) * channels;
      for (int64_t c = 0; c < channels; ++c) y[row + c] = x[row + c] * mask_[b * channels + c];
    }
}

void SpatialDropout1D::backward(ConstTensorView dy, Tensor& dx) {
  dx.resize(dy.shape());
  if (!last_was_training_) {
    std::copy_n(dy.data(), dy.numel(), dx.data());
    return;
  }
  const int64_t n = dy.shape()[0], steps = dy.shape()[1], channels = dy.shape()[2];
  for (int64_t b = 0; b < n; ++b)
    for (int64_t t = 0; t < steps; ++t) {
      const int64_t row = (b * steps + t) * channels;
      for (int64_t c = 0; c < channels; ++c) dx[row + c] = dy[row + c] * mask_[b * channels + c];
    }
}

std::unique_ptr<Layer> SpatialDropout1D::from_config(const LayerConfigReader& config) {
  // seed: ignored, as Dropout's; citadel seeds the masks from the model's seed.
  config.check_keys({"rate", "seed"});
  const double rate = config.number("rate");
  return std::make_unique<SpatialDropout1D>(static_cast<float>(rate), SpatialDropout1DOptions{config.input_shape()});
}

void SpatialDropout1D::get_config(LayerConfigWriter& config) const { config.set_number("rate", rate_); }

}  // namespace citadel
