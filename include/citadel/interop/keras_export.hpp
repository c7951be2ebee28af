// citadel models out as Keras 3 `.keras` files: config.json in the shape Keras 3 writes
// (modules, dtype policies, build configs), metadata.json, and model.weights.h5 with each
// layer's weights at layers/<name>/vars/<i>. keras.saving.load_model reads them, and so
// does citadel's importer (bit-identically).
#pragma once

#include <string>

#include "citadel/model/model.hpp"

namespace citadel {

// The .keras archive's bytes.
std::string keras_file_bytes(Model& model);
// Writes them atomically to `path`.
void export_keras(Model& model, const std::string& path);
// Keras's save_weights: the weights alone as a Keras 3 .weights.h5 file, atomically.
void save_keras_weights(Model& model, const std::string& path);

}  // namespace citadel
