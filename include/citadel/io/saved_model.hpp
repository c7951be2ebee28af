// The saved model: a model file with what its data pipeline learned (columns, categories,
// classes, imputation and scaling), loaded through one verified read and checked whole —
// architecture against tensors, schema and preprocessing against the architecture —
// before any row goes through it. The CLI and every other user load models through it.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "citadel/data/audio_preprocessing.hpp"
#include "citadel/data/csv.hpp"
#include "citadel/data/dataset.hpp"
#include "citadel/data/preprocessor.hpp"
#include "citadel/io/model_file.hpp"
#include "citadel/io/protected_file.hpp"
#include "citadel/model/sequential.hpp"

namespace citadel {

// One output of a model of several outputs: the output layer, the label column it learns
// (classes or a number), its loss and its weight in the total loss.
struct OutputSchema {
  std::string name;
  LabelSchema label;
  std::string loss;
  double loss_weight = 1.0;
};

// A saved model's "schema" record: what the training file taught (DataSchema), whether the
// model was trained on images, and its loss; as JSON text, and back (IoError naming the
// source and the field when malformed or inconsistent). A model of several outputs also
// records each output (`outputs`, in the schema's label order: outputs[0] is the schema's
// label, outputs[i] its more_labels[i - 1]); its file is format_version 3, which older
// readers refuse by its version (kSeveralOutputsFormatVersion).
struct SchemaRecord {
  DataSchema schema;
  bool images = false;
  std::string loss;
  std::vector<OutputSchema> outputs;  // several outputs; empty for one
};
std::string describe_schema(const SchemaRecord& record);
SchemaRecord restore_schema(std::string_view json, const std::string& source);
// The record holding a text model's vectorizer (TextVectorization::to_json), beside a schema
// whose "text_column" names the column it reads; the loader checks its sequence length
// against the model's input and its vocabulary against the Embedding's.
inline constexpr const char* kTextVectorizationRecord = "text_vectorization";
// The record holding a speech model's front end (AudioPreprocessing::to_json): a model with it
// reads WAV files, not CSV rows; the loader checks its feature shape against the model's input.
inline constexpr const char* kAudioPreprocessingRecord = "audio_preprocessing";
// The model file version of a saved model of several outputs: readers of versions 1 to 2
// (which know one label) refuse it, naming the version and the citadel that wrote it.
inline constexpr int kSeveralOutputsFormatVersion = 3;

// Predictions for raw rows, in the data's own terms.
struct RowPredictions {
  std::vector<int64_t> lines;       // the source line of each row
  std::vector<std::string> labels;  // classification: the predicted class's name
  Tensor probabilities;             // classification: (N, classes); for one sigmoid: 1 − p, p
  Tensor values;                    // regression: (N)
  std::vector<std::string> class_names;  // classification: the schema's classes, in column order
  // A smoothed classifier's answers (citadel serve --smoothing): per row, the class index or
  // -1 where it abstained (its label then ""); `probabilities` is then left empty.
  std::vector<int64_t> smoothed_classes;
  // A model of several outputs: each output's predictions (lines left empty), named, in the
  // model's output order; the fields above are then empty but `lines`.
  std::vector<std::string> output_names;
  std::vector<RowPredictions> outputs;
  // "line,predicted,p_<class>..." as `citadel predict` writes it (probabilities to 6 decimals,
  // values to 9 significant digits, fields quoted as RFC 4180 asks); several outputs: one
  // column group per output, named as Keras names per-output figures ("line,
  // <output>_predicted,<output>_p_<class>...,<other>_predicted").
  std::string csv() const;
};

// A model's inputs from encoded rows `x` under `schema`: x itself for a model of one input;
// for several, x's features split into the groups feature_groups (citadel/data/
// feature_groups.hpp) gives for the model's input names (ValueError naming an Input that
// matches no group).
struct ModelInputs {
  ModelInputs() = default;
  ModelInputs(ModelInputs&&) = default;  // the views stay on the moved parts' buffers
  ModelInputs& operator=(ModelInputs&&) = default;
  ModelInputs(const ModelInputs&) = delete;
  std::vector<Tensor> parts;           // the split features (none for one input)
  std::vector<ConstTensorView> views;  // one per model input, in its order
};
ModelInputs model_inputs(const Model& model, const DataSchema& schema, ConstTensorView x);

// The predictions of `model` for `rows` (already encoded and preprocessed) under `schema`;
// thread-safe (a Predictor of its own per call). A model of several outputs names, in
// `label_outputs`, the output layer of each label of the schema (label_schema order).
RowPredictions predict_encoded_rows(const Model& model, const DataSchema& schema, const Dataset& rows,
                                    int64_t batch_size = 32, const std::vector<std::string>& label_outputs = {});

// Rows of a CSV table as a model trained under `schema` reads them: encoded (one-hot,
// missing values, classes), then preprocessed; with `require_label`, a table without the
// label column is a ValueError (rows to evaluate, attack or audit on).
Dataset encode_for_model(const CsvTable& table, const DataSchema& schema, const Preprocessor& preprocessor,
                         MissingValues missing, bool require_label);
Dataset encode_for_model(const CsvTable& table, const DataSchema& schema, const Preprocessor& preprocessor,
                         const EncodeOptions& options, bool require_label);

// How the rows of a table were read: per input column, the missing cells kept for
// imputation and the categories the schema did not know (encoded as zeros), and the rows
// dropped for missing values.
struct RowHandling {
  std::vector<int64_t> missing_cells, unseen_categories;
  int64_t dropped_rows = 0;
};

// The predictions for every row of `table`, encoded and predicted a slice of rows at a
// time, so that no more than about 64 MiB of encoded rows exist at once whatever the
// number of rows and the width of the encoding (a wide one-hot column, a long file).
// `handling`, when given, receives how the rows were read.
RowPredictions predict_table(const Model& model, const DataSchema& schema, const Preprocessor& preprocessor,
                             const CsvTable& table, const EncodeOptions& options, int64_t batch_size = 32,
                             RowHandling* handling = nullptr, const std::vector<std::string>& label_outputs = {});

struct SavedModel {
  Model model;
  DataSchema schema;   // the training file's columns, categories, label and classes
  bool images = false;  // trained on images (Fashion-MNIST), not CSV rows
  std::string loss;     // the loss it was trained with
  Preprocessor preprocessor;
  Metadata metadata;  // every record of the file
  // A model of several outputs: each output's label, loss and weight (SchemaRecord::outputs,
  // checked against the model's outputs); empty for one output.
  std::vector<OutputSchema> outputs = {};
  // A speech model: how a WAV file becomes its input (its kAudioPreprocessingRecord); null
  // for a model of CSV rows or images.
  std::shared_ptr<const AudioPreprocessing> audio = {};

