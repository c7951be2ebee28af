// `citadel predict`: train on --data, then write predictions for the rows of --input as
// CSV: the source line, the predicted label in the data's own terms, and the
// probability of each class (a saved model of several outputs: those per output).
#include <CLI/CLI.hpp>
#include <memory>
#include <algorithm>
#include <cstdio>

#include "citadel/io/saved_model.hpp"

#include "citadel/core/atomic_file.hpp"
#include "citadel/core/error.hpp"
#include "citadel/core/random.hpp"
#include "citadel/data/csv.hpp"
#include "citadel/data/csv_field.hpp"
#include "audio_data.hpp"
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

// A speech model's predictions for --input (a WAV file or a folder of them): one line a
// file, "file,predicted,p_<class>...".
void write_audio_predictions(Model& model, const PreparedData& data, const PredictFlags& s, int64_t batch_size) {
  const AudioRows rows = unlabelled_audio_rows(*data.audio, s.input_file);
  const Tensor outputs = model.predict(rows.x, {.batch_size = batch_size});
  const auto& classes = data.schema.classes;
  std::string csv = "file,predicted";
  for (const std::string& name : classes) csv += "," + csv_field("p_" + name);
  csv += "\n";
  const int64_t width = outputs.shape(1);
  for (size_t r = 0; r < rows.paths.size(); ++r) {
    std::vector<double> p;
    const float* row = outputs.data() + int64_t(r) * width;
    if (width == 1) p = {1.0 - row[0], row[0]};  // one sigmoid: the second class's probability
    for (int64_t c = 0; width > 1 && c < width; ++c) p.push_back(row[c]);
    const auto best = size_t(std::max_element(p.begin(), p.end()) - p.begin());
    csv += csv_field(rows.paths[r]) + "," + csv_field(classes[best]);
    char number[32];
    for (const double value : p) {
      std::snprintf(number, sizeof number, ",%.6f", value);
      csv += number;
    }
    csv += "\n";
  }
  write_file_atomically(s.output_file, csv);
}

int run_predict(const PredictFlags& s) {
  if (!s.model_file.empty()) {
    SavedPipeline saved = load_pipeline(s.keys, s.model_file);
    if (saved.data.audio) {
      apply_precision(saved.model, s.model);
      write_audio_predictions(saved.model, saved.data, s, s.training.batch_size.value_or(PredictOptions{}.batch_size));
      if (s.training.verbose > 0) std::printf("Wrote predictions to %s\n", s.output_file.c_str());
      return 0;
    }
    CITADEL_CHECK(!saved.data.images, ValueError, s.input_file,
                  ": the model was trained on images; CSV rows cannot feed it");
    apply_precision(saved.model, s.model);
    write_predictions(saved.model, saved.data, saved.preprocessor, read_csv(s.input_file, csv_options(s.data)), s,
                      s.training.batch_size.value_or(PredictOptions{}.batch_size));
  } else {
    random::set_seed(s.training.seed);
    PreparedData data = load_data(s.data, s.model, s.training, false);
    CITADEL_CHECK(!data.images, ValueError, s.input_file, ": with --data fashion-mnist, other files cannot be read as rows");
    const CsvTable input = data.audio ? CsvTable{} : read_csv(s.input_file, csv_options(s.data));  // errors first
    const FeaturePreprocessor preprocessor = preprocess(s.data, data, {});
    Model model = build_model(s.model, data, data.x_train.shape().without_batch());
    describe_data(s.training.verbose, data);
    const FitOptions fit = fit_options(s.training, s.model, data);
    const std::vector<Tensor> y_train = output_targets(model, data, false);  // one per output
    model.fit(model_inputs(model, data.schema, data.x_train).views, {y_train.begin(), y_train.end()}, fit);
    if (data.audio) {
      write_audio_predictions(model, data, s, fit.batch_size);
    } else {
      write_predictions(model, data, preprocessor, input, s, fit.batch_size);
    }
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
  command->add_option("--input", s.input_file,
                      "CSV file of rows to predict (the label column may be absent); for a speech model a WAV "
                      "file or a folder of them")
      ->option_text("CSV|WAV|FOLDER")
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
