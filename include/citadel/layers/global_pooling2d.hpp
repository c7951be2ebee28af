// GlobalAveragePooling2D and GlobalMaxPooling2D: (N, H, W, C) → (N, C), as in Keras.
#pragma once

#include <vector>

#include "citadel/layers/layer.hpp"

namespace citadel {

struct GlobalPooling2DOptions {
  std::vector<int64_t> input_shape = {};  // when it is the first layer
};

class GlobalPooling2D : public Layer {
 public:
  explicit GlobalPooling2D(const GlobalPooling2DOptions& options) : options_(options) {}
  std::optional<Shape> declared_input_shape() const override;
  Shape build(const Shape& input_shape, ParameterStore& params) override;  // in: (H, W, C)

 protected:
  void check_input(ConstTensorView x) const;
  int64_t pixels() const { return input_shape_[0] * input_shape_[1]; }
  int64_t channels() const { return input_shape_[2]; }

  GlobalPooling2DOptions options_;
  Shape input_shape_;
};

class GlobalAveragePooling2D final : public GlobalPooling2D {
 public:
  explicit GlobalAveragePooling2D(const GlobalPooling2DOptions& options = {}) : GlobalPooling2D(options) {}
  std::unique_ptr<Layer> clone() const override { return std::make_unique<GlobalAveragePooling2D>(*this); }
  std::string type() const override { return "GlobalAveragePooling2D"; }
  static std::unique_ptr<Layer> from_config(const LayerConfigReader& config);
  void forward(ConstTensorView x, Tensor& y, Mode mode) override;
  void backward(ConstTensorView dy, Tensor& dx) override;
};

class GlobalMaxPooling2D final : public GlobalPooling2D {
 public:
  explicit GlobalMaxPooling2D(const GlobalPooling2DOptions& options = {}) : GlobalPooling2D(options) {}
  std::unique_ptr<Layer> clone() const override { return std::make_unique<GlobalMaxPooling2D>(*this); }
  std::string type() const override { return "GlobalMaxPooling2D"; }
  static std::unique_ptr<Layer> from_config(const LayerConfigReader& config);
  void forward(ConstTensorView x, Tensor& y, Mode mode) override;
  void backward(ConstTensorView dy, Tensor& dx) override;

 private:
  std::vector<int64_t> argmax_;  // per (n, c): the pixel holding the maximum
};

}  // namespace citadel
