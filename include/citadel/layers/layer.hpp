// Layer: the interface every layer implements. Layers own their math: forward computes
// the output, backward the input gradient, and parameter gradients are accumulated into
// the model's flat gradient buffer. A layer called on symbolic tensors records a node of a
// graph model (Keras's functional API, citadel/layers/symbolic_tensor.hpp).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "citadel/core/parameter_store.hpp"
#include "citadel/core/tensor.hpp"
#include "citadel/layers/symbolic_tensor.hpp"
#include "citadel/ops/activations.hpp"

namespace citadel {

enum class Mode { kTrain, kInfer };

class LayerConfigReader;
class LayerConfigWriter;

class Layer {
 public:
  Layer() = default;
  virtual ~Layer() = default;
  // A copy is a new layer: it does not share the calls (and weights) of the original.
  Layer(const Layer&) = default;
  Layer& operator=(const Layer&) = default;
  virtual std::unique_ptr<Layer> clone() const = 0;
  // The Keras class name, e.g. "Dense".
  virtual std::string type() const = 0;

  const std::string& name() const { return name_; }
  void set_name(const std::string& name) { name_ = name; }
  // Sets the name (a model keeps given names; the others are numbered by type) and returns
  // the layer: Dense(10).named("hidden")(x).
  Layer& named(const std::string& name) {
    name_ = name;
    return *this;
  }

  // Keras's `trainable`: a frozen layer (false) keeps its weights through training: no
  // optimizer step, weight penalty or DP-SGD share (clipping covers the trainable weights
  // only), and they count as non-trainable. A model applies a change when it is built or
  // compiled (Keras: change it, then compile again). A frozen BatchNormalization runs in
  // inference mode (its moving statistics, left unchanged), as in Keras.
  bool trainable() const { return trainable_; }
  // Also reaches the object this layer's symbolic calls share (set it before Model(...)
  // copies the layers; afterwards, through model.get_layer(name)).
  void set_trainable(bool trainable);

  // Calls the layer on symbolic tensors (Keras's functional API): records a node, checks
  // the shapes now (an error names the layer) and returns its output. Every call of one
  // layer object uses the same layer, so its weights are shared (a siamese pair); a
  // temporary (Dense(10)(x)) is copied into the graph. Model(inputs, outputs) makes a model.
  SymbolicTensor operator()(const SymbolicTensor& input) const;
  SymbolicTensor operator()(const std::vector<SymbolicTensor>& inputs) const;
  // The same call, giving every output: one tensor for most layers; for a layer of several
  // outputs (a recurrent layer's return_state: [output, states...]) one per output.
  std::vector<SymbolicTensor> call(const std::vector<SymbolicTensor>& inputs) const;

  // --- Several outputs. The graph has one tensor per call, so such a layer writes its
  // outputs packed row by row into one (N, Σ part sizes) tensor, and call() adds one
  // OutputPart node per output that views its part (citadel/layers/output_part.hpp).
  // Configs and exporters write the parts as Keras's tensor indices of the layer's call.
  virtual int output_count() const { return 1; }
  // After build: the parts' shapes (without the batch axis), in order.
  virtual std::vector<Shape> output_part_shapes() const { return {}; }
  // Whether part k is a sequence that carries the call's mask on (Keras: only the output).
  virtual bool output_part_keeps_mask(int k) const { return k == 0; }
  // Layers whose later inputs are optional (a recurrent layer's initial states, Keras's
  // initial_state=): whether a call on `count` inputs is accepted (by default input_count()'s),
  // and the Keras call argument that holds the inputs after the first (configs).
  virtual bool accepts_input_count(size_t count) const;
  virtual std::string trailing_inputs_argument() const { return ""; }

