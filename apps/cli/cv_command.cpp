// `citadel cv`: k-fold cross-validation; every fold trains a fresh model with its
// preprocessing fitted on the fold's training rows, and the report gives every fold's
// figures with their mean and standard deviation.
#include <CLI/CLI.hpp>
#include <memory>
#include <cstdio>

#include "citadel/core/random.hpp"
#include "citadel/core/error.hpp"
#include "citadel/data/feature_groups.hpp"
#include "citadel/data/split.hpp"
#include "citadel/model/cross_validation.hpp"
#include "audio_data.hpp"
#include "commands.hpp"
#include "pipeline.hpp"

namespace citadel::cli {
namespace {

struct CrossValidationFlags {
  DataFlags data;
  int folds = 5;
  bool no_stratify = false;
  ModelFlags model;
  TrainingFlags training;
  OutputFlags output;
};

// --data FOLDER of WAV files: the folds are files; each fold's front end (its per-coefficient
// standardization) is adapted on that fold's training clips alone, never the held-out ones.
void refuse_audio_flags(const CrossValidationFlags& s) {
  CITADEL_CHECK(s.data.audio_augment == 0, ValueError, "--audio-augment: cv --data ", s.data.data,
                " scores the files as they are; augmented copies belong to `citadel train`");
  const DataFlags& d = s.data;
  const char* csv_flag = !d.missing.empty()    ? "--missing"
                         : !d.delimiter.empty() ? "--delimiter"
                         : d.header             ? "--header"
                         : d.no_header          ? "--no-header"
                         : !d.vocabulary.empty() ? "--vocabulary"
                         : d.max_tokens          ? "--max-tokens"
                         : d.sequence_length     ? "--sequence-length"
                                                 : nullptr;
  CITADEL_CHECK(csv_flag == nullptr, ValueError, csv_flag == nullptr ? "" : csv_flag, ": cv --data ", d.data,
                " is a folder of WAV files; that flag is for CSV data or text");
}

int run_cv(const CrossValidationFlags& s) {
  random::set_seed(s.training.seed);
  const bool audio = is_audio_folder(s.data.data);
  if (audio) refuse_audio_flags(s);
  AudioClips clips;  // a folder of WAV files: the waveforms; each fold computes its own features
  if (audio) clips = load_audio_clips(s.data, s.model);
  const PreparedData data = audio ? std::move(clips.data) : load_data(s.data, s.model, s.training, false);
  refuse_several_outputs(data, "cv");
  describe_data(s.training.verbose, data);
  TrainingFlags quiet = s.training;
  quiet.verbose = 0;  // one line per fold instead of per epoch
  const Shape input_shape = audio ? data.audio->feature_shape() : data.x_train.shape().without_batch();
  CrossValidateOptions options{.folds = s.folds, .stratified = data.classification() && !s.no_stratify,
                               .seed = s.training.seed, .fit = fit_options(quiet, s.model, data)};
  nlohmann::json front_ends = nlohmann::json::array();  // each fold's, in fold order
  if (audio) {
    options.preprocess = [&](Tensor& train_x, Tensor& test_x) {
      AudioPreprocessing fold = *data.audio;
      fold.adapt(train_x);
      train_x = fold.features(train_x);
      test_x = fold.features(test_x);
      const nlohmann::json record = nlohmann::json::parse(fold.to_json());
      front_ends.push_back({{"mean", record["mean"]}, {"std", record["std"]}});
    };
  } else {
    options.preprocess = [&](Tensor& train_x, Tensor& test_x) {
      Preprocessor preprocessor = make_preprocessor(s.data, data);
      preprocessor.fit(train_x);
      preprocessor.apply(train_x);
      preprocessor.apply(test_x);
    };
  }
  auto inputs = std::make_shared<std::vector<std::string>>();  // the model's, known once one is built
  auto make_model = [&, inputs] {
    Model model = build_model(s.model, data, input_shape);
    *inputs = model.input_names();
    return model;
  };
  // A graph of several inputs takes each from its column group of every fold's rows.
  if (!s.model.model_config.empty())
    options.split_inputs = [&data, inputs](const Tensor& x) {
      return inputs->size() > 1 ? split_features(x, feature_groups(data.schema, *inputs)) : std::vector<Tensor>{x};
    };
  const Tensor targets = targets_for_loss(data.y_train, data);
  const CrossValidationReport report = cross_validate(make_model, data.x_train, targets, options);
  // The files each fold held out, as cross_validate split them (the same split, seed and rule).
  std::vector<SplitIndices> splits;
  if (audio)
    splits = options.stratified && targets.numel() == targets.shape(0)
                 ? stratified_k_fold(targets, options.folds, options.seed)
                 : k_fold(targets.shape(0), options.folds, options.seed);

  const std::vector<std::string> names = data.classification()
                                             ? std::vector<std::string>{"loss", "accuracy", "precision", "recall", "f1", "auc"}
                                             : std::vector<std::string>{"loss", "mse", "mae"};
  std::printf("\n%-6s", "fold");
  for (const auto& name : names) std::printf(" %18s", name.c_str());
  std::printf("\n");
  nlohmann::json folds = nlohmann::json::array();
  for (const auto& fold : report.folds) {
    std::printf("%-6d", fold.fold);
    for (const auto& name : names) std::printf(" %18.4f", fold.figures.at(name));
    std::printf("\n");
    nlohmann::json entry = logs_json(fold.figures);
    entry["fold"] = fold.fold;
    entry["train_rows"] = fold.train_rows;
    entry["test_rows"] = fold.test_rows;
    if (audio) {  // what the fold's front end learned, and from which files it did not
      const size_t k = size_t(fold.fold - 1);
      entry["front_end"] = front_ends.at(k);
      nlohmann::json held_out = nlohmann::json::array();
      for (int64_t row : splits.at(k).test) held_out.push_back(clips.paths[size_t(row)]);
      entry["held_out_files"] = held_out;
    }
    folds.push_back(entry);
  }
  std::printf("%-6s", "mean");
  for (const auto& name : names)
    std::printf(" %18s", (std::to_string(report.mean.at(name)).substr(0, 6) + " ± " +
                          std::to_string(report.std.at(name)).substr(0, 6)).c_str());
  std::printf("\n");
  write_outputs(s.output, "cv", {{"folds", folds},
                   {"mean", logs_json(report.mean)},
                   {"std", logs_json(report.std)},
                   {"data", data.source},
                   {"seed", s.training.seed},
                   {"stratified", options.stratified}});
  return 0;
}

}  // namespace

Command add_cv_command(CLI::App& app) {
  auto flags = std::make_shared<CrossValidationFlags>();
  CrossValidationFlags& s = *flags;
  CLI::App* command = app.add_subcommand("cv", "k-fold cross-validation: every fold's figures, their mean and std");
  add_data_flags(*command, s.data);
  command->add_option("--folds", s.folds, "Number of folds")->capture_default_str()->check(CLI::Range(2, 1000));
  command->add_flag("--no-stratify", s.no_stratify, "Plain k-fold instead of stratified (classification)");
  add_model_flags(*command, s.model);
  add_training_flags(*command, s.training);
  add_output_flags(*command, s.output);
  return {command, [flags] { return run_cv(*flags); }};
}

}  // namespace citadel::cli
