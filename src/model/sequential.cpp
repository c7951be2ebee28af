// Sequential: adding layers, building them over one parameter store, compiling, the
// summary table and weight access.
#include "citadel/model/sequential.hpp"

#include <array>
#include <iomanip>
#include <iostream>
#include <map>
#include <sstream>

#include "citadel/core/error.hpp"
#include "citadel/layers/activations.hpp"
#include "citadel/layers/initializers.hpp"
#include "keras_names.hpp"
#include "sequential_state.hpp"

namespace citadel {
Sequential::Sequential() : Sequential("sequential") {}

Sequential::Sequential(const std::string& name)
    : name_(name), state_(std::make_unique<State>(random::global().next_u64())) {}

Sequential::Sequential(Sequential&&) noexcept = default;
Sequential& Sequential::operator=(Sequential&&) noexcept = default;
Sequential::~Sequential() = default;

void Sequential::add(const Layer& layer) { add(layer.clone()); }

void Sequential::add(std::unique_ptr<Layer> layer) {
  CITADEL_CHECK(layer != nullptr, ValueError, "add: the layer is null");
  CITADEL_CHECK(!built_, ValueError, "add: model '", name_,
                "' is already built; add every layer before compile/fit");
  const std::string base = detail::keras_snake_case(layer->type());
  int same_type = 0;
  for (const auto& existing : state_->layers)
    if (existing->type() == layer->type()) ++same_type;
  layer->set_name(same_type == 0 ? base : base + "_" + std::to_string(same_type));
  state_->layers.push_back(std::move(layer));
}

void Sequential::build(const Shape& input_shape) {
  if (built_) {
    CITADEL_CHECK(input_shape == state_->input_shape, ShapeError, "model '", name_,
                  "' was built for inputs ", state_->input_shape.batch_str(), ", got ",
                  input_shape.batch_str());
    return;
  }
  CITADEL_CHECK(!state_->layers.empty(), ValueError, "model '", name_,
                "' has no layers; add() some before compile/fit");
  State& s = *state_;
  s.input_shape = input_shape;
  Shape shape = input_shape;
  for (auto& layer : s.layers) {
    shape = layer->build(shape, s.params);
    s.output_shapes.push_back(shape);
  }
  s.params.allocate();
  for (const auto& info : s.params.parameters()) s.regularized = s.regularized || info.regularizer.active();
  Rng init_rng = s.rng.fork(0);
  for (size_t i = 0; i < s.params.parameters().size(); ++i)
    initialize(s.params.parameters()[i].initializer, s.params.value(static_cast<int>(i)), init_rng);
  for (auto& layer : s.layers) layer->bind(s.params);
  for (size_t i = 0; i < s.layers.size(); ++i) s.layers[i]->reseed(s.rng.fork(1000 + i).next_u64());
  s.outputs.resize(s.layers.size());
  built_ = true;
  if (s.compiled) s.resolve_training_setup();
}

Sequential::BuildPlan Sequential::plan(const Shape& input_shape) const {
  CITADEL_CHECK(!state_->layers.empty(), ValueError, "model '", name_, "' has no layers");
  ParameterStore scratch;  // declarations only: nothing is allocated
  BuildPlan result;
  Shape shape = input_shape;
  for (const auto& layer : state_->layers) {
    shape = layer->clone()->build(shape, scratch);
    result.output_shapes.push_back(shape);
  }
  result.parameters = scratch.parameters();
  return result;
}

void Sequential::compile(const CompileOptions& options) {
  CITADEL_CHECK(!options.loss.empty(), ValueError,
                "compile: a loss is required, e.g. {.loss = \"binary_crossentropy\"}");
  State& s = *state_;
  s.loss = options.loss.make();
  s.optimizer = options.optimizer.make();
  s.metric_names = options.metrics;
  set_precision(options.precision);
  for (const auto& metric : s.metric_names)  // fail at compile, not in the middle of fit
    make_metric(metric, LabelKind::kBinary);
  s.compiled = true;
  s.metrics.clear();
  if (!built_ && !s.layers.empty())
    if (auto declared = s.layers.front()->declared_input_shape()) build(*declared);
  if (built_) s.resolve_training_setup();
}

void Sequential::State::resolve_training_setup() {
  // Fuse a final sigmoid/softmax into the cross-entropy: exact where probabilities
  // saturate, and cheaper.
  const auto fusable = loss->fusable_activation();
  fused_output = fusable && layers.back()->activation() == *fusable;
  training_loss = fused_output ? loss->fused_with_activation() : loss->clone();

  LabelKind kind = output_shapes.back().numel() == 1 ? LabelKind::kBinary : LabelKind::kCategorical;
  const std::string loss_name = loss->name();
  if (loss_name == "binary_crossentropy") kind = LabelKind::kBinary;
  if (loss_name == "categorical_crossentropy") kind = LabelKind::kCategorical;
  if (loss_name == "sparse_categorical_crossentropy") kind = LabelKind::kSparse;
  metrics.clear();
  for (const auto& name : metric_names) metrics.push_back(make_metric(name, kind));
}

std::string Sequential::summary_text() const {
  // Before build(), shapes come from building copies of the layers, when the first
  // layer declares its input (as Keras shows a model whose input is known).
  std::vector<Shape> shapes = state_->output_shapes;
  std::vector<int64_t> counts;
  int64_t total = count_params(), trainable = state_->params.trainable_size();
  const bool known = built_ || (!state_->layers.empty() && state_->layers.front()->declared_input_shape());
  if (built_) {
    for (const auto& layer : state_->layers) counts.push_back(layer->parameter_count());
  } else if (known) {
    ParameterStore scratch;
    Shape shape = *state_->layers.front()->declared_input_shape();
    for (const auto& layer : state_->layers) {
      auto copy = layer->clone();
      shape = copy->build(shape, scratch);
      shapes.push_back(shape);
      counts.push_back(copy->parameter_count());
    }
    total = scratch.size();
    trainable = scratch.trainable_size();
  }
  // Columns as wide as their widest cell (at least Keras 2's 28 and 26 characters), with two
  // spaces between, so that no layer name or shape runs into the next column.
  std::vector<std::array<std::string, 3>> rows;
  for (size_t i = 0; i < state_->layers.size(); ++i) {
    const Layer& layer = *state_->layers[i];
    rows.push_back({layer.name() + " (" + layer.type() + ")", known ? shapes[i].batch_str() : "(unbuilt)",
                    known ? std::to_string(counts[i]) : "?"});
  }
  size_t name_width = 26, shape_width = 24, count_width = 7;  // "Param #"
  for (const auto& row : rows) {
    name_width = std::max(name_width, row[0].size());
    shape_width = std::max(shape_width, row[1].size());
    count_width = std::max(count_width, row[2].size());
  }
  name_width += 2, shape_width += 2;
  const size_t rule = std::max<size_t>(65, 1 + name_width + shape_width + count_width);
  std::ostringstream out;
  out << "Model: \"" << name_ << "\"\n";
  const std::string thin(rule, '_'), thick(rule, '=');
  out << thin << "\n";
  out << std::left << " " << std::setw(int(name_width)) << "Layer (type)" << std::setw(int(shape_width))
      << "Output Shape" << "Param #\n"
      << thick << "\n";
  for (const auto& [name, shape, count] : rows)
    out << " " << std::setw(int(name_width)) << name << std::setw(int(shape_width)) << shape << count << "\n";
  out << thick << "\n";
  if (known) {
    out << "Total params: " << total << "\n"
        << "Trainable params: " << trainable << "\n"
        << "Non-trainable params: " << total - trainable << "\n";
  } else {
    out << "The model is not built yet: give the first layer input_dim or input_shape, or call "
           "build() or fit().\n";
  }
  out << thin << "\n";
  return out.str();
}

void Sequential::summary(std::ostream& out) const { out << summary_text(); }
void Sequential::summary() const { summary(std::cout); }

int64_t Sequential::count_params() const { return state_->params.size(); }
size_t Sequential::size() const { return state_->layers.size(); }

Layer& Sequential::layer(size_t index) {
  CITADEL_CHECK(index < state_->layers.size(), ValueError, "layer index ", index,
                " out of range; the model has ", state_->layers.size(), " layers");
  return *state_->layers[index];
}

const Layer& Sequential::layer(size_t index) const { return const_cast<Sequential&>(*this).layer(index); }

Shape Sequential::input_shape() const {
  CITADEL_CHECK(built_, ValueError, "model '", name_, "' is not built yet");
  return state_->input_shape;
}

Shape Sequential::output_shape() const {
  CITADEL_CHECK(built_, ValueError, "model '", name_, "' is not built yet");
  return state_->output_shapes.back();
}

ParameterStore& Sequential::parameters() { return state_->params; }

Optimizer& Sequential::optimizer() {
  CITADEL_CHECK(state_->compiled, ValueError, "model '", name_, "' is not compiled yet");
  return *state_->optimizer;
}

Sequential::CompileSettings Sequential::compile_settings() const {
  CITADEL_CHECK(state_->compiled, ValueError, "model '", name_, "' is not compiled");
  return {state_->loss->name(), state_->optimizer->name(), state_->optimizer->learning_rate(), state_->metric_names};
}

bool Sequential::compiled() const { return state_->compiled; }

void Sequential::set_precision(const std::string& name) {
  state_->requested_precision = ops::parse_precision(name);
  state_->precision = ops::effective_precision(state_->requested_precision);
}

ops::Precision Sequential::precision() const { return state_->precision; }

std::string Sequential::precision_warning() const {
  if (state_->precision == state_->requested_precision) return "";
  return std::string("Warning: ") + ops::precision_name(state_->requested_precision) +
         " asked for, but this processor has no bf16 instructions (AVX512-BF16 or AMX): computing in " +
         ops::precision_name(state_->precision) + ".";
}

const ResumePoint& Sequential::training_progress() const { return state_->progress; }

void Sequential::stop_training(const std::string& reason) {
  state_->stop_requested = true;
  state_->stop_reason = reason;
}

uint64_t Sequential::seed() const { return state_->rng.seed(); }

std::vector<Tensor> Sequential::get_weights() const {
  CITADEL_CHECK(built_, ValueError, "get_weights: model '", name_, "' is not built yet");
  std::vector<Tensor> weights;
  for (size_t i = 0; i < state_->params.parameters().size(); ++i)
    weights.push_back(Tensor::from(state_->params.value(static_cast<int>(i))));
  return weights;
}

void Sequential::set_weights(const std::vector<Tensor>& weights) {
  CITADEL_CHECK(built_, ValueError, "set_weights: model '", name_, "' is not built yet");
  const auto& infos = state_->params.parameters();
  CITADEL_CHECK(weights.size() == infos.size(), ValueError, "set_weights: model '", name_,
                "' has ", infos.size(), " weight tensors, got ", weights.size());
  for (size_t i = 0; i < infos.size(); ++i)
    CITADEL_CHECK(weights[i].shape() == infos[i].shape, ShapeError, "set_weights: ", infos[i].name,
                  " has shape ", infos[i].shape, ", got ", weights[i].shape());
  for (size_t i = 0; i < infos.size(); ++i) {
    TensorView target = state_->params.value(static_cast<int>(i));
    std::copy_n(weights[i].data(), weights[i].numel(), target.data());
  }
}

}  // namespace citadel
