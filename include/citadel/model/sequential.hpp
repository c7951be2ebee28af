// Sequential: a stack of layers trained as Keras's Sequential is: add, compile, fit,
// evaluate, predict, summary.
#pragma once

#include <cstdint>
#include <iosfwd>
#include <memory>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "citadel/core/collective.hpp"
#include "citadel/core/parameter_store.hpp"
#include "citadel/core/random.hpp"
#include "citadel/core/tensor.hpp"
#include "citadel/layers/layer.hpp"
#include "citadel/losses/loss.hpp"
#include "citadel/metrics/metric.hpp"
#include "citadel/model/callbacks.hpp"
#include "citadel/model/history.hpp"
#include "citadel/ops/precision.hpp"
#include "citadel/optim/optimizer.hpp"

namespace citadel {

struct CompileOptions {
  LossSpec loss;                          // required: a name or a settings object
  OptimizerSpec optimizer = "rmsprop";    // Keras's default
  std::vector<std::string> metrics = {};  // "accuracy", "precision", "auc", ...
  // "float32", or Keras's "mixed_bfloat16": matrix products and convolutions with bf16
  // inputs (AMX or AVX512-BF16), float32 weights, optimizer state, loss and element-wise
  // work. Where the processor has no bf16 instructions the model computes in float32 and
  // precision_warning() says so.
  std::string precision = "float32";
};

// Data the model is validated on after each epoch (not trained on). Views: the tensors
// must outlive the fit() call.
struct ValidationData {
  ConstTensorView x, y;
};

// Differentially private training (DP-SGD, Abadi et al. 2016) as fit() runs it: each
// example's gradient is clipped to L2 norm `l2_norm_clip`, the clipped gradients are
// summed, Gaussian noise of standard deviation noise_multiplier · l2_norm_clip is added
// and the sum is divided by the expected batch size; then the compiled optimizer steps
// (DP-SGD, DP-Adam, ...). Per-example norms come from the layers' cached inputs and
// output gradients (no per-example backward passes). The privacy accountant lives in
// citadel/privacy/accountant.hpp.
struct PrivateTraining {
  float l2_norm_clip = 1.0f;
  float noise_multiplier = 1.1f;
  // Poisson sampling: each step takes every row independently with probability
  // batch_size / rows, as the accountant assumes. false: fixed-size shuffled batches,
  // which the same accounting does not strictly cover.
  bool poisson_sampling = true;
  // The noise and the batch sampling come from a ChaCha20 stream keyed from the operating
  // system, fresh for every fit() call (a resumed run included): nobody, whoever knows the
  // model's seed, can predict or subtract them. `reproducible` keys that stream from the
  // model's seed instead, for tests and debugging only: anyone who knows the seed can then
  // remove the noise, so the guarantee no longer holds (fit prints a warning).
  bool reproducible = false;
  // The training rows' loss and metrics per epoch are exact statistics of private data,
  // outside what ε covers (as in Opacus). false leaves them out of the History, the
  // progress lines and the callbacks' logs (val_* figures and epsilon remain).
  bool record_training_metrics = true;
  // Called after each step's noise is added, with the noisy sum of the clipped per-example
  // gradients over the trainable parameters (before the division by the expected batch and
  // the optimizer step): the very quantity DP-SGD's analysis releases at every step, so ε
  // covers what this sees. For white-box audits and tests. On a group, rank 0 sees it.
  std::function<void(std::span<const float> noisy_sum)> observe_noisy_sum = nullptr;
};

// Training steps per epoch: ceil(rows / batch_size) for shuffled batches; rows / batch_size
// (rounded, at least 1) for Poisson-sampled ones, whose batches have that size on average.
int64_t steps_per_epoch(int64_t rows, int64_t batch_size, bool poisson_sampling);

class Sequential;
// Called on every training batch before its forward pass; may rewrite the batch's inputs
// (adversarial training replaces them with attacked ones).
using BatchTransform = std::function<void(Sequential& model, TensorView batch_x, ConstTensorView batch_y)>;

struct FitOptions {
  int epochs = 1;
  int64_t batch_size = 32;
  bool shuffle = true;
  // Fraction of the rows, taken from the end before shuffling (as Keras), held out for
  // validation. Ignored when validation_data is given.
  double validation_split = 0.0;
  std::optional<ValidationData> validation_data = std::nullopt;
  // 0: silent; 1: progress bar (on a terminal; otherwise one line per epoch); 2: one
  // line per epoch.
  int verbose = 1;
  // Stop once an epoch's training loss is at or below this value.
  std::optional<double> loss_threshold = std::nullopt;
  // Seed of the shuffling order; by default drawn from the model's seed.
  std::optional<uint64_t> seed = std::nullopt;
  // Run in order at each point of training: EarlyStopping, ReduceLROnPlateau, ...
  std::vector<CallbackRef> callbacks = {};
  // Continue a run from a checkpoint (restore_checkpoint gives it): starts at its epoch,
  // with its history and shuffling state.
  std::optional<ResumePoint> resume = std::nullopt;
  // Differentially private training (see PrivateTraining).
  std::optional<PrivateTraining> private_training = std::nullopt;
  // Rewrites each batch before its step (e.g. citadel::adversarial_training).
  BatchTransform batch_transform = nullptr;
  // Data-parallel training over a group of processes (&distributed::Communicator::world()):
  // x, y (and validation_data) hold this rank's rows, global rows rank, rank + size, ...
  // (shard_rows gives them); batch_size is the global batch, each rank computing the
  // gradient of the batch rows it holds, summed across ranks before every step. The model
  // starts from rank 0's weights and shuffles with rank 0's stream, so the ranks train the
  // model one process would on all rows. Logs are global; callbacks run on every rank and
  // decide alike (give file-writing ones to rank 0 only); progress prints on rank 0.
  // nullptr: this process alone.
  const Collective* communicator = nullptr;
};

struct EvaluateOptions {
  int64_t batch_size = 32;
  // x, y hold this rank's rows (as FitOptions::communicator); the logs are over all ranks'.
  const Collective* communicator = nullptr;
};

struct PredictOptions {
  int64_t batch_size = 32;
};

class Sequential {
 public:
  // The model's seed (initialization, shuffling) is drawn from the global generator
  // (random::set_seed), so one seed fixes a whole program.
  Sequential();
  explicit Sequential(const std::string& name);
  Sequential(Sequential&&) noexcept;
  Sequential& operator=(Sequential&&) noexcept;
  Sequential(const Sequential&) = delete;
  Sequential& operator=(const Sequential&) = delete;
  ~Sequential();

