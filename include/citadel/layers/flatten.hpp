// Flatten: (N, d1, d2, ...) → (N, d1·d2·...), as keras.layers.Flatten.
#pragma once

#include <vector>

#include "citadel/layers/layer.hpp"

namespace citadel {

struct FlattenOptions {
  std::vector<int64_t> input_shape = {};  // when it is the first layer, e.g. {28, 28, 1}
};

class Flatten final : public Layer {
 public:
  explicit Flatten(const FlattenOptions& options = {}) : options_(options) {}
  std::unique_ptr<Layer> clone() const override { return std::make_unique<Flatten>(*this); }
  std::string type() const override { return "Flatten"; }
  static std::unique_ptr<Layer> from_config(const LayerConfigReader& config);
  std::optional<Shape> declared_input_shape() const override;
  Shape build(const Shape& input_shape, ParameterStore& params) override;
  void forward(ConstTensorView x, Tensor& y, Mode mode) override;
  void backward(ConstTensorView dy, Tensor& dx) override;

 private:
  FlattenOptions options_;
  Shape input_shape_;
};

}  // namespace citadel
