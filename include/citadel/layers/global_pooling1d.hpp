// GlobalAveragePooling1D and GlobalMaxPooling1D: (N, T, C) → (N, C), as in Keras 3. The
// average reads the input's mask: it averages the kept steps only (a row with none kept
// gives zeros). Keras 3's GlobalMaxPooling1D does not support masks: it takes the maximum
// over every step, and a model that gives it a mask warns that it is dropped.
#pragma once

#include <vector>

#include "citadel/layers/layer.hpp"

namespace citadel {

struct GlobalPooling1DOptions {
  std::vector<int64_t> input_shape = {};  // when it is the first layer: (T, C)
};

class GlobalPooling1D : public Layer {
 public:
  explicit GlobalPooling1D(const GlobalPooling1DOptions& options) : options_(options) {}
  std::optional<Shape> declared_input_shape() const override;
  Shape build(const Shape& input_shape, ParameterStore& params) override;  // in: (T, C)

 protected:
  void check_input(ConstTensorView x) const;
  int64_t steps() const { return input_shape_[0]; }
  int64_t channels() const { return input_shape_[1]; }

  GlobalPooling1DOptions options_;
  Shape input_shape_;
};

class GlobalAveragePooling1D final : public GlobalPooling1D {
 public:
  explicit GlobalAveragePooling1D(const GlobalPooling1DOptions& options = {}) : GlobalPooling1D(options) {}
  std::unique_ptr<Layer> clone() const override { return std::make_unique<GlobalAveragePooling1D>(*this); }
  std::string type() const override { return "GlobalAveragePooling1D"; }
  static std::unique_ptr<Layer> from_config(const LayerConfigReader& config);
  void forward(ConstTensorView x, Tensor& y, Mode mode) override;
  void backward(ConstTensorView dy, Tensor& dx) override;
  // Reads the mask; its output has none.
  bool supports_masking() const override { return true; }
  MaskRule output_mask_rule(std::span<const bool>) const override { return MaskRule::kNone; }
  bool uses_mask() const override { return true; }
  void set_input_mask(ConstTensorView mask) override { mask_ = mask; }

 private:
  float weight(int64_t n, int64_t t) const;  // of step t of row n in its average
  ConstTensorView mask_;            // (N, T), or empty
  std::vector<float> kept_counts_;  // per row: the steps kept in the last forward
};

class GlobalMaxPooling1D final : public GlobalPooling1D {
 public:
  explicit GlobalMaxPooling1D(const GlobalPooling1DOptions& options = {}) : GlobalPooling1D(options) {}
  std::unique_ptr<Layer> clone() const override { return std::make_unique<GlobalMaxPooling1D>(*this); }
  std::string type() const override { return "GlobalMaxPooling1D"; }
  static std::unique_ptr<Layer> from_config(const LayerConfigReader& config);
  void forward(ConstTensorView x, Tensor& y, Mode mode) override;
  void backward(ConstTensorView dy, Tensor& dx) override;

 private:
  std::vector<int64_t> argmax_;  // per (n, c): the step holding the maximum
};

}  // namespace citadel
