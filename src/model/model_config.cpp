// Keras-style model configs ↔ models: the Sequential envelope and the InputLayer, and the
// Functional graph (layers with inbound_nodes, input_layers, output_layers). Each layer
// reads and writes its own settings (Layer::get_config and its from_config in the
// registry); both accept Keras 2 and 3 spellings and reject unknown keys, so a typo is an
// error rather than a silently different model.
#include "citadel/model/model_config.hpp"

#include <cctype>
#include <fstream>
#include <map>
#include <queue>
#include <set>
#include <nlohmann/json.hpp>
#include <sstream>

#include "citadel/core/error.hpp"
#include "citadel/core/json_limits.hpp"
#include "citadel/layers/layer_registry.hpp"
#include "citadel/layers/output_part.hpp"
#include "citadel/model/sequential.hpp"
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
  layer->set_trainable(reader.boolean("trainable", true));  // Keras's frozen layers stay frozen
  CITADEL_CHECK(!after_input_layer || reader.input_shape_read(), ValueError, reader.where(),
                ": cannot follow an InputLayer; start with a layer that takes an input shape");
  return layer;
}

// A layer name from a config: it names the layer's tensors ("<name>/kernel") in model
// files, so it is kept to 1-128 letters, digits, '_', '.' and '-' (no '/').
std::string checked_name(const std::string& name, const std::string& where) {
  bool safe = !name.empty() && name.size() <= 128;
  for (const char c : name) safe = safe && (std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.' || c == '-');
  CITADEL_CHECK(safe, ValueError, where, ": name '", name.substr(0, 128),
                "' must be 1 to 128 letters, digits, '_', '.' or '-'");
  return detail::current_layer_name(name);
}

std::string checked_layer_name(const detail::JsonLayerConfigReader& reader) {
  return checked_name(reader.string("name"), reader.where());
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
  if (!layer.trainable()) writer.config()["trainable"] = false;  // written only when frozen, as before otherwise
  return {{"class_name", layer.type()}, {"config", std::move(writer.config())}};
}

}  // namespace

namespace {

// An InputLayer's dtype: a name or a DTypePolicy ({"config": {"name": ...}}); float32 when
// absent. Token ids are int32/int64; any other dtype is refused, naming the layer.
std::string input_layer_dtype(const json& entry, const std::string& where) {
  if (!entry.contains("config") || !entry["config"].is_object() || !entry["config"].contains("dtype")) return "float32";
  const json& dtype = entry["config"]["dtype"];
  if (dtype.is_null()) return "float32";
  std::string name;
  if (dtype.is_string()) name = dtype.get<std::string>();
  else if (dtype.is_object() && dtype.contains("config") && dtype["config"].is_object() &&
           dtype["config"].contains("name") && dtype["config"]["name"].is_string())
    name = dtype["config"]["name"].get<std::string>();
  CITADEL_CHECK(is_input_dtype(name), ValueError, where, ": input dtype ", dtype.dump(),
                " is not supported; an input is float32, or int32/int64 for token ids");
  return name;
}

// A Sequential config's layers (after the envelope).
Model sequential_from_config(const json& config, const std::string& source, const ModelConfigLimits& limits) {
  CITADEL_CHECK(config.is_object() && config.contains("layers") && config["layers"].is_array(), ValueError, source,
                ": expected 'layers', a list of layer objects");
  const json& layers = config["layers"];
  CITADEL_CHECK(!layers.empty(), ValueError, source, ": 'layers' is empty");
  CITADEL_CHECK(int64_t(layers.size()) <= limits.max_layers, ValueError, source, ": more than ", limits.max_layers,
                " layers");
  std::string name = "sequential";
  if (config.contains("name") && config["name"].is_string()) name = config["name"].get<std::string>();
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
      // Checked only: a chain's input dtype follows its first layer (int32 for token ids).
      input_layer_dtype(layers[i], reader.where());
      continue;
    }
    std::unique_ptr<Layer> layer = read_layer(reader, !pending_input.empty());
    CITADEL_CHECK(layer->input_count() == 1, ValueError, reader.where(),
                  ": merges several tensors, which a Sequential model cannot; write the model as a Functional one");
    model.add(std::move(layer));
    given_names.push_back(reader.has("name") ? checked_layer_name(reader) : "");
    pending_input.clear();  // an InputLayer fixes only the first real layer's input
  }
  apply_layer_names(model, given_names, source);
  return model;
}

