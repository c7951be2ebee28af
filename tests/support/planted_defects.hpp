// Defects planted in private training for the DP self-audit to catch (test-only: nothing here
// is reachable from the library or the tool). A Dense layer whose gradient escapes DP-SGD's
// clipping: every example's norm is counted as usual, so the other layers are clipped right,
// but this layer's parameter gradient is formed from the unclipped output gradients.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "citadel/layers/dense.hpp"

namespace citadel::testkit {

class DenseEscapingClipping final : public Layer {
 public:
  explicit DenseEscapingClipping(Dense inner) : inner_(std::move(inner)) {}
  std::unique_ptr<Layer> clone() const override { return std::make_unique<DenseEscapingClipping>(*this); }
  std::string type() const override { return "DenseEscapingClipping"; }
  std::optional<Shape> declared_input_shape() const override { return inner_.declared_input_shape(); }
  Shape build(const Shape& input_shape, ParameterStore& params) override { return inner_.build(input_shape, params); }
  void bind(ParameterStore& params) override { inner_.bind(params); }
  int64_t parameter_count() const override { return inner_.parameter_count(); }
  void forward(ConstTensorView x, Tensor& y, Mode mode) override {
    pass_settings();
    inner_.forward(x, y, mode);
  }
  void backward(ConstTensorView dy, Tensor& dx) override {
    pass_settings();
    inner_.backward(replayed(dy), dx);
  }
  ops::ActivationKind activation() const override { return inner_.activation(); }
  ConstTensorView pre_activation() const override { return inner_.pre_activation(); }
  void backward_from_pre_activation(ConstTensorView dz, Tensor& dx) override {
    pass_settings();
    inner_.backward_from_pre_activation(replayed(dz), dx);
  }
  void add_per_example_squared_norms(std::span<double> norms) override { inner_.add_per_example_squared_norms(norms); }

 private:
  // DP-SGD's first backward pass (the norms) sees ∇ℓ_i / batch per row, its second the same
  // rows times batch·min(1, C/‖∇ℓ_i‖). The defect: the second pass gets the first's rows
  // times batch, so this layer sums the examples' gradients unclipped.
  ConstTensorView replayed(ConstTensorView gradient) {
    if (per_example_norms_needed_) {
      unclipped_ = Tensor(gradient.shape());
      const float batch = float(gradient.shape(0));
      for (int64_t i = 0; i < gradient.numel(); ++i) (*unclipped_)[i] = gradient[i] * batch;
      return gradient;
    }
    if (unclipped_ && unclipped_->shape() == gradient.shape()) {
      replay_ = std::move(*unclipped_);
      unclipped_.reset();
      return replay_;
    }
    return gradient;
  }
  void pass_settings() {
    inner_.set_input_gradient_needed(input_gradient_needed_);
    inner_.set_parameter_gradients_needed(parameter_gradients_needed_);
    inner_.set_per_example_norms_needed(per_example_norms_needed_);
  }
  Dense inner_;
  std::optional<Tensor> unclipped_;
  Tensor replay_;
};

}  // namespace citadel::testkit
