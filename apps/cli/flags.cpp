// Option registration: one place for each option's name, text and check.
#include "flags.hpp"

#include <CLI/CLI.hpp>

#include "citadel/data/text_vectorization.hpp"

namespace citadel::cli {

void add_data_flags(CLI::App& c, DataFlags& s) {
  c.add_option("--data", s.data,
               "CSV file (a header row is detected), or 'fashion-mnist' (default: the bundled Pima data)")
      ->option_text("CSV|fashion-mnist");
  c.add_option("--label", s.labels,
               "Label column: name or 0-based index (default: the last); a model of several outputs: "
               "OUTPUT=COLUMN, once per output")
      ->option_text("[OUTPUT=]COLUMN");
  c.add_flag("--header", s.header, "The first row holds column names (default: detected)");
  c.add_flag("--no-header", s.no_header, "The first row holds values (default: detected)")->excludes("--header");
  c.add_option("--delimiter", s.delimiter, "Field delimiter: ',', ';' or 'tab' (default: detected)")
      ->check(CLI::IsMember({",", ";", "tab"}));
  c.add_option("--categorical", s.categorical, "Feature columns to one-hot encode (repeat, or comma-separate)")
      ->delimiter(',')
      ->option_text("COLUMN");
  c.add_option("--missing", s.missing,
               "Missing values (empty, ?, NA, NaN): error, drop the rows, or mean-impute (default: error when "
               "training; with a saved model, what its training rows had)")
      ->check(CLI::IsMember({"error", "drop", "mean"}));
  c.add_option("--unseen-categories", s.unseen_categories,
               "A category a trained model never saw: warn (encoded as all zeros, counted per column) or error")
      ->check(CLI::IsMember({"warn", "error"}))
      ->capture_default_str();
  c.add_option("--max-encoded-mb", s.max_encoded_mb,
               "Refuse data whose encoded rows (rows × features, one-hot included) exceed this many MiB (default: "
               "the larger of 256 MiB and 16 times the file's text)")
      ->check(CLI::PositiveNumber);
  c.add_option("--max-data-bytes", s.max_data_bytes, "Refuse CSV files larger than this (bytes)")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  c.add_option("--max-categories", s.max_categories, "Refuse a categorical column with more distinct values")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  c.add_option("--scale", s.scale,
               "Feature scaling fitted on training rows: standard, minmax or none (images: pixels; default: "
               "standard, and under --dp minmax from the bounds --schema declares)")
      ->check(CLI::IsMember({"standard", "minmax", "none"}));
  c.add_option("--test-split", s.test_split, "Fraction of the rows held out for the final report (CSV data)")
      ->capture_default_str()
      ->check(CLI::Range(0.01, 0.99));
  c.add_option("--schema", s.schema,
               "What is known of the data from outside its rows (JSON: each column's range, mean/std, fill, "
               "categories; the label's classes): preprocessing and categories are then taken from it, not "
               "learned from the rows. Needed by --dp unless nothing is learned (--scale none, no --categorical)")
      ->option_text("FILE");
  c.add_option("--text", s.text,
               "A column of raw text: the model's one input, as token ids of a vocabulary learned from the "
               "training rows (Keras's TextVectorization; the other feature columns are not used)")
      ->option_text("COLUMN");
  c.add_option("--vocabulary", s.vocabulary,
               "--text: the vocabulary, one token a line in id order (Keras's get_vocabulary() written out), "
               "instead of one learned from the training rows; what lets --dp read text")
      ->option_text("FILE");
  c.add_option("--max-tokens", s.max_tokens,
               "--text: the vocabulary's size, padding and [UNK] included (default: every token seen)")
      ->check(CLI::Range(int64_t{3}, TextVectorizationLimits::kMaxVocabulary));
  c.add_option("--sequence-length", s.sequence_length,
               "--text: token ids per row, padded with 0 or truncated (default: the longest training row's)")
      ->check(CLI::Range(int64_t{1}, TextVectorizationLimits::kMaxSequenceLength));
  c.add_option("--audio-features", s.audio_features,
               "--data FOLDER of class folders of WAV files: the model's input, mfcc or log_mel (25 ms frames "
               "every 10 ms, each coefficient standardized with the training clips' statistics)")
      ->capture_default_str()
      ->check(CLI::IsMember({"mfcc", "log_mel"}));
  c.add_option("--sample-rate", s.sample_rate, "--data FOLDER: every WAV file is resampled to this rate (Hz)")
      ->capture_default_str()
      ->check(CLI::Range(int64_t{1000}, int64_t{192000}));
  c.add_option("--clip-seconds", s.clip_seconds, "--data FOLDER: each file padded with silence or cut to this length")
      ->capture_default_str()
      ->check(CLI::Range(0.05, 60.0));
  c.add_option("--mel-bins", s.mel_bins, "--data FOLDER: mel filters")
      ->capture_default_str()
      ->check(CLI::Range(int64_t{1}, int64_t{256}));
  c.add_option("--mfcc", s.mfcc_count, "--data FOLDER: MFCCs a frame (at most --mel-bins)")
      ->capture_default_str()
      ->check(CLI::Range(int64_t{1}, int64_t{256}));
  c.add_option("--audio-augment", s.audio_augment,
               "--data FOLDER: augmented copies of each training clip, each resampled 0.85-1.15x faster, shifted, "
               "louder or softer, 70% of them in white noise at 5-30 dB SNR (seeded by --seed)")
      ->capture_default_str()
      ->check(CLI::Range(int64_t{0}, int64_t{20}));
}

void add_model_flags(CLI::App& c, ModelFlags& s) {
  c.add_option("--layers", s.layers,
               "Dense layers as UNITS:ACTIVATION, comma-separated (default: 10:relu,10:relu for CSV data, "
               "256:relu,128:relu for images, then an output layer that fits the labels)");
  c.add_option("--model-config", s.model_config, "The model as a Keras-style JSON model config")
      ->option_text("FILE")
      ->excludes("--layers");
  c.add_option("--dropout", s.dropout, "Dropout rate between hidden layers (--layers)")->check(CLI::Range(0.0, 0.95));
  c.add_option("--l1", s.l1, "L1 penalty on every Dense kernel (--layers)")->check(CLI::NonNegativeNumber);
  c.add_option("--l2", s.l2, "L2 penalty on every Dense kernel (--layers)")->check(CLI::NonNegativeNumber);
  c.add_option("--loss", s.losses,
               "Loss (default: binary_crossentropy for two classes, sparse_categorical_crossentropy for more; "
               "mse or another regression loss makes the label a number to predict); a model of several outputs: "
               "OUTPUT=LOSS for each output, or one LOSS for all")
      ->option_text("[OUTPUT=]LOSS");
  c.add_option("--loss-weights", s.loss_weights,
               "A model of several outputs: each output's weight in the total loss (default 1), e.g. "
               "class=1,amount=0.5")
      ->delimiter(',')
      ->option_text("OUTPUT=W");
  c.add_option("--optimizer", s.optimizer, "Optimizer: adam, sgd, rmsprop, adamw, adagrad")->capture_default_str();
  c.add_option("--learning-rate", s.learning_rate, "Learning rate (default: the optimizer's)")
      ->check(CLI::PositiveNumber);
  c.add_option("--precision", s.precision,
               "Matrix products in float32, or mixed_bfloat16 (bf16 inputs on AMX or AVX512-BF16, float32 "
               "weights and accumulation; float32 with a warning where the processor has neither)")
      ->check(CLI::IsMember({"float32", "mixed_bfloat16"}))
      ->capture_default_str();
}

void add_training_flags(CLI::App& c, TrainingFlags& s) {
  c.add_option("--epochs", s.epochs, "Training epochs (default: 150 for CSV data, 5 for images)")
      ->check(CLI::Range(1, 1000000));
  c.add_option("--batch-size", s.batch_size, "Rows per gradient step (default: 32 for CSV data, 128 for images)")
      ->check(CLI::Range(int64_t{1}, int64_t{1} << 30));
  c.add_option("--validation-split", s.validation_split,
               "Fraction of the training rows validated after each epoch, val_* figures (default: 0 for CSV "
               "data, 0.1 for Fashion-MNIST, whose official test split is kept for the report)")
      ->check(CLI::Range(0.0, 0.99));
  c.add_option("--early-stopping", s.early_stopping,
               "Stop when val_loss has not improved for this many epochs, keeping the best weights")
      ->option_text("PATIENCE")
      ->check(CLI::Range(0, 100000));
  c.add_option("--reduce-lr", s.reduce_lr, "Divide the learning rate by 10 when val_loss stalls this many epochs")
      ->option_text("PATIENCE")
      ->check(CLI::Range(0, 100000));
  c.add_option("--lr-schedule", s.lr_schedule,
               "Learning-rate schedule: step:FACTOR:EVERY, exponential:RATE:EPOCHS or cosine[:ALPHA]")
      ->option_text("SCHEDULE");
  c.add_option("--loss-threshold", s.loss_threshold, "Stop once the training loss is at or below this value")
      ->check(CLI::NonNegativeNumber);
  c.add_option("--csv-log", s.csv_log, "Write the per-epoch history as CSV")->option_text("FILE");
  c.add_option("--seed", s.seed, "Seed for the split, initialization, dropout and shuffling")->capture_default_str();
  c.add_option("--verbose", s.verbose, "0 silent, 1 progress bar, 2 one line per epoch")
      ->capture_default_str()
      ->check(CLI::Range(0, 2));
}

void add_output_flags(CLI::App& c, OutputFlags& s) {
  c.add_option("--report", s.report, "Write the figures as JSON")->option_text("FILE");
  c.add_option("--html", s.html, "Write a self-contained HTML page of charts and tables of this run")
      ->option_text("FILE");
}

void add_save_flags(CLI::App& c, SaveFlags& s) {
  c.add_option("--save", s.save, "Where to write the trained model (a safetensors file)")->capture_default_str();
  c.add_flag("--no-save", s.no_save, "Do not write the trained model")->excludes("--save");
}

void add_model_file_flags(CLI::App& c, std::string& model_file, KeyFlags& s) {
  c.add_option("--model", model_file, "Use this saved model (from train --save) instead of training one")
      ->option_text("FILE");
  add_public_key_flag(c, s);
  add_decryption_flags(c, s);
}

void add_decryption_flags(CLI::App& c, KeyFlags& s) {
  c.add_option("--key-file", s.key_file, "Key for an encrypted model (from keygen --encryption-key)")
      ->option_text("KEY");
  c.add_option("--passphrase-env", s.passphrase_env, "Name of the environment variable holding the passphrase")
      ->option_text("VAR")
      ->excludes("--key-file");
}

void add_public_key_flag(CLI::App& c, KeyFlags& s) {
  c.add_option("--pubkey", s.public_key,
               "Refuse a model (or checkpoint) whose signature (FILE.sig) by this public key is missing or wrong, "
               "before parsing it (citadel's Ed25519 key, or a PEM ECDSA key for OpenSSF model-signing bundles)")
      ->option_text("PUBLIC_KEY");
}

void add_adversarial_training_flags(CLI::App& c, AttackFlags& s) {
  c.add_option("--adversarial", s.adversarial,
               "Adversarial training: replace each batch by attacked examples (PGD as Madry et al., or FGSM)")
      ->check(CLI::IsMember({"fgsm", "pgd"}));
  c.add_option("--eps,--epsilon", s.eps,
               "Radius for --adversarial and --certified-training (pixels in [0, 1]; CSV: scaled feature units)");
  c.add_option("--norm", s.norm, "Attack norm: linf or l2")->capture_default_str()->check(CLI::IsMember({"linf", "l2"}));
  c.add_option("--attack-steps", s.steps, "PGD steps")->capture_default_str()->check(CLI::Range(1, 10000));
  c.add_option("--clean-fraction", s.clean_fraction, "Share of each batch kept clean in adversarial training")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 0.99));
  c.add_option("--gaussian-augmentation", s.gaussian_augmentation,
               "Add N(0, SIGMA^2) noise to every training batch (the base model of `citadel certify --sigma SIGMA`)")
      ->option_text("SIGMA")
      ->check(CLI::PositiveNumber);
  c.add_option("--certified-training", s.certified_training,
               "Certified training: descend interval bounds on the worst case within L-inf --eps (Gowal et al. 2018); "
               "verify with `citadel certify --method ibp`")
      ->check(CLI::IsMember({"ibp"}));
  c.add_option("--ibp-kappa", s.ibp_kappa, "Certified training: the clean loss's weight once the ramp is over")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 1.0));
  c.add_option("--ibp-warmup-epochs", s.ibp_warmup_epochs, "Certified training: clean epochs first (default: a tenth)")
      ->check(CLI::NonNegativeNumber);
  c.add_option("--ibp-ramp-epochs", s.ibp_ramp_epochs,
               "Certified training: epochs over which eps grows from 0 (default: half of them)")
      ->check(CLI::NonNegativeNumber);
  add_attack_input_flag(c, s);
}

