// Dropout (Srivastava et al. 2014), inverted as Keras does it: in training each element
// is zeroed with probability `rate` and the rest scaled by 1/(1 − rate); in evaluate and
// predict the layer passes its input through unchanged.
#pragma once

#include "citadel/core/random.hpp"
#include "citadel/layers/layer.hpp"

namespace citadel {

struct DropoutOptions {
  std::vector<int64_t> input_shape = {};  // for a first layer (without the batch axis)
};

class Dropout final : public Layer {
 public:
  explicit Dropout(float rate, const DropoutOptions& options = {});

  std::unique_ptr<Layer> clone() const override { return std::make_unique<Dropout>(*this); }
  std::string type() const override { return "Dropout"; }
  // Keras 3: it leaves the time axis alone, so a mask passes through.
  bool supports_masking() const override { return true; }
  static std::unique_ptr<Layer> from_config(const LayerConfigReader& config);
  void get_config(LayerConfigWriter& config) const override;
  std::optional<Shape> declared_input_shape() const override;
  Shape build(const Shape& input_shape, ParameterStore& params) override;
  void forward(ConstTensorView x, Tensor& y, Mode mode) override;  // any shape
  void backward(ConstTensorView dy, Tensor& dx) override;
  void reseed(uint64_t seed) override { rng_ = Rng(seed); }
  std::vector<uint64_t> random_state() const override { return rng_.to_words(); }
  void set_random_state(const std::vector<uint64_t>& words) override { rng_ = Rng::from_words(words); }
  float rate() const { return rate_; }

 private:
  float rate_;
  DropoutOptions options_;
  Shape input_shape_;
  Rng rng_{0};
  Tensor mask_;  // 0 or 1/(1 − rate) per element of the last training forward
  bool last_was_training_ = false;
};

}  // namespace citadel
