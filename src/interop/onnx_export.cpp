// citadel models → ONNX graphs: one node (or a few) per layer call, in the model's
// topological order, read from the layer's own config (model_to_config) and its parameters,
// tracking whether 4-D data is in Keras's NHWC or ONNX's NCHW so that transposes are added
// only where the layout must change.
#include "citadel/interop/onnx_export.hpp"

#include <onnx/checker.h>
#include <onnx/onnx_pb.h>

#include <cmath>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <span>

#include "citadel/core/atomic_file.hpp"
#include "citadel/core/error.hpp"
#include "citadel/layers/merge.hpp"
#include "citadel/layers/output_part.hpp"
#include "citadel/model/model_config.hpp"
#include "citadel/layers/activations.hpp"
#include "citadel/version.hpp"
#include "onnx_graph_builder.hpp"
#include "onnx_masks.hpp"
#include "onnx_merge_layers.hpp"
#include "onnx_recurrent_layers.hpp"
#include "onnx_sequence_layers.hpp"

namespace citadel {

using nlohmann::json;
using detail::set_float;
using detail::set_int;
using detail::set_ints;

namespace {

// Keras's padding: "same" pads (total / 2) before and the rest after, per axis.
std::vector<int64_t> explicit_pads(const std::string& padding, const Shape& input, std::array<int64_t, 2> kernel,
                                   std::array<int64_t, 2> strides, std::array<int64_t, 2> dilation) {
  if (padding != "same") return {0, 0, 0, 0};
  int64_t begin[2], end[2];
  for (int axis = 0; axis < 2; ++axis) {
    const int64_t in = input[axis], out = (in + strides[axis] - 1) / strides[axis];
    const int64_t total = std::max<int64_t>((out - 1) * strides[axis] + (kernel[axis] - 1) * dilation[axis] + 1 - in, 0);
    begin[axis] = total / 2;
    end[axis] = total - total / 2;
  }
  return {begin[0], begin[1], end[0], end[1]};
}

std::array<int64_t, 2> pair_of(const json& value) { return {value.at(0).get<int64_t>(), value.at(1).get<int64_t>()}; }

bool is_recurrent(const std::string& type) {
  return type == "LSTM" || type == "GRU" || type == "SimpleRNN" || type == "Bidirectional";
}

using Flow = detail::OnnxFlow;

class Exporter {
 public:
  Exporter(Model& model, onnx::GraphProto& graph, std::string preprocessing, int opset)
      : model_(model), graph_(graph), g_(graph), preprocessing_(std::move(preprocessing)), opset_(opset) {}

  // The graph's nodes in the model's topological order; a tensor read by several nodes is
  // one ONNX value read by each. A Sequential chain takes `input` and gives `output` (as
  // before graphs); a graph's inputs and outputs keep the model's names.
  void run() {
    const json config = json::parse(model_to_config(model_));
    for (const json& entry : config["config"]["layers"]) {
      const std::string name = entry.contains("name") ? entry["name"].get<std::string>()
                                                      : entry["config"].value("name", std::string());
      layer_configs_[name] = &entry;
    }
    const GraphInfo& graph = model_.graph();
    const bool chain = model_.is_sequential();
    const std::vector<std::string> input_names = chain ? std::vector<std::string>{"input"} : model_.input_names();
    const std::vector<std::string> output_names = chain ? std::vector<std::string>{"output"} : model_.output_names();
    for (const std::string& name : input_names) g_.reserve(name);
    for (const std::string& name : output_names) g_.reserve(name);
    std::vector<Flow> flows(graph.tensors.size());
    for (size_t i = 0; i < graph.inputs.size(); ++i) {
      const GraphInfo::TensorInfo& tensor = graph.tensors[size_t(graph.inputs[i])];
      add_value_info(*graph_.add_input(), input_names[i], tensor.shape);
      flows[size_t(graph.inputs[i])] = Flow{input_names[i], tensor.shape.rank() + 1, false};
    }
    if (!preprocessing_.empty()) {
      CITADEL_CHECK(graph.inputs.size() == 1, NotImplementedError, "onnx export: the saved preprocessing goes in "
                    "front of one input, and model '", model_.name(), "' has ", graph.inputs.size(),
                    "; export it without the preprocessing (--no-preprocessing)");
      Flow& input = flows[size_t(graph.inputs[0])];
      input.tensor = add_preprocessing(input.tensor);
    }
    masks_.assign(graph.tensors.size(), std::string());
    for (const GraphInfo::NodeInfo& node : graph.nodes) {
      const Layer& layer = model_.layer(node.layer);
      flows[size_t(node.output)] = add_node(node, layer, flows);
      masks_[size_t(node.output)] = output_mask(node, layer, flows);
    }
    for (size_t k = 0; k < graph.outputs.size(); ++k) {
      Flow flow = flows[size_t(graph.outputs[k])];
      g_.to_nhwc(flow);
      g_.node("Identity", {flow.tensor}, output_names[k]);
      add_value_info(*graph_.add_output(), output_names[k], graph.tensors[size_t(graph.outputs[k])].shape);
    }
  }

