// `citadel predict`: train on --data, then write predictions for the rows of --input as
// CSV: the source line, the predicted label in the data's own terms, and the
// probability of each class.
#include <CLI/CLI.hpp>
#include <memory>
#include <cstdio>

#include "citadel/io/saved_model.hpp"

#include "citadel/core/atomic_file.hpp"
#include "citadel/core/error.hpp"
#include "citadel/core/random.hpp"
#include "commands.hpp"
#include "pipeline.hpp"

namespace citadel::cli {
namespace {

struct PredictFlags {
  DataFlags data;
  std::string input_file, output_file;  // --input, --output
  std::string model_file;               // --model: predict with this saved model instead of training one
  KeyFlags keys;
  ModelFlags model;
  TrainingFlags training;
  std::string also_save;  // --save: the model trained in the run
};

void write_predictions(Sequential& model, const PreparedData& data, const Dataset& rows, const std::string& path,
                       int64_t batch_size) {
  write_file_atomically(path, predict_encoded_rows(model, data.schema, rows, batch_size).csv());
}

int run_predict(const PredictFlags& s) {
  if (!s.model_file.empty()) {
    SavedPipeline saved = load_pipeline(s.keys, s.model_file);
    apply_precision(saved.model, s.model);
    Dataset rows = load_more_rows(s.data, s.input_file, saved.data);
    saved.preprocessor.apply(rows.x);
    write_predictions(saved.model, saved.data, rows, s.output_file,
                      s.training.batch_size.value_or(PredictOptions{}.batch_size));
  } else {
    random::set_seed(s.training.seed);
    PreparedData data = load_data(s.data, s.model, s.training, false);
    Dataset rows = load_more_rows(s.data, s.input_file, data);
    const FeaturePreprocessor preprocessor = preprocess(s.data, data, {&rows.x});
    Sequential model = build_model(s.model, data, data.x_train.shape().without_batch());
    describe_data(s.training.verbose, data);
    const FitOptions fit = fit_options(s.training, s.model, data);
    model.fit(data.x_train, targets_for_loss(data.y_train, data), fit);
    write_predictions(model, data, rows, s.output_file, fit.batch_size);
    if (!s.also_save.empty()) save_pipeline(model, data, preprocessor, s.also_save, model_protection(s.keys, false));
  }
  if (s.training.verbose > 0) std::printf("Wrote predictions to %s\n", s.output_file.c_str());
  return 0;
}

}  // namespace

Command add_predict_command(CLI::App& app) {
  auto flags = std::make_shared<PredictFlags>();
  PredictFlags& s = *flags;
  CLI::App* command = app.add_subcommand(
      "predict", "Train on --data (or load --model), then predict the rows of --input and write them as CSV "
                 "(labels and probabilities)");
  add_data_flags(*command, s.data);
  command->add_option("--input", s.input_file, "CSV file of rows to predict (the label column may be absent)")
      ->option_text("CSV")
      ->required();
  command->add_option("--output", s.output_file, "Where to write the predictions (CSV)")
      ->option_text("CSV")
      ->required();
  add_model_flags(*command, s.model);
  add_training_flags(*command, s.training);
  add_model_file_flags(*command, s.model_file, s.keys);
  command->add_option("--save", s.also_save, "Also save the model trained in this run")->option_text("FILE");
  return {command, [flags] { return run_predict(*flags); }};
}

}  // namespace citadel::cli
