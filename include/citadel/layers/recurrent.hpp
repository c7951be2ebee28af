// Recurrent layers over (N, T, D) sequences, as keras.layers.SimpleRNN, LSTM and GRU (Keras
// 3's names, defaults and weight layouts: kernel (D, G·U), recurrent_kernel (U, G·U), bias
// (G·U) — GRU with reset_after (2, 3·U) —, gates LSTM i, f, c, o and GRU z, r, h). Masks as
// Keras applies them: a masked step carries the state and outputs the previous output.
// return_state: the outputs [output, h] (LSTM [output, h, c]), taken with layer.call(...);
// initial states: the call's inputs after the sequence (Keras's initial_state=[h, c]).
#pragma once

#include <string>
#include <vector>

#include "citadel/core/random.hpp"
#include "citadel/layers/layer.hpp"
#include "citadel/layers/regularizers.hpp"
#include "citadel/ops/recurrent.hpp"

namespace citadel {

// The settings the three share (the public option structs below fill them).
struct RecurrentSettings {
  enum class Cell { kSimpleRNN, kLSTM, kGRU };
  Cell cell = Cell::kLSTM;
  std::vector<int64_t> input_shape;
  std::string activation = "tanh";
  std::string recurrent_activation = "sigmoid";  // LSTM and GRU
  bool use_bias = true;
  std::string kernel_initializer = "glorot_uniform";
  std::string recurrent_initializer = "orthogonal";
  std::string bias_initializer = "zeros";
  bool unit_forget_bias = true;  // LSTM
  bool reset_after = true;       // GRU
  Regularizer kernel_regularizer, recurrent_regularizer, bias_regularizer;
  float dropout = 0.0f, recurrent_dropout = 0.0f;
  bool return_sequences = false, return_state = false, go_backwards = false;
  bool stateful = false, unroll = false;
  bool zero_output_for_mask = false;
};

struct SimpleRNNOptions {
  std::vector<int64_t> input_shape = {};  // when it is the first layer: (T, D)
  std::string activation = "tanh";
  bool use_bias = true;
  std::string kernel_initializer = "glorot_uniform";
  std::string recurrent_initializer = "orthogonal";
  std::string bias_initializer = "zeros";
  Regularizer kernel_regularizer = {}, recurrent_regularizer = {}, bias_regularizer = {};
  // Keras's: one mask per sequence, the same at every step, on the inputs and on the state
  // the cell reads; training only.
  float dropout = 0.0f, recurrent_dropout = 0.0f;
  bool return_sequences = false;
  // Also give the final state(s), Keras's [output, h] (LSTM: [output, h, c]): the state after
  // the last unmasked step (masked steps carry it). Take them with layer.call({x}).
  bool return_state = false;
  bool go_backwards = false;
  bool zero_output_for_mask = false;  // masked steps output zeros (with return_sequences)
};

struct LSTMOptions {
  std::vector<int64_t> input_shape = {};
  std::string activation = "tanh";
  std::string recurrent_activation = "sigmoid";
  bool use_bias = true;
  std::string kernel_initializer = "glorot_uniform";
  std::string recurrent_initializer = "orthogonal";
  std::string bias_initializer = "zeros";
  bool unit_forget_bias = true;  // the forget gate's bias starts at 1
  Regularizer kernel_regularizer = {}, recurrent_regularizer = {}, bias_regularizer = {};
  float dropout = 0.0f, recurrent_dropout = 0.0f;
  bool return_sequences = false;
  bool return_state = false;
  bool go_backwards = false;
  bool zero_output_for_mask = false;
};

struct GRUOptions {
  std::vector<int64_t> input_shape = {};
  std::string activation = "tanh";
  std::string recurrent_activation = "sigmoid";
  bool use_bias = true;
  std::string kernel_initializer = "glorot_uniform";
  std::string recurrent_initializer = "orthogonal";
  std::string bias_initializer = "zeros";
  Regularizer kernel_regularizer = {}, recurrent_regularizer = {}, bias_regularizer = {};
  float dropout = 0.0f, recurrent_dropout = 0.0f;
  bool return_sequences = false;
  bool return_state = false;
  bool go_backwards = false;
  bool reset_after = true;  // Keras 3's default (cuDNN's form): bias (2, 3·units)
  bool zero_output_for_mask = false;
};

// The three share one implementation: one GEMM projects every step's input, then each
// step is one recurrent GEMM and one fused gate kernel (citadel/ops/recurrent.hpp); the
// backward pass through time mirrors it, and the weight gradients are again one GEMM each
// over all steps. Workspaces grow with the batch and are reused: no allocation per step.
class Recurrent : public Layer {
 public:
  Recurrent(int64_t units, const RecurrentSettings& settings);

