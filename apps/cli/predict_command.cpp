// `citadel predict`: train on --data, then write predictions for the rows of --input as
// CSV: the source line, the predicted label in the data's own terms, and the
// probability of each class.
#include <CLI/CLI.hpp>
#include <cstdio>

#include "citadel/core/atomic_file.hpp"
#include "citadel/core/error.hpp"
#include "citadel/core/random.hpp"
#include "commands.hpp"
#include "pipeline.hpp"

namespace citadel::cli {
namespace {

// Quotes a CSV field when it needs it (RFC 4180).
std::string csv_field(const std::string& text) {
  if (text.find_first_of(",\"\n\r") == std::string::npos) return text;
  std::string quoted = "\"";
  for (char c : text) quoted += c == '"' ? std::string("\"\"") : std::string(1, c);
  return quoted + "\"";
}

void write_predictions(Sequential& model, const PreparedData& data, const Dataset& rows, const std::string& path) {
  const Tensor outputs = model.predict(rows.x);
  const int64_t N = outputs.shape(0), width = outputs.numel() / std::max<int64_t>(N, 1);
  std::string csv = "line,predicted";
  if (data.classification())
    for (const auto& name : data.schema.classes) csv += "," + csv_field("p_" + name);
  csv += "\n";
  const std::vector<int64_t> classes = data.classification() ? predicted_classes(outputs) : std::vector<int64_t>{};
  char number[32];
  for (int64_t n = 0; n < N; ++n) {
    csv += std::to_string(rows.lines[n]) + ",";
    if (!data.classification()) {
      std::snprintf(number, sizeof number, "%.9g", outputs[n]);
      csv += std::string(number) + "\n";
      continue;
    }
    csv += csv_field(data.schema.classes[classes[n]]);
    for (int64_t c = 0; c < data.schema.class_count(); ++c) {
      // One sigmoid output gives P(class 1); class 0 is its complement.
      const float p = width == 1 ? (c == 1 ? outputs[n] : 1.0f - outputs[n]) : outputs[n * width + c];
      std::snprintf(number, sizeof number, ",%.6f", p);
      csv += number;
    }
    csv += "\n";
  }
  write_file_atomically(path, csv);
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
