// The registry of layer types: each class name with the function that builds the layer
// from its Keras config. A new layer adds one line to src/layers/layer_registry.cpp; the
// registry test then makes it pass the gradient checks and the config and model file
// round trips.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "citadel/layers/layer.hpp"
#include "citadel/layers/layer_config.hpp"

namespace citadel {

struct LayerType {
  std::string class_name;  // Keras's, e.g. "Dense"
  std::unique_ptr<Layer> (*from_config)(const LayerConfigReader& config);
};

const std::vector<LayerType>& registered_layers();
// nullptr when no layer has that class name.
const LayerType* find_layer_type(std::string_view class_name);
// The class names of registered_layers(), in order.
const std::vector<std::string>& registered_layer_types();

}  // namespace citadel