  // One node's output: a part of return_state's outputs, a recurrent or other sequence layer
  // (masks given), a one-input layer or a merge.
  Flow add_node(const GraphInfo::NodeInfo& node, const Layer& layer, const std::vector<Flow>& flows) {
    const GraphInfo& graph = model_.graph();
    if (const auto* part = dynamic_cast<const OutputPart*>(&layer))  // one of return_state's outputs
      return parts_.at(node.inputs[0]).at(size_t(part->index()));
    const json& entry = *layer_configs_.at(layer.name());
    const std::string type = entry["class_name"].get<std::string>();
    const std::string where = "onnx export: layer " + layer.name() + " (" + type + ")";
    const auto parameter = [&](const std::string& name) {
      return has_parameter(name) ? std::optional(values(name)) : std::nullopt;
    };
    if (is_recurrent(type)) {
      detail::OnnxRecurrentCall call{type, &entry["config"], layer.name(), graph.tensors[size_t(node.inputs[0])].shape,
                                     flows[size_t(node.inputs[0])], {}, masks_[size_t(node.inputs[0])]};
      for (size_t k = 1; k < node.inputs.size(); ++k) call.initial_states.push_back(flows[size_t(node.inputs[k])]);
      std::vector<Flow> parts = detail::add_onnx_recurrent(g_, call, parameter);
      const Flow output = parts[0];
      if (parts.size() > 1) parts_[node.output] = std::move(parts);  // read by the OutputPart nodes
      return output;
    }
    if (detail::is_onnx_sequence_layer(type)) {
      detail::OnnxSequenceCall call{type, &entry["config"], layer.name(), {}, {}, graph.tensors[size_t(node.output)].shape,
                                    opset_, nullptr, {}};
      for (const int input : node.inputs) {
        call.input_shapes.push_back(graph.tensors[size_t(input)].shape);
        call.inputs.push_back(flows[size_t(input)]);
        call.masks.push_back(masks_[size_t(input)]);
      }
      call.activation = [&](const std::string& name, const std::string& x) {
        return activation(name, x, Flow{x, 3, false}, where);
      };
      return detail::add_onnx_sequence(g_, call, parameter);
    }
    CITADEL_CHECK(layer.input_count() != 1 || node.inputs.size() == 1, NotImplementedError, "onnx export: layer ",
                  layer.name(), " (", layer.type(), ") is called with ", node.inputs.size(),
                  " inputs, which are not exported");
    Flow output;
    if (type == "TimeDistributed") {
      output = time_distributed(entry["config"], layer.name(), graph.tensors[size_t(node.inputs[0])].shape,
                                graph.tensors[size_t(node.output)].shape, flows[size_t(node.inputs[0])]);
    } else if (layer.input_count() == 1) {
      output = add_layer(type, entry["config"], layer.name(), graph.tensors[size_t(node.inputs[0])].shape,
                         flows[size_t(node.inputs[0])]);
    } else {
      std::vector<Flow> inputs;
      std::vector<Shape> shapes;
      for (const int input : node.inputs) {
        inputs.push_back(flows[size_t(input)]);
        shapes.push_back(graph.tensors[size_t(input)].shape);
      }
      output = detail::add_onnx_merge(g_, type, entry["config"], layer.name(), inputs, shapes,
                                      graph.tensors[size_t(node.output)].shape);
    }
    output.rank = graph.tensors[size_t(node.output)].shape.rank() + 1;
    return output;
  }

