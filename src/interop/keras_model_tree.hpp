// A Keras model as Keras saves it: its layers in Keras's order, nested models (a Sequential
// or Functional model used as a layer) with their own layers, and where each layer keeps its
// weights; and, for a config with nested models, the one flat graph citadel builds, each
// nested model's layers inlined under the name "<model>.<layer>".
#pragma once

#include <cstdint>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "citadel/model/model.hpp"

namespace citadel::detail {

// One layer of a Keras model (or of a model nested in it), in the order Keras saves them.
struct KerasLayerPlace {
  std::string keras_name;    // its name in its own model, which Keras records beside its weights
  std::string class_name;    // "Dense", "InputLayer", "Sequential", "Functional"
  std::string citadel_name;  // the citadel layer with its weights; "" for InputLayers and models
  std::string group;         // Keras 3: its group under layers/ ("dense_1", "sequential/layers/dense")
  std::string legacy_group;  // Keras 2 (.h5): the top-level layer whose group holds its weights
  bool trainable = true;     // false when it, or a model it is in, is frozen
};

// Calls `visit` on each config with a list of layers in `root` (the whole {"class_name",
// "config"} object or a bare config): the model's own, then those of the models nested in it,
// at any depth, each once.
void for_each_model_config(nlohmann::json& root, const std::function<void(nlohmann::json& config)>& visit);

// Whether a model config (the whole {"class_name", "config"} object, or a bare Sequential
// config) has a Sequential or Functional model among its layers.
bool has_nested_models(const nlohmann::json& root);

struct FlatKerasConfig {
  std::string config;                   // a Functional config citadel's model_from_config reads
  std::vector<KerasLayerPlace> places;  // every layer of every model, in Keras's saving order
};

// The config with its nested models inlined, each call of a nested model a call of each of
// its layers (so a nested model called twice shares its weights, as in Keras). IoError
// naming `source` and the model and layer for a reference to a missing layer, call or
// output, a cycle, a layer leading to no output, or more than `max_calls` calls once
// inlined. The layers' own settings are left to model_from_config to check.
FlatKerasConfig flatten_nested_models(const nlohmann::json& root, const std::string& source, int64_t max_calls);

// A citadel model's layers as Keras saves them: a Sequential chain's layers in order, a
// graph's InputLayers and layers in Keras's order (keras_layer_order.hpp).
std::vector<KerasLayerPlace> keras_layer_places(const Model& model);

}  // namespace citadel::detail
