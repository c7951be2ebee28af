// The JSON side of LayerConfigReader and LayerConfigWriter: one layer's
// {"class_name": ..., "config": {...}} object as the layers read and write it.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "citadel/layers/layer_config.hpp"

namespace citadel::detail {

class JsonLayerConfigReader final : public LayerConfigReader {
 public:
  // `layer` is the whole layer object; `where` names it in errors ("file: layers[2]");
  // `pending_input_shape` is a preceding InputLayer's, for a layer that declares none.
  JsonLayerConfigReader(const nlohmann::json& layer, std::string where, const LayerConfigLimits& limits,
                        std::vector<int64_t> pending_input_shape = {});

  const std::string& type() const { return type_; }
  // Whether the layer asked for its input shape (an InputLayer's shape must be used).
  bool input_shape_read() const { return input_shape_read_; }

  const std::string& where() const override { return where_; }
  const LayerConfigLimits& limits() const override { return limits_; }
  void check_keys(std::initializer_list<const char*> known) const override;
  bool has(const char* key) const override;
  std::string string(const char* key) const override;
  std::string string(const char* key, const std::string& fallback) const override;
  double number(const char* key) const override;
  double number(const char* key, double fallback) const override;
  bool boolean(const char* key, bool fallback) const override;
  int64_t integer(const char* key, int64_t low, int64_t high) const override;
  int64_t single(const char* key) const override;
  int64_t single(const char* key, int64_t fallback) const override;
  int64_t axis(const char* key, int64_t fallback) const override;
  std::array<int64_t, 2> pair(const char* key) const override;
  std::array<int64_t, 2> pair(const char* key, std::array<int64_t, 2> fallback) const override;
  std::vector<int64_t> dimensions(const char* key) const override;
  void require(const char* key, const char* only) const override;
  void require(const char* key, int64_t only) const override;
  void require(const char* key, bool only) const override;
  void require_null(const char* key) const override;
  std::vector<int64_t> input_shape() const override;
  std::string initializer(const char* key, const std::string& fallback) const override;
  Regularizer regularizer(const char* key) const override;
  std::unique_ptr<Layer> layer(const char* key) const override;

  // The InputLayer's own shape: batch_shape, batch_input_shape or input_shape.
  std::vector<int64_t> declared_input_shape() const;

 private:
  void require_value(const char* key, const nlohmann::json& only) const;
  void required(const char* key) const;

  std::string where_, type_;
  nlohmann::json config_;
  LayerConfigLimits limits_;
  std::vector<int64_t> pending_input_shape_;
  mutable bool input_shape_read_ = false;
};

class JsonLayerConfigWriter final : public LayerConfigWriter {
 public:
  void set_integer(const char* key, int64_t value) override { config_[key] = value; }
  void set_number(const char* key, double value) override { config_[key] = value; }
  void set_boolean(const char* key, bool value) override { config_[key] = value; }
  void set_string(const char* key, const std::string& value) override { config_[key] = value; }
  void set_list(const char* key, std::span<const int64_t> values) override;
  void set_regularizer(const char* key, const Regularizer& regularizer) override;
  void set_layer(const char* key, const Layer& layer) override;

  nlohmann::json& config() { return config_; }

 private:
  nlohmann::json config_ = nlohmann::json::object();
};

}  // namespace citadel::detail
