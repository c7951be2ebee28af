// Bidirectional: runs a recurrent layer (SimpleRNN, LSTM, GRU) over a sequence forwards and
// a go_backwards copy of it, and merges the two outputs, as keras.layers.Bidirectional (Keras
// 3): the copies are named forward_<name> and backward_<name>, with return_sequences the
// backward output is put back in forward time order, and masked steps output zeros. With the
// layer's return_state, a call gives [output, forward states..., backward states...]; initial
// states are the call's inputs after the sequence, the forward layer's first (Keras's order).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "citadel/layers/layer.hpp"

namespace citadel {

class Recurrent;

struct BidirectionalOptions {
  // How the two outputs merge: "concat" (on the last axis), "sum", "mul" or "ave". Keras's
  // None (two outputs) is refused: a citadel layer has one output.
  std::string merge_mode = "concat";
  std::vector<int64_t> input_shape = {};  // when it is the first layer: (T, D)
};

class Bidirectional final : public Layer {
 public:
  // `layer` must be a SimpleRNN, LSTM or GRU; its go_backwards copy is the backward layer.
  explicit Bidirectional(const Layer& layer, const BidirectionalOptions& options = {});
  // An explicit backward layer: the other go_backwards value and the same return_sequences.
  Bidirectional(const Layer& layer, const Layer& backward_layer, const BidirectionalOptions& options = {});
  Bidirectional(const Bidirectional& other);
  Bidirectional& operator=(const Bidirectional& other);
  ~Bidirectional() override;

  std::unique_ptr<Layer> clone() const override { return std::make_unique<Bidirectional>(*this); }
  std::string type() const override { return "Bidirectional"; }
  static std::unique_ptr<Layer> from_config(const LayerConfigReader& config);
  void get_config(LayerConfigWriter& config) const override;
  std::optional<Shape> declared_input_shape() const override;
  // Declares the forward layer's weights, then the backward layer's (Keras's order), named
  // "<name>/forward_<layer>/kernel", ...
  Shape build(const Shape& input_shape, ParameterStore& params) override;  // in: (T, D)
  void bind(ParameterStore& params) override;
  int64_t parameter_count() const override;
  void forward(ConstTensorView x, Tensor& y, Mode mode) override;
  void backward(ConstTensorView dy, Tensor& dx) override;
  bool accepts_input_count(size_t count) const override { return count == 1 || count == 1 + size_t(state_count()); }
  std::string trailing_inputs_argument() const override { return "initial_state"; }
  Shape build_inputs(const std::vector<Shape>& input_shapes, ParameterStore& params) override;
  void forward_inputs(std::span<const ConstTensorView> inputs, Tensor& y, Mode mode) override;
  void backward_inputs(ConstTensorView dy, std::span<Tensor* const> dx) override;
  int output_count() const override { return return_state() ? 1 + state_count() : 1; }
  std::vector<Shape> output_part_shapes() const override;
  bool output_part_keeps_mask(int k) const override { return k == 0 && return_sequences_; }

  bool supports_masking() const override { return true; }
  MaskRule output_mask_rule(std::span<const bool> inputs_masked) const override;
  bool uses_mask() const override { return true; }
  void set_input_mask(ConstTensorView mask) override { mask_ = mask; }

  void add_per_example_squared_norms(std::span<double> squared_norms) override;
  bool writes_per_example_gradients() const override { return true; }

  void reseed(uint64_t seed) override;
  std::vector<uint64_t> random_state() const override;
  void set_random_state(const std::vector<uint64_t>& words) override;

  const std::string& merge_mode() const { return options_.merge_mode; }
  const Recurrent& forward_layer() const { return *forward_; }
  const Recurrent& backward_layer() const { return *backward_; }
  bool return_state() const;
  int state_count() const;  // both layers' states together

 private:
  void check_pair() const;
  void pass_flags_to(Layer& layer) const;
  void backward_with_sink(int64_t batch, Tensor& dx);
  Shape merged_shape() const;
  void run_forward(std::span<const ConstTensorView> inputs, Tensor& y, Mode mode);

  BidirectionalOptions options_;
  std::unique_ptr<Recurrent> forward_, backward_;
  std::string forward_name_, backward_name_;  // Keras's names of the two (forward_lstm, backward_lstm)
  int64_t steps_ = 0, features_ = 0;
  bool return_sequences_ = false;
  ConstTensorView mask_;
  // Reused between batches: each direction's output and gradient (the backward one in its
  // own, reversed, time order) and each direction's input gradient.
  Tensor y_forward_, y_backward_, dy_forward_, dy_backward_, dx_backward_, sink_block_;
};

}  // namespace citadel
