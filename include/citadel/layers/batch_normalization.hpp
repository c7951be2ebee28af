// BatchNormalization over the last axis (channels-last), as keras.layers.BatchNormalization:
// in training it normalizes with the batch's mean and (biased) variance and moves the
// moving statistics towards them (moving = momentum·moving + (1 − momentum)·batch); in
// evaluate and predict it normalizes with the moving statistics. gamma and beta are
// trainable; moving_mean and moving_variance are non-trainable parameters, saved in
// model files with the rest.
#pragma once

#include <string>
#include <vector>

#include "citadel/layers/layer.hpp"

namespace citadel {

struct BatchNormalizationOptions {
  std::vector<int64_t> input_shape = {};  // when it is the first layer
  float momentum = 0.99f;
  float epsilon = 1e-3f;
  bool center = true;  // learn beta
  bool scale = true;   // learn gamma
  std::string beta_initializer = "zeros";
  std::string gamma_initializer = "ones";
  std::string moving_mean_initializer = "zeros";
  std::string moving_variance_initializer = "ones";
};

class BatchNormalization final : public Layer {
 public:
  explicit BatchNormalization(const BatchNormalizationOptions& options = {});
  std::unique_ptr<Layer> clone() const override { return std::make_unique<BatchNormalization>(*this); }
  std::string type() const override { return "BatchNormalization"; }
  static std::unique_ptr<Layer> from_config(const LayerConfigReader& config);
  void get_config(LayerConfigWriter& config) const override;
  std::optional<Shape> declared_input_shape() const override;
  Shape build(const Shape& input_shape, ParameterStore& params) override;  // any rank; features last
  void bind(ParameterStore& params) override;
  int64_t parameter_count() const override;
  void forward(ConstTensorView x, Tensor& y, Mode mode) override;
  void backward(ConstTensorView dy, Tensor& dx) override;

  const BatchNormalizationOptions& options() const { return options_; }

 private:
  BatchNormalizationOptions options_;
  Shape input_shape_;
  int64_t features_ = 0;
  int gamma_id_ = -1, beta_id_ = -1, mean_id_ = -1, variance_id_ = -1;
  TensorView gamma_, beta_, dgamma_, dbeta_, moving_mean_, moving_variance_;
  Tensor normalized_;     // x̂ of the last forward
  Tensor inverse_std_;    // 1/sqrt(var + ε) per feature used by the last forward
  Tensor channel_values_;  // per-feature float scratch (means, scales) for the kernels
  std::vector<double> sums_, square_sums_;  // per-feature statistics or gradient sums
  std::vector<double> partials_;  // the kernels' per-chunk partial sums
  bool last_was_training_ = false;
};

}  // namespace citadel
