// Keras configs with nested models read as a tree (each model's layers, calls and outputs
// checked), then written out as one flat Functional config: every call of a nested model
// becomes calls of its layers on the tensors it was called on.
#include "keras_model_tree.hpp"

#include <functional>
#include <map>
#include <memory>
#include <queue>

#include "citadel/core/error.hpp"
#include "citadel/layers/output_part.hpp"
#include "keras_layer_order.hpp"
#include "keras_weights.hpp"

namespace citadel::detail {

using nlohmann::json;

namespace {

constexpr int kMaxNesting = 16;

bool is_model_class(const std::string& class_name) {
  return class_name == "Sequential" || class_name == "Functional" || class_name == "Model";
}

std::string string_at(const json& object, const char* key) {
  return object.is_object() && object.contains(key) && object[key].is_string() ? object[key].get<std::string>() : "";
}

// The object holding "layers": the config of {"class_name", "config"}, or a bare config.
const json* model_config_of(const json& root) {
  if (!root.is_object()) return nullptr;
  const json* config = root.contains("class_name") ? (root.contains("config") ? &root["config"] : nullptr) : &root;
  if (config == nullptr || !config->is_object() || !config->contains("layers") || !(*config)["layers"].is_array())
    return nullptr;
  return config;
}

// --- the tree -----------------------------------------------------------------------------

struct Ref {
  size_t layer = 0;  // in its model's list
  int64_t node = 0, tensor = 0;
};
struct RawRef {
  std::string layer;
  int64_t node = 0, tensor = 0;
};

struct ParsedModel;
struct ParsedLayer {
  std::string name, class_name, where;
  const json* entry = nullptr;
  bool trainable = true;
  std::unique_ptr<ParsedModel> model;     // a nested model
  std::vector<std::vector<RawRef>> nodes;  // its calls' inputs as written
  std::vector<std::vector<Ref>> calls;     // resolved
  bool input() const { return class_name == "InputLayer"; }
  // How many tensors a call gives: a recurrent layer with return_state its output and states
  // (a Bidirectional one: the forward layer's states, then the backward layer's).
  int64_t output_count() const {
    if (entry == nullptr || !entry->contains("config") || !(*entry)["config"].is_object()) return 1;
    const json& config = (*entry)["config"];
    if (class_name == "Bidirectional") {
      const json* forward = config.contains("layer") ? &config["layer"] : nullptr;
      const json* backward = config.contains("backward_layer") && !config["backward_layer"].is_null()
                                 ? &config["backward_layer"]
                                 : forward;
      const int64_t states = recurrent_states(forward) + recurrent_states(backward);
      return 1 + states;
    }
    return 1 + recurrent_states(entry);
  }
  // A recurrent layer entry's states with return_state (LSTM 2, GRU and SimpleRNN 1), else 0.
  static int64_t recurrent_states(const json* layer) {
    if (layer == nullptr || !layer->is_object() || !layer->contains("config") || !(*layer)["config"].is_object() ||
        !layer->contains("class_name") || !(*layer)["class_name"].is_string())
      return 0;
    const json& config = (*layer)["config"];
    const std::string kind = (*layer)["class_name"].get<std::string>();
    const bool states =
        config.contains("return_state") && config["return_state"].is_boolean() && config["return_state"].get<bool>();
    if (!states || !(kind == "LSTM" || kind == "GRU" || kind == "SimpleRNN")) return 0;
    return kind == "LSTM" ? 2 : 1;
  }
};

struct ParsedModel {
  std::string name, where;
  bool sequential = false, trainable = true;
  std::vector<ParsedLayer> layers;                     // as listed
  std::vector<Ref> inputs, outputs;                    // a Functional model's endpoints
  std::vector<std::pair<size_t, size_t>> call_order;   // (layer, call), inputs before readers
  std::vector<size_t> keras_order;                     // the layers Keras saves, in its order
  size_t output_count() const { return sequential ? 1 : outputs.size(); }
  size_t calls_of(size_t layer) const { return layers[layer].input() ? 1 : layers[layer].nodes.size(); }
};

RawRef read_ref(const json& value, const std::string& where) {
  const json* history = &value;
  if (value.is_object()) {
    const bool tensor = string_at(value, "class_name") == "__keras_tensor__" && value.contains("config") &&
                        value["config"].is_object() && value["config"].contains("keras_history");
    CITADEL_CHECK(tensor, IoError, where, ": expected a tensor reference ({\"class_name\": \"__keras_tensor__\", ...})");
    history = &value["config"]["keras_history"];
  }
  CITADEL_CHECK(history->is_array() && history->size() >= 3 && history->size() <= 4 && (*history)[0].is_string() &&
                    (*history)[1].is_number_integer() && (*history)[2].is_number_integer(),
                IoError, where, ": a tensor reference must be [layer name, node index, tensor index]");
  if (history->size() == 4)
    CITADEL_CHECK((*history)[3].is_object() && (*history)[3].empty(), IoError, where,
                  ": call arguments are not supported (", (*history)[3].dump().substr(0, 64), ")");
  return {(*history)[0].get<std::string>().substr(0, 256), (*history)[1].get<int64_t>(), (*history)[2].get<int64_t>()};
}

// An argument Keras records without a value: null, or a list of nulls (a model called on
// several tensors records "mask": [null, null]).
bool absent(const json& value) {
  if (value.is_null()) return true;
  if (!value.is_array()) return false;
  for (const json& item : value)
    if (!item.is_null()) return false;
  return true;
}

// A call's inputs: Keras 3's {"args": [tensor or [tensors]], "kwargs": {}} or Keras 2's list.
// A recurrent layer's initial_state (a list of tensors in kwargs) follows its sequence.
std::vector<RawRef> read_node(const json& node, const std::string& where) {
  std::vector<RawRef> refs;
  if (node.is_object()) {
    CITADEL_CHECK(node.contains("args") && node["args"].is_array() && node["args"].size() == 1, IoError, where,
                  ": expected {\"args\": [inputs], \"kwargs\": {}}");
    const json* states = nullptr;
    if (node.contains("kwargs")) {
      CITADEL_CHECK(node["kwargs"].is_object(), IoError, where, ": 'kwargs' must be an object");
      for (const auto& [key, value] : node["kwargs"].items()) {
        if (key == "initial_state" && !absent(value)) {
          CITADEL_CHECK(value.is_array(), IoError, where, ": 'initial_state' must be a list of tensors");
          states = &value;
          continue;
        }
        CITADEL_CHECK(absent(value) || (key == "training" && value.is_boolean()), IoError, where,
                      ": the call argument '", key.substr(0, 64), "' is not supported");
      }
    }
    if (states != nullptr) {
      const json& args = node["args"][0];
      CITADEL_CHECK(!args.is_array(), IoError, where, ": initial_state with a list of inputs");
      refs.push_back(read_ref(args, where));
      for (const json& state : *states) refs.push_back(read_ref(state, where + ": initial_state"));
      return refs;
    }
    const json& args = node["args"][0];
    if (args.is_array()) {
      for (const json& arg : args) refs.push_back(read_ref(arg, where));
    } else {
      refs.push_back(read_ref(args, where));
    }
  } else {
    CITADEL_CHECK(node.is_array(), IoError, where, ": an inbound node must list its inputs");
    for (const json& ref : node) refs.push_back(read_ref(ref, where));
  }
  CITADEL_CHECK(!refs.empty(), IoError, where, ": a call with no input");
  return refs;
}

std::vector<RawRef> read_endpoints(const json& config, const char* key, const std::string& where) {
  CITADEL_CHECK(config.contains(key) && config[key].is_array() && !config[key].empty(), IoError, where, ": '", key,
                "' (a list of [layer, node, tensor]) is missing");
  const json& list = config[key];
  std::vector<RawRef> refs;
  if (list[0].is_string()) {
    refs.push_back(read_ref(list, where + ": " + key));
  } else {
    for (const json& ref : list) refs.push_back(read_ref(ref, where + ": " + key));
  }
  return refs;
}

class TreeReader {
 public:
  explicit TreeReader(std::string source) : source_(std::move(source)) {}

