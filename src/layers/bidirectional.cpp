// Bidirectional: a forward and a go_backwards copy of a recurrent layer over the same input
// (and mask), their outputs merged; backward splits the gradient by the merge, reverses the
// backward half's time axis and adds the two input gradients.
#include "citadel/layers/bidirectional.hpp"

#include <algorithm>

#include "citadel/core/error.hpp"
#include "citadel/layers/layer_config.hpp"
#include "citadel/layers/recurrent.hpp"
#include "citadel/ops/concurrent.hpp"

namespace citadel {

namespace {

const Recurrent& recurrent_or_throw(const Layer& layer, const char* argument) {
  const auto* recurrent = dynamic_cast<const Recurrent*>(&layer);
  CITADEL_CHECK(recurrent != nullptr, ValueError, "Bidirectional: ", argument,
                " must be a SimpleRNN, LSTM or GRU layer, got ", layer.type(),
                layer.name().empty() ? "" : " '" + layer.name() + "'");
  return *recurrent;
}

// Keras's default layer names, which the copies' names start from when the layer has none.
std::string default_name(const Layer& layer) {
  if (!layer.name().empty()) return layer.name();
  const std::string type = layer.type();
  return type == "SimpleRNN" ? "simple_rnn" : type == "LSTM" ? "lstm" : "gru";
}

std::string without_prefix(const std::string& name, const std::string& prefix) {
  return name.rfind(prefix, 0) == 0 ? name.substr(prefix.size()) : name;
}

void check_merge_mode(const std::string& mode) {
  CITADEL_CHECK(mode != "none" && mode != "None" && !mode.empty(), NotImplementedError,
                "Bidirectional: merge_mode=None (two outputs) is not supported by citadel; use \"concat\", \"sum\", "
                "\"mul\" or \"ave\"");
  CITADEL_CHECK(mode == "concat" || mode == "sum" || mode == "mul" || mode == "ave", ValueError,
                "Bidirectional: merge_mode must be \"concat\", \"sum\", \"mul\" or \"ave\", got \"", mode, "\"");
}

// The copy Keras makes: same class and settings, its own name and go_backwards, and masked
// steps outputting zeros when it returns sequences.
std::unique_ptr<Recurrent> copy_of(const Recurrent& layer, const std::string& name, bool go_backwards) {
  RecurrentSettings settings = layer.settings();
  settings.go_backwards = go_backwards;
  settings.zero_output_for_mask = settings.return_sequences;
  std::unique_ptr<Recurrent> copy = layer.with_settings(settings);
  copy->set_name(name);
  copy->set_trainable(layer.trainable());
  return copy;
}

}  // namespace

Bidirectional::Bidirectional(const Layer& layer, const BidirectionalOptions& options) : options_(options) {
  check_merge_mode(options_.merge_mode);
  const Recurrent& recurrent = recurrent_or_throw(layer, "layer");
  const std::string base = default_name(layer);
  forward_name_ = "forward_" + without_prefix(base, "forward_");
  backward_name_ = "backward_" + without_prefix(base, "backward_");
  forward_ = copy_of(recurrent, forward_name_, recurrent.settings().go_backwards);
  backward_ = copy_of(recurrent, backward_name_, !recurrent.settings().go_backwards);
  check_pair();
}

Bidirectional::Bidirectional(const Layer& layer, const Layer& backward_layer, const BidirectionalOptions& options)
    : options_(options) {
  check_merge_mode(options_.merge_mode);
  const Recurrent& recurrent = recurrent_or_throw(layer, "layer");
  const Recurrent& backward = recurrent_or_throw(backward_layer, "backward_layer");
  const std::string base = default_name(layer);
  forward_name_ = "forward_" + without_prefix(base, "forward_");
  backward_name_ = backward_layer.name().empty() ? "backward_" + without_prefix(default_name(backward_layer), "backward_")
                                                 : backward_layer.name();
  forward_ = copy_of(recurrent, forward_name_, recurrent.settings().go_backwards);
  backward_ = copy_of(backward, backward_name_, backward.settings().go_backwards);
  check_pair();
}

namespace {
std::unique_ptr<Recurrent> clone_recurrent(const Recurrent& layer) {
  return std::unique_ptr<Recurrent>(static_cast<Recurrent*>(layer.clone().release()));
}
}  // namespace

// The copies are copied whole (built state and views included), as every layer's copy is.
Bidirectional::Bidirectional(const Bidirectional& other)
    : Layer(other),
      options_(other.options_),
      forward_(clone_recurrent(*other.forward_)),
      backward_(clone_recurrent(*other.backward_)),
      forward_name_(other.forward_name_),
      backward_name_(other.backward_name_),
      steps_(other.steps_),
      features_(other.features_),
      return_sequences_(other.return_sequences_) {}

Bidirectional& Bidirectional::operator=(const Bidirectional& other) {
  if (this != &other) {
    Bidirectional copy(other);
    Layer::operator=(other);
    options_ = copy.options_;
    forward_ = std::move(copy.forward_);
    backward_ = std::move(copy.backward_);
    forward_name_ = copy.forward_name_;
    backward_name_ = copy.backward_name_;
    steps_ = copy.steps_;
    features_ = copy.features_;
    return_sequences_ = copy.return_sequences_;
    mask_ = ConstTensorView();
  }
  return *this;
}

Bidirectional::~Bidirectional() = default;

void Bidirectional::check_pair() const {
  const RecurrentSettings &f = forward_->settings(), &b = backward_->settings();
  CITADEL_CHECK(f.go_backwards != b.go_backwards, ValueError, "Bidirectional: the forward layer '", forward_name_,
                "' and the backward layer '", backward_name_, "' must have different go_backwards values");
  CITADEL_CHECK(f.return_state == b.return_state, ValueError, "Bidirectional: the forward layer '", forward_name_,
                "' has return_state=", f.return_state, " but the backward layer '", backward_name_, "' has ",
                b.return_state);
  CITADEL_CHECK(f.return_sequences == b.return_sequences, ValueError, "Bidirectional: the forward layer '",
                forward_name_, "' has return_sequences=", f.return_sequences, " but the backward layer '",
                backward_name_, "' has ", b.return_sequences);
  CITADEL_CHECK(options_.merge_mode == "concat" || forward_->units() == backward_->units(), ValueError,
                "Bidirectional: merge_mode \"", options_.merge_mode, "\" needs both layers to have the same units, got ",
                forward_->units(), " and ", backward_->units());
}

std::unique_ptr<Layer> Bidirectional::from_config(const LayerConfigReader& config) {
  config.check_keys({"merge_mode", "layer", "backward_layer"});
  BidirectionalOptions options;
  options.input_shape = config.input_shape();
  CITADEL_CHECK(config.has("merge_mode"), NotImplementedError, config.where(),
                ": merge_mode=None (two outputs) is not supported by citadel");
  options.merge_mode = config.string("merge_mode");
  std::unique_ptr<Layer> layer = config.layer("layer");
  try {
    if (config.has("backward_layer")) {
      std::unique_ptr<Layer> backward = config.layer("backward_layer");
      // Keras saved the forward copy as "forward_lstm", which names it again.
      return std::make_unique<Bidirectional>(*layer, *backward, options);
    }
    return std::make_unique<Bidirectional>(*layer, options);
  } catch (const ValueError& error) {
    throw ValueError(config.where() + ": " + error.what());
  }
}

void Bidirectional::get_config(LayerConfigWriter& config) const {
  config.set_string("merge_mode", options_.merge_mode);
  config.set_layer("layer", *forward_);
  config.set_layer("backward_layer", *backward_);
}

std::optional<Shape> Bidirectional::declared_input_shape() const {
  if (!options_.input_shape.empty()) return Shape(options_.input_shape);
  return forward_->declared_input_shape();
}

Shape Bidirectional::build(const Shape& input_shape, ParameterStore& params) {
  CITADEL_CHECK(input_shape.rank() == 2 && input_shape.numel() > 0, ShapeError, name_,
                " (Bidirectional): expected sequences (steps, features), got ", input_shape.batch_str());
  if (auto declared = declared_input_shape())
    CITADEL_CHECK(*declared == input_shape, ShapeError, name_, " (Bidirectional): declared input shape ", *declared,
                  " but the previous layer gives ", input_shape);
  steps_ = input_shape[0];
  features_ = input_shape[1];
  return_sequences_ = forward_->settings().return_sequences;
  // The copies' weights are named under this layer; their own names stay Keras's.
  Shape out;
  for (Recurrent* layer : {forward_.get(), backward_.get()}) {
    const std::string own = layer->name();
    layer->set_name(name_ + "/" + own);
    out = layer->build(input_shape, params);
    layer->set_name(own);
  }
  if (!return_state()) return merged_shape();
  return Shape{merged_shape().numel() + forward_->state_count() * forward_->units() +
               backward_->state_count() * backward_->units()};
}

Shape Bidirectional::merged_shape() const {
  const int64_t width = options_.merge_mode == "concat" ? forward_->units() + backward_->units() : forward_->units();
  return return_sequences_ ? Shape{steps_, width} : Shape{width};
}

bool Bidirectional::return_state() const { return forward_->settings().return_state; }

int Bidirectional::state_count() const { return forward_->state_count() + backward_->state_count(); }

std::vector<Shape> Bidirectional::output_part_shapes() const {
  std::vector<Shape> parts{merged_shape()};
  for (int k = 0; k < forward_->state_count(); ++k) parts.push_back(Shape{forward_->units()});
  for (int k = 0; k < backward_->state_count(); ++k) parts.push_back(Shape{backward_->units()});
  return parts;
}

Shape Bidirectional::build_inputs(const std::vector<Shape>& input_shapes, ParameterStore& params) {
  CITADEL_CHECK(accepts_input_count(input_shapes.size()), ValueError, name_,
                " (Bidirectional): takes its input and, as ", "initial_state, ", state_count(),
                " states (the forward layer's, then the backward layer's); got ", input_shapes.size(), " tensors");
  for (size_t k = 1; k < input_shapes.size(); ++k) {
    const int64_t units = int(k - 1) < forward_->state_count() ? forward_->units() : backward_->units();
    CITADEL_CHECK(input_shapes[k] == Shape({units}), ShapeError, name_, " (Bidirectional): initial_state[", k - 1,
                  "] must be (batch, ", units, "), got ", input_shapes[k].batch_str());
  }
  return build(input_shapes[0], params);
}

void Bidirectional::bind(ParameterStore& params) {
  forward_->bind(params);
  backward_->bind(params);
}

int64_t Bidirectional::parameter_count() const { return forward_->parameter_count() + backward_->parameter_count(); }

Layer::MaskRule Bidirectional::output_mask_rule(std::span<const bool> inputs_masked) const {
  const bool masked = !inputs_masked.empty() && inputs_masked[0];
  return masked && return_sequences_ ? MaskRule::kSameAsInput : MaskRule::kNone;
}

void Bidirectional::forward(ConstTensorView x, Tensor& y, Mode mode) {
  const ConstTensorView inputs[1] = {x};
  run_forward(inputs, y, mode);
}

void Bidirectional::forward_inputs(std::span<const ConstTensorView> inputs, Tensor& y, Mode mode) {
  CITADEL_ASSERT(accepts_input_count(inputs.size()), name_, ": ", inputs.size(), " inputs");
  run_forward(inputs, y, mode);
}

// Packed rows (return_state): the merged output, the forward layer's states, the backward
// layer's; each copy's own output rows are packed the same way.
void Bidirectional::run_forward(std::span<const ConstTensorView> inputs, Tensor& y, Mode mode) {
  const ConstTensorView x = inputs[0];
  CITADEL_ASSERT(steps_ > 0, name_, " used before the model was built");
  const Shape expected{steps_, features_};
  CITADEL_CHECK(x.rank() == 3 && x.shape().without_batch() == expected, ShapeError, name_,
                " (Bidirectional): expected input ", expected.batch_str(), ", got ", x.shape());
  const int64_t N = x.shape(0), T = return_sequences_ ? steps_ : 1;
  CITADEL_CHECK(mask_.empty() || mask_.shape() == Shape({N, steps_}), ShapeError, name_, " (Bidirectional): mask of shape ",
                mask_.shape(), " for input ", x.shape(), "; expected (", N, ", ", steps_, ")");
  forward_->set_input_mask(mask_);
  backward_->set_input_mask(mask_);
  const size_t SF = size_t(forward_->state_count());
  // The directions share only their input: on two threads at once when the setting allows.
  if (inputs.size() == 1) {
    ops::run_concurrently([&] { forward_->forward(x, y_forward_, mode); },
                          [&] { backward_->forward(x, y_backward_, mode); });
  } else {
    // Each copy's inputs: the sequence and its states (at most LSTM's two; no allocation per step).
    ConstTensorView f_inputs[3] = {x}, b_inputs[3] = {x};
    size_t f_count = 1, b_count = 1;
    for (size_t k = 1; k < inputs.size(); ++k) {
      if (k - 1 < SF)
        f_inputs[f_count++] = inputs[k];
      else
        b_inputs[b_count++] = inputs[k];
    }
    ops::run_concurrently(
        [&] { forward_->forward_inputs(std::span<const ConstTensorView>(f_inputs, f_count), y_forward_, mode); },
        [&] { backward_->forward_inputs(std::span<const ConstTensorView>(b_inputs, b_count), y_backward_, mode); });
  }
  const int64_t UF = forward_->units(), UB = backward_->units();
  const std::string& merge = options_.merge_mode;
  const int64_t width = merge == "concat" ? UF + UB : UF;
  const int64_t SB = backward_->state_count();
  const int64_t merged = T * width, row = return_state() ? merged + int64_t(SF) * UF + SB * UB : merged;
  const int64_t row_f = y_forward_.numel() / N, row_b = y_backward_.numel() / N;
  if (return_state())
    y.resize(Shape{N, row});
  else
    y.resize(return_sequences_ ? Shape{N, steps_, width} : Shape{N, width});
  // Output step t reads the backward layer's output T-1-t: its own time order reversed.
  for (int64_t n = 0; n < N; ++n)
    for (int64_t t = 0; t < T; ++t) {
      const float* f = y_forward_.data() + n * row_f + t * UF;
      const float* b = y_backward_.data() + n * row_b + (T - 1 - t) * UB;
      float* out = y.data() + n * row + t * width;
      if (merge == "concat") {
        std::copy_n(f, UF, out);
        std::copy_n(b, UB, out + UF);
      } else if (merge == "sum") {
        for (int64_t j = 0; j < UF; ++j) out[j] = f[j] + b[j];
      } else if (merge == "mul") {
        for (int64_t j = 0; j < UF; ++j) out[j] = f[j] * b[j];
      } else {
        for (int64_t j = 0; j < UF; ++j) out[j] = (f[j] + b[j]) / 2.0f;
      }
    }
  if (!return_state()) return;
  for (int64_t n = 0; n < N; ++n) {
    float* states = y.data() + n * row + merged;
    std::copy_n(y_forward_.data() + n * row_f + T * UF, int64_t(SF) * UF, states);
    std::copy_n(y_backward_.data() + n * row_b + T * UB, SB * UB, states + int64_t(SF) * UF);
  }
}

void Bidirectional::pass_flags_to(Layer& layer) const {
  layer.set_input_gradient_needed(input_gradient_needed_);
  layer.set_parameter_gradients_needed(parameter_gradients_needed_);
  layer.set_per_example_norms_needed(per_example_norms_needed_);
}

void Bidirectional::backward(ConstTensorView dy, Tensor& dx) {
  CITADEL_ASSERT(y_forward_.numel() > 0, name_, ": backward() called before forward()");
  const int64_t N = y_forward_.shape(0), T = return_sequences_ ? steps_ : 1;
  const int64_t UF = forward_->units(), UB = backward_->units();
  const std::string& merge = options_.merge_mode;
  const int64_t width = merge == "concat" ? UF + UB : UF;
  const int64_t SF = forward_->state_count(), SB = backward_->state_count();
  const int64_t merged = T * width, row = return_state() ? merged + SF * UF + SB * UB : merged;
  const int64_t row_f = y_forward_.numel() / N, row_b = y_backward_.numel() / N;
  const Shape out = return_state() ? Shape{N, row} : return_sequences_ ? Shape{N, steps_, width} : Shape{N, width};
  CITADEL_CHECK(dy.shape() == out, ShapeError, name_, " (Bidirectional): gradient shape ", dy.shape(),
                " does not match output shape ", out);
  dy_forward_.resize(y_forward_.shape());
  dy_backward_.resize(y_backward_.shape());
  if (return_state())  // the final states' gradients, into each copy's packed gradient
    for (int64_t n = 0; n < N; ++n) {
      const float* states = dy.data() + n * row + merged;
      std::copy_n(states, SF * UF, dy_forward_.data() + n * row_f + T * UF);
      std::copy_n(states + SF * UF, SB * UB, dy_backward_.data() + n * row_b + T * UB);
    }
  for (int64_t n = 0; n < N; ++n)
    for (int64_t t = 0; t < T; ++t) {
      const int64_t tb = T - 1 - t;
      const float* g = dy.data() + n * row + t * width;
      float* df = dy_forward_.data() + n * row_f + t * UF;
      float* db = dy_backward_.data() + n * row_b + tb * UB;
      if (merge == "concat") {
        std::copy_n(g, UF, df);
        std::copy_n(g + UF, UB, db);
      } else if (merge == "sum") {
        std::copy_n(g, UF, df);
        std::copy_n(g, UF, db);
      } else if (merge == "mul") {
        const float* f = y_forward_.data() + n * row_f + t * UF;
        const float* b = y_backward_.data() + n * row_b + tb * UB;
        for (int64_t j = 0; j < UF; ++j) {
          df[j] = g[j] * b[j];
          db[j] = g[j] * f[j];
        }
      } else {
        for (int64_t j = 0; j < UF; ++j) df[j] = db[j] = g[j] / 2.0f;
      }
    }
  pass_flags_to(*forward_);
  pass_flags_to(*backward_);
  // The directions write their own gradients: on two threads at once when the setting allows.
  if (gradient_sink_.empty()) {
    ops::run_concurrently([&] { forward_->backward(dy_forward_, dx); },
                          [&] { backward_->backward(dy_backward_, dx_backward_); });
  } else {
    backward_with_sink(N, dx);
  }
  if (!input_gradient_needed_) return;
  for (int64_t i = 0; i < dx.numel(); ++i) dx[i] += dx_backward_[i];
}

// Per-example gradients (DP-SGD): one direction after the other, sharing one block.
void Bidirectional::backward_with_sink(int64_t N, Tensor& dx) {
  const int64_t count_f = forward_->parameter_count(), count_b = backward_->parameter_count();
  // Each direction's per-example gradient into the block, then into its part of the sink's row.
  sink_block_.resize(Shape{N, std::max(count_f, count_b)});
  sink_block_.fill(0.0f);
  forward_->set_per_example_gradient_sink(TensorView(sink_block_.data(), Shape{N, count_f}));
  forward_->backward(dy_forward_, dx);
  for (int64_t n = 0; n < N; ++n)
    for (int64_t i = 0; i < count_f; ++i)
      gradient_sink_.data()[n * (count_f + count_b) + i] += sink_block_[n * count_f + i];
  sink_block_.fill(0.0f);
  backward_->set_per_example_gradient_sink(TensorView(sink_block_.data(), Shape{N, count_b}));
  backward_->backward(dy_backward_, dx_backward_);
  for (int64_t n = 0; n < N; ++n)
    for (int64_t i = 0; i < count_b; ++i)
      gradient_sink_.data()[n * (count_f + count_b) + count_f + i] += sink_block_[n * count_b + i];
  forward_->set_per_example_gradient_sink(TensorView());
  backward_->set_per_example_gradient_sink(TensorView());
}

void Bidirectional::backward_inputs(ConstTensorView dy, std::span<Tensor* const> dx) {
  // The forward copy's states come first, then the backward copy's (as call() takes them).
  const int SF = forward_->state_count();
  backward_sequence_and_states(dy, dx, [&](int k) {
    return k < SF ? forward_->initial_state_gradient(k) : backward_->initial_state_gradient(k - SF);
  });
}

void Bidirectional::add_per_example_squared_norms(std::span<double> squared_norms) {
  // The norm of the two halves' concatenation: the sum of their squared norms.
  forward_->add_per_example_squared_norms(squared_norms);
  backward_->add_per_example_squared_norms(squared_norms);
}

void Bidirectional::reseed(uint64_t seed) {
  forward_->reseed(seed);
  backward_->reseed(seed ^ 0x9e3779b97f4a7c15ULL);  // another stream for the backward copy's dropout
}

std::vector<uint64_t> Bidirectional::random_state() const {
  std::vector<uint64_t> words = forward_->random_state();
  const std::vector<uint64_t> more = backward_->random_state();
  words.insert(words.end(), more.begin(), more.end());
  return words;
}

void Bidirectional::set_random_state(const std::vector<uint64_t>& words) {
  const size_t half = forward_->random_state().size();
  CITADEL_CHECK(words.size() == 2 * half, ValueError, name_, " (Bidirectional): random state of ", words.size(),
                " words, expected ", 2 * half);
  forward_->set_random_state({words.begin(), words.begin() + std::ptrdiff_t(half)});
  backward_->set_random_state({words.begin() + std::ptrdiff_t(half), words.end()});
}

}  // namespace citadel
