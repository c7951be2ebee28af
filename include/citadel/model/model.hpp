// Model: a graph of layers trained as Keras's Model is — made from symbolic tensors
// (Input → layer calls → Model(inputs, outputs)), or as a Sequential chain — with compile,
// fit, evaluate, predict, summary and weights. Several inputs and outputs, shared layers,
// fan-outs and merges all run on one forward walk in topological order and one backward
// walk in reverse, gradients summed where a tensor feeds several nodes.
#pragma once

#include <cstdint>
#include <functional>
#include <initializer_list>
#include <iosfwd>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "citadel/core/collective.hpp"
#include "citadel/core/parameter_store.hpp"
#include "citadel/core/random.hpp"
#include "citadel/core/tensor.hpp"
#include "citadel/layers/layer.hpp"
#include "citadel/layers/symbolic_tensor.hpp"
#include "citadel/losses/loss.hpp"
#include "citadel/metrics/metric.hpp"
#include "citadel/model/callbacks.hpp"
#include "citadel/model/history.hpp"
#include "citadel/ops/precision.hpp"
#include "citadel/optim/optimizer.hpp"

namespace citadel {

struct CompileOptions {
  LossSpec loss;                          // a name or a settings object: every output's
  OptimizerSpec optimizer = "rmsprop";    // Keras's default
  std::vector<std::string> metrics = {};  // "accuracy", "precision", "auc", ...: every output's
  // A model of several outputs (Keras's dict forms, keyed by the output layers' names): a
  // loss per output in place of `loss`, a weight per output in the total loss (default
  // 1), and metrics per output in place of `metrics`.
  std::map<std::string, LossSpec> losses = {};
  std::map<std::string, double> loss_weights = {};
  std::map<std::string, std::vector<std::string>> output_metrics = {};
  // "float32", or Keras's "mixed_bfloat16": matrix products and convolutions with bf16
  // inputs (AMX or AVX512-BF16), float32 weights, optimizer state, loss and element-wise
  // work. Where the processor has no bf16 instructions the model computes in float32 and
  // precision_warning() says so.
  std::string precision = "float32";
};

// Data the model is validated on after each epoch (not trained on): one tensor per input
// and per output. Views: the tensors must outlive the fit() call.
struct ValidationData {
  std::vector<ConstTensorView> x, y;
  ValidationData(ConstTensorView inputs, ConstTensorView targets) : x{inputs}, y{targets} {}
  ValidationData(std::vector<ConstTensorView> inputs, std::vector<ConstTensorView> targets)
      : x(std::move(inputs)), y(std::move(targets)) {}
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

class Model;
// Called on every training batch before its forward pass; may rewrite the batch's inputs
// (adversarial training replaces them with attacked ones): one view per model input and
// one per output's targets.
using BatchTransform =
    std::function<void(Model& model, std::span<const TensorView> batch_x, std::span<const ConstTensorView> batch_y)>;

// Computes a training batch's parameter gradients in place of the compiled loss's (certified
// training descends a bound instead): it zeroes and fills the gradients of the model's
// parameters, leaves the model's outputs those of a forward pass on batch_x (the metrics read
// them), and returns the batch's loss.
using GradientStep =
    std::function<double(Model& model, std::span<const ConstTensorView> batch_x, std::span<const ConstTensorView> batch_y)>;

struct FitOptions {
  int epochs = 1;
  int64_t batch_size = 32;
  bool shuffle = true;
  // Fraction of the rows, taken from the end before shuffling (as Keras), held out for
  // validation (under private training, each row by a hash of its own values). Ignored
  // when validation_data is given.
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
  // Replaces each step's gradient computation (e.g. citadel::certified_training); not with
  // private or data-parallel training, whose steps compute gradients their own way.
  GradientStep gradient_step = nullptr;
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


// A layer's output replaced by given values: the layer still runs on its real inputs (so
// what it gives besides its output, as Embedding's mask of padding ids, is unchanged) and
// the layers after it read `value` instead. value: the layer's output shape, one row per
// row of the model's inputs.
struct LayerOutputReplacement {
  std::string layer;
  ConstTensorView value;
};

struct ModelOptions {
  std::string name = "model";
  // Allocate and initialize the weights now, as Keras does; false leaves that to the first
  // use or build() (a loader checks a file against plan() before anything is allocated).
  bool build_now = true;
};

// A model's graph as writers of configs and other formats read it (model_to_config, the
// ONNX and Keras exporters): tensors are numbered, the model's inputs first; nodes are in
// topological order, each the call of one layer (model.layer(i)).
struct GraphInfo {
  struct TensorInfo {
    Shape shape;         // without the batch axis
    int producer = -1;   // the node that makes it; -1 for a model input
    std::string name;    // an input's name
    std::string dtype = "float32";  // an input's: float32, int32 or int64 (token ids)
  };
  struct NodeInfo {
    size_t layer = 0;          // index into the model's layers
    std::vector<int> inputs;   // tensor numbers
    int output = 0;            // tensor number
    int call = 0;              // 0 for the layer's first call, 1 for its second, ...
  };
  std::vector<TensorInfo> tensors;
  std::vector<NodeInfo> nodes;
  std::vector<int> inputs, outputs;  // tensor numbers, in the model's order
  // The tensors each tensor feeds, in node order.
  std::vector<std::vector<int>> consumers;
};

class Model {
 public:
  // A graph model, as keras.Model(inputs, outputs): the layers called between them, each
  // copied into the model (two models made from the same tensors do not share weights).
  // Errors name the layer or input at fault: an output that does not depend on the given
  // inputs only, an input nothing uses, two layers of one name.
  Model(const std::vector<SymbolicTensor>& inputs, const std::vector<SymbolicTensor>& outputs,
        const ModelOptions& options = {});
  Model(const SymbolicTensor& input, const SymbolicTensor& output, const ModelOptions& options = {});
  // An empty Sequential chain (a placeholder to move a model into).
  Model();
  Model(Model&&) noexcept;
  Model& operator=(Model&&) noexcept;
  Model(const Model&) = delete;
  Model& operator=(const Model&) = delete;
  virtual ~Model();

