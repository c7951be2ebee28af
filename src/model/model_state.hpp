// The private state of a Model, shared by its building, graph-walking and training code.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "citadel/core/secure_random.hpp"
#include "citadel/model/mask_flow.hpp"
#include "citadel/model/model.hpp"

namespace citadel {

struct Model::State {
  std::string name;
  bool sequential = false;
  bool built = false;

  // The layers (model.layer(i)), in the order of their first call; for a Sequential model
  // before build(), the layers added so far.
  std::vector<std::unique_ptr<Layer>> layers;
  // A graph model's structure before its layers are built (kept until build()).
  GraphInfo graph;
  bool graph_known = false;  // graph holds the structure (always, once built)
  // The object each node runs: the layer itself for its first call, a copy sharing its
  // parameters (clone() after bind()) for each later call.
  std::vector<Layer*> node_layer;
  std::vector<std::unique_ptr<Layer>> later_calls;
  std::vector<bool> shared_layer;  // per layer: called more than once
  // Per layer: its parameters' ids [first, end) in the store, and whether it was frozen
  // when the model was last built or compiled (what training follows; see apply_trainable).
  std::vector<std::pair<int, int>> layer_parameters;
  std::vector<bool> frozen_layer;

  ParameterStore params;
  bool regularized = false;  // some parameter has an L1/L2 penalty
  Rng rng;

  // Set by compile(); resolved per output once the model is built.
  bool compiled = false;
  CompileOptions compile_options;  // what compile() was given (losses, weights, metrics)
  std::string optimizer_name;
  struct OutputTraining {
    std::string name;                      // the output layer's name
    std::unique_ptr<Loss> loss;            // as the user gave it
    std::unique_ptr<Loss> training_loss;   // the same, or fused with the output activation
    bool fused = false;                    // training_loss takes the output node's pre-activation
    double weight = 1.0;
    std::vector<std::string> metric_names;
    std::vector<std::unique_ptr<Metric>> metrics;
  };
  std::vector<OutputTraining> outputs;
  std::unique_ptr<Optimizer> optimizer;
  uint64_t fit_calls = 0;
  ResumePoint progress;  // updated after every epoch of fit
  bool stop_requested = false;
  std::string stop_reason;
  // Matrix products' precision: asked for, and computed in on this processor. DP-SGD's
  // backward passes run in float32 whatever it is (see private_gradient).
  ops::Precision requested_precision = ops::Precision::kFloat32;
  ops::Precision precision = ops::Precision::kFloat32;
  bool float32_gradients = false;

  // Buffers reused across batches: each tensor's value (inputs are views of the caller's
  // data), gradient slots shared by tensors whose gradients are not alive at once, the
  // loss gradients, and the gathered batch.
  std::vector<Tensor> values;
  std::vector<ConstTensorView> views;     // per tensor, the current forward's value
  std::vector<Tensor> gradient_slots;
  std::vector<int> slot_of;               // per tensor: its gradient's slot, -1 when none is needed
  std::vector<int> contributions;         // per tensor: gradients added this backward walk
  std::vector<Tensor> scratch;            // a node's extra input gradients, added into slots
  std::vector<ConstTensorView> node_inputs;  // a merge node's inputs, gathered
  std::vector<Tensor*> node_targets;         // where a node's input gradients go
  std::vector<char> node_direct;             // ... straight into their slots
  std::vector<Tensor> loss_gradients;     // per output
  std::vector<Tensor> batch_x, batch_y;   // per input, per output
  std::vector<ConstTensorView> batch_x_views, batch_y_views;  // of them (refresh_batch_views)
  std::vector<int64_t> local_batch;       // data-parallel: this rank's rows of the global batch
  std::vector<double> example_norms;      // scratch of private_gradient
  std::vector<double> step_losses;        // per output: the last training step's loss (over the group)
  std::vector<double> group_sums;         // scratch of parallel_step
  std::vector<Tensor> example_gradients;  // per shared layer: (N, its parameters), DP-SGD
  // Which tensors need gradients, without and with the model's input gradients.
  std::vector<bool> needs_gradient[2];
  std::vector<bool> input_gradient_wanted;  // per input: this walk computes it
  MaskFlow masks;  // sequences' masks beside the values (inactive when no layer makes one)

  explicit State(uint64_t seed) : rng(seed) {}

