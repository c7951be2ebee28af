// The two jobs Keras's HDF5 files need, each one child: a legacy file's stored config, and
// the weights of a plan. Frames: 'M' (layout and version), 'T' (one tensor's floats),
// 'C' (the config) or 'N' (none), then the sandbox's own 'D'.
#include "sandboxed_weights.hpp"

#include <cmath>

#include "citadel/core/error.hpp"
#include "hdf5_image.hpp"

namespace citadel::detail {

namespace {

constexpr const char* kReader = "the HDF5 reader";
constexpr size_t kMaxVersion = 256;

}  // namespace

SandboxLimits hdf5_sandbox_limits(double cpu_seconds, double wall_seconds, int64_t floor_bytes, size_t image_bytes,
                                  int64_t planned_floats) {
  const int64_t work_bytes = static_cast<int64_t>(image_bytes) + 4 * planned_floats;
  const double gibibytes = static_cast<double>(work_bytes) / static_cast<double>(int64_t{1} << 30);
  SandboxLimits limits;
  // Whole seconds added, so that a small file gets exactly the limits asked for.
  limits.cpu_seconds = cpu_seconds + std::floor(kCpuSecondsPerGiB * gibibytes);
  limits.wall_seconds = wall_seconds + std::floor(kWallSecondsPerGiB * gibibytes);
  limits.memory_bytes = floor_bytes + 2 * work_bytes;
  return limits;
}

SandboxedWeights read_weights_sandboxed(std::string_view image, const std::string& source,
                                        const std::vector<LayerParameters>& layers, WeightsLayout layout,
                                        const SandboxLimits& limits) {
  // The child's work: it has the bytes and the plan already, as the fork copied them.
  auto work = [&](SandboxWriter& out) {
    const Hdf5Reader file(image, source);
    bool legacy = false;
    std::vector<std::string> paths;
    if (layout == WeightsLayout::kDetect && file.exists("model_weights")) {
      legacy = true;
      paths = legacy_weight_paths(file, "model_weights", layers);
    } else if (layout == WeightsLayout::kDetect && file.string_attribute("/", "layer_names").has_value()) {
      legacy = true;
      paths = legacy_weight_paths(file, "/", layers);
    } else {
      paths = keras3_weight_paths(file, layers);
    }
    std::string version;
    if (layout == WeightsLayout::kDetect)
      if (const auto stored = file.string_attribute("/", "keras_version", 4096); stored && stored->size() == 1)
        version = (*stored)[0].substr(0, kMaxVersion);
    out.frame('M', std::string(legacy ? "L" : "3") + version);
    size_t at = 0;
    for (const LayerParameters& layer : layers)
      for (const ParameterInfo& parameter : layer.parameters) {
        std::vector<float> values(static_cast<size_t>(parameter.shape.numel()));
        const std::string& path = paths.at(at++);
        file.read_floats(path, values);
        for (const float v : values)
          CITADEL_CHECK(std::isfinite(v), IoError, source, ": dataset ", path, " (", parameter.name,
                        ") holds NaN or infinity");
        out.frame('T', values);
      }
  };
  SandboxedWeights weights;
  int64_t total = 0;
  for (const LayerParameters& layer : layers)
    for (const ParameterInfo& parameter : layer.parameters) total += parameter.shape.numel();
  auto read = [&](SandboxReader& in) {
    const SandboxReader::Frame meta = in.next(1 + kMaxVersion);
    CITADEL_CHECK(meta.tag == 'M' && meta.length >= 1, IoError, "answers without saying the file's layout; refused");
    const std::string text = in.text(meta.length);
    CITADEL_CHECK(text[0] == 'L' || text[0] == '3', IoError, "answers with an unknown layout; refused");
    weights.legacy = text[0] == 'L';
    weights.keras_version = text.substr(1);
    // Only now, and only as much as the plan says, is memory taken for the weights.
    weights.values.resize(static_cast<size_t>(total));
    size_t offset = 0;
    for (const LayerParameters& layer : layers)
      for (const ParameterInfo& parameter : layer.parameters) {
        const size_t count = static_cast<size_t>(parameter.shape.numel());
        in.expect('T', count * sizeof(float));
        in.payload(weights.values.data() + offset, count * sizeof(float));
        offset += count;
      }
  };
  run_sandboxed(source, kReader, limits, work, read, &hdf5_library_lock());
  return weights;
}

std::optional<std::string> read_model_config_sandboxed(std::string_view image, const std::string& source,
                                                       int64_t max_bytes, const SandboxLimits& limits) {
  auto work = [&](SandboxWriter& out) {
    const Hdf5Reader file(image, source);
    const auto stored = file.string_attribute("/", "model_config", max_bytes);
    if (stored.has_value() && stored->size() == 1) {
      out.frame('C', (*stored)[0]);
    } else {
      out.frame('N', "");
    }
  };
  std::optional<std::string> config;
  auto read = [&](SandboxReader& in) {
    const SandboxReader::Frame frame = in.next(static_cast<uint64_t>(max_bytes));
    CITADEL_CHECK(frame.tag == 'C' || (frame.tag == 'N' && frame.length == 0), IoError,
                  "answers with an unexpected frame; refused");
    if (frame.tag == 'C') config = in.text(frame.length);
  };
  run_sandboxed(source, kReader, limits, work, read, &hdf5_library_lock());
  return config;
}

}  // namespace citadel::detail
