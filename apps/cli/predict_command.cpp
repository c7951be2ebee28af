// `citadel predict`: train on --data, then write predictions for the rows of --input as
// CSV: the source line, the predicted label in the data's own terms, and the
// probability of each class (a saved model of several outputs: those per output).
#include <CLI/CLI.hpp>
#include <memory>
#include <cstdio>

#include "citadel/io/saved_model.hpp"

#include "citadel/core/atomic_file.hpp"
#include "citadel/core/error.hpp"
#include "citadel/core/random.hpp"
#include "citadel/data/csv.hpp"
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

// Predicts every row of --input a slice at a time (predict_table), says what was imputed or
// unseen, and writes the CSV.
void write_predictions(const Model& model, const PreparedData& data, const Preprocessor& preprocessor,
                       const CsvTable& table, const PredictFlags& s, int64_t batch_size) {
  const EncodeOptions options = encode_options(s.data, preprocessor);
  RowHandling handling;
  // A model of several outputs: one column group per output (data.outputs names each label's).
  const RowPredictions predictions =
      predict_table(model, data.schema, preprocessor, table, options, batch_size, &handling, data.outputs);
  report_row_handling(data.schema, handling.missing_cells, handling.unseen_categories,
                      options.missing == MissingValues::kMean, s.input_file);
  write_file_atomically(s.output_file, predictions.csv());
}

int run_predict(const PredictFlags& s) {
  if (!s.model_file.empty()) {
    SavedPipeline saved = load_pipeline(s.keys, s.model_file);
    CITADEL_CHECK(!saved.data.images, ValueError, s.input_file,
                  ": the model was trained on images; CSV rows cannot feed it");
    apply_precision(saved.model, s.model);
    write_predictions(saved.model, saved.data, saved.preprocessor, read_csv(s.input_file, csv_options(s.data)), s,
                      s.training.batch_size.value_or(PredictOptions{}.batch_size));
  } else {
    random::set_seed(s.training.seed);
    PreparedData data = load_data(s.data, s.model, s.training, false);
    CITADEL_CHECK(!data.images, ValueError, s.input_file, ": with --data fashion-mnist, other files cannot be read as rows");
    const CsvTable input = read_csv(s.input_file, csv_options(s.data));  // read before training: its errors first
    const FeaturePreprocessor preprocessor = preprocess(s.data, data, {});
    Model model = build_model(s.model, data, data.x_train.shape().without_batch());
    describe_data(s.training.verbose, data);
    const FitOptions fit = fit_options(s.training, s.model, data);
    const std::vector<Tensor> y_train = output_targets(model, data, false);  // one per output
    model.fit(model_inputs(model, data.schema, data.x_train).views, {y_train.begin(), y_train.end()}, fit);
    write_predictions(model, data, preprocessor, input, s, fit.batch_size);
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