void add_attack_input_flag(CLI::App& c, AttackFlags& s) {
  c.add_option("--attack-input", s.attack_input,
               "A model of several inputs: the Input the attack perturbs, by name (the others stay as they are; "
               "required when there are several)")
      ->option_text("NAME");
}

void add_private_training_flags(CLI::App& c, PrivacyFlags& s) {
  c.add_flag("--dp", s.dp, "Differentially private training (DP-SGD) with the RDP privacy accountant");
  c.add_option("--clip", s.clip, "--dp: per-example gradient clipping norm C")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  c.add_option("--noise", s.noise, "--dp: noise multiplier σ (noise std σ·C)")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  c.add_option("--delta", s.delta, "--dp: δ of the (ε, δ) guarantee")->capture_default_str()->check(CLI::Range(1e-300, 0.5));
  c.add_option("--target-epsilon", s.target_epsilon, "--dp: find the noise multiplier for this ε over the epochs")
      ->check(CLI::PositiveNumber);
  c.add_flag("--dp-reproducible", s.reproducible,
             "--dp: key the noise and sampling from --seed (tests and debugging only: NOT private)");
  c.add_flag("--dp-omit-training-metrics", s.omit_training_metrics,
             "--dp: leave the training rows' exact loss and metrics out of the history, logs and report");
  c.add_option("--dp-trace", s.trace,
               "--dp: write every step's noisy sum of clipped gradients (what ε covers) to FILE, for audits")
      ->option_text("FILE");
  c.add_flag("--fixed-batches", s.fixed_batches,
             "--dp: shuffled fixed-size batches instead of Poisson sampling (not covered by the same accounting)");
}

}  // namespace citadel::cli
