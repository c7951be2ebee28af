// TimeDistributed: applies one layer to every step of a (N, T, ...) input, as
// keras.layers.TimeDistributed (Keras 3): the steps are folded into the batch, (N·T, ...),
// so the wrapped layer's weights are shared by all steps; they are named under this layer
// ("time_distributed/dense/kernel"), which Keras files keep under layers/<name>/layer/vars.
// A mask passes through (the wrapped layer does not read it).
#pragma once

#include <memory>
#include <vector>

#include "citadel/layers/layer.hpp"

namespace citadel {

struct TimeDistributedOptions {
  std::vector<int64_t> input_shape = {};  // when it is the first layer: (T, ...)
};

class TimeDistributed final : public Layer {
 public:
  // `layer` is copied; it must take one input.
  explicit TimeDistributed(const Layer& layer, const TimeDistributedOptions& options = {});
  TimeDistributed(const TimeDistributed& other);
  TimeDistributed& operator=(const TimeDistributed& other);
  ~TimeDistributed() override;

  std::unique_ptr<Layer> clone() const override { return std::make_unique<TimeDistributed>(*this); }
  std::string type() const override { return "TimeDistributed"; }
  static std::unique_ptr<Layer> from_config(const LayerConfigReader& config);
  void get_config(LayerConfigWriter& config) const override;
  std::optional<Shape> declared_input_shape() const override;
  Shape build(const Shape& input_shape, ParameterStore& params) override;  // in: (T, ...)
  void bind(ParameterStore& params) override;
  int64_t parameter_count() const override;
  void forward(ConstTensorView x, Tensor& y, Mode mode) override;  // y: (N, T, layer's output...)
  void backward(ConstTensorView dy, Tensor& dx) override;
  bool supports_masking() const override { return true; }
  int64_t token_id_bound() const override;

  // Per-example norms: the wrapped layer's per-row gradients summed over each example's steps.
  void add_per_example_squared_norms(std::span<double> squared_norms) override;
  bool writes_per_example_gradients() const override;

  void reseed(uint64_t seed) override;
  std::vector<uint64_t> random_state() const override;
  void set_random_state(const std::vector<uint64_t>& words) override;

  const Layer& layer() const { return *layer_; }

 private:
  TimeDistributedOptions options_;
  std::unique_ptr<Layer> layer_;
  Shape input_shape_, output_shape_;  // without the batch axis: (T, ...) each
  int64_t batch_ = 0;                 // N of the last forward
  Tensor sink_block_;                 // (N·T, parameters): the wrapped layer's per-row gradients
};

}  // namespace citadel
