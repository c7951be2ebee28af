// Dropping Keras 3's recorded mask computations: a worklist over the operation layers, from
// the references that are not mask arguments, finds the ones something else reads.
#include "keras_mask_ops.hpp"

#include <map>
#include <set>
#include <vector>

#include "keras_model_tree.hpp"

namespace citadel::detail {

using nlohmann::json;

namespace {

// Keras 3's .keras and to_json() configs name an operation's module (keras.src.ops.numpy);
// its legacy .h5 files write no module, so there the operations Keras's mask rules record
// are known by class (those whose names no layer has).
bool is_operation(const json& layer) {
  if (!layer.is_object()) return false;
  if (layer.contains("module") && layer["module"].is_string())
    return layer["module"].get<std::string>().rfind("keras.src.ops.", 0) == 0;
  static const std::set<std::string> mask_operations{"NotEqual", "Equal",     "Any",       "All",     "LogicalOr",
                                                     "LogicalAnd", "ExpandDims", "OnesLike", "ZerosLike", "Cast"};
  return layer.contains("class_name") && layer["class_name"].is_string() &&
         mask_operations.count(layer["class_name"].get<std::string>()) > 0;
}

std::string config_name(const json& layer) {
  if (layer.contains("name") && layer["name"].is_string()) return layer["name"];
  if (layer.contains("config") && layer["config"].is_object() && layer["config"].contains("name") &&
      layer["config"]["name"].is_string())
    return layer["config"]["name"];
  return "";
}

// The layers named by the __keras_tensor__ references anywhere in `value` (no recursion:
// an explicit stack, as configs come from files).
void referenced_layers(const json& value, std::vector<std::string>& names) {
  std::vector<const json*> stack{&value};
  while (!stack.empty()) {
    const json& item = *stack.back();
    stack.pop_back();
    if (item.is_array()) {
      for (const json& element : item) stack.push_back(&element);
    } else if (item.is_object()) {
      if (item.contains("class_name") && item["class_name"] == "__keras_tensor__" && item.contains("config") &&
          item["config"].is_object() && item["config"].contains("keras_history") &&
          item["config"]["keras_history"].is_array() && !item["config"]["keras_history"].empty() &&
          item["config"]["keras_history"][0].is_string()) {
        names.push_back(item["config"]["keras_history"][0]);
        continue;
      }
      for (const auto& [key, element] : item.items()) stack.push_back(&element);
    }
  }
}

// The calls' arguments but `mask` (what really reads a tensor), and the `mask` arguments.
void split_references(const json& layer, std::vector<std::string>& reads, std::vector<std::string>& masks) {
  if (!layer.contains("inbound_nodes") || !layer["inbound_nodes"].is_array()) return;
  for (const json& node : layer["inbound_nodes"]) {
    if (!node.is_object()) {
      referenced_layers(node, reads);
      continue;
    }
    for (const auto& [key, value] : node.items()) {
      if (key != "kwargs" || !value.is_object()) {
        referenced_layers(value, reads);
        continue;
      }
      for (const auto& [argument, tensor] : value.items()) referenced_layers(tensor, argument == "mask" ? masks : reads);
    }
  }
}

void drop_in_functional(json& config) {
  json& layers = config["layers"];
  std::map<std::string, size_t> operation_index;  // name → position in `layers`
  for (size_t i = 0; i < layers.size(); ++i)
    if (is_operation(layers[i])) operation_index[config_name(layers[i])] = i;
  if (operation_index.empty()) return;
  // An operation something reads (a layer, an output, or an operation itself read) stays.
  std::set<std::string> read;
  std::vector<std::string> worklist;
  std::map<std::string, std::vector<std::string>> operation_reads;  // its own inputs
  std::set<std::string> mask_sources;
  for (const json& layer : layers) {
    std::vector<std::string> reads, masks;
    split_references(layer, reads, masks);
    mask_sources.insert(masks.begin(), masks.end());
    if (is_operation(layer)) operation_reads[config_name(layer)] = reads;
    else worklist.insert(worklist.end(), reads.begin(), reads.end());
  }
  referenced_layers(config.contains("output_layers") ? config["output_layers"] : json(), worklist);
  while (!worklist.empty()) {
    const std::string name = worklist.back();
    worklist.pop_back();
    if (!operation_index.count(name) || !read.insert(name).second) continue;
    for (const std::string& input : operation_reads[name]) worklist.push_back(input);
  }
  // Keras 3's output_layers are [name, node, tensor] lists, not tensor references.
  if (config.contains("output_layers") && config["output_layers"].is_array())
    for (const json& output : config["output_layers"])
      if (output.is_array() && !output.empty() && output[0].is_string() && operation_index.count(output[0]))
        read.insert(output[0].get<std::string>());
  // The `mask` arguments fed only by dropped operations go with them.
  std::set<std::string> dropped;
  for (const auto& [name, index] : operation_index)
    if (!read.count(name)) dropped.insert(name);
  for (json& layer : layers) {
    if (!layer.contains("inbound_nodes") || !layer["inbound_nodes"].is_array()) continue;
    for (json& node : layer["inbound_nodes"]) {
      if (!node.is_object() || !node.contains("kwargs") || !node["kwargs"].is_object() ||
          !node["kwargs"].contains("mask"))
        continue;
      std::vector<std::string> sources;
      referenced_layers(node["kwargs"]["mask"], sources);
      bool all_dropped = true;
      for (const std::string& source : sources) all_dropped = all_dropped && dropped.count(source);
      if (all_dropped) node["kwargs"].erase("mask");
    }
  }
  json kept = json::array();
  for (json& layer : layers)
    if (!is_operation(layer) || !dropped.count(config_name(layer))) kept.push_back(std::move(layer));
  layers = std::move(kept);
}

}  // namespace

void drop_mask_computations(json& root) {
  for_each_model_config(root, [&](json& config) { drop_in_functional(config); });
}

}  // namespace citadel::detail
