// Saved models: the schema and preprocessing records, validated against the architecture.
#include "citadel/io/saved_model.hpp"

#include <cstdio>
#include <nlohmann/json.hpp>

#include "citadel/core/error.hpp"
#include "citadel/core/json_limits.hpp"
#include "citadel/data/feature_groups.hpp"
#include "citadel/io/signing.hpp"
#include "citadel/metrics/classification_report.hpp"
#include "citadel/model/predictor.hpp"

namespace citadel {
namespace {

// The schema and the architecture must agree before any row is read through them: the
// columns (one-hot widths included) make the input, the classes the output.
// The encoded features a row gives the model: its one input's size, or for several inputs
// every feature of the schema, each Input's group checked against its shape.
int64_t model_features(const SavedModel& saved, const std::string& source) {
  const Model& model = saved.model;
  if (model.input_count() == 1) return model.input_shape().numel();
  CITADEL_CHECK(!saved.images, IoError, source, ": a model of ", model.input_count(), " inputs cannot read images");
  std::vector<FeatureGroup> groups;
  try {
    groups = feature_groups(saved.schema, model.input_names());
  } catch (const ValueError& e) {
    throw IoError(source + ": " + e.what());
  }
  const std::vector<Shape> shapes = model.input_shapes();
  for (size_t i = 0; i < groups.size(); ++i)
    CITADEL_CHECK(shapes[i].rank() == 1 && shapes[i][0] == int64_t(groups[i].features.size()), IoError, source,
                  ": the Input '", groups[i].input, "' has shape ", shapes[i].str(), " but its columns make ",
                  groups[i].features.size(), " features");
  return saved.schema.feature_count();
}

void check_schema_against_model(const SavedModel& saved, const std::string& source) {
  const DataSchema& schema = saved.schema;
  CITADEL_CHECK(saved.model.output_count() == 1, IoError, source, ": a saved model of the command line has one "
                "output, this one has ", saved.model.output_count());
  const int64_t inputs = model_features(saved, source), outputs = saved.model.output_shape().numel();
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

// Quotes a CSV field when it needs it (RFC 4180).
std::string csv_field(const std::string& text) {
  if (text.find_first_of(",\"\n\r") == std::string::npos) return text;
  std::string quoted = "\"";
  for (char c : text) quoted += c == '"' ? std::string("\"\"") : std::string(1, c);
  return quoted + "\"";
}

ModelInputs model_inputs(const Model& model, const DataSchema& schema, ConstTensorView x) {
  ModelInputs inputs;
  if (model.input_count() == 1) {
    inputs.views = {x};
    return inputs;
  }
  inputs.parts = split_features(x, feature_groups(schema, model.input_names()));
  for (const Tensor& part : inputs.parts) inputs.views.emplace_back(part);
  return inputs;
}

RowPredictions predict_encoded_rows(const Model& model, const DataSchema& schema, const Dataset& rows,
                                    int64_t batch_size) {
  const ModelInputs inputs = model_inputs(model, schema, rows.x);
  const Tensor outputs = std::move(Predictor(model).predict(inputs.views, {.batch_size = batch_size})[0]);
  const int64_t N = outputs.shape(0), width = outputs.numel() / std::max<int64_t>(N, 1);
  RowPredictions result;
  result.lines = rows.lines;
  if (schema.label_type != LabelType::kClasses) {
    result.values = Tensor(Shape{N});
    for (int64_t n = 0; n < N; ++n) result.values[n] = outputs[n * width];
    return result;
  }
  const int64_t K = schema.class_count();
  CITADEL_CHECK(width == K || (width == 1 && K == 2), ShapeError, "predict_rows: ", width, " outputs for ", K,
                " classes");
  result.probabilities = Tensor(Shape{N, K});
  result.class_names = schema.classes;
  const std::vector<int64_t> classes = predicted_classes(outputs);
  for (int64_t n = 0; n < N; ++n) {
    result.labels.push_back(schema.classes[static_cast<size_t>(classes[n])]);
    for (int64_t c = 0; c < K; ++c)  // one sigmoid output gives P(class 1); class 0 is its complement
      result.probabilities[n * K + c] = width == 1 ? (c == 1 ? outputs[n] : 1.0f - outputs[n]) : outputs[n * width + c];
  }
  return result;
}

std::string RowPredictions::csv() const {
  std::string csv = "line,predicted";
  const bool classification = probabilities.defined();
  const int64_t K = classification ? probabilities.shape(1) : 0;
  if (classification)
    for (const auto& name : class_names) {
      std::string field = "p_";  // built in steps: GCC 12 warns falsely (-Wrestrict) on a + chain
      field += name;
      csv += ',';
      csv += csv_field(field);
    }
  csv += "\n";
  char number[32];
  for (size_t n = 0; n < lines.size(); ++n) {
    csv += std::to_string(lines[n]) + ",";
    if (!classification) {
      std::snprintf(number, sizeof number, "%.9g", values[static_cast<int64_t>(n)]);
      csv += std::string(number) + "\n";
      continue;
    }
    csv += csv_field(labels[n]);
    for (int64_t c = 0; c < K; ++c) {
      std::snprintf(number, sizeof number, ",%.6f", probabilities[static_cast<int64_t>(n) * K + c]);
      csv += number;
    }
    csv += "\n";
  }
  return csv;
}

RowPredictions SavedModel::predict_rows(const CsvTable& table, std::optional<MissingValues> missing,
                                        int64_t batch_size) const {
  CITADEL_CHECK(!images, ValueError, table.source, ": the model was trained on images; CSV rows cannot feed it");
  return predict_table(model, schema, preprocessor, table,
                       {.missing = missing.value_or(preprocessor.missing_values())}, batch_size);
}

namespace {

void add_counts(std::vector<int64_t>& total, const std::vector<int64_t>& part) {
  total.resize(std::max(total.size(), part.size()), 0);
  for (size_t i = 0; i < part.size(); ++i) total[i] += part[i];
}

}  // namespace

RowPredictions predict_table(const Model& model, const DataSchema& schema, const Preprocessor& preprocessor,
                             const CsvTable& table, const EncodeOptions& options, int64_t batch_size,
                             RowHandling* handling) {
  constexpr int64_t kSliceBytes = int64_t{64} << 20;
  const int64_t width = schema.feature_count() + 1;
  const int64_t slice = std::max<int64_t>(1, kSliceBytes / (width * int64_t(sizeof(float))));
  RowPredictions all;
  std::vector<float> probabilities, values;
  for (int64_t begin = 0; begin < table.rows || begin == 0; begin += slice) {
    EncodeOptions part_options = options;
    part_options.row_begin = begin;
    part_options.row_end = std::min(begin + slice, table.rows);
    const Dataset rows = encode_for_model(table, schema, preprocessor, part_options, false);
    if (handling) {
      add_counts(handling->missing_cells, rows.missing_cells);
      add_counts(handling->unseen_categories, rows.unseen_categories);
      handling->dropped_rows += rows.dropped_rows;
    }
    if (rows.x.shape(0) == 0) continue;
    RowPredictions part = predict_encoded_rows(model, schema, rows, batch_size);
    all.lines.insert(all.lines.end(), part.lines.begin(), part.lines.end());
    all.labels.insert(all.labels.end(), part.labels.begin(), part.labels.end());
    all.class_names = part.class_names;
    if (part.probabilities.defined())
      probabilities.insert(probabilities.end(), part.probabilities.data(),
                           part.probabilities.data() + part.probabilities.numel());
    if (part.values.defined()) values.insert(values.end(), part.values.data(), part.values.data() + part.values.numel());
  }
  const auto rows = static_cast<int64_t>(all.lines.size());
  if (schema.label_type == LabelType::kClasses) {
    all.class_names = schema.classes;
    all.probabilities = Tensor(Shape{rows, schema.class_count()});
    std::copy(probabilities.begin(), probabilities.end(), all.probabilities.data());
  } else {
    all.values = Tensor(Shape{rows});
    std::copy(values.begin(), values.end(), all.values.data());
  }
  return all;
}

std::string describe_schema(const SchemaRecord& record) {
  const DataSchema& schema = record.schema;
  return nlohmann::json{{"input_columns", schema.input_columns},
                        {"categories", schema.categories},
                        {"label", schema.label},
                        {"label_type", schema.label_type == LabelType::kClasses ? "classes" : "values"},
                        {"classes", schema.classes},
                        {"images", record.images},
                        {"loss", record.loss}}
      .dump();
}

SchemaRecord restore_schema(std::string_view json, const std::string& source) {
  CITADEL_CHECK(json_nesting_depth(json) <= 32, IoError, source, ": the 'schema' record is nested too deep");
  SchemaRecord record;
  try {
    const nlohmann::json parsed = nlohmann::json::parse(json);
    DataSchema& learned = record.schema;
    learned.input_columns = parsed.at("input_columns").get<std::vector<std::string>>();
    learned.categories = parsed.at("categories").get<std::vector<std::vector<std::string>>>();
    learned.label = parsed.at("label").get<std::string>();
    const std::string label_type = parsed.at("label_type").get<std::string>();
    CITADEL_CHECK(label_type == "classes" || label_type == "values", IoError, source,
                  ": the schema's label_type must be classes or values, got '", label_type, "'");
    learned.label_type = label_type == "classes" ? LabelType::kClasses : LabelType::kValues;
    learned.classes = parsed.at("classes").get<std::vector<std::string>>();
    record.images = parsed.at("images").get<bool>();
    record.loss = parsed.at("loss").get<std::string>();
  } catch (const nlohmann::json::exception& e) {
    throw IoError(source + ": the schema record is malformed: " + e.what());
  }
  return record;
}

Dataset SavedModel::encode(const CsvTable& table, std::optional<MissingValues> missing) const {
  CITADEL_CHECK(!images, ValueError, table.source, ": the model was trained on images; CSV rows cannot feed it");
  return encode_for_model(table, schema, preprocessor, missing.value_or(preprocessor.missing_values()), false);
}

Dataset encode_for_model(const CsvTable& table, const DataSchema& schema, const Preprocessor& preprocessor,
                         MissingValues missing, bool require_label) {
  return encode_for_model(table, schema, preprocessor, EncodeOptions{.missing = missing}, require_label);
}

Dataset encode_for_model(const CsvTable& table, const DataSchema& schema, const Preprocessor& preprocessor,
                         const EncodeOptions& options, bool require_label) {
  CITADEL_CHECK(!preprocessor.images(), ValueError, table.source,
                ": the model was trained on images; CSV rows cannot feed it");
  Dataset data = citadel::encode(table, schema, options);
  CITADEL_CHECK(!require_label || data.y.defined(), ValueError, table.source, ": has no label column '", schema.label,
                "' to compare the model's answers with");
  preprocessor.apply(data.x);
  return data;
}

Dataset SavedModel::encode_labelled(const CsvTable& table, std::optional<MissingValues> missing) const {
  return encode_for_model(table, schema, preprocessor, missing.value_or(preprocessor.missing_values()), true);
}

SavedModel saved_model_from_bytes(std::string_view bytes, const std::string& source, const ModelFileLimits& limits) {
  return saved_model_from(load_model_from_bytes(bytes, source, limits), source);
}

SavedModel saved_model_from(LoadedModel loaded, const std::string& source) {
  SavedModel saved{std::move(loaded.model), {}, false, "", {}, std::move(loaded.metadata)};
  const auto schema = saved.metadata.find("schema");
  CITADEL_CHECK(schema != saved.metadata.end(), IoError, source, ": has no 'schema' record; save it with `citadel train --save`");
  SchemaRecord record = restore_schema(schema->second, source);
  saved.schema = std::move(record.schema);
  saved.images = record.images;
  saved.loss = std::move(record.loss);
  check_schema_against_model(saved, source);
  const auto preprocessing = saved.metadata.find("preprocessing");
  CITADEL_CHECK(preprocessing != saved.metadata.end(), IoError, source, ": has no 'preprocessing' record");
  try {
    saved.preprocessor = Preprocessor::restore(preprocessing->second, saved.images);
    if (!saved.images) saved.preprocessor.check_width(saved.schema.feature_count());
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
  extra["schema"] = describe_schema({schema, images, loss});
  extra["preprocessing"] = preprocessor.describe();
  extra["trained_on"] = trained_on;
  return extra;
}

void save_saved_model(Model& model, const Metadata& records, const std::string& path,
                      const ModelProtection& protection) {
  check_model_file_extension(path);
  write_protected_file(path, model_file_bytes(model, records), protection, kPurposeModel);
}

}  // namespace citadel