  // TimeDistributed: the steps folded into the batch (N·T, ...), the wrapped layer's nodes
  // (its parameters under "<name>/<wrapped name>/"), the steps unfolded (N, T, ...).
  Flow time_distributed(const json& config, const std::string& name, const Shape& input_shape,
                        const Shape& output_shape, Flow flow) {
    const json& wrapped = config.at("layer");
    const std::string type = wrapped.at("class_name").get<std::string>();
    const json& inner = wrapped.at("config");
    const int64_t steps = input_shape[0];
    std::vector<int64_t> folded{-1};
    for (int d = 1; d < input_shape.rank(); ++d) folded.push_back(input_shape[d]);
    to_nhwc(flow);
    Flow rows{g_.apply("Reshape", {flow.tensor, g_.int64s(name + "_folded", folded)}, name + "_folded"),
              int(input_shape.rank()), false};
    Flow y = add_layer(type, inner, name + "/" + inner.at("name").get<std::string>(),
                       Shape(std::vector<int64_t>(folded.begin() + 1, folded.end())), rows);
    to_nhwc(y);
    std::vector<int64_t> unfolded{-1, steps};
    for (int d = 1; d < output_shape.rank(); ++d) unfolded.push_back(output_shape[d]);
    return {g_.apply("Reshape", {y.tensor, g_.int64s(name + "_unfolded", unfolded)}, name), int(output_shape.rank()) + 1,
            false};
  }

  // The node's output mask as citadel's MaskFlow plans it: none, its masked input's, or one
  // the layer computes (an Embedding with mask_zero, Masking, a merge, MultiHeadAttention's
  // query mask). "" for none.
  std::string output_mask(const GraphInfo::NodeInfo& node, const Layer& layer, const std::vector<Flow>& flows) {
    std::unique_ptr<bool[]> masked(new bool[node.inputs.size() + 1]);  // std::vector<bool> has no span
    for (size_t k = 0; k < node.inputs.size(); ++k) masked[k] = !masks_[size_t(node.inputs[k])].empty();
    switch (layer.output_mask_rule(std::span<const bool>(masked.get(), node.inputs.size()))) {
      case Layer::MaskRule::kNone:
        return "";
      case Layer::MaskRule::kSameAsInput:
        for (const int input : node.inputs)
          if (!masks_[size_t(input)].empty()) return masks_[size_t(input)];
        return "";
      case Layer::MaskRule::kComputed:
        break;
    }
    const std::string& type = layer.type();
    const std::string& input = flows[size_t(node.inputs[0])].tensor;
    if (type == "Embedding") return detail::onnx_nonzero_mask(g_, input, layer.name());
    if (type == "Masking") return masking_masks_.at(flows[size_t(node.output)].tensor);
    if (type == "MultiHeadAttention") return masks_[size_t(node.inputs[0])];  // the query's
    if (dynamic_cast<const ElementwiseMerge*>(&layer)) return merged_mask(node, flows, false, layer.name());
    if (dynamic_cast<const Concatenate*>(&layer)) {
      const json& config = (*layer_configs_.at(layer.name()))["config"];
      const int rank = int(model_.graph().tensors[size_t(node.output)].shape.rank()) + 1;
      int axis = config.value("axis", -1);
      if (axis < 0) axis += rank;
      return merged_mask(node, flows, axis == 1, layer.name());
    }
    throw NotImplementedError("onnx export: layer " + layer.name() + " (" + type + ") computes a mask that is not exported");
  }

