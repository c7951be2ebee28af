// The model class and each layer class of a Keras config against citadel's layer registry.
#include "keras_coverage.hpp"

#include "citadel/core/error.hpp"
#include "citadel/layers/layer_registry.hpp"
#include "keras_config_guard.hpp"

namespace citadel::detail {

using nlohmann::json;

namespace {

std::string text_of(const json& node, const char* key) {
  return node.contains(key) && node[key].is_string() ? node[key].get<std::string>().substr(0, 64) : "";
}

// A class Keras itself defines: under Keras's modules (or none, as Keras 2 wrote them) and
// not registered by user code under a name of its own.
bool keras_own(const json& node, const std::string& class_name) {
  const bool module_ok = !node.contains("module") || node["module"].is_null() ||
                         (node["module"].is_string() && node["module"].get<std::string>().rfind("keras", 0) == 0);
  const bool registered_ok = !node.contains("registered_name") || node["registered_name"].is_null() ||
                             node["registered_name"] == class_name;
  return module_ok && registered_ok && !code_class(class_name);
}

std::string supported_layers() {
  std::string known;
  for (const std::string& name : registered_layer_types()) known += (known.empty() ? "" : ", ") + name;
  return known + " and InputLayer";
}

}  // namespace

namespace {

bool model_class(const std::string& name) { return name == "Sequential" || name == "Functional" || name == "Model"; }

// One model's layers, and those of the models nested in it (named "<model>.<layer>", as
// they are once inlined).
void refuse_in_model(const json& config, const std::string& source, const std::string& prefix, int depth) {
  const json* layers = nullptr;
  if (config.contains("config") && config["config"].is_object() && config["config"].contains("layers"))
    layers = &config["config"]["layers"];
  else if (config.contains("layers"))
    layers = &config["layers"];
  if (layers == nullptr || !layers->is_array() || depth > 16) return;
  for (size_t i = 0; i < layers->size(); ++i) {
    const json& layer = (*layers)[i];
    if (!layer.is_object()) continue;
    const std::string class_name = text_of(layer, "class_name");
    std::string name = layer.contains("config") && layer["config"].is_object() ? text_of(layer["config"], "name") : "";
    if (name.empty()) name = text_of(layer, "name");
    if (name.empty()) name = "layers[" + std::to_string(i) + "]";
    if (model_class(class_name)) {
      refuse_in_model(layer, source, prefix + name + ".", depth + 1);
      continue;
    }
    if (class_name.empty() || class_name == "InputLayer" || find_layer_type(class_name) != nullptr ||
        !keras_own(layer, class_name))
      continue;
    throw NotImplementedError(source + ": layer '" + prefix + name + "' is a Keras " + class_name +
                              " layer, which is not supported yet; citadel imports " + supported_layers() +
                              " layers (see docs/INTEROP.md, \"Layer coverage\")");
  }
}

}  // namespace

void refuse_unsupported_classes(const json& config, const std::string& source) {
  if (!config.is_object()) return;
  const std::string model = text_of(config, "class_name");
  if (!model.empty() && !model_class(model) && keras_own(config, model))
    throw NotImplementedError(source + ": the model is a Keras " + model +
                              " model, which is not supported; citadel imports Sequential and Functional models "
                              "made of " + supported_layers() + " layers (see docs/INTEROP.md)");
  refuse_in_model(config, source, "", 0);
}

}  // namespace citadel::detail