  // `config` is the model's "config" object; `where` names the model in errors.
  std::unique_ptr<ParsedModel> read(const json& config, const std::string& class_name, const std::string& where,
                                    int depth) {
    CITADEL_CHECK(depth <= kMaxNesting, IoError, where, ": models nested more than ", kMaxNesting, " deep");
    CITADEL_CHECK(config.is_object() && config.contains("layers") && config["layers"].is_array() &&
                      !config["layers"].empty(),
                  IoError, where, ": expected 'layers', a non-empty list of layer objects");
    auto model = std::make_unique<ParsedModel>();
    model->where = where;
    model->sequential = class_name == "Sequential";
    model->name = string_at(config, "name");
    if (config.contains("trainable") && config["trainable"].is_boolean()) model->trainable = config["trainable"];
    const json& entries = config["layers"];
    std::map<std::string, size_t> by_name;
    for (size_t i = 0; i < entries.size(); ++i) {
      const json& entry = entries[i];
      ParsedLayer layer;
      layer.entry = &entry;
      layer.class_name = string_at(entry, "class_name");
      const std::string at = where + ": layers[" + std::to_string(i) + "]";
      CITADEL_CHECK(!layer.class_name.empty(), IoError, at, ": 'class_name' (a string) is missing");
      layer.name = string_at(entry, "name");
      if (layer.name.empty() && entry.contains("config")) layer.name = string_at(entry["config"], "name");
      CITADEL_CHECK(!layer.name.empty(), IoError, at, " (", layer.class_name.substr(0, 64),
                    "): a layer of a model with nested models needs a name");
      layer.name = layer.name.substr(0, 256);
      layer.where = at + " '" + layer.name + "'";
      CITADEL_CHECK(by_name.emplace(layer.name, i).second, IoError, layer.where, ": the name '", layer.name,
                    "' is used by an earlier layer of the same model");
      if (entry.contains("config") && entry["config"].is_object() && entry["config"].contains("trainable") &&
          entry["config"]["trainable"].is_boolean())
        layer.trainable = entry["config"]["trainable"];
      if (is_model_class(layer.class_name)) {
        CITADEL_CHECK(entry.contains("config") && entry["config"].is_object(), IoError, layer.where,
                      ": 'config' (an object) is missing");
        layer.model = read(entry["config"], layer.class_name, layer.where, depth + 1);
        layer.model->name = layer.name;
      }
      if (model->sequential) {
        CITADEL_CHECK(!layer.input() || i == 0, IoError, layer.where, ": an InputLayer must come first");
      } else {
        CITADEL_CHECK(entry.contains("inbound_nodes") && entry["inbound_nodes"].is_array(), IoError, layer.where,
                      ": 'inbound_nodes' (the layer's calls) is missing");
        const json& nodes = entry["inbound_nodes"];
        CITADEL_CHECK(layer.input() == nodes.empty(), IoError, layer.where,
                      layer.input() ? ": an InputLayer is called on nothing"
                                    : ": the layer is called on nothing (no inbound node); remove it or connect it");
        calls_ += int64_t(nodes.size());
        CITADEL_CHECK(calls_ <= kMaxListedCalls, IoError, source_, ": more than ", kMaxListedCalls, " layer calls");
        for (size_t n = 0; n < nodes.size(); ++n)
          layer.nodes.push_back(read_node(nodes[n], layer.where + ": inbound_nodes[" + std::to_string(n) + "]"));
      }
      model->layers.push_back(std::move(layer));
    }
    if (model->sequential) {
      for (size_t i = 0; i < model->layers.size(); ++i)
        if (!model->layers[i].input()) model->keras_order.push_back(i);
      CITADEL_CHECK(!model->keras_order.empty(), IoError, where, ": a Sequential model with no layer");
    } else {
      resolve_graph(*model, config, by_name);
    }
    return model;
  }

