// Models written down as JSON, shaped like Keras's model config (model.get_config() /
// model.to_json()): {"class_name": "Sequential", "config": {"layers": [{"class_name":
// "Dense", "config": {"units": 10, "activation": "relu"}}, ...]}}. Parsing is strict and
// bounded: hostile files get an error naming the field, never a crash.
#pragma once

#include <string>
#include <string_view>

#include "citadel/model/sequential.hpp"

namespace citadel {

struct ModelConfigLimits {
  int64_t max_bytes = 1 << 20;
  int max_depth = 32;
  int64_t max_layers = 10'000;
  int64_t max_units = 1 << 24;
  int64_t max_kernel = 1024;  // kernel, pool, stride and dilation sizes
};

// Builds the (uncompiled) model; `source` names the text in errors (usually its path).
Sequential model_from_config(std::string_view json, const std::string& source, const ModelConfigLimits& limits = {});
Sequential load_model_config(const std::string& path, const ModelConfigLimits& limits = {});
// The built model's config as JSON text, with an InputLayer giving its input shape;
// model_from_config of it rebuilds the same architecture.
std::string model_to_config(Sequential& model);

}  // namespace citadel
