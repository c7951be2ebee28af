// Where Keras keeps each weight of a Sequential model in its HDF5 files, found and checked
// against the architecture's parameters before any value is read.
#pragma once

#include <string>
#include <vector>

#include "citadel/core/parameter_store.hpp"
#include "citadel/model/sequential.hpp"
#include "hdf5_image.hpp"

namespace citadel::detail {

// One model layer: the name its Keras config gives, and the parameters citadel declares
// for it (names and shapes, in declaration order: Keras's order, trainable ones first).
struct LayerParameters {
  std::string keras_name;
  std::string class_name;  // "Dense"
  std::vector<ParameterInfo> parameters;
};

// Where Keras 3 keeps each layer's weights: not under the layer's name but under its class
// in snake case, numbered in model order ("dense", "dense_1", "conv2d", "max_pooling2d").
std::vector<std::string> keras3_layer_groups(const std::vector<std::string>& class_names);

// Keras 3 (.keras's model.weights.h5, .weights.h5): layers/<group>/vars/<i>. The dataset
// path of every parameter, in the order of `layers`; IoError naming the layer and the
// dataset where the file disagrees with the architecture (missing, extra, or shaped
// differently).
std::vector<std::string> keras3_weight_paths(const Hdf5Reader& file, const std::vector<LayerParameters>& layers);
// Keras 2 .h5 (model.save or save_weights): <root>/<layer> with a weight_names attribute,
// layer_names on <root> ("model_weights" for a whole model, "/" for weights alone).
std::vector<std::string> legacy_weight_paths(const Hdf5Reader& file, const std::string& root,
                                             const std::vector<LayerParameters>& layers);

// A built model's weights in Keras 3's layout (model.weights.h5, save_weights), as bytes.
std::string keras3_weights_bytes(Model& model);

}  // namespace citadel::detail
