// The command line's settings, shared by train, evaluate, predict and cv, and the
// functions that register them as options.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace CLI {
class App;
}

namespace citadel::cli {

struct Settings {
  // Data
  std::string data;  // a CSV path or "fashion-mnist"; empty: the bundled Pima data
  std::string label;
  bool header = false, no_header = false;
  std::string delimiter;  // "", ",", ";" or "tab"
  std::vector<std::string> categorical;
  std::string missing = "error";
  int64_t max_data_bytes = int64_t{1} << 30;  // --max-data-bytes
  int64_t max_categories = 10'000;            // --max-categories (per categorical column)
  std::string scale = "standard";
  double test_split = 0.2;
  // Model
  std::string layers;  // empty: hidden layers 10:relu,10:relu (Pima) or 256:relu,128:relu (images) + an output layer
  std::string model_config;
  double dropout = 0, l1 = 0, l2 = 0;
  std::string loss;  // empty: from the labels
  std::string optimizer = "adam";
  double learning_rate = 0;
  // Training
  int epochs = 0;          // 0: 150 for CSV data, 5 for images
  int64_t batch_size = 0;  // 0: 32 for CSV data, 128 for images
  double validation_split = -1;  // -1: 0 for CSV data, 0.1 for Fashion-MNIST
  int early_stopping = -1;  // patience; -1: off
  int reduce_lr = -1;       // patience; -1: off
  std::string lr_schedule;
  double loss_threshold = -1;
  std::string csv_log;
  uint64_t seed = 42;
  int verbose = 2;
  // Output
  std::string report;
  // Model files
  std::string save = "model.safetensors";  // train: where the trained model goes
  bool no_save = false;
  std::string model_file;  // evaluate/predict: use this saved model instead of training
  std::string checkpoint;      // train --checkpoint
  int checkpoint_every = 1;    // train --checkpoint-every (epochs)
  std::string resume;          // train --resume
  std::string predict_save;  // predict: also save the model trained in the run
  std::string public_key;    // --pubkey: refuse models without a valid signature by it
  std::string secret_key;    // sign --key
  std::string public_out = "citadel.pub", secret_out = "citadel.key";  // keygen
  std::string encryption_key_out;  // keygen --encryption-key
  std::string key_file;            // --key-file: decrypt (or encrypt) with this key
  std::string passphrase_env;      // --passphrase-env: the passphrase is in this variable
  std::string crypt_output;        // encrypt/decrypt --output
  std::string sign_key;            // train --sign-key: sign the checkpoints and the saved model
  std::string purpose;             // sign --purpose
  bool force = false;              // keygen --force: replace existing key files
  // Protection: adversarial robustness, differential privacy, membership audits
  std::string adversarial;            // train --adversarial fgsm|pgd
  std::string eps;                    // attack: a list of ε; train --adversarial: one ε
  std::string attack_method = "pgd";  // attack --method
  std::string norm = "linf";
  int attack_steps = 10;
  double step_size = 0;
  int restarts = 1;
  double clean_fraction = 0;  // train --adversarial: rows kept clean
  std::string target_class;   // attack --target: a targeted attack towards this class
  std::string examples_out;   // attack --save-examples
  int64_t attack_rows = 0;    // attack --rows: attack only the first rows
  bool dp = false;            // train --dp
  double clip = 1.0, noise = 1.1, delta = 1e-5, target_epsilon = 0;
  bool fixed_batches = false;  // --dp without Poisson sampling
  bool dp_reproducible = false;        // --dp-reproducible: noise keyed from the seed (not private)
  bool dp_omit_training_metrics = false;  // --dp-omit-training-metrics
  int64_t samples = 0;         // dp-budget --samples
  std::string train_rows_file, holdout_file;  // audit --train, --holdout
  int reference_epochs = 20;                  // audit

  // Command-specific
  std::string test_file;     // evaluate --test
  std::string input_file;    // predict --input
  std::string output_file;   // predict --output
  int folds = 5;             // cv
  bool no_stratify = false;  // cv
};

void add_data_options(CLI::App& command, Settings& settings);
void add_model_options(CLI::App& command, Settings& settings);
void add_training_options(CLI::App& command, Settings& settings);
void add_report_option(CLI::App& command, Settings& settings);
void add_save_options(CLI::App& command, Settings& settings);
void add_model_file_option(CLI::App& command, Settings& settings);
void add_public_key_option(CLI::App& command, Settings& settings);
void add_decryption_options(CLI::App& command, Settings& settings);
void add_protection_options(CLI::App& command, Settings& settings);  // train --adversarial, --dp

}  // namespace citadel::cli