  static std::unique_ptr<Layer> from_config(const LayerConfigReader& config, RecurrentSettings::Cell cell);
  void get_config(LayerConfigWriter& config) const override;
  std::optional<Shape> declared_input_shape() const override;
  Shape build(const Shape& input_shape, ParameterStore& params) override;  // in: (T, D)
  void bind(ParameterStore& params) override;
  int64_t parameter_count() const override;
  void forward(ConstTensorView x, Tensor& y, Mode mode) override;
  void backward(ConstTensorView dy, Tensor& dx) override;
  // Initial states: called on {x, h} (LSTM {x, h, c}), each state (N, units); their
  // gradients are the state gradients before the first step.
  bool accepts_input_count(size_t count) const override { return count == 1 || count == 1 + size_t(state_count()); }
  std::string trailing_inputs_argument() const override { return "initial_state"; }
  Shape build_inputs(const std::vector<Shape>& input_shapes, ParameterStore& params) override;
  void forward_inputs(std::span<const ConstTensorView> inputs, Tensor& y, Mode mode) override;
  void backward_inputs(ConstTensorView dy, std::span<Tensor* const> dx) override;
  // return_state: the output, then the final states, packed row by row (Layer::call).
  int output_count() const override { return settings_.return_state ? 1 + state_count() : 1; }
  std::vector<Shape> output_part_shapes() const override;
  bool output_part_keeps_mask(int k) const override { return k == 0 && settings_.return_sequences; }
  // 2 for LSTM (h and c), 1 for the others.
  int state_count() const { return settings_.cell == RecurrentSettings::Cell::kLSTM ? 2 : 1; }

  bool supports_masking() const override { return true; }
  MaskRule output_mask_rule(std::span<const bool> inputs_masked) const override;
  bool uses_mask() const override { return true; }
  void set_input_mask(ConstTensorView mask) override { mask_ = mask; }

  // Each example's kernel gradient Σ_t x_tᵀ·dz_t, recurrent Σ_t h_{t-1}ᵀ·dz_t and bias Σ_t dz_t.
  void add_per_example_squared_norms(std::span<double> squared_norms) override { add_recorded_norms(squared_norms); }
  bool writes_per_example_gradients() const override { return true; }

  void reseed(uint64_t seed) override { rng_ = Rng(seed); }
  std::vector<uint64_t> random_state() const override { return rng_.to_words(); }
  void set_random_state(const std::vector<uint64_t>& words) override { rng_ = Rng::from_words(words); }

  int64_t units() const { return units_; }
  // After backward: ∂L/∂(initial state k) (0: h, 1: LSTM's c), (N, units) (Bidirectional's).
  ConstTensorView initial_state_gradient(int k) const { return k == 0 ? dh_ : dc_; }
  const RecurrentSettings& settings() const { return settings_; }
  // A new, unbuilt layer of the same class with other settings (Bidirectional's copies).
  std::unique_ptr<Recurrent> with_settings(const RecurrentSettings& settings) const;
  // The dropout masks of the last forward, (N, features) and (N, units), each value 0 or
  // 1/(1 − rate); empty when that dropout was off (inference, or a rate of 0).
  ConstTensorView input_dropout_mask() const { return input_dropping_ ? ConstTensorView(input_mask_) : ConstTensorView(); }
  ConstTensorView recurrent_dropout_mask() const {
    return recurrent_dropping_ ? ConstTensorView(recurrent_mask_) : ConstTensorView();
  }

