// Merge layers → ONNX: the element-wise ones as Add/Sub/Mul chains or the variadic
// Mean/Max/Min, Concatenate as Concat on the axis in the layout the data is in, Dot as
// Keras defines it (keras.layers.Dot: a batched dot product along the given axes).
#include "onnx_merge_layers.hpp"

#include "citadel/core/error.hpp"

namespace citadel::detail {

namespace {

using nlohmann::json;

// A chain of a binary operator over every input: ((a op b) op c) ...
std::string chain(OnnxGraphBuilder& g, const std::string& op, const std::vector<OnnxFlow>& inputs,
                  const std::string& name) {
  std::string value = inputs[0].tensor;
  for (size_t k = 1; k < inputs.size(); ++k) value = g.apply(op, {value, inputs[k].tensor}, name);
  return value;
}

std::string variadic(OnnxGraphBuilder& g, const std::string& op, const std::vector<OnnxFlow>& inputs,
                     const std::string& name) {
  std::vector<std::string> values;
  for (const OnnxFlow& input : inputs) values.push_back(input.tensor);
  return g.apply(op, values, name);
}

// x / sqrt(max(Σ x², 1e-12)) along `axis` (with the batch axis), as Keras's l2_normalize.
std::string l2_normalized(OnnxGraphBuilder& g, const std::string& x, int64_t axis, const std::string& name) {
  const std::string squares = g.apply("Mul", {x, x}, name + "_normalize");
  onnx::NodeProto* node = nullptr;
  const std::string sum = g.apply("ReduceSum", {squares, g.int64s("axis_" + std::to_string(axis), {axis})},
                                  name + "_normalize", &node);
  set_int(*node, "keepdims", 1);
  const std::string floor = g.apply("Max", {sum, g.scalar("l2_epsilon", 1e-12f)}, name + "_normalize");
  return g.apply("Div", {x, g.apply("Sqrt", {floor}, name + "_normalize")}, name + "_normalize");
}

OnnxFlow dot(OnnxGraphBuilder& g, const json& config, const std::string& name, const std::vector<OnnxFlow>& inputs,
             const std::vector<Shape>& shapes, const Shape& output_shape) {
  const std::string where = "onnx export: layer " + name + " (Dot)";
  CITADEL_CHECK(inputs.size() == 2 && config.contains("axes") && config["axes"].is_array() &&
                    config["axes"].size() == 2,
                InternalError, where, ": expected two inputs and two axes");
  // Once built, the layer writes each input's contracted axis counted with the batch axis.
  std::string operands[2];
  int64_t axes[2];
  for (int k = 0; k < 2; ++k) {
    axes[k] = config["axes"][size_t(k)].get<int64_t>();
    const int rank = shapes[size_t(k)].rank();
    CITADEL_CHECK((rank == 1 || rank == 2) && axes[k] >= 1 && axes[k] <= rank, NotImplementedError, where,
                  ": inputs of one or two axes besides the batch are exported, got ", shapes[size_t(k)]);
    operands[k] = inputs[size_t(k)].tensor;
    if (config.value("normalize", false)) operands[k] = l2_normalized(g, operands[k], axes[k], name);
  }
  if (shapes[0].rank() == 1 && shapes[1].rank() == 1) {  // two vectors: Σ a·b, (N, 1)
    const std::string product = g.apply("Mul", {operands[0], operands[1]}, name);
    onnx::NodeProto* node = nullptr;
    const std::string sum = g.apply("ReduceSum", {product, g.int64s("axis_1", {1})}, name, &node);
    set_int(*node, "keepdims", 1);
    return {sum, 2, false};
  }
  // The first as (N, rows, depth), the second as (N, depth, columns), then one MatMul.
  auto arranged = [&](int k, bool depth_last) {
    if (shapes[size_t(k)].rank() == 1)
      return g.apply("Unsqueeze", {operands[k], g.int64s(depth_last ? "axis_1" : "axis_2", {depth_last ? 1 : 2})},
                     name);
    const bool is_depth_last = axes[k] == 2;
    if (is_depth_last == depth_last) return operands[k];
    onnx::NodeProto* node = nullptr;
    const std::string turned = g.apply("Transpose", {operands[k]}, name, &node);
    set_ints(*node, "perm", {0, 2, 1});
    return turned;
  };
  const std::string product = g.apply("MatMul", {arranged(0, true), arranged(1, false)}, name);
  std::vector<int64_t> dims{0};  // 0: keep the batch
  for (const int64_t d : output_shape.dims()) dims.push_back(d);
  const std::string shaped = g.apply("Reshape", {product, g.int64s(name + "_shape", dims)}, name);
  return {shaped, output_shape.rank() + 1, false};
}

}  // namespace

OnnxFlow add_onnx_merge(OnnxGraphBuilder& g, const std::string& type, const json& config, const std::string& name,
                        std::vector<OnnxFlow> inputs, const std::vector<Shape>& shapes, const Shape& output_shape) {
  const std::string where = "onnx export: layer " + name + " (" + type + ")";
  CITADEL_CHECK(!inputs.empty(), InternalError, where, ": no input");
  if (type == "Dot") return dot(g, config, name, inputs, shapes, output_shape);
  // One layout for all: NCHW when any 4-D input is in it already.
  bool nchw = false;
  for (const OnnxFlow& input : inputs) nchw = nchw || (input.rank == 4 && input.nchw);
  for (OnnxFlow& input : inputs) nchw ? g.to_nchw(input) : g.to_nhwc(input);
  OnnxFlow out{"", inputs[0].rank, nchw && inputs[0].rank == 4};
  if (type == "Add") {
    out.tensor = chain(g, "Add", inputs, name);
  } else if (type == "Subtract") {
    out.tensor = chain(g, "Sub", inputs, name);
  } else if (type == "Multiply") {
    out.tensor = chain(g, "Mul", inputs, name);
  } else if (type == "Average") {
    out.tensor = variadic(g, "Mean", inputs, name);
  } else if (type == "Maximum") {
    out.tensor = variadic(g, "Max", inputs, name);
  } else if (type == "Minimum") {
    out.tensor = variadic(g, "Min", inputs, name);
  } else if (type == "Concatenate") {
    const int64_t rank = inputs[0].rank;
    int64_t axis = config.value("axis", int64_t{-1});
    if (axis < 0) axis += rank;
    // Keras counts NHWC axes; in NCHW the channels are axis 1 and the rows and columns 2, 3.
    if (out.nchw) axis = axis == 3 ? 1 : axis == 0 ? 0 : axis + 1;
    std::vector<std::string> values;
    for (const OnnxFlow& input : inputs) values.push_back(input.tensor);
    onnx::NodeProto* node = nullptr;
    out.tensor = g.apply("Concat", values, name, &node);
    set_int(*node, "axis", axis);
  } else {
    throw NotImplementedError(where + ": this layer has no ONNX export");
  }
  return out;
}

}  // namespace citadel::detail
