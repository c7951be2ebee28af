// Keras-style model configs → Sequential. Accepts Keras 2 and 3 spellings (input_dim,
// input_shape, batch_input_shape, batch_shape, InputLayer; initializers and
// regularizers as names or {"class_name", "config"} objects); rejects unknown keys so
// a typo is an error rather than a silently different model.
#include "citadel/model/model_config.hpp"
#include "keras_names.hpp"

#include <array>
#include <cctype>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "citadel/core/error.hpp"
#include "citadel/core/json_limits.hpp"
#include "citadel/layers/activation.hpp"
#include "citadel/layers/activations.hpp"
#include "citadel/layers/batch_normalization.hpp"
#include "citadel/layers/conv2d.hpp"
#include "citadel/layers/dense.hpp"
#include "citadel/layers/dropout.hpp"
#include "citadel/layers/flatten.hpp"
#include "citadel/layers/global_pooling2d.hpp"
#include "citadel/layers/pooling2d.hpp"
#include "citadel/layers/regularizers.hpp"
#include "citadel/layers/reshape.hpp"

namespace citadel {

std::string detail::keras_snake_case(const std::string& name) {
  std::string result;
  for (size_t i = 0; i < name.size(); ++i) {
    const unsigned char c = static_cast<unsigned char>(name[i]);
    if (std::isupper(c) && i > 0 && std::islower(static_cast<unsigned char>(name[i - 1]))) result += '_';
    result += static_cast<char>(std::tolower(c));
  }
  return result;
}

namespace {

using nlohmann::json;

std::string snake_case(const std::string& name) { return detail::keras_snake_case(name); }

class LayerReader {
 public:
  LayerReader(const json& layer, std::string where) : where_(std::move(where)) {
    CITADEL_CHECK(layer.is_object(), ValueError, where_, ": expected an object with class_name and config");
    CITADEL_CHECK(layer.contains("class_name") && layer["class_name"].is_string(), ValueError, where_,
                  ": 'class_name' (a string) is missing");
    type_ = layer["class_name"].get<std::string>();
    where_ += " (" + type_ + ")";
    if (layer.contains("config")) {
      config_ = layer["config"];
      CITADEL_CHECK(config_.is_object(), ValueError, where_, ": 'config' must be an object");
    } else {
      config_ = json::object();
    }
  }

  const std::string& type() const { return type_; }
  const std::string& where() const { return where_; }

  // Every key of config must be one of `known` or harmless metadata Keras writes.
  void check_keys(std::set<std::string> known) const {
    for (const char* harmless : {"name", "trainable", "dtype", "module", "registered_name"}) known.insert(harmless);
    for (const char* must_be_null : {"kernel_constraint", "bias_constraint", "activity_regularizer", "noise_shape",
                                     "seed", "lora_rank"})
      if (config_.contains(must_be_null)) {
        CITADEL_CHECK(config_[must_be_null].is_null(), NotImplementedError, where_, ": '", must_be_null,
                      "' is not supported (only null)");
        known.insert(must_be_null);
      }
    for (const auto& [key, value] : config_.items())
      CITADEL_CHECK(known.count(key), ValueError, where_, ": unknown setting '", key, "'");
  }

  bool has(const char* key) const { return config_.contains(key) && !config_[key].is_null(); }

  std::string string(const char* key, const std::string& fallback) const {
    if (!has(key)) return fallback;
    CITADEL_CHECK(config_[key].is_string(), ValueError, where_, ": '", key, "' must be a string, got ",
                  config_[key].dump());
    return config_[key].get<std::string>();
  }

  int64_t integer(const char* key, int64_t low, int64_t high) const {
    CITADEL_CHECK(has(key), ValueError, where_, ": '", key, "' is required");
    const json& value = config_[key];
    CITADEL_CHECK(value.is_number_integer() && value.get<int64_t>() >= low && value.get<int64_t>() <= high,
                  ValueError, where_, ": '", key, "' must be a whole number from ", low, " to ", high, ", got ",
                  value.dump());
    return value.get<int64_t>();
  }

  double number(const char* key, double fallback) const {
    if (!has(key)) return fallback;
    CITADEL_CHECK(config_[key].is_number(), ValueError, where_, ": '", key, "' must be a number, got ",
                  config_[key].dump());
    return config_[key].get<double>();
  }

