// The saved model: a model file with what its data pipeline learned (columns, categories,
// classes, imputation and scaling), loaded through one verified read and checked whole —
// architecture against tensors, schema and preprocessing against the architecture —
// before any row goes through it. The CLI and every other user load models through it.
#pragma once

#include <string>
#include <string_view>

#include "citadel/data/csv.hpp"
#include "citadel/data/dataset.hpp"
#include "citadel/data/preprocessor.hpp"
#include "citadel/io/model_file.hpp"
#include "citadel/io/protected_file.hpp"
#include "citadel/model/sequential.hpp"

namespace citadel {

struct SavedModel {
  Sequential model;
  DataSchema schema;   // the training file's columns, categories, label and classes
  bool images = false;  // trained on images (Fashion-MNIST), not CSV rows
  std::string loss;     // the loss it was trained with
  Preprocessor preprocessor;
  Metadata metadata;  // every record of the file

  bool classification() const { return schema.label_type == LabelType::kClasses; }
  // Rows of a CSV table with the training file's columns (the label may be absent) as the
  // model's inputs: encoded with the schema, then preprocessed.
  Dataset encode(const CsvTable& table, MissingValues missing = MissingValues::kError) const;
};

struct LoadOptions {
  ModelAccess access = {};  // --pubkey, --key-file / passphrase
  ModelFileLimits limits = {};
};

// Reads `path` once, verifies and decrypts it as `options.access` asks, then parses it.
SavedModel load_saved_model(const std::string& path, const LoadOptions& options = {});
// The same from a model file's plaintext; `source` names it in messages.
SavedModel saved_model_from_bytes(std::string_view bytes, const std::string& source,
                                  const ModelFileLimits& limits = {});

// The metadata records that make a model file a saved model ("schema", "preprocessing",
// "trained_on"), added to `extra`.
Metadata saved_model_records(const DataSchema& schema, bool images, const std::string& loss,
                             const Preprocessor& preprocessor, const std::string& trained_on, Metadata extra = {});
// Writes the model with those records, protected as asked (encrypted, signed, mode).
void save_saved_model(Sequential& model, const Metadata& records, const std::string& path,
                      const ModelProtection& protection = {});

}  // namespace citadel