  // The graph walks (src/model/graph_walk.cpp). A replaced tensor (a node's output) is
  // computed by its node as usual, then the nodes after it read `value` instead (attacks in
  // a layer's output space: the layer still computes its mask from its real inputs).
  struct Replacement {
    int tensor = -1;
    ConstTensorView value;  // the batch's rows
  };
  void forward(std::span<const ConstTensorView> inputs, Mode mode, const Replacement* replaced = nullptr);
  ConstTensorView output(size_t k) const { return views[static_cast<size_t>(graph.outputs[k])]; }
  // The weighted loss of the last forward() against the targets (with the weight
  // penalties); fills loss_gradients if asked. `per_output` receives each output's loss.
  double loss_value(std::span<const ConstTensorView> targets, bool with_gradient, std::vector<double>* per_output = nullptr);
  // Parameter gradients, and with `input` ≥ 0 ∂L/∂(that input) (left in input_gradient(input));
  // nodes that lead to no parameter or wanted input are skipped. Without
  // `parameter_gradients` the layers only pass gradients down (DP-SGD's first pass).
  void backward(int input = -1, bool with_regularization = true, bool parameter_gradients = true);
  ConstTensorView input_gradient(int input) const;
  // ∂L/∂(tensor `tensor`, a node's output, read by some node), left in tensor_gradient(tensor):
  // the backward walk, stopped once every reader of the tensor has passed its gradient back.
  // Parameter gradients are left partial.
  void backward_to(int tensor);
  ConstTensorView tensor_gradient(int tensor) const;
  // The output tensor of the one call of the layer named `layer` (ValueError naming the layers
  // when there is none; NotImplementedError for a layer called several times), for `caller`.
  int layer_output_tensor(const std::string& layer, const char* caller) const;
  // The backward walk behind backward() and backward_to(): `wanted` is the tensor whose
  // gradient is kept (-1: none); the walk stops at its producer when it has one.
  void walk_backward(int wanted, bool with_regularization, bool parameter_gradients);

  // One DP-SGD step on the batch: clipped per-example gradients, noise, optimizer step;
  // `expected_batch` divides the noisy sum. Returns the batch's loss.
  double private_step(std::span<const ConstTensorView> x, std::span<const ConstTensorView> y,
                      const PrivateTraining& privacy, SecureRng& noise, double expected_batch);
  // One data-parallel step on this rank's rows of a global batch (in batch_x, batch_y,
  // possibly none): gradients summed across the group, then the optimizer step (DP-SGD's
  // when `privacy` is given; `noise` only on the rank that adds it). Returns the global
  // batch's loss, the same on every rank; no step when it is not finite (unless private).
  double parallel_step(const Collective& group, int64_t global_batch, const PrivateTraining* privacy,
                       SecureRng* noise, double expected_batch);
  // DP-SGD's parts: the sum of the batch's clipped per-example gradients left in the
  // parameters' gradients (zero for an empty batch), returning the batch's loss; the
  // Gaussian noise added to that sum; the division by the expected batch, the weight
  // penalties' gradient and the optimizer step.
  double private_gradient(std::span<const ConstTensorView> x, std::span<const ConstTensorView> y,
                          const PrivateTraining& privacy);
  void add_private_noise(const PrivateTraining& privacy, SecureRng& noise);
  void private_update(double expected_batch);

  double compute_gradients(Model& model, std::span<const ConstTensorView> x, std::span<const ConstTensorView> y);
  // predict_layer_outputs and per_example_loss, with a tensor replaced when `replaced` is
  // given (its value holding every row of x).
  std::vector<Tensor> layer_outputs(Model& model, std::span<const ConstTensorView> x,
                                    const std::vector<std::string>& layer_names, int64_t batch_size,
                                    const Replacement* replaced);
  // What every prediction starts with: the batch size and x checked, the model built.
  void prepare_prediction(Model& model, std::span<const ConstTensorView> x, int64_t batch_size, const char* caller);
  // The values of `tensors` for every row of x (prepared), batch by batch, into `results`.
  void tensor_values(std::span<const ConstTensorView> x, std::span<const int> tensors, int64_t batch_size,
                     const Replacement* replaced, std::span<Tensor> results);
  Tensor row_losses(Model& model, std::span<const ConstTensorView> x, std::span<const ConstTensorView> y,
                    int64_t batch_size, const Replacement* replaced);
  void resolve_training_setup();
  // Freezes and unfreezes the layers' weights as their `trainable` now says (compile()
  // calls it), laying the store out again and rebinding the layers when that moves them.
  void apply_trainable();
  void check_inputs(std::span<const ConstTensorView> x, const char* caller) const;
  void check_targets(std::span<const ConstTensorView> y, int64_t rows) const;
  // Sized once per graph: the buffers and the gradient slots (by liveness).
  void prepare_walks();
  void refresh_batch_views();
};

}  // namespace citadel
