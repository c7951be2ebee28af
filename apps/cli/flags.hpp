// The command line's option groups, each registered by one function: a command holds
// the groups it reads and nothing else. Options without a default are std::optional:
// unset means "the default for this data" (epochs, batch size, validation split) or "off".
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace CLI {
class App;
}

namespace citadel::cli {

// --data and how its rows are read.
struct DataFlags {
  std::string data;  // a CSV path or "fashion-mnist"; empty: the bundled Pima data
  std::vector<std::string> labels;  // --label COLUMN, or OUTPUT=COLUMN per output (output_labels.hpp)
  bool header = false, no_header = false;
  std::string delimiter;  // "", ",", ";" or "tab"
  std::vector<std::string> categorical;
  std::string missing;  // error, drop or mean; empty: error in training, a saved model's own policy after
  int64_t max_data_bytes = int64_t{1} << 30;
  int64_t max_encoded_mb = 0;  // 0: the library's default (EncodeOptions::max_encoded_bytes)
  std::string unseen_categories = "warn";  // or "error": a category the model was not trained on
  int64_t max_categories = 10'000;  // per categorical column
  std::string scale;  // standard, minmax or none; empty: standard, or minmax under --dp (from --schema)
  double test_split = 0.2;
  std::string schema;  // --schema: a declared schema (citadel/data/declared_schema.hpp)
  // --text: a column of raw text, the model's one input as token ids (docs/CLI.md, "Text").
  std::string text;
  std::string vocabulary;                  // --vocabulary FILE: given, not learned from the rows
  std::optional<int64_t> max_tokens;       // --max-tokens: unset keeps every token seen (Keras's None)
  std::optional<int64_t> sequence_length;  // --sequence-length: unset, the longest training row
  // --data FOLDER of class folders of WAV files (docs/CLI.md, "Speech"): the front end.
  std::string audio_features = "mfcc";  // or log_mel
  int64_t sample_rate = 16000;
  double clip_seconds = 1.0;
  int64_t mel_bins = 40, mfcc_count = 13;
  int64_t audio_augment = 0;  // augmented copies of each training clip (speed, shift, gain, noise)
};

// The network and how it is compiled.
struct ModelFlags {
  std::string layers;  // empty: 10:relu,10:relu (CSV) or 256:relu,128:relu (images) + an output layer
  std::string model_config;
  double dropout = 0, l1 = 0, l2 = 0;
  std::vector<std::string> losses;        // --loss LOSS, or OUTPUT=LOSS per output; none: from the labels
  std::vector<std::string> loss_weights;  // --loss-weights OUTPUT=W
  std::string optimizer = "adam";
  std::optional<double> learning_rate;  // unset: the optimizer's
  std::string precision = "float32";    // or mixed_bfloat16
};

// How fit runs.
struct TrainingFlags {
  std::optional<int> epochs;                 // unset: 150 for CSV data, 5 for images
  std::optional<int64_t> batch_size;         // unset: 32 for CSV data, 128 for images
  std::optional<double> validation_split;    // unset: 0 for CSV data, 0.1 for Fashion-MNIST
  std::optional<int> early_stopping;         // patience
  std::optional<int> reduce_lr;              // patience
  std::string lr_schedule;
  std::optional<double> loss_threshold;
  std::string csv_log;
  uint64_t seed = 42;
  int verbose = 2;
};

// Keys: what a model file must be signed by, how it is decrypted, how written files are
// encrypted and signed.
struct KeyFlags {
  std::string public_key;      // --pubkey: refuse files without a valid signature by it
  std::string key_file;        // --key-file
  std::string passphrase_env;  // --passphrase-env: the variable holding the passphrase
  std::string sign_key;        // train --sign-key
};

// Where train writes its model and checkpoints.
struct SaveFlags {
  std::string save = "model.safetensors";
  bool no_save = false;
  std::string checkpoint;
  int checkpoint_every = 1;  // epochs
  std::string resume;
};

// Adversarial attacks (attack) and adversarial training (train --adversarial).
struct AttackFlags {
  std::string adversarial;  // train: fgsm or pgd
  std::string eps;          // attack: a list of ε; train: one ε
  std::string method = "pgd";
  std::string norm = "linf";
  int steps = 10;
  std::optional<double> step_size;  // unset: 2.5·ε/steps
  int restarts = 1;
  double clean_fraction = 0;        // train: share of each batch kept clean
  std::string target_class;         // a targeted attack towards this class
  std::string examples_out;         // --save-examples
  std::optional<int64_t> rows;      // attack only the first rows
  std::string attack_input;         // --attack-input: the Input a model of several inputs is attacked on
  std::optional<double> gaussian_augmentation;  // train: σ of the noise added to every batch
  std::string certified_training;               // train: "ibp"
  double ibp_kappa = 0.5;                       // the clean loss's final weight
  std::optional<int> ibp_warmup_epochs, ibp_ramp_epochs;  // unset: a tenth and half of the epochs
};

// Differentially private training (train --dp) and its accounting (dp-budget).
struct PrivacyFlags {
  bool dp = false;
  double clip = 1.0, noise = 1.1, delta = 1e-5;
  std::optional<double> target_epsilon;
  bool fixed_batches = false;             // no Poisson sampling
  bool reproducible = false;              // noise keyed from the seed (not private)
  bool omit_training_metrics = false;
  std::string trace;                      // --dp-trace: every step's noisy gradient sum
};

void add_data_flags(CLI::App& command, DataFlags& flags);
void add_model_flags(CLI::App& command, ModelFlags& flags);
void add_training_flags(CLI::App& command, TrainingFlags& flags);
// --report FILE (the figures as JSON) and --html FILE (the page of charts drawn from them).
struct OutputFlags {
  std::string report, html;
};
void add_output_flags(CLI::App& command, OutputFlags& flags);
void add_save_flags(CLI::App& command, SaveFlags& flags);
// --pubkey
void add_public_key_flag(CLI::App& command, KeyFlags& flags);
// --key-file, --passphrase-env
void add_decryption_flags(CLI::App& command, KeyFlags& flags);
// --model FILE (a saved model instead of training one), with --pubkey and the decryption flags.
void add_model_file_flags(CLI::App& command, std::string& model_file, KeyFlags& flags);
// train: --adversarial with its attack, --dp with its options.
void add_adversarial_training_flags(CLI::App& command, AttackFlags& flags);
void add_private_training_flags(CLI::App& command, PrivacyFlags& flags);
// --attack-input NAME (train --adversarial and attack).
void add_attack_input_flag(CLI::App& command, AttackFlags& flags);

}  // namespace citadel::cli
