// Saved models: the schema and preprocessing records, validated against the architecture.
#include "citadel/io/saved_model.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <nlohmann/json.hpp>

#include "citadel/core/error.hpp"
#include "citadel/core/json_limits.hpp"
#include "citadel/data/feature_groups.hpp"
#include "citadel/data/csv_field.hpp"
#include "citadel/data/text_vectorization.hpp"
#include "citadel/io/signing.hpp"
#include "citadel/losses/loss.hpp"
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

// A label against the width of the output that predicts it (`what`: how messages name
// that output's record).
void check_label_width(const LabelSchema& label, int64_t outputs, const std::string& source, const std::string& what) {
  if (label.type == LabelType::kValues) {
    CITADEL_CHECK(outputs == 1 && label.classes.empty(), IoError, source, ": ", what,
                  "a regression output is one number and has no classes, got ", outputs, " outputs and ",
                  label.classes.size(), " classes");
    return;
  }
  const int64_t classes = label.class_count();
  const bool binary = outputs == 1 && classes == 2;
  CITADEL_CHECK(binary || (classes >= 2 && classes == outputs), IoError, source, ": ", what, "the schema names ",
                classes, " classes but the model has ", outputs, " outputs");
}

std::string quoted_names(const std::vector<std::string>& names) {
  std::string joined;
  for (const auto& name : names) joined += (joined.empty() ? "'" : ", '") + name + "'";
  return joined;
}

void check_schema_against_model(const SavedModel& saved, const std::string& source) {
  const DataSchema& schema = saved.schema;
  const std::vector<std::string> names = saved.model.output_names();
  if (saved.outputs.empty()) {
    CITADEL_CHECK(saved.model.output_count() == 1, IoError, source, ": the model has ", saved.model.output_count(),
                  " outputs (", quoted_names(names), ") but its schema record names one label and no 'outputs'");
  } else {
    CITADEL_CHECK(saved.model.output_count() == saved.outputs.size(), IoError, source, ": the model has ",
                  saved.model.output_count(), " outputs (", quoted_names(names), ") but the schema's 'outputs' lists ",
                  saved.outputs.size());
  }
  const int64_t inputs = model_features(saved, source);
  CITADEL_CHECK(schema.categories.size() == schema.input_columns.size(), IoError, source, ": the schema lists ",
                schema.input_columns.size(), " columns but categories for ", schema.categories.size());
  if (saved.audio) {
    CITADEL_CHECK(!saved.images && saved.model.input_count() == 1 && schema.input_columns.empty() && !schema.text,
                  IoError, source, ": the '", kAudioPreprocessingRecord,
                  "' record is for a model of one input that reads WAV files, not columns, text or images");
    CITADEL_CHECK(saved.model.input_shape() == saved.audio->feature_shape(), IoError, source, ": the '",
                  kAudioPreprocessingRecord, "' record makes features of shape ", saved.audio->feature_shape().str(),
                  " but the model's input has shape ", saved.model.input_shape().str());
    // Each file a speech model reads costs one clip of waveform before its features: held near
    // the size of the model's input, so that a small hostile file cannot ask for minutes of it.
    const int64_t clip = saved.audio->options().clip_samples, input = saved.model.input_shape().numel();
    CITADEL_CHECK(clip <= AudioPreprocessing::max_clip_samples(input), IoError, source, ": the '",
                  kAudioPreprocessingRecord, "' record's 'clip_samples' (", clip, " samples, ",
                  double(clip) / double(saved.audio->options().sample_rate), " s at ",
                  saved.audio->options().sample_rate, " Hz) is more than ", AudioPreprocessing::max_clip_samples(input),
                  ", the most a model whose input holds ", input, " values may ask for");
  } else if (!saved.images) {
    int64_t features = 0;
    for (const auto& categories : schema.categories) {
      CITADEL_CHECK(int64_t(categories.size()) <= inputs, IoError, source, ": a column has ", categories.size(),
                    " categories, more than the model's ", inputs, " inputs");
      features += categories.empty() ? 1 : int64_t(categories.size());
    }
    const int64_t text = schema.text ? schema.text->sequence_length() : 0;
    CITADEL_CHECK(features + text == inputs, IoError, source, ": the schema's columns make ", features, " features",
                  text ? " and its text column '" + schema.text_column + "' " + std::to_string(text) + " token ids"
                       : std::string(),
                  " but the model takes ", inputs);
  }
  if (saved.outputs.empty()) {
    check_label_width(schema.label_schema(0), saved.model.output_shape().numel(), source, "");
    return;
  }
  const std::vector<Shape> shapes = saved.model.output_shapes();
  for (size_t i = 0; i < saved.outputs.size(); ++i) {
    const OutputSchema& output = saved.outputs[i];
    const auto found = std::find(names.begin(), names.end(), output.name);
    CITADEL_CHECK(found != names.end(), IoError, source, ": the schema's outputs[", i, "].name '", output.name,
                  "' is not an output of the model (its outputs: ", quoted_names(names), ")");
    check_label_width(output.label, shapes[size_t(found - names.begin())].numel(), source,
                      "the schema's outputs[" + std::to_string(i) + "] ('" + output.name + "'): ");
  }
}

}  // namespace

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