// One reference to a layer call's output: Keras 3's {"class_name": "__keras_tensor__",
// "config": {"keras_history": [layer, node, tensor]}} or Keras 2's [layer, node, tensor, {}].
struct TensorRef {
  std::string layer;
  int64_t node = 0;
  int64_t index = 0;  // which output of the call (a recurrent layer's return_state: 1, 2 are its states)
};

TensorRef read_tensor_ref(const json& value, const std::string& where) {
  const json* history = nullptr;
  if (value.is_object()) {
    // json == "text" compares without converting: a class_name that is not a string is just
    // not this one (value("class_name", "") threw json's type_error on one: found by
    // model_config_fuzz).
    CITADEL_CHECK(value.contains("class_name") && value["class_name"] == "__keras_tensor__" &&
                      value.contains("config") && value["config"].is_object() &&
                      value["config"].contains("keras_history"),
                  ValueError, where, ": expected a tensor reference ({\"class_name\": \"__keras_tensor__\", ...})");
    history = &value["config"]["keras_history"];
  } else {
    history = &value;
  }
  CITADEL_CHECK(history->is_array() && history->size() >= 3 && (*history)[0].is_string() &&
                    (*history)[1].is_number_integer() && (*history)[2].is_number_integer(),
                ValueError, where, ": a tensor reference must be [layer name, node index, tensor index]");
  if (history->size() >= 4)
    CITADEL_CHECK((*history)[3].is_object() && (*history)[3].empty(), ValueError, where,
                  ": call arguments are not supported (", (*history)[3].dump(), ")");
  return {(*history)[0].get<std::string>(), (*history)[1].get<int64_t>(), (*history)[2].get<int64_t>()};
}

// A node's inputs: Keras 3's {"args": [tensor or [tensors...]], "kwargs": {}} or Keras 2's
// [[layer, node, tensor, {}], ...]. `trailing`: the call argument of the layer's later inputs
// (a recurrent layer's "initial_state": a list of tensors after the sequence), or empty.
std::vector<TensorRef> read_inbound_node(const json& node, const std::string& where, const std::string& trailing) {
  std::vector<TensorRef> refs;
  if (node.is_object()) {
    CITADEL_CHECK(node.contains("args") && node["args"].is_array() && node["args"].size() == 1, ValueError, where,
                  ": expected {\"args\": [inputs], \"kwargs\": {}}");
    const json* trailing_refs = nullptr;
    if (node.contains("kwargs")) {
      const json& kwargs = node["kwargs"];
      CITADEL_CHECK(kwargs.is_object(), ValueError, where, ": 'kwargs' must be an object");
      for (const auto& [key, value] : kwargs.items()) {
        if (!trailing.empty() && key == trailing && !value.is_null()) {
          CITADEL_CHECK(value.is_array() && !value.empty(), ValueError, where, ": '", key,
                        "' must be a list of tensors");
          trailing_refs = &value;
          continue;
        }
        CITADEL_CHECK(value.is_null() || (key == "training" && value.is_boolean()), ValueError, where,
                      ": the call argument '", key, "' is not supported");
      }
    }
    const json& args = node["args"][0];
    if (args.is_array()) {
      for (size_t i = 0; i < args.size(); ++i) refs.push_back(read_tensor_ref(args[i], where));
    } else {
      refs.push_back(read_tensor_ref(args, where));
    }
    if (trailing_refs != nullptr)
      for (size_t i = 0; i < trailing_refs->size(); ++i)
        refs.push_back(read_tensor_ref((*trailing_refs)[i], where + ": " + trailing + "[" + std::to_string(i) + "]"));
  } else {
    CITADEL_CHECK(node.is_array() && !node.empty(), ValueError, where, ": an inbound node must list its inputs");
    for (const json& ref : node) refs.push_back(read_tensor_ref(ref, where));
  }
  CITADEL_CHECK(!refs.empty(), ValueError, where, ": an inbound node with no input");
  return refs;
}

