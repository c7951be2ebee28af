// MaxPooling2D and AveragePooling2D over channels-last images, as in Keras:
// pool_size defaults to 2x2, strides to pool_size, padding to "valid".
#pragma once

#include <array>
#include <string>
#include <vector>

#include "citadel/layers/layer.hpp"
#include "citadel/ops/pooling.hpp"

namespace citadel {

struct Pooling2DOptions {
  std::vector<int64_t> input_shape = {};  // when it is the first layer
  std::array<int64_t, 2> strides = {0, 0};  // {0, 0}: the pool size
  std::string padding = "valid";            // or "same"
};

// The shared part of both pooling layers: arguments, shapes and geometry.
class Pooling2D : public Layer {
 public:
  Pooling2D(std::array<int64_t, 2> pool_size, const Pooling2DOptions& options, const char* type);
  std::optional<Shape> declared_input_shape() const override;
  Shape build(const Shape& input_shape, ParameterStore& params) override;  // in: (H, W, C)
  void get_config(LayerConfigWriter& config) const override;

  std::array<int64_t, 2> pool_size() const { return pool_size_; }
  const Pooling2DOptions& options() const { return options_; }

 protected:
  void check_input(ConstTensorView x);  // and sets the batch size
  Shape output_shape() const;
  Shape input_shape() const;

  std::array<int64_t, 2> pool_size_;
  Pooling2DOptions options_;
  ops::Pool2DGeometry geometry_;
};

class MaxPooling2D final : public Pooling2D {
 public:
  explicit MaxPooling2D(std::array<int64_t, 2> pool_size = {2, 2}, const Pooling2DOptions& options = {})
      : Pooling2D(pool_size, options, "MaxPooling2D") {}
  std::unique_ptr<Layer> clone() const override { return std::make_unique<MaxPooling2D>(*this); }
  std::string type() const override { return "MaxPooling2D"; }
  static std::unique_ptr<Layer> from_config(const LayerConfigReader& config);
  void forward(ConstTensorView x, Tensor& y, Mode mode) override;
  void backward(ConstTensorView dy, Tensor& dx) override;

 private:
  ConstTensorView x_, y_;  // the last forward's input (owned by the model) and output
};

class AveragePooling2D final : public Pooling2D {
 public:
  explicit AveragePooling2D(std::array<int64_t, 2> pool_size = {2, 2}, const Pooling2DOptions& options = {})
      : Pooling2D(pool_size, options, "AveragePooling2D") {}
  std::unique_ptr<Layer> clone() const override { return std::make_unique<AveragePooling2D>(*this); }
  std::string type() const override { return "AveragePooling2D"; }
  static std::unique_ptr<Layer> from_config(const LayerConfigReader& config);
  void forward(ConstTensorView x, Tensor& y, Mode mode) override;
  void backward(ConstTensorView dy, Tensor& dx) override;
};

}  // namespace citadel
