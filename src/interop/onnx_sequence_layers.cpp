// Sequences are (N, T, C) in ONNX as in Keras. Conv1D and the 1-D poolings run on ONNX's
// (N, C, T) between a Transpose in and one out (each layer its own pair: the other layers
// read channels-last sequences); Keras's "same" pads (total / 2) before and the rest after,
// "causal" pads (kernel − 1)·dilation before only, as citadel's Conv1D and Pooling1D do.
// MultiHeadAttention follows citadel's layer: projections as MatMul + Add with the kernels
// (D, heads, dim) read as (D, heads·dim), heads split by Reshape (N, T, heads, dim) and
// Transpose, scores q·kᵀ scaled by 1/√key_dim, the causal mask added as −1e9 (Keras's large
// negative: its exp is 0; with padding masks the disallowed scores are set to −1e9 instead),
// Softmax over the key steps, the weighed values put back as (N, Tq, heads·value_dim) for the
// output projection (heads, value_dim, D_out).
#include "onnx_sequence_layers.hpp"

#include <cmath>
#include <optional>

#include "citadel/core/error.hpp"

namespace citadel::detail {
namespace {

using nlohmann::json;

std::string describe(const std::string& name, const std::string& type) { return "layer " + name + " (" + type + ")"; }

int64_t first_of(const json& value) { return value.is_array() ? value.at(0).get<int64_t>() : value.get<int64_t>(); }

// Keras's "same" padding of one axis: the output has ⌈in / stride⌉ steps; the total padding
// goes half before (rounded down) and the rest after.
std::vector<int64_t> same_pads(int64_t in, int64_t kernel, int64_t stride, int64_t dilation) {
  const int64_t out = (in + stride - 1) / stride, span = (kernel - 1) * dilation + 1;
  const int64_t total = std::max<int64_t>((out - 1) * stride + span - in, 0);
  return {total / 2, total - total / 2};
}

class SequenceExport {
 public:
  SequenceExport(OnnxGraphBuilder& g, const OnnxSequenceCall& call, const OnnxParameterReader& parameter)
      : g_(g), call_(call), parameter_(parameter), config_(*call.config), name_(call.name),
        where_("onnx export: " + describe(call.name, call.type)) {}

  OnnxFlow output() {
    const std::string& type = call_.type;
    if (type == "LayerNormalization") return sequence(layer_normalization());
    if (type == "Conv1D") return sequence(conv1d());
    if (type == "MaxPooling1D" || type == "AveragePooling1D") return sequence(pooling1d());
    if (type == "GlobalMaxPooling1D" || type == "GlobalAveragePooling1D") return {global_pooling1d(), 2, false};
    if (type == "SpatialDropout1D") return call_.inputs[0];  // inference: the identity
    if (type == "MultiHeadAttention") return sequence(attention());
    throw InternalError(where_ + ": not a sequence layer");
  }

 private:
  OnnxFlow sequence(const std::string& tensor) const {
    return {tensor, int(call_.output_shape.rank()) + 1, false};
  }

  const OnnxFlow& only_input() const {
    CITADEL_CHECK(call_.inputs.size() == 1, NotImplementedError, where_, ": called with ", call_.inputs.size(),
                  " inputs, which are not exported");
    return call_.inputs[0];
  }

  std::vector<float> values(const std::string& parameter) const {
    std::optional<std::vector<float>> v = parameter_(parameter);
    CITADEL_CHECK(v.has_value(), InternalError, "onnx export: no parameter ", parameter);
    return std::move(*v);
  }
  bool has(const std::string& parameter) const { return parameter_(parameter).has_value(); }

  // A parameter as an initializer of `dims`, stored as citadel keeps it (row-major).
  std::string weight(const std::string& parameter, const std::vector<int64_t>& dims) {
    std::string key = parameter;
    for (char& c : key)
      if (c == '/') c = '_';
    return g_.floats(key, dims, [&] { return values(parameter); });
  }

  std::string transpose(const std::string& x, const std::vector<int64_t>& perm, const std::string& hint) {
    onnx::NodeProto* node = nullptr;
    const std::string y = g_.apply("Transpose", {x}, hint, &node);
    set_ints(*node, "perm", perm);
    return y;
  }

  // ReduceMean over the last axis, kept (axes an attribute before opset 18).
  std::string mean_of_last_axis(const std::string& x, const std::string& hint) {
    onnx::NodeProto* node = nullptr;
    const std::string y = g_.apply("ReduceMean", {x}, hint, &node);
    set_ints(*node, "axes", {-1});
    set_int(*node, "keepdims", 1);
    return y;
  }

