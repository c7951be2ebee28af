// Keras's weight layouts, matched parameter by parameter.
#include "keras_weights.hpp"

#include <map>
#include <set>

#include "../model/keras_names.hpp"
#include "citadel/core/error.hpp"
#include "citadel/model/sequential.hpp"

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

std::vector<std::string> keras3_weight_paths(const Hdf5Reader& file, const std::vector<LayerParameters>& layers) {
  // Keras 3 writes layers/...; the Keras 2.13-2.15 preview of the format wrote the same
  // under _layer_checkpoint_dependencies.
  std::string root = "layers";
  if (!file.exists(root) && file.exists("_layer_checkpoint_dependencies")) root = "_layer_checkpoint_dependencies";
  std::vector<std::string> class_names;
  for (const LayerParameters& layer : layers) class_names.push_back(layer.class_name);
  const std::vector<std::string> groups = keras3_layer_groups(class_names);
  const std::set<std::string> known(groups.begin(), groups.end());
  if (file.exists(root))
    for (const std::string& name : file.children(root, static_cast<int64_t>(layers.size()) + 64))
      CITADEL_CHECK(known.count(name), IoError, file.source(), ": holds weights under ", root, "/", name,
                    ", which no layer of the model's config has; the file and the config disagree");
  std::vector<std::string> paths;
  for (size_t l = 0; l < layers.size(); ++l) {
    const LayerParameters& layer = layers[l];
    const std::string vars = root + "/" + groups[l] + "/vars";
    // Keras records the layer's own name beside its weights: a file whose names differ
    // belongs to another model.
    if (file.exists(vars))
      if (const auto recorded = file.string_attribute(vars, "name", 4096); recorded && recorded->size() == 1)
        CITADEL_CHECK((*recorded)[0] == layer.keras_name, IoError, file.source(), ": ", vars, " holds the weights of '",
                      (*recorded)[0], "' where the config has layer '", layer.keras_name, "'");
    if (layer.parameters.empty()) {
      CITADEL_CHECK(!file.exists(vars) || file.children(vars, 0).empty(), IoError, file.source(), ": ", vars,
                    " holds weights, but layer '", layer.keras_name, "' has none");
      continue;
    }
    CITADEL_CHECK(file.exists(vars), IoError, file.source(), ": has no weights for layer '", layer.keras_name,
                  "' (", vars, " is missing)");
    const std::vector<std::string> entries = file.children(vars, static_cast<int64_t>(layer.parameters.size()) + 64);
    CITADEL_CHECK(entries.size() == layer.parameters.size(), IoError, file.source(), ": ", vars, " holds ",
                  entries.size(), " weights but layer '", layer.keras_name, "' has ", layer.parameters.size());
    for (size_t i = 0; i < layer.parameters.size(); ++i) {
      const std::string path = vars + "/" + std::to_string(i);
      CITADEL_CHECK(file.is_dataset(path), IoError, file.source(), ": ", path, " (", layer.parameters[i].name,
                    ") is missing");
      check_shape(file, path, layer.parameters[i]);
      paths.push_back(path);
    }
  }
  return paths;
}

std::vector<std::string> legacy_weight_paths(const Hdf5Reader& file, const std::string& root,
                                             const std::vector<LayerParameters>& layers) {
  const auto layer_names = file.string_attribute(root, "layer_names");
  CITADEL_CHECK(layer_names.has_value(), IoError, file.source(), ": ", root,
                " has no layer_names attribute; not a Keras weights file");
  std::set<std::string> known, listed(layer_names->begin(), layer_names->end());
  for (const LayerParameters& layer : layers) known.insert(layer.keras_name);
  for (const std::string& name : *layer_names)
    CITADEL_CHECK(known.count(name), IoError, file.source(), ": holds weights for a layer '", name,
                  "' that the model's config does not have; the file and the config disagree");
  const std::string prefix = root == "/" ? "" : root + "/";
  std::vector<std::string> paths;
  for (const LayerParameters& layer : layers) {
    if (!listed.count(layer.keras_name)) {
      CITADEL_CHECK(layer.parameters.empty(), IoError, file.source(), ": has no weights for layer '",
                    layer.keras_name, "' (not in layer_names)");
      continue;
    }
    const std::string group = prefix + layer.keras_name;
    const auto weight_names = file.string_attribute(group, "weight_names");
    CITADEL_CHECK(weight_names.has_value(), IoError, file.source(), ": ", group, " has no weight_names attribute");
    CITADEL_CHECK(weight_names->size() == layer.parameters.size(), IoError, file.source(), ": ", group, " holds ",
                  weight_names->size(), " weights but layer '", layer.keras_name, "' has ", layer.parameters.size());
    for (size_t i = 0; i < layer.parameters.size(); ++i) {
      // "dense/kernel:0" (Keras 2) or "sequential/dense/kernel" (Keras 3's legacy writer).
      std::string role = (*weight_names)[i].substr((*weight_names)[i].rfind('/') + 1);
      role = role.substr(0, role.find(':'));
      CITADEL_CHECK(role == parameter_role(layer.parameters[i]), IoError, file.source(), ": ", group, " weight ", i,
                    " is '", (*weight_names)[i], "' where the architecture has ", layer.parameters[i].name);
      const std::string path = group + "/" + (*weight_names)[i];
      CITADEL_CHECK(file.is_dataset(path), IoError, file.source(), ": ", path, " is missing");
      check_shape(file, path, layer.parameters[i]);
      paths.push_back(path);
    }
  }
  return paths;
}

std::string keras3_weights_bytes(Model& model) {
  Hdf5Writer file;
  ParameterStore& store = model.parameters();
  file.create_group("layers");
  std::vector<std::string> class_names;
  for (size_t i = 0; i < model.size(); ++i) class_names.push_back(model.layer(i).type());
  const std::vector<std::string> groups = keras3_layer_groups(class_names);
  for (size_t i = 0; i < model.size(); ++i) {
    const std::string& name = model.layer(i).name();
    const std::string vars = "layers/" + groups[i] + "/vars";
    file.create_group(vars);
    file.set_string_attribute(vars, "name", name);
    int index = 0;
    // Declaration order is Keras's: trainable weights first (BatchNormalization's moving
    // statistics are declared last).
    for (size_t p = 0; p < store.parameters().size(); ++p) {
      const ParameterInfo& info = store.parameters()[p];
      if (info.name.rfind(name + "/", 0) != 0) continue;
      ConstTensorView values = store.value(static_cast<int>(p));
      file.write_floats(vars + "/" + std::to_string(index++), info.shape.dims(),
                        {values.data(), static_cast<size_t>(values.numel())});
    }
  }
  file.create_group("vars");
  file.set_string_attribute("vars", "name", model.name());
  return file.bytes();
}

}  // namespace citadel::detail
