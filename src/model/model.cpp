// Model: making a graph from symbolic tensors (or a Sequential chain), naming and building
// its layers over one parameter store, compiling, the summary table and weight access.
#include "citadel/model/model.hpp"

#include <algorithm>
#include <cmath>
#include <iomanip>
#include <iostream>
#include <map>
#include <set>
#include <sstream>
#include <unordered_map>

#include "citadel/core/error.hpp"
#include "citadel/layers/activations.hpp"
#include "citadel/layers/initializers.hpp"
#include "citadel/model/sequential.hpp"
#include "keras_names.hpp"
#include "model_state.hpp"

namespace citadel {
namespace {

using detail::GraphNode;

// Builds `layers` along `graph` over `store` (declarations; the store is allocated later):
// each layer at its first call, a later call checked against the shapes of the first; a
// frozen layer's weights are declared frozen. Fills the tensors' shapes and returns each
// node's output shape; `parameter_ids`, if given, receives each layer's [first, end) ids.
std::vector<Shape> build_along(const std::vector<Layer*>& layers, GraphInfo& graph, ParameterStore& store,
                               std::vector<std::pair<int, int>>* parameter_ids = nullptr) {
  if (parameter_ids) parameter_ids->assign(layers.size(), {0, 0});
  std::vector<Shape> outputs;
  std::vector<std::vector<Shape>> first_call(layers.size());
  std::vector<bool> built(layers.size(), false);
  for (const GraphInfo::NodeInfo& node : graph.nodes) {
    std::vector<Shape> shapes;
    for (const int input : node.inputs) shapes.push_back(graph.tensors[size_t(input)].shape);
    Layer& layer = *layers[node.layer];
    Shape output;
    if (!built[node.layer]) {
      const int first = int(store.parameters().size());
      output = layer.build_inputs(shapes, store);
      const int end = int(store.parameters().size());
      if (!layer.trainable())
        for (int id = first; id < end; ++id) store.set_frozen(id, true);
      if (parameter_ids) (*parameter_ids)[node.layer] = {first, end};
      first_call[node.layer] = shapes;
      built[node.layer] = true;
    } else {
      std::string first, now;
      for (const Shape& shape : first_call[node.layer]) first += (first.empty() ? "" : ", ") + shape.batch_str();
      for (const Shape& shape : shapes) now += (now.empty() ? "" : ", ") + shape.batch_str();
      CITADEL_CHECK(shapes == first_call[node.layer], ShapeError, layer.name(), " (", layer.type(), "): called on ",
                    now, " after ", first, "; a layer whose weights are shared takes one input shape");
      output = graph.tensors[size_t(node.output)].shape;
      if (output.rank() == 0) {  // a Sequential chain's shapes are not known before: from the first call
        ParameterStore scratch;
        output = layer.clone()->build_inputs(shapes, scratch);
      }
    }
    graph.tensors[size_t(node.output)].shape = output;
    outputs.push_back(output);
  }
  return outputs;
}

void fill_consumers(GraphInfo& graph) {
  graph.consumers.assign(graph.tensors.size(), {});
  for (size_t n = 0; n < graph.nodes.size(); ++n)
    for (const int input : graph.nodes[n].inputs) graph.consumers[size_t(input)].push_back(int(n));
}

// Layers keep their given names (unique); the others are named by type, numbered past
// the names taken ("dense", "dense_1", ...), as Keras does.
void name_layers(std::vector<std::unique_ptr<Layer>>& layers, std::set<std::string>& used) {
  for (const auto& layer : layers) {
    if (layer->name().empty()) continue;
    CITADEL_CHECK(used.insert(layer->name()).second, ValueError, "two layers are named '", layer->name(),
                  "'; layer names must be unique in a model (name one otherwise, with named())");
  }
  for (auto& layer : layers) {
    if (!layer->name().empty()) continue;
    const std::string base = detail::keras_snake_case(layer->type());
    std::string name = base;
    for (int suffix = 1; used.count(name); ++suffix) name = base + "_" + std::to_string(suffix);
    used.insert(name);
    layer->set_name(name);
  }
}

}  // namespace

// --- making models ----------------------------------------------------------------------

Model::Model(const std::string& name, bool sequential) : state_(std::make_unique<State>(random::global().next_u64())) {
  state_->name = name;
  state_->sequential = sequential;
}

Model::Model() : Model("sequential", true) {}

Model::Model(const SymbolicTensor& input, const SymbolicTensor& output, const ModelOptions& options)
    : Model(std::vector<SymbolicTensor>{input}, std::vector<SymbolicTensor>{output}, options) {}

Model::Model(const std::vector<SymbolicTensor>& inputs, const std::vector<SymbolicTensor>& outputs,
             const ModelOptions& options)
    : Model(options.name, false) {
  State& s = *state_;
  CITADEL_CHECK(!inputs.empty() && !outputs.empty(), ValueError, "Model '", s.name,
                "': give its inputs (from Input(shape)) and its outputs (from calling layers on them)");
  // The model's inputs: Input nodes, each once.
  std::unordered_map<const GraphNode*, int> input_of;
  for (size_t i = 0; i < inputs.size(); ++i) {
    CITADEL_CHECK(inputs[i].defined(), ValueError, "Model '", s.name, "': inputs[", i, "] is empty");
    const GraphNode* node = inputs[i].node().get();
    CITADEL_CHECK(!node->layer, ValueError, "Model '", s.name, "': inputs[", i, "] is the output of ",
                  inputs[i].name(), ", not an Input; a model's inputs are made with Input(shape)");
    CITADEL_CHECK(input_of.emplace(node, int(i)).second, ValueError, "Model '", s.name, "': inputs[", i,
                  "] is given twice");
  }
  // Every node the outputs depend on, walked back without recursion (deep graphs).
  std::unordered_map<const GraphNode*, int> reached;  // node → index in `found`
  std::vector<const GraphNode*> found, stack;
  std::vector<bool> input_used(inputs.size(), false);
  for (size_t k = 0; k < outputs.size(); ++k) {
    CITADEL_CHECK(outputs[k].defined(), ValueError, "Model '", s.name, "': outputs[", k, "] is empty");
    CITADEL_CHECK(outputs[k].node()->layer, ValueError, "Model '", s.name, "': outputs[", k, "] is the Input '",
                  outputs[k].name(), "' itself; an output must come from a layer");
    stack.push_back(outputs[k].node().get());
    while (!stack.empty()) {
      const GraphNode* node = stack.back();
      stack.pop_back();
      if (reached.count(node)) continue;
      if (!node->layer) {
        const auto input = input_of.find(node);
        CITADEL_CHECK(input != input_of.end(), ValueError, "Model '", s.name, "': outputs[", k, "] (",
                      outputs[k].name(), ") depends on the Input '", node->input_name.empty() ? "(unnamed)" : node->input_name,
                      "', which is not among the model's inputs (a tensor of another model?); add it to the inputs");
        input_used[size_t(input->second)] = true;
        reached.emplace(node, -1);
        continue;
      }
      reached.emplace(node, int(found.size()));
      found.push_back(node);
      for (const SymbolicTensor& in : node->inputs) stack.push_back(in.node().get());
    }
  }
  for (size_t i = 0; i < inputs.size(); ++i)
    CITADEL_CHECK(input_used[i], ValueError, "Model '", s.name, "': the input '", inputs[i].name().empty() ? "(unnamed)" : inputs[i].name(),
                  "' (inputs[", i, "]) is used by no output; remove it, or connect it");
  // Topological order: nodes only refer to earlier ones, so creation order is one.
  std::sort(found.begin(), found.end(), [](const GraphNode* a, const GraphNode* b) { return a->serial < b->serial; });

  GraphInfo& graph = s.graph;
  std::unordered_map<const GraphNode*, int> tensor_of;
  for (size_t i = 0; i < inputs.size(); ++i) {
    tensor_of[inputs[i].node().get()] = int(i);
    graph.tensors.push_back({inputs[i].shape(), -1, inputs[i].node()->input_name, inputs[i].node()->input_dtype});
    graph.inputs.push_back(int(i));
  }
  std::unordered_map<const Layer*, size_t> layer_of;
  std::vector<int> calls;
  for (const GraphNode* node : found) {
    auto [at, first] = layer_of.emplace(node->layer.get(), s.layers.size());
    if (first) {
      s.layers.push_back(node->layer->clone());
      calls.push_back(0);
    }
    GraphInfo::NodeInfo info;
    info.layer = at->second;
    info.call = calls[at->second]++;
    for (const SymbolicTensor& in : node->inputs) info.inputs.push_back(tensor_of.at(in.node().get()));
    info.output = int(graph.tensors.size());
    tensor_of[node] = info.output;
    graph.tensors.push_back({node->output_shape, int(graph.nodes.size()), ""});
    graph.nodes.push_back(std::move(info));
  }
  std::set<int> seen_outputs;
  for (size_t k = 0; k < outputs.size(); ++k) {
    const int tensor = tensor_of.at(outputs[k].node().get());
    CITADEL_CHECK(seen_outputs.insert(tensor).second, ValueError, "Model '", s.name, "': outputs[", k,
                  "] is the same tensor as an earlier output");
    graph.outputs.push_back(tensor);
  }
  // Names: inputs (Keras 3's input_layer, input_layer_1, ...) and layers share one space.
  std::set<std::string> used;
  for (size_t i = 0; i < inputs.size(); ++i) {
    std::string& name = graph.tensors[i].name;
    if (name.empty()) continue;
    CITADEL_CHECK(used.insert(name).second, ValueError, "Model '", s.name, "': two inputs are named '", name, "'");
  }
  name_layers(s.layers, used);
  for (size_t i = 0; i < inputs.size(); ++i) {
    std::string& name = graph.tensors[i].name;
    if (!name.empty()) continue;
    name = "input_layer";
    for (int suffix = 1; used.count(name); ++suffix) name = "input_layer_" + std::to_string(suffix);
    used.insert(name);
  }
  for (const auto& layer : s.layers)
    CITADEL_CHECK(layer->name().find('/') == std::string::npos, ValueError, "layer name '", layer->name(),
                  "' contains '/', which separates a layer from its weights' names");
  s.graph_known = true;
  fill_consumers(graph);
  if (options.build_now) build();
}

// --- building ---------------------------------------------------------------------------

void Model::build(const Shape& input_shape) {
  State& s = *state_;
  if (s.built) {
    if (s.sequential)
      CITADEL_CHECK(input_shape == s.graph.tensors[0].shape, ShapeError, "model '", s.name, "' was built for inputs ",
                    s.graph.tensors[0].shape.batch_str(), ", got ", input_shape.batch_str());
    return;
  }
  if (!s.sequential && input_shape.rank() > 0)
    CITADEL_CHECK(s.graph.inputs.size() == 1 && input_shape == s.graph.tensors[size_t(s.graph.inputs[0])].shape,
                  ShapeError, "model '", s.name, "' takes inputs ", s.graph.tensors[size_t(s.graph.inputs[0])].shape.batch_str(),
                  ", got ", input_shape.batch_str());
  if (s.sequential) {
    CITADEL_CHECK(!s.layers.empty(), ValueError, "model '", s.name, "' has no layers; add() some before compile/fit");
    CITADEL_CHECK(input_shape.rank() > 0, ValueError, "build: model '", s.name,
                  "' is a Sequential chain; give its input shape (without the batch axis)");
    GraphInfo& graph = s.graph;
    graph = {};
    // A chain that starts with token ids (Embedding) takes int32, Keras's default for them.
    graph.tensors.push_back(
        {input_shape, -1, "input_layer", s.layers.front()->token_id_bound() > 0 ? "int32" : "float32"});
    graph.inputs = {0};
    for (size_t i = 0; i < s.layers.size(); ++i) {
      graph.nodes.push_back({i, {int(i)}, int(i + 1), 0});
      graph.tensors.push_back({Shape{}, int(i), ""});
    }
    graph.outputs = {int(s.layers.size())};
    fill_consumers(graph);
    s.graph_known = true;
  }
  std::vector<Layer*> layers;
  for (auto& layer : s.layers) layers.push_back(layer.get());
  build_along(layers, s.graph, s.params, &s.layer_parameters);
  s.params.allocate();
  for (const auto& info : s.params.parameters()) s.regularized = s.regularized || info.regularizer.active();
  Rng init_rng = s.rng.fork(0);
  for (size_t i = 0; i < s.params.parameters().size(); ++i)
    initialize(s.params.parameters()[i].initializer, s.params.value(static_cast<int>(i)), init_rng);
  for (auto& layer : s.layers) layer->bind(s.params);
  for (size_t i = 0; i < s.layers.size(); ++i) s.layers[i]->reseed(s.rng.fork(1000 + i).next_u64());
  // Each later call of a layer runs a copy that shares its parameters (views into the
  // store, so the gradient of a shared weight accumulates over its calls).
  s.node_layer.clear();
  s.later_calls.clear();
  s.shared_layer.assign(s.layers.size(), false);
  for (size_t n = 0; n < s.graph.nodes.size(); ++n) {
    const GraphInfo::NodeInfo& node = s.graph.nodes[n];
    if (node.call == 0) {
      s.node_layer.push_back(s.layers[node.layer].get());
      continue;
    }
    s.shared_layer[node.layer] = true;
    s.later_calls.push_back(s.layers[node.layer]->clone());
    s.later_calls.back()->reseed(s.rng.fork(1000 + s.layers.size() + n).next_u64());
    s.node_layer.push_back(s.later_calls.back().get());
  }
  s.frozen_layer.assign(s.layers.size(), false);
  for (size_t l = 0; l < s.layers.size(); ++l) s.frozen_layer[l] = !s.layers[l]->trainable();
  s.prepare_walks();
  s.built = true;
  if (s.compiled) s.resolve_training_setup();
}

bool Model::built() const { return state_->built; }

Model::BuildPlan Model::plan(const Shape& input_shape) const {
  const State& s = *state_;
  CITADEL_CHECK(s.sequential, ValueError, "plan(input_shape): model '", s.name,
                "' is a graph whose input shapes are fixed; use plan()");
  CITADEL_CHECK(!s.layers.empty(), ValueError, "model '", s.name, "' has no layers");
  GraphInfo graph;
  graph.tensors.push_back({input_shape, -1, ""});
  for (size_t i = 0; i < s.layers.size(); ++i) {
    graph.nodes.push_back({i, {int(i)}, int(i + 1), 0});
    graph.tensors.push_back({Shape{}, int(i), ""});
  }
  std::vector<std::unique_ptr<Layer>> copies;
  std::vector<Layer*> layers;
  for (const auto& layer : s.layers) {
    copies.push_back(layer->clone());
    layers.push_back(copies.back().get());
  }
  ParameterStore scratch;  // declarations only: nothing is allocated
  BuildPlan result;
  result.output_shapes = build_along(layers, graph, scratch);
  result.parameters = scratch.parameters();
  return result;
}

Model::BuildPlan Model::plan() const {
  const State& s = *state_;
  if (s.sequential) {
    CITADEL_CHECK(s.built, ValueError, "plan(): model '", s.name, "' is not built; give its input shape");
    return plan(s.graph.tensors[0].shape);
  }
  GraphInfo graph = s.graph;
  std::vector<std::unique_ptr<Layer>> copies;
  std::vector<Layer*> layers;
  for (const auto& layer : s.layers) {
    copies.push_back(layer->clone());
    layers.push_back(copies.back().get());
  }
  ParameterStore scratch;
  BuildPlan result;
  result.output_shapes = build_along(layers, graph, scratch);
  result.parameters = scratch.parameters();
  return result;
}

// --- compiling --------------------------------------------------------------------------

void Model::compile(const CompileOptions& options) {
  State& s = *state_;
  CITADEL_CHECK(!options.loss.empty() || !options.losses.empty(), ValueError,
                "compile: a loss is required, e.g. {.loss = \"binary_crossentropy\"}");
  s.compile_options = options;
  s.optimizer = options.optimizer.make();
  set_precision(options.precision);
  auto check_metrics = [](const std::vector<std::string>& names) {
    for (const auto& metric : names) make_metric(metric, LabelKind::kBinary);  // fail at compile, not in fit
  };
  check_metrics(options.metrics);
  for (const auto& [output, names] : options.output_metrics) check_metrics(names);
  s.compiled = true;
  s.outputs.clear();
  if (s.built) s.apply_trainable();  // Keras: a change of `trainable` counts from the next compile
  if (!s.built && s.sequential && !s.layers.empty())
    if (auto declared = s.layers.front()->declared_input_shape()) build(*declared);
  if (s.built) s.resolve_training_setup();
}

void Model::State::apply_trainable() {
  bool moved = false;
  for (size_t l = 0; l < layers.size(); ++l) {
    frozen_layer[l] = !layers[l]->trainable();
    for (int id = layer_parameters[l].first; id < layer_parameters[l].second; ++id)
      moved = params.set_frozen(id, frozen_layer[l]) || moved;
  }
  for (size_t n = 0; n < graph.nodes.size(); ++n) node_layer[n]->set_trainable(layers[graph.nodes[n].layer]->trainable());
  if (!moved) return;
  // The store was laid out again: every layer (and each later call's copy) takes new views.
  for (auto& layer : layers) layer->bind(params);
  for (auto& call : later_calls) call->bind(params);
}

void Model::State::resolve_training_setup() {
  const std::vector<std::string> names = [&] {
    std::vector<std::string> result;
    for (const int tensor : graph.outputs) result.push_back(layers[graph.nodes[size_t(graph.tensors[size_t(tensor)].producer)].layer]->name());
    return result;
  }();
  auto known = [&](const std::string& key, const char* what) {
    std::string list;
    for (const auto& name : names) list += (list.empty() ? "" : ", ") + name;
    CITADEL_CHECK(std::find(names.begin(), names.end(), key) != names.end(), ValueError, "compile: ", what,
                  " names the output '", key, "', but the model's outputs are ", list);
  };
  for (const auto& [key, loss] : compile_options.losses) known(key, "losses");
  for (const auto& [key, weight] : compile_options.loss_weights) known(key, "loss_weights");
  for (const auto& [key, metrics] : compile_options.output_metrics) known(key, "output_metrics");
  outputs.clear();
  for (size_t k = 0; k < names.size(); ++k) {
    OutputTraining out;
    out.name = names[k];
    const auto given = compile_options.losses.find(out.name);
    const LossSpec& spec = given != compile_options.losses.end() ? given->second : compile_options.loss;
    CITADEL_CHECK(!spec.empty(), ValueError, "compile: output '", out.name, "' has no loss; give `loss` for every "
                  "output or a loss per output in `losses`");
    out.loss = spec.make();
    const auto weight = compile_options.loss_weights.find(out.name);
    out.weight = weight != compile_options.loss_weights.end() ? weight->second : 1.0;
    CITADEL_CHECK(std::isfinite(out.weight) && out.weight >= 0, ValueError, "compile: loss_weights['", out.name,
                  "'] must be a finite number ≥ 0, got ", out.weight);
    // Fuse a final sigmoid/softmax into the cross-entropy (exact where probabilities
    // saturate, and cheaper) when nothing else reads the output.
    const int tensor = graph.outputs[k];
    const Layer& layer = *node_layer[size_t(graph.tensors[size_t(tensor)].producer)];
    const auto fusable = out.loss->fusable_activation();
    out.fused = fusable && layer.activation() == *fusable && graph.consumers[size_t(tensor)].empty() &&
                layer.input_count() == 1;
    out.training_loss = out.fused ? out.loss->fused_with_activation() : out.loss->clone();
    LabelKind kind = graph.tensors[size_t(tensor)].shape.numel() == 1 ? LabelKind::kBinary : LabelKind::kCategorical;
    const std::string loss_name = out.loss->name();
    if (loss_name == "binary_crossentropy") kind = LabelKind::kBinary;
    if (loss_name == "categorical_crossentropy") kind = LabelKind::kCategorical;
    if (loss_name == "sparse_categorical_crossentropy") kind = LabelKind::kSparse;
    const auto metrics = compile_options.output_metrics.find(out.name);
    out.metric_names = metrics != compile_options.output_metrics.end() ? metrics->second : compile_options.metrics;
    for (const auto& name : out.metric_names) out.metrics.push_back(make_metric(name, kind));
    outputs.push_back(std::move(out));
  }
}

// --- the summary ------------------------------------------------------------------------

namespace {

// The weights among parameters [first, end) (frozen or not; not a layer's own state).
int64_t weights_of(const ParameterStore& store, int first, int end) {
  int64_t count = 0;
  for (int id = first; id < end; ++id) {
    const ParameterInfo& info = store.parameters()[size_t(id)];
    if (info.trainable || info.frozen) count += info.shape.numel();
  }
  return count;
}

}  // namespace

int64_t Model::count_trainable_params() const {
  const State& s = *state_;
  if (!s.built) return 0;
  int64_t trainable = 0;
  for (size_t i = 0; i < s.layers.size(); ++i)
    if (s.layers[i]->trainable()) trainable += weights_of(s.params, s.layer_parameters[i].first, s.layer_parameters[i].second);
  return trainable;
}

std::string Model::summary_text() const {
  const State& s = *state_;
  // Before build(), a Sequential model's shapes come from building copies of the layers
  // when the first layer declares its input (as Keras shows a model whose input is known).
  std::vector<Shape> shapes;
  std::vector<int64_t> counts(s.layers.size(), 0);
  int64_t total = count_params(), trainable = s.params.trainable_size();
  bool known = s.built;
  if (s.built) {
    for (const auto& node : s.graph.nodes) shapes.push_back(s.graph.tensors[size_t(node.output)].shape);
    for (size_t i = 0; i < s.layers.size(); ++i) counts[i] = s.layers[i]->parameter_count();
    trainable = count_trainable_params();
  } else if (s.sequential && !s.layers.empty() && s.layers.front()->declared_input_shape()) {
    known = true;
    ParameterStore scratch;
    Shape shape = *s.layers.front()->declared_input_shape();
    trainable = 0;
    for (size_t i = 0; i < s.layers.size(); ++i) {
      auto copy = s.layers[i]->clone();
      const int first = int(scratch.parameters().size());
      shape = copy->build(shape, scratch);
      shapes.push_back(shape);
      counts[i] = copy->parameter_count();
      if (copy->trainable()) trainable += weights_of(scratch, first, int(scratch.parameters().size()));
    }
    total = scratch.size();
  }
  struct Row {
    std::string layer, shape, params, connected;
  };
  std::vector<Row> rows;
  const bool graph = !s.sequential;
  if (graph)
    for (const int input : s.graph.inputs)
      rows.push_back({s.graph.tensors[size_t(input)].name + " (InputLayer)",
                      s.graph.tensors[size_t(input)].shape.batch_str(), "0", "-"});
  const size_t nodes = s.built ? s.graph.nodes.size() : s.layers.size();
  for (size_t n = 0; n < nodes; ++n) {
    const size_t l = s.built ? s.graph.nodes[n].layer : n;
    const Layer& layer = *s.layers[l];
    Row row{layer.name() + " (" + layer.type() + ")", known ? shapes[n].batch_str() : "(unbuilt)",
            known ? std::to_string(s.built && s.graph.nodes[n].call > 0 ? 0 : counts[l]) : "?", ""};
    if (graph) {
      for (const int input : s.graph.nodes[n].inputs) {
        const auto& tensor = s.graph.tensors[size_t(input)];
        const std::string source = tensor.producer < 0 ? tensor.name : s.layers[s.graph.nodes[size_t(tensor.producer)].layer]->name();
        const int call = tensor.producer < 0 ? 0 : s.graph.nodes[size_t(tensor.producer)].call;
        row.connected += (row.connected.empty() ? "" : ", ") + source + "[" + std::to_string(call) + "][0]";
      }
    }
    rows.push_back(std::move(row));
  }
  // Columns as wide as their widest entry (Keras's header widths at least), so long names
  // never run into the next column.
  size_t layer_width = 28, shape_width = 26, params_width = 10;
  for (const Row& row : rows) {
    layer_width = std::max(layer_width, row.layer.size() + 2);
    shape_width = std::max(shape_width, row.shape.size() + 2);
    params_width = std::max(params_width, row.params.size() + 2);
  }
  const size_t width = 1 + layer_width + shape_width + params_width + (graph ? 20 : 0);
  std::ostringstream out;
  out << (s.sequential ? "Model: \"" : "Model: \"") << s.name << "\"\n";
  const std::string thin(std::max<size_t>(width, 65), '_'), thick(thin.size(), '=');
  out << thin << "\n" << std::left << " " << std::setw(int(layer_width)) << "Layer (type)" << std::setw(int(shape_width))
      << "Output Shape" << (graph ? std::setw(int(params_width)) : std::setw(0)) << "Param #"
      << (graph ? "Connected to" : "") << "\n"
      << thick << "\n";
  for (const Row& row : rows) {
    out << " " << std::setw(int(layer_width)) << row.layer << std::setw(int(shape_width)) << row.shape;
    if (graph) out << std::setw(int(params_width)) << row.params << row.connected << "\n";
    else out << row.params << "\n";
  }
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
  for (const std::string& warning : mask_warnings()) out << "Warning: " << warning << "\n";
  return out.str();
}

std::vector<std::string> Model::mask_warnings() const {
  const State& s = *state_;
  if (s.built) return s.masks.warnings();
  // Not built: planned from the layers as called (a Sequential model's as a chain).
  GraphInfo chain;
  const GraphInfo* graph = &s.graph;
  if (!s.graph_known) {
    chain.tensors.resize(s.layers.size() + 1);
    chain.inputs = {0};
    chain.outputs = {int(s.layers.size())};
    for (size_t i = 0; i < s.layers.size(); ++i) {
      chain.nodes.push_back({.layer = i, .inputs = {int(i)}, .output = int(i + 1)});
      chain.tensors[i + 1].producer = int(i);
    }
    graph = &chain;
  }
  std::vector<const Layer*> node_layers;
  for (const auto& node : graph->nodes) node_layers.push_back(s.layers[node.layer].get());
  MaskFlow flow;
  flow.plan(*graph, node_layers);
  return flow.warnings();
}

void Model::summary(std::ostream& out) const { out << summary_text(); }
void Model::summary() const { summary(std::cout); }

// --- accessors --------------------------------------------------------------------------

int64_t Model::count_params() const { return state_->params.size(); }
size_t Model::size() const { return state_->layers.size(); }
const std::string& Model::name() const { return state_->name; }
bool Model::is_sequential() const { return state_->sequential; }

Layer& Model::layer(size_t index) {
  CITADEL_CHECK(index < state_->layers.size(), ValueError, "layer index ", index, " out of range; the model has ",
                state_->layers.size(), " layers");
  return *state_->layers[index];
}

const Layer& Model::layer(size_t index) const { return const_cast<Model&>(*this).layer(index); }

Layer& Model::get_layer(const std::string& name) {
  std::string names;
  for (auto& layer : state_->layers) {
    if (layer->name() == name) return *layer;
    names += (names.empty() ? "" : ", ") + layer->name();
  }
  throw ValueError(detail::concat("model '", state_->name, "' has no layer '", name, "'; its layers: ", names));
}

const Layer& Model::get_layer(const std::string& name) const { return const_cast<Model&>(*this).get_layer(name); }

Shape Model::input_shape() const {
  CITADEL_CHECK(state_->graph_known, ValueError, "model '", state_->name, "' is not built yet");
  CITADEL_CHECK(state_->graph.inputs.size() == 1, ValueError, "model '", state_->name, "' has ",
                state_->graph.inputs.size(), " inputs; use input_shapes()");
  return state_->graph.tensors[size_t(state_->graph.inputs[0])].shape;
}

Shape Model::output_shape() const {
  CITADEL_CHECK(state_->built || (state_->graph_known && !state_->sequential), ValueError, "model '", state_->name, "' is not built yet");
  CITADEL_CHECK(state_->graph.outputs.size() == 1, ValueError, "model '", state_->name, "' has ",
                state_->graph.outputs.size(), " outputs; use output_shapes()");
  return state_->graph.tensors[size_t(state_->graph.outputs[0])].shape;
}

std::vector<Shape> Model::input_shapes() const {
  CITADEL_CHECK(state_->graph_known, ValueError, "model '", state_->name, "' is not built yet");
  std::vector<Shape> shapes;
  for (const int t : state_->graph.inputs) shapes.push_back(state_->graph.tensors[size_t(t)].shape);
  return shapes;
}

std::vector<Shape> Model::output_shapes() const {
  CITADEL_CHECK(state_->built || (state_->graph_known && !state_->sequential), ValueError, "model '", state_->name, "' is not built yet");
  std::vector<Shape> shapes;
  for (const int t : state_->graph.outputs) shapes.push_back(state_->graph.tensors[size_t(t)].shape);
  return shapes;
}

std::vector<std::string> Model::input_names() const {
  std::vector<std::string> names;
  for (const int t : state_->graph.inputs) names.push_back(state_->graph.tensors[size_t(t)].name);
  return names;
}

std::vector<std::string> Model::input_dtypes() const {
  std::vector<std::string> dtypes;
  for (const int t : state_->graph.inputs) dtypes.push_back(state_->graph.tensors[size_t(t)].dtype);
  return dtypes;
}

std::vector<std::string> Model::output_names() const {
  const State& s = *state_;
  std::vector<std::string> names;
  if (!s.graph_known) return names;
  for (const int t : s.graph.outputs)
    names.push_back(s.layers[s.graph.nodes[size_t(s.graph.tensors[size_t(t)].producer)].layer]->name());
  return names;
}

size_t Model::input_count() const { return state_->sequential && !state_->built ? 1 : state_->graph.inputs.size(); }
size_t Model::output_count() const { return state_->sequential && !state_->built ? 1 : state_->graph.outputs.size(); }

const GraphInfo& Model::graph() const {
  CITADEL_CHECK(state_->built || (state_->graph_known && !state_->sequential), ValueError, "model '", state_->name, "' is not built yet");
  return state_->graph;
}

ParameterStore& Model::parameters() { return state_->params; }
const ParameterStore& Model::parameters() const { return state_->params; }

Optimizer& Model::optimizer() {
  CITADEL_CHECK(state_->compiled, ValueError, "model '", state_->name, "' is not compiled yet");
  return *state_->optimizer;
}

Model::CompileSettings Model::compile_settings() const {
  const State& s = *state_;
  CITADEL_CHECK(s.compiled, ValueError, "model '", s.name, "' is not compiled");
  const LossSpec& loss = !s.compile_options.loss.empty() ? s.compile_options.loss : s.compile_options.losses.begin()->second;
  return {loss.make()->name(), s.optimizer->name(), s.optimizer->learning_rate(), s.compile_options.metrics};
}

bool Model::compiled() const { return state_->compiled; }

void Model::set_precision(const std::string& name) {
  state_->requested_precision = ops::parse_precision(name);
  state_->precision = ops::effective_precision(state_->requested_precision);
}

ops::Precision Model::precision() const { return state_->precision; }

std::string Model::precision_warning() const {
  if (state_->precision == state_->requested_precision) return "";
  return std::string("Warning: ") + ops::precision_name(state_->requested_precision) +
         " asked for, but this processor has no bf16 instructions (AVX512-BF16 or AMX): computing in " +
         ops::precision_name(state_->precision) + ".";
}

const ResumePoint& Model::training_progress() const { return state_->progress; }

void Model::stop_training(const std::string& reason) {
  state_->stop_requested = true;
  state_->stop_reason = reason;
}

uint64_t Model::seed() const { return state_->rng.seed(); }

std::vector<Tensor> Model::get_weights() const {
  CITADEL_CHECK(state_->built, ValueError, "get_weights: model '", state_->name, "' is not built yet");
  std::vector<Tensor> weights;
  for (size_t i = 0; i < state_->params.parameters().size(); ++i)
    weights.push_back(Tensor::from(state_->params.value(static_cast<int>(i))));
  return weights;
}

void Model::set_weights(const std::vector<Tensor>& weights) {
  CITADEL_CHECK(state_->built, ValueError, "set_weights: model '", state_->name, "' is not built yet");
  const auto& infos = state_->params.parameters();
  CITADEL_CHECK(weights.size() == infos.size(), ValueError, "set_weights: model '", state_->name, "' has ",
                infos.size(), " weight tensors, got ", weights.size());
  for (size_t i = 0; i < infos.size(); ++i)
    CITADEL_CHECK(weights[i].shape() == infos[i].shape, ShapeError, "set_weights: ", infos[i].name, " has shape ",
                  infos[i].shape, ", got ", weights[i].shape());
  for (size_t i = 0; i < infos.size(); ++i) {
    TensorView target = state_->params.value(static_cast<int>(i));
    std::copy_n(weights[i].data(), weights[i].numel(), target.data());
  }
}

Model::Model(Model&&) noexcept = default;
Model& Model::operator=(Model&&) noexcept = default;
Model::~Model() = default;

// --- Sequential -------------------------------------------------------------------------

Sequential::Sequential() : Sequential("sequential") {}

Sequential::Sequential(const std::string& name) : Model(name, true) {}

Sequential::Sequential(Model&& model) : Model(std::move(model)) {
  CITADEL_CHECK(state_->sequential, ValueError, "model '", state_->name,
                "' is a graph, not a Sequential chain; hold it as a Model");
}

void Sequential::add(const Layer& layer) { add(layer.clone()); }

void Sequential::add(std::unique_ptr<Layer> layer) {
  CITADEL_CHECK(layer != nullptr, ValueError, "add: the layer is null");
  CITADEL_CHECK(!state_->built, ValueError, "add: model '", state_->name,
                "' is already built; add every layer before compile/fit");
  CITADEL_CHECK(layer->input_count() == 1, ValueError, "add: ", layer->type(),
                " merges several tensors; a Sequential model is a chain of one-input layers (use Model for graphs)");
  CITADEL_CHECK(layer->output_count() == 1, ValueError, "add: ", layer->type(), " gives ", layer->output_count(),
                " outputs (return_state); a Sequential model is a chain of one-output layers (use Model for graphs)");
  const std::string base = detail::keras_snake_case(layer->type());
  int same_type = 0;
  for (const auto& existing : state_->layers)
    if (existing->type() == layer->type()) ++same_type;
  layer->set_name(same_type == 0 ? base : base + "_" + std::to_string(same_type));
  state_->layers.push_back(std::move(layer));
}

}  // namespace citadel
