// citadel models → .keras: citadel's Keras-style config dressed as Keras 3 writes it (a
// Sequential chain, or a graph as a Functional model), and the weights in Keras 3's HDF5
// layout.
#include "citadel/interop/keras_export.hpp"

#include <map>
#include <nlohmann/json.hpp>

#include "citadel/core/atomic_file.hpp"
#include "citadel/core/error.hpp"
#include "citadel/core/utc_time.hpp"
#include "citadel/model/model_config.hpp"
#include "citadel/version.hpp"
#include "keras_call_arguments.hpp"
#include "keras_model_tree.hpp"
#include "keras_weights.hpp"
#include "zip_archive.hpp"

namespace citadel {

using nlohmann::json;

namespace {

json float32_policy() {
  return {{"module", "keras"}, {"class_name", "DTypePolicy"}, {"config", {{"name", "float32"}}},
          {"registered_name", nullptr}};
}

json batch_shape(const Shape& shape) {
  json dims = json::array({nullptr});
  for (int64_t d : shape.dims()) dims.push_back(d);
  return dims;
}

// Keras 3 names the class of every nested object it deserializes by module; a wrapped layer
// (Bidirectional's "layer" and "backward_layer") is dressed as a layer of its own.
void add_modules(json& config) {
  for (auto& [key, value] : config.items()) {
    if (value.is_object() && value.contains("class_name") && (key == "kernel_regularizer" || key == "bias_regularizer" || key == "embeddings_regularizer" || key == "recurrent_regularizer")) {
      value["module"] = "keras.regularizers";
      value["registered_name"] = nullptr;
    }
    if (value.is_object() && value.contains("class_name") && value.contains("config") &&
        (key == "layer" || key == "backward_layer")) {
      json& nested = value["config"];
      nested["trainable"] = nested.value("trainable", true);
      nested["dtype"] = float32_policy();
      add_modules(nested);
      value["module"] = "keras.layers";
      value["registered_name"] = nullptr;
    }
  }
}

json sequential_config(Model& model) {
  const json citadel_config = json::parse(model_to_config(model));
  const Model::BuildPlan plan = model.plan(model.input_shape());
  json layers = json::array();
  layers.push_back({{"module", "keras.layers"},
                    {"class_name", "InputLayer"},
                    {"config", {{"batch_shape", batch_shape(model.input_shape())}, {"dtype", model.input_dtypes()[0]},
                                {"sparse", false}, {"name", "input_layer"}}},
                    {"registered_name", nullptr}});
  const json& citadel_layers = citadel_config["config"]["layers"];
  for (size_t i = 0; i < model.size(); ++i) {
    json config = citadel_layers[i + 1]["config"];
    config["trainable"] = config.value("trainable", true);  // a frozen layer stays frozen in Keras
    config["dtype"] = float32_policy();
    add_modules(config);
    layers.push_back({{"module", "keras.layers"},
                      {"class_name", citadel_layers[i + 1]["class_name"]},
                      {"config", config},
                      {"registered_name", nullptr},
                      {"build_config", {{"input_shape", batch_shape(i == 0 ? model.input_shape() : plan.output_shapes[i - 1])}}}});
  }
  return {{"module", "keras"},
          {"class_name", "Sequential"},
          {"config", {{"name", model.name()}, {"trainable", true}, {"dtype", float32_policy()}, {"layers", layers}}},
          {"registered_name", nullptr},
          {"build_config", {{"input_shape", batch_shape(model.input_shape())}}}};
}

// A graph as Keras 3 writes a Functional model: its layers in Keras's own order (the order
// keras.Model numbers their weights in, so model.weights.h5 and config.json agree), each
// with its calls (inbound_nodes) and the input shapes of its first call.
json functional_config(Model& model) {
  const json citadel_config = json::parse(model_to_config(model));
  std::map<std::string, json> entries;
  for (const json& entry : citadel_config["config"]["layers"]) entries[entry["name"].get<std::string>()] = entry;
  const GraphInfo& graph = model.graph();
  std::map<std::string, json> first_call_shapes;
  for (const GraphInfo::NodeInfo& node : graph.nodes) {
    if (node.call != 0) continue;
    json shapes = json::array();
    for (const int input : node.inputs) shapes.push_back(batch_shape(graph.tensors[size_t(input)].shape));
    // A recurrent layer's initial states are call arguments: Keras builds it from the sequence's shape.
    const bool trailing = !model.layer(node.layer).trailing_inputs_argument().empty();
    first_call_shapes[model.layer(node.layer).name()] = node.inputs.size() == 1 || trailing ? shapes[0] : shapes;
  }
  json layers = json::array();
  for (const detail::KerasLayerPlace& place : detail::keras_layer_places(model)) {
    const json& entry = entries.at(place.keras_name);
    if (place.class_name == "InputLayer") {
      json config = entry["config"];
      config["ragged"] = false;
      config["optional"] = false;
      layers.push_back({{"module", "keras.layers"}, {"class_name", "InputLayer"}, {"config", config},
                        {"registered_name", nullptr}, {"name", place.keras_name}, {"inbound_nodes", json::array()}});
      continue;
    }
    json config = entry["config"];
    config["trainable"] = config.value("trainable", true);  // a frozen layer stays frozen in Keras
    config["dtype"] = float32_policy();
    add_modules(config);
    json layer{{"module", "keras.layers"},
               {"class_name", entry["class_name"]},
               {"config", config},
               {"registered_name", nullptr},
               {"build_config", {{"input_shape", first_call_shapes.at(place.keras_name)}}},
               {"name", place.keras_name},
               {"inbound_nodes", entry["inbound_nodes"]}};
    if (entry["class_name"] == "MultiHeadAttention") {
      // Keras builds it from build(query_shape, value_shape, key_shape) and calls it as
      // mha(query, value, key=..., use_causal_mask=...).
      const json& shapes = first_call_shapes.at(place.keras_name);
      json shapes_dict{{"query_shape", shapes[0]}, {"value_shape", shapes[1]}};
      if (shapes.size() == 3) shapes_dict["key_shape"] = shapes[2];
      layer["build_config"] = {{"shapes_dict", shapes_dict}};
      detail::write_attention_calls(layer);
    }
    layers.push_back(std::move(layer));
  }
  // One input (output) is written as Keras writes keras.Model(x, y): not as a list.
  auto endpoints = [](const json& list) { return list.size() == 1 ? list[0] : list; };
  return {{"module", "keras.src.models.functional"},
          {"class_name", "Functional"},
          {"config", {{"name", model.name()}, {"trainable", true}, {"layers", layers},
                      {"input_layers", endpoints(citadel_config["config"]["input_layers"])},
                      {"output_layers", endpoints(citadel_config["config"]["output_layers"])}}},
          {"registered_name", "Functional"},
          {"build_config", {{"input_shape", nullptr}}}};
}

std::string keras_config(Model& model) {
  return (model.is_sequential() ? sequential_config(model) : functional_config(model)).dump();
}

}  // namespace

std::string keras_file_bytes(Model& model) {
  CITADEL_CHECK(model.built(), ValueError, "keras export: model '", model.name(), "' is not built");
  const json metadata{{"keras_version", "3.0.0"}, {"date_saved", utc_timestamp()},
                      {"producer", std::string("citadel ") + CITADEL_VERSION}};
  return detail::write_zip_archive(
      {{"metadata.json", metadata.dump()}, {"config.json", keras_config(model)}, {"model.weights.h5", detail::keras3_weights_bytes(model)}});
}

void export_keras(Model& model, const std::string& path) { write_file_atomically(path, keras_file_bytes(model)); }

void save_keras_weights(Model& model, const std::string& path) {
  CITADEL_CHECK(model.built(), ValueError, "save_weights: model '", model.name(), "' is not built");
  write_file_atomically(path, detail::keras3_weights_bytes(model));
}

}  // namespace citadel
