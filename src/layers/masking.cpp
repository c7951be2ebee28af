// Masking: which steps are padding (every feature equal to mask_value), zeroed in the output.
#include "citadel/layers/masking.hpp"

#include <algorithm>

#include "citadel/core/error.hpp"
#include "citadel/layers/layer_config.hpp"

namespace citadel {

std::optional<Shape> Masking::declared_input_shape() const {
  if (options_.input_shape.empty()) return std::nullopt;
  return Shape(options_.input_shape);
}

Shape Masking::build(const Shape& input_shape, ParameterStore&) {
  CITADEL_CHECK(input_shape.rank() == 2 && input_shape.numel() > 0, ShapeError, name_,
                " (Masking): expected sequences (time steps, features), got ", input_shape.batch_str(),
                "; a mask marks time steps, so the input needs a time axis");
  if (auto declared = declared_input_shape())
    CITADEL_CHECK(*declared == input_shape, ShapeError, name_, " (Masking): declared input shape ", *declared,
                  " but the previous layer gives ", input_shape);
  input_shape_ = input_shape;
  return input_shape;
}

void Masking::forward(ConstTensorView x, Tensor& y, Mode) {
  CITADEL_CHECK(x.rank() == input_shape_.rank() + 1 && x.shape().without_batch() == input_shape_, ShapeError, name_,
                " (Masking): expected input ", input_shape_.batch_str(), ", got ", x.shape());
  const int64_t steps = x.shape(0) * input_shape_[0], features = input_shape_.numel() / input_shape_[0];
  kept_.resize(size_t(steps));
  y.resize(x.shape());
  for (int64_t s = 0; s < steps; ++s) {
    const float* row = x.data() + s * features;
    const bool kept = std::any_of(row, row + features, [&](float v) { return v != options_.mask_value; });
    kept_[size_t(s)] = kept ? 1.0f : 0.0f;
    float* out = y.data() + s * features;
    if (kept) std::copy_n(row, features, out);
    else std::fill_n(out, features, 0.0f);
  }
}

void Masking::backward(ConstTensorView dy, Tensor& dx) {
  CITADEL_ASSERT(!kept_.empty(), name_, ": backward() called before forward()");
  const int64_t steps = int64_t(kept_.size()), features = input_shape_.numel() / input_shape_[0];
  CITADEL_CHECK(dy.numel() == steps * features, ShapeError, name_, " (Masking): gradient shape ", dy.shape(),
                " does not match the last forward's");
  dx.resize(dy.shape());
  for (int64_t s = 0; s < steps; ++s)
    for (int64_t f = 0; f < features; ++f) dx[s * features + f] = dy[s * features + f] * kept_[size_t(s)];
}

void Masking::compute_mask(std::span<const ConstTensorView> inputs, std::span<const ConstTensorView>,
                           Tensor& mask) const {
  // The last forward's: the model calls this right after it, on the same input.
  mask.resize(Shape{inputs[0].shape(0), input_shape_[0]});
  std::copy(kept_.begin(), kept_.end(), mask.data());
}

std::unique_ptr<Layer> Masking::from_config(const LayerConfigReader& config) {
  config.check_keys({"mask_value"});
  return std::make_unique<Masking>(
      MaskingOptions{.mask_value = float(config.number("mask_value", 0.0)), .input_shape = config.input_shape()});
}

void Masking::get_config(LayerConfigWriter& config) const { config.set_number("mask_value", options_.mask_value); }

}  // namespace citadel