  bool classification() const { return schema.label_type == LabelType::kClasses; }
  bool several_outputs() const { return !outputs.empty(); }
  // The output layer of each label of the schema (empty for a model of one output).
  std::vector<std::string> label_outputs() const;
  // Rows of a CSV table with the training file's columns (the label may be absent) as the
  // model's inputs: encoded with the schema, then preprocessed. Missing values are treated
  // as the training rows' were (preprocessor.missing_values()) unless `missing` says.
  Dataset encode(const CsvTable& table, std::optional<MissingValues> missing = std::nullopt) const;
  // encode, requiring the label column (rows to evaluate, attack or audit on); the labels
  // are class indices (or values), as the loss wants them after targets_for_loss.
  Dataset encode_labelled(const CsvTable& table, std::optional<MissingValues> missing = std::nullopt) const;
  // encode, then predict (predict_table): exactly what `citadel predict --model` writes.
  // Safe to call from several threads at once (each call predicts with its own buffers).
  RowPredictions predict_rows(const CsvTable& table, std::optional<MissingValues> missing = std::nullopt,
                              int64_t batch_size = 32) const;
};

struct LoadOptions {
  ModelAccess access = {};  // --pubkey, --key-file / passphrase
  ModelFileLimits limits = {};
};

// Reads `path` once, verifies and decrypts it as `options.access` asks, then parses it.
SavedModel load_saved_model(const std::string& path, const LoadOptions& options = {});
// The same from a model file's plaintext; `source` names it in messages.
// The same from a model file already parsed (its schema and preprocessing records checked).
SavedModel saved_model_from(LoadedModel loaded, const std::string& source);
SavedModel saved_model_from_bytes(std::string_view bytes, const std::string& source,
                                  const ModelFileLimits& limits = {});

// The metadata records that make a model file a saved model ("schema", "preprocessing",
// "trained_on"), added to `extra`.
Metadata saved_model_records(const DataSchema& schema, bool images, const std::string& loss,
                             const Preprocessor& preprocessor, const std::string& trained_on, Metadata extra = {});
// The same for a schema record that may name several outputs; with several, the file is
// written as format_version kSeveralOutputsFormatVersion.
Metadata saved_model_records(const SchemaRecord& record, const Preprocessor& preprocessor,
                             const std::string& trained_on, Metadata extra = {});
// Writes the model with those records, protected as asked (encrypted, signed, mode), to a
// path ending in .safetensors (check_model_file_extension).
void save_saved_model(Model& model, const Metadata& records, const std::string& path,
                      const ModelProtection& protection = {});

}  // namespace citadel
