// Merge layers as ONNX nodes: Add, Sub, Mul, Mean, Max, Min for the element-wise merges,
// Concat for Concatenate, and for Dot a Mul and ReduceSum (two vectors) or a MatMul of the
// inputs laid out as (N, rows, depth) and (N, depth, columns), normalized first when asked.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "citadel/core/shape.hpp"
#include "onnx_graph_builder.hpp"

namespace citadel::detail {

// The nodes of one call of a merge layer `type` (its Keras config `config`) on `inputs`,
// shaped `shapes` (without the batch axis), giving `output_shape`. 4-D inputs are brought
// to one layout first (NCHW when any is in it). NotImplementedError naming the layer for a
// merge layer this does not cover.
OnnxFlow add_onnx_merge(OnnxGraphBuilder& g, const std::string& type, const nlohmann::json& config,
                        const std::string& name, std::vector<OnnxFlow> inputs, const std::vector<Shape>& shapes,
                        const Shape& output_shape);

}  // namespace citadel::detail