  std::string merged_mask(const GraphInfo::NodeInfo& node, const std::vector<Flow>& flows, bool along_time,
                          const std::string& name) {
    std::vector<std::string> masks, inputs;
    for (const int input : node.inputs) {
      masks.push_back(masks_[size_t(input)]);
      inputs.push_back(flows[size_t(input)].tensor);
    }
    return detail::onnx_merged_mask(g_, masks, inputs, along_time, name);
  }

 private:
  void add_value_info(onnx::ValueInfoProto& info, const std::string& name, const Shape& shape) {
    info.set_name(name);
    onnx::TypeProto_Tensor& tensor = *info.mutable_type()->mutable_tensor_type();
    tensor.set_elem_type(onnx::TensorProto::FLOAT);
    tensor.mutable_shape()->add_dim()->set_dim_param("N");
    for (int64_t d : shape.dims()) tensor.mutable_shape()->add_dim()->set_dim_value(d);
  }

  std::vector<float> values(const std::string& parameter) {
    const ParameterStore& store = model_.parameters();
    for (size_t i = 0; i < store.parameters().size(); ++i)
      if (store.parameters()[i].name == parameter) {
        ConstTensorView v = store.value(static_cast<int>(i));
        return std::vector<float>(v.data(), v.data() + v.numel());
      }
    throw InternalError("onnx export: no parameter " + parameter);
  }
  bool has_parameter(const std::string& parameter) {
    for (const ParameterInfo& info : model_.parameters().parameters())
      if (info.name == parameter) return true;
    return false;
  }
  // A parameter as an initializer, made once however many calls of its layer read it.
  std::string weight(const std::string& parameter, const std::vector<int64_t>& dims) {
    std::string key = parameter;
    key[key.rfind('/')] = '_';  // "dense/kernel" → the initializer "dense_kernel_<n>"
    return g_.floats(key, dims, [&] { return values(parameter); });
  }

  void to_nchw(Flow& flow) { g_.to_nchw(flow); }
  void to_nhwc(Flow& flow) { g_.to_nhwc(flow); }

  std::string activation(const std::string& name, const std::string& x, const Flow& flow, const std::string& where) {
    const ops::ActivationKind kind = activation_from_name(name);
    onnx::NodeProto* node = nullptr;
    switch (kind) {
      case ops::ActivationKind::kLinear: return x;
      case ops::ActivationKind::kRelu: return g_.apply("Relu", {x}, "relu");
      case ops::ActivationKind::kSigmoid: return g_.apply("Sigmoid", {x}, "sigmoid");
      case ops::ActivationKind::kTanh: return g_.apply("Tanh", {x}, "tanh");
      case ops::ActivationKind::kSoftplus: return g_.apply("Softplus", {x}, "softplus");
      case ops::ActivationKind::kSoftmax: {
        const std::string y = g_.apply("Softmax", {x}, "softmax", &node);
        set_int(*node, "axis", flow.rank == 4 && flow.nchw ? 1 : -1);  // over the channels
        return y;
      }
      case ops::ActivationKind::kLeakyRelu: {
        const std::string y = g_.apply("LeakyRelu", {x}, "leaky_relu", &node);
        set_float(*node, "alpha", ops::kLeakyReluSlope);
        return y;
      }
      case ops::ActivationKind::kElu: {
        const std::string y = g_.apply("Elu", {x}, "elu", &node);
        set_float(*node, "alpha", ops::kEluAlpha);
        return y;
      }
      case ops::ActivationKind::kSelu: {
        const std::string y = g_.apply("Selu", {x}, "selu", &node);
        set_float(*node, "alpha", ops::kSeluAlpha);
        set_float(*node, "gamma", ops::kSeluScale);
        return y;
      }
      case ops::ActivationKind::kGelu: {  // x·Φ(x) = x · (1 + erf(x/√2)) / 2, exactly (Keras's default)
        const std::string scaled = g_.apply("Mul", {x, g_.scalar("inv_sqrt2", static_cast<float>(M_SQRT1_2))}, "gelu");
        const std::string erf = g_.apply("Erf", {scaled}, "gelu");
        const std::string plus = g_.apply("Add", {erf, g_.scalar("one", 1.0f)}, "gelu");
        const std::string product = g_.apply("Mul", {x, plus}, "gelu");
        return g_.apply("Mul", {product, g_.scalar("half", 0.5f)}, "gelu");
      }
      case ops::ActivationKind::kSwish: {
        const std::string s = g_.apply("Sigmoid", {x}, "swish");
        return g_.apply("Mul", {x, s}, "swish");
      }
    }
    throw NotImplementedError(where + ": activation '" + name + "' has no ONNX form here");
  }

