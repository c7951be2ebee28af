// Conv1D: 1-D convolution over channels-last sequences, as keras.layers.Conv1D. Input
// (N, T, C), kernel (kernel_size, C, filters), output (N, T', filters); padding "valid",
// "same" or "causal" (left padding only: step t sees steps ≤ t). It runs the Conv2D kernels
// (ops::conv2d_*) on a sequence seen as an image of height 1.
#pragma once

#include <string>
#include <vector>

#include "citadel/layers/fused_activation.hpp"
#include "citadel/layers/layer.hpp"
#include "citadel/layers/regularizers.hpp"
#include "citadel/ops/conv2d.hpp"

namespace citadel {

struct Conv1DOptions {
  std::vector<int64_t> input_shape = {};  // when it is the first layer: (T, C)
  int64_t strides = 1;
  std::string padding = "valid";          // "same" or "causal"
  int64_t dilation_rate = 1;
  std::string activation = "linear";
  bool use_bias = true;
  std::string kernel_initializer = "glorot_uniform";
  std::string bias_initializer = "zeros";
  Regularizer kernel_regularizer = {};
  Regularizer bias_regularizer = {};
};

class Conv1D final : public Layer {
 public:
  Conv1D(int64_t filters, int64_t kernel_size, const Conv1DOptions& options = {});

  std::unique_ptr<Layer> clone() const override { return std::make_unique<Conv1D>(*this); }
  std::string type() const override { return "Conv1D"; }
  static std::unique_ptr<Layer> from_config(const LayerConfigReader& config);
  void get_config(LayerConfigWriter& config) const override;
  std::optional<Shape> declared_input_shape() const override;
  Shape build(const Shape& input_shape, ParameterStore& params) override;  // in: (T, C)
  void bind(ParameterStore& params) override;
  int64_t parameter_count() const override;
  void forward(ConstTensorView x, Tensor& y, Mode mode) override;
  void backward(ConstTensorView dy, Tensor& dx) override;
  ops::ActivationKind activation() const override { return activation_.kind(); }
  ConstTensorView pre_activation() const override;
  void backward_from_pre_activation(ConstTensorView dz, Tensor& dx) override;
  // From the unfolded input: ‖cols_iᵀ·dz_i‖² + ‖Σ_t dz_i,t‖² per example.
  void add_per_example_squared_norms(std::span<double> squared_norms) override { add_recorded_norms(squared_norms); }
  bool writes_per_example_gradients() const override { return true; }

  int64_t filters() const { return filters_; }
  int64_t kernel_size() const { return kernel_size_; }
  const Conv1DOptions& options() const { return options_; }

 private:
  void record_per_example_norms(ConstTensorView dz);
  int64_t filters_, kernel_size_;
  Conv1DOptions options_;
  FusedActivation activation_;
  ops::Conv2DGeometry geometry_;  // height 1; batch is set on each forward
  int kernel_id_ = -1, bias_id_ = -1;
  TensorView kernel_, bias_, dkernel_, dbias_;
  Tensor cols_, dcols_;
  Tensor example_kernel_grad_;  // scratch for per-example norms
};

}  // namespace citadel
