// Growing an ONNX graph: fresh names, shared initializers, and layouts transposed once.
#include "onnx_graph_builder.hpp"

namespace citadel::detail {

std::string OnnxGraphBuilder::fresh(const std::string& hint) {
  std::string name;
  do {
    name = hint + "_" + std::to_string(counter_++);
  } while (used_.count(name));
  used_.insert(name);
  return name;
}

onnx::NodeProto& OnnxGraphBuilder::node(const std::string& op, const std::vector<std::string>& inputs,
                                        const std::string& output) {
  onnx::NodeProto& node = *graph_.add_node();
  node.set_op_type(op);
  node.set_name(output);
  for (const std::string& input : inputs) node.add_input(input);
  node.add_output(output);
  used_.insert(output);
  return node;
}

std::string OnnxGraphBuilder::apply(const std::string& op, const std::vector<std::string>& inputs,
                                    const std::string& hint, onnx::NodeProto** made) {
  const std::string output = fresh(hint);
  onnx::NodeProto& n = node(op, inputs, output);
  if (made) *made = &n;
  return output;
}

std::string OnnxGraphBuilder::floats(const std::string& key, const std::vector<int64_t>& dims,
                                     const std::function<std::vector<float>()>& values) {
  const auto found = initializers_.find(key);
  if (found != initializers_.end()) return found->second;
  const std::vector<float> data = values();
  const std::string name = fresh(key);
  onnx::TensorProto& tensor = *graph_.add_initializer();
  tensor.set_name(name);
  tensor.set_data_type(onnx::TensorProto::FLOAT);
  for (int64_t d : dims) tensor.add_dims(d);
  tensor.set_raw_data(std::string(reinterpret_cast<const char*>(data.data()), data.size() * sizeof(float)));
  initializers_[key] = name;
  return name;
}

std::string OnnxGraphBuilder::floats(const std::string& key, const std::vector<int64_t>& dims,
                                     const std::vector<float>& values) {
  return floats(key, dims, [&] { return values; });
}

std::string OnnxGraphBuilder::int64s(const std::string& key, const std::vector<int64_t>& values) {
  const auto found = initializers_.find(key);
  if (found != initializers_.end()) return found->second;
  const std::string name = fresh(key);
  onnx::TensorProto& tensor = *graph_.add_initializer();
  tensor.set_name(name);
  tensor.set_data_type(onnx::TensorProto::INT64);
  tensor.add_dims(static_cast<int64_t>(values.size()));
  for (int64_t v : values) tensor.add_int64_data(v);
  initializers_[key] = name;
  return name;
}

std::string OnnxGraphBuilder::transposed(const std::string& value, const std::vector<int64_t>& perm,
                                         const std::string& hint) {
  const auto found = twins_.find(value);
  if (found != twins_.end()) return found->second;
  onnx::NodeProto* node = nullptr;
  const std::string output = apply("Transpose", {value}, hint, &node);
  set_ints(*node, "perm", perm);
  twins_[value] = output;
  twins_[output] = value;
  return output;
}

void OnnxGraphBuilder::to_nchw(OnnxFlow& flow) {
  if (flow.rank != 4 || flow.nchw) return;
  flow.tensor = transposed(flow.tensor, {0, 3, 1, 2}, "to_nchw");
  flow.nchw = true;
}

void OnnxGraphBuilder::to_nhwc(OnnxFlow& flow) {
  if (flow.rank != 4 || !flow.nchw) return;
  flow.tensor = transposed(flow.tensor, {0, 2, 3, 1}, "to_nhwc");
  flow.nchw = false;
}

void set_ints(onnx::NodeProto& node, const char* name, const std::vector<int64_t>& values) {
  onnx::AttributeProto& attribute = *node.add_attribute();
  attribute.set_name(name);
  attribute.set_type(onnx::AttributeProto::INTS);
  for (int64_t v : values) attribute.add_ints(v);
}

void set_int(onnx::NodeProto& node, const char* name, int64_t value) {
  onnx::AttributeProto& attribute = *node.add_attribute();
  attribute.set_name(name);
  attribute.set_type(onnx::AttributeProto::INT);
  attribute.set_i(value);
}

void set_float(onnx::NodeProto& node, const char* name, float value) {
  onnx::AttributeProto& attribute = *node.add_attribute();
  attribute.set_name(name);
  attribute.set_type(onnx::AttributeProto::FLOAT);
  attribute.set_f(value);
}

}  // namespace citadel::detail
