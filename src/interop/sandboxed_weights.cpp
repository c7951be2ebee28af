// The two jobs Keras's HDF5 files need, each one fresh sandboxed child: a legacy file's
// stored config, and the weights of a plan. A job's request: a 64-bit little-endian length,
// that many bytes of JSON (the source's name, the plan or the config's bound), then the
// file's bytes. Frames: 'M' (layout and version), 'T' (one tensor's floats), 'C' (the config)
// or 'N' (none), then the sandbox's own 'D'.
#include "sandboxed_weights.hpp"

#include <unistd.h>

#include <cmath>
#include <nlohmann/json.hpp>

#include "citadel/core/error.hpp"
#include "citadel/interop/sandbox_executable.hpp"
#include "hdf5_image.hpp"
#include "sandbox_child.hpp"

namespace citadel::detail {

namespace {

constexpr const char* kReader = "the HDF5 reader";
constexpr size_t kMaxVersion = 256;
constexpr std::string_view kWeightsJob = "hdf5-weights";
constexpr std::string_view kConfigJob = "hdf5-model-config";

// A request's head: the JSON's length and the JSON (the file's bytes follow it).
std::string request_head(const nlohmann::json& arguments) {
  const std::string text = arguments.dump();
  std::string head;
  append_u64(head, text.size());
  return head + text;
}

// The request's JSON and file bytes (written by this library's parent side; checked anyway).
struct Request {
  nlohmann::json arguments;
  std::string_view image;
};
Request parse_request(std::string_view request) {
  CITADEL_CHECK(request.size() >= 8, IoError, "the sandbox's request is truncated");
  const uint64_t length = read_u64(reinterpret_cast<const unsigned char*>(request.data()));
  CITADEL_CHECK(length <= request.size() - 8, IoError, "the sandbox's request is truncated");
  return {nlohmann::json::parse(request.substr(8, length)), request.substr(8 + length)};
}

nlohmann::json plan_json(const std::vector<LayerParameters>& layers) {
  nlohmann::json plan = nlohmann::json::array();
  for (const LayerParameters& layer : layers) {
    nlohmann::json parameters = nlohmann::json::array();
    for (const ParameterInfo& parameter : layer.parameters)
      parameters.push_back(
          {{"name", parameter.name}, {"shape", parameter.shape.dims()}, {"trainable", parameter.trainable}});
    plan.push_back({{"keras_name", layer.keras_name}, {"class_name", layer.class_name}, {"group", layer.group},
                    {"legacy_group", layer.legacy_group}, {"legacy_slots", layer.legacy_slots},
                    {"parameters", parameters}});
  }
  return plan;
}

std::vector<LayerParameters> plan_of(const nlohmann::json& plan) {
  std::vector<LayerParameters> layers;
  for (const nlohmann::json& entry : plan) {
    LayerParameters layer;
    layer.keras_name = entry.at("keras_name").get<std::string>();
    layer.class_name = entry.at("class_name").get<std::string>();
    layer.group = entry.at("group").get<std::string>();
    layer.legacy_group = entry.at("legacy_group").get<std::string>();
    layer.legacy_slots = entry.at("legacy_slots").get<std::vector<size_t>>();
    for (const nlohmann::json& stored : entry.at("parameters")) {
      ParameterInfo parameter;
      parameter.name = stored.at("name").get<std::string>();
      parameter.shape = Shape(stored.at("shape").get<std::vector<int64_t>>());
      parameter.trainable = stored.at("trainable").get<bool>();
      layer.parameters.push_back(std::move(parameter));
    }
    layers.push_back(std::move(layer));
  }
  return layers;
}

// The child's work for the weights: find every planned dataset, check it, answer in order.
void weights_job(std::string_view request_bytes, SandboxWriter& out) {
  const Request request = parse_request(request_bytes);
  const std::string source = request.arguments.at("source").get<std::string>();
  const std::vector<LayerParameters> layers = plan_of(request.arguments.at("plan"));
  const bool detect = request.arguments.at("detect").get<bool>();
  const Hdf5Reader file(request.image, source);
  bool legacy = false;
  std::vector<std::string> paths;
  if (detect && file.exists("model_weights")) {
    legacy = true;
    paths = legacy_weight_paths(file, "model_weights", layers);
  } else if (detect && file.string_attribute("/", "layer_names").has_value()) {
    legacy = true;
    paths = legacy_weight_paths(file, "/", layers);
  } else {
    paths = keras3_weight_paths(file, layers);
  }
  std::string version;
  if (detect)
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
}

// The child's work for a legacy file's config.
void config_job(std::string_view request_bytes, SandboxWriter& out) {
  const Request request = parse_request(request_bytes);
  const Hdf5Reader file(request.image, request.arguments.at("source").get<std::string>());
  const auto stored = file.string_attribute("/", "model_config", request.arguments.at("max_bytes").get<int64_t>());
  if (stored.has_value() && stored->size() == 1) {
    out.frame('C', (*stored)[0]);
  } else {
    out.frame('N', "");
  }
}

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
  const std::string head =
      request_head({{"source", source}, {"plan", plan_json(layers)}, {"detect", layout == WeightsLayout::kDetect}});
  run_sandboxed_job(source, kReader, limits, kWeightsJob.data(), weights_job, {head, image}, read);
  return weights;
}

std::optional<std::string> read_model_config_sandboxed(std::string_view image, const std::string& source,
                                                       int64_t max_bytes, const SandboxLimits& limits) {
  std::optional<std::string> config;
  auto read = [&](SandboxReader& in) {
    const SandboxReader::Frame frame = in.next(static_cast<uint64_t>(max_bytes));
    CITADEL_CHECK(frame.tag == 'C' || (frame.tag == 'N' && frame.length == 0), IoError,
                  "answers with an unexpected frame; refused");
    if (frame.tag == 'C') config = in.text(frame.length);
  };
  const std::string head = request_head({{"source", source}, {"max_bytes", max_bytes}});
  run_sandboxed_job(source, kReader, limits, kConfigJob.data(), config_job, {head, image}, read);
  return config;
}

}  // namespace citadel::detail

namespace citadel {

void run_sandbox_child(const std::string& job) {
  if (job == detail::kWeightsJob) detail::run_fresh_child(detail::weights_job);
  if (job == detail::kConfigJob) detail::run_fresh_child(detail::config_job);
  ::_exit(detail::kExitSandboxFailed);
}

}  // namespace citadel
