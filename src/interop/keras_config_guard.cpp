// Keras's loader was exploited through what its configs name (Lambda layers carrying
// bytecode, modules imported by name); citadel's reader refuses all of it by name.
#include "keras_config_guard.hpp"

#include <set>

#include "citadel/core/error.hpp"

namespace citadel::detail {

using nlohmann::json;

namespace {

// Class names that carry or call code.
const std::set<std::string>& code_classes() {
  static const std::set<std::string> names{"Lambda", "TFOpLambda", "SlicingOpLambda", "__lambda__", "function",
                                           "__function__", "TorchModuleWrapper", "JaxLayer", "FlaxLayer"};
  return names;
}

// The modules Keras's own built-in classes are written under; anything else (even another
// module of Keras's package: its utilities are functions) is refused.
bool keras_module(const std::string& module) {
  static const std::set<std::string> modules{"keras",         "keras.layers",      "keras.initializers",
                                             "keras.regularizers", "keras.optimizers", "keras.losses",
                                             "keras.metrics",   "keras.constraints", "keras.activations",
                                             "keras.optimizers.schedules"};
  return modules.count(module) > 0;
}

// Keras writes its Functional class under the module that defines it ("registered_name":
// "Functional"); only that class is accepted there (keras.src holds Keras's utilities too).
bool keras_model_module(const json& node) {
  static const std::set<std::string> modules{"keras.src.models.functional", "keras.src.engine.functional",
                                             "keras.engine.functional"};
  return node.contains("class_name") && node["class_name"] == "Functional" &&
         modules.count(node["module"].get<std::string>()) > 0;
}

// ids_allowed: the dtype of an InputLayer or a symbolic tensor (token ids are int32/int64).
void check_dtype(const json& dtype, const std::string& where, bool ids_allowed) {
  std::string name;
  if (dtype.is_string()) {
    name = dtype.get<std::string>();
  } else if (dtype.is_object() && dtype.contains("config") && dtype["config"].is_object() &&
             dtype["config"].contains("name") && dtype["config"]["name"].is_string()) {
    name = dtype["config"]["name"].get<std::string>();
  } else if (dtype.is_null()) {
    return;
  } else {
    throw ValueError(where + ": 'dtype' must be a name or a DTypePolicy");
  }
  if (ids_allowed && (name == "int32" || name == "int64")) return;
  // Mixed policies keep float32 variables; citadel computes those in float32.
  CITADEL_CHECK(name == "float32" || name == "mixed_float16" || name == "mixed_bfloat16", NotImplementedError, where,
                ": dtype policy '", name, "' is not supported; citadel imports float32 weights "
                "(set the model's dtype policy to float32 in Keras and save it again)");
}

void walk(const json& node, const std::string& where, bool ids_allowed = false) {
  if (node.is_array()) {
    for (size_t i = 0; i < node.size(); ++i) walk(node[i], where + "[" + std::to_string(i) + "]");
    return;
  }
  if (!node.is_object()) return;
  bool holds_ids = false;  // an InputLayer or a symbolic tensor, whose config may say int32
  if (node.contains("class_name") && node["class_name"].is_string()) {
    const std::string class_name = node["class_name"].get<std::string>();
    holds_ids = class_name == "InputLayer" || class_name == "__keras_tensor__";
    CITADEL_CHECK(!code_classes().count(class_name), SecurityError, where, ": '", class_name,
                  "' holds or calls Python code; citadel never runs code from a model file, so it is refused "
                  "(rewrite it with built-in layers and activations)");
  }
  if (node.contains("module") && !node["module"].is_null()) {
    CITADEL_CHECK(node["module"].is_string() && (keras_module(node["module"].get<std::string>()) ||
                                                 keras_model_module(node)),
                  SecurityError, where,
                  ": module ", node["module"].dump(), " is not Keras's own; objects from other modules are code "
                  "and are refused");
  }
  if (node.contains("registered_name") && !node["registered_name"].is_null()) {
    const json& registered = node["registered_name"];
    const bool builtin = registered.is_string() && node.contains("class_name") && registered == node["class_name"];
    CITADEL_CHECK(builtin, SecurityError, where, ": custom object ", registered.dump(),
                  " (registered by user code) is refused; only Keras's built-in classes are imported");
  }
  for (const char* code_key : {"function", "code", "custom_objects"})
    CITADEL_CHECK(!node.contains(code_key), SecurityError, where, ": '", code_key,
                  "' holds code; refused");
  for (const auto& [key, value] : node.items()) {
    if (key == "dtype") check_dtype(value, where, ids_allowed);
    walk(value, where + "." + key, holds_ids && key == "config");
  }
}

}  // namespace

void refuse_code_in_config(const json& config, const std::string& source) { walk(config, source); }

bool code_class(const std::string& class_name) { return code_classes().count(class_name) > 0; }

}  // namespace citadel::detail
