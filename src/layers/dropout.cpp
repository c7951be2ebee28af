// Inverted dropout with a seeded mask per training step.
#include "citadel/layers/dropout.hpp"

#include <algorithm>

#include "citadel/core/error.hpp"
#include "citadel/layers/layer_config.hpp"

namespace citadel {

Dropout::Dropout(float rate, const DropoutOptions& options) : rate_(rate), options_(options) {
  CITADEL_CHECK(rate >= 0.0f && rate < 1.0f, ValueError, "Dropout: rate must lie in [0, 1), got ", rate);
}

std::optional<Shape> Dropout::declared_input_shape() const {
  if (options_.input_shape.empty()) return std::nullopt;
  return Shape(options_.input_shape);
}

Shape Dropout::build(const Shape& input_shape, ParameterStore&) {
  if (auto declared = declared_input_shape())
    CITADEL_CHECK(*declared == input_shape, ShapeError, name_, " (Dropout): declared input shape ", *declared,
                  " but the previous layer gives ", input_shape);
  input_shape_ = input_shape;
  return input_shape;
}

void Dropout::forward(ConstTensorView x, Tensor& y, Mode mode) {
  CITADEL_CHECK(x.rank() >= 1 && x.shape().without_batch() == input_shape_, ShapeError, name_,
                " (Dropout): expected input ", input_shape_.batch_str(), ", got ", x.shape());
  y.resize(x.shape());
  last_was_training_ = mode == Mode::kTrain && rate_ > 0.0f;
  if (!last_was_training_) {
    std::copy_n(x.data(), x.numel(), y.data());
    return;
  }
  mask_.resize(x.shape());
  const float keep_scale = 1.0f / (1.0f - rate_);
  for (int64_t i = 0; i < x.numel(); ++i) {
    mask_[i] = rng_.uniform() >= rate_ ? keep_scale : 0.0f;
    y[i] = x[i] * mask_[i];
  }
}

void Dropout::backward(ConstTensorView dy, Tensor& dx) {
  dx.resize(dy.shape());
  if (!last_was_training_) {
    std::copy_n(dy.data(), dy.numel(), dx.data());
    return;
  }
  for (int64_t i = 0; i < dy.numel(); ++i) dx[i] = dy[i] * mask_[i];
}

std::unique_ptr<Layer> Dropout::from_config(const LayerConfigReader& config) {
  // seed: ignored; citadel seeds dropout masks from the model's seed (and inference uses none).
  config.check_keys({"rate", "seed"});
  const double rate = config.number("rate");
  return std::make_unique<Dropout>(static_cast<float>(rate), DropoutOptions{config.input_shape()});
}

void Dropout::get_config(LayerConfigWriter& config) const { config.set_number("rate", rate_); }

}  // namespace citadel
