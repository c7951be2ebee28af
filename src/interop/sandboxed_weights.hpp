// Keras's HDF5 files read only inside the sandbox (sandbox.hpp): the parent plans the
// weights from the config, the child finds and checks every dataset against that plan with
// libhdf5 and answers with the tensors in plan order, and the parent takes nothing it did
// not plan (each tensor's byte count, strings bounded). libhdf5 never parses hostile
// bytes in the calling process.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "keras_weights.hpp"
#include "sandbox.hpp"

namespace citadel::detail {

struct SandboxedWeights {
  std::vector<float> values;  // every planned parameter, in plan order
  bool legacy = false;        // Keras 2's layout (model_weights, or layer_names at the root)
  std::string keras_version;  // the file's keras_version attribute ("" when none), at most 256 bytes
};

enum class WeightsLayout { kKeras3, kDetect };  // a .keras's model.weights.h5, or any Keras HDF5 file

// The planned weights of `layers` from the HDF5 file `image`: Keras 3's layout, or (kDetect)
// Keras 2's when the file has it. IoError naming `source` for anything refused.
SandboxedWeights read_weights_sandboxed(std::string_view image, const std::string& source,
                                        const std::vector<LayerParameters>& layers, WeightsLayout layout,
                                        const SandboxLimits& limits);

// The model config a legacy .h5 keeps in its root's model_config attribute (at most
// `max_bytes`), nullopt when it has none.
std::optional<std::string> read_model_config_sandboxed(std::string_view image, const std::string& source,
                                                       int64_t max_bytes, const SandboxLimits& limits);

// The sandbox's limits for reading `image` into `planned_floats` weights: the given CPU and
// wall-clock seconds, more for large files (a GiB of file and weights adds 8 s of CPU and
// 30 s; a 235 MB .keras of 268 MB of gzip-chunked weights took 4.5 s of CPU to import in
// all, on a loaded 2-core machine), and memory of `floor_bytes` plus twice the file
// (libhdf5 copies it) plus twice the weights (a tensor and its chunks).
constexpr double kCpuSecondsPerGiB = 8;
constexpr double kWallSecondsPerGiB = 30;
SandboxLimits hdf5_sandbox_limits(double cpu_seconds, double wall_seconds, int64_t floor_bytes, size_t image_bytes,
                                  int64_t planned_floats);

}  // namespace citadel::detail