  // (x − mean) / √(var + ε) · γ + β over the last axis; γ and β only when the layer has them.
  std::string layer_normalization() {
    const OnnxFlow& x = only_input();
    const Shape& shape = call_.input_shapes[0];
    const int64_t features = shape[shape.rank() - 1];
    const float epsilon = config_.at("epsilon").get<float>();
    const bool scale = has(name_ + "/gamma"), center = has(name_ + "/beta");
    if (call_.opset >= 17) {
      std::vector<std::string> inputs{
          x.tensor, scale ? weight(name_ + "/gamma", {features})
                          : g_.floats(name_ + "_ones", {features}, std::vector<float>(size_t(features), 1.0f))};
      if (center) inputs.push_back(weight(name_ + "/beta", {features}));
      onnx::NodeProto* node = nullptr;
      const std::string y = g_.apply("LayerNormalization", inputs, name_, &node);
      set_int(*node, "axis", -1);
      set_float(*node, "epsilon", epsilon);
      return y;
    }
    const std::string mean = mean_of_last_axis(x.tensor, name_ + "_mean");
    const std::string centred = g_.apply("Sub", {x.tensor, mean}, name_ + "_centred");
    const std::string squares = g_.apply("Mul", {centred, centred}, name_ + "_squares");
    const std::string variance = mean_of_last_axis(squares, name_ + "_variance");
    const std::string padded = g_.apply("Add", {variance, g_.scalar(name_ + "_epsilon", epsilon)}, name_ + "_padded");
    const std::string deviation = g_.apply("Sqrt", {padded}, name_ + "_deviation");
    std::string y = g_.apply("Div", {centred, deviation}, name_ + "_normalized");
    if (scale) y = g_.apply("Mul", {y, weight(name_ + "/gamma", {features})}, name_ + "_scaled");
    if (center) y = g_.apply("Add", {y, weight(name_ + "/beta", {features})}, name_);
    return y;
  }

  // Keras's padding of the steps as ONNX's pads [before, after].
  std::vector<int64_t> step_pads(int64_t kernel, int64_t stride, int64_t dilation) const {
    const std::string padding = config_.at("padding").get<std::string>();
    if (padding == "valid") return {0, 0};
    if (padding == "same") return same_pads(call_.input_shapes[0][0], kernel, stride, dilation);
    CITADEL_CHECK(padding == "causal", NotImplementedError, where_, ": padding \"", padding, "\" is not exported");
    return {(kernel - 1) * dilation, 0};
  }

  std::string conv1d() {
    const OnnxFlow& x = only_input();
    const int64_t channels = call_.input_shapes[0][1], filters = config_.at("filters").get<int64_t>();
    const int64_t kernel = first_of(config_.at("kernel_size")), stride = first_of(config_.at("strides")),
                  dilation = first_of(config_.at("dilation_rate"));
    // citadel's kernel is Keras's (K, C, F); ONNX's (F, C, K).
    const std::string oik = g_.floats(name_ + "_kernel", {filters, channels, kernel}, [&] {
      const std::vector<float> kcf = values(name_ + "/kernel");
      std::vector<float> out(kcf.size());
      for (int64_t k = 0; k < kernel; ++k)
        for (int64_t c = 0; c < channels; ++c)
          for (int64_t f = 0; f < filters; ++f) out[size_t((f * channels + c) * kernel + k)] = kcf[size_t((k * channels + c) * filters + f)];
      return out;
    });
    std::vector<std::string> inputs{transpose(x.tensor, {0, 2, 1}, name_ + "_channels_first"), oik};
    if (has(name_ + "/bias")) inputs.push_back(weight(name_ + "/bias", {filters}));
    onnx::NodeProto* node = nullptr;
    const std::string y = g_.apply("Conv", inputs, name_ + "_conv", &node);
    set_ints(*node, "kernel_shape", {kernel});
    set_ints(*node, "strides", {stride});
    set_ints(*node, "dilations", {dilation});
    set_ints(*node, "pads", step_pads(kernel, stride, dilation));
    const std::string steps_first = transpose(y, {0, 2, 1}, name_);
    return call_.activation(config_.value("activation", std::string("linear")), steps_first);
  }

