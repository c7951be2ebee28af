// Keras models in: Keras 3 `.keras` files (a zip of config.json, metadata.json and
// model.weights.h5), Keras 3 `.weights.h5` files with the model's config (model.to_json()),
// and legacy Keras 2 `.h5` files; Sequential and Functional models, with nested models
// (a model used as a layer) inlined into one citadel graph. Every file is hostile input: the archive and the HDF5
// file are bounded and checked (docs/INTEROP.md lists the checks), the architecture is
// built from the config only after refusing anything that would run code (Lambda layers,
// custom objects, functions), every weight's shape and storage is checked against the
// architecture before it is read, and libhdf5 reads the HDF5 bytes only in a sandboxed
// child process. Nothing in a Keras file is ever executed.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "citadel/io/model_file.hpp"
#include "citadel/io/saved_model.hpp"
#include "citadel/model/model.hpp"

namespace citadel {

struct KerasImportLimits {
  int64_t max_file_bytes = int64_t{4} << 30;    // the file itself
  int64_t max_config_bytes = 16 << 20;          // config.json, metadata.json, model_config
  int64_t max_archive_entries = 16;             // a .keras file holds 3
  int64_t max_weights_bytes = int64_t{4} << 30;  // model.weights.h5 inflated
  int64_t max_compression_ratio = 1000;         // per archive entry over 1 MiB
  int64_t max_layers = 10'000;
  int64_t max_parameters = int64_t{1} << 30;     // floats over all weights
  // HDF5 bytes are read only by a sandboxed child process (docs/INTEROP.md, "The HDF5
  // reader's sandbox"); a child that passes one of these limits is stopped, and the file
  // refused. The two times grow by 8 s of CPU and 30 s per GiB of file and planned weights.
  double hdf5_cpu_seconds = 10;                  // its CPU time (RLIMIT_CPU, whole seconds)
  double hdf5_wall_seconds = 30;                 // its wall-clock time, answer included
  int64_t hdf5_memory_bytes = int64_t{512} << 20;  // memory beyond twice the file and twice the planned weights
};

struct KerasImportOptions {
  // For a weights-only file (.weights.h5, or a legacy weights .h5): the model's config,
  // the text of model.to_json() (or get_config()), read from this path.
  std::string config_path;
  // Names of the output classes, in output order; default "0", "1", ...
  std::vector<std::string> class_names;
  KerasImportLimits limits = {};
};

// The imported model as a saved model (one input and one output; NotImplementedError naming
// them for a model of several, which load_keras_model reads): the architecture and weights, a schema made up for
// the data it takes (numeric columns x0, x1, ... or images, and the classes), no
// preprocessing (rows go in as Keras took them), and a record "imported_from" saying from
// what. save_saved_model(result.model, result.metadata, ...) writes it as a citadel file.
SavedModel import_keras_model(const std::string& path, const KerasImportOptions& options = {});
// The same from bytes (the format told by their signature: zip or HDF5); `source` names
// them in messages; `config_json` stands for options.config_path's text.
SavedModel import_keras_bytes(std::string_view bytes, const std::string& source, const std::string& config_json = "",
                              const KerasImportOptions& options = {});

// The model alone, built and with the file's weights: any Sequential or Functional model,
// several inputs and outputs included (keras.saving.load_model). A nested model's layers
// are named "<model>.<layer>" ("block.dense_1"), which keeps each weight's place in the file.
Model load_keras_model(const std::string& path, const KerasImportOptions& options = {});
Model load_keras_model_bytes(std::string_view bytes, const std::string& source, const std::string& config_json = "",
                             const KerasImportOptions& options = {});

// Keras's load_weights on a built citadel model (a Sequential chain or a graph): a Keras 3
// .weights.h5 or a Keras 2 .h5 whose layers (names, classes, shapes) are this model's, with
// the importer's checks; on any error the model keeps its weights. (save_keras_weights: keras_export.hpp.)
void load_keras_weights(Model& model, const std::string& path, const KerasImportLimits& limits = {});

// The architecture alone from a Keras config's text, with every check the importer makes
// (what the fuzzer drives, with the zip reading below).
Model keras_architecture(std::string_view config_json, const std::string& source,
                         const KerasImportLimits& limits = {});
// A .keras archive's config.json and metadata.json checked and the architecture built,
// without reading the weights.
Model keras_archive_architecture(std::string_view bytes, const std::string& source,
                                 const KerasImportLimits& limits = {});

}  // namespace citadel