 private:
  static constexpr int64_t kMaxListedCalls = 1'000'000;

  // References resolved against the model's own layers, the calls ordered (Kahn's
  // algorithm; what is left lies on a cycle), and Keras's order of the layers.
  void resolve_graph(ParsedModel& model, const json& config, const std::map<std::string, size_t>& by_name) {
    auto resolve = [&](const RawRef& raw, const std::string& where) {
      const auto found = by_name.find(raw.layer);
      CITADEL_CHECK(found != by_name.end(), IoError, where, ": refers to a layer '", raw.layer, "' that model '",
                    model.name, "' does not have");
      const Ref ref{found->second, raw.node, raw.tensor};
      const int64_t calls = int64_t(model.calls_of(ref.layer));
      CITADEL_CHECK(raw.node >= 0 && raw.node < calls, IoError, where, ": refers to call ", raw.node, " of layer '",
                    raw.layer, "', which is called ", calls, " time", calls == 1 ? "" : "s");
      const ParsedLayer& target = model.layers[ref.layer];
      const int64_t outputs = target.model ? int64_t(target.model->output_count()) : target.output_count();
      CITADEL_CHECK(raw.tensor >= 0 && raw.tensor < outputs, IoError, where, ": refers to output ", raw.tensor,
                    " of layer '", raw.layer, "', which has ", outputs);
      return ref;
    };
    for (ParsedLayer& layer : model.layers)
      for (size_t n = 0; n < layer.nodes.size(); ++n) {
        std::vector<Ref> call;
        for (const RawRef& raw : layer.nodes[n])
          call.push_back(resolve(raw, layer.where + ": inbound_nodes[" + std::to_string(n) + "]"));
        layer.calls.push_back(std::move(call));
      }
    for (const RawRef& raw : read_endpoints(config, "input_layers", model.where)) {
      model.inputs.push_back(resolve(raw, model.where + ": input_layers"));
      CITADEL_CHECK(model.layers[model.inputs.back().layer].input(), IoError, model.where, ": input_layers names '",
                    raw.layer, "', which is not an InputLayer");
    }
    for (const RawRef& raw : read_endpoints(config, "output_layers", model.where))
      model.outputs.push_back(resolve(raw, model.where + ": output_layers"));
    for (const ParsedLayer& layer : model.layers) {
      if (!layer.input()) continue;
      bool listed = false;
      for (const Ref& input : model.inputs) listed = listed || model.layers[input.layer].name == layer.name;
      CITADEL_CHECK(listed, IoError, layer.where, ": an InputLayer that is not among model '", model.name,
                    "''s input_layers");
    }
    // Calls numbered layer by layer.
    std::vector<size_t> first_call(model.layers.size());
    KerasCallGraph graph;
    graph.operations = model.layers.size();
    for (size_t l = 0; l < model.layers.size(); ++l) {
      first_call[l] = graph.calls.size();
      for (size_t c = 0; c < model.calls_of(l); ++c) graph.calls.push_back({l, {}});
    }
    for (size_t l = 0; l < model.layers.size(); ++l)
      for (size_t c = 0; c < model.layers[l].calls.size(); ++c)
        for (const Ref& ref : model.layers[l].calls[c])
          graph.calls[first_call[l] + c].inputs.push_back(first_call[ref.layer] + size_t(ref.node));
    for (const Ref& ref : model.outputs) graph.outputs.push_back(first_call[ref.layer] + size_t(ref.node));
    std::vector<std::vector<size_t>> readers(graph.calls.size());
    std::vector<size_t> pending(graph.calls.size(), 0);
    for (size_t c = 0; c < graph.calls.size(); ++c)
      for (const size_t input : graph.calls[c].inputs) {
        readers[input].push_back(c);
        ++pending[c];
      }
    std::priority_queue<size_t, std::vector<size_t>, std::greater<>> ready;
    for (size_t c = 0; c < graph.calls.size(); ++c)
      if (pending[c] == 0) ready.push(c);
    while (!ready.empty()) {
      const size_t c = ready.top();
      ready.pop();
      const size_t layer = graph.calls[c].operation;
      model.call_order.emplace_back(layer, c - first_call[layer]);
      for (const size_t reader : readers[c])
        if (--pending[reader] == 0) ready.push(reader);
    }
    for (size_t c = 0; c < graph.calls.size(); ++c)
      CITADEL_CHECK(pending[c] == 0, IoError, model.layers[graph.calls[c].operation].where,
                    ": its inputs form a cycle (the layer depends on its own output); a model is a graph without cycles");
    model.keras_order = keras_operation_order(graph);
    std::vector<char> ordered(model.layers.size(), 0);
    for (const size_t l : model.keras_order) ordered[l] = 1;
    for (size_t l = 0; l < model.layers.size(); ++l)
      CITADEL_CHECK(ordered[l], IoError, model.layers[l].where, ": leads to no output of model '", model.name,
                    "'; remove it, or make it an output");
  }