  Flow add_layer(const std::string& type, const json& config, const std::string& name, const Shape& input_shape,
                 Flow flow) {
    const std::string where = "onnx export: layer " + name + " (" + type + ")";
    if (type == "Dense") {
      CITADEL_CHECK(flow.rank == 2, NotImplementedError, where, ": Dense on ", flow.rank - 1,
                    "-D inputs is not exported; flatten first");
      const int64_t units = config["units"].get<int64_t>(), inputs = input_shape[0];
      std::vector<std::string> inputs_of{flow.tensor, weight(name + "/kernel", {inputs, units})};
      if (has_parameter(name + "/bias")) inputs_of.push_back(weight(name + "/bias", {units}));
      flow.tensor = activation(config["activation"], g_.apply("Gemm", inputs_of, name), flow, where);
      return flow;
    }
    if (type == "Conv2D") {
      to_nchw(flow);
      const int64_t filters = config["filters"].get<int64_t>(), channels = input_shape[2];
      const auto kernel = pair_of(config["kernel_size"]), strides = pair_of(config["strides"]),
                 dilation = pair_of(config["dilation_rate"]);
      // citadel's kernel is Keras's (KH, KW, C, F); ONNX wants (F, C, KH, KW).
      const auto oihw = [&] {
        const std::vector<float> hwio = values(name + "/kernel");
        std::vector<float> transposed(hwio.size());
        for (int64_t y = 0; y < kernel[0]; ++y)
          for (int64_t x = 0; x < kernel[1]; ++x)
            for (int64_t c = 0; c < channels; ++c)
              for (int64_t f = 0; f < filters; ++f)
                transposed[((f * channels + c) * kernel[0] + y) * kernel[1] + x] =
                    hwio[((y * kernel[1] + x) * channels + c) * filters + f];
        return transposed;
      };
      std::vector<std::string> inputs_of{flow.tensor,
                                         g_.floats(name + "_kernel", {filters, channels, kernel[0], kernel[1]}, oihw)};
      if (has_parameter(name + "/bias")) inputs_of.push_back(weight(name + "/bias", {filters}));
      onnx::NodeProto* node;
      const std::string y = g_.apply("Conv", inputs_of, name, &node);
      set_ints(*node, "kernel_shape", {kernel[0], kernel[1]});
      set_ints(*node, "strides", {strides[0], strides[1]});
      set_ints(*node, "dilations", {dilation[0], dilation[1]});
      set_ints(*node, "pads", explicit_pads(config["padding"], input_shape, kernel, strides, dilation));
      flow.tensor = activation(config["activation"], y, flow, where);
      return flow;
    }
    if (type == "MaxPooling2D" || type == "AveragePooling2D") {
      to_nchw(flow);
      const auto pool = pair_of(config["pool_size"]), strides = pair_of(config["strides"]);
      onnx::NodeProto* node;
      flow.tensor = g_.apply(type == "MaxPooling2D" ? "MaxPool" : "AveragePool", {flow.tensor}, name, &node);
      set_ints(*node, "kernel_shape", {pool[0], pool[1]});
      set_ints(*node, "strides", {strides[0], strides[1]});
      set_ints(*node, "pads", explicit_pads(config["padding"], input_shape, pool, strides, {1, 1}));
      // AveragePool's count_include_pad stays 0: Keras averages over the real pixels only.
      return flow;
    }
    if (type == "GlobalAveragePooling2D" || type == "GlobalMaxPooling2D") {
      to_nchw(flow);
      const std::string pooled =
          g_.apply(type == "GlobalAveragePooling2D" ? "GlobalAveragePool" : "GlobalMaxPool", {flow.tensor}, name);
      flow.tensor = g_.apply("Flatten", {pooled}, name + "_flatten");  // (N, C, 1, 1) → (N, C)
      flow.nchw = false;
      return flow;
    }
    if (type == "BatchNormalization") {
      CITADEL_CHECK(flow.rank == 2 || flow.rank == 4, NotImplementedError, where, ": inputs of rank ", flow.rank,
                    " are not exported (ONNX normalizes axis 1)");
      to_nchw(flow);
      const int64_t channels = input_shape[input_shape.rank() - 1];
      const auto or_fill = [&](const std::string& parameter, float fill) {
        return has_parameter(parameter) ? values(parameter) : std::vector<float>(static_cast<size_t>(channels), fill);
      };
      onnx::NodeProto* node;
      flow.tensor = g_.apply("BatchNormalization",
                             {flow.tensor, g_.floats(name + "_gamma", {channels}, [&] { return or_fill(name + "/gamma", 1.0f); }),
                              g_.floats(name + "_beta", {channels}, [&] { return or_fill(name + "/beta", 0.0f); }),
                              weight(name + "/moving_mean", {channels}), weight(name + "/moving_variance", {channels})},
                             name, &node);
      set_float(*node, "epsilon", config["epsilon"].get<float>());  // Keras's 1e-3, not ONNX's 1e-5
      return flow;
    }
    if (type == "Dropout") return flow;  // inference: the identity
    if (type == "Activation") {
      flow.tensor = activation(config["activation"], flow.tensor, flow, where);
      return flow;
    }
    if (type == "Flatten") {
      to_nhwc(flow);  // Keras flattens (H, W, C) row-major
      onnx::NodeProto* node;
      flow.tensor = g_.apply("Flatten", {flow.tensor}, name, &node);
      set_int(*node, "axis", 1);
      return flow;
    }
    if (type == "Reshape") {
      to_nhwc(flow);
      std::vector<int64_t> shape{0};  // 0: keep the batch
      for (const json& d : config["target_shape"]) shape.push_back(d.get<int64_t>());
      flow.tensor = g_.apply("Reshape", {flow.tensor, g_.int64s(name + "_shape", shape)}, name);
      flow.nchw = false;
      return flow;
    }
    if (type == "Embedding") {
      // Ids travel in float32 (docs/DESIGN.md): Cast to int64, then Gather the table's rows.
      // mask_zero's mask is made beside it (output_mask).
      const int64_t rows = config["input_dim"].get<int64_t>(), width = config["output_dim"].get<int64_t>();
      onnx::NodeProto* cast = nullptr;
      const std::string ids = g_.apply("Cast", {flow.tensor}, name + "_ids", &cast);
      set_int(*cast, "to", onnx::TensorProto::INT64);
      onnx::NodeProto* gather = nullptr;
      flow.tensor = g_.apply("Gather", {weight(name + "/embeddings", {rows, width}), ids}, name, &gather);
      set_int(*gather, "axis", 0);
      return flow;
    }
    if (type == "Masking") {  // the padding steps zeroed, their mask kept for output_mask
      const std::string mask = detail::onnx_masking_mask(g_, flow.tensor, config.value("mask_value", 0.0f), name);
      const std::string steps = g_.apply("Unsqueeze", {mask, g_.int64s("last_axis", {-1})}, name + "_by_step");
      flow.tensor = g_.apply("Mul", {flow.tensor, steps}, name);
      masking_masks_[flow.tensor] = mask;
      return flow;
    }
    throw NotImplementedError(where + ": this layer has no ONNX export");
  }

