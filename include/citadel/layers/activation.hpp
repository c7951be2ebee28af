// Activation: applies an activation function as a layer of its own (keras.layers.Activation).
#pragma once

#include <string>
#include <vector>

#include "citadel/layers/layer.hpp"

namespace citadel {

struct ActivationOptions {
  std::vector<int64_t> input_shape = {};  // when it is the first layer
};

class Activation final : public Layer {
 public:
  explicit Activation(const std::string& activation, const ActivationOptions& options = {});

  std::unique_ptr<Layer> clone() const override { return std::make_unique<Activation>(*this); }
  std::string type() const override { return "Activation"; }
  // Keras 3: it leaves the time axis alone, so a mask passes through.
  bool supports_masking() const override { return true; }
  static std::unique_ptr<Layer> from_config(const LayerConfigReader& config);
  void get_config(LayerConfigWriter& config) const override;
  std::optional<Shape> declared_input_shape() const override;
  Shape build(const Shape& input_shape, ParameterStore& params) override;
  void forward(ConstTensorView x, Tensor& y, Mode mode) override;
  void backward(ConstTensorView dy, Tensor& dx) override;
  ops::ActivationKind activation() const override { return kind_; }
  ConstTensorView pre_activation() const override { return x_; }
  void backward_from_pre_activation(ConstTensorView dz, Tensor& dx) override;

 private:
  ops::ActivationKind kind_;
  ActivationOptions options_;
  Shape input_shape_;
  ConstTensorView x_, y_;
};

}  // namespace citadel