  std::string source_;
  int64_t calls_ = 0;
};

// --- the flat graph ---------------------------------------------------------------------

struct FlatRef {
  std::string layer;
  int64_t node = 0, tensor = 0;
};

class Emitter {
 public:
  Emitter(std::string source, int64_t max_calls) : source_(std::move(source)), max_calls_(max_calls) {}

  // The flat entries of a model's layers, in the listed order with nested models' layers
  // in their place; a top-level model's InputLayers too. A frozen model's layers are frozen
  // (Keras's model.trainable = False freezes every layer in it).
  void declare(const ParsedModel& model, const std::string& prefix, bool top, bool frozen = false) {
    frozen = frozen || !model.trainable;
    for (const ParsedLayer& layer : model.layers) {
      if (layer.model) {
        declare(*layer.model, prefix + layer.name + ".", false, frozen || !layer.trainable);
        continue;
      }
      if (layer.input() && !top) continue;  // bound to the tensors the model is called on
      json config = layer.entry->contains("config") ? (*layer.entry)["config"] : json::object();
      if (!layer.input()) config["name"] = prefix + layer.name;
      if (!layer.input() && frozen && config.is_object()) config["trainable"] = false;
      position_[prefix + layer.name] = layers_.size();
      layers_.push_back({{"class_name", layer.class_name}, {"config", config}, {"name", prefix + layer.name},
                         {"inbound_nodes", json::array()}});
    }
  }