namespace {

// One output's predictions (`outputs`: (N, width)) for a label of the schema.
RowPredictions output_predictions(const Tensor& outputs, const LabelSchema& label) {
  const int64_t N = outputs.shape(0), width = outputs.numel() / std::max<int64_t>(N, 1);
  RowPredictions result;
  if (label.type != LabelType::kClasses) {
    result.values = Tensor(Shape{N});
    for (int64_t n = 0; n < N; ++n) result.values[n] = outputs[n * width];
    return result;
  }
  const int64_t K = label.class_count();
  CITADEL_CHECK(width == K || (width == 1 && K == 2), ShapeError, "predict_rows: ", width, " outputs for ", K,
                " classes of '", label.name, "'");
  result.probabilities = Tensor(Shape{N, K});
  result.class_names = label.classes;
  const std::vector<int64_t> classes = predicted_classes(outputs);
  for (int64_t n = 0; n < N; ++n) {
    result.labels.push_back(label.classes[static_cast<size_t>(classes[n])]);
    for (int64_t c = 0; c < K; ++c)  // one sigmoid output gives P(class 1); class 0 is its complement
      result.probabilities[n * K + c] = width == 1 ? (c == 1 ? outputs[n] : 1.0f - outputs[n]) : outputs[n * width + c];
  }
  return result;
}

// The label of the schema that the model's output `name` predicts.
LabelSchema label_of_output(const DataSchema& schema, const std::vector<std::string>& label_outputs,
                            const std::string& name) {
  const auto found = std::find(label_outputs.begin(), label_outputs.end(), name);
  CITADEL_CHECK(found != label_outputs.end(), ValueError, "predict_rows: the model's output '", name,
                "' has no label in the schema");
  return schema.label_schema(size_t(found - label_outputs.begin()));
}

// One output's predictions of consecutive slices of rows, joined.
RowPredictions join_predictions(const std::vector<const RowPredictions*>& parts, const LabelSchema& label) {
  RowPredictions all;
  std::vector<float> numbers;
  for (const RowPredictions* part : parts) {
    all.labels.insert(all.labels.end(), part->labels.begin(), part->labels.end());
    const Tensor& source = label.type == LabelType::kClasses ? part->probabilities : part->values;
    if (source.defined()) numbers.insert(numbers.end(), source.data(), source.data() + source.numel());
  }
  if (label.type == LabelType::kClasses) {
    const int64_t K = label.class_count();
    all.class_names = label.classes;
    all.probabilities = Tensor(Shape{int64_t(numbers.size()) / std::max<int64_t>(K, 1), K});
    std::copy(numbers.begin(), numbers.end(), all.probabilities.data());
  } else {
    all.values = Tensor(Shape{int64_t(numbers.size())});
    std::copy(numbers.begin(), numbers.end(), all.values.data());
  }
  return all;
}

}  // namespace

RowPredictions predict_encoded_rows(const Model& model, const DataSchema& schema, const Dataset& rows,
                                    int64_t batch_size, const std::vector<std::string>& label_outputs) {
  const ModelInputs inputs = model_inputs(model, schema, rows.x);
  std::vector<Tensor> outputs = Predictor(model).predict(inputs.views, {.batch_size = batch_size});
  if (label_outputs.empty()) {
    CITADEL_CHECK(outputs.size() == 1, ValueError, "predict_rows: the model has ", outputs.size(),
                  " outputs; name each one's label (label_outputs)");
    RowPredictions result = output_predictions(outputs[0], schema.label_schema(0));
    result.lines = rows.lines;
    return result;
  }
  RowPredictions result;
  result.lines = rows.lines;
  result.output_names = model.output_names();
  for (size_t o = 0; o < outputs.size(); ++o)
    result.outputs.push_back(
        output_predictions(outputs[o], label_of_output(schema, label_outputs, result.output_names[o])));
  return result;
}

