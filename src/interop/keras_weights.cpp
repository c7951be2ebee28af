// Keras's weight layouts, matched parameter by parameter.
#include "keras_weights.hpp"

#include <map>
#include <set>

#include "../model/keras_names.hpp"
#include "citadel/core/error.hpp"

namespace citadel::detail {

namespace {

std::string shape_text(const std::vector<int64_t>& dims) {
  std::string text = "(";
  for (size_t i = 0; i < dims.size(); ++i) text += (i ? ", " : "") + std::to_string(dims[i]);
  return text + (dims.size() == 1 ? ",)" : ")");
}

// "dense/kernel" → "kernel".
std::string parameter_role(const ParameterInfo& parameter) {
  return parameter.name.substr(parameter.name.rfind('/') + 1);
}

// The dataset's shape, then its storage (layout, chunks, filters), against the plan: all of
// them before any weight is read.
void check_shape(const Hdf5Reader& file, const std::string& path, const ParameterInfo& parameter) {
  const std::vector<int64_t> shape = file.dataset_shape(path);
  CITADEL_CHECK(shape == parameter.shape.dims(), IoError, file.source(), ": dataset ", path, " is shaped ",
                shape_text(shape), " but the architecture's ", parameter.name, " is ",
                shape_text(parameter.shape.dims()));
  file.check_weight_storage(path);
}

// Keras 3 keeps a recurrent layer's weights in its cell ("layers/lstm/cell/vars/0"), whose
// name is the class's cell ("lstm_cell"); the layer's own vars group is empty.
std::string recurrent_cell_name(const std::string& class_name) {
  if (class_name == "LSTM") return "lstm_cell";
  if (class_name == "GRU") return "gru_cell";
  if (class_name == "SimpleRNN") return "simple_rnn_cell";
  return "";
}

}  // namespace

std::vector<std::string> keras3_layer_groups(const std::vector<std::string>& class_names) {
  std::map<std::string, int> used;
  std::vector<std::string> groups;
  for (const std::string& class_name : class_names) {
    const std::string base = current_layer_name(keras_snake_case(class_name));
    const auto [at, first] = used.emplace(base, 0);
    groups.push_back(first ? base : base + "_" + std::to_string(++at->second));
  }
  return groups;
}

std::vector<LayerParameters> plan_layer_parameters(const std::vector<KerasLayerPlace>& places,
                                                   const std::vector<ParameterInfo>& parameters) {
  // "dense_1/kernel" belongs to the layer "dense_1", "bidirectional/forward_lstm/kernel" to
  // "bidirectional" (layer names hold no '/').
  std::map<std::string, std::vector<const ParameterInfo*>> by_layer;
  for (const ParameterInfo& parameter : parameters)
    by_layer[parameter.name.substr(0, parameter.name.find('/'))].push_back(&parameter);
  std::vector<LayerParameters> layers;
  std::vector<bool> layer_trainable;
  for (const KerasLayerPlace& place : places) {
    LayerParameters layer{place.keras_name, place.class_name, place.group, place.legacy_group, {}, {}};
    if (!place.citadel_name.empty()) {
      const auto found = by_layer.find(place.citadel_name);
      if (found != by_layer.end()) {
        for (const ParameterInfo* parameter : found->second) layer.parameters.push_back(*parameter);
        by_layer.erase(found);
      }
    }
    layers.push_back(std::move(layer));
    layer_trainable.push_back(place.trainable);
  }
  CITADEL_CHECK(by_layer.empty(), InternalError, "the parameters of layer '", by_layer.begin()->first,
                "' have no place in the Keras model");
  // Keras 2 lists a group's weights as layer.trainable_weights + non_trainable_weights.
  std::map<std::string, std::vector<std::pair<size_t, size_t>>> trainable, frozen;  // (layer, parameter)
  std::vector<std::string> group_order;
  for (size_t l = 0; l < layers.size(); ++l) {
    LayerParameters& layer = layers[l];
    if (!trainable.count(layer.legacy_group) && !frozen.count(layer.legacy_group)) group_order.push_back(layer.legacy_group);
    trainable[layer.legacy_group];
    frozen[layer.legacy_group];
    layer.legacy_slots.assign(layer.parameters.size(), 0);
    for (size_t p = 0; p < layer.parameters.size(); ++p)
      (layer_trainable[l] && layer.parameters[p].trainable ? trainable : frozen)[layer.legacy_group].emplace_back(l, p);
  }
  for (const std::string& group : group_order) {
    size_t slot = 0;
    for (const auto& [l, p] : trainable[group]) layers[l].legacy_slots[p] = slot++;
    for (const auto& [l, p] : frozen[group]) layers[l].legacy_slots[p] = slot++;
  }
  return layers;
}

namespace {

// Where one layer keeps its weights in Keras 3's layout: groups that hold no weights but
// record a name, and the groups of weights (each with its slice of the layer's parameters).
struct Keras3Groups {
  struct Empty {
    std::string vars, name;  // name: what Keras records beside them ("" when not checked)
  };
  struct Weights {
    std::string vars, name;  // name "" when not checked on reading
    size_t first = 0, count = 0;
  };
  std::vector<Empty> empty;
  std::vector<Weights> weights;
};

// A recurrent cell's name from its weights: kernel (D, G·U) and recurrent kernel (U, G·U)
// give the gates G (SimpleRNN 1, GRU 3, LSTM 4).
std::string cell_of_weights(const std::vector<ParameterInfo>& parameters, size_t first) {
  const int64_t gates = parameters.at(first).shape.dims().back() / parameters.at(first + 1).shape.dims().front();
  return gates == 4 ? "lstm_cell" : gates == 3 ? "gru_cell" : "simple_rnn_cell";
}

// Bidirectional: layers/<group>/{forward,backward}_layer/cell/vars, the copies' weights
// ("bidirectional/forward_lstm/kernel") told apart by the copy's name.
Keras3Groups keras3_groups(const LayerParameters& layer, const std::string& root) {
  Keras3Groups groups;
  const std::string base = root + "/" + layer.group;
  if (layer.class_name == "Bidirectional") {
    groups.empty.push_back({base + "/vars", layer.keras_name});
    size_t first = 0;
    for (const char* side : {"forward_layer", "backward_layer"}) {
      const std::string& name = layer.parameters.at(first).name;
      const size_t a = name.find('/'), b = name.rfind('/');
      const std::string copy = name.substr(a + 1, b - a - 1);  // "forward_lstm"
      size_t count = 0;
      while (first + count < layer.parameters.size() &&
             layer.parameters[first + count].name.compare(a + 1, b - a, copy + "/") == 0)
        ++count;
      groups.empty.push_back({base + "/" + side + "/vars", copy});
      groups.weights.push_back({base + "/" + side + "/cell/vars", cell_of_weights(layer.parameters, first), first, count});
      first += count;
    }
    CITADEL_CHECK(first == layer.parameters.size(), InternalError, "Bidirectional '", layer.keras_name,
                  "': weights of neither copy");
    return groups;
  }
  // TimeDistributed: the wrapped layer's weights ("time_distributed/dense/kernel") under
  // layers/<group>/layer/vars, named as the wrapped layer; a recurrent one keeps them in its cell.
  if (layer.class_name == "TimeDistributed") {
    groups.empty.push_back({base + "/vars", layer.keras_name});
    if (layer.parameters.empty()) return groups;
    const std::string& name = layer.parameters.front().name;
    const size_t a = name.find('/'), b = name.rfind('/');
    const std::string wrapped = name.substr(a + 1, b - a - 1);  // "dense"
    if (layer.parameters.size() >= 2 && parameter_role(layer.parameters[1]) == "recurrent_kernel") {
      groups.empty.push_back({base + "/layer/vars", wrapped});
      groups.weights.push_back({base + "/layer/cell/vars", cell_of_weights(layer.parameters, 0), 0, layer.parameters.size()});
    } else {
      groups.weights.push_back({base + "/layer/vars", wrapped, 0, layer.parameters.size()});
    }
    return groups;
  }
  // MultiHeadAttention: layers/<group>/{query,key,value,output}_dense/vars (Keras records
  // them as query, key, value, attention_output), and its dropout and softmax sublayers'
  // empty groups.
  if (layer.class_name == "MultiHeadAttention") {
    groups.empty.push_back({base + "/vars", layer.keras_name});
    groups.empty.push_back({base + "/_dropout_layer/vars", "dropout"});
    groups.empty.push_back({base + "/_softmax/vars", "softmax"});
    size_t first = 0;
    for (const char* part : {"query", "key", "value", "attention_output"}) {
      size_t count = 0;
      while (first + count < layer.parameters.size()) {
        const std::string& name = layer.parameters[first + count].name;
        const size_t b = name.rfind('/'), a = name.rfind('/', b - 1);
        if (name.substr(a + 1, b - a - 1) != part) break;
        ++count;
      }
      const std::string group = std::string(part) == "attention_output" ? "output" : part;
      groups.weights.push_back({base + "/" + group + "_dense/vars", part, first, count});
      first += count;
    }
    CITADEL_CHECK(first == layer.parameters.size(), InternalError, "MultiHeadAttention '", layer.keras_name,
                  "': weights of no projection");
    return groups;
  }
  if (const std::string cell = recurrent_cell_name(layer.class_name); !cell.empty()) {
    groups.empty.push_back({base + "/vars", ""});
    groups.weights.push_back({base + "/cell/vars", cell, 0, layer.parameters.size()});
    return groups;
  }
  groups.weights.push_back({base + "/vars", layer.keras_name, 0, layer.parameters.size()});
  return groups;
}

}  // namespace

std::vector<std::string> keras3_weight_paths(const Hdf5Reader& file, const std::vector<LayerParameters>& layers) {
  // Keras 3 writes layers/...; the Keras 2.13-2.15 preview of the format wrote the same
  // under _layer_checkpoint_dependencies.
  std::string root = "layers";
  if (!file.exists(root) && file.exists("_layer_checkpoint_dependencies")) root = "_layer_checkpoint_dependencies";
  // Each model's layers group (the top one, and .../layers of each nested model) holds its
  // layers' groups and nothing else.
  std::map<std::string, std::set<std::string>> expected{{root, {}}};
  for (const LayerParameters& layer : layers) {
    const size_t cut = layer.group.rfind("/layers/");
    if (cut == std::string::npos)
      expected[root].insert(layer.group);
    else
      expected[root + "/" + layer.group.substr(0, cut) + "/layers"].insert(layer.group.substr(cut + 8));
  }
  for (const auto& [container, known] : expected)
    if (file.exists(container))
      for (const std::string& name : file.children(container, static_cast<int64_t>(known.size()) + 64))
        CITADEL_CHECK(known.count(name), IoError, file.source(), ": holds weights under ", container, "/", name,
                      ", which no layer of the model's config has; the file and the config disagree");
  std::vector<std::string> paths;
  for (const LayerParameters& layer : layers) {
    if (layer.parameters.empty()) {
      const std::string vars = root + "/" + layer.group + "/vars";
      if (file.exists(vars))
        if (const auto recorded = file.string_attribute(vars, "name", 4096); recorded && recorded->size() == 1)
          CITADEL_CHECK((*recorded)[0] == layer.keras_name, IoError, file.source(), ": ", vars,
                        " holds the weights of '", (*recorded)[0], "' where the config has layer '", layer.keras_name,
                        "'");
      CITADEL_CHECK(!file.exists(vars) || file.children(vars, 0).empty(), IoError, file.source(), ": ", vars,
                    " holds weights, but layer '", layer.keras_name, "' has none");
      continue;
    }
    const Keras3Groups groups = keras3_groups(layer, root);
    for (const Keras3Groups::Empty& own : groups.empty)
      CITADEL_CHECK(!file.exists(own.vars) || file.children(own.vars, 0).empty(), IoError, file.source(), ": ",
                    own.vars, " holds weights, but Keras keeps those of '", layer.keras_name, "' (", layer.class_name,
                    ") in its cell or sublayers");
    for (const Keras3Groups::Weights& group : groups.weights) {
      const std::string& vars = group.vars;
      // Keras records the layer's own name beside its weights: a file whose names differ
      // belongs to another model.
      if (file.exists(vars) && group.name == layer.keras_name)
        if (const auto recorded = file.string_attribute(vars, "name", 4096); recorded && recorded->size() == 1)
          CITADEL_CHECK((*recorded)[0] == layer.keras_name, IoError, file.source(), ": ", vars,
                        " holds the weights of '", (*recorded)[0], "' where the config has layer '", layer.keras_name,
                        "'");
      CITADEL_CHECK(file.exists(vars), IoError, file.source(), ": has no weights for layer '", layer.keras_name, "' (",
                    vars, " is missing)");
      const std::vector<std::string> entries = file.children(vars, static_cast<int64_t>(group.count) + 64);
      CITADEL_CHECK(entries.size() == group.count, IoError, file.source(), ": ", vars, " holds ", entries.size(),
                    " weights but layer '", layer.keras_name, "' has ", group.count, " there");
      for (size_t i = 0; i < group.count; ++i) {
        const ParameterInfo& parameter = layer.parameters[group.first + i];
        const std::string path = vars + "/" + std::to_string(i);
        CITADEL_CHECK(file.is_dataset(path), IoError, file.source(), ": ", path, " (", parameter.name, ") is missing");
        check_shape(file, path, parameter);
        paths.push_back(path);
      }
    }
  }
  return paths;
}

std::vector<std::string> legacy_weight_paths(const Hdf5Reader& file, const std::string& root,
                                             const std::vector<LayerParameters>& layers) {
  const auto layer_names = file.string_attribute(root, "layer_names");
  CITADEL_CHECK(layer_names.has_value(), IoError, file.source(), ": ", root,
                " has no layer_names attribute; not a Keras weights file");
  // Each top-level layer's group lists the weights of the layers it holds (itself, or a
  // nested model's layers).
  std::map<std::string, size_t> planned;
  std::vector<std::string> groups;
  for (const LayerParameters& layer : layers) {
    if (!planned.count(layer.legacy_group)) groups.push_back(layer.legacy_group);
    planned[layer.legacy_group] += layer.parameters.size();
  }
  const std::set<std::string> listed(layer_names->begin(), layer_names->end());
  for (const std::string& name : *layer_names)
    CITADEL_CHECK(planned.count(name), IoError, file.source(), ": holds weights for a layer '", name,
                  "' that the model's config does not have; the file and the config disagree");
  const std::string prefix = root == "/" ? "" : root + "/";
  std::map<std::string, std::vector<std::string>> weight_names;
  for (const std::string& group : groups) {
    if (!listed.count(group)) {
      CITADEL_CHECK(planned[group] == 0, IoError, file.source(), ": has no weights for layer '", group,
                    "' (not in layer_names)");
      continue;
    }
    const auto names = file.string_attribute(prefix + group, "weight_names");
    CITADEL_CHECK(names.has_value(), IoError, file.source(), ": ", prefix + group, " has no weight_names attribute");
    CITADEL_CHECK(names->size() == planned[group], IoError, file.source(), ": ", prefix + group, " holds ",
                  names->size(), " weights but layer '", group, "' has ", planned[group]);
    weight_names[group] = *names;
  }
  std::vector<std::string> paths;
  for (const LayerParameters& layer : layers) {
    const std::string group = prefix + layer.legacy_group;
    for (size_t i = 0; i < layer.parameters.size(); ++i) {
      const size_t slot = layer.legacy_slots.at(i);
      const std::string& label = weight_names.at(layer.legacy_group).at(slot);
      // "dense/kernel:0" (Keras 2) or "sequential/dense/kernel" (Keras 3's legacy writer).
      std::string role = label.substr(label.rfind('/') + 1);
      role = role.substr(0, role.find(':'));
      CITADEL_CHECK(role == parameter_role(layer.parameters[i]), IoError, file.source(), ": ", group, " weight ",
                    slot, " is '", label, "' where the architecture has ", layer.parameters[i].name);
      const std::string path = group + "/" + label;
      CITADEL_CHECK(file.is_dataset(path), IoError, file.source(), ": ", path, " is missing");
      check_shape(file, path, layer.parameters[i]);
      paths.push_back(path);
    }
  }
  return paths;
}

std::string keras3_weights_bytes(Model& model) {
  Hdf5Writer file;
  const ParameterStore& store = model.parameters();
  std::map<std::string, int> index;
  for (size_t p = 0; p < store.parameters().size(); ++p) index[store.parameters()[p].name] = static_cast<int>(p);
  file.create_group("layers");
  for (const LayerParameters& layer : plan_layer_parameters(keras_layer_places(model), store.parameters())) {
    if (layer.parameters.empty()) {
      const std::string vars = "layers/" + layer.group + "/vars";
      file.create_group(vars);
      file.set_string_attribute(vars, "name", layer.keras_name);
      continue;
    }
    const Keras3Groups groups = keras3_groups(layer, "layers");
    for (const Keras3Groups::Empty& own : groups.empty) {
      file.create_group(own.vars);
      file.set_string_attribute(own.vars, "name", own.name.empty() ? layer.keras_name : own.name);
    }
    // Declaration order is Keras's: trainable weights first (BatchNormalization's moving
    // statistics are declared last).
    for (const Keras3Groups::Weights& group : groups.weights) {
      file.create_group(group.vars);
      file.set_string_attribute(group.vars, "name", group.name);
      for (size_t i = 0; i < group.count; ++i) {
        const ParameterInfo& parameter = layer.parameters[group.first + i];
        ConstTensorView values = store.value(index.at(parameter.name));
        file.write_floats(group.vars + "/" + std::to_string(i), parameter.shape.dims(),
                          {values.data(), static_cast<size_t>(values.numel())});
      }
    }
  }
  file.create_group("vars");
  file.set_string_attribute("vars", "name", model.name());
  return file.bytes();
}

}  // namespace citadel::detail
