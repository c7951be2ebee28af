// The steps every command shares: load and split the data, fit preprocessing on the
// training rows, build and compile the model, set up fit, and turn figures into JSON.
#pragma once

#include <initializer_list>
#include <nlohmann/json.hpp>
#include <string>

#include "citadel/data/dataset.hpp"
#include "citadel/data/preprocessor.hpp"
#include "citadel/metrics/classification_report.hpp"
#include "citadel/io/encryption.hpp"
#include "citadel/io/protected_file.hpp"
#include "citadel/io/saved_model.hpp"
#include "citadel/io/model_file.hpp"
#include "citadel/model/sequential.hpp"
#include "settings.hpp"

namespace citadel::cli {

struct PreparedData {
  Tensor x_train, y_train;
  Tensor x_test, y_test;  // not defined when no rows were held out
  DataSchema schema;      // classes (and, for CSV files, the columns)
  bool images = false;
  std::string source;  // the CSV's path or "fashion-mnist"
  std::string loss;    // resolved: given, or chosen from the labels
  bool classification() const { return schema.label_type == LabelType::kClasses; }
};

// Reads --data; with `hold_out_test` also sets aside the test rows (--test-split for CSV
// files, the official test split for Fashion-MNIST).
PreparedData load_data(const Settings& settings, bool hold_out_test);
// Reads another CSV file with the training file's schema (the label may be absent).
Dataset load_more_rows(const Settings& settings, const std::string& path, const PreparedData& data);
// Targets in the form the loss wants (one-hot for categorical_crossentropy).
Tensor targets_for_loss(const Tensor& y, const PreparedData& data);

// Mean imputation (with --missing mean) and scaling, fitted on training rows only.
using FeaturePreprocessor = Preprocessor;
// The preprocessing --missing and --scale ask for (pixels for images), not yet fitted.
Preprocessor make_preprocessor(const Settings& settings, const PreparedData& data);
// A preprocessor fitted on data.x_train, already applied to it and to each of `others`.
Preprocessor preprocess(const Settings& settings, PreparedData& data, std::initializer_list<Tensor*> others);

// The compiled model for inputs of `input_shape` (without the batch axis).
Sequential build_model(const Settings& settings, const PreparedData& data, const Shape& input_shape);
FitOptions fit_options(const Settings& settings, const PreparedData& data);
int epochs_for(const Settings& settings, const PreparedData& data);

// A line saying what was loaded (printed when verbose).
void describe_data(const Settings& settings, const PreparedData& data);
void print_figures(const char* title, const Logs& logs, int64_t rows);

nlohmann::json number_or_null(double value);
nlohmann::json logs_json(const Logs& logs);
nlohmann::json history_json(const History& history);
nlohmann::json report_json(const ClassificationReport& report);
// For classification: adds the classification report of `model` on the test rows to
// `report` (and prints it when `print`).
void add_classification_report(Sequential& model, const PreparedData& data, bool print, nlohmann::json& report);
// A trained model and what it needs to read new data like its training data.
struct SavedPipeline {
  Sequential model;
  PreparedData data;  // schema, loss and image flag; no rows
  FeaturePreprocessor preprocessor;
};
// Saves the model with its schema and preprocessing (train --save), protected as asked
// (--key-file/--passphrase-env encrypt, --sign-key signs; 0600 under --dp).
void save_pipeline(Sequential& model, const PreparedData& data, const FeaturePreprocessor& preprocessor,
                   const std::string& path, const ModelProtection& protection, const Metadata& extra = {});
// --pubkey and --key-file/--passphrase-env as a ModelAccess.
ModelAccess model_access(const Settings& settings);
// --sign-key and --key-file/--passphrase-env as a ModelProtection; `private_data` (--dp)
// gives mode 0600.
ModelProtection model_protection(const Settings& settings, bool private_data);
// The bytes of a model file as the settings ask: read once, the signature checked on those
// bytes with --pubkey, then decrypted in memory with --key-file / --passphrase-env.
std::string read_model_bytes(const Settings& settings, const std::string& path, bool* was_encrypted = nullptr);
// Loads a saved pipeline through read_model_bytes.
SavedPipeline load_pipeline(const Settings& settings, const std::string& path);
// The same from a model file's plaintext (already read, verified and decrypted).
SavedPipeline load_pipeline_from_bytes(std::string_view bytes, const std::string& path);
// Labelled rows for a saved model, preprocessed as it expects: Fashion-MNIST's test split
// for an image model, else the CSV file at `path` (what evaluate, attack and audit read).
struct LabelledRows {
  Tensor x, y;
  std::string source;
};
LabelledRows labelled_rows(const Settings& settings, const SavedPipeline& saved, const std::string& path);
// A library SavedModel as the commands use it.
SavedPipeline as_pipeline(SavedModel saved, const std::string& path);
// The key given by --key-file or --passphrase-env; ValueError when neither (or the
// variable is unset).
EncryptionKey encryption_key(const Settings& settings);

// Writes `report` to --report when it was given (atomically; 0600 when `private_data`).
void write_report(const Settings& settings, const nlohmann::json& report, bool private_data = false);

}  // namespace citadel::cli