namespace {

// One output's header fields: "<prefix>predicted", then "<prefix>p_<class>" per class.
void append_header(std::string& csv, const RowPredictions& output, const std::string& prefix) {
  csv += ',';
  csv += csv_field(prefix + "predicted");
  if (!output.probabilities.defined()) return;
  for (const auto& name : output.class_names) {
    std::string field = prefix;  // built in steps: GCC 12 warns falsely (-Wrestrict) on a + chain
    field += "p_";
    field += name;
    csv += ',';
    csv += csv_field(field);
  }
}

// One output's fields of row n: the predicted class and its probabilities, or the value.
void append_fields(std::string& csv, const RowPredictions& output, int64_t n) {
  char number[32];
  if (!output.probabilities.defined()) {
    std::snprintf(number, sizeof number, ",%.9g", output.values[n]);
    csv += number;
    return;
  }
  csv += ',';
  csv += csv_field(output.labels[size_t(n)]);
  const int64_t K = output.probabilities.shape(1);
  for (int64_t c = 0; c < K; ++c) {
    std::snprintf(number, sizeof number, ",%.6f", output.probabilities[n * K + c]);
    csv += number;
  }
}

}  // namespace

std::string RowPredictions::csv() const {
  std::string csv = "line";
  if (outputs.empty()) append_header(csv, *this, "");
  for (size_t o = 0; o < outputs.size(); ++o) append_header(csv, outputs[o], output_names[o] + "_");
  csv += "\n";
  for (size_t n = 0; n < lines.size(); ++n) {
    csv += std::to_string(lines[n]);
    if (outputs.empty()) append_fields(csv, *this, int64_t(n));
    for (const RowPredictions& output : outputs) append_fields(csv, output, int64_t(n));
    csv += "\n";
  }
  return csv;
}

RowPredictions SavedModel::predict_rows(const CsvTable& table, std::optional<MissingValues> missing,
                                        int64_t batch_size) const {
  CITADEL_CHECK(!images, ValueError, table.source, ": the model was trained on images; CSV rows cannot feed it");
  CITADEL_CHECK(!audio, ValueError, table.source, ": the model reads WAV files; CSV rows cannot feed it");
  return predict_table(model, schema, preprocessor, table,
                       {.missing = missing.value_or(preprocessor.missing_values())}, batch_size, nullptr,
                       label_outputs());
}

namespace {

void add_counts(std::vector<int64_t>& total, const std::vector<int64_t>& part) {
  total.resize(std::max(total.size(), part.size()), 0);
  for (size_t i = 0; i < part.size(); ++i) total[i] += part[i];
}

}  // namespace

RowPredictions predict_table(const Model& model, const DataSchema& schema, const Preprocessor& preprocessor,
                             const CsvTable& table, const EncodeOptions& options, int64_t batch_size,
                             RowHandling* handling, const std::vector<std::string>& label_outputs) {
  constexpr int64_t kSliceBytes = int64_t{64} << 20;
  const int64_t width = schema.feature_count() + 1;
  const int64_t slice = std::max<int64_t>(1, kSliceBytes / (width * int64_t(sizeof(float))));
  std::vector<RowPredictions> parts;
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
    parts.push_back(predict_encoded_rows(model, schema, rows, batch_size, label_outputs));
  }
  auto joined = [&](const LabelSchema& label, auto&& output_of) {
    std::vector<const RowPredictions*> pieces;
    for (const RowPredictions& part : parts) pieces.push_back(&output_of(part));
    return join_predictions(pieces, label);
  };
  RowPredictions all;
  if (label_outputs.empty()) {
    all = joined(schema.label_schema(0), [](const RowPredictions& part) -> const RowPredictions& { return part; });
  } else {
    all.output_names = model.output_names();
    for (size_t o = 0; o < all.output_names.size(); ++o)
      all.outputs.push_back(joined(label_of_output(schema, label_outputs, all.output_names[o]),
                                   [o](const RowPredictions& part) -> const RowPredictions& { return part.outputs[o]; }));
  }
  for (const RowPredictions& part : parts) all.lines.insert(all.lines.end(), part.lines.begin(), part.lines.end());
  return all;
}