  bool boolean(const char* key, bool fallback) const {
    if (!has(key)) return fallback;
    CITADEL_CHECK(config_[key].is_boolean(), ValueError, where_, ": '", key, "' must be true or false");
    return config_[key].get<bool>();
  }

  // A 2-D size as 3 or [3, 3] (kernel_size, strides, pool_size, dilation_rate).
  std::array<int64_t, 2> pair(const char* key, std::array<int64_t, 2> fallback, int64_t high) const {
    if (!has(key)) return fallback;
    const json& value = config_[key];
    auto entry = [&](const json& item) {
      CITADEL_CHECK(item.is_number_integer() && item.get<int64_t>() >= 1 && item.get<int64_t>() <= high, ValueError,
                    where_, ": '", key, "' entries must be whole numbers from 1 to ", high, ", got ", value.dump());
      return item.get<int64_t>();
    };
    if (value.is_number()) return {entry(value), entry(value)};
    CITADEL_CHECK(value.is_array() && value.size() == 2, ValueError, where_, ": '", key,
                  "' must be a number or a list of two, got ", value.dump());
    return {entry(value[0]), entry(value[1])};
  }

  // A list of dimensions where -1 may stand for one inferred entry (Reshape).
  std::vector<int64_t> dimensions(const char* key, int64_t max_dim) const {
    CITADEL_CHECK(has(key), ValueError, where_, ": '", key, "' is required");
    const json& dims = config_[key];
    CITADEL_CHECK(dims.is_array() && !dims.empty() && dims.size() < 8, ValueError, where_, ": '", key,
                  "' must be a list of 1 to 7 dimensions");
    std::vector<int64_t> shape;
    for (const json& dim : dims) {
      CITADEL_CHECK(dim.is_number_integer() && (dim.get<int64_t>() == -1 ||
                                                (dim.get<int64_t>() >= 1 && dim.get<int64_t>() <= max_dim)),
                    ValueError, where_, ": '", key, "' entries must be positive whole numbers or -1, got ",
                    dim.dump());
      shape.push_back(dim.get<int64_t>());
    }
    return shape;
  }

  // Settings citadel supports with one value only (data_format "channels_last", ...).
  void require(const char* key, const json& only) const {
    if (!has(key)) return;
    CITADEL_CHECK(config_[key] == only, NotImplementedError, where_, ": '", key, "' is supported only as ",
                  only.dump(), ", got ", config_[key].dump());
  }

  // input_dim, input_shape, batch_input_shape or batch_shape (the batch entry is null).
  std::vector<int64_t> input_shape(int64_t max_dim) const {
    if (has("input_dim")) return {integer("input_dim", 1, max_dim)};
    for (const char* key : {"input_shape", "batch_input_shape", "batch_shape"}) {
      if (!has(key)) continue;
      const json& dims = config_[key];
      CITADEL_CHECK(dims.is_array() && !dims.empty() && dims.size() <= 8, ValueError, where_, ": '", key,
                    "' must be a list of up to 8 dimensions");
      std::vector<int64_t> shape;
      for (size_t i = std::string(key) == "input_shape" ? 0 : 1; i < dims.size(); ++i) {
        CITADEL_CHECK(dims[i].is_number_integer() && dims[i].get<int64_t>() >= 1 && dims[i].get<int64_t>() <= max_dim,
                      ValueError, where_, ": '", key, "' entry ", i, " must be a positive whole number, got ",
                      dims[i].dump());
        shape.push_back(dims[i].get<int64_t>());
      }
      CITADEL_CHECK(!shape.empty(), ValueError, where_, ": '", key, "' has no feature dimensions");
      return shape;
    }
    return {};
  }

  // An initializer as "glorot_uniform" or {"class_name": "GlorotUniform", "config": {...}}.
  std::string initializer(const char* key, const std::string& fallback) const {
    if (!has(key)) return fallback;
    const json& value = config_[key];
    if (value.is_string()) return value.get<std::string>();
    CITADEL_CHECK(value.is_object() && value.contains("class_name") && value["class_name"].is_string(), ValueError,
                  where_, ": '", key, "' must be a name or an object with class_name");
    return snake_case(value["class_name"].get<std::string>());
  }

