// Recurrent layers as ONNX's LSTM, GRU and RNN nodes: one layer as a forward or reverse node,
// Bidirectional as one bidirectional node whose two directions are merged as Keras merges
// them, initial states as the node's initial_h / initial_c, return_state's states from its
// Y_h / Y_c. A masked sequence's kept steps are gathered to the front of each row and run
// with sequence_lens (which covers right padding only), the outputs put back at their
// steps, a masked step carrying the state before it, as Keras's masks do.
#pragma once

#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "citadel/core/shape.hpp"
#include "onnx_graph_builder.hpp"

namespace citadel::detail {

// A parameter's values by its full name ("lstm/kernel"); nullopt when the model has none
// (a layer without bias).
using OnnxParameterReader = std::function<std::optional<std::vector<float>>(const std::string&)>;

struct OnnxRecurrentCall {
  std::string type;             // LSTM, GRU, SimpleRNN or Bidirectional
  const nlohmann::json* config;  // the layer's Keras config
  std::string name;             // the layer's name (its parameters' prefix)
  Shape input_shape;            // (steps, features)
  OnnxFlow sequence;            // (N, steps, features)
  std::vector<OnnxFlow> initial_states;  // as the call got them: [h, c] or Bidirectional's [forward…, backward…]
  std::string mask;             // the sequence's Keras mask, float (N, steps) of 0 and 1; "" for none
};

// The layer's outputs as it gives them: its output, then with return_state its final states
// (Bidirectional: the forward copy's, then the backward copy's). NotImplementedError naming
// the layer for what ONNX's nodes cannot compute as Keras does.
std::vector<OnnxFlow> add_onnx_recurrent(OnnxGraphBuilder& g, const OnnxRecurrentCall& call,
                                         const OnnxParameterReader& parameter);

}  // namespace citadel::detail