std::string describe_schema(const SchemaRecord& record) {
  const DataSchema& schema = record.schema;
  nlohmann::json described{{"input_columns", schema.input_columns},
                           {"categories", schema.categories},
                           {"label", schema.label},
                           {"label_type", schema.label_type == LabelType::kClasses ? "classes" : "values"},
                           {"classes", schema.classes},
                           {"images", record.images},
                           {"loss", record.loss}};
  // Text only: a record without it stays byte for byte what it was.
  if (!schema.text_column.empty()) described["text_column"] = schema.text_column;
  // Several outputs only: a record of one output stays byte for byte what it was.
  if (!record.outputs.empty()) {
    nlohmann::json outputs = nlohmann::json::array();
    for (const OutputSchema& output : record.outputs)
      outputs.push_back({{"name", output.name},
                         {"label", output.label.name},
                         {"label_type", output.label.type == LabelType::kClasses ? "classes" : "values"},
                         {"classes", output.label.classes},
                         {"loss", output.loss},
                         {"loss_weight", output.loss_weight}});
    described["outputs"] = outputs;
  }
  return described.dump();
}

namespace {

LabelType label_type_of(const std::string& text, const std::string& source, const std::string& field) {
  CITADEL_CHECK(text == "classes" || text == "values", IoError, source, ": the schema's ", field,
                " must be classes or values, got '", text, "'");
  return text == "classes" ? LabelType::kClasses : LabelType::kValues;
}

// The record's "outputs" (a model of several outputs), each checked on its own and against
// the others and the schema's first label; each error names its field.
std::vector<OutputSchema> restore_outputs(const nlohmann::json& listed, const SchemaRecord& record,
                                          const std::string& source) {
  CITADEL_CHECK(listed.is_array() && listed.size() >= 2 && listed.size() <= 4096, IoError, source,
                ": the schema's 'outputs' must list two or more outputs (a model of one output records none), got ",
                listed.is_array() ? std::to_string(listed.size()) + " entries" : std::string(listed.type_name()));
  CITADEL_CHECK(!record.images, IoError, source, ": the schema's 'outputs' is for CSV data; a model trained on "
                "images has one output");
  const DataSchema& schema = record.schema;
  std::vector<OutputSchema> outputs;
  for (size_t i = 0; i < listed.size(); ++i) {
    const std::string field = "outputs[" + std::to_string(i) + "]";
    const nlohmann::json& entry = listed[i];
    CITADEL_CHECK(entry.is_object(), IoError, source, ": the schema's ", field, " is not an object");
    // Each field read on its own, so that a missing or mistyped one is named.
    auto read = [&](const char* key, auto& value) {
      CITADEL_CHECK(entry.contains(key), IoError, source, ": the schema's ", field, " has no '", key, "'");
      try {
        entry[key].get_to(value);
      } catch (const nlohmann::json::exception&) {
        throw IoError(source + ": the schema's " + field + "." + key + " has the wrong type (" +
                      entry[key].type_name() + ")");
      }
    };
    OutputSchema output;
    std::string label_type;
    read("name", output.name);
    read("label", output.label.name);
    read("label_type", label_type);
    output.label.type = label_type_of(label_type, source, field + ".label_type");
    read("classes", output.label.classes);
    read("loss", output.loss);
    CITADEL_CHECK(entry.contains("loss_weight"), IoError, source, ": the schema's ", field, " has no 'loss_weight'");
    const nlohmann::json& weight = entry["loss_weight"];
    CITADEL_CHECK(weight.is_number() && std::isfinite(weight.get<double>()) && weight.get<double>() >= 0, IoError,
                  source, ": the schema's ", field, ".loss_weight must be a number >= 0, got ", weight.dump());
    output.loss_weight = weight.get<double>();
    CITADEL_CHECK(!output.name.empty(), IoError, source, ": the schema's ", field, ".name is empty");
    CITADEL_CHECK(!output.label.name.empty(), IoError, source, ": the schema's ", field, ".label is empty");
    for (const OutputSchema& other : outputs) {
      CITADEL_CHECK(other.name != output.name, IoError, source, ": the schema's ", field, ".name '", output.name,
                    "' names an output listed before");
      CITADEL_CHECK(other.label.name != output.label.name, IoError, source, ": the schema's ", field, ".label '",
                    output.label.name, "' is the label of '", other.name, "' too");
    }
    CITADEL_CHECK(std::find(schema.input_columns.begin(), schema.input_columns.end(), output.label.name) ==
                      schema.input_columns.end(),
                  IoError, source, ": the schema's ", field, ".label '", output.label.name, "' is an input column");
    try {
      make_loss(output.loss);
    } catch (const Error& e) {
      throw IoError(source + ": the schema's " + field + ".loss: " + e.what());
    }
    const bool crossentropy = output.loss.find("crossentropy") != std::string::npos;
    CITADEL_CHECK(crossentropy == (output.label.type == LabelType::kClasses), IoError, source, ": the schema's ",
                  field, ".loss '", output.loss, "' does not fit its label_type '",
                  output.label.type == LabelType::kClasses ? "classes" : "values", "'");
    outputs.push_back(std::move(output));
  }
  // outputs[0] is the schema's label (what readers of one label read): the two must agree.
  const OutputSchema& first = outputs.front();
  CITADEL_CHECK(first.label.name == schema.label && first.label.type == schema.label_type &&
                    first.label.classes == schema.classes && first.loss == record.loss,
                IoError, source, ": the schema's outputs[0] (label '", first.label.name, "', loss '", first.loss,
                "') differs from its label '", schema.label, "' and loss '", record.loss, "'");
  return outputs;
}

}  // namespace