// input_layers / output_layers: [[name, node, tensor], ...], or one [name, node, tensor].
std::vector<TensorRef> read_endpoints(const json& config, const char* key, const std::string& source) {
  CITADEL_CHECK(config.contains(key) && config[key].is_array() && !config[key].empty(), ValueError, source, ": '", key,
                "' (a list of [layer, node, tensor]) is missing");
  const json& list = config[key];
  std::vector<TensorRef> refs;
  if (list[0].is_string()) {
    refs.push_back(read_tensor_ref(list, source + ": " + key));
  } else {
    for (size_t i = 0; i < list.size(); ++i)
      refs.push_back(read_tensor_ref(list[i], source + ": " + key + "[" + std::to_string(i) + "]"));
  }
  return refs;
}

// A Functional config: the graph of calls checked whole (every referenced layer and call
// exists, no cycle: Kahn's algorithm, O(layers + calls)), then made with the functional
// API in topological order, so the shapes are checked as a user's calls would be.
Model functional_from_config(const json& config, const std::string& source, const ModelConfigLimits& limits) {
  CITADEL_CHECK(config.is_object() && config.contains("layers") && config["layers"].is_array(), ValueError, source,
                ": expected 'layers', a list of layer objects");
  const json& entries = config["layers"];
  CITADEL_CHECK(!entries.empty(), ValueError, source, ": 'layers' is empty");
  CITADEL_CHECK(int64_t(entries.size()) <= limits.max_layers, ValueError, source, ": more than ", limits.max_layers,
                " layers");
  std::string model_name = "model";
  if (config.contains("name") && config["name"].is_string()) model_name = config["name"].get<std::string>();
  const LayerConfigLimits layer_limits{limits.max_units, limits.max_kernel};
  struct Entry {
    std::string name, where;
    std::unique_ptr<Layer> layer;  // null for an InputLayer
    Shape input_shape;             // an InputLayer's
    std::string input_dtype;       // an InputLayer's
    std::vector<std::vector<TensorRef>> calls;
  };
  std::vector<Entry> layers;
  std::map<std::string, size_t> by_name;
  int64_t total_calls = 0;
  for (size_t i = 0; i < entries.size(); ++i) {
    const json& entry = entries[i];
    const detail::JsonLayerConfigReader reader(entry, source + ": layers[" + std::to_string(i) + "]", layer_limits);
    Entry layer;
    layer.where = reader.where();
    std::string name;
    if (entry.contains("name") && entry["name"].is_string()) name = entry["name"].get<std::string>();
    else if (reader.has("name")) name = reader.string("name");
    CITADEL_CHECK(!name.empty(), ValueError, layer.where, ": a Functional model's layer needs a name");
    layer.name = checked_name(name, layer.where);
    CITADEL_CHECK(by_name.emplace(layer.name, layers.size()).second, ValueError, layer.where, ": the name '", layer.name,
                  "' is used by an earlier layer");
    CITADEL_CHECK(entry.contains("inbound_nodes") && entry["inbound_nodes"].is_array(), ValueError, layer.where,
                  ": 'inbound_nodes' (the layer's calls) is missing");
    const json& nodes = entry["inbound_nodes"];
    total_calls += int64_t(nodes.size());
    CITADEL_CHECK(total_calls <= limits.max_calls, ValueError, source, ": more than ", limits.max_calls,
                  " layer calls");
    if (reader.type() == "InputLayer") {
      reader.check_keys({"sparse", "ragged", "optional"});
      reader.require("sparse", false);
      reader.require("ragged", false);
      const std::vector<int64_t> shape = reader.declared_input_shape();
      CITADEL_CHECK(!shape.empty(), ValueError, layer.where, ": needs batch_shape");
      CITADEL_CHECK(nodes.empty(), ValueError, layer.where, ": an InputLayer is called on nothing");
      layer.input_shape = Shape(shape);
      layer.input_dtype = input_layer_dtype(entry, layer.where);
    } else {
      const LayerType* type = find_layer_type(reader.type());
      if (type == nullptr) read_layer(reader, false);  // throws, listing the known types
      layer.layer = type->from_config(reader);
      layer.layer->set_name(layer.name);
      layer.layer->set_trainable(reader.boolean("trainable", true));
      CITADEL_CHECK(!nodes.empty(), ValueError, layer.where, ": the layer is called on nothing (no inbound node); "
                    "remove it or connect it");
      for (size_t n = 0; n < nodes.size(); ++n)
        layer.calls.push_back(read_inbound_node(nodes[n], layer.where + ": inbound_nodes[" + std::to_string(n) + "]",
                                                layer.layer->trailing_inputs_argument()));
    }
    layers.push_back(std::move(layer));
  }
  // Calls are numbered (layer, node); each depends on the calls it reads. Kahn's algorithm
  // orders them, and whatever is left over lies on a cycle.
  std::vector<size_t> first_call(layers.size(), 0);
  size_t calls = 0;
  for (size_t l = 0; l < layers.size(); ++l) {
    first_call[l] = calls;
    calls += layers[l].layer ? layers[l].calls.size() : 1;  // an InputLayer is one "call"
  }
  std::vector<size_t> call_layer(calls), call_node(calls);
  for (size_t l = 0; l < layers.size(); ++l)
    for (size_t n = 0; n < (layers[l].layer ? layers[l].calls.size() : 1); ++n)
      call_layer[first_call[l] + n] = l, call_node[first_call[l] + n] = n;
  auto call_of = [&](const TensorRef& ref, const std::string& where) {
    const auto found = by_name.find(ref.layer);
    CITADEL_CHECK(found != by_name.end(), ValueError, where, ": refers to a layer '", ref.layer,
                  "' that the config does not have");
    const Entry& target = layers[found->second];
    const int64_t count = target.layer ? int64_t(target.calls.size()) : 1;
    CITADEL_CHECK(ref.node >= 0 && ref.node < count, ValueError, where, ": refers to call ", ref.node, " of layer '",
                  ref.layer, "', which is called ", count, " time", count == 1 ? "" : "s");
    return first_call[found->second] + size_t(ref.node);
  };
  std::vector<std::vector<size_t>> readers(calls);
  std::vector<size_t> pending(calls, 0);
  for (size_t c = 0; c < calls; ++c) {
    const Entry& entry = layers[call_layer[c]];
    if (!entry.layer) continue;
    for (const TensorRef& ref : entry.calls[call_node[c]]) {
      readers[call_of(ref, entry.where)].push_back(c);
      ++pending[c];
    }
  }
  // The ready call listed first goes first, so a config in topological order (as Keras
  // writes them) keeps its order, and with it the layers' and weights' order.
  std::vector<size_t> order;
  std::priority_queue<size_t, std::vector<size_t>, std::greater<>> ready;
  for (size_t c = 0; c < calls; ++c)
    if (pending[c] == 0) ready.push(c);
  while (!ready.empty()) {
    const size_t c = ready.top();
    ready.pop();
    order.push_back(c);
    for (const size_t reader : readers[c])
      if (--pending[reader] == 0) ready.push(reader);
  }
  if (order.size() != calls) {
    for (size_t c = 0; c < calls; ++c)
      CITADEL_CHECK(pending[c] == 0, ValueError, layers[call_layer[c]].where,
                    ": its inputs form a cycle (the layer depends on its own output); a model is a graph without cycles");
  }
  // The calls, made with the functional API in that order. All symbolic tensors are kept in
  // one list and released from the last, so a deep graph is never torn down recursively.
  // Each call's outputs (one but for a layer of several, such as a recurrent layer's return_state).
  std::vector<std::vector<SymbolicTensor>> tensors(calls);
  auto tensor_of = [&](const TensorRef& ref, size_t c, const std::string& where) {
    const std::vector<SymbolicTensor>& outputs = tensors[c];
    CITADEL_CHECK(ref.index >= 0 && ref.index < int64_t(outputs.size()), ValueError, where, ": tensor index ",
                  ref.index, " of layer '", ref.layer, "', whose call gives ", outputs.size(), " output",
                  outputs.size() == 1 ? "" : "s");
    return outputs[size_t(ref.index)];
  };
  for (const size_t c : order) {
    const Entry& entry = layers[call_layer[c]];
    if (!entry.layer) {
      tensors[c] = {Input(entry.input_shape, {.name = entry.name, .dtype = entry.input_dtype})};
      continue;
    }
    std::vector<SymbolicTensor> inputs;
    for (const TensorRef& ref : entry.calls[call_node[c]])
      inputs.push_back(tensor_of(ref, call_of(ref, entry.where), entry.where));
    tensors[c] = entry.layer->call(inputs);
  }
  std::vector<SymbolicTensor> inputs, outputs;
  for (const TensorRef& ref : read_endpoints(config, "input_layers", source)) {
    const size_t c = call_of(ref, source + ": input_layers");
    CITADEL_CHECK(!layers[call_layer[c]].layer, ValueError, source, ": input_layers names '", ref.layer,
                  "', which is not an InputLayer");
    inputs.push_back(tensor_of(ref, c, source + ": input_layers"));
  }
  for (const TensorRef& ref : read_endpoints(config, "output_layers", source))
    outputs.push_back(tensor_of(ref, call_of(ref, source + ": output_layers"), source + ": output_layers"));
  Model model(inputs, outputs, {.name = model_name, .build_now = false});
  size_t used = model.graph().inputs.size();
  for (size_t i = 0; i < model.size(); ++i) used += dynamic_cast<const OutputPart*>(&model.layer(i)) == nullptr;
  CITADEL_CHECK(used == layers.size(), ValueError, source, ": ", layers.size() - used,
                " layer(s) lead to no output (the first unused is ", [&] {
                  for (const Entry& entry : layers) {
                    bool found = false;
                    for (size_t i = 0; i < model.size() && !found; ++i) found = model.layer(i).name() == entry.name;
                    for (const std::string& input : model.input_names()) found = found || input == entry.name;
                    if (!found) return entry.name;
                  }
                  return std::string("?");
                }(), "); remove them, or make them outputs");
  outputs.clear();
  inputs.clear();
  while (!tensors.empty()) tensors.pop_back();
  return model;
}

}  // namespace