  std::string pooling1d() {
    const OnnxFlow& x = only_input();
    const int64_t pool = first_of(config_.at("pool_size")), stride = first_of(config_.at("strides"));
    onnx::NodeProto* node = nullptr;
    const std::string y = g_.apply(call_.type == "MaxPooling1D" ? "MaxPool" : "AveragePool",
                                   {transpose(x.tensor, {0, 2, 1}, name_ + "_channels_first")}, name_ + "_pool", &node);
    set_ints(*node, "kernel_shape", {pool});
    set_ints(*node, "strides", {stride});
    set_ints(*node, "pads", step_pads(pool, stride, 1));
    // AveragePool's count_include_pad stays 0: Keras averages over the real steps only.
    return transpose(y, {0, 2, 1}, name_);
  }

  std::string global_pooling1d() {
    if (call_.type == "GlobalAveragePooling1D" && !call_.masks[0].empty()) return masked_average();
    onnx::NodeProto* node = nullptr;
    const std::string y =
        g_.apply(call_.type == "GlobalMaxPooling1D" ? "ReduceMax" : "ReduceMean", {only_input().tensor}, name_, &node);
    set_ints(*node, "axes", {1});  // the steps
    set_int(*node, "keepdims", 0);
    return y;
  }

  // x (N, T, D) · kernel (D, heads·dim) + bias (heads·dim) → (N, heads, T, dim), or with
  // `keys_last` (N, heads, dim, T) for q·kᵀ.
  std::string heads_of(const std::string& x, const std::string& part, int64_t features, int64_t steps, int64_t heads,
                       int64_t dim, bool keys_last) {
    const std::string prefix = name_ + "/" + part;
    std::string y = g_.apply("MatMul", {x, weight(prefix + "/kernel", {features, heads * dim})}, name_ + "_" + part);
    if (has(prefix + "/bias")) y = g_.apply("Add", {y, weight(prefix + "/bias", {heads * dim})}, name_ + "_" + part);
    const std::string split = g_.apply(
        "Reshape", {y, g_.int64s(name_ + "_" + part + "_heads", {0, steps, heads, dim})}, name_ + "_" + part + "_heads");
    return transpose(split, keys_last ? std::vector<int64_t>{0, 2, 3, 1} : std::vector<int64_t>{0, 2, 1, 3},
                     name_ + "_" + part + "_by_head");
  }

  // The mean of the kept steps as citadel weighs them: each step by mask / count (0 where a
  // row keeps none), the weighed steps summed.
  std::string masked_average() {
    const std::string& mask = call_.masks[0];
    const std::string count = sum_of_steps(mask, true, name_ + "_kept_steps");
    const std::string weights =
        g_.apply("Div", {mask, g_.apply("Max", {count, g_.scalar("one", 1.0f)}, name_ + "_divisor")}, name_ + "_weights");
    const std::string weighed = g_.apply(
        "Mul", {only_input().tensor, g_.apply("Unsqueeze", {weights, g_.int64s("last_axis", {-1})}, name_ + "_by_step")},
        name_ + "_weighed");
    return sum_of_steps(weighed, false, name_);
  }

  std::string sum_of_steps(const std::string& x, bool keep, const std::string& hint) {
    onnx::NodeProto* node = nullptr;
    const std::string y = g_.apply("ReduceSum", {x, g_.int64s("steps_axis", {1})}, hint, &node);
    set_int(*node, "keepdims", keep ? 1 : 0);
    return y;
  }

  // Which scores the softmax may weigh, (N, 1, Tq, Tv) or broadcastable to it: the query's
  // kept steps × the value's × the key's × the causal triangle, as citadel's layer allows
  // them. "" when nothing is masked.
  std::string allowed_scores(int64_t Tq, int64_t Tv) {
    std::vector<std::string> factors;
    const auto add = [&](size_t input, std::vector<int64_t> axes, const char* hint) {
      if (input < call_.masks.size() && !call_.masks[input].empty())
        factors.push_back(g_.apply("Unsqueeze", {call_.masks[input], g_.int64s(name_ + hint, axes)}, name_ + hint));
    };
    add(0, {1, 3}, "_query_kept");   // (N, 1, Tq, 1)
    add(1, {1, 2}, "_value_kept");   // (N, 1, 1, Tv)
    add(2, {1, 2}, "_key_kept");
    if (factors.empty()) return "";
    if (config_.value("use_causal_mask", false)) {
      std::vector<float> lower(size_t(Tq * Tv), 0.0f);
      for (int64_t i = 0; i < Tq; ++i)
        for (int64_t j = 0; j <= i && j < Tv; ++j) lower[size_t(i * Tv + j)] = 1.0f;
      factors.push_back(g_.floats(name_ + "_causal_allowed", {Tq, Tv}, lower));
    }
    std::string allowed = factors[0];
    for (size_t k = 1; k < factors.size(); ++k) allowed = g_.apply("Mul", {allowed, factors[k]}, name_ + "_allowed");
    onnx::NodeProto* cast = nullptr;
    const std::string flags = g_.apply("Cast", {allowed}, name_ + "_allowed", &cast);
    set_int(*cast, "to", onnx::TensorProto::BOOL);
    return flags;
  }

