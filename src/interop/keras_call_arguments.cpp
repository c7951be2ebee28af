// Keras 3's MultiHeadAttention calls ↔ citadel's (one list of tensors, settings in the config).
#include "keras_call_arguments.hpp"

#include <optional>
#include <vector>

#include "citadel/core/error.hpp"
#include "keras_model_tree.hpp"

namespace citadel::detail {

using nlohmann::json;

namespace {

std::string layer_name(const json& layer) {
  if (layer.contains("name") && layer["name"].is_string()) return layer["name"].get<std::string>().substr(0, 256);
  if (layer.contains("config") && layer["config"].is_object() && layer["config"].contains("name") &&
      layer["config"]["name"].is_string())
    return layer["config"]["name"].get<std::string>().substr(0, 256);
  return "?";
}

bool is_tensor(const json& value) {
  return value.is_object() && value.contains("class_name") && value["class_name"] == "__keras_tensor__";
}

// One call: returns its use_causal_mask (false when not given).
bool read_call(json& node, const std::string& where) {
  if (!node.is_object()) return false;  // Keras 2's list form: the config reader checks it
  CITADEL_CHECK(node.contains("args") && node["args"].is_array() && !node["args"].empty() && node["args"].size() <= 3,
                IoError, where, ": expected {\"args\": [query, value(, key)], \"kwargs\": {...}}");
  json kwargs = node.contains("kwargs") ? node["kwargs"] : json::object();
  CITADEL_CHECK(kwargs.is_object(), IoError, where, ": 'kwargs' must be an object");
  json& args = node["args"];
  json tensors = json::array();
  if (args.size() == 1 && args[0].is_array()) {
    tensors = args[0];  // citadel's own form
  } else {
    for (const json& arg : args) {
      CITADEL_CHECK(is_tensor(arg), IoError, where, ": the positional arguments must be tensors (query, value, key)");
      tensors.push_back(arg);
    }
  }
  const char* roles[3] = {"query", "value", "key"};
  for (size_t role = 0; role < 3; ++role) {
    if (!kwargs.contains(roles[role])) continue;
    json value = kwargs[roles[role]];
    kwargs.erase(roles[role]);
    if (value.is_null()) continue;
    CITADEL_CHECK(is_tensor(value), IoError, where, ": '", roles[role], "' must be a tensor");
    CITADEL_CHECK(tensors.size() == role, IoError, where, ": '", roles[role], "' is given twice, or without the ",
                  role == 2 ? "value" : "query");
    tensors.push_back(value);
  }
  CITADEL_CHECK(tensors.size() >= 2, IoError, where, ": a MultiHeadAttention call needs a query and a value");
  bool causal = false;
  if (kwargs.contains("use_causal_mask")) {
    CITADEL_CHECK(kwargs["use_causal_mask"].is_boolean() || kwargs["use_causal_mask"].is_null(), IoError, where,
                  ": 'use_causal_mask' must be true or false");
    causal = kwargs["use_causal_mask"].is_boolean() && kwargs["use_causal_mask"].get<bool>();
    kwargs.erase("use_causal_mask");
  }
  if (kwargs.contains("return_attention_scores")) {
    CITADEL_CHECK(!(kwargs["return_attention_scores"].is_boolean() && kwargs["return_attention_scores"].get<bool>()),
                  NotImplementedError, where,
                  ": the call argument return_attention_scores=true (a second output) is not supported");
    kwargs.erase("return_attention_scores");
  }
  for (const char* mask : {"attention_mask", "query_mask", "value_mask", "key_mask"}) {
    if (!kwargs.contains(mask)) continue;
    CITADEL_CHECK(kwargs[mask].is_null(), NotImplementedError, where, ": the call argument '", mask,
                  "' (an explicit mask) is not supported; citadel reads the inputs' padding masks (Masking, "
                  "Embedding mask_zero) and use_causal_mask");
    kwargs.erase(mask);
  }
  node = json{{"args", json::array({tensors})}, {"kwargs", kwargs}};  // what is left: training, for the reader
  return causal;
}

void read_in_functional(json& config, const std::string& source) {
  for (json& layer : config["layers"]) {
    if (!layer.is_object() || !layer.contains("class_name") || layer["class_name"] != "MultiHeadAttention") continue;
    if (!layer.contains("inbound_nodes") || !layer["inbound_nodes"].is_array()) continue;
    const std::string where = source + ": layer '" + layer_name(layer) + "' (MultiHeadAttention)";
    std::optional<bool> causal;
    for (size_t n = 0; n < layer["inbound_nodes"].size(); ++n) {
      const bool call_causal =
          read_call(layer["inbound_nodes"][n], where + ": inbound_nodes[" + std::to_string(n) + "]");
      CITADEL_CHECK(!causal || *causal == call_causal, NotImplementedError, where,
                    ": its calls differ in use_causal_mask, which citadel keeps per layer");
      causal = call_causal;
    }
    if (causal.value_or(false) && layer.contains("config") && layer["config"].is_object())
      layer["config"]["use_causal_mask"] = true;
  }
}

}  // namespace

void read_attention_calls(json& root, const std::string& source) {
  for_each_model_config(root, [&](json& config) { read_in_functional(config, source); });
}

void write_attention_calls(json& layer) {
  json& config = layer["config"];
  const bool causal = config.value("use_causal_mask", false);
  config.erase("use_causal_mask");
  for (json& node : layer["inbound_nodes"]) {
    const json tensors = node["args"][0];
    json kwargs = node.value("kwargs", json::object());
    if (tensors.size() == 3) kwargs["key"] = tensors[2];
    if (causal) kwargs["use_causal_mask"] = true;
    node = json{{"args", json::array({tensors[0], tensors[1]})}, {"kwargs", kwargs}};
  }
}

}  // namespace citadel::detail