  // A regularizer as {"class_name": "L2", "config": {"l2": 0.01}} (or "l1", "l2", "l1_l2").
  Regularizer regularizer(const char* key) const {
    if (!has(key)) return {};
    const json& value = config_[key];
    std::string name;
    json settings = json::object();
    if (value.is_string()) {
      name = value.get<std::string>();
    } else {
      CITADEL_CHECK(value.is_object() && value.contains("class_name") && value["class_name"].is_string(), ValueError,
                    where_, ": '", key, "' must be a name or an object with class_name");
      name = snake_case(value["class_name"].get<std::string>());
      if (value.contains("config")) settings = value["config"];
    }
    auto factor = [&](const char* field, double fallback) {
      if (!settings.is_object() || !settings.contains(field)) return fallback;
      CITADEL_CHECK(settings[field].is_number() && settings[field].get<double>() >= 0, ValueError, where_, ": '", key,
                    "' field '", field, "' must be a number >= 0");
      return settings[field].get<double>();
    };
    if (name == "l1") return L1(static_cast<float>(factor("l1", 0.01)));
    if (name == "l2") return L2(static_cast<float>(factor("l2", 0.01)));
    if (name == "l1_l2" || name == "l1l2")
      return L1L2(static_cast<float>(factor("l1", 0.0)), static_cast<float>(factor("l2", 0.0)));
    throw ValueError(where_ + ": unknown regularizer '" + name + "'; known: L1, L2, L1L2");
  }

