// Keras-style model configs ↔ Sequential: the Sequential envelope and the InputLayer.
// Each layer reads and writes its own settings (Layer::get_config and its from_config in
// the registry); both accept Keras 2 and 3 spellings and reject unknown keys, so a typo is
// an error rather than a silently different model.
#include "citadel/model/model_config.hpp"

#include <cctype>
#include <fstream>
#include <set>
#include <nlohmann/json.hpp>
#include <sstream>

#include "citadel/core/error.hpp"
#include "citadel/core/json_limits.hpp"
#include "citadel/layers/layer_registry.hpp"
#include "json_layer_config.hpp"
#include "keras_names.hpp"

namespace citadel {

using nlohmann::json;

namespace {

std::unique_ptr<Layer> read_layer(const detail::JsonLayerConfigReader& reader, bool after_input_layer) {
  const LayerType* type = find_layer_type(reader.type());
  if (type == nullptr) {
    std::string known;
    for (const auto& name : registered_layer_types()) known += (known.empty() ? "" : ", ") + name;
    throw ValueError(reader.where() + ": unknown layer type; known: " + known + ", InputLayer");
  }
  std::unique_ptr<Layer> layer = type->from_config(reader);
  CITADEL_CHECK(!after_input_layer || reader.input_shape_read(), ValueError, reader.where(),
                ": cannot follow an InputLayer; start with a layer that takes an input shape");
  return layer;
}

// A layer name from a config: it names the layer's tensors ("<name>/kernel") in model
// files, so it is kept to 1-128 letters, digits, '_', '.' and '-' (no '/').
std::string checked_layer_name(const detail::JsonLayerConfigReader& reader) {
  const std::string name = reader.string("name");
  bool safe = !name.empty() && name.size() <= 128;
  for (const char c : name) safe = safe && (std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.' || c == '-');
  CITADEL_CHECK(safe, ValueError, reader.where(), ": name '", name.substr(0, 128),
                "' must be 1 to 128 letters, digits, '_', '.' or '-'");
  return detail::current_layer_name(name);
}

// Layers keep the names their configs give; the others keep the names add() gave them,
// made unique against the given ones by a further suffix (as Keras does).
void apply_layer_names(Sequential& model, const std::vector<std::string>& given, const std::string& source) {
  std::set<std::string> used;
  for (size_t i = 0; i < given.size(); ++i) {
    if (given[i].empty()) continue;
    CITADEL_CHECK(used.insert(given[i]).second, ValueError, source, ": layers[", i, "]: the name '", given[i],
                  "' is used by an earlier layer");
    model.layer(i).set_name(given[i]);
  }
  for (size_t i = 0; i < given.size(); ++i) {
    if (!given[i].empty()) continue;
    std::string name = model.layer(i).name();
    for (int suffix = 1; used.count(name); ++suffix) name = model.layer(i).name() + "_" + std::to_string(suffix);
    used.insert(name);
    model.layer(i).set_name(name);
  }
}

json layer_config(const Layer& layer) {
  detail::JsonLayerConfigWriter writer;
  layer.get_config(writer);
  writer.config()["name"] = layer.name();
  return {{"class_name", layer.type()}, {"config", std::move(writer.config())}};
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
  const LayerConfigLimits layer_limits{limits.max_units, limits.max_kernel};
  std::vector<int64_t> pending_input;  // from an InputLayer, given to the next layer
  std::vector<std::string> given_names;  // per added layer; "" when its config names none
  for (size_t i = 0; i < layers.size(); ++i) {
    const detail::JsonLayerConfigReader reader(layers[i], source + ": layers[" + std::to_string(i) + "]",
                                               layer_limits, pending_input);
    if (reader.type() == "InputLayer") {
      CITADEL_CHECK(i == 0, ValueError, reader.where(), ": an InputLayer must come first");
      reader.check_keys({"sparse", "ragged", "optional"});
      reader.require("sparse", false);  // citadel's tensors are dense and rectangular
      reader.require("ragged", false);
      pending_input = reader.declared_input_shape();
      CITADEL_CHECK(!pending_input.empty(), ValueError, reader.where(), ": needs batch_shape");
      continue;
    }
    model.add(read_layer(reader, !pending_input.empty()));
    given_names.push_back(reader.has("name") ? checked_layer_name(reader) : "");
    pending_input.clear();  // an InputLayer fixes only the first real layer's input
  }
  apply_layer_names(model, given_names, source);
  return model;
}

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
