// Models written down as JSON, shaped like Keras's model config (model.get_config() /
// model.to_json()): {"class_name": "Sequential", "config": {"layers": [{"class_name":
// "Dense", "config": {"units": 10, "activation": "relu"}}, ...]}}, or a Functional graph
// whose layers name their inputs (inbound_nodes, in Keras 3's and Keras 2's forms).
// Parsing is strict and bounded: hostile files get an error naming the field, never a
// crash, and a graph of N layers costs O(N) to check.
#pragma once

#include <string>
#include <string_view>

#include "citadel/model/model.hpp"
#include "citadel/model/sequential.hpp"

namespace citadel {

struct ModelConfigLimits {
  int64_t max_bytes = 1 << 20;
  int max_depth = 32;
  int64_t max_layers = 10'000;
  int64_t max_units = 1 << 24;
  int64_t max_kernel = 1024;  // kernel, pool, stride and dilation sizes
  int64_t max_calls = 100'000;  // inbound nodes (calls of layers) in a graph
};

// Builds the (uncompiled) model: a Sequential chain (is_sequential()) or a graph;
// `source` names the text in errors (usually its path). A Sequential config converts to
// Sequential (Sequential model = model_from_config(...)).
Model model_from_config(std::string_view json, const std::string& source, const ModelConfigLimits& limits = {});
Model load_model_config(const std::string& path, const ModelConfigLimits& limits = {});
// The built model's config as JSON text: a Sequential model's with an InputLayer giving
// its input shape, a graph's as Keras 3 writes a Functional model; model_from_config of it
// rebuilds the same architecture.
std::string model_to_config(const Model& model);

}  // namespace citadel