 protected:
  struct FromSettings {};  // tags the subclasses' constructors from settings (configs)
  int64_t gates() const;  // G: 1, 4 or 3

 private:
  void run_forward(ConstTensorView x, Tensor& y, Mode mode);
  Shape output_shape() const;  // of the output alone (the first part with return_state)
  void forward_steps(int64_t batch, Tensor& y);
  void forward_gru_v1_step(const ops::StepRows& rows, int64_t t);
  void backward_steps(ConstTensorView dy, int64_t batch);
  void backward_gru_v1_step(const ops::StepRows& rows, int64_t t);
  void record_per_example_gradients(int64_t batch);
  int64_t time_of(int64_t position) const { return settings_.go_backwards ? steps_ - 1 - position : position; }

  int64_t units_;
  RecurrentSettings settings_;
  ops::CellActivation activation_, recurrent_activation_;
  int64_t steps_ = 0, features_ = 0;
  int kernel_id_ = -1, recurrent_id_ = -1, bias_id_ = -1;
  TensorView kernel_, recurrent_, bias_, dkernel_, drecurrent_, dbias_;
  ConstTensorView input_, mask_;
  ConstTensorView initial_h_, initial_c_;  // the call's initial states; empty: zeros
  Tensor unpacked_, dy_output_;            // return_state: the output alone, and its gradient
  // Workspaces (N, T, ·) indexed by input time, sized on the first call of each batch size.
  Tensor x_proj_;   // x·W + input bias, (N, T, G·U)
  Tensor h_prev_;   // the state each step reads (after recurrent dropout), (N, T, U)
  Tensor c_prev_;   // LSTM: the cell state before each step
  Tensor gates_;    // activated gates, (N, T, G·U)
  Tensor extra_;    // LSTM act(c_t); GRU h·R_h (+ bias) or r·h; (N, T, U)
  Tensor h_, c_;    // the running state, (N, U)
  Tensor h_proj_;   // one step's recurrent product, (N, G·U)
  Tensor dz_x_, dz_h_;  // gradients of the pre-activations, (N, T, G·U); dz_h_ only for GRU
  Tensor dh_, dc_, dh_product_, direct_;  // (N, U)
  Tensor example_block_;  // one example's gradient, for per-example norms
  Rng rng_{0};
  bool input_dropping_ = false, recurrent_dropping_ = false;  // in the last forward
  Tensor input_mask_, recurrent_mask_, dropped_input_;
};

class SimpleRNN final : public Recurrent {
 public:
  explicit SimpleRNN(int64_t units, const SimpleRNNOptions& options = {});
  std::unique_ptr<Layer> clone() const override { return std::make_unique<SimpleRNN>(*this); }
  std::string type() const override { return "SimpleRNN"; }
  static std::unique_ptr<Layer> from_config(const LayerConfigReader& config);

 private:
  friend class Recurrent;
  SimpleRNN(int64_t units, const RecurrentSettings& settings, FromSettings) : Recurrent(units, settings) {}
};

class LSTM final : public Recurrent {
 public:
  explicit LSTM(int64_t units, const LSTMOptions& options = {});
  std::unique_ptr<Layer> clone() const override { return std::make_unique<LSTM>(*this); }
  std::string type() const override { return "LSTM"; }
  static std::unique_ptr<Layer> from_config(const LayerConfigReader& config);

 private:
  friend class Recurrent;
  LSTM(int64_t units, const RecurrentSettings& settings, FromSettings) : Recurrent(units, settings) {}
};

class GRU final : public Recurrent {
 public:
  explicit GRU(int64_t units, const GRUOptions& options = {});
  std::unique_ptr<Layer> clone() const override { return std::make_unique<GRU>(*this); }
  std::string type() const override { return "GRU"; }
  static std::unique_ptr<Layer> from_config(const LayerConfigReader& config);

 private:
  friend class Recurrent;
  GRU(int64_t units, const RecurrentSettings& settings, FromSettings) : Recurrent(units, settings) {}
};

}  // namespace citadel
