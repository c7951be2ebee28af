// The order of a Keras Functional model's layers (model.layers), which is the order Keras 3
// numbers their weight groups in (layers/dense, layers/dense_1, ...) and Keras 2 lists them
// in: Keras's map_graph, computed over the model's calls without recursion.
#pragma once

#include <cstddef>
#include <vector>

namespace citadel::detail {

// A Functional model's graph as Keras sees it: operations (InputLayers, layers and nested
// models alike) and their calls ("nodes"), each call reading the outputs of earlier calls.
struct KerasCallGraph {
  struct Call {
    size_t operation = 0;
    std::vector<size_t> inputs;  // the calls whose outputs it reads, in argument order
  };
  size_t operations = 0;
  std::vector<Call> calls;     // an InputLayer is one call with no inputs
  std::vector<size_t> outputs;  // the calls giving the model's outputs, in its order
};

// The operations in Keras's order: by depth from the outputs, deepest (the inputs) first,
// and within one depth in the order a depth-first walk from the outputs first meets them.
// Operations no output depends on are left out. InternalError on a cycle (the callers'
// graphs were checked for cycles already).
std::vector<size_t> keras_operation_order(const KerasCallGraph& graph);

}  // namespace citadel::detail
