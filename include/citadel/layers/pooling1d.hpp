// MaxPooling1D and AveragePooling1D over channels-last sequences (N, T, C), as in Keras:
// pool_size defaults to 2, strides to pool_size, padding to "valid". They run the 2-D
// pooling kernels on a sequence seen as an image of height 1.
#pragma once

#include <string>
#include <vector>

#include "citadel/layers/layer.hpp"
#include "citadel/ops/pooling.hpp"

namespace citadel {

struct Pooling1DOptions {
  std::vector<int64_t> input_shape = {};  // when it is the first layer: (T, C)
  int64_t strides = 0;                    // 0: the pool size
  std::string padding = "valid";          // or "same"
};

class Pooling1D : public Layer {
 public:
  Pooling1D(int64_t pool_size, const Pooling1DOptions& options, const char* type);
  std::optional<Shape> declared_input_shape() const override;
  Shape build(const Shape& input_shape, ParameterStore& params) override;  // in: (T, C)
  void get_config(LayerConfigWriter& config) const override;

  int64_t pool_size() const { return pool_size_; }
  const Pooling1DOptions& options() const { return options_; }

 protected:
  void check_input(ConstTensorView x);  // and sets the batch size
  Shape output_shape() const { return Shape{geometry_.batch, geometry_.out_w, geometry_.channels}; }
  Shape input_shape() const { return Shape{geometry_.batch, geometry_.in_w, geometry_.channels}; }

  int64_t pool_size_;
  Pooling1DOptions options_;
  ops::Pool2DGeometry geometry_;  // height 1
};

class MaxPooling1D final : public Pooling1D {
 public:
  explicit MaxPooling1D(int64_t pool_size = 2, const Pooling1DOptions& options = {})
      : Pooling1D(pool_size, options, "MaxPooling1D") {}
  std::unique_ptr<Layer> clone() const override { return std::make_unique<MaxPooling1D>(*this); }
  std::string type() const override { return "MaxPooling1D"; }
  static std::unique_ptr<Layer> from_config(const LayerConfigReader& config);
  void forward(ConstTensorView x, Tensor& y, Mode mode) override;
  void backward(ConstTensorView dy, Tensor& dx) override;

 private:
  ConstTensorView x_, y_;  // the last forward's input (owned by the model) and output
};

class AveragePooling1D final : public Pooling1D {
 public:
  explicit AveragePooling1D(int64_t pool_size = 2, const Pooling1DOptions& options = {})
      : Pooling1D(pool_size, options, "AveragePooling1D") {}
  std::unique_ptr<Layer> clone() const override { return std::make_unique<AveragePooling1D>(*this); }
  std::string type() const override { return "AveragePooling1D"; }
  static std::unique_ptr<Layer> from_config(const LayerConfigReader& config);
  void forward(ConstTensorView x, Tensor& y, Mode mode) override;
  void backward(ConstTensorView dy, Tensor& dx) override;
};

}  // namespace citadel
