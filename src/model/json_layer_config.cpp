// Strict, bounded reading of one layer's JSON config: unknown keys, wrong types and
// out-of-range values are errors naming the layer and the key.
#include "json_layer_config.hpp"

#include <cctype>
#include <cstdlib>
#include <set>

#include "citadel/core/error.hpp"
#include "citadel/layers/layer.hpp"
#include "citadel/layers/layer_registry.hpp"
#include "citadel/layers/regularizers.hpp"
#include "keras_names.hpp"

namespace citadel::detail {

using nlohmann::json;

JsonLayerConfigReader::JsonLayerConfigReader(const json& layer, std::string where, const LayerConfigLimits& limits,
                                             std::vector<int64_t> pending_input_shape)
    : where_(std::move(where)), limits_(limits), pending_input_shape_(std::move(pending_input_shape)) {
  CITADEL_CHECK(layer.is_object(), ValueError, where_, ": expected an object with class_name and config");
  CITADEL_CHECK(layer.contains("class_name") && layer["class_name"].is_string(), ValueError, where_,
                ": 'class_name' (a string) is missing");
  type_ = layer["class_name"].get<std::string>();
  where_ += " (" + type_ + ")";
  if (layer.contains("config")) {
    config_ = layer["config"];
    CITADEL_CHECK(config_.is_object(), ValueError, where_, ": 'config' must be an object");
  } else {
    config_ = json::object();
  }
}

void JsonLayerConfigReader::check_keys(std::initializer_list<const char*> known_keys) const {
  std::set<std::string> known(known_keys.begin(), known_keys.end());
  for (const char* metadata : {"name", "trainable", "dtype", "module", "registered_name", "input_shape",
                               "batch_input_shape", "batch_shape"})
    known.insert(metadata);
  for (const char* must_be_null :
       {"kernel_constraint", "bias_constraint", "activity_regularizer", "noise_shape", "lora_rank",
        "quantization_config", "renorm_clipping"})
    if (config_.contains(must_be_null)) {
      require_null(must_be_null);
      known.insert(must_be_null);
    }
  for (const auto& [key, value] : config_.items())
    CITADEL_CHECK(known.count(key), ValueError, where_, ": unknown setting '", key, "'");
}

bool JsonLayerConfigReader::has(const char* key) const { return config_.contains(key) && !config_[key].is_null(); }

void JsonLayerConfigReader::required(const char* key) const {
  CITADEL_CHECK(has(key), ValueError, where_, ": '", key, "' is required");
}

std::string JsonLayerConfigReader::string(const char* key) const {
  required(key);
  return string(key, "");
}

std::string JsonLayerConfigReader::string(const char* key, const std::string& fallback) const {
  if (!has(key)) return fallback;
  CITADEL_CHECK(config_[key].is_string(), ValueError, where_, ": '", key, "' must be a string, got ",
                config_[key].dump());
  return config_[key].get<std::string>();
}

double JsonLayerConfigReader::number(const char* key) const {
  required(key);
  return number(key, 0);
}

double JsonLayerConfigReader::number(const char* key, double fallback) const {
  if (!has(key)) return fallback;
  CITADEL_CHECK(config_[key].is_number(), ValueError, where_, ": '", key, "' must be a number, got ",
                config_[key].dump());
  return config_[key].get<double>();
}

bool JsonLayerConfigReader::boolean(const char* key, bool fallback) const {
  if (!has(key)) return fallback;
  CITADEL_CHECK(config_[key].is_boolean(), ValueError, where_, ": '", key, "' must be true or false");
  return config_[key].get<bool>();
}

int64_t JsonLayerConfigReader::integer(const char* key, int64_t low, int64_t high) const {
  required(key);
  const json& value = config_[key];
  CITADEL_CHECK(value.is_number_integer() && value.get<int64_t>() >= low && value.get<int64_t>() <= high, ValueError,
                where_, ": '", key, "' must be a whole number from ", low, " to ", high, ", got ", value.dump());
  return value.get<int64_t>();
}

int64_t JsonLayerConfigReader::single(const char* key) const {
  required(key);
  return single(key, 1);
}

int64_t JsonLayerConfigReader::single(const char* key, int64_t fallback) const {
  if (!has(key)) return fallback;
  const json& value = config_[key];
  const json& item = value.is_array() && value.size() == 1 ? value[0] : value;
  CITADEL_CHECK(item.is_number_integer() && item.get<int64_t>() >= 1 && item.get<int64_t>() <= limits_.max_kernel,
                ValueError, where_, ": '", key, "' must be a whole number from 1 to ", limits_.max_kernel,
                " or a list of one, got ", value.dump());
  return item.get<int64_t>();
}

int64_t JsonLayerConfigReader::axis(const char* key, int64_t fallback) const {
  if (!has(key)) return fallback;
  const json& value = config_[key];
  const json& item = value.is_array() && value.size() == 1 ? value[0] : value;
  CITADEL_CHECK(item.is_number_integer() && std::abs(item.get<int64_t>()) <= 8, ValueError, where_, ": '", key,
                "' must be one axis (a whole number or a list of one), got ", value.dump());
  return item.get<int64_t>();
}

std::array<int64_t, 2> JsonLayerConfigReader::pair(const char* key) const {
  required(key);
  return pair(key, {1, 1});
}

std::array<int64_t, 2> JsonLayerConfigReader::pair(const char* key, std::array<int64_t, 2> fallback) const {
  if (!has(key)) return fallback;
  const json& value = config_[key];
  auto entry = [&](const json& item) {
    CITADEL_CHECK(item.is_number_integer() && item.get<int64_t>() >= 1 && item.get<int64_t>() <= limits_.max_kernel,
                  ValueError, where_, ": '", key, "' entries must be whole numbers from 1 to ", limits_.max_kernel,
                  ", got ", value.dump());
    return item.get<int64_t>();
  };
  if (value.is_number()) return {entry(value), entry(value)};
  CITADEL_CHECK(value.is_array() && value.size() == 2, ValueError, where_, ": '", key,
                "' must be a number or a list of two, got ", value.dump());
  return {entry(value[0]), entry(value[1])};
}

std::vector<int64_t> JsonLayerConfigReader::dimensions(const char* key) const {
  required(key);
  const json& dims = config_[key];
  CITADEL_CHECK(dims.is_array() && !dims.empty() && dims.size() < 8, ValueError, where_, ": '", key,
                "' must be a list of 1 to 7 dimensions");
  std::vector<int64_t> shape;
  for (const json& dim : dims) {
    CITADEL_CHECK(dim.is_number_integer() &&
                      (dim.get<int64_t>() == -1 || (dim.get<int64_t>() >= 1 && dim.get<int64_t>() <= limits_.max_units)),
                  ValueError, where_, ": '", key, "' entries must be positive whole numbers or -1, got ", dim.dump());
    shape.push_back(dim.get<int64_t>());
  }
  return shape;
}

void JsonLayerConfigReader::require_value(const char* key, const json& only) const {
  if (!has(key)) return;
  CITADEL_CHECK(config_[key] == only, NotImplementedError, where_, ": '", key, "' is supported only as ", only.dump(),
                ", got ", config_[key].dump());
}

void JsonLayerConfigReader::require(const char* key, const char* only) const { require_value(key, only); }
void JsonLayerConfigReader::require(const char* key, int64_t only) const { require_value(key, only); }
void JsonLayerConfigReader::require(const char* key, bool only) const { require_value(key, only); }

void JsonLayerConfigReader::require_null(const char* key) const {
  CITADEL_CHECK(!has(key), NotImplementedError, where_, ": '", key, "' is not supported (only null)");
}

std::vector<int64_t> JsonLayerConfigReader::declared_input_shape() const {
  // Dense's input_dim (Keras 2) is its input width; Embedding's is its vocabulary size.
  if (has("input_dim") && type() != "Embedding") return {integer("input_dim", 1, limits_.max_units)};
  for (const char* key : {"input_shape", "batch_input_shape", "batch_shape"}) {
    if (!has(key)) continue;
    const json& dims = config_[key];
    CITADEL_CHECK(dims.is_array() && !dims.empty() && dims.size() <= 8, ValueError, where_, ": '", key,
                  "' must be a list of up to 8 dimensions");
    std::vector<int64_t> shape;
    // Only input_shape leaves out the batch entry (null in Keras's files).
    for (size_t i = std::string(key) == "input_shape" ? 0 : 1; i < dims.size(); ++i) {
      CITADEL_CHECK(dims[i].is_number_integer() && dims[i].get<int64_t>() >= 1 &&
                        dims[i].get<int64_t>() <= limits_.max_units,
                    ValueError, where_, ": '", key, "' entry ", i, " must be a positive whole number, got ",
                    dims[i].dump());
      shape.push_back(dims[i].get<int64_t>());
    }
    CITADEL_CHECK(!shape.empty(), ValueError, where_, ": '", key, "' has no feature dimensions");
    return shape;
  }
  return {};
}

std::vector<int64_t> JsonLayerConfigReader::input_shape() const {
  input_shape_read_ = true;
  std::vector<int64_t> shape = declared_input_shape();
  return shape.empty() ? pending_input_shape_ : shape;
}

std::string JsonLayerConfigReader::initializer(const char* key, const std::string& fallback) const {
  if (!has(key)) return fallback;
  const json& value = config_[key];
  if (value.is_string()) return value.get<std::string>();
  CITADEL_CHECK(value.is_object() && value.contains("class_name") && value["class_name"].is_string(), ValueError,
                where_, ": '", key, "' must be a name or an object with class_name");
  return keras_snake_case(value["class_name"].get<std::string>());
}

Regularizer JsonLayerConfigReader::regularizer(const char* key) const {
  if (!has(key)) return {};
  const json& value = config_[key];
  std::string name;
  json settings = json::object();
  if (value.is_string()) {
    name = value.get<std::string>();
  } else {
    CITADEL_CHECK(value.is_object() && value.contains("class_name") && value["class_name"].is_string(), ValueError,
                  where_, ": '", key, "' must be a name or an object with class_name");
    name = keras_snake_case(value["class_name"].get<std::string>());
    if (value.contains("config")) settings = value["config"];
  }
  auto factor = [&](const char* field, double fallback) {
    if (!settings.is_object() || !settings.contains(field)) return fallback;
    CITADEL_CHECK(settings[field].is_number() && settings[field].get<double>() >= 0, ValueError, where_, ": '", key,
                  "' field '", field, "' must be a number >= 0");
    return settings[field].get<double>();
  };
  if (name == "l1") return L1(static_cast<float>(factor("l1", 0.01)));
  if (name == "l2") return L2(static_cast<float>(factor("l2", 0.01)));
  if (name == "l1_l2" || name == "l1l2")
    return L1L2(static_cast<float>(factor("l1", 0.0)), static_cast<float>(factor("l2", 0.0)));
  throw ValueError(where_ + ": unknown regularizer '" + name + "'; known: L1, L2, L1L2");
}

std::unique_ptr<Layer> JsonLayerConfigReader::layer(const char* key) const {
  required(key);
  const json& entry = config_[key];
  CITADEL_CHECK(entry.is_object() && entry.contains("class_name") && entry["class_name"].is_string(), ValueError,
                where_, ": '", key, "' must be a layer ({\"class_name\": ..., \"config\": {...}})");
  JsonLayerConfigReader reader(entry, where_ + " '" + key + "'", limits_);
  const LayerType* type = find_layer_type(reader.type());
  CITADEL_CHECK(type != nullptr, ValueError, reader.where(), ": unknown layer class '", reader.type(), "'");
  std::unique_ptr<Layer> layer = type->from_config(reader);
  if (reader.has("name")) {
    // It names the nested layer's weights ("bidirectional/forward_lstm/kernel").
    const std::string name = reader.string("name");
    bool safe = !name.empty() && name.size() <= 128;
    for (const char c : name)
      safe = safe && (std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.' || c == '-');
    CITADEL_CHECK(safe, ValueError, reader.where(), ": name '", name.substr(0, 128),
                  "' must be 1 to 128 letters, digits, '_', '.' or '-'");
    layer->set_name(name);
  }
  layer->set_trainable(reader.boolean("trainable", true));
  return layer;
}

void JsonLayerConfigWriter::set_layer(const char* key, const Layer& layer) {
  JsonLayerConfigWriter nested;
  layer.get_config(nested);
  nested.config_["name"] = layer.name();
  if (!layer.trainable()) nested.config_["trainable"] = false;
  config_[key] = {{"class_name", layer.type()}, {"config", nested.config_}};
}

void JsonLayerConfigWriter::set_list(const char* key, std::span<const int64_t> values) {
  config_[key] = std::vector<int64_t>(values.begin(), values.end());
}

void JsonLayerConfigWriter::set_regularizer(const char* key, const Regularizer& regularizer) {
  if (!regularizer.active()) {
    config_[key] = nullptr;
    return;
  }
  config_[key] = {{"class_name", "L1L2"}, {"config", {{"l1", regularizer.l1}, {"l2", regularizer.l2}}}};
}

}  // namespace citadel::detail