  // The Preprocessor's steps as nodes: NaN → the training mean, then (x − mean) / scale or
  // (x − min) / (max − min), 0 where max = min, as Preprocessor::apply computes them.
  std::string add_preprocessing(std::string x) {
    const json record = json::parse(preprocessing_);
    const std::string scaling = record.at("scaling").get<std::string>();
    if (scaling == "pixels / 255") return x;  // images are scaled when loaded, not by the model
    const int64_t width = model_.input_shape().numel();
    CITADEL_CHECK(model_.input_shape().rank() == 1, ValueError, "onnx export: preprocessing needs rows of features");
    const auto vector = [&](const char* key) {
      std::vector<float> values;
      for (const json& v : record.at(key)) values.push_back(static_cast<float>(v.get<double>()));
      CITADEL_CHECK(static_cast<int64_t>(values.size()) == width, ValueError, "onnx export: the preprocessing's ",
                    key, " covers ", values.size(), " features, the model takes ", width);
      return values;
    };
    if (record.at("imputation").get<std::string>() != "none") {
      const std::string missing = g_.apply("IsNaN", {x}, "missing");
      x = g_.apply("Where", {missing, g_.floats("imputed_means", {width}, vector("imputed_means")), x}, "imputed");
    }
    if (scaling == "standard") {
      const std::string centred = g_.apply("Sub", {x, g_.floats("mean", {width}, vector("mean"))}, "centred");
      return g_.apply("Div", {centred, g_.floats("scale", {width}, vector("scale"))}, "standardized");
    }
    if (scaling == "minmax") {
      const std::vector<float> low = vector("min");
      vector("max");  // its width checked
      std::vector<float> range(low.size()), keep(low.size());
      for (size_t d = 0; d < low.size(); ++d) {
        const double r = record["max"][d].get<double>() - record["min"][d].get<double>();  // in double, as apply
        range[d] = r == 0 ? 1.0f : static_cast<float>(r);
        keep[d] = r == 0 ? 0.0f : 1.0f;
      }
      const std::string shifted = g_.apply("Sub", {x, g_.floats("min", {width}, low)}, "shifted");
      const std::string scaled = g_.apply("Div", {shifted, g_.floats("range", {width}, range)}, "scaled");
      return g_.apply("Mul", {scaled, g_.floats("constant_columns", {width}, keep)}, "minmax");
    }
    CITADEL_CHECK(scaling == "none", ValueError, "onnx export: unknown scaling '", scaling, "'");
    return x;
  }

