// MaskFlow: Keras's masks carried beside the tensors of a graph walk (Model's and
// Predictor's). Planned once per graph from the layers' mask rules; a graph where no layer
// makes a mask is inactive and its walks never call it.
#pragma once

#include <span>
#include <string>
#include <vector>

#include "citadel/core/tensor.hpp"
#include "citadel/layers/layer.hpp"
#include "citadel/model/model.hpp"

namespace citadel {

class MaskFlow {
 public:
  // Which tensors carry a mask and how each node makes its output's; node_layers[n] is
  // the layer node n runs (any copy of it: only its type and settings are read).
  void plan(const GraphInfo& graph, std::span<const Layer* const> node_layers);
  bool active() const { return active_; }

  // Before node n's forward: a layer that reads masks gets its input's (empty: none).
  void before(const GraphInfo::NodeInfo& node, size_t n, Layer& layer) const;
  // After node n's forward: its output's mask, from the nodes' values `views` (per tensor).
  void after(const GraphInfo::NodeInfo& node, size_t n, const Layer& layer, std::span<const ConstTensorView> views);
  // The current walk's mask of a tensor; empty when it has none.
  ConstTensorView mask(int tensor) const;
  bool masked(int tensor) const { return active_ && masked_[size_t(tensor)]; }

  // Where masks are lost (Model::mask_warnings): layers that drop a mask they are given,
  // outputs whose mask no loss applies. `layer_names` per node.
  const std::vector<std::string>& warnings() const { return warnings_; }

 private:
  bool active_ = false;
  std::vector<Layer::MaskRule> rule_;   // per node
  std::vector<char> masked_;            // per tensor
  std::vector<Tensor> masks_;           // per tensor: the masks nodes compute
  std::vector<ConstTensorView> views_;  // per tensor: its mask in the current walk
  mutable std::vector<ConstTensorView> node_inputs_, node_masks_;  // a node's, gathered (before() too)
  std::vector<std::string> warnings_;
};

}  // namespace citadel