  // Layers of several inputs (merge layers) return kAnyNumber (two or more) or their count
  // and implement the *_inputs forms below; layers of one input implement the one-tensor
  // build/forward/backward and inherit these forms, which call them.
  static constexpr int kAnyNumber = -1;
  virtual int input_count() const { return 1; }
  virtual Shape build_inputs(const std::vector<Shape>& input_shapes, ParameterStore& params);
  virtual void forward_inputs(std::span<const ConstTensorView> inputs, Tensor& y, Mode mode);
  // Overwrites *dx[i] (resized as needed) with ∂L/∂(input i); a null dx[i] is not wanted.
  virtual void backward_inputs(ConstTensorView dy, std::span<Tensor* const> dx);
  // --- Masks (Keras's), for sequences: beside a (N, T, ...) tensor, a (N, T) tensor of 1 for a
  // time step to use and 0 for a padded one. Masks flow along the graph beside the tensors
  // (src/model/mask_flow.hpp); a model without masks pays nothing for them.
  //
  // Whether the layer accepts a masked input (Keras's supports_masking): single-input
  // layers that leave the time axis alone pass the mask on; merge layers combine them. A
  // layer that does not, given a mask, drops it, and the model says so (mask_warnings(),
  // summary()) as Keras warns.
  virtual bool supports_masking() const { return false; }
  // What the output's mask is, given which inputs carry one: none, the (single) masked
  // input's, or one compute_mask() writes (Masking, merge layers).
  enum class MaskRule { kNone, kSameAsInput, kComputed };
  virtual MaskRule output_mask_rule(std::span<const bool> inputs_masked) const;
  // For kComputed: the output's mask (N, T) from the forward's inputs and their masks (an
  // empty view for an input without one), called after forward(); mask is resized.
  virtual void compute_mask(std::span<const ConstTensorView> inputs, std::span<const ConstTensorView> masks,
                            Tensor& mask) const;
  // Layers whose math reads the input's mask (masked pooling; recurrent layers next): the
  // model gives it before every forward() (an empty view: no mask); the view stays valid
  // until the matching backward().
  virtual bool uses_mask() const { return false; }
  virtual void set_input_mask(ConstTensorView mask) { (void)mask; }
  // Layers of several inputs that read their masks (MultiHeadAttention): one view per
  // input, each empty when that input has none; by default the first input's.
  virtual void set_input_masks(std::span<const ConstTensorView> masks) {
    set_input_mask(masks.empty() ? ConstTensorView() : masks[0]);
  }

  // Layers whose input is integer token ids (Embedding) return how many ids there are: the
  // input must hold integers in [0, bound). 0 (the default): the input is real-valued. A
  // Sequential model whose first layer takes ids has an int32 input (Keras's default for
  // Embedding inputs); test helpers draw valid ids from it.
  virtual int64_t token_id_bound() const { return 0; }

  // Writes the layer's Keras config settings but its name (model_to_config adds the name
  // and the class); the type's from_config in the registry reads them back.
  virtual void get_config(LayerConfigWriter& config) const { (void)config; }

  // The input shape (without the batch axis) given by input_dim / input_shape, if any.
  virtual std::optional<Shape> declared_input_shape() const { return std::nullopt; }
  // Checks the input shape (without the batch axis), declares the parameters and returns
  // the output shape (without the batch axis).
  virtual Shape build(const Shape& input_shape, ParameterStore& params) = 0;
  // Takes views of its parameters once the store is allocated.
  virtual void bind(ParameterStore& params) { (void)params; }
  virtual int64_t parameter_count() const { return 0; }
  // Seeds the layer's own randomness (dropout masks); the model calls it at build time
  // with a stream derived from its seed.
  virtual void reseed(uint64_t seed) { (void)seed; }
  // The layer's random state (empty when it has none), for checkpoints.
  virtual std::vector<uint64_t> random_state() const { return {}; }
  virtual void set_random_state(const std::vector<uint64_t>& words) { (void)words; }