  std::string attention() {
    CITADEL_CHECK(call_.inputs.size() == 2 || call_.inputs.size() == 3, NotImplementedError, where_, ": called with ",
                  call_.inputs.size(), " inputs; a query, a value and a key are exported");
    const Shape &query = call_.input_shapes[0], &value = call_.input_shapes[1];
    const bool has_key = call_.inputs.size() == 3;
    const Shape& key = has_key ? call_.input_shapes[2] : value;
    const std::string& key_tensor = call_.inputs[has_key ? 2 : 1].tensor;
    const int64_t heads = config_.at("num_heads").get<int64_t>(), key_dim = config_.at("key_dim").get<int64_t>();
    const int64_t value_dim = config_.contains("value_dim") && !config_["value_dim"].is_null()
                                  ? config_["value_dim"].get<int64_t>()
                                  : key_dim;
    const int64_t Tq = query[0], Tv = value[0], out = call_.output_shape[1];
    const std::string q = heads_of(call_.inputs[0].tensor, "query", query[1], Tq, heads, key_dim, false);
    const std::string k = heads_of(key_tensor, "key", key[1], Tv, heads, key_dim, true);
    const std::string v = heads_of(call_.inputs[1].tensor, "value", value[1], Tv, heads, value_dim, false);
    const std::string products = g_.apply("MatMul", {q, k}, name_ + "_products");  // (N, heads, Tq, Tv)
    std::string scores = g_.apply(
        "Mul", {products, g_.scalar(name_ + "_scale", 1.0f / std::sqrt(float(key_dim)))}, name_ + "_scores");
    // A disallowed score becomes −1e9: its weight is 0, and a row allowing nothing weighs all
    // alike, as citadel's masked softmax does.
    if (const std::string allowed = allowed_scores(Tq, Tv); !allowed.empty()) {
      scores = g_.apply("Where", {allowed, scores, g_.scalar("disallowed_score", -1e9f)}, name_ + "_masked");
    } else if (config_.value("use_causal_mask", false)) {
      std::vector<float> mask(size_t(Tq * Tv), 0.0f);
      for (int64_t i = 0; i < Tq; ++i)
        for (int64_t j = i + 1; j < Tv; ++j) mask[size_t(i * Tv + j)] = -1e9f;
      scores = g_.apply("Add", {scores, g_.floats(name_ + "_causal_mask", {Tq, Tv}, mask)}, name_ + "_causal");
    }
    onnx::NodeProto* softmax = nullptr;
    const std::string weights = g_.apply("Softmax", {scores}, name_ + "_weights", &softmax);
    set_int(*softmax, "axis", -1);  // over the key steps
    const std::string context = g_.apply("MatMul", {weights, v}, name_ + "_context");  // (N, heads, Tq, value_dim)
    const std::string joined =
        g_.apply("Reshape",
                 {transpose(context, {0, 2, 1, 3}, name_ + "_context_by_step"),
                  g_.int64s(name_ + "_context_shape", {0, Tq, heads * value_dim})},
                 name_ + "_context_joined");
    const std::string prefix = name_ + "/attention_output";
    std::string y = g_.apply("MatMul", {joined, weight(prefix + "/kernel", {heads * value_dim, out})}, name_ + "_output");
    if (has(prefix + "/bias")) y = g_.apply("Add", {y, weight(prefix + "/bias", {out})}, name_);
    return y;
  }

  OnnxGraphBuilder& g_;
  const OnnxSequenceCall& call_;
  const OnnxParameterReader& parameter_;
  const json& config_;
  const std::string& name_;
  const std::string where_;
};

}  // namespace

bool is_onnx_sequence_layer(const std::string& type) {
  return type == "LayerNormalization" || type == "Conv1D" || type == "MaxPooling1D" || type == "AveragePooling1D" ||
         type == "GlobalMaxPooling1D" || type == "GlobalAveragePooling1D" || type == "SpatialDropout1D" ||
         type == "MultiHeadAttention";
}

OnnxFlow add_onnx_sequence(OnnxGraphBuilder& g, const OnnxSequenceCall& call, const OnnxParameterReader& parameter) {
  return SequenceExport(g, call, parameter).output();
}

}  // namespace citadel::detail