  void compile(const CompileOptions& options);

  // One input and one output: x and y. Several: one tensor per input and per output, in
  // the model's order (fit({images, numbers}, {classes, amounts})).
  History fit(ConstTensorView x, ConstTensorView y, const FitOptions& options = {});
  History fit(const std::vector<ConstTensorView>& x, const std::vector<ConstTensorView>& y,
              const FitOptions& options = {});
  History fit(std::initializer_list<ConstTensorView> x, std::initializer_list<ConstTensorView> y,
              const FitOptions& options = {});
  // The loss and every compiled metric over all of x.
  Logs evaluate(ConstTensorView x, ConstTensorView y, const EvaluateOptions& options = {});
  Logs evaluate(const std::vector<ConstTensorView>& x, const std::vector<ConstTensorView>& y,
                const EvaluateOptions& options = {});
  Logs evaluate(std::initializer_list<ConstTensorView> x, std::initializer_list<ConstTensorView> y,
                const EvaluateOptions& options = {});
  // One output per model output.
  Tensor predict(ConstTensorView x, const PredictOptions& options = {});
  std::vector<Tensor> predict(const std::vector<ConstTensorView>& x, const PredictOptions& options = {});
  std::vector<Tensor> predict(std::initializer_list<ConstTensorView> x, const PredictOptions& options = {});
  // The outputs of the named layers for inputs x (feature extraction, as a Keras sub-model
  // Model(model.input, model.get_layer(name).output) does), with the model's weights.
  std::vector<Tensor> predict_layer_outputs(const std::vector<ConstTensorView>& x,
                                            const std::vector<std::string>& layer_names,
                                            const PredictOptions& options = {});
  // One optimizer step on one batch; returns its loss. Allocates nothing once buffers
  // exist for this batch size.
  double train_on_batch(ConstTensorView x, ConstTensorView y);
  double train_on_batch(const std::vector<ConstTensorView>& x, const std::vector<ConstTensorView>& y);
  // The loss of one batch and its gradient with respect to every parameter, left in
  // parameters().grads(); the weights are not changed (as PyTorch's loss.backward()).
  double compute_gradients(ConstTensorView x, ConstTensorView y);
  double compute_gradients(const std::vector<ConstTensorView>& x, const std::vector<ConstTensorView>& y);

