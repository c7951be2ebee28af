// Safetensors model files: writing (atomic), and a loader that validates every field of a
// possibly hostile file before trusting it: header length against the file, JSON size and
// depth, the dtype whitelist, shapes that overflow, offsets that overlap, leave gaps or
// run past the end, sizes that disagree with shapes, and names or shapes that disagree
// with the architecture.
#include "citadel/io/model_file.hpp"

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <vector>

#include "citadel/core/atomic_file.hpp"
#include "citadel/core/error.hpp"
#include "citadel/core/json_limits.hpp"
#include "file_kind.hpp"
#include "../model/keras_names.hpp"
#include "citadel/version.hpp"
#include "citadel/model/model_config.hpp"

namespace citadel {
namespace {

static_assert(std::endian::native == std::endian::little, "safetensors data is little-endian");

using nlohmann::json;


struct TensorEntry {
  std::string name;
  Shape shape;
  uint64_t begin = 0, end = 0;  // byte offsets into the data section
};

struct ParsedFile {
  Metadata metadata;
  std::vector<TensorEntry> tensors;  // in data order
  std::string_view data;
};

uint64_t read_u64_le(const char* p) {
  uint64_t value = 0;
  std::memcpy(&value, p, sizeof value);
  return value;
}

}  // namespace

std::string current_tensor_name(const std::string& name) {
  // Before the one Keras naming rule, "Conv2D" was named "conv2_d", "MaxPooling2D"
  // "max_pooling2_d": files written then keep loading. No current name contains "2_d".
  const size_t slash = name.find('/');
  const std::string layer = detail::current_layer_name(name.substr(0, slash));
  return slash == std::string::npos ? layer : layer + name.substr(slash);
}

namespace {

ParsedFile parse(std::string_view bytes, const std::string& source, const ModelFileLimits& limits) {
  // Files mistaken for a model file (CSV data, a report, a Keras archive) are named for what
  // they are before the header's bounds are checked.
  if (!detail::starts_like_safetensors(bytes)) throw IoError(detail::not_a_model_file_message(bytes, source));
  CITADEL_CHECK(bytes.size() >= 8, IoError, source, ": ", bytes.size(),
                " bytes is too short to be a model file (a safetensors file starts with an 8-byte header length)");
  const uint64_t header_length = read_u64_le(bytes.data());
  CITADEL_CHECK(header_length <= uint64_t(limits.max_header_bytes), IoError, source, ": header length ",
                header_length, " exceeds the limit of ", limits.max_header_bytes, " bytes");
  CITADEL_CHECK(header_length <= bytes.size() - 8, IoError, source, ": header length ", header_length,
                " runs past the end of the file (", bytes.size() - 8, " bytes follow it)");
  const std::string_view header = bytes.substr(8, header_length);
  CITADEL_CHECK(json_nesting_depth(header) <= limits.max_json_depth, IoError, source, ": header JSON nested deeper than ",
                limits.max_json_depth, " levels");
  json root;
  try {
    root = json::parse(header);
  } catch (const json::exception& e) {
    throw IoError(source + ": the header is not valid JSON: " + e.what());
  }
  CITADEL_CHECK(root.is_object(), IoError, source, ": the header must be a JSON object");
  CITADEL_CHECK(int64_t(root.size()) <= limits.max_tensors + 1, IoError, source, ": more than ", limits.max_tensors,
                " tensors");

  ParsedFile file;
  file.data = bytes.substr(8 + header_length);
  for (const auto& [name, entry] : root.items()) {
    if (name == "__metadata__") {
      CITADEL_CHECK(entry.is_object(), IoError, source, ": __metadata__ must be an object of strings");
      for (const auto& [key, value] : entry.items()) {
        CITADEL_CHECK(value.is_string(), IoError, source, ": __metadata__ '", key, "' must be a string");
        file.metadata[key] = value.get<std::string>();
      }
      continue;
    }
    const std::string where = source + ": tensor '" + name + "'";
    CITADEL_CHECK(!name.empty() && name.size() <= 256, IoError, source, ": a tensor name must have 1 to 256 characters");
    CITADEL_CHECK(entry.is_object() && entry.size() == 3 && entry.contains("dtype") && entry.contains("shape") &&
                      entry.contains("data_offsets"),
                  IoError, where, ": expected exactly dtype, shape and data_offsets");
    CITADEL_CHECK(entry["dtype"].is_string(), IoError, where, ": dtype must be a string");
    CITADEL_CHECK(entry["dtype"] == "F32", IoError, where, ": dtype ", entry["dtype"].dump(),
                  " is not supported; citadel models hold F32");
    const json& dims = entry["shape"];
    CITADEL_CHECK(dims.is_array() && dims.size() <= size_t(Shape::kMaxRank), IoError, where,
                  ": shape must be a list of at most ", Shape::kMaxRank, " dimensions");
    std::vector<int64_t> shape;
    for (const auto& dim : dims) {
      CITADEL_CHECK(dim.is_number_unsigned() && dim.get<uint64_t>() <= uint64_t(INT64_MAX), IoError, where,
                    ": shape entries must be non-negative whole numbers, got ", dim.dump());
      shape.push_back(dim.get<int64_t>());
    }
    TensorEntry tensor{current_tensor_name(name), Shape(shape), 0, 0};
    int64_t count = 0, bytes_needed = 0;
    try {
      count = tensor.shape.numel();
    } catch (const ShapeError&) {
      throw IoError(where + ": shape " + dims.dump() + " has more elements than fit in 64 bits");
    }
    CITADEL_CHECK(!__builtin_mul_overflow(count, int64_t(sizeof(float)), &bytes_needed), IoError, where,
                  ": shape ", dims.dump(), " is too large");
    const json& offsets = entry["data_offsets"];
    CITADEL_CHECK(offsets.is_array() && offsets.size() == 2 && offsets[0].is_number_unsigned() &&
                      offsets[1].is_number_unsigned(),
                  IoError, where, ": data_offsets must be two non-negative whole numbers");
    tensor.begin = offsets[0].get<uint64_t>();
    tensor.end = offsets[1].get<uint64_t>();
    CITADEL_CHECK(tensor.begin <= tensor.end && tensor.end <= file.data.size(), IoError, where, ": data_offsets [",
                  tensor.begin, ", ", tensor.end, "] lie outside the ", file.data.size(), " bytes of tensor data");
    CITADEL_CHECK(tensor.end - tensor.begin == uint64_t(bytes_needed), IoError, where, ": shape ", dims.dump(),
                  " needs ", bytes_needed, " bytes but data_offsets give ", tensor.end - tensor.begin);
    file.tensors.push_back(std::move(tensor));
  }
  std::set<std::string_view> names;
  for (const auto& t : file.tensors)
    CITADEL_CHECK(names.insert(t.name).second, IoError, source, ": two tensors are named '", t.name, "'");
  // The tensors must tile the data section exactly: no overlap, no gap, nothing after.
  std::sort(file.tensors.begin(), file.tensors.end(),
            [](const TensorEntry& a, const TensorEntry& b) { return a.begin < b.begin || (a.begin == b.begin && a.end < b.end); });
  uint64_t position = 0;
  for (size_t i = 0; i < file.tensors.size(); ++i) {
    const TensorEntry& t = file.tensors[i];
    CITADEL_CHECK(t.begin >= position, IoError, source, ": tensors '", file.tensors[i - 1].name, "' and '", t.name,
                  "' overlap");
    CITADEL_CHECK(t.begin == position, IoError, source, ": ", t.begin - position, " bytes before tensor '", t.name,
                  "' belong to no tensor");
    position = t.end;
  }
  CITADEL_CHECK(position == file.data.size(), IoError, source, ": ", file.data.size() - position,
                " bytes after the last tensor belong to no tensor");
  return file;
}

std::string serialize(Model& model, const Metadata& metadata, const ExtraTensors& extra = {}) {
  const ParameterStore& params = model.parameters();
  json header = json::object();
  json meta = json::object();
  for (const auto& [key, value] : metadata) meta[key] = value;
  header["__metadata__"] = meta;
  uint64_t offset = 0;
  for (const auto& info : params.parameters()) {  // in declaration (layer) order
    const uint64_t bytes = uint64_t(info.shape.numel()) * sizeof(float);
    header[info.name] = {{"dtype", "F32"}, {"shape", info.shape.dims()}, {"data_offsets", {offset, offset + bytes}}};
    offset += bytes;
  }
  for (const auto& [name, values] : extra) {
    const uint64_t bytes = values.size() * sizeof(float);
    header[name] = {{"dtype", "F32"}, {"shape", {values.size()}}, {"data_offsets", {offset, offset + bytes}}};
    offset += bytes;
  }
  std::string text = header.dump();
  text.append((8 - text.size() % 8) % 8, ' ');  // keep the data 8-byte aligned, as safetensors does
  std::string file(8, '\0');
  const uint64_t length = text.size();
  std::memcpy(file.data(), &length, sizeof length);
  file += text;
  // Each parameter where the header puts it (storage order keeps non-trainable ones last).
  for (size_t i = 0; i < params.parameters().size(); ++i) {
    const ConstTensorView value = params.value(static_cast<int>(i));
    file.append(reinterpret_cast<const char*>(value.data()), static_cast<size_t>(value.numel()) * sizeof(float));
  }
  for (const auto& [name, tensor] : extra)
    file.append(reinterpret_cast<const char*>(tensor.data()), tensor.size() * sizeof(float));
  return file;
}

// The parameters must be exactly the file's tensors: every one present with its shape, no
// tensor left over. Returns their total number of values.
int64_t check_parameters_against_file(const std::vector<ParameterInfo>& parameters, const ParsedFile& file,
                                      const std::string& source) {
  std::map<std::string_view, const TensorEntry*> by_name;
  for (const auto& t : file.tensors) by_name[t.name] = &t;
  int64_t values = 0;
  for (const ParameterInfo& info : parameters) {
    const auto found = by_name.find(info.name);
    CITADEL_CHECK(found != by_name.end(), IoError, source, ": the architecture has a parameter '", info.name,
                  "' that the file does not hold (shape ", info.shape, ")");
    CITADEL_CHECK(found->second->shape == info.shape, IoError, source, ": tensor '", info.name, "' has shape ",
                  found->second->shape, " but the architecture needs ", info.shape);
    values += info.shape.numel();  // bounded by the file's size, which holds them
    by_name.erase(found);
  }
  CITADEL_CHECK(by_name.empty(), IoError, source, ": tensor '", by_name.empty() ? "" : std::string(by_name.begin()->first),
                "' belongs to no parameter of the architecture");
  return values;
}

// The planned parameters match the file (before anything is built) and stay, with the
// per-row activations, under the caps.
void check_plan_against_file(const Model::BuildPlan& plan, const ParsedFile& file, const std::string& source,
                             const ModelFileLimits& limits) {
  const int64_t parameters = check_parameters_against_file(plan.parameters, file, source);
  CITADEL_CHECK(parameters <= limits.max_parameters, IoError, source, ": ", parameters,
                " parameters exceed the limit of ", limits.max_parameters);
  int64_t activations = 0;
  for (const Shape& shape : plan.output_shapes) {
    int64_t count = 0;
    try {
      count = shape.numel();
    } catch (const ShapeError&) {
      count = INT64_MAX;
    }
    CITADEL_CHECK(!__builtin_add_overflow(activations, count, &activations) && activations <= limits.max_activations_per_row,
                  IoError, source, ": the layers' outputs for one input row exceed ", limits.max_activations_per_row,
                  " values (layer output ", shape, ")");
  }
}

// Copies the file's tensors into `model`'s parameters, which check_parameters_against_file
// (or check_plan_against_file) has matched with them.
void copy_weights(const ParsedFile& file, Model& model) {
  ParameterStore& params = model.parameters();
  std::map<std::string_view, const TensorEntry*> by_name;
  for (const auto& t : file.tensors) by_name[t.name] = &t;
  for (size_t i = 0; i < params.parameters().size(); ++i) {
    const TensorEntry& tensor = *by_name.at(params.parameters()[i].name);
    std::memcpy(params.value(static_cast<int>(i)).data(), file.data.data() + tensor.begin, tensor.end - tensor.begin);
  }
}

}  // namespace

std::string read_file_bytes(const std::string& path) {
  std::ifstream file(path, std::ios::binary);
  CITADEL_CHECK(file.is_open(), IoError, path, ": cannot open the file (does it exist?)");
  std::ostringstream contents;
  contents << file.rdbuf();
  CITADEL_CHECK(!file.bad(), IoError, path, ": read error");
  return contents.str();
}

std::string model_file_bytes(Model& model, const Metadata& extra, const ExtraTensors& tensors,
                             const std::string& format) {
  CITADEL_CHECK(model.built(), ValueError, "save: model '", model.name(), "' is not built; nothing to save");
  Metadata metadata = extra;
  metadata["format"] = format;
  // A graph is version 2: a reader of version 1 (Sequential only) refuses it by its version.
  // A caller's records may need a later one (a saved model of several outputs: 3), given
  // as their "format_version"; the larger is written.
  int version = model.is_sequential() ? 1 : 2;
  if (const auto given = extra.find("format_version"); given != extra.end()) {
    CITADEL_CHECK(given->second.size() == 1 && given->second[0] >= '1' && given->second[0] <= '0' + kModelFormatVersion,
                  ValueError, "save: format_version '", given->second, "' is not one of 1 to ", kModelFormatVersion);
    version = std::max(version, given->second[0] - '0');
  }
  metadata["format_version"] = std::to_string(version);
  metadata["citadel_version"] = kVersion;
  metadata["architecture"] = model_to_config(model);
  if (model.compiled()) {
    const auto settings = model.compile_settings();
    metadata["compile"] = json{{"loss", settings.loss},
                               {"optimizer", settings.optimizer},
                               {"learning_rate", settings.learning_rate},
                               {"metrics", settings.metrics}}
                              .dump();
  }
  return serialize(model, metadata, tensors);
}

void check_model_file_extension(const std::string& path) {
  constexpr std::string_view kExtension = ".safetensors";
  const std::string name = std::filesystem::path(path).filename().string();
  const bool named = name.size() > kExtension.size() &&
                     std::equal(kExtension.rbegin(), kExtension.rend(), name.rbegin(), [](char a, char b) {
                       return a == (b >= 'A' && b <= 'Z' ? char(b - 'A' + 'a') : b);
                     });
  CITADEL_CHECK(named, ValueError, "save: '", path, "' does not end in .safetensors; a citadel model file is "
                "named *.safetensors (as Keras 3, citadel does not save a model under a name without its format's "
                "extension)");
}

void save_model(Model& model, const std::string& path, const Metadata& extra) {
  check_model_file_extension(path);
  write_file_atomically(path, model_file_bytes(model, extra));
}

ModelFileSummary inspect_model_file(std::string_view bytes, const std::string& source, const ModelFileLimits& limits) {
  ParsedFile file = parse(bytes, source, limits);
  ModelFileSummary summary{std::move(file.metadata), {}, int64_t(bytes.size())};
  for (const auto& t : file.tensors) summary.tensors[t.name] = t.shape;
  return summary;
}

LoadedModel load_model_from_bytes(std::string_view bytes, const std::string& source, const ModelFileLimits& limits) {
  const ParsedFile file = parse(bytes, source, limits);
  auto field = [&](const char* key) -> const std::string& {
    const auto found = file.metadata.find(key);
    CITADEL_CHECK(found != file.metadata.end(), IoError, source, ": __metadata__ has no '", key,
                  "'; this is not a citadel model file");
    return found->second;
  };
  // A checkpoint holds a model too, plus optimizer buffers that belong to no layer.
  const bool checkpoint = field("format") == "citadel-checkpoint";
  CITADEL_CHECK(field("format") == kModelFormat || checkpoint, IoError, source, ": format '", field("format"),
                "' is not ", kModelFormat);
  const std::string& version = field("format_version");
  CITADEL_CHECK(version.size() == 1 && version[0] >= '1' && version[0] <= '0' + kModelFormatVersion, IoError, source,
                ": model file version ", version, ", this build reads versions 1 to ", kModelFormatVersion,
                ": load it with the citadel that wrote it (", [&] {
                  const auto found = file.metadata.find("citadel_version");
                  return found == file.metadata.end() ? std::string("unknown") : found->second;
                }(), "), or re-save the model with a matching one");
  LoadedModel loaded{Sequential(), file.metadata};
  try {
    // Graphs are checked but not built: nothing is allocated before the plan fits the file.
    loaded.model = model_from_config(field("architecture"), source + " (architecture)");
  } catch (const ValueError& e) {
    throw IoError(e.what());
  } catch (const NotImplementedError& e) {
    throw IoError(e.what());
  }
  const bool sequential = loaded.model.is_sequential();
  const auto input = sequential ? loaded.model.layer(0).declared_input_shape() : std::optional<Shape>(Shape{});
  CITADEL_CHECK(input.has_value(), IoError, source, ": the architecture does not give the input shape");
  ParsedFile weights = file;
  if (checkpoint)  // optimizer buffers belong to no layer
    std::erase_if(weights.tensors, [](const TensorEntry& t) { return t.name.rfind("optimizer/", 0) == 0; });
  // Before anything is allocated: the architecture's parameters must be exactly the
  // tensors present, so a small file cannot declare a huge model.
  Model::BuildPlan plan;
  try {
    plan = sequential ? loaded.model.plan(*input) : loaded.model.plan();
  } catch (const Error& e) {
    throw IoError(source + ": the architecture does not fit together: " + e.what());
  }
  check_plan_against_file(plan, weights, source, limits);
  try {
    loaded.model.build(*input);
  } catch (const ShapeError& e) {
    throw IoError(source + ": the architecture does not fit together: " + e.what());
  }
  copy_weights(weights, loaded.model);
  if (const auto found = file.metadata.find("compile"); found != file.metadata.end()) {
    json compile;
    try {
      CITADEL_CHECK(json_nesting_depth(found->second) <= limits.max_json_depth, IoError, source,
                    ": compile settings nested too deep");
      compile = json::parse(found->second);
      std::unique_ptr<Optimizer> optimizer = make_optimizer(compile.at("optimizer").get<std::string>());
      const json& rate = compile.at("learning_rate");  // checked before the cast: 1e300 as float is undefined
      CITADEL_CHECK(rate.is_number() && std::isfinite(rate.get<double>()) && rate.get<double>() >= 0 &&
                        rate.get<double>() <= 1e6,
                    IoError, source, ": the compile settings' learning_rate ", rate.dump(), " is out of range");
      optimizer->set_learning_rate(static_cast<float>(rate.get<double>()));
      loaded.model.compile({.loss = compile.at("loss").get<std::string>(),
                            .optimizer = std::move(optimizer),
                            .metrics = compile.at("metrics").get<std::vector<std::string>>()});
    } catch (const json::exception& e) {
      throw IoError(source + ": the compile settings are malformed: " + e.what());
    } catch (const ValueError& e) {
      throw IoError(source + ": the compile settings are invalid: " + e.what());
    }
  }
  return loaded;
}

LoadedModel load_model(const std::string& path, const ModelFileLimits& limits) {
  return load_model_from_bytes(read_file_bytes(path), path, limits);
}

void save_weights(Model& model, const std::string& path) {
  CITADEL_CHECK(model.built(), ValueError, "save_weights: model '", model.name(), "' is not built; nothing to save");
  write_file_atomically(path, serialize(model, {{"format", "citadel-weights"}}));
}

void load_weights(Model& model, const std::string& path) {
  CITADEL_CHECK(model.built(), ValueError, "load_weights: build model '", model.name(),
                "' first (weights need their shapes)");
  const std::string bytes = read_file_bytes(path);
  const ParsedFile file = parse(bytes, path, {});
  check_parameters_against_file(model.parameters().parameters(), file, path);
  copy_weights(file, model);
}

}  // namespace citadel
