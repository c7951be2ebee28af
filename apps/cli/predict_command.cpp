// `citadel predict`: train on --data, then write predictions for the rows of --input as
// CSV: the source line, the predicted label in the data's own terms, and the
// probability of each class.
#include <CLI/CLI.hpp>
#include <cstdio>

#include "citadel/io/saved_model.hpp"

#include "citadel/core/atomic_file.hpp"
#include "citadel/core/error.hpp"
#include "citadel/core/random.hpp"
#include "commands.hpp"
#include "pipeline.hpp"

namespace citadel::cli {
namespace {

void write_predictions(Sequential& model, const PreparedData& data, const Dataset& rows, const std::string& path) {
  write_file_atomically(path, predict_encoded_rows(model, data.schema, rows).csv());
}

int run_predict(const Settings& s) {
  if (!s.model_file.empty()) {
    SavedPipeline saved = load_pipeline(s, s.model_file);
    Dataset rows = load_more_rows(s, s.input_file, saved.data);
    saved.preprocessor.apply(rows.x);
    write_predictions(saved.model, saved.data, rows, s.output_file);
  } else {
    random::set_seed(s.seed);
    PreparedData data = load_data(s, false);
    Dataset rows = load_more_rows(s, s.input_file, data);
    const FeaturePreprocessor preprocessor = preprocess(s, data, {&rows.x});
    Sequential model = build_model(s, data, data.x_train.shape().without_batch());
    describe_data(s, data);
    model.fit(data.x_train, targets_for_loss(data.y_train, data), fit_options(s, data));
    write_predictions(model, data, rows, s.output_file);
    if (!s.predict_save.empty()) save_pipeline(model, data, preprocessor, s.predict_save, model_protection(s, false));
  }
  if (s.verbose > 0) std::printf("Wrote predictions to %s\n", s.output_file.c_str());
  return 0;
}

}  // namespace

Command add_predict_command(CLI::App& app, Settings& s) {
  CLI::App* command = app.add_subcommand(
      "predict", "Train on --data (or load --model), then predict the rows of --input and write them as CSV "
                 "(labels and probabilities)");
  add_data_options(*command, s);
  command->add_option("--input", s.input_file, "CSV file of rows to predict (the label column may be absent)")
      ->option_text("CSV")
      ->required();
  command->add_option("--output", s.output_file, "Where to write the predictions (CSV)")
      ->option_text("CSV")
      ->required();
  add_model_options(*command, s);
  add_training_options(*command, s);
  add_model_file_option(*command, s);
  command->add_option("--save", s.predict_save, "Also save the model trained in this run")->option_text("FILE");
  return {command, run_predict};
}

}  // namespace citadel::cli
