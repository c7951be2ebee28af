// Symbolic tensors: what Input() returns and calling a layer on them gives (Keras's
// functional API). Each stands for the output of one node — an input, or a call of a layer
// on earlier symbolic tensors — and knows its shape; Model(inputs, outputs) walks back from
// the outputs to the inputs to make a graph model.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "citadel/core/shape.hpp"

namespace citadel {

class Layer;

namespace detail {
struct GraphNode;
}

class SymbolicTensor {
 public:
  SymbolicTensor() = default;
  // Its shape without the batch axis.
  const Shape& shape() const;
  // An input's name, or the name of the layer whose call made it (once a model named it:
  // before, the layer's own name or its type).
  std::string name() const;
  bool defined() const { return node_ != nullptr; }
  // The node behind it; shared by the tensors and models made from it (internal).
  const std::shared_ptr<const detail::GraphNode>& node() const { return node_; }
  explicit SymbolicTensor(std::shared_ptr<const detail::GraphNode> node) : node_(std::move(node)) {}

 private:
  std::shared_ptr<const detail::GraphNode> node_;
};

struct InputOptions {
  std::string name = "";          // by default input, input_1, ... in the model
  // "float32", or "int32"/"int64" for token ids: the values still travel in float32
  // tensors, checked to be integers of at most 2^24 where they enter (docs/DESIGN.md).
  std::string dtype = "float32";
};

// The dtypes an Input may declare: float32, int32, int64.
bool is_input_dtype(const std::string& dtype);

// A model input of `shape` (without the batch axis), as keras.Input(shape).
SymbolicTensor Input(const Shape& shape, const InputOptions& options = {});

namespace detail {

// One node of a symbolic graph. Nodes are immutable once made and refer only to earlier
// nodes, so the graph they form has no cycle and their serial numbers order it.
struct GraphNode {
  std::shared_ptr<Layer> layer;        // the layer called; null for an Input
  std::vector<SymbolicTensor> inputs;  // what it was called on
  Shape output_shape;                  // without the batch axis
  std::string input_name;              // an Input's name (may be empty)
  std::string input_dtype = "float32";  // an Input's dtype
  uint64_t serial = 0;                 // creation order
};

}  // namespace detail

}  // namespace citadel
