// Saved models as the commands use them: written protected as the key options ask, read
// through the library's one verified load path (load_saved_model), and their labelled rows.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "citadel/io/encryption.hpp"
#include "citadel/io/model_file.hpp"
#include "citadel/io/protected_file.hpp"
#include "citadel/io/saved_model.hpp"
#include "model_builder.hpp"
#include "flags.hpp"

namespace citadel::cli {

// A trained model and what it needs to read new data like its training data.
struct SavedPipeline {
  Model model;
  PreparedData data;  // schema, loss and image flag; no rows
  FeaturePreprocessor preprocessor;
  Metadata metadata = {};  // every record of the file (audit reads "differential_privacy")
};
// Saves the model with its schema and preprocessing (train --save), protected as asked
// (--key-file/--passphrase-env encrypt, --sign-key signs; 0600 under --dp).
void save_pipeline(Model& model, const PreparedData& data, const FeaturePreprocessor& preprocessor,
                   const std::string& path, const ModelProtection& protection, const Metadata& extra = {});
// --pubkey and --key-file/--passphrase-env as a ModelAccess.
ModelAccess model_access(const KeyFlags& keys);
// --sign-key and --key-file/--passphrase-env as a ModelProtection; `private_data` (--dp)
// gives mode 0600.
ModelProtection model_protection(const KeyFlags& keys, bool private_data);
// The key given by --key-file or --passphrase-env; ValueError when neither (or the
// variable is unset).
EncryptionKey encryption_key(const KeyFlags& keys);
// The bytes of a model file as the settings ask: read once, the signature checked on those
// bytes with --pubkey, then decrypted in memory with --key-file / --passphrase-env.
std::string read_model_bytes(const KeyFlags& keys, const std::string& path, bool* was_encrypted = nullptr);
// Loads a saved pipeline through load_saved_model.
SavedPipeline load_pipeline(const KeyFlags& keys, const std::string& path);
// The same from a model file's plaintext (already read, verified and decrypted).
SavedPipeline load_pipeline_from_bytes(std::string_view bytes, const std::string& path);
// A library SavedModel as the commands use it (a model of several outputs compiled with
// each output's loss, metrics and weight).
SavedPipeline as_pipeline(SavedModel saved, const std::string& path);
// Labelled rows for a saved model, preprocessed as it expects: Fashion-MNIST's test split
// for an image model, else the CSV file at `path` read as --header/--delimiter/--missing
// say (what evaluate, attack and audit read).
struct LabelledRows {
  Tensor x, y;
  std::vector<Tensor> more_y;  // a model of several outputs: the labels after the first
  std::string source;
};
LabelledRows labelled_rows(const DataFlags& flags, const SavedPipeline& saved, const std::string& path);
// Keeps the first `count` rows (all when unset or larger): attack --rows, certify --rows.
void keep_first_rows(LabelledRows& rows, std::optional<int64_t> count);

}  // namespace citadel::cli