 private:
  std::string where_, type_;
  json config_;
};

std::unique_ptr<Layer> read_layer(const LayerReader& r, const ModelConfigLimits& limits) {
  const std::string& type = r.type();
  if (type == "Dense") {
    r.check_keys({"units", "activation", "use_bias", "kernel_initializer", "bias_initializer", "kernel_regularizer",
                  "bias_regularizer", "input_dim", "input_shape", "batch_input_shape", "batch_shape"});
    DenseOptions options;
    options.input_shape = r.input_shape(limits.max_units);
    options.activation = r.string("activation", "linear");
    options.use_bias = r.boolean("use_bias", true);
    options.kernel_initializer = r.initializer("kernel_initializer", "glorot_uniform");
    options.bias_initializer = r.initializer("bias_initializer", "zeros");
    options.kernel_regularizer = r.regularizer("kernel_regularizer");
    options.bias_regularizer = r.regularizer("bias_regularizer");
    return std::make_unique<Dense>(r.integer("units", 1, limits.max_units), options);
  }
  if (type == "Dropout") {
    r.check_keys({"rate", "input_shape", "batch_input_shape", "batch_shape"});
    CITADEL_CHECK(r.has("rate"), ValueError, r.where(), ": 'rate' is required");
    return std::make_unique<Dropout>(static_cast<float>(r.number("rate", 0)),
                                     DropoutOptions{r.input_shape(limits.max_units)});
  }
  if (type == "Activation") {
    r.check_keys({"activation", "input_shape", "batch_input_shape", "batch_shape"});
    CITADEL_CHECK(r.has("activation"), ValueError, r.where(), ": 'activation' is required");
    return std::make_unique<Activation>(r.string("activation", ""), ActivationOptions{r.input_shape(limits.max_units)});
  }
  if (type == "Flatten") {
    r.check_keys({"data_format", "input_shape", "batch_input_shape", "batch_shape"});
    r.require("data_format", "channels_last");
    return std::make_unique<Flatten>(FlattenOptions{r.input_shape(limits.max_units)});
  }
  if (type == "Conv2D") {
    r.check_keys({"filters", "kernel_size", "strides", "padding", "dilation_rate", "activation", "use_bias",
                  "kernel_initializer", "bias_initializer", "kernel_regularizer", "bias_regularizer", "data_format",
                  "groups", "input_shape", "batch_input_shape", "batch_shape"});
    r.require("data_format", "channels_last");
    r.require("groups", 1);
    Conv2DOptions options;
    options.input_shape = r.input_shape(limits.max_units);
    options.strides = r.pair("strides", {1, 1}, limits.max_kernel);
    options.padding = r.string("padding", "valid");
    options.dilation_rate = r.pair("dilation_rate", {1, 1}, limits.max_kernel);
    options.activation = r.string("activation", "linear");
    options.use_bias = r.boolean("use_bias", true);
    options.kernel_initializer = r.initializer("kernel_initializer", "glorot_uniform");
    options.bias_initializer = r.initializer("bias_initializer", "zeros");
    options.kernel_regularizer = r.regularizer("kernel_regularizer");
    options.bias_regularizer = r.regularizer("bias_regularizer");
    CITADEL_CHECK(r.has("kernel_size"), ValueError, r.where(), ": 'kernel_size' is required");
    return std::make_unique<Conv2D>(r.integer("filters", 1, limits.max_units),
                                    r.pair("kernel_size", {1, 1}, limits.max_kernel), options);
  }
  if (type == "MaxPooling2D" || type == "AveragePooling2D") {
    r.check_keys({"pool_size", "strides", "padding", "data_format", "input_shape", "batch_input_shape",
                  "batch_shape"});
    r.require("data_format", "channels_last");
    Pooling2DOptions options;
    options.input_shape = r.input_shape(limits.max_units);
    const auto pool_size = r.pair("pool_size", {2, 2}, limits.max_kernel);
    options.strides = r.pair("strides", pool_size, limits.max_kernel);
    options.padding = r.string("padding", "valid");
    if (type == "MaxPooling2D") return std::make_unique<MaxPooling2D>(pool_size, options);
    return std::make_unique<AveragePooling2D>(pool_size, options);
  }
  if (type == "GlobalAveragePooling2D" || type == "GlobalMaxPooling2D") {
    r.check_keys({"data_format", "keepdims", "input_shape", "batch_input_shape", "batch_shape"});
    r.require("data_format", "channels_last");
    r.require("keepdims", false);
    const GlobalPooling2DOptions options{r.input_shape(limits.max_units)};
    if (type == "GlobalMaxPooling2D") return std::make_unique<GlobalMaxPooling2D>(options);
    return std::make_unique<GlobalAveragePooling2D>(options);
  }
  if (type == "BatchNormalization") {
    r.check_keys({"axis", "momentum", "epsilon", "center", "scale", "beta_initializer", "gamma_initializer",
                  "moving_mean_initializer", "moving_variance_initializer", "beta_regularizer",
                  "gamma_regularizer", "beta_constraint", "gamma_constraint", "synchronized", "renorm",
                  "input_shape", "batch_input_shape", "batch_shape"});
    r.require("axis", -1);
    r.require("synchronized", false);
    r.require("renorm", false);
    for (const char* unsupported : {"beta_regularizer", "gamma_regularizer", "beta_constraint", "gamma_constraint"})
      CITADEL_CHECK(!r.has(unsupported), NotImplementedError, r.where(), ": '", unsupported,
                    "' is not supported (only null)");
    BatchNormalizationOptions options;
    options.input_shape = r.input_shape(limits.max_units);
    options.momentum = static_cast<float>(r.number("momentum", 0.99));
    options.epsilon = static_cast<float>(r.number("epsilon", 1e-3));
    options.center = r.boolean("center", true);
    options.scale = r.boolean("scale", true);
    options.beta_initializer = r.initializer("beta_initializer", "zeros");
    options.gamma_initializer = r.initializer("gamma_initializer", "ones");
    options.moving_mean_initializer = r.initializer("moving_mean_initializer", "zeros");
    options.moving_variance_initializer = r.initializer("moving_variance_initializer", "ones");
    return std::make_unique<BatchNormalization>(options);
  }
  if (type == "Reshape") {
    r.check_keys({"target_shape", "input_shape", "batch_input_shape", "batch_shape"});
    return std::make_unique<Reshape>(r.dimensions("target_shape", limits.max_units),
                                     ReshapeOptions{r.input_shape(limits.max_units)});
  }
  std::string known;
  for (const auto& name : registered_layer_types()) known += (known.empty() ? "" : ", ") + name;
  throw ValueError(r.where() + ": unknown layer type; known: " + known + ", InputLayer");
}

// The same layer, told its input shape (what Keras's InputLayer does).
std::unique_ptr<Layer> with_input_shape(const Layer& layer, const std::vector<int64_t>& shape, const std::string& where) {
  if (const auto* dense = dynamic_cast<const Dense*>(&layer)) {
    DenseOptions options = dense->options();
    options.input_shape = shape;
    return std::make_unique<Dense>(dense->units(), options);
  }
  if (dynamic_cast<const Flatten*>(&layer)) return std::make_unique<Flatten>(FlattenOptions{shape});
  if (const auto* dropout = dynamic_cast<const Dropout*>(&layer))
    return std::make_unique<Dropout>(dropout->rate(), DropoutOptions{shape});
  if (const auto* activation = dynamic_cast<const Activation*>(&layer))
    return std::make_unique<Activation>(activation_name(activation->activation()), ActivationOptions{shape});
  if (const auto* conv = dynamic_cast<const Conv2D*>(&layer)) {
    Conv2DOptions options = conv->options();
    options.input_shape = shape;
    return std::make_unique<Conv2D>(conv->filters(), conv->kernel_size(), options);
  }
  if (const auto* pool = dynamic_cast<const Pooling2D*>(&layer)) {
    Pooling2DOptions options = pool->options();
    options.input_shape = shape;
    if (pool->type() == "MaxPooling2D") return std::make_unique<MaxPooling2D>(pool->pool_size(), options);
    return std::make_unique<AveragePooling2D>(pool->pool_size(), options);
  }
  if (dynamic_cast<const GlobalMaxPooling2D*>(&layer)) return std::make_unique<GlobalMaxPooling2D>(GlobalPooling2DOptions{shape});
  if (dynamic_cast<const GlobalAveragePooling2D*>(&layer))
    return std::make_unique<GlobalAveragePooling2D>(GlobalPooling2DOptions{shape});
  if (const auto* norm = dynamic_cast<const BatchNormalization*>(&layer)) {
    BatchNormalizationOptions options = norm->options();
    options.input_shape = shape;
    return std::make_unique<BatchNormalization>(options);
  }
  if (const auto* reshape = dynamic_cast<const Reshape*>(&layer))
    return std::make_unique<Reshape>(reshape->target_shape(), ReshapeOptions{shape});
  throw ValueError(where + ": cannot follow an InputLayer; start with a layer that takes an input shape");
}

}  // namespace

Sequential model_from_config(std::string_view text, const std::string& source, const ModelConfigLimits& limits) {
  CITADEL_CHECK(int64_t(text.size()) <= limits.max_bytes, ValueError, source, ": a model config larger than ",
                limits.max_bytes, " bytes is refused");
  CITADEL_CHECK(json_nesting_depth(text) <= limits.max_depth, ValueError, source, ": JSON nested deeper than ",
                limits.max_depth, " levels is refused");
  json root;
  try {
    root = json::parse(text);
  } catch (const json::exception& e) {  // parse_error, and out_of_range for numbers like 1E999
    throw ValueError(source + ": not valid JSON: " + e.what());
  }
  // Either the whole {"class_name": "Sequential", "config": {...}} or just its config.
  const json* config = &root;
  if (root.is_object() && root.contains("class_name")) {
    CITADEL_CHECK(root["class_name"] == "Sequential", ValueError, source, ": class_name ", root["class_name"].dump(),
                  " is not supported; only Sequential models are");
    CITADEL_CHECK(root.contains("config") && root["config"].is_object(), ValueError, source,
                  ": 'config' (an object) is missing");
    config = &root["config"];
  }
  CITADEL_CHECK(config->is_object() && config->contains("layers") && (*config)["layers"].is_array(), ValueError,
                source, ": expected 'layers', a list of layer objects");
  const json& layers = (*config)["layers"];
  CITADEL_CHECK(!layers.empty(), ValueError, source, ": 'layers' is empty");
  CITADEL_CHECK(int64_t(layers.size()) <= limits.max_layers, ValueError, source, ": more than ", limits.max_layers,
                " layers");
  std::string name = "sequential";
  if (config->contains("name") && (*config)["name"].is_string()) name = (*config)["name"].get<std::string>();
  Sequential model(name);
  std::vector<int64_t> pending_input;  // from an InputLayer, given to the next layer
  for (size_t i = 0; i < layers.size(); ++i) {
    const LayerReader reader(layers[i], source + ": layers[" + std::to_string(i) + "]");
    if (reader.type() == "InputLayer") {
      CITADEL_CHECK(i == 0, ValueError, reader.where(), ": an InputLayer must come first");
      reader.check_keys({"batch_shape", "batch_input_shape", "input_shape", "sparse", "ragged", "optional"});
      pending_input = reader.input_shape(limits.max_units);
      CITADEL_CHECK(!pending_input.empty(), ValueError, reader.where(), ": needs batch_shape");
      continue;
    }
    std::unique_ptr<Layer> layer = read_layer(reader, limits);
    if (!pending_input.empty()) {  // an InputLayer fixes the first real layer's input
      if (!layer->declared_input_shape()) layer = with_input_shape(*layer, pending_input, reader.where());
      pending_input.clear();
    }
    model.add(std::move(layer));
  }
  return model;
}

namespace {

json regularizer_config(const Regularizer& regularizer) {
  if (!regularizer.active()) return nullptr;
  return {{"class_name", "L1L2"}, {"config", {{"l1", regularizer.l1}, {"l2", regularizer.l2}}}};
}

json layer_config(const Layer& layer) {
  json config{{"name", layer.name()}};
  if (const auto* dense = dynamic_cast<const Dense*>(&layer)) {
    const DenseOptions& o = dense->options();
    config["units"] = dense->units();
    config["activation"] = activation_name(dense->activation());
    config["use_bias"] = o.use_bias;
    config["kernel_initializer"] = o.kernel_initializer;
    config["bias_initializer"] = o.bias_initializer;
    config["kernel_regularizer"] = regularizer_config(o.kernel_regularizer);
    config["bias_regularizer"] = regularizer_config(o.bias_regularizer);
  } else if (const auto* dropout = dynamic_cast<const Dropout*>(&layer)) {
    config["rate"] = dropout->rate();
  } else if (const auto* activation = dynamic_cast<const Activation*>(&layer)) {
    config["activation"] = activation_name(activation->activation());
  } else if (const auto* conv = dynamic_cast<const Conv2D*>(&layer)) {
    const Conv2DOptions& o = conv->options();
    config["filters"] = conv->filters();
    config["kernel_size"] = conv->kernel_size();
    config["strides"] = o.strides;
    config["padding"] = o.padding;
    config["dilation_rate"] = o.dilation_rate;
    config["activation"] = activation_name(conv->activation());
    config["use_bias"] = o.use_bias;
    config["kernel_initializer"] = o.kernel_initializer;
    config["bias_initializer"] = o.bias_initializer;
    config["kernel_regularizer"] = regularizer_config(o.kernel_regularizer);
    config["bias_regularizer"] = regularizer_config(o.bias_regularizer);
  } else if (const auto* pool = dynamic_cast<const Pooling2D*>(&layer)) {
    config["pool_size"] = pool->pool_size();
    config["strides"] = pool->options().strides;
    config["padding"] = pool->options().padding;
  } else if (const auto* norm = dynamic_cast<const BatchNormalization*>(&layer)) {
    const BatchNormalizationOptions& o = norm->options();
    config["axis"] = -1;
    config["momentum"] = o.momentum;
    config["epsilon"] = o.epsilon;
    config["center"] = o.center;
    config["scale"] = o.scale;
    config["beta_initializer"] = o.beta_initializer;
    config["gamma_initializer"] = o.gamma_initializer;
    config["moving_mean_initializer"] = o.moving_mean_initializer;
    config["moving_variance_initializer"] = o.moving_variance_initializer;
  } else if (const auto* reshape = dynamic_cast<const Reshape*>(&layer)) {
    config["target_shape"] = reshape->target_shape();
  } else if (!dynamic_cast<const Flatten*>(&layer) && !dynamic_cast<const GlobalPooling2D*>(&layer)) {
    throw NotImplementedError("model_to_config: layer type " + layer.type() + " cannot be written yet");
  }
  return {{"class_name", layer.type()}, {"config", config}};
}

}  // namespace

std::string model_to_config(Sequential& model) {
  CITADEL_CHECK(model.built(), ValueError, "model_to_config: model '", model.name(),
                "' is not built; its input shape is part of the config");
  json layers = json::array();
  json batch_shape = json::array({nullptr});
  for (int64_t dim : model.input_shape().dims()) batch_shape.push_back(dim);
  layers.push_back({{"class_name", "InputLayer"}, {"config", {{"batch_shape", batch_shape}}}});
  for (size_t i = 0; i < model.size(); ++i) layers.push_back(layer_config(model.layer(i)));
  return json{{"class_name", "Sequential"}, {"config", {{"name", model.name()}, {"layers", layers}}}}.dump();
}

Sequential load_model_config(const std::string& path, const ModelConfigLimits& limits) {
  std::ifstream file(path, std::ios::binary);
  CITADEL_CHECK(file.is_open(), IoError, path, ": cannot open the model config (does it exist?)");
  std::ostringstream text;
  text << file.rdbuf();
  return model_from_config(text.str(), path, limits);
}

}  // namespace citadel