  // One call of `model` on `inputs`: its layers' calls, made in order; its outputs.
  std::vector<FlatRef> call(const ParsedModel& model, const std::string& prefix, const std::vector<FlatRef>& inputs) {
    const size_t expected = model.sequential ? 1 : model.inputs.size();
    CITADEL_CHECK(inputs.size() == expected, IoError, model.where, ": model '", model.name, "' takes ", expected,
                  " input", expected == 1 ? "" : "s", " but is called on ", inputs.size());
    if (model.sequential) {
      FlatRef current = inputs[0];
      for (const size_t l : model.keras_order) {
        const ParsedLayer& layer = model.layers[l];
        if (layer.model) {
          const std::vector<FlatRef> outputs = call(*layer.model, prefix + layer.name + ".", {current});
          CITADEL_CHECK(outputs.size() == 1, IoError, layer.where, ": a model inside a Sequential model must give "
                        "one output, this one gives ", outputs.size());
          current = outputs[0];
        } else {
          current = {prefix + layer.name, add_call(prefix + layer.name, {current})};
        }
      }
      return {current};
    }
    // outputs[layer][call]: what that call gives (a nested model: one per output).
    std::vector<std::vector<std::vector<FlatRef>>> outputs(model.layers.size());
    for (size_t l = 0; l < model.layers.size(); ++l) outputs[l].resize(model.calls_of(l));
    for (size_t k = 0; k < model.inputs.size(); ++k) outputs[model.inputs[k].layer][0] = {inputs[k]};
    for (const auto& [l, c] : model.call_order) {
      const ParsedLayer& layer = model.layers[l];
      if (layer.input()) continue;
      std::vector<FlatRef> arguments;
      for (const Ref& ref : layer.calls[c]) arguments.push_back(outputs[ref.layer][size_t(ref.node)][size_t(ref.tensor)]);
      if (layer.model) {
        outputs[l][c] = call(*layer.model, prefix + layer.name + ".", arguments);
      } else {
        const int64_t node = add_call(prefix + layer.name, arguments);
        for (int64_t k = 0; k < layer.output_count(); ++k) outputs[l][c].push_back({prefix + layer.name, node, k});
      }
    }
    std::vector<FlatRef> result;
    for (const Ref& ref : model.outputs) result.push_back(outputs[ref.layer][size_t(ref.node)][size_t(ref.tensor)]);
    return result;
  }