  // y = layer(x); y is resized as needed. x must stay alive and unchanged until the
  // matching backward() (the model keeps every layer's input for that reason).
  virtual void forward(ConstTensorView x, Tensor& y, Mode mode) = 0;
  // From dy = ∂L/∂y: overwrites dx = ∂L/∂x (resized as needed) and accumulates the
  // parameter gradients.
  virtual void backward(ConstTensorView dy, Tensor& dx) = 0;

  // Output activation, for fusing it with the loss (sigmoid with binary cross-entropy,
  // softmax with categorical cross-entropy), which is both stabler and cheaper.
  virtual ops::ActivationKind activation() const { return ops::ActivationKind::kLinear; }
  // The output before the activation, from the last forward().
  virtual ConstTensorView pre_activation() const;
  // backward() starting from ∂L/∂(pre-activation) instead of ∂L/∂y.
  virtual void backward_from_pre_activation(ConstTensorView dz, Tensor& dx);

  // When false, backward() may skip dx (accumulating only the parameter gradients): the
  // model clears it for the first layer with parameters unless the input gradient is
  // wanted (attacks), which saves the costliest product of a first convolution.
  void set_input_gradient_needed(bool needed) { input_gradient_needed_ = needed; }
  // When false, backward() may skip the parameter gradients (DP-SGD's first pass only
  // needs each layer's output gradient for the per-example norms).
  void set_parameter_gradients_needed(bool needed) { parameter_gradients_needed_ = needed; }

  // When true, backward() also records the squared L2 norm of each example's share of
  // this layer's parameter gradient (whose dy holds each example's gradient row), while
  // its output gradient is still valid: a later layer's backward may overwrite it.
  void set_per_example_norms_needed(bool needed) { per_example_norms_needed_ = needed; }
  // Adds to squared_norms[i] the norm recorded for example i by the last backward() with
  // per-example norms needed. Private training needs it from every layer with
  // parameters; the default throws for those and adds nothing for the rest.
  virtual void add_per_example_squared_norms(std::span<double> squared_norms);
  // A layer a model calls more than once (shared weights) has as per-example gradient the
  // sum over its calls, whose norm is not the sum of the calls' norms: with a sink set,
  // backward() adds each example's gradient of this call (its parameters flattened in
  // declaration order) into the sink's row for that example — (N, parameter_count()) —
  // instead of recording its norm. Layers with per-example norms implement it; the
  // default throws for layers with parameters.
  void set_per_example_gradient_sink(TensorView sink) { gradient_sink_ = sink; }
  virtual bool writes_per_example_gradients() const { return false; }

  // The object every symbolic call of this layer uses (null before the first call).
  const std::shared_ptr<Layer>& called_layer() const { return calls_.layer; }

 protected:
  std::string name_;
  bool input_gradient_needed_ = true;
  bool parameter_gradients_needed_ = true;
  bool trainable_ = true;
  bool per_example_norms_needed_ = false;
  // Per-example squared norms of the last backward that recorded them (layers with
  // parameters fill it); add_recorded_norms adds them to the caller's.
  std::vector<double> example_squared_norms_;
  void add_recorded_norms(std::span<double> squared_norms) const;
  TensorView gradient_sink_;  // see set_per_example_gradient_sink; empty: record norms
  // backward_inputs() of a layer whose first input is a sequence and whose others are its
  // initial states: backward() into dx[0] (skipping the input gradient when dx[0] is null),
  // then each wanted dx[k] (k >= 1) a copy of state_gradient(k - 1), which backward() left.
  void backward_sequence_and_states(ConstTensorView dy, std::span<Tensor* const> dx,
                                    const std::function<ConstTensorView(int)>& state_gradient);

 private:
  // The copy of this layer that its symbolic calls share. Copying a layer does not copy it:
  // a clone is another layer.
  struct Calls {
    std::shared_ptr<Layer> layer;
    Calls() = default;
    Calls(const Calls&) {}
    Calls& operator=(const Calls&) { return *this; }
  };
  mutable Calls calls_;
};

}  // namespace citadel
