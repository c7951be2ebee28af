// Saved models as the commands use them: written protected as the key options ask, read
// through the library's one verified load path, and their labelled rows.
#include "saved_pipeline.hpp"

#include <cstdlib>

#include "citadel/core/error.hpp"
#include "citadel/data/csv.hpp"
#include "citadel/data/idx.hpp"
#include "citadel/data/scaler.hpp"
#include "citadel/data/split.hpp"
#include "citadel/io/signing.hpp"
#include "audio_data.hpp"

namespace citadel::cli {

void save_pipeline(Model& model, const PreparedData& data, const FeaturePreprocessor& preprocessor,
                   const std::string& path, const ModelProtection& protection, const Metadata& extra) {
  SchemaRecord record{data.schema, data.images, data.loss, {}};
  for (size_t i = 0; i < data.outputs.size(); ++i) {  // several outputs: each one's label, loss and weight
    const auto weight = data.loss_weights.find(data.outputs[i]);
    record.outputs.push_back({data.outputs[i], data.schema.label_schema(i), data.losses[i],
                              weight == data.loss_weights.end() ? 1.0 : weight->second});
  }
  Metadata records = extra;
  if (data.audio) records[kAudioPreprocessingRecord] = data.audio->to_json();  // how a WAV file becomes its input
  save_saved_model(model, saved_model_records(record, preprocessor, data.source, std::move(records)), path, protection);
}

namespace {

// The key of --key-file / --passphrase-env, or none when neither was given.
EncryptionKey key_if_given(const KeyFlags& s) {
  return s.key_file.empty() && s.passphrase_env.empty() ? EncryptionKey{} : encryption_key(s);
}

}  // namespace

ModelAccess model_access(const KeyFlags& s) {
  ModelAccess access;
  access.public_key = s.public_key;
  access.key = key_if_given(s);
  return access;
}

ModelProtection model_protection(const KeyFlags& s, bool private_data) {
  ModelProtection protection;
  protection.secret_key = s.sign_key;
  protection.key = key_if_given(s);
  if (private_data) protection.mode = 0600;
  return protection;
}

EncryptionKey encryption_key(const KeyFlags& s) {
  EncryptionKey key;
  if (!s.key_file.empty()) {
    key.key_file = s.key_file;
    return key;
  }
  CITADEL_CHECK(!s.passphrase_env.empty(), ValueError, "give --key-file KEY or --passphrase-env VAR");
  const char* passphrase = std::getenv(s.passphrase_env.c_str());
  CITADEL_CHECK(passphrase != nullptr && *passphrase != '\0', ValueError, "--passphrase-env: the variable ",
                s.passphrase_env, " is not set or empty");
  key.passphrase = passphrase;
  return key;
}

std::string read_model_bytes(const KeyFlags& s, const std::string& path, bool* was_encrypted) {
  return read_protected_file(path, model_access(s), kPurposeModel, was_encrypted);
}

SavedPipeline as_pipeline(SavedModel saved, const std::string& path) {
  SavedPipeline pipeline{std::move(saved.model), {}, std::move(saved.preprocessor), std::move(saved.metadata)};
  PreparedData& data = pipeline.data;
  data.schema = std::move(saved.schema);
  data.images = saved.images;
  data.audio = std::move(saved.audio);
  data.loss = std::move(saved.loss);
  data.source = path;
  for (const OutputSchema& output : saved.outputs) {
    data.outputs.push_back(output.name);
    data.losses.push_back(output.loss);
    data.loss_weights[output.name] = output.loss_weight;
  }
  // The file's compile record holds one loss; a model of several outputs is compiled with
  // each output's loss, metrics and weight as train compiled it.
  if (data.several_outputs() && pipeline.model.compiled()) {
    const Model::CompileSettings settings = pipeline.model.compile_settings();
    CompileOptions options = several_outputs_compile(pipeline.model, data);
    std::unique_ptr<Optimizer> optimizer = make_optimizer(settings.optimizer);
    optimizer->set_learning_rate(settings.learning_rate);
    options.optimizer = std::move(optimizer);
    pipeline.model.compile(std::move(options));
  }
  return pipeline;
}

LabelledRows labelled_rows(const DataFlags& s, const SavedPipeline& saved, const std::string& path) {
  LabelledRows rows;
  if (saved.data.images) {
    ImageDataset images = load_fashion_mnist();
    rows.x = std::move(images.x_test);
    rows.y = std::move(images.y_test);
    scale_pixels(rows.x.view());
    rows.source = "the Fashion-MNIST test split";
    return rows;
  }
  if (saved.data.audio) {  // a folder of class folders of WAV files
    AudioRows audio = labelled_audio_rows(*saved.data.audio, saved.data.schema.classes, path);
    rows.x = std::move(audio.x);
    rows.y = std::move(audio.y);
    rows.source = path;
    return rows;
  }
  const EncodeOptions options = encode_options(s, saved.preprocessor);
  Dataset data = encode_for_model(read_csv(path, csv_options(s)), saved.data.schema, saved.preprocessor, options, true);
  report_row_handling(saved.data.schema, data.missing_cells, data.unseen_categories,
                      options.missing == MissingValues::kMean, path);
  for (size_t i = 1; i < saved.data.outputs.size(); ++i)  // a model of several outputs: every label
    CITADEL_CHECK(i - 1 < data.more_y.size() && data.more_y[i - 1].defined(), ValueError, path,
                  ": has no label column '", saved.data.schema.more_labels[i - 1].name, "' (of the output '",
                  saved.data.outputs[i], "') to compare the model's answers with");
  rows.x = std::move(data.x);
  rows.y = std::move(data.y);
  rows.more_y = std::move(data.more_y);
  rows.source = path;
  return rows;
}

void keep_first_rows(LabelledRows& rows, std::optional<int64_t> count) {
  if (!count || *count >= rows.x.shape(0)) return;
  std::vector<int64_t> first(static_cast<size_t>(*count));
  for (int64_t i = 0; i < *count; ++i) first[static_cast<size_t>(i)] = i;
  rows.x = take_rows(rows.x, first);
  rows.y = take_rows(rows.y, first);
  for (Tensor& labels : rows.more_y)
    if (labels.defined()) labels = take_rows(labels, first);
}

SavedPipeline load_pipeline(const KeyFlags& s, const std::string& path) {
  return as_pipeline(load_saved_model(path, {.access = model_access(s)}), path);
}

SavedPipeline load_pipeline_from_bytes(std::string_view bytes, const std::string& path) {
  return as_pipeline(saved_model_from_bytes(bytes, path), path);
}

}  // namespace citadel::cli
