// Where Keras keeps each weight of a model in its HDF5 files (Sequential and Functional
// models, nested ones included), found and checked against the architecture's parameters
// before any value is read.
#pragma once

#include <string>
#include <vector>

#include "citadel/core/parameter_store.hpp"
#include "citadel/model/model.hpp"
#include "hdf5_image.hpp"
#include "keras_model_tree.hpp"

namespace citadel::detail {

// One layer of the Keras model, in Keras's saving order (InputLayers, merge layers and
// nested models included, with no parameters), and the parameters citadel declares for it
// (names and shapes, in declaration order: Keras's order, trainable ones first).
struct LayerParameters {
  std::string keras_name;    // the name Keras records beside its weights
  std::string class_name;    // "Dense"
  std::string group;         // Keras 3: its group under layers/ ("dense_1", "sequential/layers/dense")
  std::string legacy_group;  // Keras 2: the top-level layer whose group lists its weights
  std::vector<ParameterInfo> parameters;
  std::vector<size_t> legacy_slots;  // each parameter's place in legacy_group's weight_names
};

// Where Keras 3 keeps each layer's weights: not under the layer's name but under its class
// in snake case, numbered in model order ("dense", "dense_1", "conv2d", "max_pooling2d").
std::vector<std::string> keras3_layer_groups(const std::vector<std::string>& class_names);

// The places with the parameters each holds (from a plan, or a built model's store), and
// each parameter's slot in its Keras 2 group: as Keras lists a layer's weights there,
// trainable ones first (for a nested model: over all its layers, then the others), a frozen
// layer's counting as not trainable. InternalError when a parameter has no place.
std::vector<LayerParameters> plan_layer_parameters(const std::vector<KerasLayerPlace>& places,
                                                   const std::vector<ParameterInfo>& parameters);

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
