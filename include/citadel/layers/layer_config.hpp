// A layer's Keras-style settings ("units", "activation", "kernel_size", ...) as the layer
// itself reads and writes them, without JSON: the model module supplies the JSON-backed
// reader and writer (src/model/json_layer_config.*). Readers are strict and bounded, and
// every error names the layer and the key.
#pragma once

#include <array>
#include <cstdint>
#include <initializer_list>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "citadel/core/parameter_store.hpp"

namespace citadel {

class Layer;

// Bounds on what a hostile config may ask for.
struct LayerConfigLimits {
  int64_t max_units = 1 << 24;  // units, filters, dimensions of shapes
  int64_t max_kernel = 1024;    // kernel, pool, stride and dilation sizes
};

class LayerConfigReader {
 public:
  virtual ~LayerConfigReader() = default;

  // "model.json: layers[2] (Dense)", the prefix of every error.
  virtual const std::string& where() const = 0;
  virtual const LayerConfigLimits& limits() const = 0;

  // Every key must be one of `known`, an input shape key (input_shape,
  // batch_input_shape, batch_shape) or metadata Keras writes (name, dtype, ...); a typo is
  // an error rather than a silently different layer.
  virtual void check_keys(std::initializer_list<const char*> known) const = 0;
  virtual bool has(const char* key) const = 0;

  // Required when there is no fallback.
  virtual std::string string(const char* key) const = 0;
  virtual std::string string(const char* key, const std::string& fallback) const = 0;
  virtual double number(const char* key) const = 0;
  virtual double number(const char* key, double fallback) const = 0;
  virtual bool boolean(const char* key, bool fallback) const = 0;
  virtual int64_t integer(const char* key, int64_t low, int64_t high) const = 0;
  // A 2-D size as 3 or [3, 3], each from 1 to limits().max_kernel.
  virtual std::array<int64_t, 2> pair(const char* key) const = 0;
  virtual std::array<int64_t, 2> pair(const char* key, std::array<int64_t, 2> fallback) const = 0;
  // A 1-D size as 3 or [3], from 1 to limits().max_kernel (Conv1D's kernel_size).
  virtual int64_t single(const char* key) const = 0;
  virtual int64_t single(const char* key, int64_t fallback) const = 0;
  // One axis as a number or a list of one (LayerNormalization's -1 or [-1]).
  virtual int64_t axis(const char* key, int64_t fallback) const = 0;
  // A list of 1 to 7 dimensions, one of which may be -1 (Reshape's target_shape).
  virtual std::vector<int64_t> dimensions(const char* key) const = 0;

  // Settings citadel supports with one value only (data_format "channels_last", axis -1).
  virtual void require(const char* key, const char* only) const = 0;
  virtual void require(const char* key, int64_t only) const = 0;
  virtual void require(const char* key, bool only) const = 0;
  // The key is absent or null (constraints citadel does not implement).
  virtual void require_null(const char* key) const = 0;

  // The layer's input shape without the batch axis: from input_dim (allowed only where
  // check_keys lists it), input_shape, batch_input_shape or batch_shape, else from a
  // preceding InputLayer, else empty (the model infers it).
  virtual std::vector<int64_t> input_shape() const = 0;
  // An initializer as "glorot_uniform" or {"class_name": "GlorotUniform", ...}.
  virtual std::string initializer(const char* key, const std::string& fallback) const = 0;
  // A regularizer as "l2" or {"class_name": "L1L2", "config": {"l1": 0, "l2": 0.01}}.
  virtual Regularizer regularizer(const char* key) const = 0;
  // A nested layer ({"class_name": ..., "config": {...}}, Bidirectional's "layer"), built by
  // its registered type's from_config, named and frozen as its config says. Required.
  virtual std::unique_ptr<Layer> layer(const char* key) const = 0;
};

class LayerConfigWriter {
 public:
  virtual ~LayerConfigWriter() = default;
  virtual void set_integer(const char* key, int64_t value) = 0;
  virtual void set_number(const char* key, double value) = 0;
  virtual void set_boolean(const char* key, bool value) = 0;
  virtual void set_string(const char* key, const std::string& value) = 0;
  virtual void set_list(const char* key, std::span<const int64_t> values) = 0;
  // Null when inactive, else {"class_name": "L1L2", ...}.
  virtual void set_regularizer(const char* key, const Regularizer& regularizer) = 0;
  // A nested layer as {"class_name": its type, "config": its settings and name}.
  virtual void set_layer(const char* key, const Layer& layer) = 0;
};

}  // namespace citadel
