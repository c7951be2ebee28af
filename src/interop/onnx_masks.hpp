// Keras's masks in an ONNX graph: each a float (N, T) value of 0 and 1 beside the sequence it
// marks, made where citadel's layers make one (an Embedding with mask_zero, Masking) and
// combined as its merge layers combine them (model/mask_flow, layers/merge_masks). The layers
// that read a mask (recurrent layers, GlobalAveragePooling1D, MultiHeadAttention) take it in
// their own exporters.
#pragma once

#include <string>
#include <vector>

#include "onnx_graph_builder.hpp"

namespace citadel::detail {

// Float 0/1 of a bool value.
std::string onnx_as_float(OnnxGraphBuilder& g, const std::string& flags, const std::string& hint);

// An Embedding's mask_zero: 1 where the id (float, as ids travel) is not 0.
std::string onnx_nonzero_mask(OnnxGraphBuilder& g, const std::string& ids, const std::string& name);

// Masking's mask of x (N, T, C): 1 where any feature differs from `mask_value`.
std::string onnx_masking_mask(OnnxGraphBuilder& g, const std::string& x, float mask_value, const std::string& name);

// Every step kept: ones shaped like x's first two axes (N, T).
std::string onnx_all_kept(OnnxGraphBuilder& g, const std::string& x, const std::string& name);

// A merge's mask from its inputs' (`masks[k]` empty: input k has none, every step kept):
// concatenated along the time axis, else kept where any input keeps the step.
std::string onnx_merged_mask(OnnxGraphBuilder& g, const std::vector<std::string>& masks,
                             const std::vector<std::string>& inputs, bool along_time, const std::string& name);

}  // namespace citadel::detail
