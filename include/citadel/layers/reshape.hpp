// Reshape: (N, ...) → (N, target_shape...), as keras.layers.Reshape; one entry of
// target_shape may be -1, inferred from the input's size.
#pragma once

#include <vector>

#include "citadel/layers/layer.hpp"

namespace citadel {

struct ReshapeOptions {
  std::vector<int64_t> input_shape = {};  // when it is the first layer, e.g. {784}
};

class Reshape final : public Layer {
 public:
  explicit Reshape(std::vector<int64_t> target_shape, const ReshapeOptions& options = {});
  std::unique_ptr<Layer> clone() const override { return std::make_unique<Reshape>(*this); }
  std::string type() const override { return "Reshape"; }
  static std::unique_ptr<Layer> from_config(const LayerConfigReader& config);
  void get_config(LayerConfigWriter& config) const override;
  std::optional<Shape> declared_input_shape() const override;
  Shape build(const Shape& input_shape, ParameterStore& params) override;
  void forward(ConstTensorView x, Tensor& y, Mode mode) override;
  void backward(ConstTensorView dy, Tensor& dx) override;

  const std::vector<int64_t>& target_shape() const { return target_shape_; }

 private:
  std::vector<int64_t> target_shape_;
  ReshapeOptions options_;
  Shape input_shape_, output_shape_;
};

}  // namespace citadel
