// Model files: safetensors files (https://huggingface.co/docs/safetensors) that any
// safetensors reader opens. Tensors are named "<layer>/<parameter>" ("dense_1/kernel",
// kernels (inputs, units) row-major, float32 little-endian); the architecture, compile
// settings and any caller metadata (preprocessing, classes) are JSON strings in
// __metadata__. Loading never executes anything and checks every size against the file.
#pragma once

#include <cstdint>
#include <map>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "citadel/model/model.hpp"
#include "citadel/model/sequential.hpp"

namespace citadel {

using Metadata = std::map<std::string, std::string>;

inline constexpr const char* kModelFormat = "citadel-model";
// Version 1: a Sequential architecture; 2: a graph (written only for graphs, so files of
// Sequential models still read in older builds); 3: a saved model whose schema record names
// several outputs (written only for those, through the caller's "format_version" record).
inline constexpr int kModelFormatVersion = 3;

// What a model file may make the loader spend. The architecture is checked against the
// tensors the file really holds before anything is built, so a file can only make the
// loader allocate about what it weighs; these caps bound the rest.
struct ModelFileLimits {
  int64_t max_header_bytes = 16 << 20;
  int max_json_depth = 32;
  int64_t max_tensors = 100'000;
  int64_t max_parameters = int64_t{1} << 30;         // floats over all parameters (4 GiB)
  int64_t max_activations_per_row = int64_t{1} << 25;  // floats over all layer outputs for one input row (128 MiB)
};

// Writes the built model (weights, architecture, compile settings, `extra` metadata)
// atomically: temporary file, fsync, rename, fsync of the directory (Keras's model.save).
// As Keras 3's save, it refuses a path without its format's extension (.safetensors).
void save_model(Model& model, const std::string& path, const Metadata& extra = {});
// Throws ValueError unless `path` ends in .safetensors (any case), which model files must.
void check_model_file_extension(const std::string& path);
// Keras's save_weights / load_weights: the weights alone, as a safetensors file; loading
// needs a built model whose parameter names and shapes match exactly.
void save_weights(Model& model, const std::string& path);
void load_weights(Model& model, const std::string& path);

// Float tensors stored after the model's parameters (a checkpoint's optimizer state).
using ExtraTensors = std::vector<std::pair<std::string, std::span<const float>>>;
// The bytes save_model writes, under `format`, with `tensors` appended.
std::string model_file_bytes(Model& model, const Metadata& extra, const ExtraTensors& tensors = {},
                             const std::string& format = kModelFormat);

struct LoadedModel {
  Model model;        // built, with the saved weights; compiled when the file says how
  Metadata metadata;  // everything in __metadata__
};

LoadedModel load_model(const std::string& path, const ModelFileLimits& limits = {});
// The same from bytes in memory (a decrypted file, a fuzzer's input); `source` names them.
LoadedModel load_model_from_bytes(std::string_view bytes, const std::string& source,
                                  const ModelFileLimits& limits = {});

// Just the __metadata__ and tensor table, validated (for `citadel info`).
struct ModelFileSummary {
  Metadata metadata;
  std::map<std::string, Shape> tensors;
  int64_t file_bytes = 0;
};
ModelFileSummary inspect_model_file(std::string_view bytes, const std::string& source,
                                    const ModelFileLimits& limits = {});

// A tensor name as this version names it ("conv2_d/kernel", from files written before the
// one Keras naming rule, becomes "conv2d/kernel"); loaders look tensors up by it.
std::string current_tensor_name(const std::string& name);

// Reads a whole file; IoError naming it when it cannot.
std::string read_file_bytes(const std::string& path);

}  // namespace citadel
