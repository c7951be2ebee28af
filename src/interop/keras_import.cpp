// Keras files → citadel models: the config checked and built, the weights matched to the
// architecture and read, and a saved model's records made up for what Keras does not say.
#include "citadel/interop/keras_import.hpp"

#include <cmath>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "citadel/core/error.hpp"
#include "citadel/core/json_limits.hpp"
#include "citadel/data/preprocessor.hpp"
#include "citadel/layers/activations.hpp"
#include "citadel/losses/loss.hpp"
#include "citadel/model/model_config.hpp"
#include "hdf5_image.hpp"
#include "keras_config_guard.hpp"
#include "keras_coverage.hpp"
#include "keras_weights.hpp"
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

// The architecture and the name each layer has in the Keras file (InputLayer left out).
struct Architecture {
  Sequential model;
  std::vector<std::string> keras_names, class_names;
  Shape input_shape;
  std::string compile_loss;  // compile_config's loss, when a name
};

Architecture read_architecture(std::string_view text, const std::string& source, const KerasImportLimits& limits) {
  const json root = parse_json(text, source, limits);
  CITADEL_CHECK(root.is_object(), IoError, source, ": a Keras model config is a JSON object");
  // What is not imported yet is named first: the obstacle, not a consequence of it.
  detail::refuse_unsupported_classes(root, source);
  detail::refuse_code_in_config(root, source);
  CITADEL_CHECK(!root.contains("class_name") || root["class_name"].is_string(), IoError, source,
                ": 'class_name' must be a string");
  const std::string class_name = root.value("class_name", std::string("Sequential"));
  CITADEL_CHECK(class_name == "Sequential", NotImplementedError, source, ": a '", class_name.substr(0, 64),
                "' model is not supported yet; citadel imports Sequential models (docs/INTEROP.md)");
  ModelConfigLimits config_limits;
  config_limits.max_bytes = limits.max_config_bytes;
  config_limits.max_layers = limits.max_layers;
  config_limits.max_depth = 64;
  Architecture result{model_from_config(text, source, config_limits), {}, {}, {}, ""};
  // model_from_config accepted the envelope: {"class_name", "config": {"layers"}} or {"layers"}.
  const json& layers = root.contains("class_name") ? root.at("config").at("layers") : root.at("layers");
  for (const json& layer : layers) {
    if (layer.value("class_name", std::string()) == "InputLayer") continue;
    result.class_names.push_back(result.model.layer(result.keras_names.size()).type());
    result.keras_names.push_back(result.model.layer(result.keras_names.size()).name());
  }
  // The input shape: the first layer's (from an InputLayer or its own input_shape), else
  // what Keras built the model for.
  if (auto declared = result.model.layer(0).declared_input_shape()) {
    result.input_shape = *declared;
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
    result.input_shape = Shape(dims);
  }
  if (root.contains("compile_config") && root["compile_config"].is_object() &&
      root["compile_config"].contains("loss") && root["compile_config"]["loss"].is_string())
    result.compile_loss = root["compile_config"]["loss"].get<std::string>();
  return result;
}

// Each layer's parameters as build() would declare them, checked against the caps.
std::vector<detail::LayerParameters> planned_parameters(const Sequential& model, const Shape& input_shape,
                                                        const std::vector<std::string>& keras_names,
                                                        const std::vector<std::string>& class_names,
                                                        const std::string& source, const KerasImportLimits& limits) {
  const Sequential::BuildPlan plan = model.plan(input_shape);
  int64_t total = 0;
  for (const ParameterInfo& parameter : plan.parameters) total += parameter.shape.numel();
  CITADEL_CHECK(total <= limits.max_parameters, IoError, source, ": the architecture declares ", total,
                " weights, more than the limit of ", limits.max_parameters);
  std::vector<detail::LayerParameters> layers;
  for (size_t i = 0; i < model.size(); ++i) {
    detail::LayerParameters layer{keras_names[i], class_names[i], {}};
    const std::string prefix = model.layer(i).name() + "/";
    for (const ParameterInfo& parameter : plan.parameters)
      if (parameter.name.rfind(prefix, 0) == 0) layer.parameters.push_back(parameter);
    layers.push_back(std::move(layer));
  }
  return layers;
}

std::vector<detail::LayerParameters> planned_parameters(const Architecture& a, const std::string& source,
                                                        const KerasImportLimits& limits) {
  return planned_parameters(a.model, a.input_shape, a.keras_names, a.class_names, source, limits);
}

// Where each weight is: Keras 2's layout (model_weights, or layer_names at the root) or 3's.
std::vector<std::string> weight_paths(const detail::Hdf5Reader& file, const std::vector<detail::LayerParameters>& layers) {
  if (file.exists("model_weights")) return detail::legacy_weight_paths(file, "model_weights", layers);
  if (file.string_attribute("/", "layer_names").has_value()) return detail::legacy_weight_paths(file, "/", layers);
  return detail::keras3_weight_paths(file, layers);
}

// Reads every weight into the built model from the checked dataset paths; on any error the
// model keeps the weights it had.
void read_weights(Sequential& model, const detail::Hdf5Reader& file, const std::vector<std::string>& paths) {
  ParameterStore& store = model.parameters();
  CITADEL_CHECK(paths.size() == store.parameters().size(), InternalError, file.source(), ": ", paths.size(),
                " datasets for ", store.parameters().size(), " parameters");
  const std::vector<float> before(store.values().begin(), store.values().end());
  try {
    for (size_t i = 0; i < paths.size(); ++i) {
      TensorView values = store.value(static_cast<int>(i));
      std::span<float> span(values.data(), static_cast<size_t>(values.numel()));
      file.read_floats(paths[i], span);
      for (const float v : span)
        CITADEL_CHECK(std::isfinite(v), IoError, file.source(), ": dataset ", paths[i], " (",
                      store.parameters()[i].name, ") holds NaN or infinity");
    }
  } catch (...) {
    std::copy(before.begin(), before.end(), store.values().begin());
    throw;
  }
}

