// Saved models: the schema and preprocessing records, validated against the architecture.
#include "citadel/io/saved_model.hpp"

#include <nlohmann/json.hpp>

#include "citadel/core/error.hpp"
#include "citadel/core/json_limits.hpp"
#include "citadel/io/signing.hpp"

namespace citadel {
namespace {

nlohmann::json parse_record(const Metadata& metadata, const char* key, const std::string& source) {
  const auto found = metadata.find(key);
  CITADEL_CHECK(found != metadata.end(), IoError, source, ": has no '", key,
                "' record; save it with `citadel train --save`");
  CITADEL_CHECK(json_nesting_depth(found->second) <= 32, IoError, source, ": the '", key, "' record is nested too deep");
  try {
    return nlohmann::json::parse(found->second);
  } catch (const nlohmann::json::exception& e) {
    throw IoError(source + ": the '" + key + "' record is not valid JSON: " + e.what());
  }
}

// The schema and the architecture must agree before any row is read through them: the
// columns (one-hot widths included) make the input, the classes the output.
void check_schema_against_model(const SavedModel& saved, const std::string& source) {
  const DataSchema& schema = saved.schema;
  const int64_t inputs = saved.model.input_shape().numel(), outputs = saved.model.output_shape().numel();
  CITADEL_CHECK(schema.categories.size() == schema.input_columns.size(), IoError, source, ": the schema lists ",
                schema.input_columns.size(), " columns but categories for ", schema.categories.size());
  if (!saved.images) {
    int64_t features = 0;
    for (const auto& categories : schema.categories) {
      CITADEL_CHECK(int64_t(categories.size()) <= inputs, IoError, source, ": a column has ", categories.size(),
                    " categories, more than the model's ", inputs, " inputs");
      features += categories.empty() ? 1 : int64_t(categories.size());
    }
    CITADEL_CHECK(features == inputs, IoError, source, ": the schema's columns make ", features,
                  " features but the model takes ", inputs);
  }
  if (schema.label_type == LabelType::kValues) {
    CITADEL_CHECK(outputs == 1 && schema.classes.empty(), IoError, source,
                  ": a regression model has one output and no classes, got ", outputs, " outputs and ",
                  schema.classes.size(), " classes");
    return;
  }
  const int64_t classes = schema.class_count();
  const bool binary = outputs == 1 && classes == 2;
  CITADEL_CHECK(binary || (classes >= 2 && classes == outputs), IoError, source, ": the schema names ", classes,
                " classes but the model has ", outputs, " outputs");
}

}  // namespace

Dataset SavedModel::encode(const CsvTable& table, MissingValues missing) const {
  CITADEL_CHECK(!images, ValueError, table.source, ": the model was trained on images; CSV rows cannot feed it");
  Dataset data = citadel::encode(table, schema, missing);
  preprocessor.apply(data.x);
  return data;
}

SavedModel saved_model_from_bytes(std::string_view bytes, const std::string& source, const ModelFileLimits& limits) {
  LoadedModel loaded = load_model_from_bytes(bytes, source, limits);
  SavedModel saved{std::move(loaded.model), {}, false, "", {}, std::move(loaded.metadata)};
  const nlohmann::json schema = parse_record(saved.metadata, "schema", source);
  try {
    DataSchema& learned = saved.schema;
    learned.input_columns = schema.at("input_columns").get<std::vector<std::string>>();
    learned.categories = schema.at("categories").get<std::vector<std::vector<std::string>>>();
    learned.label = schema.at("label").get<std::string>();
    learned.label_type = schema.at("label_type") == "classes" ? LabelType::kClasses : LabelType::kValues;
    learned.classes = schema.at("classes").get<std::vector<std::string>>();
    saved.images = schema.at("images").get<bool>();
    saved.loss = schema.at("loss").get<std::string>();
  } catch (const nlohmann::json::exception& e) {
    throw IoError(source + ": the schema record is malformed: " + e.what());
  }
  check_schema_against_model(saved, source);
  const auto preprocessing = saved.metadata.find("preprocessing");
  CITADEL_CHECK(preprocessing != saved.metadata.end(), IoError, source, ": has no 'preprocessing' record");
  try {
    saved.preprocessor = Preprocessor::restore(preprocessing->second, saved.images);
    if (!saved.images) saved.preprocessor.check_width(saved.model.input_shape().numel());
  } catch (const Error& e) {
    throw IoError(source + ": " + e.what());
  }
  return saved;
}

SavedModel load_saved_model(const std::string& path, const LoadOptions& options) {
  std::string bytes = read_protected_file(path, options.access, kPurposeModel);
  try {
    SavedModel saved = saved_model_from_bytes(bytes, path, options.limits);
    wipe_bytes(bytes);  // the plaintext of an encrypted model is not kept
    return saved;
  } catch (...) {
    wipe_bytes(bytes);
    throw;
  }
}

Metadata saved_model_records(const DataSchema& schema, bool images, const std::string& loss,
                             const Preprocessor& preprocessor, const std::string& trained_on, Metadata extra) {
  const nlohmann::json schema_json{{"input_columns", schema.input_columns},
                                   {"categories", schema.categories},
                                   {"label", schema.label},
                                   {"label_type", schema.label_type == LabelType::kClasses ? "classes" : "values"},
                                   {"classes", schema.classes},
                                   {"images", images},
                                   {"loss", loss}};
  extra["schema"] = schema_json.dump();
  extra["preprocessing"] = preprocessor.describe();
  extra["trained_on"] = trained_on;
  return extra;
}

void save_saved_model(Sequential& model, const Metadata& records, const std::string& path,
                      const ModelProtection& protection) {
  write_protected_file(path, model_file_bytes(model, records), protection, kPurposeModel);
}

}  // namespace citadel
