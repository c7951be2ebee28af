// Masks beside tensors: planned from the layers' rules (Keras's supports_masking and
// compute_mask), passed on as views (no copy) or computed by the layer, and the warnings
// for every place a mask is dropped.
#include "citadel/model/mask_flow.hpp"

#include <algorithm>
#include <memory>

namespace citadel {

namespace {

std::string describe(const Layer& layer) { return "'" + layer.name() + "' (" + layer.type() + ")"; }

}  // namespace

void MaskFlow::plan(const GraphInfo& graph, std::span<const Layer* const> node_layers) {
  const size_t tensors = graph.tensors.size(), nodes = graph.nodes.size();
  rule_.assign(nodes, Layer::MaskRule::kNone);
  masked_.assign(tensors, 0);
  warnings_.clear();
  active_ = false;
  size_t widest = 1;
  std::vector<bool> inputs_masked;
  for (size_t n = 0; n < nodes; ++n) {
    const GraphInfo::NodeInfo& node = graph.nodes[n];
    const Layer& layer = *node_layers[n];
    widest = std::max(widest, node.inputs.size());
    inputs_masked.assign(node.inputs.size(), false);
    std::string masked_from;
    for (size_t j = 0; j < node.inputs.size(); ++j) {
      inputs_masked[j] = masked_[size_t(node.inputs[j])] != 0;
      if (inputs_masked[j] && masked_from.empty()) {
        const int producer = graph.tensors[size_t(node.inputs[j])].producer;
        masked_from = describe(*node_layers[size_t(producer)]);
      }
    }
    const bool any_masked = !masked_from.empty();
    if (any_masked && !layer.supports_masking() && !layer.uses_mask())
      warnings_.push_back("layer " + describe(layer) + " does not support masking: it drops the mask that " +
                          masked_from + " gives its input, so the layers after it see every time step");
    // std::vector<bool> has no contiguous storage: the rule reads a plain array.
    std::unique_ptr<bool[]> flags(new bool[inputs_masked.size() + 1]);
    for (size_t j = 0; j < inputs_masked.size(); ++j) flags[j] = inputs_masked[j];
    rule_[n] = layer.output_mask_rule(std::span<const bool>(flags.get(), inputs_masked.size()));
    masked_[size_t(node.output)] = rule_[n] != Layer::MaskRule::kNone;
    active_ = active_ || any_masked || masked_[size_t(node.output)];
  }
  for (const int output : graph.outputs)
    if (masked_[size_t(output)])
      warnings_.push_back("output " + describe(*node_layers[size_t(graph.tensors[size_t(output)].producer)]) +
                          " carries a mask, which the losses and metrics do not apply yet (Keras weights them by "
                          "it): every time step counts");
  masks_.assign(active_ ? tensors : 0, Tensor());
  views_.assign(active_ ? tensors : 0, ConstTensorView());
  node_inputs_.assign(widest, ConstTensorView());
  node_masks_.assign(widest, ConstTensorView());
}

void MaskFlow::before(const GraphInfo::NodeInfo& node, size_t, Layer& layer) const {
  if (!layer.uses_mask()) return;
  if (node.inputs.size() == 1) {
    layer.set_input_mask(views_.empty() ? ConstTensorView() : views_[size_t(node.inputs[0])]);
    return;
  }
  for (size_t j = 0; j < node.inputs.size(); ++j)
    node_masks_[j] = views_.empty() ? ConstTensorView() : views_[size_t(node.inputs[j])];
  layer.set_input_masks(std::span<const ConstTensorView>(node_masks_.data(), node.inputs.size()));
}

void MaskFlow::after(const GraphInfo::NodeInfo& node, size_t n, const Layer& layer,
                     std::span<const ConstTensorView> views) {
  const size_t out = size_t(node.output);
  switch (rule_[n]) {
    case Layer::MaskRule::kNone:
      views_[out] = ConstTensorView();
      return;
    case Layer::MaskRule::kSameAsInput:
      for (const int input : node.inputs)
        if (masked_[size_t(input)]) views_[out] = views_[size_t(input)];
      return;
    case Layer::MaskRule::kComputed: {
      const size_t count = node.inputs.size();
      for (size_t j = 0; j < count; ++j) {
        node_inputs_[j] = views[size_t(node.inputs[j])];
        node_masks_[j] = views_[size_t(node.inputs[j])];
      }
      layer.compute_mask(std::span<const ConstTensorView>(node_inputs_.data(), count),
                         std::span<const ConstTensorView>(node_masks_.data(), count), masks_[out]);
      views_[out] = masks_[out];
      return;
    }
  }
}

ConstTensorView MaskFlow::mask(int tensor) const {
  return active_ ? views_[size_t(tensor)] : ConstTensorView();
}

}  // namespace citadel
