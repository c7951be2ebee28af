// Masks as ONNX values: comparisons give bools, cast to float 0/1 so that Max is OR and a
// product applies them.
#include "onnx_masks.hpp"

namespace citadel::detail {

std::string onnx_as_float(OnnxGraphBuilder& g, const std::string& flags, const std::string& hint) {
  onnx::NodeProto* cast = nullptr;
  const std::string y = g.apply("Cast", {flags}, hint, &cast);
  set_int(*cast, "to", onnx::TensorProto::FLOAT);
  return y;
}

std::string onnx_nonzero_mask(OnnxGraphBuilder& g, const std::string& ids, const std::string& name) {
  const std::string padding = g.apply("Equal", {ids, g.scalar("padding_id", 0.0f)}, name + "_padding");
  return onnx_as_float(g, g.apply("Not", {padding}, name + "_kept"), name + "_mask");
}

std::string onnx_masking_mask(OnnxGraphBuilder& g, const std::string& x, float mask_value, const std::string& name) {
  const std::string same = g.apply("Equal", {x, g.scalar(name + "_mask_value", mask_value)}, name + "_same");
  const std::string differs = onnx_as_float(g, g.apply("Not", {same}, name + "_differs"), name + "_differs");
  onnx::NodeProto* any = nullptr;
  const std::string mask = g.apply("ReduceMax", {differs}, name + "_mask", &any);  // axes an attribute to opset 17
  set_ints(*any, "axes", {-1});
  set_int(*any, "keepdims", 0);
  return mask;
}

std::string onnx_all_kept(OnnxGraphBuilder& g, const std::string& x, const std::string& name) {
  const std::string shape = g.apply("Shape", {x}, name + "_shape");
  const std::string steps =
      g.apply("Slice", {shape, g.int64s("batch_and_steps_begin", {0}), g.int64s("batch_and_steps_end", {2})}, name + "_steps_shape");
  onnx::NodeProto* ones = nullptr;
  const std::string kept = g.apply("ConstantOfShape", {steps}, name + "_all_kept", &ones);
  onnx::AttributeProto& value = *ones->add_attribute();
  value.set_name("value");
  value.set_type(onnx::AttributeProto::TENSOR);
  onnx::TensorProto& one = *value.mutable_t();
  one.set_data_type(onnx::TensorProto::FLOAT);
  one.add_dims(1);
  one.add_float_data(1.0f);
  return kept;
}

std::string onnx_merged_mask(OnnxGraphBuilder& g, const std::vector<std::string>& masks,
                             const std::vector<std::string>& inputs, bool along_time, const std::string& name) {
  std::vector<std::string> each;
  for (size_t k = 0; k < masks.size(); ++k) {
    if (!masks[k].empty())
      each.push_back(masks[k]);
    else if (along_time)
      each.push_back(onnx_all_kept(g, inputs[k], name));
    else
      return onnx_all_kept(g, inputs[k], name);  // OR with an input that keeps every step
  }
  if (each.size() == 1) return each[0];
  if (!along_time) return g.apply("Max", each, name + "_mask");
  onnx::NodeProto* concat = nullptr;
  const std::string joined = g.apply("Concat", each, name + "_mask", &concat);
  set_int(*concat, "axis", 1);
  return joined;
}

}  // namespace citadel::detail
