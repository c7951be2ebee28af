// Conv2D: 2-D convolution over channels-last images, as keras.layers.Conv2D.
// Input (N, H, W, C), kernel (KH, KW, C, filters), output (N, OH, OW, filters).
#pragma once

#include <array>
#include <string>
#include <vector>

#include "citadel/layers/fused_activation.hpp"
#include "citadel/layers/layer.hpp"
#include "citadel/ops/conv2d.hpp"

namespace citadel {

struct Conv2DOptions {
  std::vector<int64_t> input_shape = {};  // when it is the first layer, e.g. {28, 28, 1}
  std::array<int64_t, 2> strides = {1, 1};
  std::string padding = "valid";          // or "same"
  std::array<int64_t, 2> dilation_rate = {1, 1};
  std::string activation = "linear";
  bool use_bias = true;
  std::string kernel_initializer = "glorot_uniform";
  std::string bias_initializer = "zeros";
  Regularizer kernel_regularizer = {};
  Regularizer bias_regularizer = {};
};

class Conv2D final : public Layer {
 public:
  Conv2D(int64_t filters, std::array<int64_t, 2> kernel_size, const Conv2DOptions& options = {});
  Conv2D(int64_t filters, int64_t kernel_size, const Conv2DOptions& options = {})
      : Conv2D(filters, {kernel_size, kernel_size}, options) {}

  std::unique_ptr<Layer> clone() const override { return std::make_unique<Conv2D>(*this); }
  std::string type() const override { return "Conv2D"; }
  static std::unique_ptr<Layer> from_config(const LayerConfigReader& config);
  void get_config(LayerConfigWriter& config) const override;
  std::optional<Shape> declared_input_shape() const override;
  Shape build(const Shape& input_shape, ParameterStore& params) override;  // in: (H, W, C)
  void bind(ParameterStore& params) override;
  int64_t parameter_count() const override;
  void forward(ConstTensorView x, Tensor& y, Mode mode) override;
  void backward(ConstTensorView dy, Tensor& dx) override;
  ops::ActivationKind activation() const override { return activation_.kind(); }
  ConstTensorView pre_activation() const override;
  void backward_from_pre_activation(ConstTensorView dz, Tensor& dx) override;
  // From the unfolded input: ‖cols_iᵀ·dz_i‖² + ‖Σ_p dz_i,p‖² per example.
  void add_per_example_squared_norms(std::span<double> squared_norms) override { add_recorded_norms(squared_norms); }
  bool writes_per_example_gradients() const override { return true; }

  int64_t filters() const { return filters_; }
  std::array<int64_t, 2> kernel_size() const { return kernel_size_; }
  const Conv2DOptions& options() const { return options_; }
  // The unfolded input, (N·OH·OW, KH·KW·C): made by the forward only under
  // mixed_bfloat16 (whose products take it), otherwise on demand by the per-example
  // pass of private training, whose gradient norms are computed from it.
  ConstTensorView unfolded_input() const { return cols_; }
  const ops::Conv2DGeometry& geometry() const { return geometry_; }

 private:
  void record_per_example_norms(ConstTensorView dz);
  int64_t filters_;
  std::array<int64_t, 2> kernel_size_;
  Conv2DOptions options_;
  FusedActivation activation_;
  ops::Conv2DGeometry geometry_;  // per image; batch is set on each forward
  int kernel_id_ = -1, bias_id_ = -1;
  TensorView kernel_, bias_, dkernel_, dbias_;
  ConstTensorView x_;            // the last forward's input: the direct backward reads it
  bool unfolded_ = false;        // the last forward went through im2col + GEMM
  bool cols_current_ = false;    // cols_ holds the unfolding of x_
  Tensor cols_, dcols_;
  Tensor example_kernel_grad_;  // scratch for per-example norms
};

}  // namespace citadel
