// LayerNormalization: each example's features (the last axis) normalized to mean 0 and
// variance 1, then scaled by gamma and shifted by beta, as keras.layers.LayerNormalization
// (axis -1). It works on each time step alone, so a mask passes through.
#pragma once

#include <string>
#include <vector>

#include "citadel/layers/layer.hpp"
#include "citadel/layers/regularizers.hpp"

namespace citadel {

struct LayerNormalizationOptions {
  std::vector<int64_t> input_shape = {};  // when it is the first layer
  float epsilon = 1e-3f;  // Keras's default
  bool center = true;     // learn beta
  bool scale = true;      // learn gamma
  std::string beta_initializer = "zeros";
  std::string gamma_initializer = "ones";
  Regularizer beta_regularizer = {};
  Regularizer gamma_regularizer = {};
};

class LayerNormalization final : public Layer {
 public:
  explicit LayerNormalization(const LayerNormalizationOptions& options = {});
  std::unique_ptr<Layer> clone() const override { return std::make_unique<LayerNormalization>(*this); }
  std::string type() const override { return "LayerNormalization"; }
  static std::unique_ptr<Layer> from_config(const LayerConfigReader& config);
  void get_config(LayerConfigWriter& config) const override;
  std::optional<Shape> declared_input_shape() const override;
  Shape build(const Shape& input_shape, ParameterStore& params) override;
  void bind(ParameterStore& params) override;
  int64_t parameter_count() const override;
  void forward(ConstTensorView x, Tensor& y, Mode mode) override;
  void backward(ConstTensorView dy, Tensor& dx) override;
  bool supports_masking() const override { return true; }
  // gamma's per-example gradient Σ_rows dy·x̂, beta's Σ_rows dy.
  void add_per_example_squared_norms(std::span<double> squared_norms) override { add_recorded_norms(squared_norms); }
  bool writes_per_example_gradients() const override { return true; }

  const LayerNormalizationOptions& options() const { return options_; }

 private:
  void record_per_example_norms(ConstTensorView dy);
  LayerNormalizationOptions options_;
  Shape input_shape_;
  int64_t features_ = 0;  // the normalized axis
  int gamma_id_ = -1, beta_id_ = -1;
  TensorView gamma_, beta_, dgamma_, dbeta_;
  Tensor normalized_;               // x̂ of the last forward
  std::vector<float> inverse_std_;  // per row of the last forward: 1/√(var + ε)
  std::vector<double> example_grad_;  // scratch: one example's (gamma, beta) gradient
};

}  // namespace citadel
