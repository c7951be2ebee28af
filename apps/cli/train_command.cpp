// `citadel train`: the main job. Defaults reproduce the reference Keras network on the
// bundled Pima Indians diabetes data: inputs standardized on the training rows only, a
// seeded stratified 80/20 split, and a final report on the held-out 20 %.
#include "train_command.hpp"

#include <CLI/CLI.hpp>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <nlohmann/json.hpp>

#include "citadel/core/atomic_file.hpp"
#include "citadel/core/error.hpp"
#include "citadel/core/random.hpp"
#include "citadel/data/csv.hpp"
#include "citadel/data/dataset.hpp"
#include "citadel/data/scaler.hpp"
#include "citadel/data/split.hpp"
#include "citadel/layers/dense.hpp"
#include "citadel/model/sequential.hpp"
#include "layer_spec.hpp"

namespace citadel::cli {
namespace {

std::string default_data_path() {
  const std::string local = "data/pima-indians-diabetes.csv";
  if (std::filesystem::exists(local)) return local;
  return CITADEL_DEFAULT_DATA;
}

bool is_classification(const std::string& loss) { return loss.find("crossentropy") != std::string::npos; }

// JSON has no NaN: undefined figures (AUC with one class present) become null.
nlohmann::json number_or_null(double value) {
  return std::isfinite(value) ? nlohmann::json(value) : nlohmann::json(nullptr);
}

void print_report(const Logs& logs, int64_t rows) {
  std::printf("\nHeld-out test set (%lld rows):\n", static_cast<long long>(rows));
  for (const char* name : {"loss", "accuracy", "precision", "recall", "f1", "auc", "mse", "mae"})
    if (auto found = logs.find(name); found != logs.end())
      std::printf("  %-10s %.4f\n", name, found->second);
}

}  // namespace

CLI::App* add_train_command(CLI::App& app, TrainSettings& s) {
  CLI::App* train = app.add_subcommand(
      "train", "Train a Dense network on a CSV file and report on held-out rows "
               "(no arguments: the reference network on the bundled Pima Indians diabetes data)");
  train->add_option("--data", s.data, "CSV file with a header row and numeric columns")
      ->option_text("CSV");
  train->add_option("--label", s.label, "Label column: name or 0-based index (default: the last)")
      ->option_text("COLUMN");
  train->add_option("--layers", s.layers, "Dense layers as UNITS:ACTIVATION, comma-separated")
      ->capture_default_str();
  train->add_option("--loss", s.loss, "Loss (binary_crossentropy, mse, ...)")->capture_default_str();
  train->add_option("--optimizer", s.optimizer, "Optimizer (adam, sgd, rmsprop, adamw, adagrad)")
      ->capture_default_str();
  train->add_option("--learning-rate", s.learning_rate, "Learning rate (default: the optimizer's)")
      ->check(CLI::PositiveNumber);
  train->add_option("--epochs", s.epochs, "Training epochs")->capture_default_str()->check(CLI::Range(1, 1000000));
  train->add_option("--batch-size", s.batch_size, "Rows per gradient step")
      ->capture_default_str()
      ->check(CLI::Range(int64_t{1}, int64_t{1} << 30));
  train->add_option("--validation-split", s.validation_split,
                    "Fraction of the training rows held out to validate after each epoch")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 0.99));
  train->add_option("--test-split", s.test_split, "Fraction of all rows held out for the final report")
      ->capture_default_str()
      ->check(CLI::Range(0.01, 0.99));
  train->add_option("--seed", s.seed, "Seed for the split, initialization and shuffling")->capture_default_str();
  train->add_option("--verbose", s.verbose, "0 silent, 1 progress bar, 2 one line per epoch")
      ->capture_default_str()
      ->check(CLI::Range(0, 2));
  train->add_option("--report", s.report, "Write the final figures and history as JSON")->option_text("FILE");
  return train;
}

int run_train(const TrainSettings& s) {
  const std::vector<DenseSpec> layers = parse_layer_spec(s.layers);
  const std::string data_path = s.data.empty() ? default_data_path() : s.data;
  const Dataset data = to_dataset(read_csv(data_path), {.label = s.label});

  random::set_seed(s.seed);
  const SplitIndices split = train_test_split(data.y, s.test_split, s.seed, is_classification(s.loss));
  StandardScaler scaler;  // fitted on the training rows only: no test information leaks in
  const Tensor x_train = scaler.fit_transform(take_rows(data.x, split.train));
  const Tensor x_test = scaler.transform(take_rows(data.x, split.test));
  const Tensor y_train = take_rows(data.y, split.train);
  const Tensor y_test = take_rows(data.y, split.test);

  Sequential model;
  const auto features = static_cast<int64_t>(data.schema.feature_names().size());
  for (size_t i = 0; i < layers.size(); ++i)
    model.add(Dense(layers[i].units, {.input_dim = i == 0 ? features : 0, .activation = layers[i].activation}));
  std::unique_ptr<Optimizer> optimizer = make_optimizer(s.optimizer);
  if (s.learning_rate > 0) optimizer->set_learning_rate(static_cast<float>(s.learning_rate));
  std::vector<std::string> metrics{"mse", "mae"};
  if (is_classification(s.loss)) metrics = {"accuracy", "precision", "recall", "f1", "auc"};
  model.compile({.loss = s.loss, .optimizer = std::move(optimizer), .metrics = metrics});

  if (s.verbose > 0) {
    std::printf("Data: %s (%lld rows, %lld features, label '%s'); train %zu, test %zu rows\n",
                data_path.c_str(), static_cast<long long>(data.x.shape(0)),
                static_cast<long long>(features), data.schema.label.c_str(), split.train.size(),
                split.test.size());
    model.summary();
  }
  const History history = model.fit(x_train, y_train,
                                    {.epochs = s.epochs, .batch_size = s.batch_size,
                                     .validation_split = s.validation_split, .verbose = s.verbose});
  const Logs test = model.evaluate(x_test, y_test);
  print_report(test, x_test.shape(0));

  if (!s.report.empty()) {
    nlohmann::json report;
    for (const auto& [name, value] : test) report[name] = number_or_null(value);
    nlohmann::json history_json;
    for (const auto& [name, values] : history.history) {
      nlohmann::json series = nlohmann::json::array();
      for (double v : values) series.push_back(number_or_null(v));
      history_json[name] = series;
    }
    report["history"] = history_json;
    report["epochs_run"] = history.epoch.size();
    report["data"] = data_path;
    report["label"] = data.schema.label;
    report["train_rows"] = split.train.size();
    report["test_rows"] = split.test.size();
    report["seed"] = s.seed;
    report["layers"] = s.layers;
    report["loss_function"] = s.loss;
    report["optimizer"] = s.optimizer;
    write_file_atomically(s.report, report.dump(2) + "\n");
  }
  return 0;
}

}  // namespace citadel::cli
