// The graph walks: forward in topological order, the weighted losses of the outputs, and
// backward in reverse, where a tensor read by several nodes gets the sum of their
// gradients. Gradient buffers are slots shared by tensors whose gradients are never alive
// at once (a chain uses two, as ping-pong buffers), assigned once per graph.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <string>

#include "citadel/core/error.hpp"
#include "model_state.hpp"

namespace citadel {

void Model::State::prepare_walks() {
  const size_t tensors = graph.tensors.size();
  values.assign(tensors, Tensor());
  views.assign(tensors, ConstTensorView());
  slot_of.assign(tensors, -1);
  contributions.assign(tensors, 0);
  needs_gradient[0].assign(tensors, false);
  needs_gradient[1].assign(tensors, false);
  // Liveness, walking backward: a tensor's gradient is born when its last reader (first in
  // this walk) runs, or at the start for an output others also read; it dies once the node
  // that made the tensor has passed it on.
  std::vector<int> free_slots;
  int slot_count = 0;
  auto take = [&] {
    if (free_slots.empty()) return slot_count++;
    const int slot = free_slots.back();
    free_slots.pop_back();
    return slot;
  };
  for (const int output : graph.outputs)
    if (!graph.consumers[size_t(output)].empty()) slot_of[size_t(output)] = take();
  size_t widest = 1;
  for (size_t n = graph.nodes.size(); n-- > 0;) {
    const GraphInfo::NodeInfo& node = graph.nodes[n];
    widest = std::max(widest, node.inputs.size());
    for (const int input : node.inputs)
      if (slot_of[size_t(input)] < 0) slot_of[size_t(input)] = take();
    if (slot_of[size_t(node.output)] >= 0) free_slots.push_back(slot_of[size_t(node.output)]);
  }
  gradient_slots.assign(size_t(slot_count), Tensor());
  scratch.assign(widest, Tensor());
  node_inputs.assign(widest, ConstTensorView());
  node_targets.assign(widest, nullptr);
  node_direct.assign(widest, 0);
  loss_gradients.assign(graph.outputs.size(), Tensor());
  batch_x.assign(graph.inputs.size(), Tensor());
  batch_y.assign(graph.outputs.size(), Tensor());
  input_gradient_wanted.assign(graph.inputs.size(), false);
  masks.plan(graph, std::vector<const Layer*>(node_layer.begin(), node_layer.end()));
}

void Model::State::forward(std::span<const ConstTensorView> inputs, Mode mode, const Replacement* replaced) {
  const ops::PrecisionScope scope(precision);
  for (size_t i = 0; i < inputs.size(); ++i) views[size_t(graph.inputs[i])] = inputs[i];
  for (size_t n = 0; n < graph.nodes.size(); ++n) {
    const GraphInfo::NodeInfo& node = graph.nodes[n];
    Layer& layer = *node_layer[n];
    Tensor& out = values[size_t(node.output)];
    if (masks.active()) masks.before(node, n, layer);
    if (node.inputs.size() == 1) {
      layer.forward(views[size_t(node.inputs[0])], out, mode);
    } else {
      for (size_t j = 0; j < node.inputs.size(); ++j) node_inputs[j] = views[size_t(node.inputs[j])];
      layer.forward_inputs(std::span<const ConstTensorView>(node_inputs.data(), node.inputs.size()), out, mode);
    }
    views[size_t(node.output)] = out;
    if (masks.active()) masks.after(node, n, layer, views);
    if (replaced != nullptr && replaced->tensor == node.output) {
      CITADEL_CHECK(replaced->value.shape() == out.shape(), ShapeError, "the replacement of layer '", layer.name(),
                    "''s output must have its shape ", out.shape(), ", got ", replaced->value.shape());
      views[size_t(node.output)] = replaced->value;
    }
  }
}

double Model::State::loss_value(std::span<const ConstTensorView> targets, bool with_gradient,
                                std::vector<double>* per_output) {
  double total = 0;
  if (per_output) per_output->clear();
  for (size_t k = 0; k < outputs.size(); ++k) {
    OutputTraining& out = outputs[k];
    const int producer = graph.tensors[size_t(graph.outputs[k])].producer;
    const ConstTensorView predictions = out.fused ? node_layer[size_t(producer)]->pre_activation() : output(k);
    double loss = 0;
    if (with_gradient) {
      loss_gradients[k].resize(predictions.shape());
      loss = out.training_loss->compute(predictions, targets[k], loss_gradients[k]);
      if (out.weight != 1.0)
        for (int64_t i = 0; i < loss_gradients[k].numel(); ++i) loss_gradients[k][i] *= float(out.weight);
    } else {
      loss = out.training_loss->compute(predictions, targets[k], TensorView());
    }
    if (per_output) per_output->push_back(loss);
    total += out.weight * loss;
  }
  // Keras includes the weight penalties in the reported loss, in training and evaluation.
  return total + (regularized ? params.regularization_loss() : 0.0);
}

void Model::State::backward(int input, bool with_regularization, bool parameter_gradients) {
  walk_backward(input >= 0 ? graph.inputs[size_t(input)] : -1, with_regularization, parameter_gradients);
}

void Model::State::backward_to(int tensor) {
  CITADEL_ASSERT(graph.tensors[size_t(tensor)].producer >= 0 && slot_of[size_t(tensor)] >= 0,
                 "backward_to a model input, or to a tensor no node reads");
  walk_backward(tensor, false, false);
}

ConstTensorView Model::State::tensor_gradient(int tensor) const {
  return gradient_slots[size_t(slot_of[size_t(tensor)])];
}

void Model::State::walk_backward(int wanted, bool with_regularization, bool parameter_gradients) {
  const ops::PrecisionScope scope(float32_gradients ? ops::Precision::kFloat32 : precision);
  // Which tensors take a gradient: the wanted tensor (an input, or a node's output where the
  // walk stops), and every node's output that leads to parameters or to a tensor that takes
  // one. Nodes whose output takes none are skipped.
  const int stop = wanted >= 0 ? graph.tensors[size_t(wanted)].producer : -1;
  std::vector<bool>& needs = needs_gradient[wanted >= 0 ? 1 : 0];
  for (const int in : graph.inputs) needs[size_t(in)] = in == wanted;
  for (size_t n = 0; n < graph.nodes.size(); ++n) {
    const GraphInfo::NodeInfo& node = graph.nodes[n];
    bool runs = node_layer[n]->parameter_count() > 0 && !frozen_layer[node.layer];  // a frozen base is skipped
    for (const int in : node.inputs) runs = runs || needs[size_t(in)];
    needs[size_t(node.output)] = runs || node.output == wanted;
  }
  std::fill(contributions.begin(), contributions.end(), 0);
  for (size_t k = 0; k < graph.outputs.size(); ++k) {  // an output others also read starts from its loss gradient
    const int output = graph.outputs[k];
    if (slot_of[size_t(output)] < 0) continue;
    Tensor& slot = gradient_slots[size_t(slot_of[size_t(output)])];
    slot.resize(loss_gradients[k].shape());
    std::copy_n(loss_gradients[k].data(), slot.numel(), slot.data());
    contributions[size_t(output)] = 1;
  }
  for (size_t n = graph.nodes.size(); n-- > 0;) {
    // Every reader of the wanted tensor comes after its producer: its gradient is whole here.
    if (int(n) == stop) return;
    const GraphInfo::NodeInfo& node = graph.nodes[n];
    if (!needs[size_t(node.output)]) continue;
    Layer& layer = *node_layer[n];
    const int out = node.output;
    int output_index = -1;
    for (size_t k = 0; k < graph.outputs.size(); ++k)
      if (graph.outputs[k] == out) output_index = int(k);
    const bool from_loss = slot_of[size_t(out)] < 0;  // an output nothing else reads
    const ConstTensorView dy = from_loss ? ConstTensorView(loss_gradients[size_t(output_index)])
                                         : ConstTensorView(gradient_slots[size_t(slot_of[size_t(out)])]);
    const bool fused = from_loss && outputs.size() > size_t(output_index) && outputs[size_t(output_index)].fused;
    layer.set_parameter_gradients_needed(parameter_gradients && !frozen_layer[node.layer]);
    // Where each input's gradient goes: straight into its slot when it is the first to
    // arrive there, else into scratch, added after (a fan-out, or one tensor given twice).
    const size_t count = node.inputs.size();
    for (size_t j = 0; j < count; ++j) {
      const int in = node.inputs[j];
      node_targets[j] = nullptr;
      node_direct[j] = 0;
      if (!needs[size_t(in)]) continue;
      const bool first = contributions[size_t(in)]++ == 0;
      node_targets[j] = first ? &gradient_slots[size_t(slot_of[size_t(in)])] : &scratch[j];
      node_direct[j] = first;
    }
    if (count == 1) {
      layer.set_input_gradient_needed(node_targets[0] != nullptr);
      Tensor& dx = node_targets[0] != nullptr ? *node_targets[0] : scratch[0];
      if (fused) layer.backward_from_pre_activation(dy, dx);
      else layer.backward(dy, dx);
    } else {
      layer.backward_inputs(dy, std::span<Tensor* const>(node_targets.data(), count));
    }
    for (size_t j = 0; j < count; ++j) {
      if (node_targets[j] == nullptr || node_direct[j]) continue;
      Tensor& slot = gradient_slots[size_t(slot_of[size_t(node.inputs[j])])];
      const Tensor& extra = scratch[j];
      CITADEL_ASSERT(extra.shape() == slot.shape(), layer.name(), ": gradients of one tensor differ in shape");
      float* sum = slot.data();
      const float* add = extra.data();
      for (int64_t i = 0; i < slot.numel(); ++i) sum[i] += add[i];
    }
  }
  if (regularized && with_regularization) params.add_regularization_gradient();
}

int Model::State::layer_output_tensor(const std::string& layer, const char* caller) const {
  int tensor = -1, calls = 0;
  for (const GraphInfo::NodeInfo& node : graph.nodes)
    if (layers[node.layer]->name() == layer) tensor = node.output, ++calls;
  if (calls == 0) {
    std::string known;
    for (const auto& each : layers) known += (known.empty() ? "" : ", ") + each->name();
    throw ValueError(std::string(caller) + ": the model '" + name + "' has no layer '" + layer + "'; its layers are " +
                     known);
  }
  CITADEL_CHECK(calls == 1, NotImplementedError, caller, ": layer '", layer, "' is called ", calls,
                " times in the model '", name, "'; replacing the output of one layer called once is supported");
  const Layer& found = *layers[graph.nodes[size_t(graph.tensors[size_t(tensor)].producer)].layer];
  CITADEL_CHECK(found.output_count() == 1, NotImplementedError, caller, ": layer '", layer, "' gives ",
                found.output_count(), " outputs (return_state)");
  CITADEL_CHECK(slot_of[size_t(tensor)] >= 0, ValueError, caller, ": the output of layer '", layer,
                "' is a model output that no layer reads");
  return tensor;
}

ConstTensorView Model::State::input_gradient(int input) const {
  const int slot = slot_of[size_t(graph.inputs[size_t(input)])];
  CITADEL_ASSERT(slot >= 0, "the input gradient of an input no node reads");
  return gradient_slots[size_t(slot)];
}

namespace {

// An int32/int64 input (token ids) travels in float32: each value must be an integer that
// float32 holds exactly (|v| <= 2^24). Whether an id is in a layer's range is the layer's
// check (Embedding names the layer); this one names the input.
void check_integer_input(ConstTensorView x, const std::string& input, const std::string& dtype, const char* caller) {
  constexpr float kExact = 16777216.0f;  // 2^24
  for (int64_t i = 0; i < x.numel(); ++i) {
    const float v = x[i];
    if (std::isfinite(v) && v == std::floor(v) && std::fabs(v) <= kExact) continue;
    const int64_t per_row = x.numel() / x.shape(0);
    throw ValueError(std::string(caller) + ": input '" + input + "' is " + dtype + " (token ids) but holds " +
                     std::to_string(v) + " at row " + std::to_string(i / per_row) + ", index " +
                     std::to_string(i % per_row) + "; ids must be integers of magnitude at most 2^24 (16777216), "
                     "which float32 tensors carry exactly");
  }
}

}  // namespace

void Model::State::check_inputs(std::span<const ConstTensorView> x, const char* caller) const {
  CITADEL_CHECK(x.size() == graph.inputs.size(), ValueError, caller, ": the model '", name, "' takes ",
                graph.inputs.size(), " input", graph.inputs.size() == 1 ? "" : "s", ", got ", x.size());
  for (size_t i = 0; i < x.size(); ++i) {
    const Shape& shape = graph.tensors[size_t(graph.inputs[i])].shape;
    CITADEL_CHECK(x[i].rank() >= 2 && x[i].shape().without_batch() == shape, ShapeError, caller,
                  ": the model expects ", graph.inputs.size() == 1 ? "inputs " : "input '" + graph.tensors[size_t(graph.inputs[i])].name + "' ",
                  shape.batch_str(), ", got shape ", x[i].shape());
    CITADEL_CHECK(x[i].shape(0) == x[0].shape(0), ShapeError, caller, ": the inputs have ", x[0].shape(0), " and ",
                  x[i].shape(0), " rows; every input needs one row per example");
    const GraphInfo::TensorInfo& info = graph.tensors[size_t(graph.inputs[i])];
    if (info.dtype != "float32") check_integer_input(x[i], info.name, info.dtype, caller);
  }
}

void Model::State::check_targets(std::span<const ConstTensorView> y, int64_t rows) const {
  CITADEL_CHECK(y.size() == graph.outputs.size(), ValueError, "the model '", name, "' has ", graph.outputs.size(),
                " output", graph.outputs.size() == 1 ? "" : "s", " but ", y.size(), " targets were given");
  for (size_t k = 0; k < y.size(); ++k) {
    CITADEL_CHECK(y[k].rank() >= 1 && y[k].shape(0) == rows, ShapeError, "x has ", rows, " rows but the targets",
                  graph.outputs.size() == 1 ? "" : " of output '" + outputs[k].name + "'", " have ",
                  y[k].rank() >= 1 ? y[k].shape(0) : 0, " (shape ", y[k].shape(), ")");
    outputs[k].loss->check_targets(graph.tensors[size_t(graph.outputs[k])].shape.with_batch(rows), y[k]);
  }
}

void Model::State::refresh_batch_views() {
  batch_x_views.assign(batch_x.begin(), batch_x.end());
  batch_y_views.assign(batch_y.begin(), batch_y.end());
}

}  // namespace citadel
