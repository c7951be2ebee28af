// Dense: the fully connected layer, y = activation(x·W + b), as keras.layers.Dense.
#pragma once

#include <string>
#include <vector>

#include "citadel/layers/fused_activation.hpp"
#include "citadel/layers/layer.hpp"

namespace citadel {

struct DenseOptions {
  int64_t input_dim = 0;                 // the first layer's input width, or
  std::vector<int64_t> input_shape = {};  // its input shape without the batch axis
  std::string activation = "linear";
  bool use_bias = true;
  std::string kernel_initializer = "glorot_uniform";
  std::string bias_initializer = "zeros";
  Regularizer kernel_regularizer = {};  // e.g. L2(1e-4)
  Regularizer bias_regularizer = {};
};

class Dense final : public Layer {
 public:
  explicit Dense(int64_t units, const DenseOptions& options = {});

  std::unique_ptr<Layer> clone() const override { return std::make_unique<Dense>(*this); }
  std::string type() const override { return "Dense"; }
  // Keras 3: it leaves the time axis alone, so a mask passes through.
  bool supports_masking() const override { return true; }
  static std::unique_ptr<Layer> from_config(const LayerConfigReader& config);
  void get_config(LayerConfigWriter& config) const override;
  std::optional<Shape> declared_input_shape() const override;
  Shape build(const Shape& input_shape, ParameterStore& params) override;  // in: (D)
  void bind(ParameterStore& params) override;
  int64_t parameter_count() const override;
  void forward(ConstTensorView x, Tensor& y, Mode mode) override;  // y: (N, U)
  void backward(ConstTensorView dy, Tensor& dx) override;         // dx: (N, D)
  ops::ActivationKind activation() const override { return activation_.kind(); }
  ConstTensorView pre_activation() const override;
  void backward_from_pre_activation(ConstTensorView dz, Tensor& dx) override;
  // ‖x_i‖²·‖dz_i‖² + ‖dz_i‖² (with a bias), without forming per-example gradients.
  void add_per_example_squared_norms(std::span<double> squared_norms) override { add_recorded_norms(squared_norms); }
  bool writes_per_example_gradients() const override { return true; }

  int64_t units() const { return units_; }
  const DenseOptions& options() const { return options_; }

 private:
  void record_per_example_norms(ConstTensorView dz);
  int64_t units_, in_features_ = 0;  // in_features_ is set by build()
  DenseOptions options_;
  FusedActivation activation_;
  int kernel_id_ = -1, bias_id_ = -1;
  TensorView kernel_, bias_, dkernel_, dbias_;  // views into the ParameterStore
  ConstTensorView x_;  // the last forward's input (owned by the model)
};

}  // namespace citadel