  // ∂(loss over the batch)/∂(input `input`) for inputs x and targets y, with the model in
  // inference mode (dropout off, moving statistics): what attacks follow. Weights are
  // unchanged; parameter gradients are overwritten.
  Tensor input_gradient(ConstTensorView x, ConstTensorView y);
  Tensor input_gradient(const std::vector<ConstTensorView>& x, const std::vector<ConstTensorView>& y, int input = 0);
  // The loss of each row (without weight penalties; weighted over outputs): (N).
  Tensor per_example_loss(ConstTensorView x, ConstTensorView y, int64_t batch_size = 256);
  Tensor per_example_loss(const std::vector<ConstTensorView>& x, const std::vector<ConstTensorView>& y,
                          int64_t batch_size = 256);

  // The same three with the output of one layer replaced (see LayerOutputReplacement): what
  // attacks in a layer's output space follow (a text model's embeddings). The gradient is
  // ∂(loss over the batch)/∂(that output), at the replacement's values; parameter gradients
  // are overwritten (and left partial). Errors name the layer: none of that name, a layer
  // called more than once, a replacement of the wrong shape.
  Tensor layer_output_gradient(const std::vector<ConstTensorView>& x, const std::vector<ConstTensorView>& y,
                               const LayerOutputReplacement& replacement);
  std::vector<Tensor> predict(const std::vector<ConstTensorView>& x, const LayerOutputReplacement& replacement,
                              const PredictOptions& options = {});
  Tensor per_example_loss(const std::vector<ConstTensorView>& x, const std::vector<ConstTensorView>& y,
                          const LayerOutputReplacement& replacement, int64_t batch_size = 256);

  // Allocates and initializes the weights: a graph model for its inputs' shapes (built
  // when made unless ModelOptions::build_now is false), a Sequential one for inputs of
  // `input_shape` (without the batch axis). fit/predict build automatically.
  void build(const Shape& input_shape = Shape{});
  bool built() const;
  // What building would declare, computed on copies of the layers without allocating
  // anything: the parameters (names and shapes, in declaration order) and each layer call's
  // output shape. Loaders check a file against it before building.
  struct BuildPlan {
    std::vector<ParameterInfo> parameters;
    std::vector<Shape> output_shapes;  // per node, without the batch axis
  };
  BuildPlan plan(const Shape& input_shape) const;  // a Sequential model, for that input
  BuildPlan plan() const;                           // a model whose input shapes are known
  // Keras-style table: layer (type), output shape, parameter count, and for a graph the
  // layers each is connected to; totals.
  std::string summary_text() const;
  void summary(std::ostream& out) const;
  void summary() const;
  // Where the model loses a mask (sequences: Masking, and layers that pass masks on): a
  // layer given a masked input that does not support masks drops it, as Keras warns; an
  // output's mask is not applied to its loss. One line each, naming the layer; summary()
  // prints them. Empty for a model without masks.
  std::vector<std::string> mask_warnings() const;

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

  const std::string& name() const;
  // Whether the model is a Sequential chain (its config is written as one).
  bool is_sequential() const;
  int64_t count_params() const;
  // The weights of the layers that are trainable now (Keras's "Trainable params"; a change
  // of Layer::trainable counts here at once, in training from the next compile).
  int64_t count_trainable_params() const;
  // The model's distinct layers, in the order of their first call.
  size_t size() const;
  Layer& layer(size_t index);
  const Layer& layer(size_t index) const;
  // The layer of that name; ValueError listing the names when there is none.
  Layer& get_layer(const std::string& name);
  const Layer& get_layer(const std::string& name) const;
  // One input or output: its shape without the batch axis (ValueError for several).
  Shape input_shape() const;
  Shape output_shape() const;
  std::vector<Shape> input_shapes() const;
  std::vector<Shape> output_shapes() const;
  // Inputs are named by their Input; outputs by the layers that make them.
  std::vector<std::string> input_names() const;
  // Each input's dtype: "float32", or "int32"/"int64" for token ids (carried in float32,
  // integers up to 2^24: docs/DESIGN.md, "Integer inputs").
  std::vector<std::string> input_dtypes() const;
  std::vector<std::string> output_names() const;
  size_t input_count() const;
  size_t output_count() const;
  // The built graph (see GraphInfo).
  const GraphInfo& graph() const;
  ParameterStore& parameters();
  const ParameterStore& parameters() const;
  Optimizer& optimizer();
  uint64_t seed() const;

  struct State;  // the model's private state (src/model/model_state.hpp)

 protected:
  // An empty Sequential chain (citadel/model/sequential.hpp).
  Model(const std::string& name, bool sequential);
  std::unique_ptr<State> state_;
};

}  // namespace citadel
