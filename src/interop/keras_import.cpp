// Keras files → citadel models: the config checked and built, the weights matched to the
// architecture and read, and a saved model's records made up for what Keras does not say.
#include "citadel/interop/keras_import.hpp"

#include <cmath>
#include <filesystem>
#include <map>
#include <optional>
#include <nlohmann/json.hpp>

#include "citadel/core/error.hpp"
#include "citadel/core/json_limits.hpp"
#include "citadel/data/preprocessor.hpp"
#include "citadel/layers/activations.hpp"
#include "citadel/losses/loss.hpp"
#include "citadel/model/model_config.hpp"
#include "keras_config_guard.hpp"
#include "keras_coverage.hpp"
#include "keras_call_arguments.hpp"
#include "keras_mask_ops.hpp"
#include "keras_model_tree.hpp"
#include "keras_weights.hpp"
#include "sandboxed_weights.hpp"
#include "zip_archive.hpp"

namespace citadel {

using nlohmann::json;

namespace {

json parse_json(std::string_view text, const std::string& source, const KerasImportLimits& limits) {
  CITADEL_CHECK(static_cast<int64_t>(text.size()) <= limits.max_config_bytes, IoError, source, ": more than ",
                limits.max_config_bytes, " bytes of JSON; refused");
  CITADEL_CHECK(json_nesting_depth(text) <= 64, IoError, source, ": JSON nested deeper than 64 levels; refused");
  try {
    return json::parse(text);
  } catch (const json::exception& e) {
    throw IoError(source + ": not valid JSON: " + e.what());
  }
}

// The architecture and where each of its layers keeps its weights in Keras's files.
struct Architecture {
  Model model;
  std::vector<detail::KerasLayerPlace> places;  // in Keras's saving order
  std::optional<Shape> sequential_input;        // a Sequential chain's input shape
  std::string compile_loss;                     // compile_config's loss, when a name
};

bool is_model_class(const std::string& name) { return name == "Sequential" || name == "Functional" || name == "Model"; }

// The top-level layer count, checked as soon as the config is parsed: a config of too many
// layers is refused before a graph is flattened into a second copy and parsed again.
void check_layer_count(const json& root, const std::string& source, int64_t max_layers) {
  const json& config = root.contains("config") && root["config"].is_object() ? root["config"] : root;
  if (config.is_object() && config.contains("layers") && config["layers"].is_array())
    CITADEL_CHECK(static_cast<int64_t>(config["layers"].size()) <= max_layers, IoError, source, ": more than ",
                  max_layers, " layers; refused");
}

Architecture read_architecture(std::string_view text, const std::string& source, const KerasImportLimits& limits) {
  json root = parse_json(text, source, limits);
  CITADEL_CHECK(root.is_object(), IoError, source, ": a Keras model config is a JSON object");
  // Keras 3's recorded mask computations: citadel derives masks from the layers themselves.
  detail::drop_mask_computations(root);
  // Keras 3's MultiHeadAttention calls (query, value, key=, use_causal_mask=) in citadel's form.
  detail::read_attention_calls(root, source);
  // What is not imported yet is named first: the obstacle, not a consequence of it.
  detail::refuse_unsupported_classes(root, source);
  detail::refuse_code_in_config(root, source);
  check_layer_count(root, source, limits.max_layers);
  CITADEL_CHECK(!root.contains("class_name") || root["class_name"].is_string(), IoError, source,
                ": 'class_name' must be a string");
  const std::string class_name =
      root.value("class_name", std::string(root.contains("input_layers") ? "Functional" : "Sequential"));
  CITADEL_CHECK(is_model_class(class_name), NotImplementedError, source, ": a '", class_name.substr(0, 64),
                "' model is not supported; citadel imports Sequential and Functional models (docs/INTEROP.md)");
  ModelConfigLimits config_limits;
  config_limits.max_bytes = limits.max_config_bytes;
  config_limits.max_layers = limits.max_layers;
  config_limits.max_depth = 64;
  Architecture result;
  // A config's mistakes (a reference to a missing layer, a cycle, a shape) are the file's:
  // IoError naming it and the layer.
  try {
    // A graph's calls are checked (and nested models inlined) here, naming each layer; the
    // layers' own settings by model_from_config.
    const bool nested = detail::has_nested_models(root);
    if (nested || class_name != "Sequential") {
      detail::FlatKerasConfig flat = detail::flatten_nested_models(root, source, config_limits.max_calls);
      result.model = model_from_config(flat.config, nested ? source + " (nested models inlined)" : source,
                                       config_limits);
      result.places = std::move(flat.places);
    } else {
      result.model = model_from_config(text, source, config_limits);
      result.places = detail::keras_layer_places(result.model);
    }
  } catch (const ValueError& e) {
    throw IoError(e.what());
  } catch (const ShapeError& e) {
    throw IoError(e.what());
  }
  if (result.model.is_sequential()) {
    // The input shape: the first layer's (from an InputLayer or its own input_shape), else
    // what Keras built the model for.
    if (auto declared = result.model.layer(0).declared_input_shape()) {
      result.sequential_input = *declared;
    } else {
      const json* built = nullptr;
      if (root.contains("config") && root["config"].contains("build_input_shape")) built = &root["config"]["build_input_shape"];
      CITADEL_CHECK(built != nullptr && built->is_array() && built->size() >= 2 && built->size() <= 8, IoError, source,
                    ": the config gives no input shape (an InputLayer or build_input_shape)");
      std::vector<int64_t> dims;
      for (size_t i = 1; i < built->size(); ++i) {
        CITADEL_CHECK((*built)[i].is_number_integer() && (*built)[i].get<int64_t>() >= 1 &&
                          (*built)[i].get<int64_t>() <= (1 << 24),
                      IoError, source, ": build_input_shape entry ", i, " must be a positive whole number");
        dims.push_back((*built)[i].get<int64_t>());
      }
      result.sequential_input = Shape(dims);
    }
  }
  if (root.contains("compile_config") && root["compile_config"].is_object() &&
      root["compile_config"].contains("loss") && root["compile_config"]["loss"].is_string())
    result.compile_loss = root["compile_config"]["loss"].get<std::string>();
  return result;
}

int64_t planned_floats(const std::vector<detail::LayerParameters>& layers) {
  int64_t total = 0;
  for (const detail::LayerParameters& layer : layers)
    for (const ParameterInfo& parameter : layer.parameters) total += parameter.shape.numel();
  return total;
}

// Each layer's parameters as build() would declare them, placed where Keras keeps them, and
// checked against the cap. A shape error of the graph is the file's.
std::vector<detail::LayerParameters> planned_parameters(const Architecture& a, const std::string& source,
                                                        const KerasImportLimits& limits) {
  Model::BuildPlan plan;
  try {
    plan = a.sequential_input ? a.model.plan(*a.sequential_input) : a.model.plan();
  } catch (const ShapeError& e) {
    throw IoError(e.what());
  } catch (const ValueError& e) {
    throw IoError(e.what());
  }
  int64_t total = 0;
  for (const ParameterInfo& parameter : plan.parameters) total += parameter.shape.numel();
  CITADEL_CHECK(total <= limits.max_parameters, IoError, source, ": the architecture declares ", total,
                " weights, more than the limit of ", limits.max_parameters);
  return detail::plan_layer_parameters(a.places, plan.parameters);
}

void build(Architecture& a) {
  if (a.sequential_input)
    a.model.build(*a.sequential_input);
  else
    a.model.build();
}

// The HDF5 file `image` read in the sandbox, for the planned `layers`.
detail::SandboxedWeights read_hdf5_weights(std::string_view image, const std::string& source,
                                           const std::vector<detail::LayerParameters>& layers,
                                           detail::WeightsLayout layout, const KerasImportLimits& limits) {
  return detail::read_weights_sandboxed(
      image, source, layers, layout,
      detail::hdf5_sandbox_limits(limits.hdf5_cpu_seconds, limits.hdf5_wall_seconds, limits.hdf5_memory_bytes,
                                  image.size(), planned_floats(layers)));
}

// Writes the weights the sandbox answered with into the built model, each matched to its
// parameter by name (Keras's order is not the model's) and checked again here (finite; the
// child's answer is not trusted); on any error the model keeps its weights.
void set_weights(Model& model, const detail::SandboxedWeights& weights,
                 const std::vector<detail::LayerParameters>& layers, const std::string& source) {
  ParameterStore& store = model.parameters();
  std::map<std::string, int> index;
  for (size_t i = 0; i < store.parameters().size(); ++i) index[store.parameters()[i].name] = static_cast<int>(i);
  std::vector<std::pair<int, size_t>> targets;  // (parameter, offset into the answer)
  size_t offset = 0;
  for (const detail::LayerParameters& layer : layers)
    for (const ParameterInfo& planned : layer.parameters) {
      const auto found = index.find(planned.name);
      CITADEL_CHECK(found != index.end() && store.parameters()[size_t(found->second)].shape == planned.shape,
                    InternalError, source, ": the plan's ", planned.name, " is not one of the model's parameters");
      const size_t count = static_cast<size_t>(planned.shape.numel());
      CITADEL_CHECK(offset + count <= weights.values.size(), InternalError, source, ": fewer weights than planned");
      for (size_t k = 0; k < count; ++k)
        CITADEL_CHECK(std::isfinite(weights.values[offset + k]), IoError, source, ": the weight ", planned.name,
                      " holds NaN or infinity");
      targets.emplace_back(found->second, offset);
      index.erase(found);  // each parameter once
      offset += count;
    }
  CITADEL_CHECK(offset == weights.values.size() && index.empty(), InternalError, source,
                ": the weights answered do not cover the model's parameters exactly");
  for (const auto& [parameter, at] : targets) {
    TensorView values = store.value(parameter);
    std::copy_n(weights.values.begin() + static_cast<std::ptrdiff_t>(at), values.numel(), values.data());
  }
}

std::string joined(const std::vector<std::string>& names) {
  std::string text;
  for (const std::string& name : names) text += (text.empty() ? "" : ", ") + name;
  return text;
}

// What Keras does not record, made up so the model serves, predicts and is audited like
// one citadel trained: numeric columns x0..x(n-1) or images in, classes or a value out.
SavedModel as_saved_model(Architecture architecture, const KerasImportOptions& options, const std::string& source,
                          json imported_from) {
  Model& model = architecture.model;
  CITADEL_CHECK(model.input_count() == 1 && model.output_count() == 1, NotImplementedError, source, ": the model has ",
                model.input_count(), " input", model.input_count() == 1 ? "" : "s", " (", joined(model.input_names()),
                ") and ", model.output_count(), " output", model.output_count() == 1 ? "" : "s", " (",
                joined(model.output_names()), "); a citadel model file made by import takes one input (CSV rows or "
                "images) and gives one output (classes or a value), so this one is not written as one: read it as a "
                "model with load_keras_model (docs/INTEROP.md)");
  const bool images = model.input_shape().rank() == 3;
  DataSchema schema;
  schema.label = "label";
  if (!images)
    for (int64_t i = 0; i < model.input_shape().numel(); ++i) {
      schema.input_columns.push_back("x" + std::to_string(i));
      schema.categories.emplace_back();
    }
  CITADEL_CHECK(model.output_shape().rank() == 1, NotImplementedError, source, ": the model's output is shaped ",
                model.output_shape(), "; imported models give one vector per row");
  const int64_t outputs = model.output_shape().numel();
  // The activation of the layer giving the output (a graph's last layer need not).
  const ops::ActivationKind last = model.get_layer(model.output_names()[0]).activation();
  const bool binary = outputs == 1 && last == ops::ActivationKind::kSigmoid;
  std::string loss;
  if (binary || outputs >= 2) {
    schema.label_type = LabelType::kClasses;
    const int64_t classes = binary ? 2 : outputs;
    if (options.class_names.empty()) {
      for (int64_t k = 0; k < classes; ++k) schema.classes.push_back(std::to_string(k));
    } else {
      CITADEL_CHECK(static_cast<int64_t>(options.class_names.size()) == classes, ValueError, source,
                    ": --classes names ", options.class_names.size(), " classes but the model has ", classes);
      schema.classes = options.class_names;
    }
    loss = binary ? "binary_crossentropy" : "sparse_categorical_crossentropy";
  } else {
    schema.label_type = LabelType::kValues;
    CITADEL_CHECK(options.class_names.empty(), ValueError, source, ": --classes given for a model with one "
                  "linear output (a regression model)");
    loss = "mean_squared_error";
  }
  const auto& known = known_losses();
  if (!architecture.compile_loss.empty() &&
      std::find(known.begin(), known.end(), architecture.compile_loss) != known.end())
    loss = architecture.compile_loss;
  PreprocessorOptions preprocessing;
  preprocessing.scaling = "none";
  preprocessing.images = images;
  const Preprocessor preprocessor(preprocessing);
  imported_from["output_activation"] = activation_name(last);
  Metadata records = saved_model_records(schema, images, loss, preprocessor, "imported from " + source,
                                         {{"imported_from", imported_from.dump()}});
  SavedModel saved{std::move(model), std::move(schema), images, loss, preprocessor, std::move(records)};
  return saved;
}

bool starts_with(std::string_view bytes, std::string_view prefix) { return bytes.substr(0, prefix.size()) == prefix; }
constexpr std::string_view kZipSignature("PK\x03\x04", 4);
constexpr std::string_view kHdf5Signature("\x89HDF\r\n\x1a\n", 8);

detail::ZipLimits zip_limits(const KerasImportLimits& limits) {
  return {limits.max_archive_entries, std::max(limits.max_weights_bytes, limits.max_config_bytes),
          limits.max_weights_bytes + 2 * limits.max_config_bytes, limits.max_compression_ratio};
}

// What model.weights.h5 may declare for a plan of `floats` weights in `tensors` tensors:
// the weights and an optimizer's state (Adam keeps two more copies of every weight, AMSGrad
// three), HDF5's own structures (object headers, names, attributes, chunk indexes) for each
// of those tensors, the groups Keras writes for every layer, weights or not (about 2.4 kB
// each: layers/<group>, its vars and their name), and a fixed allowance for the rest.
constexpr int64_t kWeightCopies = 4;
constexpr int64_t kOverheadPerTensor = 16 << 10;
constexpr int64_t kOverheadPerLayer = 8 << 10;
constexpr int64_t kOverheadPerFile = 1 << 20;
int64_t weights_entry_allowance(const std::vector<detail::LayerParameters>& layers) {
  int64_t tensors = 0;
  for (const detail::LayerParameters& layer : layers) tensors += static_cast<int64_t>(layer.parameters.size());
  return kWeightCopies * (4 * planned_floats(layers) + kOverheadPerTensor * tensors) +
         kOverheadPerLayer * static_cast<int64_t>(layers.size()) + kOverheadPerFile;
}

// A .keras archive's config.json and metadata.json, each capped, checked before anything
// else is inflated.
struct ArchiveTexts {
  std::string config, metadata;
};
ArchiveTexts archive_texts(detail::ZipReader& archive, const std::string& source, const KerasImportLimits& limits,
                           bool with_weights) {
  auto require = [&](const char* name) {
    CITADEL_CHECK(archive.contains(name), IoError, source, ": the archive has no ", name,
                  "; a .keras file holds config.json, metadata.json and model.weights.h5");
  };
  ArchiveTexts texts;
  require("config.json");
  texts.config = archive.read("config.json", limits.max_config_bytes);
  require("metadata.json");
  texts.metadata = archive.read("metadata.json", limits.max_config_bytes);
  if (with_weights) require("model.weights.h5");
  return texts;
}

json keras_metadata(const std::string& text, const std::string& source, const KerasImportLimits& limits) {
  const json metadata = parse_json(text, source + ": metadata.json", limits);
  CITADEL_CHECK(metadata.is_object(), IoError, source, ": metadata.json must be a JSON object");
  CITADEL_CHECK(metadata.contains("keras_version") && metadata["keras_version"].is_string(), IoError, source,
                ": metadata.json has no keras_version (a string)");
  const std::string version = metadata["keras_version"].get<std::string>();
  CITADEL_CHECK(!version.empty() && version[0] >= '3', NotImplementedError, source,
                ": metadata.json gives Keras version '", version.substr(0, 32),
                "'; .keras archives are read as Keras 3 writes them");
  return metadata;
}

// A Keras file read: the model built with its weights, and what it was read from.
struct Imported {
  Architecture architecture;
  json imported_from;
};

Imported import_archive(std::string_view bytes, const std::string& source, const KerasImportOptions& options) {
  detail::ZipReader archive(bytes, source, zip_limits(options.limits));
  const ArchiveTexts texts = archive_texts(archive, source, options.limits, true);
  const json metadata = keras_metadata(texts.metadata, source, options.limits);
  Architecture architecture = read_architecture(texts.config, source + ": config.json", options.limits);
  const auto layers = planned_parameters(architecture, source, options.limits);
  // Only now is the weights entry inflated, and no further than the plan allows.
  const int64_t allowance = std::min(weights_entry_allowance(layers), options.limits.max_weights_bytes);
  const std::string image = archive.read(
      "model.weights.h5", allowance,
      "that the model's " + std::to_string(planned_floats(layers)) + " weights allow (docs/INTEROP.md)");
  const detail::SandboxedWeights weights = read_hdf5_weights(image, source + ": model.weights.h5", layers,
                                                             detail::WeightsLayout::kKeras3, options.limits);
  build(architecture);
  set_weights(architecture.model, weights, layers, source);
  return {std::move(architecture), {{"format", "keras"}, {"keras_version", metadata["keras_version"]}, {"file", source}}};
}

Imported import_hdf5(std::string_view bytes, const std::string& source, const std::string& config_json,
                     const KerasImportOptions& options) {
  CITADEL_CHECK(starts_with(bytes, kHdf5Signature), IoError, source,
                ": not an HDF5 file (it does not start with HDF5's signature)");
  std::string config = config_json;
  if (config.empty()) {
    const auto stored = detail::read_model_config_sandboxed(
        bytes, source, options.limits.max_config_bytes,
        detail::hdf5_sandbox_limits(options.limits.hdf5_cpu_seconds, options.limits.hdf5_wall_seconds,
                                    options.limits.hdf5_memory_bytes, bytes.size(), 0));
    CITADEL_CHECK(stored.has_value(), ValueError, source,
                  ": holds weights only; give the model's config (model.to_json()) with --config");
    config = *stored;
  }
  const std::string config_source = config_json.empty() ? source + ": model_config" : options.config_path;
  Architecture architecture = read_architecture(config, config_source.empty() ? "config" : config_source,
                                                options.limits);
  const auto layers = planned_parameters(architecture, source, options.limits);
  const detail::SandboxedWeights weights =
      read_hdf5_weights(bytes, source, layers, detail::WeightsLayout::kDetect, options.limits);
  build(architecture);
  set_weights(architecture.model, weights, layers, source);
  return {std::move(architecture),
          {{"format", weights.legacy ? "keras h5 (legacy)" : "keras weights.h5"},
           {"keras_version", weights.keras_version},
           {"file", source}}};
}

// The size is checked before reading (a regular file only: /dev/zero has no end).
std::string read_bounded(const std::string& path, int64_t max_bytes, const char* what) {
  std::error_code error;
  const auto status = std::filesystem::status(path, error);
  CITADEL_CHECK(!error && std::filesystem::exists(status), IoError, path, ": cannot open ", what,
                " (does it exist?)");
  CITADEL_CHECK(std::filesystem::is_regular_file(status), IoError, path, ": ", what, " is not a regular file");
  const auto size = std::filesystem::file_size(path, error);
  CITADEL_CHECK(!error && static_cast<int64_t>(size) <= max_bytes, IoError, path, ": ", what, " is larger than ",
                max_bytes, " bytes; refused");
  std::string bytes = read_file_bytes(path);
  CITADEL_CHECK(static_cast<int64_t>(bytes.size()) <= max_bytes, IoError, path, ": ", what, " grew past ",
                max_bytes, " bytes while read; refused");
  return bytes;
}

// The checks above make each JSON access valid; a type the checks missed still ends as an
// IoError naming the file, never as the JSON library's exception.
template <typename Read>
auto guarded(const std::string& source, Read read) {
  try {
    return read();
  } catch (const json::exception& e) {
    throw IoError(source + ": malformed Keras config or metadata: " + e.what());
  }
}


Imported import_bytes(std::string_view bytes, const std::string& source, const std::string& config_json,
                      const KerasImportOptions& options) {
  CITADEL_CHECK(static_cast<int64_t>(bytes.size()) <= options.limits.max_file_bytes, IoError, source,
                ": larger than ", options.limits.max_file_bytes, " bytes; refused");
  if (starts_with(bytes, kZipSignature)) {
    CITADEL_CHECK(config_json.empty(), ValueError, source, ": a .keras archive holds its own config; --config is "
                  "only for weights-only files");
    return guarded(source, [&] { return import_archive(bytes, source, options); });
  }
  if (starts_with(bytes, kHdf5Signature))
    return guarded(source, [&] { return import_hdf5(bytes, source, config_json, options); });
  throw IoError(source + ": neither a .keras archive (zip) nor a Keras HDF5 file (.h5, .weights.h5)");
}

Imported import_path(const std::string& path, const KerasImportOptions& options) {
  const std::string bytes = read_bounded(path, options.limits.max_file_bytes, "the Keras file");
  const std::string config =
      options.config_path.empty() ? "" : read_bounded(options.config_path, options.limits.max_config_bytes, "the config");
  return import_bytes(bytes, path, config, options);
}

}  // namespace

SavedModel import_keras_bytes(std::string_view bytes, const std::string& source, const std::string& config_json,
                              const KerasImportOptions& options) {
  Imported imported = import_bytes(bytes, source, config_json, options);
  return as_saved_model(std::move(imported.architecture), options, source, std::move(imported.imported_from));
}

SavedModel import_keras_model(const std::string& path, const KerasImportOptions& options) {
  Imported imported = import_path(path, options);
  return as_saved_model(std::move(imported.architecture), options, path, std::move(imported.imported_from));
}

Model load_keras_model(const std::string& path, const KerasImportOptions& options) {
  return std::move(import_path(path, options).architecture.model);
}

Model load_keras_model_bytes(std::string_view bytes, const std::string& source, const std::string& config_json,
                             const KerasImportOptions& options) {
  return std::move(import_bytes(bytes, source, config_json, options).architecture.model);
}

void load_keras_weights(Model& model, const std::string& path, const KerasImportLimits& limits) {
  CITADEL_CHECK(model.built(), ValueError, path, ": load the weights into a built model (build it or give input_shape)");
  const std::string bytes = read_bounded(path, limits.max_file_bytes, "the weights file");
  CITADEL_CHECK(starts_with(bytes, kHdf5Signature), IoError, path,
                ": not an HDF5 file (it does not start with HDF5's signature)");
  const auto layers =
      detail::plan_layer_parameters(detail::keras_layer_places(model), model.parameters().parameters());
  const detail::SandboxedWeights weights = read_hdf5_weights(bytes, path, layers, detail::WeightsLayout::kDetect, limits);
  set_weights(model, weights, layers, path);
}

Model keras_architecture(std::string_view config_json, const std::string& source, const KerasImportLimits& limits) {
  return guarded(source, [&] {
    Architecture architecture = read_architecture(config_json, source, limits);
    planned_parameters(architecture, source, limits);
    return std::move(architecture.model);
  });
}

Model keras_archive_architecture(std::string_view bytes, const std::string& source,
                                 const KerasImportLimits& limits) {
  CITADEL_CHECK(starts_with(bytes, kZipSignature), IoError, source, ": not a .keras archive (zip)");
  detail::ZipReader archive(bytes, source, zip_limits(limits));
  const ArchiveTexts texts = archive_texts(archive, source, limits, false);
  guarded(source, [&] { return keras_metadata(texts.metadata, source, limits); });
  return keras_architecture(texts.config, source + ": config.json", limits);
}

}  // namespace citadel
