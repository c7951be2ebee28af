// The private state of a Sequential model, shared by its building and training code.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "citadel/core/secure_random.hpp"
#include "citadel/model/sequential.hpp"

namespace citadel {

struct Sequential::State {
  std::vector<std::unique_ptr<Layer>> layers;
  std::vector<Shape> output_shapes;  // per layer, without the batch axis
  Shape input_shape;
  ParameterStore params;
  bool regularized = false;  // some parameter has an L1/L2 penalty
  Rng rng;

  // Set by compile(); the rest of training's setup is resolved once the model is built.
  bool compiled = false;
  std::unique_ptr<Loss> loss;           // as the user gave it
  std::unique_ptr<Loss> training_loss;  // the same, or fused with the output activation
  bool fused_output = false;            // training_loss takes the last pre-activation
  std::unique_ptr<Optimizer> optimizer;
  std::vector<std::string> metric_names;
  std::vector<std::unique_ptr<Metric>> metrics;
  uint64_t fit_calls = 0;
  ResumePoint progress;  // updated after every epoch of fit
  bool stop_requested = false;
  // Matrix products' precision: asked for, and computed in on this processor. DP-SGD's
  // backward passes run in float32 whatever it is (see private_step).
  ops::Precision requested_precision = ops::Precision::kFloat32;
  ops::Precision precision = ops::Precision::kFloat32;
  bool float32_gradients = false;
  std::string stop_reason;

  // Buffers reused across batches: each layer's output, two ping-pong gradients, the
  // loss gradient and the gathered batch.
  std::vector<Tensor> outputs;
  Tensor gradient_a, gradient_b, loss_gradient;
  Tensor batch_x, batch_y;
  std::vector<int64_t> local_batch;  // data-parallel: this rank's rows of the global batch

  explicit State(uint64_t seed) : rng(seed) {}

  void forward(ConstTensorView x, Mode mode);
  ConstTensorView output() const { return outputs.back(); }
  // The mean loss of the last forward() against y; fills loss_gradient if asked.
  double loss_value(ConstTensorView y, bool with_gradient);
  // Parameter gradients, and with `input_gradient` ∂L/∂x of the whole model (left in
  // input_gradient()); otherwise layers before the first with parameters are skipped.
  // Without `parameter_gradients` the layers only pass gradients down (DP-SGD's first pass).
  void backward(bool input_gradient = false, bool with_regularization = true, bool parameter_gradients = true);
  // One DP-SGD step on the batch (x, y): clipped per-example gradients, noise, optimizer
  // step; `expected_batch` divides the noisy sum. Returns the batch's mean loss.
  double private_step(ConstTensorView x, ConstTensorView y, const PrivateTraining& privacy, SecureRng& noise,
                      double expected_batch);
  // Its parts, for data-parallel training: the sum of the batch's clipped per-example
  // gradients left in the parameters' gradients (zero for an empty batch), returning the
  // batch's mean loss; the Gaussian noise added to that sum; the division by the expected
  // batch, the weight penalties' gradient and the optimizer step.
  // One data-parallel step on this rank's rows of a global batch of `global_batch` rows
  // (in batch_x, batch_y, possibly none): gradients summed across the group, then the
  // optimizer step (DP-SGD's when `privacy` is given; `noise` only on the rank that adds
  // it). Returns the global batch's mean loss, the same on every rank; no step when it is
  // not finite.
  double parallel_step(const Collective& group, int64_t global_batch, const PrivateTraining* privacy,
                       SecureRng* noise, double expected_batch);
  double private_gradient(ConstTensorView x, ConstTensorView y, const PrivateTraining& privacy);
  void add_private_noise(const PrivateTraining& privacy, SecureRng& noise);
  void private_update(double expected_batch);
  std::vector<double> example_norms;  // scratch of private_step
  ConstTensorView input_gradient() const { return *last_gradient; }
  const Tensor* last_gradient = nullptr;
  void resolve_training_setup();
  void check_inputs(ConstTensorView x, const char* caller) const;
};

}  // namespace citadel