  json& layers() { return layers_; }

 private:
  int64_t add_call(const std::string& name, const std::vector<FlatRef>& inputs) {
    CITADEL_CHECK(++calls_ <= max_calls_, IoError, source_, ": with its nested models inlined, the model makes more "
                  "than ", max_calls_, " layer calls; refused");
    json node = json::array();
    for (const FlatRef& input : inputs) node.push_back({input.layer, input.node, input.tensor});
    json& entry = layers_[position_.at(name)];
    entry["inbound_nodes"].push_back(std::move(node));
    return int64_t(entry["inbound_nodes"].size()) - 1;
  }

  std::string source_;
  int64_t max_calls_, calls_ = 0;
  json layers_ = json::array();
  std::map<std::string, size_t> position_;
};

// --- where weights are kept ---------------------------------------------------------------

void add_places(const ParsedModel& model, const std::string& group_prefix, const std::string& citadel_prefix,
                const std::string& legacy_group, bool trainable, std::vector<KerasLayerPlace>& places) {
  std::vector<std::string> classes;
  for (const size_t l : model.keras_order)
    classes.push_back(model.layers[l].class_name == "Model" ? "Functional" : model.layers[l].class_name);
  const std::vector<std::string> groups = keras3_layer_groups(classes);
  for (size_t k = 0; k < model.keras_order.size(); ++k) {
    const ParsedLayer& layer = model.layers[model.keras_order[k]];
    KerasLayerPlace place;
    place.keras_name = layer.name;
    place.class_name = classes[k];
    place.citadel_name = layer.input() || layer.model ? "" : citadel_prefix + layer.name;
    place.group = group_prefix + groups[k];
    place.legacy_group = legacy_group.empty() ? layer.name : legacy_group;
    place.trainable = trainable && layer.trainable;
    places.push_back(place);
    if (layer.model)
      add_places(*layer.model, place.group + "/layers/", citadel_prefix + layer.name + ".", place.legacy_group,
                 place.trainable, places);
  }
}

}  // namespace

bool has_nested_models(const json& root) {
  const json* config = model_config_of(root);
  if (config == nullptr) return false;
  for (const json& entry : (*config)["layers"])
    if (is_model_class(string_at(entry, "class_name"))) return true;
  return false;
}

FlatKerasConfig flatten_nested_models(const json& root, const std::string& source, int64_t max_calls) {
  const json* config = model_config_of(root);
  CITADEL_CHECK(config != nullptr, IoError, source, ": expected 'layers', a list of layer objects");
  std::string class_name = string_at(root, "class_name");
  if (class_name.empty()) class_name = config->contains("input_layers") ? "Functional" : "Sequential";
  CITADEL_CHECK(is_model_class(class_name), IoError, source, ": class_name '", class_name.substr(0, 64),
                "' is not a model class; Sequential and Functional models are read");
  const std::unique_ptr<ParsedModel> top = TreeReader(source).read(*config, class_name, source, 0);
  if (top->name.empty()) top->name = top->sequential ? "sequential" : "functional";

  Emitter emitter(source, max_calls);
  std::vector<FlatRef> inputs;
  json input_layers = json::array();
  if (top->sequential) {
    // The InputLayer of the chain: its own, or one made from build_input_shape.
    json input;
    if (top->layers[0].input()) {
      input = *top->layers[0].entry;
    } else {
      CITADEL_CHECK(config->contains("build_input_shape") && (*config)["build_input_shape"].is_array(), IoError,
                    source, ": the config gives no input shape (an InputLayer or build_input_shape)");
      input = {{"class_name", "InputLayer"}, {"config", {{"batch_shape", (*config)["build_input_shape"]}}}};
    }
    std::string name = top->layers[0].input() ? top->layers[0].name : "input_layer";
    input["name"] = name;
    input["inbound_nodes"] = json::array();
    if (input.contains("config") && input["config"].is_object()) input["config"]["name"] = name;
    emitter.layers().push_back(std::move(input));
    inputs.push_back({name, 0});
    input_layers.push_back({name, 0, 0});
  } else {
    for (const Ref& ref : top->inputs) {
      inputs.push_back({top->layers[ref.layer].name, 0});
      input_layers.push_back({top->layers[ref.layer].name, 0, 0});
    }
  }
  emitter.declare(*top, "", !top->sequential);
  const std::vector<FlatRef> outputs = emitter.call(*top, "", inputs);
  json output_layers = json::array();
  for (const FlatRef& output : outputs) output_layers.push_back({output.layer, output.node, output.tensor});

  FlatKerasConfig flat;
  flat.config = json{{"class_name", "Functional"},
                     {"config", {{"name", top->name}, {"layers", std::move(emitter.layers())},
                                 {"input_layers", std::move(input_layers)}, {"output_layers", std::move(output_layers)}}}}
                    .dump();
  add_places(*top, "", "", "", true, flat.places);
  return flat;
}

std::vector<KerasLayerPlace> keras_layer_places(const Model& model) {
  std::vector<KerasLayerPlace> places;
  auto place_of = [](const std::string& name, const std::string& class_name, bool weights) {
    return KerasLayerPlace{name, class_name, weights ? name : "", "", name, true};
  };
  std::vector<std::string> classes;
  if (model.is_sequential()) {
    for (size_t i = 0; i < model.size(); ++i) {
      places.push_back(place_of(model.layer(i).name(), model.layer(i).type(), true));
      classes.push_back(model.layer(i).type());
    }
  } else {
    // Operations: the inputs, then the layers; calls: the inputs', then the graph's nodes.
    const GraphInfo& info = model.graph();
    const size_t inputs = info.inputs.size();
    KerasCallGraph graph;
    graph.operations = inputs + model.size();
    std::vector<size_t> call_of_tensor(info.tensors.size(), 0);
    for (size_t i = 0; i < inputs; ++i) {
      graph.calls.push_back({i, {}});
      call_of_tensor[size_t(info.inputs[i])] = i;
    }
    auto is_part = [&](size_t layer) { return dynamic_cast<const OutputPart*>(&model.layer(layer)) != nullptr; };
    for (size_t n = 0; n < info.nodes.size(); ++n) {
      if (is_part(info.nodes[n].layer)) {  // one output of its owner's call, not an operation of Keras's
        call_of_tensor[size_t(info.nodes[n].output)] = call_of_tensor[size_t(info.nodes[n].inputs[0])];
        continue;
      }
      KerasCallGraph::Call call{inputs + info.nodes[n].layer, {}};
      for (const int tensor : info.nodes[n].inputs) call.inputs.push_back(call_of_tensor[size_t(tensor)]);
      call_of_tensor[size_t(info.nodes[n].output)] = graph.calls.size();
      graph.calls.push_back(std::move(call));
    }
    for (const int tensor : info.outputs) graph.outputs.push_back(call_of_tensor[size_t(tensor)]);
    const std::vector<std::string> input_names = model.input_names();
    for (const size_t operation : keras_operation_order(graph)) {
      if (operation < inputs) {
        places.push_back(place_of(input_names[operation], "InputLayer", false));
        classes.push_back("InputLayer");
      } else {
        const Layer& layer = model.layer(operation - inputs);
        if (is_part(operation - inputs)) continue;
        places.push_back(place_of(layer.name(), layer.type(), true));
        classes.push_back(layer.type());
      }
    }
  }
  const std::vector<std::string> groups = keras3_layer_groups(classes);
  for (size_t i = 0; i < places.size(); ++i) places[i].group = groups[i];
  return places;
}

void for_each_model_config(json& root, const std::function<void(json& config)>& visit) {
  std::vector<json*> stack{&root};
  while (!stack.empty()) {
    json& model = *stack.back();
    stack.pop_back();
    if (!model.is_object()) continue;
    json* config = model.contains("config") && model["config"].is_object() ? &model["config"] : &model;
    if (!config->contains("layers") || !(*config)["layers"].is_array()) continue;
    visit(*config);
    for (json& layer : (*config)["layers"])
      if (layer.is_object() && layer.contains("config") && layer["config"].is_object() &&
          layer["config"].contains("layers"))
        stack.push_back(&layer);
  }
}

}  // namespace citadel::detail
