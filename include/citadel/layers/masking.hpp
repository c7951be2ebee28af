// Masking: marks padded time steps of a sequence, as keras.layers.Masking (Keras 3): a step
// whose features all equal mask_value is masked; the output is the input with masked steps
// set to zero, and carries the (N, T) mask that later layers read or pass on.
#pragma once

#include <vector>

#include "citadel/layers/layer.hpp"

namespace citadel {

struct MaskingOptions {
  float mask_value = 0.0f;
  std::vector<int64_t> input_shape = {};  // when it is the first layer: (T, features)
};

class Masking final : public Layer {
 public:
  explicit Masking(const MaskingOptions& options = {}) : options_(options) {}
  explicit Masking(float mask_value) : options_{.mask_value = mask_value} {}
  std::unique_ptr<Layer> clone() const override { return std::make_unique<Masking>(*this); }
  std::string type() const override { return "Masking"; }
  static std::unique_ptr<Layer> from_config(const LayerConfigReader& config);
  void get_config(LayerConfigWriter& config) const override;
  std::optional<Shape> declared_input_shape() const override;
  Shape build(const Shape& input_shape, ParameterStore& params) override;  // in: (T, features)
  void forward(ConstTensorView x, Tensor& y, Mode mode) override;
  void backward(ConstTensorView dy, Tensor& dx) override;

  bool supports_masking() const override { return true; }
  MaskRule output_mask_rule(std::span<const bool>) const override { return MaskRule::kComputed; }
  void compute_mask(std::span<const ConstTensorView> inputs, std::span<const ConstTensorView> masks,
                    Tensor& mask) const override;

  float mask_value() const { return options_.mask_value; }

 private:
  MaskingOptions options_;
  Shape input_shape_;
  std::vector<float> kept_;  // per (n, t) of the last forward: 1 kept, 0 masked
};

}  // namespace citadel
