// SpatialDropout1D, as keras.layers.SpatialDropout1D (Keras 3): on a (N, T, C) input, in
// training each example's channel is dropped whole with probability `rate` (the same
// channel mask at every step) and the kept ones are scaled by 1/(1 − rate); in evaluate and
// predict the layer passes its input through unchanged. It leaves the time axis alone, so a
// mask passes through (Keras's supports_masking).
#pragma once

#include "citadel/core/random.hpp"
#include "citadel/layers/layer.hpp"

namespace citadel {

struct SpatialDropout1DOptions {
  std::vector<int64_t> input_shape = {};  // for a first layer: (T, C)
};

class SpatialDropout1D final : public Layer {
 public:
  explicit SpatialDropout1D(float rate, const SpatialDropout1DOptions& options = {});

  std::unique_ptr<Layer> clone() const override { return std::make_unique<SpatialDropout1D>(*this); }
  std::string type() const override { return "SpatialDropout1D"; }
  bool supports_masking() const override { return true; }
  static std::unique_ptr<Layer> from_config(const LayerConfigReader& config);
  void get_config(LayerConfigWriter& config) const override;
  std::optional<Shape> declared_input_shape() const override;
  Shape build(const Shape& input_shape, ParameterStore& params) override;  // in: (T, C)
  void forward(ConstTensorView x, Tensor& y, Mode mode) override;         // y: (N, T, C)
  void backward(ConstTensorView dy, Tensor& dx) override;
  void reseed(uint64_t seed) override { rng_ = Rng(seed); }
  std::vector<uint64_t> random_state() const override { return rng_.to_words(); }
  void set_random_state(const std::vector<uint64_t>& words) override { rng_ = Rng::from_words(words); }
  float rate() const { return rate_; }

 private:
  float rate_;
  SpatialDropout1DOptions options_;
  Shape input_shape_;
  Rng rng_{0};
  Tensor mask_;  // (N, C): 0 or 1/(1 − rate) per example and channel of the last training forward
  bool last_was_training_ = false;
};

}  // namespace citadel
