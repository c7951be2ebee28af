// `citadel evaluate`: train on --data and evaluate on --test (a CSV file with the same
// columns), or on the held-out part of --data; prints a classification report.
#include <CLI/CLI.hpp>
#include <memory>
#include <cstdio>

#include "citadel/core/error.hpp"
#include "citadel/core/random.hpp"
#include "citadel/data/idx.hpp"
#include "commands.hpp"
#include "pipeline.hpp"

namespace citadel::cli {
namespace {

struct EvaluateFlags {
  DataFlags data;
  std::string test_file;   // --test
  std::string model_file;  // --model: evaluate this saved model instead of training one
  KeyFlags keys;
  ModelFlags model;
  TrainingFlags training;
  OutputFlags output;
};

// Evaluates a saved model on --test, --data (all rows), or Fashion-MNIST's test split.
int run_saved(const EvaluateFlags& s) {
  SavedPipeline saved = load_pipeline(s.keys, s.model_file);
  CITADEL_CHECK(saved.model.compiled(), IoError, s.model_file, ": has no compile record to evaluate with");
  apply_precision(saved.model, s.model);
  PreparedData& data = saved.data;
  const std::string path = !s.test_file.empty() ? s.test_file : s.data.data;
  CITADEL_CHECK(data.images || !path.empty(), ValueError, "evaluate --model: give the rows to evaluate with --test CSV");
  LabelledRows rows = labelled_rows(s.data, saved, path);
  data.x_test = std::move(rows.x);
  data.y_test = std::move(rows.y);
  data.more_y_test = std::move(rows.more_y);
  const std::string test_source = data.images ? std::string("the official test split") : rows.source;
  const EvaluateOptions options{.batch_size = s.training.batch_size.value_or(EvaluateOptions{}.batch_size)};
  // One target per output (several outputs: figures named as Keras names them, as train's).
  const std::vector<Tensor> y_test = output_targets(saved.model, data, true);
  const Logs figures = saved.model.evaluate(model_inputs(saved.model, data.schema, data.x_test).views,
                                            {y_test.begin(), y_test.end()}, options);
  print_figures(("Evaluation of " + s.model_file + " on " + test_source).c_str(), figures, data.x_test.shape(0),
                data.several_outputs());
  nlohmann::json report = logs_json(figures);
  if (!data.several_outputs()) add_classification_report(saved.model, data, true, report);
  report["model_file"] = s.model_file;
  report["model"] = model_json(saved.model);
  report["test"] = test_source;
  report["test_rows"] = data.x_test.shape(0);
  write_outputs(s.output, "evaluate", report);
  return 0;
}

int run_evaluate(const EvaluateFlags& s) {
  if (!s.model_file.empty()) return run_saved(s);
  random::set_seed(s.training.seed);
  PreparedData data = load_data(s.data, s.model, s.training, s.test_file.empty());
  std::string test_source = data.images ? "the official test split" : "held-out rows of " + data.source;
  if (!s.test_file.empty()) {
    Dataset test = load_more_rows(s.data, s.test_file, data, make_preprocessor(s.data, data));
    CITADEL_CHECK(test.y.defined(), ValueError, s.test_file, ": has no label column '", data.schema.label,
                  "' to evaluate against");
    for (size_t i = 1; i < data.outputs.size(); ++i)  // a model of several outputs: every label
      CITADEL_CHECK(i - 1 < test.more_y.size() && test.more_y[i - 1].defined(), ValueError, s.test_file,
                    ": has no label column '", data.schema.more_labels[i - 1].name, "' (of the output '",
                    data.outputs[i], "') to evaluate against");
    data.x_test = std::move(test.x);
    data.y_test = std::move(test.y);
    data.more_y_test = std::move(test.more_y);
    test_source = s.test_file;
  }
  preprocess(s.data, data, {&data.x_test});
  Model model = build_model(s.model, data, data.x_train.shape().without_batch());
  describe_data(s.training.verbose, data);
  const FitOptions fit = fit_options(s.training, s.model, data);
  // One target per output (several outputs: figures by Keras's per-output names).
  const std::vector<Tensor> y_train = output_targets(model, data, false), y_test = output_targets(model, data, true);
  model.fit(model_inputs(model, data.schema, data.x_train).views, {y_train.begin(), y_train.end()}, fit);

  const Logs figures = model.evaluate(model_inputs(model, data.schema, data.x_test).views,
                                      {y_test.begin(), y_test.end()}, {.batch_size = fit.batch_size});
  print_figures(("Evaluation on " + test_source).c_str(), figures, data.x_test.shape(0), data.several_outputs());
  nlohmann::json report = logs_json(figures);
  if (!data.several_outputs()) add_classification_report(model, data, true, report);
  report["data"] = data.source;
  report["model"] = model_json(model);
  report["test"] = test_source;
  report["test_rows"] = data.x_test.shape(0);
  write_outputs(s.output, "evaluate", report);
  return 0;
}

}  // namespace

Command add_evaluate_command(CLI::App& app) {
  auto flags = std::make_shared<EvaluateFlags>();
  CLI::App* command = app.add_subcommand(
      "evaluate", "Train on --data (or load --model), then evaluate on --test (or on held-out rows): figures, "
                  "classification report, confusion matrix");
  add_data_flags(*command, flags->data);
  command->add_option("--test", flags->test_file, "CSV file to evaluate on, with the same columns as --data")
      ->option_text("CSV");
  add_model_flags(*command, flags->model);
  add_training_flags(*command, flags->training);
  add_output_flags(*command, flags->output);
  add_model_file_flags(*command, flags->model_file, flags->keys);
  return {command, [flags] { return run_evaluate(*flags); }};
}

}  // namespace citadel::cli