SchemaRecord restore_schema(std::string_view json, const std::string& source) {
  CITADEL_CHECK(json_nesting_depth(json) <= 32, IoError, source, ": the 'schema' record is nested too deep");
  SchemaRecord record;
  try {
    const nlohmann::json parsed = nlohmann::json::parse(json);
    DataSchema& learned = record.schema;
    learned.input_columns = parsed.at("input_columns").get<std::vector<std::string>>();
    learned.categories = parsed.at("categories").get<std::vector<std::vector<std::string>>>();
    learned.label = parsed.at("label").get<std::string>();
    learned.label_type = label_type_of(parsed.at("label_type").get<std::string>(), source, "label_type");
    learned.classes = parsed.at("classes").get<std::vector<std::string>>();
    record.images = parsed.at("images").get<bool>();
    record.loss = parsed.at("loss").get<std::string>();
    if (parsed.contains("text_column")) {
      learned.text_column = parsed["text_column"].get<std::string>();
      CITADEL_CHECK(!learned.text_column.empty(), IoError, source, ": the schema's text_column is empty");
    }
    if (parsed.contains("outputs")) {
      record.outputs = restore_outputs(parsed["outputs"], record, source);
      for (size_t i = 1; i < record.outputs.size(); ++i) learned.more_labels.push_back(record.outputs[i].label);
    }
  } catch (const nlohmann::json::exception& e) {
    throw IoError(source + ": the schema record is malformed: " + e.what());
  }
  return record;
}

Dataset SavedModel::encode(const CsvTable& table, std::optional<MissingValues> missing) const {
  CITADEL_CHECK(!images, ValueError, table.source, ": the model was trained on images; CSV rows cannot feed it");
  CITADEL_CHECK(!audio, ValueError, table.source, ": the model reads WAV files; CSV rows cannot feed it");
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
  CITADEL_CHECK(!audio, ValueError, table.source, ": the model reads WAV files; CSV rows cannot feed it");
  return encode_for_model(table, schema, preprocessor, missing.value_or(preprocessor.missing_values()), true);
}

SavedModel saved_model_from_bytes(std::string_view bytes, const std::string& source, const ModelFileLimits& limits) {
  return saved_model_from(load_model_from_bytes(bytes, source, limits), source);
}

