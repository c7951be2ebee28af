// Sequence layers other than the recurrent ones as ONNX nodes: LayerNormalization (ONNX's
// LayerNormalization from opset 17, its ReduceMean/Sub/Mul/Sqrt/Div decomposition before),
// Conv1D and the 1-D poolings (ONNX's Conv/MaxPool/AveragePool on (N, C, T) between two
// Transposes, Keras's padding as explicit pads), the global 1-D poolings (ReduceMax /
// ReduceMean over the steps) and MultiHeadAttention (MatMuls, per-head Reshape/Transpose,
// Softmax, a constant additive causal mask). GlobalAveragePooling1D averages the kept steps
// of a masked sequence; MultiHeadAttention's query, value and key masks (and the causal one)
// make the disallowed scores −1e9 before its Softmax; the others ignore masks, as citadel's do.
#pragma once

#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "citadel/core/shape.hpp"
#include "onnx_graph_builder.hpp"
#include "onnx_recurrent_layers.hpp"

namespace citadel::detail {

// Whether a layer of Keras class `type` is exported by add_onnx_sequence.
bool is_onnx_sequence_layer(const std::string& type);

struct OnnxSequenceCall {
  std::string type;              // the layer's Keras class
  const nlohmann::json* config;  // its Keras config
  std::string name;              // the layer's name (its parameters' prefix)
  std::vector<Shape> input_shapes;  // without the batch axis
  std::vector<OnnxFlow> inputs;     // as the call got them (MultiHeadAttention: query, value[, key])
  Shape output_shape;
  int opset = 13;
  // The activation `name` applied to the value x (N, T, C), its softmax over the last axis.
  std::function<std::string(const std::string& name, const std::string& x)> activation;
  std::vector<std::string> masks;  // per input: its Keras mask, float (N, T) of 0 and 1; "" for none
};

// The layer's output. NotImplementedError naming the layer for what is not exported.
OnnxFlow add_onnx_sequence(OnnxGraphBuilder& g, const OnnxSequenceCall& call, const OnnxParameterReader& parameter);

}  // namespace citadel::detail