Model model_from_config(std::string_view text, const std::string& source, const ModelConfigLimits& limits) {
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
  // Every read below checks the JSON's types before converting; should one not, json's own
  // exception still becomes citadel's error naming the file, never an escape past callers
  // that catch citadel::Error.
  try {
    // Either the whole {"class_name": ..., "config": {...}} or just a Sequential's config.
    if (root.is_object() && root.contains("class_name")) {
      const json& class_name = root["class_name"];
      CITADEL_CHECK(root.contains("config") && root["config"].is_object(), ValueError, source,
                    ": 'config' (an object) is missing");
      if (class_name == "Sequential") return sequential_from_config(root["config"], source, limits);
      if (class_name == "Functional" || class_name == "Model")
        return functional_from_config(root["config"], source, limits);
      throw ValueError(detail::concat(source, ": class_name ", class_name.dump(),
                                      " is not supported; Sequential and Functional models are"));
    }
    if (root.is_object() && root.contains("input_layers")) return functional_from_config(root, source, limits);
    return sequential_from_config(root, source, limits);
  } catch (const json::exception& e) {
    throw ValueError(source + ": a value of the wrong type in the model config: " + e.what());
  }
}

std::string model_to_config(const Model& model) {
  CITADEL_CHECK(model.built(), ValueError, "model_to_config: model '", model.name(),
                "' is not built; its input shape is part of the config");
  const GraphInfo& graph = model.graph();
  auto batch_shape = [](const Shape& shape) {
    json dims = json::array({nullptr});
    for (int64_t dim : shape.dims()) dims.push_back(dim);
    return dims;
  };
  if (model.is_sequential()) {
    json layers = json::array();
    layers.push_back({{"class_name", "InputLayer"},
                      {"config", {{"batch_shape", batch_shape(model.input_shape())}, {"dtype", graph.tensors[0].dtype}}}});
    for (size_t i = 0; i < model.size(); ++i) layers.push_back(layer_config(model.layer(i)));
    return json{{"class_name", "Sequential"}, {"config", {{"name", model.name()}, {"layers", layers}}}}.dump();
  }
  // Keras 3's Functional form: every layer once, with one inbound node per call.
  // An OutputPart's tensor is its owner's call's output of that index.
  auto part_of = [&](size_t layer) { return dynamic_cast<const OutputPart*>(&model.layer(layer)); };
  auto history = [&](int tensor) {
    const GraphInfo::TensorInfo& info = graph.tensors[size_t(tensor)];
    if (info.producer < 0) return json::array({info.name, 0, 0});
    const GraphInfo::NodeInfo* node = &graph.nodes[size_t(info.producer)];
    int index = 0;
    if (const OutputPart* part = part_of(node->layer)) {
      index = part->index();
      node = &graph.nodes[size_t(graph.tensors[size_t(node->inputs[0])].producer)];
    }
    return json::array({model.layer(node->layer).name(), node->call, index});
  };
  auto keras_tensor = [&](int tensor) {
    return json{{"class_name", "__keras_tensor__"},
                {"config", {{"shape", batch_shape(graph.tensors[size_t(tensor)].shape)},
                            {"dtype", graph.tensors[size_t(tensor)].producer < 0 ? graph.tensors[size_t(tensor)].dtype
                                                                                 : std::string("float32")},
                            {"keras_history", history(tensor)}}}};
  };
  json layers = json::array();
  for (const int input : graph.inputs) {
    const std::string& name = graph.tensors[size_t(input)].name;
    layers.push_back({{"class_name", "InputLayer"},
                      {"name", name},
                      {"config", {{"batch_shape", batch_shape(graph.tensors[size_t(input)].shape)},
                                  {"dtype", graph.tensors[size_t(input)].dtype},
                                  {"sparse", false}, {"name", name}}},
                      {"inbound_nodes", json::array()}});
  }
  std::vector<json> inbound(model.size(), json::array());
  for (const GraphInfo::NodeInfo& node : graph.nodes) {
    if (part_of(node.layer)) continue;
    json args = json::array(), kwargs = json::object();
    const std::string trailing = model.layer(node.layer).trailing_inputs_argument();
    if (node.inputs.size() == 1 || !trailing.empty()) {
      // Keras 3 writes a recurrent layer's initial states as the call argument initial_state.
      args.push_back(keras_tensor(node.inputs[0]));
      if (node.inputs.size() > 1) {
        json states = json::array();
        for (size_t j = 1; j < node.inputs.size(); ++j) states.push_back(keras_tensor(node.inputs[j]));
        kwargs[trailing] = states;
      }
    } else {
      json list = json::array();
      for (const int input : node.inputs) list.push_back(keras_tensor(input));
      args.push_back(list);
    }
    inbound[node.layer].push_back({{"args", args}, {"kwargs", kwargs}});
  }
  for (size_t i = 0; i < model.size(); ++i) {
    if (part_of(i)) continue;
    json entry = layer_config(model.layer(i));
    entry["name"] = model.layer(i).name();
    entry["inbound_nodes"] = inbound[i];
    layers.push_back(entry);
  }
  json inputs = json::array(), outputs = json::array();
  for (const int input : graph.inputs) inputs.push_back(history(input));
  for (const int output : graph.outputs) outputs.push_back(history(output));
  return json{{"class_name", "Functional"},
              {"config", {{"name", model.name()}, {"layers", layers}, {"input_layers", inputs},
                          {"output_layers", outputs}}}}
      .dump();
}

Model load_model_config(const std::string& path, const ModelConfigLimits& limits) {
  std::ifstream file(path, std::ios::binary);
  CITADEL_CHECK(file.is_open(), IoError, path, ": cannot open the model config (does it exist?)");
  std::ostringstream text;
  text << file.rdbuf();
  return model_from_config(text.str(), path, limits);
}

}  // namespace citadel