namespace {

// The smallest vocabulary of the layers reading the model's one input (Embedding's
// input_dim), 0 when none reads token ids.
int64_t input_id_bound(const Model& model) {
  const GraphInfo& graph = model.graph();
  int64_t bound = 0;
  for (const GraphInfo::NodeInfo& node : graph.nodes) {
    if (std::find(node.inputs.begin(), node.inputs.end(), graph.inputs[0]) == node.inputs.end()) continue;
    const int64_t layer_bound = model.layer(node.layer).token_id_bound();
    if (layer_bound > 0) bound = bound == 0 ? layer_bound : std::min(bound, layer_bound);
  }
  return bound;
}

// The vectorizer of the schema's text column, from its record, checked against the model
// before any row is read: a fixed length, and no id beyond the Embedding's vocabulary.
std::shared_ptr<const TextVectorization> restore_text(const SavedModel& saved, const std::string& source) {
  const std::string& column = saved.schema.text_column;
  CITADEL_CHECK(!saved.images, IoError, source, ": the schema names a text column '", column,
                "' but the model reads images");
  CITADEL_CHECK(saved.model.input_count() == 1, IoError, source, ": the schema names a text column '", column,
                "' but the model has ", saved.model.input_count(), " inputs; a text model has one");
  const auto& columns = saved.schema.input_columns;
  CITADEL_CHECK(std::find(columns.begin(), columns.end(), column) == columns.end() && column != saved.schema.label,
                IoError, source, ": the schema's text_column '", column, "' is also an input or label column");
  const auto found = saved.metadata.find(kTextVectorizationRecord);
  CITADEL_CHECK(found != saved.metadata.end(), IoError, source, ": the schema names a text column '", column,
                "' but the file has no '", kTextVectorizationRecord, "' record");
  TextVectorization text;
  try {
    text = TextVectorization::from_json(found->second);
  } catch (const Error& e) {
    throw IoError(source + ": the '" + kTextVectorizationRecord + "' record: " + e.what());
  }
  CITADEL_CHECK(text.sequence_length() > 0, IoError, source, ": the '", kTextVectorizationRecord,
                "' record has no output_sequence_length; a saved text model reads rows of a fixed length");
  const int64_t bound = input_id_bound(saved.model);
  CITADEL_CHECK(bound == 0 || text.vocabulary_size() <= bound, IoError, source, ": the '", kTextVectorizationRecord,
                "' record's vocabulary has ", text.vocabulary_size(),
                " entries but the model's Embedding takes ids below ", bound);
  return std::make_shared<const TextVectorization>(std::move(text));
}

}  // namespace

SavedModel saved_model_from(LoadedModel loaded, const std::string& source) {
  SavedModel saved{std::move(loaded.model), {}, false, "", {}, std::move(loaded.metadata)};
  const auto schema = saved.metadata.find("schema");
  CITADEL_CHECK(schema != saved.metadata.end(), IoError, source, ": has no 'schema' record; save it with `citadel train --save`");
  SchemaRecord record = restore_schema(schema->second, source);
  saved.schema = std::move(record.schema);
  saved.images = record.images;
  saved.loss = std::move(record.loss);
  saved.outputs = std::move(record.outputs);
  if (!saved.schema.text_column.empty()) saved.schema.text = restore_text(saved, source);
  if (const auto audio = saved.metadata.find(kAudioPreprocessingRecord); audio != saved.metadata.end()) {
    try {
      saved.audio = std::make_shared<const AudioPreprocessing>(AudioPreprocessing::from_json(audio->second));
    } catch (const Error& e) {
      throw IoError(source + ": " + e.what());
    }
  }
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

Metadata saved_model_records(const SchemaRecord& record, const Preprocessor& preprocessor,
                             const std::string& trained_on, Metadata extra) {
  extra["schema"] = describe_schema(record);
  extra["preprocessing"] = preprocessor.describe();
  extra["trained_on"] = trained_on;
  if (record.schema.text) extra[kTextVectorizationRecord] = record.schema.text->to_json();
  // Readers that know one label refuse the file by its version, not by a later mismatch.
  if (!record.outputs.empty()) extra["format_version"] = std::to_string(kSeveralOutputsFormatVersion);
  return extra;
}

Metadata saved_model_records(const DataSchema& schema, bool images, const std::string& loss,
                             const Preprocessor& preprocessor, const std::string& trained_on, Metadata extra) {
  return saved_model_records(SchemaRecord{schema, images, loss, {}}, preprocessor, trained_on, std::move(extra));
}

std::vector<std::string> SavedModel::label_outputs() const {
  std::vector<std::string> names;
  for (const OutputSchema& output : outputs) names.push_back(output.name);
  return names;
}

void save_saved_model(Model& model, const Metadata& records, const std::string& path,
                      const ModelProtection& protection) {
  check_model_file_extension(path);
  write_protected_file(path, model_file_bytes(model, records), protection, kPurposeModel);
}

}  // namespace citadel