  // Appends a copy of `layer`.
  void add(const Layer& layer);
  void add(std::unique_ptr<Layer> layer);
  void compile(const CompileOptions& options);

  History fit(ConstTensorView x, ConstTensorView y, const FitOptions& options = {});
  // The loss and every compiled metric over all of x.
  Logs evaluate(ConstTensorView x, ConstTensorView y, const EvaluateOptions& options = {});
  Tensor predict(ConstTensorView x, const PredictOptions& options = {});
  // One optimizer step on one batch; returns its loss. Allocates nothing once buffers
  // exist for this batch size.
  double train_on_batch(ConstTensorView x, ConstTensorView y);
  // The loss of one batch and its gradient with respect to every parameter, left in
  // parameters().grads(); the weights are not changed (as PyTorch's loss.backward()).
  double compute_gradients(ConstTensorView x, ConstTensorView y);

  // ∂(mean loss over the batch)/∂x for inputs x and targets y, with the model in inference
  // mode (dropout off, moving statistics): what attacks follow. Weights are unchanged;
  // parameter gradients are overwritten.
  Tensor input_gradient(ConstTensorView x, ConstTensorView y);
  // The loss of each row (without weight penalties): (N).
  Tensor per_example_loss(ConstTensorView x, ConstTensorView y, int64_t batch_size = 256);

  // Builds the layers for inputs of `input_shape` (without the batch axis) and
  // initializes the weights. fit/predict build automatically.
  void build(const Shape& input_shape);
  bool built() const { return built_; }
  // What build(input_shape) would declare, computed on copies of the layers without
  // allocating anything: the parameters (names and shapes, in declaration order) and each
  // layer's output shape. Loaders check a file against it before building.
  struct BuildPlan {
    std::vector<ParameterInfo> parameters;
    std::vector<Shape> output_shapes;  // without the batch axis
  };
  BuildPlan plan(const Shape& input_shape) const;
  // Keras-style table: layer (type), output shape, parameter count, totals.
  std::string summary_text() const;
  void summary(std::ostream& out) const;
  void summary() const;

  // Weights in layer order (kernel, then bias), as Keras's get_weights/set_weights.
  std::vector<Tensor> get_weights() const;
  void set_weights(const std::vector<Tensor>& weights);

  // Asks fit() to stop at the end of the current batch or epoch (for callbacks);
  // `reason` becomes History::stop_reason.
  void stop_training(const std::string& reason);
  // During fit: the state after the last completed epoch (for checkpoint callbacks).
  const ResumePoint& training_progress() const;

  // What compile() was given, by name (for model files); throws when not compiled.
  struct CompileSettings {
    std::string loss, optimizer;
    float learning_rate = 0;
    std::vector<std::string> metrics;
  };
  CompileSettings compile_settings() const;
  bool compiled() const;

  // The precision of matrix products (see CompileOptions::precision); settable without
  // compiling, for inference. precision() is what the model computes in on this processor.
  void set_precision(const std::string& name);
  ops::Precision precision() const;
  // Empty, or why the requested precision is not the one computed in.
  std::string precision_warning() const;


  const std::string& name() const { return name_; }
  int64_t count_params() const;
  size_t size() const;
  Layer& layer(size_t index);
  const Layer& layer(size_t index) const;
  Shape input_shape() const;
  Shape output_shape() const;
  ParameterStore& parameters();
  Optimizer& optimizer();
  uint64_t seed() const;

 private:
  struct State;
  std::string name_;
  std::unique_ptr<State> state_;
  bool built_ = false;
};

}  // namespace citadel