  Model& model_;
  onnx::GraphProto& graph_;
  detail::OnnxGraphBuilder g_;
  std::string preprocessing_;
  int opset_;
  std::map<std::string, const json*> layer_configs_;  // by layer name
  std::map<int, std::vector<Flow>> parts_;  // a return_state layer's output tensor → its outputs
  std::vector<std::string> masks_;          // per tensor: its Keras mask, float (N, T) 0/1; "" for none
  std::map<std::string, std::string> masking_masks_;  // a Masking layer's output value → its mask
};

}  // namespace

std::string onnx_model_bytes(Model& model, const OnnxExportOptions& options) {
  CITADEL_CHECK(model.built(), ValueError, "onnx export: model '", model.name(), "' is not built");
  CITADEL_CHECK(options.opset >= 13 && options.opset <= 17, ValueError, "onnx export: opset ", options.opset,
                " is not offered; 13 to 17 are");
  onnx::ModelProto proto;
  proto.set_ir_version(8);
  proto.set_producer_name(options.producer);
  proto.set_producer_version(CITADEL_VERSION);
  onnx::OperatorSetIdProto& opset = *proto.add_opset_import();
  opset.set_domain("");
  opset.set_version(options.opset);
  for (const auto& [key, value] : options.metadata) {
    onnx::StringStringEntryProto& entry = *proto.add_metadata_props();
    entry.set_key(key);
    entry.set_value(value);
  }
  onnx::GraphProto& graph = *proto.mutable_graph();
  graph.set_name(model.name());
  Exporter(model, graph, options.preprocessing, options.opset).run();
  try {
    onnx::checker::check_model(proto);
  } catch (const std::exception& e) {
    throw InternalError(std::string("onnx export: the ONNX checker refused the graph: ") + e.what());
  }
  std::string bytes;
  CITADEL_CHECK(proto.SerializeToString(&bytes), InternalError, "onnx export: cannot serialize the model");
  return bytes;
}

void export_onnx(Model& model, const std::string& path, const OnnxExportOptions& options) {
  write_file_atomically(path, onnx_model_bytes(model, options));
}

}  // namespace citadel