void read_weights(Architecture& architecture, const detail::Hdf5Reader& file, const std::vector<std::string>& paths) {
  architecture.model.build(architecture.input_shape);
  read_weights(architecture.model, file, paths);
}

// What Keras does not record, made up so the model serves, predicts and is audited like
// one citadel trained: numeric columns x0..x(n-1) or images in, classes or a value out.
SavedModel as_saved_model(Architecture architecture, const KerasImportOptions& options, const std::string& source,
                          json imported_from) {
  Sequential& model = architecture.model;
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
  const ops::ActivationKind last = model.layer(model.size() - 1).activation();
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

// The three entries of a .keras archive; config and metadata checked for size first.
std::map<std::string, std::string> archive_entries(std::string_view bytes, const std::string& source,
                                                   const KerasImportLimits& limits, bool with_weights) {
  detail::WantedEntries wanted{{"config.json", limits.max_config_bytes}, {"metadata.json", limits.max_config_bytes}};
  if (with_weights) wanted.emplace_back("model.weights.h5", limits.max_weights_bytes);
  auto entries = detail::read_zip_archive(bytes, source, wanted, zip_limits(limits));
  for (const auto& [name, cap] : wanted)
    CITADEL_CHECK(entries.count(name), IoError, source, ": the archive has no ", name,
                  "; a .keras file holds config.json, metadata.json and model.weights.h5");
  return entries;
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

SavedModel import_archive(std::string_view bytes, const std::string& source, const KerasImportOptions& options) {
  auto entries = archive_entries(bytes, source, options.limits, true);
  const json metadata = keras_metadata(entries["metadata.json"], source, options.limits);
  Architecture architecture = read_architecture(entries["config.json"], source + ": config.json", options.limits);
  const auto layers = planned_parameters(architecture, source, options.limits);
  const detail::Hdf5Reader weights(entries["model.weights.h5"], source + ": model.weights.h5");
  read_weights(architecture, weights, detail::keras3_weight_paths(weights, layers));
  return as_saved_model(std::move(architecture), options, source,
                        {{"format", "keras"}, {"keras_version", metadata["keras_version"]}, {"file", source}});
}

SavedModel import_hdf5(std::string_view bytes, const std::string& source, const std::string& config_json,
                       const KerasImportOptions& options) {
  const detail::Hdf5Reader file(bytes, source);
  const bool legacy = file.exists("model_weights") || file.string_attribute("/", "layer_names").has_value();
  std::string config = config_json;
  if (config.empty()) {
    const auto stored = file.string_attribute("/", "model_config", options.limits.max_config_bytes);
    CITADEL_CHECK(stored.has_value() && stored->size() == 1, ValueError, source,
                  ": holds weights only; give the model's config (model.to_json()) with --config");
    config = (*stored)[0];
  }
  const std::string config_source = config_json.empty() ? source + ": model_config" : options.config_path;
  Architecture architecture = read_architecture(config, config_source.empty() ? "config" : config_source,
                                                options.limits);
  const auto layers = planned_parameters(architecture, source, options.limits);
  std::string version;
  if (const auto stored = file.string_attribute("/", "keras_version"); stored && stored->size() == 1)
    version = (*stored)[0];
  read_weights(architecture, file, weight_paths(file, layers));
  return as_saved_model(std::move(architecture), options, source,
                        {{"format", legacy ? "keras h5 (legacy)" : "keras weights.h5"},
                         {"keras_version", version},
                         {"file", source}});
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

}  // namespace

SavedModel import_keras_bytes(std::string_view bytes, const std::string& source, const std::string& config_json,
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

SavedModel import_keras_model(const std::string& path, const KerasImportOptions& options) {
  const std::string bytes = read_bounded(path, options.limits.max_file_bytes, "the Keras file");
  const std::string config =
      options.config_path.empty() ? "" : read_bounded(options.config_path, options.limits.max_config_bytes, "the config");
  return import_keras_bytes(bytes, path, config, options);
}

void load_keras_weights(Sequential& model, const std::string& path, const KerasImportLimits& limits) {
  CITADEL_CHECK(model.built(), ValueError, path, ": load the weights into a built model (build it or give input_shape)");
  const std::string bytes = read_bounded(path, limits.max_file_bytes, "the weights file");
  const detail::Hdf5Reader file(bytes, path);
  std::vector<std::string> names, classes;
  for (size_t i = 0; i < model.size(); ++i) {
    names.push_back(model.layer(i).name());
    classes.push_back(model.layer(i).type());
  }
  const auto layers = planned_parameters(model, model.input_shape(), names, classes, path, limits);
  read_weights(model, file, weight_paths(file, layers));
}

Sequential keras_architecture(std::string_view config_json, const std::string& source,
                              const KerasImportLimits& limits) {
  return guarded(source, [&] {
    Architecture architecture = read_architecture(config_json, source, limits);
    planned_parameters(architecture, source, limits);
    return std::move(architecture.model);
  });
}

Sequential keras_archive_architecture(std::string_view bytes, const std::string& source,
                                      const KerasImportLimits& limits) {
  CITADEL_CHECK(starts_with(bytes, kZipSignature), IoError, source, ": not a .keras archive (zip)");
  auto entries = archive_entries(bytes, source, limits, false);
  guarded(source, [&] { return keras_metadata(entries["metadata.json"], source, limits); });
  return keras_architecture(entries["config.json"], source + ": config.json", limits);
}

}  // namespace citadel
